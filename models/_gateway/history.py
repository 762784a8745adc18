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


class _Bucket:
    """One minute's spend per (key, model): [cost units, calls, unpriced calls, input, output tokens]."""

    __slots__ = ("minute", "spend")

    def __init__(self, minute: int) -> None:
        self.minute = minute
        self.spend: dict[tuple[str, str], list[int]] = {}


class History:
    """The last `size` calls of this worker, and its spend per key and model per minute over the
    last `minutes` minutes.

    `record` is O(1) and allocation-light (it runs once per request): a tuple onto a bounded
    deque and a few integer additions; the JSON shapes are built only when the page asks.
    """

    def __init__(self, size: int = 200, minutes: int = 60, clock: Callable[[], float] = time.time) -> None:
        if size < 1 or minutes < 1:
            raise ValueError(f"History needs size >= 1 and minutes >= 1, not size={size!r}, minutes={minutes!r}")
        self.size = size
        self.minutes = minutes
        self._clock = clock
        self._calls: deque[tuple[Any, ...]] = deque(maxlen=size)
        self._buckets: deque[_Bucket] = deque()

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        """Remember one request (`usage` None: it failed before any usage was known)."""
        now = self._clock()
        if usage is None:
            tokens_in = tokens_out = cached = 0
            cost = None
        else:
            tokens_in, tokens_out, cached, cost = (
                usage.input_tokens,
                usage.output_tokens,
                usage.cached_input_tokens,
                usage.cost,
            )
        self._calls.append((now, key, model, status, tokens_in, tokens_out, cached, cost, latency, stream))
        minute = int(now) // _MINUTE * _MINUTE
        buckets = self._buckets
        if not buckets or buckets[-1].minute != minute:
            buckets.append(_Bucket(minute))
            oldest = minute - (self.minutes - 1) * _MINUTE
            while buckets[0].minute < oldest:
                buckets.popleft()
        bucket = buckets[-1]
        row = bucket.spend.get((key, model))
        if row is None:
            row = bucket.spend[(key, model)] = [0, 0, 0, 0, 0]
        if cost is None:
            row[2] += usage is not None  # a call that answered but has no price: unknown, never $0
        else:
            row[0] += round(cost * COST_SCALE)  # the exact units the cost was computed from
        row[1] += 1
        row[3] += tokens_in
        row[4] += tokens_out

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest `limit` calls, newest first."""
        return [
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
            for at, key, model, status, tokens_in, tokens_out, cached, cost, latency, stream in islice(
                reversed(self._calls), max(limit, 0)
            )
        ]

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
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
            }
            for bucket in self._buckets
            if bucket.minute >= oldest
            for (key, model), (units, calls, unpriced, tokens_in, tokens_out) in sorted(bucket.spend.items())
        ]
        return {"minutes": self.minutes, "since": oldest, "spend": rows}
