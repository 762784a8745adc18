"""Anthropic tool use and structured output.

First the wire fake's tool_use rendering proved against the real `anthropic` SDK (its typed blocks, its
own stream accumulator), then `models` driven through that SDK to the fake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Literal

import anthropic
import pytest
from anthropic.types import MessageParam, TextBlock, ToolUseBlock
from pydantic import BaseModel, Field

from models import InvalidRequestError, ModelsAPI, Tool, ToolCall

from .fake_llm import FakeLLM, Fault, Reply

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


# -- models through the SDK to the fake ---------------------------------------------------------------

MODEL = "anthropic/claude-sonnet-4-6"  # $3 in, $15 out per 1M tokens


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit.upper()} in {city}"


def get_time(zone: str) -> str:
    """Local time in a time zone."""
    return f"12:00 in {zone}"


WEATHER_TOOL = {
    "name": "get_weather",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"default": "c", "enum": ["c", "f"], "type": "string"}},
        "required": ["city"],
    },
    "description": "Current weather in a city.",
}
TIME_TOOL = {
    "name": "get_time",
    "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    "description": "Local time in a time zone.",
}
CALLS = (ToolCall(*WEATHER), ToolCall(*TIME))
CALLED = {
    "role": "assistant",
    "content": "Checking.",
    "tool_calls": [
        {
            "id": "toolu_01A",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"}'},
        },
        {
            "id": "toolu_01B",
            "type": "function",
            "function": {"name": "get_time", "arguments": '{"zone": "Europe/Paris"}'},
        },
    ],
}
PRICED = Reply(
    text="Checking.", tool_calls=(WEATHER, TIME), finish_reason="tool_calls", input_tokens=1000, output_tokens=200
)
COST = (1000 * 3 + 200 * 15) / 1e6
USES = [  # CALLED's tool calls as the Messages API's blocks
    {"type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}},
    {"type": "tool_use", "id": "toolu_01B", "name": "get_time", "input": {"zone": "Europe/Paris"}},
]


def _result(call_id: str, content: str) -> dict[str, str]:
    return {"type": "tool_result", "tool_use_id": call_id, "content": content}


def _check_answer(r: Any) -> None:
    """The one answer PRICED renders, however it was fetched."""
    assert (r.text, r.finish_reason, r.tool_calls) == ("Checking.", "tool_calls", CALLS)
    assert r.message == CALLED
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (1000, 200, COST)
    assert r.parsed is None


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, None),
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ("get_time", {"type": "tool", "name": "get_time"}),
    ],
)
def test_tools_and_tool_choice_on_the_wire(wired: ModelsAPI, fake: FakeLLM, choice: str | None, wire: Any) -> None:
    fake.enqueue(PRICED)
    _check_answer(wired(MODEL, "Weather and time in Paris?", tools=[get_weather, get_time], tool_choice=choice))
    body = fake.requests[-1].body
    assert body["tools"] == [WEATHER_TOOL, TIME_TOOL]
    assert body.get("tool_choice") == wire
    assert "output_config" not in body


def test_every_kind_of_tool_declares_the_same_way(wired: ModelsAPI, fake: FakeLLM) -> None:
    class Lookup(BaseModel):
        """Find a word."""

        word: str

    openai_dict = {"type": "function", "function": {"name": "get_time", "parameters": TIME_TOOL["input_schema"]}}
    bare = Tool("ping", "", {"type": "object", "properties": {}})
    wired(MODEL, "hi", tools=[Lookup, openai_dict, bare])
    assert fake.requests[-1].body["tools"] == [
        {
            "name": "Lookup",
            "input_schema": {
                "description": "Find a word.",
                "properties": {"word": {"type": "string"}},
                "required": ["word"],
                "type": "object",
            },
            "description": "Find a word.",
        },
        {"name": "get_time", "input_schema": TIME_TOOL["input_schema"]},  # no description: none is sent
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ]


def test_async_call_parses_tool_use_blocks(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(PRICED)
    _check_answer(asyncio.run(wired.acall(MODEL, "Weather and time in Paris?", tools=[get_weather, get_time])))


def test_stream_assembles_tool_calls_from_fragments(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(replace(PRICED, chunks=3))
    stream = wired.stream(MODEL, "Weather and time in Paris?", tools=[get_weather, get_time])
    assert list(stream) == ["Che", "cki", "ng."]
    _check_answer(stream.response)
    assert fake.requests[-1].body["tools"] == [WEATHER_TOOL, TIME_TOOL]


def test_async_stream_assembles_tool_calls_from_fragments(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(replace(PRICED, text="", chunks=5))

    async def main() -> tuple[list[str], Any]:
        stream = wired.astream(MODEL, "Weather and time in Paris?", tools=[get_weather, get_time])
        return [piece async for piece in stream], stream.response

    pieces, r = asyncio.run(main())
    assert pieces == []
    assert (r.text, r.finish_reason, r.tool_calls) == ("", "tool_calls", CALLS)
    assert r.message == {**CALLED, "content": None}
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (1000, 200, COST)


def test_tool_call_without_arguments(wired: ModelsAPI, fake: FakeLLM) -> None:
    """A tool that takes nothing streams one empty fragment: its arguments are {}, not a parse error."""
    ping = Tool("ping", "Are you there?")
    fake.enqueue(Reply(text="", tool_calls=(("toolu_9", "ping", {}),), finish_reason="tool_calls"))
    assert wired(MODEL, "ping", tools=[ping]).tool_calls == (ToolCall("toolu_9", "ping", {}),)
    fake.enqueue(Reply(text="", tool_calls=(("toolu_9", "ping", {}),), finish_reason="tool_calls"))
    stream = wired.stream(MODEL, "ping", tools=[ping])
    assert list(stream) == []
    assert stream.response.tool_calls == (ToolCall("toolu_9", "ping", {}),)


def test_history_with_parallel_results_becomes_one_user_turn(wired: ModelsAPI, fake: FakeLLM) -> None:
    history = [
        {"role": "user", "content": "Weather and time in Paris?"},
        CALLED,
        ToolCall(*WEATHER).result("18 C"),
        ToolCall(*TIME).result({"time": "12:00"}),
        {"role": "user", "content": "Also, in one word?"},
        {"role": "assistant", "content": "Mild."},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]
    fake.enqueue(Reply(text="You're welcome."))
    r = wired(MODEL, history, tools=[get_weather, get_time])
    assert (r.text, r.tool_calls, r.finish_reason) == ("You're welcome.", (), "stop")
    assert fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "Weather and time in Paris?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                *USES,
            ],
        },
        {
            "role": "user",
            "content": [
                _result("toolu_01A", "18 C"),
                _result("toolu_01B", '{"time":"12:00"}'),
                {"type": "text", "text": "Also, in one word?"},
            ],
        },
        {"role": "assistant", "content": "Mild."},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]


def test_history_ending_in_results_and_calls_without_text(wired: ModelsAPI, fake: FakeLLM) -> None:
    """`r.message` of a tool-only answer (content None) and results that end the prompt."""
    history = [
        {"role": "user", "content": "Time?"},
        {**CALLED, "content": None, "tool_calls": CALLED["tool_calls"][1:]},
        ToolCall(*TIME).result("12:00"),
    ]
    wired(MODEL, history, tools=[get_time])
    assert fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "Time?"},
        {
            "role": "assistant",
            "content": USES[1:],
        },
        {"role": "user", "content": [_result("toolu_01B", "12:00")]},
    ]


def test_run_tools_loop_sends_results_back(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(
        replace(PRICED, text=""),
        Reply(text="Mild, and noon.", input_tokens=1500, output_tokens=20),
    )
    r = wired(MODEL, "Weather and time in Paris?", tools=[get_weather, get_time], run_tools=True)
    assert (r.text, r.finish_reason, r.tool_calls, len(r.steps)) == ("Mild, and noon.", "stop", (), 2)
    assert r.steps[0].tool_calls == CALLS
    assert (r.usage.input_tokens, r.usage.output_tokens) == (2500, 220)
    assert r.usage.cost == pytest.approx((2500 * 3 + 220 * 15) / 1e6, rel=1e-12)
    second = fake.requests[-1].body["messages"]
    assert second[1:] == [
        {
            "role": "assistant",
            "content": USES,
        },
        {
            "role": "user",
            "content": [
                _result("toolu_01A", "18 C in Paris"),
                _result("toolu_01B", "12:00 in Europe/Paris"),
            ],
        },
    ]


# With thinking on, a tool round must send the thinking blocks back unchanged, before its tool_use
# blocks (the API answers 400 otherwise); the fake has no thinking, so these answers are verbatim bodies.
THOUGHT = {"type": "thinking", "thinking": "Weather first, then time.", "signature": "sig-1"}
HIDDEN = {"type": "redacted_thinking", "data": "opaque-2"}
LATER = {"type": "thinking", "thinking": "Now the time.", "signature": "sig-3"}
THOUGHTFUL = [  # the assistant turn the second round must send, exactly as the model gave it
    THOUGHT,
    HIDDEN,
    {"type": "text", "text": "Checking."},
    USES[0],
    LATER,
    USES[1],
]
USAGE = {"input_tokens": 1000, "output_tokens": 200}


def _sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def _streamed(content: list[dict[str, Any]], stop: str = "tool_use") -> bytes:
    """`content` as the API streams it: thinking and signature deltas, a tool's input as JSON
    fragments (an input given as a str is sent as it is: JSON cut short)."""
    head = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6", "content": []}
    events: list[dict[str, Any]] = [{"type": "message_start", "message": {**head, "usage": USAGE}}]
    for index, block in enumerate(content):
        start: dict[str, Any] = {"type": "content_block_start", "index": index}
        deltas: list[dict[str, Any]] = []
        if block["type"] == "thinking":
            start["content_block"] = {"type": "thinking", "thinking": "", "signature": ""}
            text, signature = block["thinking"], block["signature"]
            deltas = [
                {"type": "thinking_delta", "thinking": text[:5]},
                {"type": "thinking_delta", "thinking": text[5:]},
            ]
            deltas.append({"type": "signature_delta", "signature": signature})
        elif block["type"] == "tool_use":
            start["content_block"] = {**block, "input": {}}
            arguments = block["input"] if isinstance(block["input"], str) else json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ("", arguments[:7], arguments[7:])]
        elif block["type"] == "text":
            start["content_block"] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": block["text"]}]
        else:
            start["content_block"] = block
        events += [start, *({"type": "content_block_delta", "index": index, "delta": d} for d in deltas)]
        events.append({"type": "content_block_stop", "index": index})
    end = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": USAGE}
    return _sse(*events, end, {"type": "message_stop"})


def _check_thoughts_went_back(r: Any, fake: FakeLLM) -> None:
    first = r.steps[0]
    assert first.tool_calls == (
        ToolCall(*WEATHER, extra={"anthropic": {"thinking": [THOUGHT, HIDDEN]}}),
        ToolCall(*TIME, extra={"anthropic": {"thinking": [LATER]}}),
    )
    assert (first.text, first.finish_reason, first.usage.cost) == ("Checking.", "tool_calls", COST)
    assert [call["extra_content"] for call in first.message["tool_calls"]] == [
        {"anthropic": {"thinking": [THOUGHT, HIDDEN]}},
        {"anthropic": {"thinking": [LATER]}},
    ]
    assert fake.requests[-1].body["messages"][1:] == [
        {"role": "assistant", "content": THOUGHTFUL},
        {
            "role": "user",
            "content": [_result("toolu_01A", "18 C in Paris"), _result("toolu_01B", "12:00 in Europe/Paris")],
        },
    ]
    assert (r.text, r.finish_reason, len(r.steps)) == ("Mild.", "stop", 2)


def test_thinking_goes_back_with_its_tool_calls(wired: ModelsAPI, fake: FakeLLM) -> None:
    body = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6"}
    body.update(content=THOUGHTFUL, stop_reason="tool_use", stop_sequence=None, usage=USAGE)
    answer = Fault(body=json.dumps(body).encode())
    fake.enqueue(answer, Reply(text="Mild."))
    _check_thoughts_went_back(wired(MODEL, "Weather and time?", tools=[get_weather, get_time], run_tools=True), fake)
    fake.enqueue(answer, Reply(text="Mild."))
    call = wired.acall(MODEL, "Weather and time?", tools=[get_weather, get_time], run_tools=True)
    _check_thoughts_went_back(asyncio.run(call), fake)


def test_streamed_thinking_goes_back_with_its_tool_calls(wired: ModelsAPI, fake: FakeLLM) -> None:
    answer = Fault(body=_streamed(THOUGHTFUL), content_type="text/event-stream")
    fake.enqueue(answer, Reply(text="Mild.", chunks=2))
    stream = wired.stream(MODEL, "Weather and time?", tools=[get_weather, get_time], run_tools=True)
    assert list(stream) == ["Checking.", "Mil", "d."]
    _check_thoughts_went_back(stream.response, fake)

    async def main() -> tuple[list[str], Any]:
        stream = wired.astream(MODEL, "Weather and time?", tools=[get_weather, get_time], run_tools=True)
        return [piece async for piece in stream], stream.response

    fake.enqueue(answer, Reply(text="Mild.", chunks=2))
    pieces, r = asyncio.run(main())
    assert pieces == ["Checking.", "Mil", "d."]
    _check_thoughts_went_back(r, fake)


def test_streamed_arguments_cut_short_are_kept_raw(wired: ModelsAPI, fake: FakeLLM) -> None:
    """max_tokens ends the stream inside a tool's JSON: the call keeps the text, its arguments are empty."""
    cut = {**USES[0], "input": '{"city": "Par'}
    fake.enqueue(Fault(body=_streamed([cut], stop="max_tokens"), content_type="text/event-stream"))
    stream = wired.stream(MODEL, "Weather?", tools=[get_weather])
    assert list(stream) == []
    (call,) = stream.response.tool_calls
    assert (call.id, call.name, call.arguments, call.raw_arguments) == ("toolu_01A", "get_weather", {}, '{"city": "Par')
    assert stream.response.finish_reason == "length"


def test_plain_call_sends_no_tool_or_format_keys(wired: ModelsAPI, fake: FakeLLM) -> None:
    r = wired(MODEL, "hello")
    assert (r.text, r.tool_calls, r.message) == ("echo: hello", (), {"role": "assistant", "content": "echo: hello"})
    assert set(fake.requests[-1].body) == {"max_tokens", "messages", "model"}


# -- structured output -----------------------------------------------------------------------------


class Address(BaseModel):
    street: str


class City(BaseModel):
    """A city."""

    name: str = Field(min_length=1)
    population: int = Field(ge=0)
    kind: Literal["big", "small"] = "big"
    address: Address | None = None


CITY_SCHEMA = {
    "$defs": {
        "Address": {
            "type": "object",
            "properties": {"street": {"type": "string"}},
            "additionalProperties": False,
            "required": ["street"],
        }
    },
    "type": "object",
    "description": "A city.",
    "title": "City",
    "properties": {
        "name": {"type": "string", "description": "{minLength: 1}"},
        "population": {"type": "integer", "description": "{minimum: 0}"},
        "kind": {"enum": ["big", "small"], "description": "{default: big}"},
        "address": {"anyOf": [{"$ref": "#/$defs/Address"}, {"type": "null"}], "description": "{default: None}"},
    },
    "additionalProperties": False,
    "required": ["name", "population"],
}


def _format(schema: dict[str, Any]) -> dict[str, Any]:
    return {"format": {"type": "json_schema", "schema": schema}}


def test_response_format_model_sends_the_closed_schema_and_parses(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}', input_tokens=100, output_tokens=12))
    r = wired(MODEL, "Largest city in France?", response_format=City)
    assert r.parsed == City(name="Paris", population=2102650)
    assert (r.text, r.finish_reason, r.usage.cost) == (
        '{"name": "Paris", "population": 2102650}',
        "stop",
        (100 * 3 + 12 * 15) / 1e6,
    )
    body = fake.requests[-1].body
    assert body["output_config"] == _format(CITY_SCHEMA)
    assert "tools" not in body


def test_response_format_list_is_wrapped_and_streams(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"result": [{"street": "Rue de Rivoli"}]}', chunks=4))
    stream = wired.stream(MODEL, "Streets?", response_format=list[Address])
    assert list(stream) == ['{"result": ', '[{"street"', ': "Rue de ', 'Rivoli"}]}']
    assert stream.response.parsed == [Address(street="Rue de Rivoli")]
    assert fake.requests[-1].body["output_config"] == _format(
        {
            "$defs": {"Address": CITY_SCHEMA["$defs"]["Address"]},  # type: ignore[index]
            "type": "object",
            "properties": {"result": {"type": "array", "items": {"$ref": "#/$defs/Address"}}},
            "additionalProperties": False,
            "required": ["result"],
        }
    )


def test_response_format_dict_schema_and_json(wired: ModelsAPI, fake: FakeLLM) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 9}}, "required": ["n"]}
    fake.enqueue(Reply(text='{"n": 7}'))
    assert asyncio.run(wired.acall(MODEL, "A digit?", response_format=schema)).parsed == {"n": 7}
    closed = {
        "type": "object",
        "properties": {"n": {"type": "integer", "description": "{maximum: 9}"}},
        "additionalProperties": False,
        "required": ["n"],
    }
    assert fake.requests[-1].body["output_config"] == _format(closed)
    # "json" has no native mode on Anthropic: nothing is sent, the answer is parsed all the same
    fake.enqueue(Reply(text='{"any": ["thing"]}'))
    assert wired(MODEL, "Some JSON?", response_format="json").parsed == {"any": ["thing"]}
    assert set(fake.requests[-1].body) == {"max_tokens", "messages", "model"}


def test_response_format_with_tools_sends_both(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(replace(PRICED, text=""))
    r = wired(MODEL, "Weather?", tools=[get_weather], response_format=Address)
    assert (r.tool_calls, r.parsed) == (CALLS, None)  # a round of tool calls has nothing to parse
    body = fake.requests[-1].body
    address = {**CITY_SCHEMA["$defs"]["Address"], "title": "Address"}  # type: ignore[index]  # the root keeps its title
    assert (body["tools"], body["output_config"]) == ([WEATHER_TOOL], _format(address))


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Counts(BaseModel):
    counts: dict[str, int]


class Loose(BaseModel):
    value: Any


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        (Counts, "counts is a map (an object with open additionalProperties)"),
        (Node, "children refers back to 'Node' (a recursive type)"),
        (Loose, "value may be any value (it has no type)"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "the schema is a map"),
    ],
)
def test_response_format_anthropic_cannot_express_is_refused_before_sending(
    wired: ModelsAPI, fake: FakeLLM, output: Any, problem: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        wired(MODEL, "hi", response_format=output)
    assert problem in str(info.value)
    assert "Anthropic's structured outputs cannot express this response_format" in str(info.value)
    assert fake.requests == []


def test_the_callers_own_output_config_is_merged_with_the_format(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}'))
    wired(MODEL, "Largest city in France?", response_format=City, output_config={"effort": "low"})
    assert fake.requests[-1].body["output_config"] == {"effort": "low", **_format(CITY_SCHEMA)}


def test_a_server_tool_goes_as_the_caller_gave_it(wired: ModelsAPI, fake: FakeLLM) -> None:
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 3}
    wired(MODEL, "News?", tools=[get_weather, search])
    assert fake.requests[-1].body["tools"] == [WEATHER_TOOL, search]
    with pytest.raises(InvalidRequestError, match="run_tools=True has nothing to run"):
        wired(MODEL, "News?", tools=[search], run_tools=True)
