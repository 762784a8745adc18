"""The gateway's call forms through the real openai SDK: chat (sync, async, streams with and without
usage), tools, structured output, embeddings (float and base64), the catalog; one gateway per module
on 127.0.0.1, its models answered by the wire fake."""

from __future__ import annotations

import asyncio
import base64
import json
import struct
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from pydantic import BaseModel

from models._gateway.settings import GatewaySettings

from .conftest import KEYS
from .fake_embeddings import fake_tokens, fake_vector
from .fake_llm import FakeLLM, Reply
from .gateway_server import GatewayServer

pytest.importorskip("starlette")

GPT = "openai/gpt-4o"  # $2.50 / $10 per 1M tokens
COST = (10 * 2.5 + 5 * 10) / 1e6  # the fake's default usage: 10 tokens in, 5 out
USAGE = {
    "prompt_tokens": 10,
    "completion_tokens": 5,
    "total_tokens": 15,
    "prompt_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 0},
    "cost": COST,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture(scope="module")
def gateway(fake_server: FakeLLM) -> Iterator[GatewayServer]:
    with GatewayServer(fake_server, GatewaySettings(no_auth=True)) as server:
        yield server


def usage_dict(usage: object) -> dict[str, object]:
    assert isinstance(usage, BaseModel)
    return usage.model_dump(exclude_none=True)


def test_chat_sync(gateway: GatewayServer, fake: FakeLLM) -> None:
    r = gateway.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], temperature=0.2, max_tokens=64
    )
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-") and len(r.id) == len("chatcmpl-") + 24
    assert r.model == GPT  # the canonical id, as the library resolved it
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert (choice.index, choice.finish_reason) == (0, "stop")
    assert (choice.message.role, choice.message.content, choice.message.refusal) == ("assistant", "echo: hi", None)
    assert choice.message.tool_calls is None
    assert usage_dict(r.usage) == USAGE
    sent = fake.requests[-1].body
    assert (sent["model"], sent["temperature"], sent["max_tokens"]) == ("gpt-4o", 0.2, 64)
    assert sent["messages"] == [{"role": "user", "content": "hi"}]


def test_chat_system_developer_and_max_completion_tokens(gateway: GatewayServer, fake: FakeLLM) -> None:
    """`developer` is OpenAI's newer name for the system role; `max_completion_tokens` its newer max_tokens."""
    gateway.client().chat.completions.create(
        model="claude-sonnet-4-6",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        max_completion_tokens=50,
    )
    sent = fake.requests[-1]
    assert (sent.provider, sent.body["system"], sent.body["max_tokens"]) == ("anthropic", "Be brief.", 50)
    assert sent.body["messages"] == [{"role": "user", "content": "hi"}]


def test_chat_async(gateway: GatewayServer, fake: FakeLLM) -> None:
    async def main() -> list[str | None]:
        async with gateway.async_client() as client:
            answers = await asyncio.gather(
                *(
                    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"q{i}"}])
                    for i in range(5)
                )
            )
        return sorted(a.choices[0].message.content for a in answers)  # type: ignore[type-var]

    assert asyncio.run(main()) == [f"echo: q{i}" for i in range(5)]


@pytest.mark.parametrize("include_usage", [True, False])
def test_stream(gateway: GatewayServer, fake: FakeLLM, include_usage: bool) -> None:
    fake.set_reply(Reply(text="abcdef", chunks=3))
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    chunks = list(
        gateway.client().chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "count"}], stream=True, **options
        )
    )
    assert len({c.id for c in chunks}) == 1 and chunks[0].id.startswith("chatcmpl-")
    assert {(c.object, c.model) for c in chunks} == {("chat.completion.chunk", GPT)}
    deltas = [(c.choices[0].delta.role, c.choices[0].delta.content, c.choices[0].finish_reason) for c in chunks[:4]]
    assert deltas == [("assistant", "ab", None), (None, "cd", None), (None, "ef", None), (None, None, "stop")]
    if include_usage:
        assert len(chunks) == 5
        assert [c.usage for c in chunks[:4]] == [None] * 4
        assert chunks[4].choices == []
        assert usage_dict(chunks[4].usage) == USAGE
    else:
        assert len(chunks) == 4
    assert fake.requests[-1].body["stream"] is True


def test_stream_wire_format(gateway: GatewayServer, fake: FakeLLM) -> None:
    """Byte for byte as OpenAI frames it: `data: {json}` events, a blank line after each, `[DONE]` last."""
    fake.set_reply(Reply(text="ab", chunks=1))
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "stream": True}
    with httpx.stream("POST", gateway.base_url + "/chat/completions", json=body) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/event-stream; charset=utf-8"
        raw = answer.read().decode()
    events = raw.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: {") for e in events[:-2])
    assert [c["choices"][0]["delta"] for c in chunks] == [
        {"role": "assistant", "content": "ab", "refusal": None},
        {},
    ]
    assert [c["choices"][0]["finish_reason"] for c in chunks] == [None, "stop"]
    assert "usage" not in chunks[0]


def test_stream_async(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="alpha beta", chunks=2))

    async def main() -> tuple[str, object]:
        async with gateway.async_client() as client:
            stream = await client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "x"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            text, usage = "", None
            async for chunk in stream:
                if chunk.choices:
                    text += chunk.choices[0].delta.content or ""
                usage = chunk.usage or usage
        return text, usage

    text, usage = asyncio.run(main())
    assert text == "alpha beta"
    assert usage_dict(usage) == USAGE


def test_tools_round_trip(gateway: GatewayServer, fake: FakeLLM) -> None:
    client = gateway.client()
    fake.enqueue(Reply(text="", tool_calls=(("call_1", "get_weather", {"city": "Paris"}),), finish_reason="tool_calls"))
    messages: list[dict[str, object]] = [{"role": "user", "content": "Weather in Paris?"}]
    r = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER], tool_choice="auto")  # type: ignore[arg-type, list-item]
    assert r.choices[0].finish_reason == "tool_calls"
    message = r.choices[0].message
    assert message.content is None
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert (call.id, call.type, call.function.name, json.loads(call.function.arguments)) == (
        "call_1",
        "function",
        "get_weather",
        {"city": "Paris"},
    )
    sent = fake.requests[-1].body
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == "auto"
    # The assistant turn as the SDK gives it back, then the tool's result: the second round.
    messages += [message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": "call_1", "content": "18 C"}]
    r = client.chat.completions.create(
        model="gpt-4o",
        messages=messages,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    )
    sent = fake.requests[-1].body
    assert sent["messages"][1]["tool_calls"][0]["id"] == "call_1"
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "18 C"}
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert r.choices[0].message.content == "echo: Weather in Paris?"


def test_tools_stream(gateway: GatewayServer, fake: FakeLLM) -> None:
    """A streamed tool call: the SDK's stream helper assembles it from the deltas."""
    fake.set_reply(
        Reply(text="", tool_calls=(("call_9", "get_weather", {"city": "Oslo"}),), finish_reason="tool_calls")
    )
    with gateway.client().chat.completions.stream(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER],  # type: ignore[list-item]
    ) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    assert final.choices[0].finish_reason == "tool_calls"
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert [(c.id, c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("call_9", "get_weather", {"city": "Oslo"})
    ]


class City(BaseModel):
    name: str
    population: int


def test_response_format_parse(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text='{"name": "Paris", "population": 2102650}'))
    client = gateway.client()
    for parse in (client.chat.completions.parse, client.beta.chat.completions.parse):
        r = parse(
            model="gpt-4o", messages=[{"role": "user", "content": "Largest city in France?"}], response_format=City
        )
        assert r.choices[0].message.parsed == City(name="Paris", population=2102650)
        sent = fake.requests[-1].body["response_format"]
        assert (sent["type"], sent["json_schema"]["name"], sent["json_schema"]["strict"]) == (
            "json_schema",
            "City",
            True,
        )
        assert sent["json_schema"]["schema"]["required"] == ["name", "population"]


def test_response_format_text_is_plain(gateway: GatewayServer, fake: FakeLLM) -> None:
    gateway.client().chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], response_format={"type": "text"}
    )
    assert "response_format" not in fake.requests[-1].body


@pytest.mark.parametrize("encoding", ["base64", None, "float"])
def test_embeddings(gateway: GatewayServer, fake: FakeLLM, encoding: str | None) -> None:
    """The SDK asks for base64 when the caller gives no encoding, and decodes it itself."""
    texts = ["first text", "the second text"]
    options = {} if encoding is None else {"encoding_format": encoding}
    r = gateway.client().embeddings.create(model="text-embedding-3-small", input=texts, **options)  # type: ignore[arg-type]
    assert (r.object, r.model) == ("list", "openai/text-embedding-3-small")
    assert [(d.object, d.index) for d in r.data] == [("embedding", 0), ("embedding", 1)]
    vectors = [d.embedding for d in r.data]
    if encoding == "base64":  # asked for explicitly, the SDK hands over the text: little-endian float32
        vectors = [list(struct.unpack("<8f", base64.b64decode(v))) for v in vectors]  # type: ignore[arg-type]
    assert vectors == [fake_vector(t) for t in texts]
    tokens = sum(fake_tokens(t) for t in texts)
    assert usage_dict(r.usage) == {
        "prompt_tokens": tokens,
        "total_tokens": tokens,
        "cost": round(tokens * 0.02 / 1e6, 15),
    }


def test_embeddings_dimensions(gateway: GatewayServer, fake: FakeLLM) -> None:
    body = {"model": "text-embedding-3-small", "input": "one", "encoding_format": "base64", "dimensions": 4}
    answer = httpx.post(gateway.base_url + "/embeddings", json=body)
    data = answer.json()["data"]
    assert struct.unpack("<4f", base64.b64decode(data[0]["embedding"])) == tuple(fake_vector("one", 4))
    assert fake.requests[-1].body["dimensions"] == 4


def test_models_list(gateway: GatewayServer) -> None:
    listed = gateway.client().models.list()
    expected = gateway.api.list(status=None)
    assert [m.id for m in listed.data] == [m.id for m in expected]
    assert {m.object for m in listed.data} == {"model"}
    gpt = next(m.model_dump() for m in listed.data if m.id == GPT)
    assert gpt == {
        "id": GPT,
        "object": "model",
        "created": 1715558400,  # released 2024-05-13
        "owned_by": "openai",
        "shutdown_date": gateway.api.info(GPT).sunset,
        "context_window": 128000,
        "max_output": 16384,
        "capabilities": sorted(str(c) for c in gateway.api.info(GPT).capabilities),
        "pricing": {"input": 2.5, "output": 10.0, "cached_input": 1.25},
        "status": gateway.api.info(GPT).status,
    }


def test_models_retrieve(gateway: GatewayServer) -> None:
    client = gateway.client()
    assert client.models.retrieve("gpt-4o").id == GPT  # an alias answers with the canonical id
    assert client.models.retrieve("openai/gpt-4o").owned_by == "openai"
    assert client.models.retrieve("anthropic/claude-sonnet-4-6").id == "anthropic/claude-sonnet-4-6"


def test_health_and_no_provider_key_in_headers(gateway: GatewayServer, fake: FakeLLM) -> None:
    answer = httpx.get(gateway.url + "/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(gateway.base_url + "/chat/completions", json=body)
    assert answer.status_code == 200
    shown = answer.text + str(answer.headers)
    assert not any(secret in shown for secret in KEYS.values())
