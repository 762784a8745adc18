"""Per-model health: a circuit breaker, the recent error rate and an EWMA of latency.

The call path asks `allow(model)` before an attempt and reports `record(model, ok, latency)`
after it, or `release(model)` when the outcome says nothing about the model (the caller's bad
request, a client-side rate limit), so fallbacks skip a failing model and routers rank by latency.

One lock per `Health`. Two reads skip it because a stale answer is harmless: `allow` on a
closed breaker (the call raced the opening, as it could have a moment earlier) and `latency`.
`allow` returns a bool, not a token, so while half-open any counted outcome is taken as the
probe's, and a probe that is never settled is given up on after one cooldown.

At most `MAX_MODELS` models are kept (one per distinct id recorded: fallbacks, routers and
made-up ids would otherwise grow it without bound). A new model past that drops the least
recently recorded closed one, whose history is then lost (a router sees it as unmeasured);
an open or half-open breaker is never dropped, and while all of them are, a new model is not
tracked (every attempt on it is allowed) until one closes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Literal, NoReturn

from .._fork import fork_safe_lock

__all__ = ["MAX_MODELS", "Health", "ModelHealth", "State"]

MAX_MODELS = 1024
"""Models one `Health` keeps; past it a new one drops the least recently recorded closed one."""

State = Literal["closed", "open", "half_open"]
_CLOSED: State = "closed"
_OPEN: State = "open"
_HALF_OPEN: State = "half_open"


class ModelHealth:
    """One model's health at one instant; immutable, so a router can hand it out as is."""

    __slots__ = ("consecutive_failures", "error_rate", "latency", "model", "requests", "retry_in", "state")

    model: str
    state: State
    consecutive_failures: int
    error_rate: float
    requests: int
    latency: float | None
    retry_in: float

    def __init__(
        self,
        model: str,
        state: State,
        consecutive_failures: int,
        error_rate: float,
        requests: int,
        latency: float | None,
        retry_in: float,
    ) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "model", model)
        setattr_(self, "state", state)
        setattr_(self, "consecutive_failures", consecutive_failures)
        setattr_(self, "error_rate", error_rate)
        setattr_(self, "requests", requests)
        setattr_(self, "latency", latency)
        setattr_(self, "retry_in", retry_in)

    def _fields(self) -> tuple[str, State, int, float, int, float | None, float]:
        return (
            self.model,
            self.state,
            self.consecutive_failures,
            self.error_rate,
            self.requests,
            self.latency,
            self.retry_in,
        )

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"ModelHealth is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"ModelHealth is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, ModelHealth) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        # Floats rounded to what a person reads; the attributes keep the exact values.
        latency = None if self.latency is None else round(self.latency, 4)
        return (
            f"ModelHealth(model={self.model!r}, state={self.state!r}, "
            f"consecutive_failures={self.consecutive_failures}, error_rate={round(self.error_rate, 4)}, "
            f"requests={self.requests}, latency={latency}, retry_in={round(self.retry_in, 3)})"
        )


class _Breaker:
    """One model's mutable state, changed only under its `Health`'s lock."""

    __slots__ = ("cooldown", "failed", "failures", "latency", "probe_since", "state", "times", "until", "used")

    def __init__(self, cooldown: float, max_samples: int) -> None:
        self.state = _CLOSED
        self.failures = 0  # consecutive
        self.cooldown = cooldown  # the current one: doubled by failed probes, reset on close
        self.until = 0.0  # while open: when a probe may go
        self.probe_since: float | None = None  # while half-open: when the outstanding probe went
        self.latency: float | None = None
        self.used = 0.0  # when the last outcome was recorded: the least recent closed one goes first
        # Outcomes in time order, as two parallel deques so recording allocates no tuple.
        self.times: deque[float] = deque(maxlen=max_samples)
        self.failed: deque[bool] = deque(maxlen=max_samples)


def _positive(name: str, value: object, valid: str = "a number of seconds > 0") -> float:
    """A number > 0 (not a bool), or a `TypeError`/`ValueError` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be {valid}, not {value!r}")
    if not value > 0:  # also rejects NaN
        raise ValueError(f"{name} must be {valid}, not {value!r}")
    return float(value)


def _count(name: str, value: object) -> int:
    """An int >= 1 (not a bool, not a float), or a `TypeError`/`ValueError` naming the argument."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= 1, not {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an int >= 1, not {value!r}")
    return value


class Health:
    """Circuit breakers, error rates and latencies of many models, behind one lock.

    `failure_threshold` consecutive failures open a model's breaker for `cooldown` seconds;
    each failed probe doubles that, up to `max_cooldown`, and a successful one closes the
    breaker and restores `cooldown`. The error rate covers outcomes of the last `window`
    seconds (an outcome at t counts while now - t < window), at most `max_samples` per model
    (the newest), so memory stays bounded (about 40 kB per model at the default 1000).
    `alpha` weighs each new latency in the moving average.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        max_cooldown: float = 300.0,
        window: float = 60.0,
        alpha: float = 0.3,
        max_samples: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = _count("failure_threshold", failure_threshold)
        self._cooldown = _positive("cooldown", cooldown)
        self._max_cooldown = _positive("max_cooldown", max_cooldown)
        if self._max_cooldown < self._cooldown:
            raise ValueError(f"max_cooldown ({max_cooldown!r}) must not be less than cooldown ({cooldown!r})")
        self._window = _positive("window", window)
        self._alpha = _positive("alpha", alpha, "a number in (0, 1]")
        if self._alpha > 1:
            raise ValueError(f"alpha must be a number in (0, 1], not {alpha!r}")
        self._max_samples = _count("max_samples", max_samples)
        self._clock = clock
        self._lock = fork_safe_lock()
        self._breakers: dict[str, _Breaker] = {}

    def allow(self, model: str) -> bool:
        """Whether an attempt on `model` may go now; True for at most one probe while half-open."""
        b = self._breakers.get(model)
        if b is None or b.state is _CLOSED:
            return True
        with self._lock:
            b = self._breakers.get(model)  # reset() may have dropped it meanwhile
            if b is None or b.state is _CLOSED:
                return True
            now = self._clock()
            if b.state is _OPEN:
                if now < b.until:
                    return False
                b.state = _HALF_OPEN
            elif b.probe_since is not None and now - b.probe_since < b.cooldown:
                return False
            b.probe_since = now
            return True

    def record(self, model: str, ok: bool, latency: float | None = None) -> None:
        """Count one outcome; `latency` (seconds) of a success feeds the moving average."""
        lock = self._lock
        lock.acquire()  # not `with`: the hot path, and try/finally costs less than a context manager
        try:
            now = self._clock()
            b = self._breakers.get(model)
            if b is None:
                b = self._admit(model)
                if b is None:
                    return
            b.used = now
            b.times.append(now)
            b.failed.append(not ok)
            if ok:
                b.failures = 0
                if latency is not None:
                    old = b.latency
                    b.latency = latency if old is None else old + self._alpha * (latency - old)
                if b.state is _HALF_OPEN:
                    b.state = _CLOSED
                    b.cooldown = self._cooldown
                    b.probe_since = None
                return
            b.failures += 1
            if b.state is _HALF_OPEN:
                b.cooldown = min(b.cooldown * 2, self._max_cooldown)
            elif b.state is _OPEN or b.failures < self._threshold:
                return  # a late failure of a call sent before opening does not extend the cooldown
            b.state = _OPEN
            b.until = now + b.cooldown
            b.probe_since = None
        finally:
            lock.release()

    def _admit(self, model: str) -> _Breaker | None:
        """A new breaker for `model`, dropping the least recently recorded closed one at `MAX_MODELS`;
        None when every one kept is open or half-open. Under the lock; O(MAX_MODELS) only past the cap."""
        breakers = self._breakers
        if len(breakers) >= MAX_MODELS:
            oldest, victim = math.inf, None
            for name, b in breakers.items():
                if b.state is _CLOSED and b.used < oldest:
                    oldest, victim = b.used, name
            if victim is None:
                return None
            del breakers[victim]
        b = breakers[model] = _Breaker(self._cooldown, self._max_samples)
        return b

    def release(self, model: str) -> None:
        """End an allowed attempt without an outcome, so a half-open breaker can probe again."""
        with self._lock:
            b = self._breakers.get(model)
            if b is not None:
                b.probe_since = None

    def latency(self, model: str) -> float | None:
        """The moving average of successful calls' latency in seconds, None until one was timed."""
        b = self._breakers.get(model)
        return None if b is None else b.latency

    def cooling(self, model: str) -> float:
        """Seconds until an open breaker lets a probe through; 0.0 when `model` may be tried.

        O(1) and lock-free (a stale answer is harmless), for ranking on every call; `get`
        counts the window and is for display."""
        b = self._breakers.get(model)
        if b is None or b.state != _OPEN:
            return 0.0
        return max(0.0, b.until - self._clock())

    def get(self, model: str) -> ModelHealth:
        """A snapshot of `model`; one never recorded is closed with zeros."""
        with self._lock:
            return self._view(model, self._clock())

    def snapshot(self, models: Iterable[str] | None = None) -> dict[str, ModelHealth]:
        """Snapshots at one instant of `models`, or of every model recorded so far."""
        names = None if models is None else list(models)  # outside the lock: a generator may call back
        with self._lock:
            now = self._clock()
            return {m: self._view(m, now) for m in (self._breakers if names is None else names)}

    def reset(self, model: str | None = None) -> None:
        """Forget `model` (or every model): closed, no outcomes, no latency."""
        with self._lock:
            if model is None:
                self._breakers.clear()
            else:
                self._breakers.pop(model, None)

    def _view(self, model: str, now: float) -> ModelHealth:
        b = self._breakers.get(model)
        if b is None:
            return ModelHealth(model, _CLOSED, 0, 0.0, 0, None, 0.0)
        times, failed = b.times, b.failed
        while times and now - times[0] >= self._window:
            times.popleft()
            failed.popleft()
        requests = len(times)
        state, retry_in = b.state, 0.0
        if state is _OPEN:
            retry_in = b.until - now
            if retry_in <= 0:  # the next allow() turns it half-open; say so already
                state, retry_in = _HALF_OPEN, 0.0
        error_rate = sum(failed) / requests if requests else 0.0
        return ModelHealth(model, state, b.failures, error_rate, requests, b.latency, retry_in)
