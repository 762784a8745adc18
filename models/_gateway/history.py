"""Recent calls and spend over time, in memory, for the web page (`/api/calls`, `/api/spend`).

One worker's view: each worker keeps its own (bounded) history; the totals that every worker
shares are `/api/usage`'s (the gatekeeper's store). Costs add up as exact integers of 1e-15 USD.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from itertools import islice
from typing import TYPE_CHECKING, Any

from .._costs import COST_SCALE

if TYPE_CHECKING:
    from .._types import Usage

__all__ = ["History"]

_MINUTE = 60
_ROWS = 1000  # (key, model) rows in one minute at most; more distinct ids than this count as "other"


class _Bucket:
    """One minute's spend per (key, model): [cost units, calls, calls answered without a price]."""

    __slots__ = ("minute", "spend")

    def __init__(self, minute: int) -> None:
        self.minute = minute
        self.spend: dict[tuple[str, str], list[int]] = {}


_NO_USAGE = (0, 0, 0, None)  # a request that failed before any usage was known


class History:
    """The last `size` calls of this worker, and its spend per key and model per minute over the
    last `minutes` minutes.

    `record` runs once per request, so it only appends a tuple (the `Usage` itself, read later) to a
    bounded deque and adds two integers to the minute's row; the JSON is built when the page asks.
    Memory stays bounded: `size` calls, and per minute a row per key and model, up to `_ROWS` of them
    (then further models count as "other"). Used from the event loop's thread only: no lock.
    """

    def __init__(self, size: int = 200, minutes: int = 60, clock: Callable[[], float] = time.time) -> None:
        if size < 1 or minutes < 1:
            raise ValueError(f"History needs size >= 1 and minutes >= 1, not size={size!r}, minutes={minutes!r}")
        self.size = size
        self.minutes = minutes
        self._clock = clock
        self._calls: deque[tuple[float, str, str, str, Usage | None, float, bool]] = deque(maxlen=size)
        self._buckets: deque[_Bucket] = deque()

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        """Remember one request (`usage` None: it failed before any usage was known)."""
        now = self._clock()
        self._calls.append((now, key, model, status, usage, latency, stream))
        minute = int(now) // _MINUTE * _MINUTE
        buckets = self._buckets
        if not buckets or buckets[-1].minute != minute:
            buckets.append(_Bucket(minute))
            oldest = minute - (self.minutes - 1) * _MINUTE
            while buckets[0].minute < oldest:
                buckets.popleft()
        spend = buckets[-1].spend
        row = spend.get((key, model))
        if row is None:
            if len(spend) >= _ROWS:
                model = "other"
                row = spend.get((key, model))
            if row is None:
                row = spend[(key, model)] = [0, 0, 0]
        row[1] += 1
        if usage is not None:
            cost = usage.cost
            if cost is None:
                row[2] += 1  # answered, but no price is known: unknown, never $0
            else:
                row[0] += round(cost * COST_SCALE)  # the exact units the cost was computed from

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest `limit` calls, newest first."""
        calls = []
        for at, key, model, status, usage, latency, stream in islice(reversed(self._calls), max(limit, 0)):
            tokens_in, tokens_out, cached, cost = (
                _NO_USAGE
                if usage is None
                else (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens, usage.cost)
            )
            calls.append(
                {
                    "time": at,
                    "key": key,
                    "model": model,
                    "status": status,
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                    "cached_input_tokens": cached,
                    "cost_usd": cost,
                    "latency_ms": round(latency * 1000, 1),
                    "stream": stream,
                }
            )
        return calls

    def spend(self) -> dict[str, Any]:
        """Spend per key and model per minute (UTC epoch seconds of the minute's start), oldest
        first, within the last `minutes` minutes; `cost_usd` counts priced calls only, `unpriced`
        says how many answered without a price."""
        oldest = int(self._clock()) // _MINUTE * _MINUTE - (self.minutes - 1) * _MINUTE
        rows = [
            {
                "minute": bucket.minute,
                "key": key,
                "model": model,
                "cost_usd": units / COST_SCALE,
                "calls": calls,
                "unpriced": unpriced,
            }
            for bucket in self._buckets
            if bucket.minute >= oldest
            for (key, model), (units, calls, unpriced) in sorted(bucket.spend.items())
        ]
        return {"minutes": self.minutes, "since": oldest, "spend": rows}
