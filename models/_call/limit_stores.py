"""Where rate-limit buckets live: the `Store` interface, the integer bucket arithmetic, and the
in-process `MemoryStore`. Apart from `limits.py` so that `limits_redis.py` (the Redis store) and
`limits.py` (the limits and their waits) both build on it without importing each other."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from .._fork import fork_safe_lock

__all__ = ["FORCE", "FRESH", "PEEK", "TAKE", "UNIT", "US", "MemoryStore", "Outcome", "Store"]

US = 1_000_000  # microseconds per second
UNIT = 60 * US  # units per token (or request): a bucket of N per minute refills N units per microsecond
TAKE, PEEK, FORCE = "take", "peek", "force"  # take if it fits / only report / add or remove regardless
FRESH = 1 << 128  # a level above any capacity, so a bucket never used reads as full

Outcome = tuple[int, int, int, int]
"""What a store reports: wait in µs until both buckets cover the need (0: now), the bucket that
needs longest (0 none, 1 rpm, 2 tpm), and the rpm and tpm levels in units before the operation."""


class Store(ABC):
    """Where buckets live. `apply` is atomic for both buckets of one key, whatever the mode."""

    blocking = False
    """True when `apply` does I/O: the async path runs it in a worker thread, and each call passes
    the seconds it may take (the rest of the caller's timeout) as `timeout`."""

    @abstractmethod
    def apply(
        self,
        key: str,
        rpm: int | None,
        tpm: int | None,
        requests: int,
        tokens: int,
        mode: str,
        timeout: float | None = None,
    ) -> Outcome:
        """Take `requests` and `tokens` (negative: give back) per `mode`, and report the wait."""

    def forget(self, key: str) -> None:  # noqa: B027 - keeping the buckets is a valid choice
        """The limit on `key` was removed: a limit set on it anew starts full. By default the buckets
        stay: a store shared by processes keeps them for the others (they expire once full)."""


class MemoryStore(Store):
    """Buckets of this process, behind one lock (held for microseconds, so async calls take it too)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = fork_safe_lock()
        # key -> [rpm level, its µs, tpm level, its µs, rpm, tpm]: the rates the levels were written at (0: none)
        self._buckets: dict[str, list[int]] = {}

    def apply(
        self,
        key: str,
        rpm: int | None,
        tpm: int | None,
        requests: int,
        tokens: int,
        mode: str,
        timeout: float | None = None,
    ) -> Outcome:
        # Unrolled for the two buckets: this runs under the lock on every call. Never waits: no timeout.
        wait = which = rpm_level = tpm_level = 0
        with self._lock:
            now = round(self._clock() * US)
            state = self._buckets.get(key)
            if state is None:
                state = self._buckets[key] = [FRESH, 0, FRESH, 0, rpm or 0, tpm or 0]
            if rpm is not None:
                if state[4] == rpm:
                    rpm_level = min(rpm * UNIT, state[0] + max(0, now - state[1]) * rpm)
                else:
                    rpm_level = _rescaled(state[0], state[1], state[4], rpm, now)
                needed = -((rpm_level - requests * UNIT) // rpm)  # µs until the level covers the need
                if needed > wait:
                    wait, which = needed, 1
            if tpm is not None:
                if state[5] == tpm:
                    tpm_level = min(tpm * UNIT, state[2] + max(0, now - state[3]) * tpm)
                else:
                    tpm_level = _rescaled(state[2], state[3], state[5], tpm, now)
                needed = -((tpm_level - tokens * UNIT) // tpm)
                if needed > wait:
                    wait, which = needed, 2
            if mode == FORCE or (mode == TAKE and not wait):
                if rpm is not None:
                    state[0], state[1], state[4] = min(rpm * UNIT, rpm_level - requests * UNIT), now, rpm
                if tpm is not None:
                    state[2], state[3], state[5] = min(tpm * UNIT, tpm_level - tokens * UNIT), now, tpm
        return wait, which, rpm_level, tpm_level

    def forget(self, key: str) -> None:
        with self._lock:
            self._buckets.pop(key, None)

    def __repr__(self) -> str:
        return "memory"


def _rescaled(level: int, since: int, was: int, rate: int, now: int) -> int:
    """A bucket's level at `now` under `rate`, from one written under the rate `was` (0: never
    written, so full): raised, what was used still counts and the added capacity is free at once;
    lowered, the fraction left is kept, so the bucket refills in no more time than it would have."""
    if not was:
        return rate * UNIT
    level = min(was * UNIT, level + max(0, now - since) * was)
    return level + (rate - was) * UNIT if rate > was else level * rate // was
