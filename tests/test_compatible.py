"""Every OpenAI-compatible preset (SPEC §11) works as `openai` does: each one through the real openai SDK
and real HTTP to the wire fake, served at its own service's path, with its own key.

Per preset: the four call forms, a binding and a fallback chain; tools (read and run), structured output
and an image, each sent exactly as OpenAI's request is; metrics, usage and the price genai-prices gives
its popular model. Errors and keys are in test_compatible_errors.py, each service's quirks in
test_compatible_quirks.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import BaseModel

from models import InvalidRequestError, ModelsAPI, ToolCall

from . import media
from .compatible import HOSTED, KEYS, LOCAL, MODELS, NAMES, PATHS, STREAM_USAGE, model, path, wire
from .conftest import KEYS as SDK_KEYS
from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply


@pytest.fixture(autouse=True)
def presets_on_fake(monkeypatch: pytest.MonkeyPatch, fake: FakeLLM) -> None:
    wire(monkeypatch, fake)


def authorization(name: str) -> str | None:
    """The Authorization header a request of the preset must carry: its own key, or none."""
    return f"Bearer {KEYS[name]}" if name in KEYS else None


def get_weather(city: str) -> str:
    """Current weather in a city."""
    return f"18 C in {city}"


class City(BaseModel):
    name: str
    population: int


PARIS = ("call_1", "get_weather", {"city": "Paris"})


@pytest.mark.parametrize("name", NAMES)
def test_plain_call_text_usage_metrics_and_request(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.set_reply(Reply(input_tokens=1200, output_tokens=300, cached_input_tokens=200))
    r = api(model(name), "hello there")
    assert (r.text, r.model, r.provider, r.finish_reason) == ("echo: hello there", model(name), name, "stop")
    u = r.usage
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_tokens, u.reasoning_tokens) == (
        1200,
        300,
        200,
        0,
        0,
    )
    [req] = fake.requests
    assert (req.path, req.model, req.stream) == (path(name), MODELS[name], False)
    assert req.headers.get("authorization") == authorization(name)
    assert req.body == {"model": MODELS[name], "messages": [{"role": "user", "content": "hello there"}]}
    labels = {"provider": name, "model": model(name)}
    assert sample(api, "models_requests_total", status="ok", **labels) == 1
    assert sample(api, "models_tokens_total", type="input", **labels) == 1200
    assert sample(api, "models_tokens_total", type="output", **labels) == 300
    assert sample(api, "models_tokens_total", type="cached_input", **labels) == 200
    assert sample(api, "models_in_flight_requests", **labels) == 0
    assert sample(api, "models_request_duration_seconds_count", **labels) == 1
    assert api.usage()[model(name)].requests == 1
    assert type(r.raw).__name__ == "ChatCompletion" and r.raw.model == MODELS[name]


@pytest.mark.parametrize("name", NAMES)
def test_streams_and_async_calls(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    """The service's own way of reporting a stream's usage (unasked, on the last chunk, ...) is read."""
    fake.set_reply(Reply(input_tokens=12, output_tokens=4, stream_usage=STREAM_USAGE.get(name, "asked")))
    s = api.stream(model(name), "hello there")
    assert list(s) == ["echo: ", "hello ", "there"]
    r = s.response
    assert (r.text, r.model, r.provider, r.finish_reason) == ("echo: hello there", model(name), name, "stop")
    assert (r.usage.input_tokens, r.usage.output_tokens) == (12, 4)
    sent = fake.requests[-1]
    assert (sent.path, sent.stream, sent.headers.get("authorization")) == (path(name), True, authorization(name))
    # Mistral refuses stream_options (422 extra_forbidden) and sends usage unasked
    assert sent.body.get("stream_options") == (None if name == "mistral" else {"include_usage": True})

    async def both() -> tuple[Any, list[str], Any]:
        called = await api.acall(model(name), "async call")
        stream = api.astream(model(name), "async stream")
        return called, [piece async for piece in stream], stream.response

    called, pieces, streamed = asyncio.run(both())
    assert (called.text, called.model, called.usage.input_tokens, called.usage.output_tokens) == (
        "echo: async call",
        model(name),
        12,
        4,
    )
    assert (pieces, streamed.usage.output_tokens, streamed.finish_reason) == (["echo: ", "async ", "stream"], 4, "stop")
    assert [(q.path, q.stream, q.headers.get("authorization")) for q in fake.requests[1:]] == [
        (path(name), False, authorization(name)),
        (path(name), True, authorization(name)),
    ]
    labels = {"provider": name, "model": model(name)}
    assert sample(api, "models_requests_total", status="ok", **labels) == 3
    assert sample(api, "models_tokens_total", type="output", **labels) == 12
    assert sample(api, "models_time_to_first_token_seconds_count", **labels) == 2


@pytest.mark.parametrize("name", NAMES)
def test_binding(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    bound = api.bind(model(name), temperature=0.5, max_tokens=20)
    assert bound("first").text == "echo: first"
    assert bound("second", temperature=0).text == "echo: second"
    first, second = fake.requests
    assert (first.body["temperature"], first.body["max_tokens"], second.body["temperature"]) == (0.5, 20, 0)
    assert {first.path, second.path} == {path(name)}
    assert all(key not in repr(bound) for key in KEYS.values())
    assert sample(api, "models_requests_total", provider=name, model=model(name), status="ok") == 2


@pytest.mark.parametrize("name", NAMES)
def test_fallback_chain_ends_on_the_preset(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    api.configure("openai", api_key=SDK_KEYS["openai"], base_url=fake.openai_base_url)
    fake.enqueue(Fault.server())
    r = api("openai/gpt-4o", "hi", fallbacks=[model(name)], max_retries=0)
    assert (r.text, r.model, r.provider) == ("echo: hi", model(name), name)
    assert [(a.model, a.error_kind) for a in r.attempts] == [("openai/gpt-4o", "server")]
    assert [(q.path, q.headers.get("authorization")) for q in fake.requests] == [
        ("/v1/chat/completions", f"Bearer {SDK_KEYS['openai']}"),
        (path(name), authorization(name)),  # OpenAI's key stays with OpenAI
    ]
    assert sample(api, "models_requests_total", provider=name, model=model(name), status="ok") == 1
    assert sample(api, "models_requests_total", provider="openai", model="openai/gpt-4o", status="server") == 1


def sent_like_openai(api: ModelsAPI, fake: FakeLLM, reply: Reply, **call: Any) -> dict[str, Any]:
    """The body of the preset's last request, after checking that OpenAI's request for the same call
    (answered by `reply`) has the same body."""
    api.configure("openai", api_key=SDK_KEYS["openai"], base_url=fake.openai_base_url)
    before = len(fake.requests)
    fake.enqueue(reply)
    api("openai/gpt-4o", **call)
    openai_body = fake.requests[before].body
    preset_body = fake.requests[before - 1].body
    assert {**preset_body, "model": "gpt-4o"} == openai_body
    return preset_body


@pytest.mark.parametrize("name", NAMES)
def test_tools_read_and_run(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    call = {"prompt": "Weather in Paris?", "tools": [get_weather]}
    fake.enqueue(Reply(text="", tool_calls=(PARIS,), finish_reason="tool_calls"))
    r = api(model(name), **call)
    assert (r.text, r.finish_reason, r.tool_calls) == ("", "tool_calls", (ToolCall("call_1", "get_weather", PARIS[2]),))
    assert r.message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}
        ],
    }
    body = sent_like_openai(api, fake, Reply(), **call)
    assert [tool["function"]["name"] for tool in body["tools"]] == ["get_weather"]

    # streamed, the calls assembled from their deltas
    fake.enqueue(
        Reply(text="", tool_calls=(PARIS,), finish_reason="tool_calls", stream_usage=STREAM_USAGE.get(name, "asked"))
    )
    s = api.stream(model(name), **call)
    assert list(s) == []
    assert (s.response.tool_calls, s.response.finish_reason) == (
        (ToolCall("call_1", "get_weather", PARIS[2]),),
        "tool_calls",
    )

    # the loop: the function runs, its result goes back, the answer comes
    fake.enqueue(Reply(text="", tool_calls=(PARIS,), finish_reason="tool_calls", input_tokens=10), Reply(text="18 C."))
    before = len(fake.requests)
    r = api(model(name), **call, run_tools=True)
    assert (r.text, len(r.steps), r.usage.input_tokens, r.usage.output_tokens) == ("18 C.", 2, 20, 10)
    second = fake.requests[before + 1]
    assert second.path == path(name)
    assert second.body["messages"][1:] == [
        r.steps[0].message,
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C in Paris"},
    ]
    assert sample(api, "models_requests_total", provider=name, model=model(name), status="ok") == 4


@pytest.mark.parametrize("name", [name for name in NAMES if name != "deepseek"])
def test_structured_output(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    call = {"prompt": "Largest city in France?", "response_format": City}
    answer = Reply(text='{"name": "Paris", "population": 2102650}')
    fake.enqueue(answer)
    assert api(model(name), **call).parsed == City(name="Paris", population=2102650)
    body = sent_like_openai(api, fake, answer, **call)
    assert (body["response_format"]["type"], body["response_format"]["json_schema"]["name"]) == ("json_schema", "City")


def test_deepseek_structured_output_is_json_mode_only(api: ModelsAPI, fake: FakeLLM) -> None:
    """DeepSeek takes `json_object`, not `json_schema` (https://api-docs.deepseek.com/guides/json_mode):
    "json" works, a schema gets its own 400, raised as an InvalidRequestError naming DeepSeek, not retried."""
    fake.enqueue(Reply(text='{"name": "Paris"}'))
    assert api(model("deepseek"), "Largest city in France, as json?", response_format="json").parsed == {
        "name": "Paris"
    }
    assert fake.requests[-1].body["response_format"] == {"type": "json_object"}
    error = {"message": "This response_format type is unavailable now", "type": "invalid_request_error"}
    fake.enqueue(
        Fault(status=400, body=json.dumps({"error": {**error, "param": None, "code": error["type"]}}).encode())
    )
    with pytest.raises(InvalidRequestError) as caught:
        api(model("deepseek"), "Largest city in France?", response_format=City)
    assert str(caught.value).startswith("DeepSeek error: This response_format type is unavailable now (")
    assert (caught.value.status_code, len(fake.requests)) == (400, 2)


@pytest.mark.parametrize("name", [name for name in NAMES if name != "deepseek"])
def test_image_attachment(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    call = {"prompt": "What is in this picture?", "attachments": [media.png()]}
    assert api(model(name), **call).text == "echo: What is in this picture?"
    body = sent_like_openai(api, fake, Reply(), **call)
    [_, image] = body["messages"][0]["content"]
    assert image["type"] == "image_url" and image["image_url"]["url"].startswith("data:image/png;base64,")


def test_deepseek_refuses_images_with_its_own_400(api: ModelsAPI, fake: FakeLLM) -> None:
    """DeepSeek's chat takes text only: an image_url part is a 400 from its deserializer."""
    message = (
        "Failed to deserialize the JSON body into the target type: messages[0]: unknown variant `image_url`, "
        "expected `text` at line 1 column 95"
    )
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}
    fake.enqueue(Fault(status=400, body=json.dumps({"error": error}).encode()))
    with pytest.raises(InvalidRequestError) as caught:
        api(model("deepseek"), "What is in this picture?", attachments=[media.png()])
    assert str(caught.value).startswith(f"DeepSeek error: {message} (deepseek/deepseek-v4-flash, HTTP 400")
    assert len(fake.requests) == 1
    assert (
        sample(api, "models_requests_total", provider="deepseek", model=model("deepseek"), status="invalid_request")
        == 1
    )


def test_openrouter_pdf(api: ModelsAPI, fake: FakeLLM) -> None:
    """OpenRouter takes `file` parts on every model (https://openrouter.ai/docs/guides/overview/multimodal/pdfs)."""
    call = {"prompt": "Summarise", "attachments": [media.pdf("Hello")]}
    assert api(model("openrouter"), **call).text == "echo: Summarise"
    body = sent_like_openai(api, fake, Reply(), **call)
    [_, file] = body["messages"][0]["content"]
    assert file["type"] == "file" and file["file"]["file_data"].startswith("data:application/pdf;base64,")


# Popular models' prices in genai-prices (USD per 1M tokens: input, output, cached input), which the
# library uses for models its own table lacks (imported only then).
GENAI_PRICES = {
    "openrouter": (3, 15, 0.3),
    "groq": (0.59, 0.79, 0.59),  # no cache rate listed: cached tokens at the input rate
    "together": (0.88, 0.88, 0.88),
    "deepseek": (0.15, 0.6, 0.003),
    "xai": (2, 6, 0.3),  # below its long-context tier (4, 12, 0.6), which flat genai-prices rows leave out
    "mistral": (2, 6, 2),  # mistral-large-latest is genai-prices' mistral-large
    "fireworks": (0.15, 0.6, 0.015),
    "cerebras": (0.35, 0.75, 0.35),
}


@pytest.mark.parametrize("name", HOSTED)
def test_popular_model_is_priced_by_genai_prices(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    if name == "deepseek":  # DeepSeek reports its cache hits as prompt_cache_hit_tokens
        usage = {"prompt_tokens": 1200, "completion_tokens": 300, "prompt_cache_hit_tokens": 200}
        fake.set_reply(Reply(raw_usage={**usage, "total_tokens": 1500, "prompt_cache_miss_tokens": 1000}))
    else:
        fake.set_reply(Reply(input_tokens=1200, output_tokens=300, cached_input_tokens=200))
    r = api(model(name), "hi")
    rate_in, rate_out, rate_cached = GENAI_PRICES[name]
    expected = (1000 * rate_in + 200 * rate_cached + 300 * rate_out) / 1e6
    assert (r.usage.cached_input_tokens, r.usage.price_source) == (200, "genai-prices")
    assert r.usage.cost == pytest.approx(expected, rel=1e-12)
    assert r.usage.cost == api.cost(model(name), 1200, 300, 200)
    if name == "openrouter":  # the spelling, with a hyphen, is priced as OpenRouter's slug
        assert api.cost("openrouter/anthropic/claude-sonnet-4-6", 1200, 300, 200) == r.usage.cost
    labels = {"provider": name, "model": model(name)}
    assert sample(api, "models_cost_usd_total", **labels) == pytest.approx(expected, rel=1e-12)
    assert api.usage()[model(name)].cost == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("name", "unpriced"),
    [
        ("fireworks", "accounts/fireworks/models/deepseek-v3p1"),
        ("together", "openai/gpt-oss-20b"),
    ],
)
def test_models_genai_prices_lacks_have_no_price(api: ModelsAPI, name: str, unpriced: str) -> None:
    with pytest.warns(UserWarning, match="has no price"):
        r = api(f"{name}/{unpriced}", "hi")
    assert (r.usage.cost, r.usage.price_source) == (None, "none")
    assert sample(api, "models_unpriced_requests_total", provider=name, model=f"{name}/{unpriced}") == 1


@pytest.mark.parametrize("name", LOCAL)
def test_local_models_cost_nothing_and_say_so(api: ModelsAPI, name: str) -> None:
    r = api(model(name), "hi")
    assert (r.usage.cost, r.usage.price_source) == (0.0, "local")
    assert sample(api, "models_cost_usd_total", provider=name, model=model(name)) == 0


def test_the_presets_paths_are_their_services() -> None:
    """The built-in base URLs, and their paths: what the fake serves each preset at here."""
    from urllib.parse import urlsplit

    from models.providers._registry import PRESETS

    built_in = {name: PRESETS[name].base_url for name in NAMES}
    assert built_in == {
        "ollama": "http://localhost:11434/v1",
        "vllm": None,  # no usual address: VLLM_BASE_URL is required
        "openrouter": "https://openrouter.ai/api/v1",
        "groq": "https://api.groq.com/openai/v1",
        "together": "https://api.together.ai/v1",
        "deepseek": "https://api.deepseek.com",
        "xai": "https://api.x.ai/v1",
        "mistral": "https://api.mistral.ai/v1",
        "fireworks": "https://api.fireworks.ai/inference/v1",
        "cerebras": "https://api.cerebras.ai/v1",
    }
    assert {name: urlsplit(url).path for name, url in built_in.items() if url} == {
        name: PATHS[name] for name in NAMES if name != "vllm"
    }
