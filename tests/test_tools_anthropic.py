"""Anthropic tool use and structured output.

First the wire fake's tool_use rendering proved against the real `anthropic` SDK (its typed blocks, its
own stream accumulator), then `models` driven through that SDK to the fake.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest
from anthropic.types import MessageParam, TextBlock, ToolUseBlock

from .fake_llm import FakeLLM, Reply

KEY = "sk-ant-test-SECRET"
WEATHER = ("toolu_01A", "get_weather", {"city": "Paris", "unit": "c"})
TIME = ("toolu_01B", "get_time", {"zone": "Europe/Paris"})
ASK: list[MessageParam] = [{"role": "user", "content": "Weather and time in Paris?"}]


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[anthropic.Anthropic]:
    made = anthropic.Anthropic(api_key=KEY, base_url=fake_server.anthropic_base_url, max_retries=0, timeout=10)
    yield made
    made.close()


def _create(client: anthropic.Anthropic, **kwargs: Any) -> Any:
    return client.messages.create(model="claude-test", max_tokens=64, messages=ASK, **kwargs)


def _block(index: int, deltas: int) -> list[tuple[str, int | None]]:
    """(type, index) of one streamed content block's events."""
    return [("content_block_start", index), *[("content_block_delta", index)] * deltas, ("content_block_stop", index)]


def test_fake_renders_tool_use_blocks_after_the_text(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    fake.enqueue(Reply(text="Checking.", tool_calls=(WEATHER, TIME), finish_reason="tool_calls"))
    message = _create(client)
    assert message.stop_reason == "tool_use"
    text, weather, time = message.content
    assert isinstance(text, TextBlock) and text.text == "Checking."
    assert isinstance(weather, ToolUseBlock) and isinstance(time, ToolUseBlock)
    assert [(b.type, b.id, b.name, b.input) for b in (weather, time)] == [
        ("tool_use", "toolu_01A", "get_weather", {"city": "Paris", "unit": "c"}),
        ("tool_use", "toolu_01B", "get_time", {"zone": "Europe/Paris"}),
    ]


def test_fake_tool_only_answer_has_no_text_block(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    fake.enqueue(Reply(text="", tool_calls=(WEATHER,), finish_reason="tool_calls"))
    message = _create(client)
    assert [(b.type, b.id) for b in message.content] == [("tool_use", "toolu_01A")]
    fake.enqueue(Reply(text=""))  # without tool calls an empty answer keeps its (empty) text block, as before
    assert [(b.type, b.text) for b in _create(client).content] == [("text", "")]


def test_fake_streams_each_tool_use_as_its_own_block(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    fake.enqueue(Reply(text="On it", tool_calls=(WEATHER, TIME), finish_reason="tool_calls", chunks=2))
    events = list(_create(client, stream=True))
    assert [(e.type, getattr(e, "index", None)) for e in events] == [
        ("message_start", None),
        *_block(0, 2),  # the text in 2 pieces
        *_block(1, 3),  # each tool's JSON: "" and 2 pieces
        *_block(2, 3),
        ("message_delta", None),
        ("message_stop", None),
    ]
    started = [e.content_block for e in events if e.type == "content_block_start"]
    assert [(b.type, getattr(b, "id", None), getattr(b, "name", None), getattr(b, "input", None)) for b in started] == [
        ("text", None, None, None),
        ("tool_use", "toolu_01A", "get_weather", {}),  # the input arrives only as input_json_delta fragments
        ("tool_use", "toolu_01B", "get_time", {}),
    ]
    fragments: dict[int, list[str]] = {1: [], 2: []}
    for e in events:
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta":
            fragments[e.index].append(e.delta.partial_json)
    assert fragments == {
        1: ["", '{"city": "Paris', '", "unit": "c"}'],  # the API's first fragment is empty
        2: ["", '{"zone": "Eu', 'rope/Paris"}'],
    }
    assert events[-2].delta.stop_reason == "tool_use"  # type: ignore[union-attr]


def test_sdk_stream_helper_accumulates_tool_inputs(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    fake.enqueue(Reply(text="", tool_calls=(WEATHER, TIME), finish_reason="tool_calls", output_tokens=30))
    with client.messages.stream(model="claude-test", max_tokens=64, messages=ASK) as stream:
        assert list(stream.text_stream) == []
        final = stream.get_final_message()
    assert [(b.type, b.id, b.name, b.input) for b in final.content] == [  # type: ignore[union-attr]
        ("tool_use", "toolu_01A", "get_weather", {"city": "Paris", "unit": "c"}),
        ("tool_use", "toolu_01B", "get_time", {"zone": "Europe/Paris"}),
    ]
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("tool_use", 10, 30)


def test_sdk_async_stream_helper_accumulates_text_and_tool_input(fake: FakeLLM) -> None:
    fake.enqueue(Reply(text="Let me see", tool_calls=(WEATHER,), finish_reason="tool_calls"))

    async def main() -> tuple[list[str], Any]:
        url = fake.anthropic_base_url
        async with anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0, timeout=10) as client:
            stream = client.messages.stream(model="claude-test", max_tokens=64, messages=ASK)
            async with stream as events:
                return [piece async for piece in events.text_stream], await events.get_final_message()

    pieces, final = asyncio.run(main())
    assert pieces == ["Let ", "me ", "see"]
    text, call = final.content
    assert isinstance(text, TextBlock) and text.text == "Let me see"
    assert isinstance(call, ToolUseBlock) and (call.id, call.name, call.input) == WEATHER
