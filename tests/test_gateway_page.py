"""The gateway page's data: `History` (recent calls, spend per minute, exact sums, bounded memory), and its
routes over HTTP (the page, its files, `/api/calls`, `/api/spend`)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import models._gateway
from models import Usage
from models._gateway.history import _ROWS, History
from models._gateway.settings import GatewaySettings

from .fake_llm import Reply

if TYPE_CHECKING:
    from .fake_llm import FakeLLM
    from .gateway_server import GatewayServer


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
            },
            {
                "minute": T0,
                "key": "alice",
                "model": "openai/gpt-4o",
                "cost_usd": 0.3,
                "calls": 3,
                "unpriced": 0,
            },
            {
                "minute": T0,
                "key": "bob",
                "model": "openai/gpt-4o",
                "cost_usd": 0.000075,
                "calls": 1,
                "unpriced": 0,
            },
            {
                "minute": T0 + 60,
                "key": "alice",
                "model": "openai/gpt-4o",
                "cost_usd": 0.0,
                "calls": 1,
                "unpriced": 0,
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


def test_spend_rows_per_minute_are_bounded() -> None:
    """Past `_ROWS` distinct (key, model) pairs in a minute, further models of any key count as "other"."""
    history = History(clock=Clock(T0))
    for i in range(_ROWS + 5):
        history.record("alice", f"unknown/model-{i}", "ok", Usage(1, 1, cost=0.25), 0.0, False)
    history.record("alice", "unknown/model-0", "ok", Usage(1, 1, cost=0.25), 0.0, False)  # a row it has
    rows = history.spend()["spend"]
    assert len(rows) == _ROWS + 1 and len(history._buckets[0].spend) == _ROWS + 1
    assert [(r["calls"], r["cost_usd"]) for r in rows if r["model"] in ("other", "unknown/model-0")] == [
        (5, 1.25),
        (2, 0.5),
    ]


@pytest.mark.parametrize(("size", "minutes"), [(0, 60), (10, 0)])
def test_history_needs_room(size: int, minutes: int) -> None:
    with pytest.raises(ValueError, match=f"needs size >= 1 and minutes >= 1, not size={size}, minutes={minutes}$"):
        History(size=size, minutes=minutes)


# -- the routes, over HTTP, on the gateway with the wire fake ----------------------------------
ADMIN = "page-routes-admin-secret-0123456789"
STATIC = Path(models._gateway.__file__).parent / "static"


@pytest.fixture(scope="module")
def gateway(fake_server: FakeLLM) -> Iterator[GatewayServer]:
    pytest.importorskip("uvicorn", reason="the gateway's extra is not installed (pip install 'models[gateway]')")
    from .gateway_server import GatewayServer

    settings = GatewaySettings(keys=f'[{{"name": "admin", "key": "{ADMIN}", "admin": true}}]', recent_calls=5)
    with GatewayServer(fake_server, settings) as gw:
        yield gw


def get(gateway: GatewayServer, path: str, key: str | None = ADMIN) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (an error status is an answer here, not an exception)."""
    request = urllib.request.Request(gateway.url + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_page_and_its_files_are_served(gateway: GatewayServer) -> None:
    """`/` is the same static bytes for anyone (no data, no key needed) with a policy that runs only its
    own script and talks only to its own origin; its script and style are served with their types."""
    status, headers, body = get(gateway, "/", key=None)
    assert status == 200 and body == (STATIC / "index.html").read_bytes()
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    assert headers["x-content-type-options"] == "nosniff"
    for name, kind in (("app.js", "text/javascript; charset=utf-8"), ("style.css", "text/css; charset=utf-8")):
        status, headers, body = get(gateway, f"/static/{name}", key=None)
        assert (status, headers["content-type"], body) == (200, kind, (STATIC / name).read_bytes())
    status, _, body = get(gateway, "/static/nothing.js", key=None)
    assert status == 404 and json.loads(body)["error"]["type"] == "invalid_request_error"
    status, _, _ = get(gateway, "/static/../page.py", key=None)
    assert status == 404


def test_calls_and_spend_after_calls(gateway: GatewayServer, fake_server: FakeLLM) -> None:
    """`/api/calls` gives the latest calls (newest first, at most `recent_calls`), `/api/spend` the minute's
    exact spend per key and model."""
    fake_server.reset()
    fake_server.set_reply(Reply(input_tokens=1200, output_tokens=300))
    client = gateway.client(ADMIN)
    for _ in range(7):
        client.chat.completions.create(model="openai/gpt-5.4", messages=[{"role": "user", "content": "hi"}])
    key = gateway.state.history.recent(1)[0]["key"]
    one = gateway.api.cost("openai/gpt-5.4", 1200, 300)
    assert one == 0.0075

    status, headers, body = get(gateway, "/api/calls?limit=2")
    calls = json.loads(body)
    assert (status, headers["cache-control"], calls["object"]) == (200, "no-store", "list")
    assert [
        (c["key"], c["model"], c["status"], c["input_tokens"], c["output_tokens"], c["cost_usd"]) for c in calls["data"]
    ] == [(key, "openai/gpt-5.4", "ok", 1200, 300, 0.0075)] * 2
    assert len(json.loads(get(gateway, "/api/calls")[2])["data"]) == 5  # recent_calls=5

    status, _, body = get(gateway, "/api/spend")
    spend = json.loads(body)
    assert status == 200 and spend["minutes"] == 60
    assert sum(r["calls"] for r in spend["spend"]) == 7
    assert {(r["key"], r["model"]) for r in spend["spend"]} == {(key, "openai/gpt-5.4")}
    assert sum(round(r["cost_usd"] * 10**15) for r in spend["spend"]) == 7 * 7_500_000_000_000


@pytest.mark.parametrize("limit", ["0", "6", "x", "1.5", "-1", "²"])
def test_calls_limit_must_be_in_range(gateway: GatewayServer, limit: str) -> None:
    status, _, body = get(gateway, "/api/calls?limit=" + urllib.parse.quote(limit))
    assert (status, json.loads(body)) == (
        400,
        {
            "error": {
                "message": f"limit must be a whole number from 1 to 5, not {limit!r}",
                "type": "invalid_request_error",
                "param": "limit",
                "code": None,
            }
        },
    )
