"""The same tools and the same schema on every provider, in every call form (issue 13).

3 features (tool calls read by hand, the `run_tools` loop, `response_format`) x 5 providers
(OpenAI, Anthropic, Gemini and Bedrock through their real SDKs to the wire fake, and `mock`) x 4 call
forms (call, acall, stream, astream). Each cell checks the exact answer, the exact usage and cost
(summed over the loop's rounds), the metrics, and what reached the provider in its own shape.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from models import ModelsAPI, Response, ToolCall

from .conftest import MODELS, sample
from .fake_llm import FakeLLM, Reply

PROVIDERS = ["openai", "anthropic", "google", "bedrock", "mock"]
FORMS = ["call", "acall", "stream", "astream"]
MODEL = {**MODELS, "bedrock": "bedrock/anthropic.claude-sonnet-4-6-v1:0", "mock": "mock/echo"}


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit.upper()} in {city}"


class City(BaseModel):
    name: str
    population: int


CALLS = (("call_a", "get_weather", {"city": "Paris"}), ("call_b", "get_weather", {"city": "Lyon", "unit": "f"}))
ROUND_1 = Reply(text="", tool_calls=CALLS, finish_reason="tool_calls", input_tokens=120, output_tokens=30)
ROUND_2 = Reply(text="Paris 18 C, Lyon 18 F.", input_tokens=180, output_tokens=9)
ANSWER = Reply(text='{"name": "Paris", "population": 2102650}', input_tokens=40, output_tokens=11)
RESULTS = [("call_a", "18 C in Paris"), ("call_b", "18 F in Lyon")]
MESSAGE = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {
            "id": "call_b",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Lyon", "unit": "f"}'},
        },
    ],
}


@pytest.fixture
def wired(wired: ModelsAPI, bedrock: ModelsAPI) -> ModelsAPI:
    """The three SDK providers and Bedrock at the fake."""
    return wired


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1.5")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")


def run(api: ModelsAPI, form: str, model: str, prompt: str, **params: Any) -> Response:
    """One call in `form`; for streams, the pieces must join to the text of every round."""
    if form == "call":
        return api(model, prompt, **params)
    if form == "acall":
        return asyncio.run(api.acall(model, prompt, **params))
    if form == "stream":
        stream = api.stream(model, prompt, **params)
        text = "".join(stream)
        response = stream.response
    else:

        async def pieces() -> tuple[str, Response]:
            astream = api.astream(model, prompt, **params)
            return "".join([p async for p in astream]), astream.response

        text, response = asyncio.run(pieces())
    assert text == "".join(step.text for step in response.steps or (response,))
    return response


def results_sent(provider: str, body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The tool results a request carried, read from the provider's own shape."""
    if provider == "openai":
        return [(m["tool_call_id"], m["content"]) for m in body["messages"] if m["role"] == "tool"]
    if provider == "anthropic":
        turns = [m["content"] for m in body["messages"] if m["role"] == "user" and isinstance(m["content"], list)]
        return [(b["tool_use_id"], b["content"]) for t in turns for b in t if b.get("type") == "tool_result"]
    if provider == "bedrock":
        blocks = [b["toolResult"] for m in body["messages"] for b in m["content"] if "toolResult" in b]
        return [(b["toolUseId"], b["content"][0]["text"]) for b in blocks]
    parts = [p["functionResponse"] for c in body["contents"] for p in c.get("parts", []) if "functionResponse" in p]
    return [(p["id"], p["response"]["result"]) for p in parts]


def schema_sent(provider: str, body: dict[str, Any]) -> dict[str, Any]:
    if provider == "openai":
        schema: dict[str, Any] = body["response_format"]["json_schema"]["schema"]
    elif provider == "anthropic":
        schema = body["output_config"]["format"]["schema"]
    elif provider == "bedrock":
        schema = json.loads(body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["schema"])
    else:
        schema = body["generationConfig"]["responseJsonSchema"]
    return schema


def _requests(api: ModelsAPI, provider: str) -> float | None:
    return sample(api, "models_requests_total", provider=provider, model=MODEL[provider], status="ok")


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_tool_calls_read_by_hand(wired: ModelsAPI, fake: FakeLLM, priced: None, provider: str, form: str) -> None:
    fake.enqueue(ROUND_1)
    r = run(wired, form, MODEL[provider], "Weather in Paris and Lyon?", tools=[get_weather])
    assert r.finish_reason == "tool_calls"
    if provider == "mock":  # one call of each tool, arguments sampled from its schema
        assert r.tool_calls == (ToolCall("call_1", "get_weather", {"city": "city", "unit": "c"}),)
        assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (5, 4, (5 * 1.5 + 4 * 2) / 1e6)
        return
    assert r.tool_calls == tuple(ToolCall(*call) for call in CALLS)
    assert r.message == MESSAGE  # one message model: the same assistant turn from every provider
    assert r.text == "" and r.parsed is None and r.steps == ()
    assert (r.usage.input_tokens, r.usage.output_tokens) == (120, 30)
    assert r.usage.cost == wired.cost(MODEL[provider], 120, 30)
    assert _requests(wired, provider) == 1


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_run_tools_loop(wired: ModelsAPI, fake: FakeLLM, priced: None, provider: str, form: str) -> None:
    fake.enqueue(ROUND_1, ROUND_2)
    model = MODEL[provider]
    with wired.track() as tracked:
        r = run(wired, form, model, "Weather in Paris and Lyon?", tools=[get_weather], run_tools=True)
    assert [step.finish_reason for step in r.steps] == ["tool_calls", "stop"]
    assert r.steps[-1].text == r.text and r.finish_reason == "stop"
    if provider == "mock":
        # round 1: 5 words in, 4 of arguments out; round 2: 5 + 4 words of the result in, 4 out
        assert (r.text, r.usage.input_tokens, r.usage.output_tokens) == ("18 C in city", 14, 8)
        assert r.usage.cost == (14 * 1.5 + 8 * 2) / 1e6
        assert (tracked.requests, tracked.cost) == (2, r.usage.cost)
        return
    assert r.text == "Paris 18 C, Lyon 18 F."
    assert r.steps[0].tool_calls == tuple(ToolCall(*call) for call in CALLS)
    first, second = fake.requests[-2:]
    assert results_sent(provider, first.body) == []
    assert results_sent(provider, second.body) == RESULTS
    assert (r.usage.input_tokens, r.usage.output_tokens) == (300, 39)
    costs = [wired.cost(model, 120, 30), wired.cost(model, 180, 9)]
    assert [step.usage.cost for step in r.steps] == costs
    assert r.usage.cost == round(sum(c for c in costs if c is not None), 15)
    assert (tracked.requests, tracked.input_tokens, tracked.output_tokens) == (2, 300, 39)
    assert tracked.cost == pytest.approx(r.usage.cost, rel=1e-12)
    assert _requests(wired, provider) == 2
    assert sample(wired, "models_tokens_total", provider=provider, model=model, type="input") == 300
    assert sample(wired, "models_cost_usd_total", provider=provider, model=model) == pytest.approx(r.usage.cost)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_response_format(wired: ModelsAPI, fake: FakeLLM, priced: None, provider: str, form: str) -> None:
    fake.enqueue(ANSWER)
    r = run(wired, form, MODEL[provider], "Largest city in France?", response_format=City)
    if provider == "mock":  # a value valid against the schema
        assert r.parsed == City(name="name", population=0)
        return
    assert r.parsed == City(name="Paris", population=2102650)
    assert (r.usage.input_tokens, r.usage.output_tokens) == (40, 11)
    assert r.usage.cost == wired.cost(MODEL[provider], 40, 11)
    sent = schema_sent(provider, fake.requests[-1].body)
    assert sent["properties"] == {"name": {"type": "string"}, "population": {"type": "integer"}}
    assert sent["required"] == ["name", "population"]
    assert _requests(wired, provider) == 1
