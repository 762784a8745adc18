"""The observer contract the call log and tracing build on (models/_observe/observed.py): every call
form tells each observer `begin` once and then exactly one of `ok` or `error`, with what was sent and
what came back, over the real SDKs against the wire fake."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models import InvalidRequestError, ModelsAPI, RateLimitError
from models._observe.observed import Observed
from models._types import Completion, Usage

from .conftest import MODELS, PROVIDERS
from .fake_llm import FakeLLM, Fault, Reply


class Recorder:
    """An observer that writes down what it is told, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def begin(self, call: Observed) -> object:
        self.events.append(("begin", call.operation, call.info.id, call.stream, call.current))
        return len(self.events)

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        self.events.append(("ok", state, c.text, usage.input_tokens, usage.output_tokens, usage.cost))
        self.last = (call, c)

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        self.events.append(("error", state, type(error).__name__, kind))


@pytest.fixture
def recorder(wired: ModelsAPI) -> Recorder:
    recorder = Recorder()
    wired._service.add_observer(recorder)
    return recorder


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_call_is_observed_once_with_what_was_sent_and_answered(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder, provider: str
) -> None:
    fake.set_reply(Reply(text="four", input_tokens=12, output_tokens=3))
    response = wired(MODELS[provider], "2+2?", system="Be brief.", max_tokens=50)
    cost = response.usage.cost
    assert recorder.events == [
        ("begin", "chat", MODELS[provider], False, True),
        ("ok", 1, "four", 12, 3, cost),
    ]
    call, completion = recorder.last
    assert call.system == "Be brief."
    assert call.messages == [{"role": "user", "content": "2+2?"}]
    assert isinstance(completion.response_id, str) and completion.response_id  # the fake's id, per provider
    assert completion.response_model == fake.requests[-1].model


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_is_observed_once_when_it_ends(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder, provider: str
) -> None:
    fake.set_reply(Reply(text="one two three", input_tokens=7, output_tokens=3, chunks=3))
    stream = wired.stream(MODELS[provider], "count")
    assert recorder.events == []  # nothing is sent before the first piece is asked for
    assert "".join(stream) == "one two three"
    assert recorder.events == [
        ("begin", "chat", MODELS[provider], True, False),
        ("ok", 1, "one two three", 7, 3, stream.response.usage.cost),
    ]


def test_a_final_failure_is_observed_once_after_the_retries(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder
) -> None:
    fake.enqueue(Fault.rate_limit(), Fault.rate_limit())
    with pytest.raises(RateLimitError):
        wired("openai/gpt-4o", "hi", max_retries=1)
    assert len(fake.requests) == 2
    assert recorder.events == [
        ("begin", "chat", "openai/gpt-4o", False, True),
        ("error", 1, "RateLimitError", "rate_limit"),
    ]


def test_a_fallback_chain_is_one_observed_call_per_model_tried(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder
) -> None:
    fake.enqueue(Fault.server())
    response = wired("openai/gpt-4o", "hi", fallbacks=["anthropic/claude-sonnet-4-6"], max_retries=0)
    assert response.model == "anthropic/claude-sonnet-4-6"
    assert [event[:2] for event in recorder.events] == [("begin", "chat"), ("error", 1), ("begin", "chat"), ("ok", 3)]
    assert recorder.events[1][3] == "server"


def test_an_async_call_abandoned_by_cancellation_is_observed_as_cancelled(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder
) -> None:
    fake.enqueue(Fault(delay=5.0))

    async def main() -> None:
        task = asyncio.ensure_future(wired.acall("openai/gpt-4o", "hi"))
        while not fake.requests:
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert recorder.events == [
        ("begin", "chat", "openai/gpt-4o", False, True),
        ("error", 1, "CancelledError", "cancelled"),
    ]


def test_embeddings_are_observed_as_one_call(wired: ModelsAPI, fake: FakeLLM, recorder: Recorder) -> None:
    result = wired.embed("openai/text-embedding-3-small", ["a b", "c"])
    assert recorder.events == [
        ("begin", "embeddings", "openai/text-embedding-3-small", False, True),
        ("ok", 1, "", result.usage.input_tokens, 0, result.usage.cost),
    ]
    assert recorder.last[0].messages == ["a b", "c"]


def test_bad_input_is_refused_before_sending_and_observed_as_such(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder
) -> None:
    # the call log and `models usage` count it, as `usage()` does; its messages are not passed on
    with pytest.raises(InvalidRequestError, match="empty"):
        wired("openai/gpt-4o", "")
    with pytest.raises(InvalidRequestError, match="empty"):
        wired.embed("openai/text-embedding-3-small", [])
    assert fake.requests == []
    assert recorder.events == [
        ("begin", "chat", "openai/gpt-4o", False, False),
        ("error", 1, "InvalidRequestError", "invalid_request"),
        ("begin", "embeddings", "openai/text-embedding-3-small", False, False),
        ("error", 3, "InvalidRequestError", "invalid_request"),
    ]
    assert wired.usage()["openai/gpt-4o"].errors == 1


def test_an_observer_that_raises_breaks_neither_the_call_nor_the_others(
    wired: ModelsAPI, fake: FakeLLM, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def begin(self, call: Observed) -> object:
            raise RuntimeError("begin broke")

        def ok(self, *args: Any) -> None:
            raise RuntimeError("ok broke")

        def error(self, *args: Any) -> None:
            raise RuntimeError("error broke")

    wired._service.observers = (Broken(), recorder)  # the broken one first: the recorder still hears all
    assert wired("openai/gpt-4o", "hi").text == "echo: hi"
    assert [event[0] for event in recorder.events] == ["begin", "ok"]
    assert [r.getMessage().split(" failed in ")[1].split(" ")[0] for r in caplog.records] == ["begin", "ok"]


def test_removed_observers_hear_nothing_more(wired: ModelsAPI, fake: FakeLLM, recorder: Recorder) -> None:
    wired("openai/gpt-4o", "hi")
    wired._service.remove_observer(recorder)
    wired("openai/gpt-4o", "hi")
    assert [event[0] for event in recorder.events] == ["begin", "ok"]
    assert wired._service.observers == ()
