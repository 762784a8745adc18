"""OpenAI tool calls, refusals and structured output, end to end over the wire fake.

First the fake itself, proved against the real `openai` SDK (typed `tool_calls`, the SDK's own stream
accumulator, `parse` with a pydantic model), byte shapes as the API sends them (checked against captured
API streams: the first delta of a call carries index, id, type, name and empty arguments; later ones
only the index and an arguments fragment; the finish reason in a last empty delta).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from pydantic import BaseModel

from .fake_llm import FakeLLM, Reply

KEY = "sk-test-SECRET"
ASK = [{"role": "user", "content": "Weather in Paris and Rome?"}]
PARIS = ("call_1", "get_weather", {"city": "Paris"})
ROME = ("call_2", "get_weather", {"city": "Rome", "unit": "f"})
TWO_CALLS = Reply(text="", tool_calls=(PARIS, ROME), finish_reason="tool_calls", chunks=3)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"],
        },
    },
}


class GetWeather(BaseModel):
    city: str
    unit: str = "c"


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key=KEY, base_url=fake_server.openai_base_url, max_retries=0, timeout=10) as made:
        yield made


def frames(fake: FakeLLM, client: openai.OpenAI, **kwargs: Any) -> list[dict[str, Any]]:
    """The JSON of every server-sent event of one streamed call, as the fake wrote it."""
    with client.chat.completions.with_streaming_response.create(
        model="gpt-test", messages=ASK, stream=True, **kwargs
    ) as response:
        lines = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


# --- the fake against the real SDK ----------------------------------------------------------------


def test_sdk_types_parallel_tool_calls_with_null_content(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(TWO_CALLS)
    completion = client.chat.completions.create(model="gpt-test", messages=ASK, tools=[WEATHER_TOOL])
    choice = completion.choices[0]
    assert (choice.finish_reason, choice.message.content, choice.message.refusal) == ("tool_calls", None, None)
    calls = choice.message.tool_calls or []
    assert [type(c).__name__ for c in calls] == ["ChatCompletionMessageFunctionToolCall"] * 2
    assert [(c.id, c.type, c.function.name, c.function.arguments) for c in calls] == [  # type: ignore[union-attr]
        ("call_1", "function", "get_weather", '{"city": "Paris"}'),
        ("call_2", "function", "get_weather", '{"city": "Rome", "unit": "f"}'),
    ]
    assert fake.requests[-1].body["tools"] == [WEATHER_TOOL]


def test_sdk_text_before_a_tool_call(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Reply(text="Let me look.", tool_calls=(PARIS,), finish_reason="tool_calls"))
    message = client.chat.completions.create(model="gpt-test", messages=ASK).choices[0].message
    assert message.content == "Let me look."
    assert [(c.id, c.function.arguments) for c in message.tool_calls or []] == [  # type: ignore[union-attr]
        ("call_1", '{"city": "Paris"}')
    ]


def test_stream_frames_have_the_api_shapes(fake: FakeLLM, client: openai.OpenAI) -> None:
    def opening(index: int, call_id: str) -> dict[str, Any]:
        """A call's first delta: everything but the arguments, which follow in fragments."""
        return {"index": index, "id": call_id, "type": "function", "function": {"name": "get_weather", "arguments": ""}}

    fake.enqueue(TWO_CALLS)
    got = frames(fake, client, stream_options={"include_usage": True})
    deltas = [f["choices"][0]["delta"] for f in got if f["choices"]]
    assert deltas == [
        {"role": "assistant", "content": None, "refusal": None, "tool_calls": [opening(0, "call_1")]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '": "Pa'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": 'ris"}'}}]},
        {"tool_calls": [opening(1, "call_2")]},
        {"tool_calls": [{"index": 1, "function": {"arguments": '{"city": "'}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": 'Rome", "un'}}]},
        {"tool_calls": [{"index": 1, "function": {"arguments": 'it": "f"}'}}]},
        {},
    ]
    assert [f["choices"][0]["finish_reason"] for f in got if f["choices"]] == [None] * 8 + ["tool_calls"]
    assert got[-1]["choices"] == [] and got[-1]["usage"]["total_tokens"] == 15
    assert len({f["id"] for f in got}) == 1


def test_stream_state_assembles_calls_from_raw_chunks(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Reply(text="On it.", tool_calls=(PARIS, ROME), finish_reason="tool_calls", chunks=2))
    state: ChatCompletionStreamState[Any] = ChatCompletionStreamState()
    pieces = []
    for chunk in client.chat.completions.create(model="gpt-test", messages=ASK, stream=True):
        state.handle_chunk(chunk)
        pieces += [c.delta.content for c in chunk.choices if c.delta.content]
    final = state.get_final_completion()
    message = final.choices[0].message
    assert (pieces, message.content, final.choices[0].finish_reason) == (["On ", "it."], "On it.", "tool_calls")
    assert [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []] == [
        ("call_1", "get_weather", '{"city": "Paris"}'),
        ("call_2", "get_weather", '{"city": "Rome", "unit": "f"}'),
    ]


def test_stream_helper_events_and_parsed_arguments(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(TWO_CALLS)
    tool = openai.pydantic_function_tool(GetWeather, name="get_weather")
    with client.chat.completions.stream(model="gpt-test", messages=ASK, tools=[tool]) as stream:
        done = [(e.index, e.name, e.arguments) for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    assert done == [(0, "get_weather", '{"city": "Paris"}'), (1, "get_weather", '{"city": "Rome", "unit": "f"}')]
    calls = final.choices[0].message.tool_calls or []
    assert [c.function.parsed_arguments for c in calls] == [GetWeather(city="Paris"), GetWeather(city="Rome", unit="f")]
    assert fake.requests[-1].body["tools"][0]["function"]["strict"] is True


def test_async_stream_helper_assembles_calls(fake: FakeLLM) -> None:
    async def run() -> list[tuple[str, str]]:
        aclient = openai.AsyncOpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0)
        async with aclient, aclient.chat.completions.stream(model="gpt-test", messages=ASK) as stream:
            final = await stream.get_final_completion()
        return [(c.id, c.function.arguments) for c in final.choices[0].message.tool_calls or []]

    fake.enqueue(TWO_CALLS)
    assert asyncio.run(run()) == [("call_1", '{"city": "Paris"}'), ("call_2", '{"city": "Rome", "unit": "f"}')]


def test_parse_gives_the_pydantic_value(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}'))
    completion = client.chat.completions.parse(model="gpt-test", messages=ASK, response_format=City)
    assert completion.choices[0].message.parsed == City(name="Paris", population=2102650)
    sent = fake.requests[-1].body["response_format"]
    assert (sent["type"], sent["json_schema"]["name"], sent["json_schema"]["strict"]) == ("json_schema", "City", True)


def test_refusal_replaces_the_content(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Reply(refusal="I can't help with that."))
    message = client.chat.completions.parse(model="gpt-test", messages=ASK, response_format=City).choices[0].message
    assert (message.content, message.refusal, message.parsed) == (None, "I can't help with that.", None)


def test_streamed_refusal(fake: FakeLLM, client: openai.OpenAI) -> None:
    fake.enqueue(Reply(refusal="I can't help with that.", chunks=2))
    with client.chat.completions.stream(model="gpt-test", messages=ASK, response_format=City) as stream:
        refused = [e.refusal for e in stream if e.type == "refusal.done"]
        message = stream.get_final_completion().choices[0].message
    assert refused == ["I can't help with that."]
    assert (message.content, message.refusal, message.parsed) == (None, "I can't help with that.", None)
    fake.enqueue(Reply(refusal="No.", chunks=2))
    deltas = [f["choices"][0]["delta"] for f in frames(fake, client)]
    assert deltas == [{"role": "assistant", "content": None, "refusal": "No"}, {"refusal": "."}]
