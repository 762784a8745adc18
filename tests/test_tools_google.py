"""Gemini tool calls and structured output (issue 13).

The first half proves the wire fake's functionCall parts against the real google-genai SDK (as
tests/test_fake_llm.py does for plain answers), and records the request shapes the SDK sends for
tools, tool_config, function turns and response schemas. Shapes follow the Gemini API reference
(FunctionCall {id?, name, args}; thoughtSignature a sibling of functionCall on the Part, only on
the first of parallel calls; each streamed functionCall whole in one chunk).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from google import genai
from google.genai import types as genai_types
from pydantic import BaseModel

from .conftest import KEYS
from .fake_llm import FakeLLM, Reply

SIGNATURE = base64.b64encode(b"signature-A").decode()  # as the API sends it: base64 text
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
CALLS = (("fc_1", "get_weather", {"city": "Paris"}), ("", "get_time", {"tz": "UTC"}))
TOOL_REPLY = Reply(
    text="Let me check.",
    tool_calls=CALLS,
    thought_signature=SIGNATURE,
    finish_reason="tool_calls",
    input_tokens=30,
    output_tokens=12,
)


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
        "automatic_function_calling": {"disable": True},  # SDK-side only: not sent
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
        {
            "role": "model",
            "parts": [
                {
                    "functionCall": {"id": "fc_1", "name": "get_weather", "args": {"city": "Paris"}},
                    "thoughtSignature": SIGNATURE,
                },
                {"functionCall": {"id": "call_2", "name": "get_time", "args": {"tz": "UTC"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"id": "fc_1", "name": "get_weather", "response": {"result": "18 C"}}},
                {"functionResponse": {"id": "call_2", "name": "get_time", "response": {"result": "12:00"}}},
            ],
        },
    ]
    assert req.body["generationConfig"] == {}
    assert "automaticFunctionCalling" not in req.body


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
