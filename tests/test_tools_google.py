"""Gemini tool calls and structured output (issue 13).

The first half proves the wire fake's functionCall parts against the real google-genai SDK (as
tests/test_fake_llm.py does for plain answers), and records the request shapes the SDK sends for
tools, tool_config, function turns and response schemas. Shapes follow the Gemini API reference
(FunctionCall {id?, name, args}; thoughtSignature a sibling of functionCall on the Part, only on
the first of parallel calls; each streamed functionCall whole in one chunk).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from google import genai
from google.genai import types as genai_types
from pydantic import BaseModel

from models import InvalidRequestError, ModelsAPI, Response, ToolCall

from .conftest import KEYS
from .fake_llm import FakeLLM, Reply

SIGNATURE = base64.b64encode(b"signature-A").decode()  # as the API sends it: base64 text
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CALLS = (("fc_1", "get_weather", {"city": "Paris"}), ("", "get_time", {"tz": "UTC"}))

# The wire form of a model turn of two parallel calls (the signature on the first) and of the user
# turn answering both, as the SDK sends them and as the provider must produce them.
CALLED = {
    "role": "model",
    "parts": [
        {
            "functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}},
            "thoughtSignature": SIGNATURE,
        },
        {"functionCall": {"id": "call_2", "name": "get_time", "args": {"tz": "UTC"}}},
    ],
}


def _answered(weather: str, time: str) -> dict[str, Any]:
    return {
        "role": "user",
        "parts": [
            {"functionResponse": {"id": "fc_1", "name": "get_weather", "response": {"result": weather}}},
            {"functionResponse": {"id": "call_2", "name": "get_time", "response": {"result": time}}},
        ],
    }


PAIR = Reply(  # two parallel calls: a Gemini 3 id and the signature on the first, neither on the second
    text="",
    tool_calls=CALLS,
    thought_signature=SIGNATURE,
    finish_reason="tool_calls",
    input_tokens=30,
    output_tokens=12,
)
TOOL_REPLY = replace(PAIR, text="Let me check.")


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[genai.Client]:
    options = genai_types.HttpOptions(base_url=fake_server.google_base_url)
    made = genai.Client(api_key=KEYS["google"], http_options=options)
    yield made
    made.close()


def _weather_call(**extra: Any) -> genai_types.Part:
    return genai_types.Part(
        function_call=genai_types.FunctionCall(id="fc_1", name="get_weather", args={"city": "Paris"}), **extra
    )


TIME_CALL = genai_types.Part(function_call=genai_types.FunctionCall(name="get_time", args={"tz": "UTC"}))


# --- the fake, read by the real SDK -------------------------------------------------------------


def test_sdk_reads_function_call_parts_after_the_text(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(TOOL_REPLY)
    response = client.models.generate_content(model="gemini-test", contents="Weather in Paris?")
    assert response.function_calls == [
        genai_types.FunctionCall(id="fc_1", name="get_weather", args={"city": "Paris"}),
        genai_types.FunctionCall(name="get_time", args={"tz": "UTC"}),
    ]
    candidate = response.candidates[0]  # type: ignore[index]
    assert candidate.content.parts == [  # type: ignore[union-attr]
        genai_types.Part(text="Let me check."),
        _weather_call(thought_signature=b"signature-A"),  # the SDK decodes the base64
        TIME_CALL,  # parallel calls: the signature is on the first one only
    ]
    assert candidate.finish_reason == genai_types.FinishReason.STOP  # Gemini says STOP for calls too
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (30, 12)  # type: ignore[union-attr]


def test_sdk_reads_calls_without_a_text_part(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(Reply(text="", tool_calls=CALLS[:1], finish_reason="tool_calls"))
    response = client.models.generate_content(model="gemini-test", contents="Weather in Paris?")
    assert response.candidates[0].content.parts == [_weather_call()]  # type: ignore[index, union-attr]
    assert response.text is None


def test_sdk_streams_each_call_whole_in_a_chunk_of_its_own(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(TOOL_REPLY)
    chunks = list(client.models.generate_content_stream(model="gemini-test", contents="Weather in Paris?"))
    parts = [c.candidates[0].content.parts for c in chunks]  # type: ignore[index, union-attr]
    assert parts == [
        [genai_types.Part(text="Let m")],
        [genai_types.Part(text="e ch")],
        [genai_types.Part(text="eck.")],
        [_weather_call(thought_signature=b"signature-A")],
        [TIME_CALL],
    ]
    reasons = [c.candidates[0].finish_reason for c in chunks]  # type: ignore[index]
    assert reasons == [None, None, None, None, genai_types.FinishReason.STOP]
    assert [c.usage_metadata.candidates_token_count for c in chunks] == [None] * 4 + [12]  # type: ignore[union-attr]
    assert [c.function_calls for c in chunks][3:] == [
        [genai_types.FunctionCall(id="fc_1", name="get_weather", args={"city": "Paris"})],
        [genai_types.FunctionCall(name="get_time", args={"tz": "UTC"})],
    ]


# --- what the SDK sends -------------------------------------------------------------------------


def test_sdk_sends_declarations_tool_config_and_function_turns(fake: FakeLLM, client: genai.Client) -> None:
    """The request shapes the provider builds on: config keys as dicts, the signature as base64
    text (the SDK decodes it and encodes it again), function responses in a user turn."""
    declaration = {"name": "get_weather", "description": "Current weather.", "parameters_json_schema": WEATHER}
    config = {
        "tools": [{"function_declarations": [declaration]}],
        "tool_config": {"function_calling_config": {"mode": "ANY", "allowed_function_names": ["get_weather"]}},
    }
    contents = [
        {"role": "user", "parts": [{"text": "Weather in Paris and the time?"}]},
        {
            "role": "model",
            "parts": [
                {
                    "function_call": {"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}},
                    "thought_signature": SIGNATURE,
                },
                {"function_call": {"id": "call_2", "name": "get_time", "args": {"tz": "UTC"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"function_response": {"id": "fc_1", "name": "get_weather", "response": {"result": "18 C"}}},
                {"function_response": {"id": "call_2", "name": "get_time", "response": {"result": "12:00"}}},
            ],
        },
    ]
    client.models.generate_content(model="gemini-test", contents=contents, config=config)  # type: ignore[arg-type]
    (req,) = fake.requests
    # The SDK dumps declarations by field name: parameters_json_schema stays snake_case (the API
    # reads proto field names as well as their camelCase JSON names).
    assert req.body["tools"] == [
        {
            "functionDeclarations": [
                {"name": "get_weather", "description": "Current weather.", "parameters_json_schema": WEATHER}
            ]
        }
    ]
    assert req.body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    assert req.body["contents"][1:] == [
        CALLED,
        _answered("18 C", "12:00"),
    ]
    assert req.body["generationConfig"] == {}


def test_sdk_response_schema_gives_parsed(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}'))
    config = {"response_mime_type": "application/json", "response_schema": City}
    response = client.models.generate_content(model="gemini-test", contents="Largest city?", config=config)  # type: ignore[arg-type]
    assert response.parsed == City(name="Paris", population=2102650)
    # response_schema is Gemini's OpenAPI subset: the SDK converts the model to it
    assert fake.requests[-1].body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseSchema": {
            "properties": {
                "name": {"title": "Name", "type": "STRING"},
                "population": {"title": "Population", "type": "INTEGER"},
            },
            "property_ordering": ["name", "population"],
            "required": ["name", "population"],
            "title": "City",
            "type": "OBJECT",
        },
    }


def test_sdk_response_json_schema_is_sent_verbatim(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}'))
    schema = City.model_json_schema()
    config = {"response_mime_type": "application/json", "response_json_schema": schema}
    response = client.models.generate_content(model="gemini-test", contents="Largest city?", config=config)  # type: ignore[arg-type]
    assert response.parsed == {"name": "Paris", "population": 2102650}
    body = fake.requests[-1].body["generationConfig"]
    assert body == {"responseMimeType": "application/json", "responseJsonSchema": schema}


# --- models, through the SDK, to the fake -------------------------------------------------------

MODEL = "google/gemini-3.6-flash"  # $0.75 / $3.75 per million input / output tokens


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"18 C in {city}"


def get_time(tz: str) -> str:
    return "12:00"


DECLARATIONS = [
    {
        "functionDeclarations": [
            {"name": "get_weather", "description": "Current weather in a city.", "parameters_json_schema": WEATHER},
            {
                "name": "get_time",
                "parameters_json_schema": {
                    "type": "object",
                    "properties": {"tz": {"type": "string"}},
                    "required": ["tz"],
                },
            },
        ]
    }
]
ASKED = {"role": "user", "parts": [{"text": "Weather in Paris and the time?"}]}
PAIR_CALLS = (
    ToolCall("fc_1", "get_weather", {"city": "Paris"}, extra={"google": {"thought_signature": SIGNATURE}}),
    ToolCall("call_2", "get_time", {"tz": "UTC"}),
)
PAIR_MESSAGE = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "fc_1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            "extra_content": {"google": {"thought_signature": SIGNATURE}},
        },
        {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "UTC"}'}},
    ],
}
PAIR_COST = (30 * 0.75 + 12 * 3.75) / 1e6


def _asked_with_tools(api: ModelsAPI, **kwargs: Any) -> Response:
    return api(MODEL, "Weather in Paris and the time?", tools=[get_weather, get_time], **kwargs)


def test_tools_are_declared_and_calls_parsed(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(PAIR)
    r = _asked_with_tools(wired, tool_choice="required")
    (req,) = fake.requests
    assert req.body["contents"] == [ASKED]
    assert req.body["tools"] == DECLARATIONS
    assert req.body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY"}}
    assert req.body["generationConfig"] == {}
    assert r.tool_calls == PAIR_CALLS
    assert (r.text, r.finish_reason, r.parsed) == ("", "tool_calls", None)
    assert r.message == PAIR_MESSAGE
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (30, 12, PAIR_COST)


@pytest.mark.parametrize(
    ("choice", "config"),
    [
        ("auto", {"mode": "AUTO"}),
        ("none", {"mode": "NONE"}),
        ("get_time", {"mode": "ANY", "allowedFunctionNames": ["get_time"]}),
    ],
)
def test_tool_choice_is_the_function_calling_mode(
    wired: ModelsAPI, fake: FakeLLM, choice: str, config: dict[str, Any]
) -> None:
    _asked_with_tools(wired, tool_choice=choice)
    assert fake.requests[-1].body["toolConfig"] == {"functionCallingConfig": config}


def test_no_tool_choice_sends_no_tool_config_and_a_later_plain_call_no_tools(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text="Sunny."))
    r = _asked_with_tools(wired)
    assert (r.text, r.finish_reason, r.tool_calls) == ("Sunny.", "stop", ())
    assert "toolConfig" not in fake.requests[-1].body
    wired(MODEL, "hello")
    assert fake.requests[-1].body == {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}


def test_history_sends_calls_with_their_signature_and_parallel_results_in_one_turn(
    wired: ModelsAPI, fake: FakeLLM
) -> None:
    fake.enqueue(PAIR)
    first = _asked_with_tools(wired)
    history = [
        {"role": "user", "content": "Weather in Paris and the time?"},
        {**first.message, "content": "Checking."},  # text before the calls, as a model may say
        first.tool_calls[0].result("18 C"),
        first.tool_calls[1].result({"time": "12:00"}),
        {"role": "user", "content": "And tomorrow?"},
    ]
    fake.enqueue(Reply(text="Rain tomorrow."))
    r = wired(MODEL, history, tools=[get_weather, get_time])
    assert (r.text, r.finish_reason, r.tool_calls) == ("Rain tomorrow.", "stop", ())
    assert fake.requests[-1].body["contents"] == [
        ASKED,
        {"role": "model", "parts": [{"text": "Checking."}, *CALLED["parts"]]},  # the signature back as it came
        _answered("18 C", '{"time":"12:00"}'),
        {"role": "user", "parts": [{"text": "And tomorrow?"}]},
    ]


def test_run_tools_sends_the_results_back_and_sums_both_rounds(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(PAIR, Reply(text="18 C and noon.", input_tokens=50, output_tokens=6))
    r = _asked_with_tools(wired, run_tools=True)
    assert (r.text, r.finish_reason, len(r.steps)) == ("18 C and noon.", "stop", 2)
    assert r.steps[0].tool_calls == PAIR_CALLS
    assert fake.requests[1].body["contents"][1:] == [
        CALLED,
        _answered("18 C in Paris", "12:00"),
    ]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (80, 18)
    assert r.usage.cost == PAIR_COST + (50 * 0.75 + 6 * 3.75) / 1e6


def test_missing_ids_are_numbered_by_place_and_never_repeat_one(wired: ModelsAPI, fake: FakeLLM) -> None:
    calls = (("call_2", "get_time", {"tz": "UTC"}), ("", "get_time", {"tz": "CET"}), ("", "get_time", {"tz": "JST"}))
    fake.enqueue(Reply(text="", tool_calls=calls, finish_reason="tool_calls"))
    r = _asked_with_tools(wired)
    assert [c.id for c in r.tool_calls] == ["call_2", "call_3", "call_4"]


def test_a_signature_that_is_not_base64_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    call = {**PAIR_MESSAGE["tool_calls"][0], "extra_content": {"google": {"thought_signature": "not base64!"}}}  # type: ignore[index]
    history = [{"role": "user", "content": "Weather?"}, {**PAIR_MESSAGE, "tool_calls": [call]}]
    with pytest.raises(InvalidRequestError, match="'fc_1' has a thought_signature that is not base64") as info:
        wired(MODEL, [*history, {"role": "tool", "tool_call_id": "fc_1", "content": "18 C"}], max_retries=0)
    assert isinstance(info.value.__cause__, binascii.Error)
    assert fake.requests == []


STREAMED = replace(PAIR, text="Checking.", tool_calls=tuple(("", name, args) for _, name, args in CALLS))
STREAMED_CALLS = (  # Gemini 2.x: no ids; each call in a chunk of its own, numbered across chunks
    ToolCall("call_1", "get_weather", {"city": "Paris"}, extra={"google": {"thought_signature": SIGNATURE}}),
    ToolCall("call_2", "get_time", {"tz": "UTC"}),
)


def _check_streamed(pieces: list[str], r: Response, fake: FakeLLM) -> None:
    assert pieces == ["Che", "cki", "ng."]
    assert (r.text, r.finish_reason, r.tool_calls) == ("Checking.", "tool_calls", STREAMED_CALLS)
    assert r.message["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": SIGNATURE}}
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (30, 12, PAIR_COST)
    (req,) = fake.requests
    assert (req.stream, req.body["tools"], req.body["toolConfig"]) == (
        True,
        DECLARATIONS,
        {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
    )


def test_stream_fills_tool_calls_by_its_end(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(STREAMED)
    s = wired.stream(MODEL, "Weather in Paris and the time?", tools=[get_weather, get_time], tool_choice="get_weather")
    pieces = list(s)
    _check_streamed(pieces, s.response, fake)


def test_async_stream_fills_tool_calls_by_its_end(wired: ModelsAPI, fake: FakeLLM) -> None:
    async def run() -> tuple[list[str], Response]:
        s = wired.astream(
            MODEL, "Weather in Paris and the time?", tools=[get_weather, get_time], tool_choice="get_weather"
        )
        return [piece async for piece in s], s.response

    fake.enqueue(STREAMED)
    pieces, r = asyncio.run(run())
    _check_streamed(pieces, r, fake)


def test_async_call_parses_calls(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(PAIR)
    r = asyncio.run(wired.acall(MODEL, "Weather in Paris and the time?", tools=[get_weather, get_time]))
    assert (r.tool_calls, r.finish_reason, r.message) == (PAIR_CALLS, "tool_calls", PAIR_MESSAGE)
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (30, 12, PAIR_COST)


def test_a_stream_of_calls_alone_yields_no_piece(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(PAIR)
    s = wired.stream(MODEL, "Weather in Paris and the time?", tools=[get_weather, get_time])
    assert list(s) == []
    assert (s.response.text, s.response.finish_reason, s.response.tool_calls) == ("", "tool_calls", PAIR_CALLS)
    assert s.response.usage.cost == PAIR_COST


# --- structured output --------------------------------------------------------------------------

CITY_SCHEMA = {
    "type": "object",
    "title": "City",
    "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["name", "population"],
}
PARIS = '{"name": "Paris", "population": 2102650}'


def test_response_format_sends_the_json_schema_and_parses(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text=PARIS, input_tokens=20, output_tokens=10))
    r = wired(MODEL, "Largest city in France?", response_format=City)
    assert fake.requests[-1].body["generationConfig"] == {
        "responseMimeType": "application/json",
        "responseJsonSchema": CITY_SCHEMA,
    }
    assert (r.parsed, r.text, r.finish_reason) == (City(name="Paris", population=2102650), PARIS, "stop")
    assert r.usage.cost == (20 * 0.75 + 10 * 3.75) / 1e6


def test_response_format_json_sends_the_mime_type_alone(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text=PARIS))
    r = wired(MODEL, "Largest city in France?", response_format="json", temperature=0)
    assert fake.requests[-1].body["generationConfig"] == {"temperature": 0, "responseMimeType": "application/json"}
    assert r.parsed == {"name": "Paris", "population": 2102650}


def test_a_list_format_goes_wrapped_in_an_object_and_streams(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"result": [' + PARIS + "]}"))
    s = wired.stream(MODEL, "Largest cities?", response_format=list[City])
    assert "".join(s) == '{"result": [' + PARIS + "]}"
    assert s.response.parsed == [City(name="Paris", population=2102650)]
    schema = fake.requests[-1].body["generationConfig"]["responseJsonSchema"]
    assert schema == {
        "type": "object",
        "properties": {"result": {"type": "array", "items": {"$ref": "#/$defs/City"}}},
        "required": ["result"],
        "additionalProperties": False,
        "$defs": {"City": {k: v for k, v in CITY_SCHEMA.items() if k != "title"}},
    }


def test_tools_of_the_callers_own_config_are_kept_beside_ours(wired: ModelsAPI, fake: FakeLLM) -> None:
    search = {"google_search": {}}
    _asked_with_tools(wired, config={"tools": [search]})
    assert fake.requests[-1].body["tools"] == [{"googleSearch": {}}, *DECLARATIONS]


def test_calls_gemini_did_not_make_carry_the_documented_placeholder_signature(wired: ModelsAPI, fake: FakeLLM) -> None:
    # A history from another provider (after a fallback, or written by hand) has no signatures;
    # Gemini 3 refuses such a call turn with a 400, so the first call carries the docs' placeholder.
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [ToolCall("call_1", "get_weather", {"city": "Paris"}).to_openai()],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C"},
    ]
    placeholder = base64.b64encode(b"skip_thought_signature_validator").decode()
    wired(MODEL, history, tools=[get_weather])
    sent = fake.requests[-1].body["contents"][1]["parts"][0]
    assert sent == {
        "functionCall": {"id": "call_1", "name": "get_weather", "args": {"city": "Paris"}},
        "thoughtSignature": placeholder,
    }
    wired("google/gemini-2.5-flash", history, tools=[get_weather])  # Gemini 2.5 checks none: nothing added
    assert "thoughtSignature" not in fake.requests[-1].body["contents"][1]["parts"][0]
