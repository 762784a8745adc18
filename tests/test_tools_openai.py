"""OpenAI tool calls, refusals and structured output, end to end over the wire fake.

First the fake itself, proved against the real `openai` SDK (typed `tool_calls`, the SDK's own stream
accumulator, `parse` with a pydantic model), byte shapes as the API sends them (checked against captured
API streams: the first delta of a call carries index, id, type, name and empty arguments; later ones
only the index and an arguments fragment; the finish reason in a last empty delta).

Then `models` through the SDK to the fake: the exact request bodies (tools, tool_choice,
response_format), the calls, finish reasons, messages, usage and cost of plain calls, sync and
async streams, tool turns sent back, run_tools, refusals, and what compatible servers send loosely.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any, Literal

import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from pydantic import BaseModel

from models import BadResponseError, ModelsAPI, StructuredOutputError, ToolCall

from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply

KEY = "sk-test-SECRET"
ASK = [{"role": "user", "content": "Weather in Paris and Rome?"}]
PARIS = ("call_1", "get_weather", {"city": "Paris"})
ROME = ("call_2", "get_weather", {"city": "Rome", "unit": "f"})
TWO_CALLS = Reply(text="", tool_calls=(PARIS, ROME), finish_reason="tool_calls", chunks=3)


def weather_tool(parameters: dict[str, Any], **function: Any) -> dict[str, Any]:
    """get_weather as an OpenAI tool dict with these parameters (and more `function` keys)."""
    spec = {"name": "get_weather", "description": "Current weather in a city.", "parameters": parameters}
    return {"type": "function", "function": {**spec, **function}}


PROPERTIES = {"city": {"type": "string"}, "unit": {"type": "string"}}
WEATHER_TOOL = weather_tool({"type": "object", "properties": PROPERTIES, "required": ["city"]})


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


def frames(client: openai.OpenAI, **kwargs: Any) -> list[dict[str, Any]]:
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
    got = frames(client, stream_options={"include_usage": True})
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
    deltas = [f["choices"][0]["delta"] for f in frames(client)]
    assert deltas == [{"role": "assistant", "content": None, "refusal": "No"}, {"refusal": "."}]


# --- models through the SDK to the fake -----------------------------------------------------------

GPT = "openai/gpt-4o"  # $2.50 in, $1.25 cached in, $10 out per million tokens


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit.upper()} in {city}"


def count(words: dict[str, int]) -> int:
    """Count words."""
    return sum(words.values())


STRICT_WEATHER = weather_tool(
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"], "type": "string"}},
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
    strict=True,
)
CALL_PARIS = ToolCall("call_1", "get_weather", {"city": "Paris"})
CALL_ROME = ToolCall("call_2", "get_weather", {"city": "Rome", "unit": "f"})
WIRE_PARIS = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
WIRE_ROME = {
    "id": "call_2",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city": "Rome", "unit": "f"}'},
}


def test_tools_and_tool_choice_in_the_request_body(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(TWO_CALLS)
    wired(GPT, "Weather?", tools=[get_weather, count], tool_choice="required")
    body = fake.requests[-1].body
    # A schema with a strict form goes strict; a map (dict[str, int]) has none, so it goes as it is.
    plain_count = {
        "type": "function",
        "function": {
            "name": "count",
            "description": "Count words.",
            "parameters": {
                "type": "object",
                "properties": {"words": {"additionalProperties": {"type": "integer"}, "type": "object"}},
                "required": ["words"],
            },
        },
    }
    assert (body["tools"], body["tool_choice"]) == ([STRICT_WEATHER, plain_count], "required")
    wired(GPT, "Weather?", tools=[get_weather], tool_choice="get_weather")
    assert fake.requests[-1].body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    wired(GPT, "Weather?", tools=[WEATHER_TOOL])  # an OpenAI dict; no tool_choice: the API's default
    assert "tool_choice" not in fake.requests[-1].body
    assert fake.requests[-1].body["tools"][0]["function"]["strict"] is True


def test_parallel_tool_calls_exactly(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(replace(TWO_CALLS, input_tokens=120, cached_input_tokens=100, output_tokens=30))
    r = wired(GPT, "Weather in Paris and Rome?", tools=[get_weather])
    assert (r.tool_calls, r.finish_reason, r.text) == ((CALL_PARIS, CALL_ROME), "tool_calls", "")
    assert r.message == {"role": "assistant", "content": None, "tool_calls": [WIRE_PARIS, WIRE_ROME]}
    assert (r.usage.input_tokens, r.usage.cached_input_tokens, r.usage.output_tokens) == (120, 100, 30)
    assert r.usage.cost == (20 * 2.5 + 100 * 1.25 + 30 * 10) / 1e6
    assert sample(wired, "models_tokens_total", provider="openai", model=GPT, type="output") == 30


def test_a_named_tool_choice_finishes_by_tool_calls(wired: ModelsAPI, fake: FakeLLM) -> None:
    """The API says "stop" when tool_choice names the function; the answer is still a tool call."""
    fake.enqueue(Reply(text="", tool_calls=(PARIS,), finish_reason="stop"))
    r = wired(GPT, "Weather in Paris?", tools=[get_weather], tool_choice="get_weather")
    assert (r.tool_calls, r.finish_reason) == ((CALL_PARIS,), "tool_calls")


def test_text_and_calls_streamed_sync_and_async(wired: ModelsAPI, fake: FakeLLM) -> None:
    mixed = Reply(text="Checking both.", tool_calls=(PARIS, ROME), finish_reason="tool_calls", output_tokens=40)
    fake.enqueue(mixed, mixed)
    s = wired.stream(GPT, "Weather in Paris and Rome?", tools=[get_weather])
    assert list(s) == ["Check", "ing b", "oth."]
    r = s.response
    assert (r.text, r.tool_calls, r.finish_reason, r.usage.output_tokens) == (
        "Checking both.",
        (CALL_PARIS, CALL_ROME),
        "tool_calls",
        40,
    )
    assert r.message == {"role": "assistant", "content": "Checking both.", "tool_calls": [WIRE_PARIS, WIRE_ROME]}
    assert r.usage.cost == (10 * 2.5 + 40 * 10) / 1e6

    async def run() -> tuple[list[str], Any]:
        stream = wired.astream(GPT, "Weather in Paris and Rome?", tools=[get_weather])
        pieces = [piece async for piece in stream]
        return pieces, stream.response

    pieces, ar = asyncio.run(run())
    assert (pieces, ar.tool_calls, ar.finish_reason) == (
        ["Check", "ing b", "oth."],
        (CALL_PARIS, CALL_ROME),
        "tool_calls",
    )


def test_acall_parses_calls_the_same_way(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(TWO_CALLS)
    r = asyncio.run(wired.acall(GPT, "Weather?", tools=[get_weather]))
    assert (r.tool_calls, r.finish_reason) == ((CALL_PARIS, CALL_ROME), "tool_calls")


def test_tool_turns_go_back_as_they_are(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(TWO_CALLS, Reply(text="Paris 18 C, Rome 64 F."))
    first = wired(GPT, "Weather in Paris and Rome?", tools=[get_weather])
    history = [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        first.message,
        first.tool_calls[0].result("18 C"),
        first.tool_calls[1].result({"temp": 64, "unit": "F"}),
    ]
    r = wired(GPT, history, tools=[get_weather], system="Be brief.")
    assert (r.text, r.tool_calls, r.finish_reason) == ("Paris 18 C, Rome 64 F.", (), "stop")
    assert fake.requests[-1].body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": [WIRE_PARIS, WIRE_ROME]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
        {"role": "tool", "tool_call_id": "call_2", "content": '{"temp":64,"unit":"F"}'},
    ]


def test_run_tools_sends_the_results_back_and_sums_the_rounds(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(
        replace(TWO_CALLS, input_tokens=50, output_tokens=20),
        Reply(text="Paris 18 C, Rome 18 F.", input_tokens=90, output_tokens=10),
    )
    r = wired(GPT, "Weather in Paris and Rome?", tools=[get_weather], run_tools=True)
    assert (r.text, r.finish_reason, [s.finish_reason for s in r.steps]) == (
        "Paris 18 C, Rome 18 F.",
        "stop",
        ["tool_calls", "stop"],
    )
    assert fake.requests[-1].body["messages"][1:] == [
        {"role": "assistant", "content": None, "tool_calls": [WIRE_PARIS, WIRE_ROME]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C in Paris"},
        {"role": "tool", "tool_call_id": "call_2", "content": "18 F in Rome"},
    ]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (140, 30)
    assert r.usage.cost == (140 * 2.5 + 30 * 10) / 1e6
    assert sample(wired, "models_requests_total", provider="openai", model=GPT, status="ok") == 2


def test_response_format_in_the_body_and_parsed(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}'))
    r = wired(GPT, "Largest city in France?", response_format=City)
    assert r.parsed == City(name="Paris", population=2102650)
    assert fake.requests[-1].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "City",
            "schema": {
                "type": "object",
                "title": "City",
                "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
                "required": ["name", "population"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }
    fake.enqueue(Reply(text='{"any": ["thing"]}'))
    assert wired(GPT, "JSON please", response_format="json").parsed == {"any": ["thing"]}
    assert fake.requests[-1].body["response_format"] == {"type": "json_object"}
    fake.enqueue(Reply(text='{"counts": {"a": 1}}'))
    schema = {
        "type": "object",
        "properties": {"counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
    }
    assert wired(GPT, "Count", response_format=schema).parsed == {"counts": {"a": 1}}
    sent = fake.requests[-1].body["response_format"]["json_schema"]  # a map has no strict form
    assert (sent["strict"], sent["schema"]) == (False, schema)


def test_streamed_structured_output(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}', chunks=4))
    s = wired.stream(GPT, "Largest city in France?", response_format=City)
    assert len(list(s)) == 4
    assert s.response.parsed == City(name="Paris", population=2102650)


def test_a_refusal_is_the_text_and_a_content_filter_finish(wired: ModelsAPI, fake: FakeLLM) -> None:
    refusal = Reply(refusal="I can't help with that.", input_tokens=30, output_tokens=7)
    fake.enqueue(refusal, refusal)
    r = wired(GPT, "Something bad")
    assert (r.text, r.finish_reason, r.tool_calls, r.message["content"]) == (
        "I can't help with that.",
        "content_filter",
        (),
        "I can't help with that.",
    )
    with pytest.raises(StructuredOutputError, match="refused or was filtered") as caught:
        wired(GPT, "Something bad", response_format=City)
    assert caught.value.text == "I can't help with that."
    assert caught.value.response.finish_reason == "content_filter"
    assert caught.value.response.usage.cost == (30 * 2.5 + 7 * 10) / 1e6
    assert sample(wired, "models_cost_usd_total", provider="openai", model=GPT) == pytest.approx(
        2 * (30 * 2.5 + 7 * 10) / 1e6, rel=1e-12
    )


def test_a_streamed_refusal(wired: ModelsAPI, fake: FakeLLM) -> None:
    refusal = Reply(refusal="I can't help with that.", chunks=2)
    fake.enqueue(refusal, refusal)
    s = wired.stream(GPT, "Something bad")
    assert list(s) == ["I can't help", " with that."]
    assert (s.response.text, s.response.finish_reason) == ("I can't help with that.", "content_filter")
    s = wired.stream(GPT, "Something bad", response_format=City)
    with pytest.raises(StructuredOutputError) as caught:
        list(s)
    assert (caught.value.text, caught.value.response.finish_reason) == ("I can't help with that.", "content_filter")


def chat_body(message: dict[str, Any], finish: str) -> Fault:
    """A whole Chat Completions body with this assistant `message`, verbatim."""
    choice = {"index": 0, "message": {"role": "assistant", "content": None, **message}, "finish_reason": finish}
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o", "choices": [choice]}
    return Fault(body=json.dumps({**body, "usage": usage}).encode())


def sse_body(deltas: list[dict[str, Any]], finish: str) -> Fault:
    """A whole stream of these deltas, verbatim: what a compatible server may send."""
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o"}
    choices = [[{"index": 0, "delta": d, "finish_reason": None}] for d in deltas]
    chunks = [{**head, "choices": c} for c in [*choices, [{"index": 0, "delta": {}, "finish_reason": finish}]]]
    chunks.append({**head, "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}})
    data = b"".join(b"data: %s\n\n" % json.dumps(c).encode() for c in chunks) + b"data: [DONE]\n\n"
    return Fault(body=data, content_type="text/event-stream")


def test_arguments_cut_off_are_kept_raw_and_the_finish_stays_length(wired: ModelsAPI, fake: FakeLLM) -> None:
    cut = '{"city": "Par'
    call = {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": cut}}
    opening = {"index": 0, "id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    fragment = {"index": 0, "function": {"arguments": cut}}
    fake.enqueue(
        chat_body({"tool_calls": [call]}, "length"),
        sse_body([{"role": "assistant", "tool_calls": [opening]}, {"tool_calls": [fragment]}], "length"),
    )
    expected = (ToolCall("call_9", "get_weather", {}, raw_arguments=cut),)
    r = wired(GPT, "Weather?", tools=[get_weather], max_tokens=5)
    assert (r.tool_calls, r.finish_reason) == (expected, "length")
    s = wired.stream(GPT, "Weather?", tools=[get_weather], max_tokens=5)
    assert list(s) == []
    assert (s.response.tool_calls, s.response.finish_reason) == (expected, "length")


def test_deltas_without_an_index_from_a_compatible_server(wired: ModelsAPI, fake: FakeLLM) -> None:
    """Gemini's OpenAI-compatible API sends whole calls without `index` (openai-python #2806): an id
    opens a new call, a delta without one continues the last. Arguments sent as an object are read."""
    paris = {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": '}}
    rome = {"id": "call_2", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}}
    fake.enqueue(
        sse_body(
            [
                {"tool_calls": [paris]},
                {"tool_calls": [{"function": {"arguments": '"Paris"}'}}]},
                {"tool_calls": [rome]},
            ],
            "tool_calls",
        )
    )
    s = wired.stream(GPT, "Weather?", tools=[get_weather])
    list(s)
    assert s.response.tool_calls == (CALL_PARIS, ToolCall("call_2", "get_weather", {"city": "Rome"}))


def test_loose_calls_from_compatible_servers(wired: ModelsAPI, fake: FakeLLM) -> None:
    """No id: `call_<n>`; arguments as an object rather than JSON text: read as one."""
    loose = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}
    fake.enqueue(chat_body({"tool_calls": [loose]}, "tool_calls"))
    assert wired(GPT, "Weather?", tools=[get_weather]).tool_calls == (CALL_PARIS,)


def test_a_call_without_a_name_is_a_bad_response(wired: ModelsAPI, fake: FakeLLM) -> None:
    nameless = {"id": "call_1", "type": "function", "function": {"arguments": "{}"}}
    fake.enqueue(chat_body({"tool_calls": [nameless]}, "tool_calls"))
    with pytest.raises(BadResponseError, match="OpenAI sent a tool call without a function name") as caught:
        wired(GPT, "Weather?", tools=[get_weather], max_retries=0)
    assert (caught.value.provider, caught.value.model) == ("openai", GPT)


def test_another_providers_data_on_a_tool_call_is_not_sent(wired: ModelsAPI, fake: FakeLLM) -> None:
    # A Gemini answer's thought signature rides on its call (extra_content); after a fallback to
    # OpenAI the same history must not carry it: the API refuses message keys it does not know.
    signed = {**WIRE_PARIS, "extra_content": {"google": {"thought_signature": "c2ln"}}}
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [signed]},
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    ]
    wired(GPT, history, tools=[get_weather])
    assert fake.requests[-1].body["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [WIRE_PARIS]}
    assert history[1]["tool_calls"] == [signed]  # the caller's list is left as it was


def test_a_list_format_is_named_after_its_types(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"result": [{"name": "Paris", "population": 2102650}]}'))
    r = wired(GPT, "Cities?", response_format=list[City])
    assert r.parsed == [City(name="Paris", population=2102650)]
    sent = fake.requests[-1].body["response_format"]["json_schema"]
    assert (sent["name"], sent["strict"], sent["schema"]["required"]) == ("list_City", True, ["result"])
