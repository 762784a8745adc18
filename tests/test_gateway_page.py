"""The gateway page's data: `History` (recent calls, spend per minute, exact sums, bounded memory)."""

from __future__ import annotations

import pytest

from models import Usage
from models._gateway.history import History


class Clock:
    """A settable clock for `History`: minutes pass when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


T0 = 1_764_774_600.0  # a minute's start (UTC), so bucket edges are where the test puts them


def test_recent_is_newest_first_with_every_field() -> None:
    clock = Clock(T0 + 5.25)
    history = History(size=3, clock=clock)
    history.record("alice", "openai/gpt-4o", "ok", Usage(100, 20, 40, cost=0.00045), 0.01234, False)
    clock.now += 1
    history.record("bob", "google/gemini-2.5-flash", "rate_limit_error", None, 0.5, True)

    assert history.recent() == [
        {
            "time": T0 + 6.25,
            "key": "bob",
            "model": "google/gemini-2.5-flash",
            "status": "rate_limit_error",
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_input_tokens": 0,
            "cost_usd": None,
            "latency_ms": 500.0,
            "stream": True,
        },
        {
            "time": T0 + 5.25,
            "key": "alice",
            "model": "openai/gpt-4o",
            "status": "ok",
            "input_tokens": 100,
            "output_tokens": 20,
            "cached_input_tokens": 40,
            "cost_usd": 0.00045,
            "latency_ms": 12.3,
            "stream": False,
        },
    ]
    assert [c["key"] for c in history.recent(limit=1)] == ["bob"]
    assert history.recent(limit=0) == []


def test_recent_keeps_only_the_last_size_calls() -> None:
    history = History(size=3, clock=Clock(T0))
    for i in range(10):
        history.record(f"k{i}", "openai/gpt-4o", "ok", Usage(i, 0, cost=0.0), 0.0, False)
    assert [c["key"] for c in history.recent(limit=100)] == ["k9", "k8", "k7"]
    assert len(history._calls) == 3


def test_spend_adds_exact_units_per_key_model_and_minute() -> None:
    clock = Clock(T0)
    history = History(clock=clock)
    for _ in range(3):  # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in floats; in cost units it is 0.3
        history.record("alice", "openai/gpt-4o", "ok", Usage(10, 5, cost=0.1), 0.1, False)
    history.record("bob", "openai/gpt-4o", "ok", Usage(7, 3, cost=0.000075), 0.1, True)
    clock.now = T0 + 59.999  # still the first minute
    history.record("alice", "anthropic/claude-sonnet-4-6", "ok", Usage(1, 1, cost=None), 0.1, False)  # unpriced
    clock.now = T0 + 61
    history.record("alice", "openai/gpt-4o", "api_error", None, 0.2, False)  # failed: a call, no cost

    assert history.spend() == {
        "minutes": 60,
        "since": T0 + 60 - 59 * 60,
        "spend": [
            {
                "minute": T0,
                "key": "alice",
                "model": "anthropic/claude-sonnet-4-6",
                "cost_usd": 0.0,
                "calls": 1,
                "unpriced": 1,
                "input_tokens": 1,
                "output_tokens": 1,
            },
            {
                "minute": T0,
                "key": "alice",
                "model": "openai/gpt-4o",
                "cost_usd": 0.3,
                "calls": 3,
                "unpriced": 0,
                "input_tokens": 30,
                "output_tokens": 15,
            },
            {
                "minute": T0,
                "key": "bob",
                "model": "openai/gpt-4o",
                "cost_usd": 0.000075,
                "calls": 1,
                "unpriced": 0,
                "input_tokens": 7,
                "output_tokens": 3,
            },
            {
                "minute": T0 + 60,
                "key": "alice",
                "model": "openai/gpt-4o",
                "cost_usd": 0.0,
                "calls": 1,
                "unpriced": 0,
                "input_tokens": 0,
                "output_tokens": 0,
            },
        ],
    }


def test_spend_keeps_only_the_window() -> None:
    """Minutes older than the window leave memory when a new minute starts, and `spend` never shows
    them even before then."""
    clock = Clock(T0)
    history = History(minutes=2, clock=clock)
    history.record("alice", "openai/gpt-4o", "ok", Usage(1, 1, cost=0.5), 0.0, False)
    clock.now = T0 + 60
    history.record("alice", "openai/gpt-4o", "ok", Usage(1, 1, cost=0.25), 0.0, False)
    assert [(r["minute"], r["cost_usd"]) for r in history.spend()["spend"]] == [(T0, 0.5), (T0 + 60, 0.25)]

    clock.now = T0 + 120  # the first minute has left the window; no call has come since
    assert [(r["minute"], r["cost_usd"]) for r in history.spend()["spend"]] == [(T0 + 60, 0.25)]
    assert len(history._buckets) == 2

    clock.now = T0 + 600
    history.record("bob", "openai/gpt-4o", "ok", Usage(1, 1, cost=0.125), 0.0, False)
    assert [b.minute for b in history._buckets] == [T0 + 600]
    assert history.spend()["spend"][0]["key"] == "bob"


@pytest.mark.parametrize(("size", "minutes"), [(0, 60), (10, 0)])
def test_history_needs_room(size: int, minutes: int) -> None:
    with pytest.raises(ValueError, match=f"needs size >= 1 and minutes >= 1, not size={size}, minutes={minutes}$"):
        History(size=size, minutes=minutes)
