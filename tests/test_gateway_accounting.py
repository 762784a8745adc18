"""What the gateway tells its gatekeeper and its records about every request: `admit` before the call
(with what bounds its cost), `settle` after with the exact usage (None on failure; a stream the
client left settles too), `record` once with the key, model, status, usage and stream flag. The
gatekeeper and history here are recording subclasses of the real ones, set on the worker's state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx2 as httpx
import openai
import pytest

from models._gateway.gate import Admission, Gatekeeper, GatewayError
from models._gateway.history import History
from models._gateway.settings import GatewaySettings
from models._types import Usage

from .fake_llm import FakeLLM, Fault, Reply
from .gateway_server import GatewayServer

pytest.importorskip("starlette")

COST = (10 * 2.5 + 5 * 10) / 1e6  # gpt-4o, the fake's default 10 tokens in and 5 out


class RecordingGate(Gatekeeper):
    """Admits everyone as "team-a", except a model named "refused" (403, naming the key); records calls."""

    def __init__(self, gate: Gatekeeper) -> None:
        super().__init__(gate.api, gate.settings)
        self.admitted: list[tuple[Any, ...]] = []
        self.settled: list[tuple[str, Usage | None]] = []
        self.event = threading.Event()

    async def admit(
        self,
        authorization: str | None,
        model: str,
        *,
        prompt: Sequence[Any] | None = None,
        inputs: Sequence[str] | None = None,
        max_tokens: int | None = None,
        options: Any = None,  # the request's other fields (tools...), which the real gate counts
    ) -> Admission:
        self.admitted.append((authorization, model, prompt, inputs, max_tokens))
        if model == "refused":
            raise GatewayError(
                403, "Key 'team-a' may not call 'refused'.", code="model_not_allowed", key="team-a", model="refused"
            )
        return Admission("team-a", "openai/gpt-4o" if model == "gpt-4o" else model, reserved=42)

    async def settle(self, admission: Admission, usage: Usage | None) -> None:
        assert admission.reserved == 42
        self.settled.append((admission.model, usage))
        self.event.set()


class RecordingHistory(History):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, ...]] = []

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        assert 0 < latency < 10
        self.calls.append((key, model, status, None if usage is None else usage.cost, stream))


@pytest.fixture(scope="module")
def gateway(fake_server: FakeLLM) -> Iterator[GatewayServer]:
    with GatewayServer(fake_server, GatewaySettings(no_auth=True)) as server:
        yield server


@pytest.fixture
def gate(gateway: GatewayServer) -> RecordingGate:
    gateway.state.gate = RecordingGate(gateway.state.gate)
    return gateway.state.gate


@pytest.fixture
def history(gateway: GatewayServer) -> RecordingHistory:
    gateway.state.history = RecordingHistory()
    return gateway.state.history


MESSAGES = [{"role": "user", "content": "hi"}]


def test_ok_call(gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory) -> None:
    gateway.client("sk-gw-1").chat.completions.create(model="gpt-4o", messages=MESSAGES, max_tokens=9)  # type: ignore[arg-type]
    assert gate.admitted == [("Bearer sk-gw-1", "gpt-4o", MESSAGES, None, 9)]
    assert [(m, u.cost if u else None) for m, u in gate.settled] == [("openai/gpt-4o", COST)]
    assert history.calls == [("team-a", "openai/gpt-4o", "ok", COST, False)]
    assert fake.requests[-1].body["model"] == "gpt-4o"  # the admitted model, as its provider names it


def test_failed_call_releases(
    gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory
) -> None:
    fake.enqueue(*[Fault.server()] * 3)
    with pytest.raises(openai.InternalServerError):
        gateway.client().chat.completions.create(model="gpt-4o", messages=MESSAGES)  # type: ignore[arg-type]
    assert gate.settled == [("openai/gpt-4o", None)]
    assert history.calls == [("team-a", "openai/gpt-4o", "server_error", None, False)]


def test_structured_output_failure_is_charged(
    gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory
) -> None:
    """The answer arrived and did not parse: its tokens were spent, so the gatekeeper charges them."""
    fake.set_reply(Reply(text="not json"))
    body = {"model": "gpt-4o", "messages": MESSAGES, "response_format": {"type": "json_object"}}
    for stream in (False, True):
        answer = httpx.post(gateway.base_url + "/chat/completions", json={**body, "stream": stream})
        assert answer.status_code == (200 if stream else 502)
    assert [(m, u.cost if u else None) for m, u in gate.settled] == [("openai/gpt-4o", COST)] * 2
    assert [c[2:] for c in history.calls] == [("server_error", COST, False), ("server_error", COST, True)]


def test_refused(gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory) -> None:
    with pytest.raises(openai.PermissionDeniedError) as raised:
        gateway.client().chat.completions.create(model="refused", messages=MESSAGES)  # type: ignore[arg-type]
    assert raised.value.body == {
        "message": "Key 'team-a' may not call 'refused'.",
        "type": "invalid_request_error",
        "param": None,
        "code": "model_not_allowed",
    }
    assert gate.settled == []  # nothing was admitted, so nothing to settle
    assert history.calls == [("team-a", "refused", "invalid_request_error", None, False)]
    assert fake.requests == []


def test_bad_input_is_not_admitted(gate: RecordingGate, gateway: GatewayServer, history: RecordingHistory) -> None:
    assert httpx.post(gateway.base_url + "/chat/completions", json={"model": 1}).status_code == 400
    assert (gate.admitted, history.calls) == ([], [])


def test_stream(gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory) -> None:
    chunks = gateway.client().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)  # type: ignore[arg-type]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "echo: hi"
    assert [(m, u.cost if u else None) for m, u in gate.settled] == [("openai/gpt-4o", COST)]
    assert history.calls == [("team-a", "openai/gpt-4o", "ok", COST, True)]


def test_stream_left_by_the_client(
    gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory
) -> None:
    """The client closes the stream after its first chunk: the gateway closes the provider's stream and
    settles what was received (its cost unknown: the provider's usage never came)."""
    fake.set_reply(Reply(text="x" * 4000, chunks=200))
    fake.enqueue(Fault(trickle=0.02))  # ~64 bytes every 20 ms: the whole answer would take seconds
    with gateway.client().chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True) as stream:  # type: ignore[arg-type]
        first = next(iter(stream))
    assert first.choices[0].delta.role == "assistant"
    started = time.monotonic()
    assert gate.event.wait(5)
    assert time.monotonic() - started < 2
    assert [(m, u.cost if u else None) for m, u in gate.settled] == [("openai/gpt-4o", None)]
    assert [c[:3] + c[4:] for c in history.calls] == [("team-a", "openai/gpt-4o", "ok", True)]


def test_embeddings(gateway: GatewayServer, fake: FakeLLM, gate: RecordingGate, history: RecordingHistory) -> None:
    gateway.client("k").embeddings.create(model="text-embedding-3-small", input=["a b", "c"])
    assert gate.admitted == [("Bearer k", "text-embedding-3-small", None, ["a b", "c"], None)]
    cost = round(3 * 0.02 / 1e6, 15)
    assert [(m, u.cost if u else None) for m, u in gate.settled] == [("text-embedding-3-small", cost)]
    assert history.calls == [("team-a", "openai/text-embedding-3-small", "ok", cost, False)]
