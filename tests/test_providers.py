"""Each provider end to end through its real SDK and real HTTP against the wire fake:
what the API received, and how its answer is normalised."""

from __future__ import annotations

from typing import Any

import pytest

from models import ContentFilterError, ModelsAPI, ModelsWarning

from .conftest import KEYS, sample
from .fake_llm import FakeLLM, Reply

MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-6", "google": "gemini-2.5-flash"}
PROVIDERS = sorted(MODELS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_plain_call_text_usage_cost_metrics(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.set_reply(
        Reply(
            input_tokens=1200,
            output_tokens=300,
            cached_input_tokens=200,
            cache_write_tokens=100 if provider == "anthropic" else 0,
            reasoning_tokens=0 if provider == "anthropic" else 50,
        )
    )
    r = wired(f"{provider}/{MODELS[provider]}", "hello there")
    assert (r.text, r.model, r.provider, r.finish_reason) == (
        "echo: hello there",
        f"{provider}/{MODELS[provider]}",
        provider,
        "stop",
    )
    u = r.usage
    written = 100 if provider == "anthropic" else 0
    reasoning = 0 if provider == "anthropic" else 50
    assert (u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_tokens, u.reasoning_tokens) == (
        1200,
        300,
        200,
        written,
        reasoning,
    )
    expected = {
        "openai": (1000 * 2.5 + 200 * 1.25 + 300 * 10) / 1e6,
        "anthropic": (900 * 3 + 200 * 0.3 + 100 * 3.75 + 300 * 15) / 1e6,
        "google": (1000 * 0.3 + 200 * 0.03 + 300 * 2.5) / 1e6,
    }[provider]
    assert u.cost == pytest.approx(expected, rel=1e-15)
    assert u.cost == wired.cost(r.model, 1200, 300, 200, written)
    labels = {"provider": provider, "model": r.model}
    assert sample(wired, "models_requests_total", status="ok", **labels) == 1
    assert sample(wired, "models_tokens_total", type="input", **labels) == 1200
    assert sample(wired, "models_tokens_total", type="cached_input", **labels) == 200
    assert sample(wired, "models_tokens_total", type="cache_write", **labels) == written
    assert sample(wired, "models_tokens_total", type="reasoning", **labels) == reasoning
    assert sample(wired, "models_in_flight_requests", **labels) == 0
    assert r.raw is not None and type(r.raw).__module__.split(".")[0] in ("openai", "anthropic", "google")


@pytest.mark.parametrize(
    ("provider", "wire_usage", "expected"),
    [
        (
            "openai",
            {
                "prompt_tokens": 90,
                "completion_tokens": 33,
                "total_tokens": 123,
                "prompt_tokens_details": {"cached_tokens": 64},
                "completion_tokens_details": {"reasoning_tokens": 20},
            },
            (90, 33, 64, 0, 20),
        ),
        # Anthropic's input_tokens excludes cache reads and writes
        (
            "anthropic",
            {"input_tokens": 50, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 25},
            (175, 7, 100, 25, 0),
        ),
        # Gemini's candidatesTokenCount excludes thinking
        (
            "google",
            {
                "promptTokenCount": 120,
                "candidatesTokenCount": 30,
                "thoughtsTokenCount": 12,
                "cachedContentTokenCount": 20,
                "totalTokenCount": 162,
            },
            (120, 42, 20, 0, 12),
        ),
    ],
)
def test_usage_is_normalised_from_the_wire(
    wired: ModelsAPI, fake: FakeLLM, provider: str, wire_usage: dict[str, Any], expected: tuple[int, ...]
) -> None:
    fake.set_reply(Reply(raw_usage=wire_usage))
    u = wired(f"{provider}/{MODELS[provider]}", "hi").usage
    assert (
        u.input_tokens,
        u.output_tokens,
        u.cached_input_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
    ) == expected


def test_openai_request_shape(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired(
        "GPT-4o", "hi", system="Be brief.", temperature=0.2, max_tokens=64, top_p=0.9, stop="END", seed=7, logprobs=True
    )
    req = fake.requests[-1]
    assert (req.provider, req.path, req.model) == ("openai", "/v1/chat/completions", "gpt-4o")
    assert req.headers["authorization"] == f"Bearer {KEYS['openai']}"
    assert req.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
    assert {k: req.body[k] for k in ("temperature", "max_tokens", "top_p", "stop", "seed", "logprobs")} == {
        "temperature": 0.2,
        "max_tokens": 64,
        "top_p": 0.9,
        "stop": "END",
        "seed": 7,
        "logprobs": True,
    }


def test_openai_reasoning_model_gets_max_completion_tokens_and_no_sampling(wired: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.warns(ModelsWarning, match="openai/o3 does not accept 'temperature'"):
        wired("o3", "hi", temperature=0.5, max_tokens=100, reasoning_effort="low")
    body = fake.requests[-1].body
    assert body["max_completion_tokens"] == 100 and body["reasoning_effort"] == "low"
    assert "max_tokens" not in body and "temperature" not in body
    with pytest.warns(ModelsWarning, match="openai/gpt-5 does not accept 'top_p'"):
        wired("gpt-5", "hi", top_p=0.5)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per model and parameter
        wired("o3", "hi", temperature=0.5)


def test_anthropic_request_shape(wired: ModelsAPI, fake: FakeLLM) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    # API version 2026-10-21 has no sampling parameters: dropped with a warning, never a TypeError
    with pytest.warns(ModelsWarning) as caught:
        wired("claude-haiku-4-5-20251001", messages, system="Be kind.", temperature=0.1, top_p=0.5, stop="END", seed=1)
    assert sorted(str(w.message) for w in caught if w.category is ModelsWarning) == [
        f"anthropic/claude-haiku-4-5 does not accept {name!r}; it was not sent."
        for name in ("seed", "temperature", "top_p")
    ]
    req = fake.requests[-1]
    assert (req.provider, req.path, req.model) == ("anthropic", "/v1/messages", "claude-haiku-4-5")
    assert req.headers["authorization"] == f"Bearer {KEYS['anthropic']}"
    assert req.headers["anthropic-version"] == "2026-10-21"
    assert req.body["system"] == "Be kind.\n\nBe brief."
    assert req.body["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": [{"type": "text", "text": "again"}]},
    ]
    assert req.body["max_tokens"] == 4096  # the API requires it; we send a default
    assert req.body["stop_sequences"] == ["END"]
    assert not {"seed", "temperature", "top_p"} & set(req.body)
    wired("anthropic/claude-sonnet-4-6", "hi", max_tokens=10)
    assert fake.requests[-1].body["max_tokens"] == 10


def test_google_request_shape(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired(
        "gemini/gemini-2.5-flash",
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yo"},
            {"role": "user", "content": "again"},
        ],
        system="Be brief.",
        temperature=0.3,
        max_tokens=50,
        top_p=0.8,
        stop="END",
        seed=3,
        response_mime_type="text/plain",
    )
    req = fake.requests[-1]
    assert (req.provider, req.model) == ("google", "gemini-2.5-flash")
    assert req.path == "/v1/models/gemini-2.5-flash:generateContent"
    assert req.headers["x-goog-api-key"] == KEYS["google"]
    assert [c["role"] for c in req.body["contents"]] == ["user", "model", "user"]
    assert req.body["contents"][2]["parts"] == [{"text": "again"}]
    assert req.body["systemInstruction"]["parts"] == [{"text": "Be brief."}]
    assert req.body["generationConfig"] == {
        "temperature": 0.3,
        "maxOutputTokens": 50,
        "topP": 0.8,
        "stopSequences": ["END"],
        "seed": 3,
        "responseMimeType": "text/plain",
    }


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("neutral", "expected"), [("length", "length"), ("content_filter", "content_filter")])
def test_finish_reasons_are_normalised(
    wired: ModelsAPI, fake: FakeLLM, provider: str, neutral: str, expected: str
) -> None:
    fake.set_reply(Reply(text="partial", finish_reason=neutral))
    r = wired(f"{provider}/{MODELS[provider]}", "hi")
    assert (r.text, r.finish_reason) == ("partial", expected)


def test_google_blocked_prompt_is_a_content_filter_error(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(blocked=True))
    with pytest.raises(ContentFilterError, match=r"Gemini blocked the prompt \(SAFETY\)"):
        wired("gemini-2.5-flash", "something bad")
    labels = {"provider": "google", "model": "google/gemini-2.5-flash"}
    assert sample(wired, "models_requests_total", status="content_filter", **labels) == 1
    assert len(fake.requests) == 1  # not retried


def test_keys_and_base_urls_from_the_environment(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-openai-1234567890")
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-1234567890")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.anthropic_base_url)
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-env-google-1234567890")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", fake.google_base_url)
    for provider in PROVIDERS:
        assert api(MODELS[provider], "hi").text == "echo: hi"
    assert [r.provider for r in fake.requests] == PROVIDERS
    assert fake.requests[0].headers["authorization"] == "Bearer sk-ant-env-1234567890"
    assert fake.requests[1].headers["x-goog-api-key"] == "AIza-env-google-1234567890"


def test_one_sdk_client_per_provider_is_reused(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired("gpt-4o", "a")
    provider = wired._service.models.provider("openai")
    client = provider.client()
    wired.bind("gpt-4o-mini")("b")
    wired("openai/gpt-4o", "c")
    assert provider.client() is client
    wired.configure("openai", base_url=fake.openai_base_url)  # rebuilt after configure
    wired("gpt-4o", "d")
    assert provider.client() is not client


def test_anthropic_one_hour_cache_writes_are_priced_apart(wired: ModelsAPI, fake: FakeLLM) -> None:
    wire = {
        "input_tokens": 1_000,
        "output_tokens": 200,
        "cache_read_input_tokens": 4_000,
        "cache_creation_input_tokens": 5_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 2_000, "ephemeral_1h_input_tokens": 3_000},
    }
    fake.set_reply(Reply(raw_usage=wire))
    u = wired("claude-sonnet-4-6", "hi").usage
    assert (u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.cache_write_1h_tokens) == (
        10_000,
        4_000,
        5_000,
        3_000,
    )
    # $3 in, $0.30 cache read, $3.75 5-minute write, $6 1-hour write, $15 out (per 1M)
    assert u.cost == (1_000 * 3 + 4_000 * 0.3 + 2_000 * 3.75 + 3_000 * 6 + 200 * 15) / 1e6
    assert u.price_source == "default"
