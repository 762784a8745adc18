"""Client-side rate limits: `models.limit("openai/gpt-5", rpm=500, tpm=200_000)`.

A limit is two token buckets (requests and tokens per minute) that start full and refill
continuously. Changing a rate keeps what was used: a raised bucket gains the added capacity at
once, a lowered one keeps the fraction it had left (so it refills in no more time than before).
A call reserves 1 request and its estimated tokens from every limit that applies (its
provider's, then its model's) before anything is sent, waiting for capacity when allowed;
afterwards the caller settles the actual tokens: a refund, or a debt that delays later calls.
The arithmetic is in integers (microseconds, and tokens scaled by 60e6 so a per-minute rate
refills a whole number of units each microsecond), so every wait is exact and a simulated
clock gives deterministic results. Buckets live in a store: in this process behind one lock,
or in Redis (one Lua script, the server's clock) shared by processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

from .._fork import fork_safe_lock
from ..errors import RateLimitError
from .limit_stores import FORCE, PEEK, TAKE, UNIT, US, MemoryStore, Store

__all__ = ["Limit", "Limits", "MemoryStore", "Remaining", "Reservation", "Store", "Timing"]

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class Timing(NamedTuple):
    """The clock and sleeps a limit waits with; tests pass a simulated clock."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    asleep: Callable[[float], Awaitable[None]] | None = None  # None: asyncio.sleep, imported when first needed


class Remaining(NamedTuple):
    """Capacity available now; negative while a debt is being paid off. None: no such bucket."""

    requests: float | None
    tokens: float | None


def _check_int(name: str, value: object, low: int | None, *, optional: bool = False) -> None:
    """A clear error naming the argument: an int (never a bool) of at least `low`."""
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int{' or None' if optional else ''}, not {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, not {value!r}")


def _check(key: object, rpm: object, tpm: object, block: object) -> None:
    if not isinstance(key, str):
        raise TypeError(f"key must be a provider name or a canonical model id such as 'openai/gpt-5', not {key!r}")
    if not key:
        raise ValueError("key must not be empty")
    _check_int("rpm", rpm, 1, optional=True)
    _check_int("tpm", tpm, 1, optional=True)
    if not isinstance(block, bool):
        raise TypeError(f"block must be True or False, not {block!r}")


class Limit:
    """One limit (rpm and/or tpm) on a key: a provider name or a canonical model id."""

    __slots__ = ("block", "key", "rpm", "store", "timing", "tpm")

    def __init__(
        self,
        key: str,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        block: bool = True,
        store: Store | None = None,
        timing: Timing | None = None,
    ) -> None:
        _check(key, rpm, tpm, block)
        if rpm is None and tpm is None:
            raise ValueError(f"a limit on {key!r} needs rpm or tpm")
        self.key, self.rpm, self.tpm, self.block = key, rpm, tpm, block
        self.timing = timing or Timing()
        self.store = store or MemoryStore(self.timing.clock)

    def acquire(self, tokens: int = 0, *, timeout: float | None = None) -> Reservation:
        """Reserve 1 request and `tokens`, waiting up to `timeout` seconds (None: as long as needed)."""
        return acquire_all((self,), tokens, timeout=timeout)

    async def aacquire(self, tokens: int = 0, *, timeout: float | None = None) -> Reservation:
        """`acquire` that awaits instead of sleeping."""
        return await aacquire_all((self,), tokens, timeout=timeout)

    def settle(self, tokens_delta: int, timeout: float | None = None) -> None:
        """Charge `tokens_delta` more tokens (negative: refund); a charge may leave a debt. A remote
        store gets `timeout` seconds (None: its own limit)."""
        _check_int("tokens_delta", tokens_delta, None)
        if self.tpm is not None and tokens_delta:
            self.store.apply(self.key, None, self.tpm, 0, tokens_delta, FORCE, timeout)

    def remaining(self) -> Remaining:
        """Requests and tokens available now."""
        _, _, requests, tokens = self.store.apply(self.key, self.rpm, self.tpm, 0, 0, PEEK)
        return Remaining(None if self.rpm is None else requests / UNIT, None if self.tpm is None else tokens / UNIT)

    def __repr__(self) -> str:
        return f"Limit({self.key!r}, rpm={self.rpm}, tpm={self.tpm}, block={self.block}, store={str(self.store)!r})"


class Reservation:
    """What one call took from its limits; `settle` turns the estimate into the actual tokens."""

    __slots__ = ("limits", "timeout", "tokens")

    def __init__(self, limits: tuple[Limit, ...], tokens: int, timeout: float | None = None) -> None:
        self.limits = limits
        self.tokens = tokens  # charged so far, so settling twice adjusts instead of double-counting
        self.timeout = timeout  # the call's: what a remote store may take to settle

    def settle(self, actual_tokens: int) -> None:
        """Refund or charge the difference between what was reserved and `actual_tokens`."""
        _check_int("actual_tokens", actual_tokens, 0)
        delta, self.tokens = actual_tokens - self.tokens, actual_tokens
        for limit in self.limits:
            limit.settle(delta, self.timeout)

    async def asettle(self, actual_tokens: int) -> None:
        """`settle` that keeps the event loop free while a remote store answers."""
        if any(limit.store.blocking for limit in self.limits):
            import asyncio

            await asyncio.to_thread(self.settle, actual_tokens)
        else:
            self.settle(actual_tokens)


_Where = tuple[str | None, str | None]  # the call's model and provider, for the error


def _error(limit: Limit, which: int, reason: str, where: _Where, retry_after: float | None = None) -> RateLimitError:
    """Raised before sending; model and provider default to what the limit's key names."""
    model, provider = where
    name, value = ("rpm", limit.rpm) if which == 1 else ("tpm", limit.tpm)
    return RateLimitError(
        f"client-side limit for {limit.key} reached ({name}={value}): {reason}",
        provider=provider or limit.key.split("/", 1)[0],
        model=model or (limit.key if "/" in limit.key else None),
        retry_after=retry_after,
        retryable=retry_after is not None,  # without a time to retry after, it can never fit
    )


def _deadline(
    limits: tuple[Limit, ...], requests: int, tokens: int, timeout: float | None, timing: Timing, where: _Where
) -> float:
    """Validate, refuse at once what can never fit, and return the deadline on `timing.clock`."""
    _check_int("requests", requests, 1)
    _check_int("tokens", tokens, 0)
    if timeout is not None:
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be seconds or None, not {timeout!r}")
        if not timeout >= 0:  # NaN too
            raise ValueError(f"timeout must be >= 0 seconds, not {timeout!r}")
    for limit in limits:
        if limit.rpm is not None and requests > limit.rpm:
            fix = f"raise rpm via models.limit({limit.key!r}, rpm=...) or send fewer at once"
            raise _error(limit, 1, f"this call sends {requests} requests; {fix}", where)
        if limit.tpm is not None and tokens > limit.tpm:
            fix = f"raise tpm via models.limit({limit.key!r}, tpm=...) or lower max_tokens"
            raise _error(limit, 2, f"this call needs {tokens} tokens (prompt estimate + max_tokens); {fix}", where)
    return math.inf if timeout is None else timing.clock() + timeout


_Miss = tuple[int, Limit, int]  # wait in µs, the limit, its short bucket


def _left(deadline: float, timing: Timing) -> float | None:
    """Seconds a remote store may take now: the rest of the caller's timeout (None: no timeout)."""
    return None if deadline == math.inf else max(0.0, deadline - timing.clock())


def _take_all(limits: tuple[Limit, ...], requests: int, tokens: int, deadline: float, timing: Timing) -> list[_Miss]:
    """Take from every limit in order, or from none: what was taken is given back on a miss."""
    taken: list[Limit] = []
    misses: list[_Miss] = []
    try:
        for limit in limits:  # after a miss, only ask how long the others would need
            mode = PEEK if misses else TAKE
            store = limit.store
            timeout = _left(deadline, timing) if store.blocking else None
            wait, which, _, _ = store.apply(limit.key, limit.rpm, limit.tpm, requests, tokens, mode, timeout)
            if wait:
                misses.append((wait, limit, which))
            elif not misses:
                taken.append(limit)
    finally:
        if len(taken) < len(limits):  # a miss, or an error from a store
            for limit in taken:
                store = limit.store
                timeout = _left(deadline, timing) if store.blocking else None
                store.apply(limit.key, limit.rpm, limit.tpm, -requests, -tokens, FORCE, timeout)
    return misses


def _delay(misses: list[_Miss], deadline: float, timing: Timing, where: _Where) -> float:
    """Seconds to sleep until every limit has room, or the error to raise now instead."""
    wait, limit, which = max(misses, key=lambda miss: miss[0])
    delay = wait / US
    stop = next((miss for miss in misses if not miss[1].block), None)
    if stop is not None:
        _, limit, which = stop
        reason = f"capacity in {delay:.3f} s, and block=False, so not waiting"
    elif delay > (left := deadline - timing.clock()):
        reason = f"capacity in {delay:.3f} s, beyond the remaining timeout of {left:.3f} s"
    else:
        return delay
    raise _error(limit, which, reason, where, retry_after=delay)


def acquire_all(
    limits: tuple[Limit, ...],
    tokens: int,
    *,
    timeout: float | None = None,
    model: str | None = None,
    provider: str | None = None,
    requests: int = 1,
) -> Reservation:
    """Reserve `requests` (one call: 1; an embedding: its batches) and `tokens` from every limit, all
    or none, waiting up to `timeout` seconds (None: as long as needed), or raise `RateLimitError`
    naming `model` and `provider`.

    Waits on the first limit's clock and sleep: a registry gives all its limits the same ones.
    """
    if not limits:
        return Reservation(limits, tokens, timeout)
    timing, where = limits[0].timing, (model, provider)
    deadline = _deadline(limits, requests, tokens, timeout, timing, where)
    while misses := _take_all(limits, requests, tokens, deadline, timing):
        timing.sleep(_delay(misses, deadline, timing, where))
    return Reservation(limits, tokens, timeout)


async def aacquire_all(
    limits: tuple[Limit, ...],
    tokens: int,
    *,
    timeout: float | None = None,
    model: str | None = None,
    provider: str | None = None,
    requests: int = 1,
) -> Reservation:
    """`acquire_all` that awaits its sleeps, and runs a remote store's round trips in a worker thread."""
    import asyncio  # here, so that `import models` does not import asyncio

    if not limits:
        return Reservation(limits, tokens, timeout)
    timing, where = limits[0].timing, (model, provider)
    deadline = _deadline(limits, requests, tokens, timeout, timing, where)
    asleep = timing.asleep or asyncio.sleep
    in_thread = any(limit.store.blocking for limit in limits)
    while misses := (
        await asyncio.to_thread(_take_all, limits, requests, tokens, deadline, timing)
        if in_thread
        else _take_all(limits, requests, tokens, deadline, timing)
    ):
        await asleep(_delay(misses, deadline, timing, where))
    return Reservation(limits, tokens, timeout)


_NONE: tuple[Limit, ...] = ()


class Limits:
    """The limits of one `ModelsAPI`, by key: a provider name or a canonical model id.

    The table is replaced, never changed in place, so `for_model` (on every call's path)
    reads it without the lock.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        asleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.timing = Timing(clock, sleep, asleep)
        self._memory = MemoryStore(clock)
        self._redis: dict[str, Store] = {}  # one Redis store (connection pool) per URL
        self.table: dict[str, Limit] = {}  # replaced, never changed in place: read without the lock
        self._lock = fork_safe_lock()

    def set(
        self,
        key: str,
        rpm: int | None = None,
        tpm: int | None = None,
        *,
        block: bool = True,
        store: str | Store | None = None,
    ) -> Limit | None:
        """Set (or replace) the limit on `key`; rpm and tpm both None remove it and return None.

        A replaced limit keeps what its buckets used (same key and store), so re-setting a limit
        never refills it, and a changed rate is rescaled (see the module's docstring); a removed
        limit set anew starts full. `store`: None or "memory" (this process), a redis:// URL, or a `Store`.
        """
        _check(key, rpm, tpm, block)
        limit = None
        if rpm is not None or tpm is not None:
            limit = Limit(key, rpm, tpm, block=block, store=self._store(store), timing=self.timing)
        with self._lock:
            old = self.table.get(key)
            table = {k: v for k, v in self.table.items() if k != key}
            if limit is not None:
                table[key] = limit
            self.table = table
        if old is not None and (limit is None or limit.store is not old.store):
            old.store.forget(key)
        return limit

    def _store(self, store: str | Store | None) -> Store:
        if store is None or store == "memory":
            return self._memory
        if isinstance(store, Store):
            return store
        if not isinstance(store, str):
            raise TypeError(f"store must be None, 'memory', a redis:// URL or a Store, not {store!r}")
        if not store.startswith(_REDIS_SCHEMES):
            raise ValueError(f"store must be None, 'memory', a redis:// URL or a Store, not {store!r}")
        cached = self._redis.get(store)
        if cached is None:
            from .limits_redis import RedisStore  # only for a shared limit: it imports redis

            built = RedisStore(store)  # outside the lock
            with self._lock:
                cached = self._redis.setdefault(store, built)
        return cached

    def get(self, key: str) -> Limit | None:
        return self.table.get(key)

    def for_model(self, model_id: str, provider: str) -> tuple[Limit, ...]:
        """The limits a call to `model_id` must fit, in a fixed order: its provider's, then its own."""
        table = self.table
        if not table:
            return _NONE
        by_provider, by_model = table.get(provider), table.get(model_id)
        if by_provider is None:
            return _NONE if by_model is None else (by_model,)
        return (by_provider,) if by_model is None else (by_provider, by_model)

    # The module's functions, so that holding the registry is enough to take from its limits.
    acquire_all = staticmethod(acquire_all)
    aacquire_all = staticmethod(aacquire_all)

    def __repr__(self) -> str:
        return f"Limits({list(self.table.values())!r})"
