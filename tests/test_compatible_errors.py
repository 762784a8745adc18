"""The OpenAI-compatible presets' errors: the error tree, one layer of retries and the metrics as on
`openai`, and each service's own error bodies (from its documentation and issue reports: Mistral's flat
and 422 shapes, xAI's string `error`, vLLM's old flat shape and its context overflow in words, OpenRouter's
errors in a 200 answer, 402s for spent credit) read as that service's message, clean."""

from __future__ import annotations

import json
from typing import Any

import pytest

from models import (
    AuthenticationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    ModelsAPI,
    ProviderError,
    RateLimitError,
    ServerError,
)
from models.providers._registry import PRESETS

from .compatible import KEY_ENV, KEYS, NAMES, model, path, wire
from .conftest import sample
from .fake_llm import FakeLLM, Fault
from .test_secrets_chain import _call, _failure, _printed


@pytest.fixture(autouse=True)
def presets_on_fake(monkeypatch: pytest.MonkeyPatch, fake: FakeLLM) -> None:
    wire(monkeypatch, fake)


def labels(name: str) -> dict[str, str]:
    return {"provider": name, "model": model(name)}


@pytest.mark.parametrize("name", NAMES)
def test_401_names_the_presets_own_key_variable(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError) as caught:
        api(model(name), "hi")
    hint = f" (check {KEY_ENV[name]})" if KEY_ENV[name] else ""
    assert str(caught.value).startswith(f"{PRESETS[name].label} rejected the key{hint}: Incorrect API key provided")
    assert "OPENAI_API_KEY" not in str(caught.value)
    assert (caught.value.provider, caught.value.model, caught.value.status_code) == (name, model(name), 401)
    assert type(caught.value.__cause__).__name__ == "AuthenticationError"  # the SDK's
    assert len(fake.requests) == 1  # not retried
    assert sample(api, "models_requests_total", status="authentication", **labels(name)) == 1


@pytest.mark.parametrize("name", NAMES)
def test_429_with_retry_after_is_retried_once(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.enqueue(Fault.rate_limit("0"))
    assert api(model(name), "hi").text == "echo: hi"
    assert [q.path for q in fake.requests] == [path(name)] * 2
    assert sample(api, "models_retries_total", reason="rate_limit", **labels(name)) == 1
    assert sample(api, "models_requests_total", status="ok", **labels(name)) == 1
    fake.enqueue(Fault.rate_limit("0"))
    with pytest.raises(RateLimitError) as caught:
        api(model(name), "hi", max_retries=0)
    assert (caught.value.retry_after, caught.value.retryable, caught.value.status_code) == (0.0, True, 429)
    assert str(caught.value).startswith(f"{PRESETS[name].label} error: Rate limit reached for requests. (")


@pytest.mark.parametrize("name", NAMES)
def test_500_is_a_server_error_after_the_retries(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.enqueue(Fault.server(), Fault.server(), Fault.server())
    with pytest.raises(ServerError) as caught:
        api(model(name), "hi")
    assert str(caught.value).startswith(
        f"{PRESETS[name].label} error: The server had an error while processing your request. ("
    )
    assert len(fake.requests) == 3  # the first attempt and max_retries=2 more
    assert sample(api, "models_retries_total", reason="server", **labels(name)) == 2
    assert sample(api, "models_requests_total", status="server", **labels(name)) == 1
    assert sample(api, "models_requests_total", status="ok", **labels(name)) == 0


@pytest.mark.parametrize("name", NAMES)
def test_context_length_exceeded(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.enqueue(Fault.context_window())
    with pytest.raises(ContextWindowExceededError) as caught:
        api(model(name), "hi")
    assert str(caught.value).startswith(f"Prompt too long for {model(name)}: This model's maximum context length")
    assert len(fake.requests) == 1
    assert sample(api, "models_requests_total", status="context_window", **labels(name)) == 1


@pytest.mark.parametrize("how", ["call", "acall", "stream", "astream"])
@pytest.mark.parametrize("name", sorted(KEYS))
def test_an_echoed_key_is_nowhere_in_the_error(api: ModelsAPI, fake: FakeLLM, name: str, how: str) -> None:
    fake.enqueue(Fault(status=401, echo_key=True))
    err = _failure(_call(api, how, model(name)))
    assert isinstance(err, AuthenticationError)
    assert fake.requests[-1].headers["authorization"] == f"Bearer {KEYS[name]}"
    assert str(err).endswith(f"Key sent: Bearer *** ({model(name)}, HTTP 401, request id {err.request_id})")
    printed = _printed(err)
    assert {form: KEYS[name] in text for form, text in printed.items()} == dict.fromkeys(printed, False)
    assert {form: "SECRET" in text for form, text in printed.items()} == dict.fromkeys(printed, False)


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


_GROQ_TPM = (
    "Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_01` service tier `on_demand` on "
    "tokens per minute (TPM): Limit 6000, Used 5000, Requested 2000. Please try again in 5.289s."
)
_VLLM_CONTEXT = (
    "This model's maximum context length is 32768 tokens. However, you requested 40000 tokens "
    "(39000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion."
)
_MODERATED = {
    "code": 403,
    "message": 'openai/gpt-4o requires moderation on OpenAI. Your input was flagged for "violence".',
    "metadata": {"reasons": ["violence"], "flagged_input": "...", "provider_name": "OpenAI", "model_slug": "gpt-4o"},
}
# (preset, status, body, the error class, its message up to the ids, requests made with the default retries)
SHAPES: dict[str, tuple[str, int, bytes, type[ProviderError], str, int]] = {
    "mistral flat 429": (
        "mistral",
        429,
        _body({"object": "error", "message": "Rate limit exceeded", "type": "rate_limited", "param": None,
               "code": "1300", "raw_status_code": 429}),
        RateLimitError,
        "Mistral error: Rate limit exceeded",
        3,
    ),
    "mistral 422 extra_forbidden": (
        "mistral",
        422,
        _body({"object": "error", "type": "invalid_request_error", "param": None, "code": None, "message": {"detail": [
            {"type": "extra_forbidden", "loc": ["body", "messages", 0, "name"], "msg": "Extra inputs are not permitted",
             "input": "bob"},
            {"type": "extra_forbidden", "loc": ["body", "logprobs"], "msg": "Extra inputs are not permitted",
             "input": True},
        ]}}),
        InvalidRequestError,
        "Mistral error: body.messages.0.name: Extra inputs are not permitted; "
        "body.logprobs: Extra inputs are not permitted",
        1,
    ),
    "mistral flat 400": (
        "mistral",
        400,
        _body({"object": "error", "message": "Assistant message must have either content or tool_calls, but not none.",
               "type": "invalid_request_error", "param": None, "code": None}),
        InvalidRequestError,
        "Mistral error: Assistant message must have either content or tool_calls, but not none.",
        1,
    ),
    "xai string error": (
        "xai",
        400,
        _body({"code": "Client specified an invalid argument",
               "error": "Argument not supported on this model: reasoningEffort"}),
        InvalidRequestError,
        "xAI error: Argument not supported on this model: reasoningEffort",
        1,
    ),
    "vllm old flat shape": (
        "vllm",
        400,
        _body({"object": "error", "message": "[{'type': 'missing', 'loc': ('body', 'messages')}]",
               "type": "BadRequestError", "param": None, "code": 400}),
        InvalidRequestError,
        "vLLM error: [{'type': 'missing', 'loc': ('body', 'messages')}]",
        1,
    ),
    "vllm context overflow in words": (
        "vllm",
        400,
        _body({"error": {"message": _VLLM_CONTEXT, "type": "BadRequestError", "param": None, "code": 400}}),
        ContextWindowExceededError,
        f"Prompt too long for vllm/Qwen/Qwen3-8B: {_VLLM_CONTEXT}",
        1,
    ),
    "groq tokens per minute": (
        "groq",
        429,
        _body({"error": {"message": _GROQ_TPM, "type": "tokens", "code": "rate_limit_exceeded"}}),
        RateLimitError,
        f"Groq error: {_GROQ_TPM}",
        3,
    ),
    "openrouter credits": (
        "openrouter",
        402,
        _body({"error": {"code": 402, "message": "Insufficient credits. Add more using https://openrouter.ai/credits"}}),
        RateLimitError,
        "OpenRouter quota exhausted: Insufficient credits. Add more using https://openrouter.ai/credits",
        1,
    ),
    "openrouter moderation": (
        "openrouter",
        403,
        _body({"error": _MODERATED}),
        ContentFilterError,
        f"OpenRouter refused the prompt: {_MODERATED['message']}",
        1,
    ),
    "openrouter no provider": (
        "openrouter",
        503,
        _body({"error": {"code": 503, "message": "No allowed providers are available for the selected model."}}),
        ServerError,
        "OpenRouter error: No allowed providers are available for the selected model.",
        3,
    ),
    "deepseek balance": (
        "deepseek",
        402,
        _body({"error": {"message": "Insufficient Balance", "type": "unknown_error", "param": None,
                         "code": "invalid_request_error"}}),
        RateLimitError,
        "DeepSeek quota exhausted: Insufficient Balance",
        1,
    ),
    "ollama model not pulled": (
        "ollama",
        404,
        _body({"error": {"message": 'model "llama3.2" not found, try pulling it first', "type": "api_error",
                         "param": None, "code": None}}),
        InvalidRequestError,
        'Ollama error: model "llama3.2" not found, try pulling it first',
        1,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SHAPES))
def test_each_services_own_error_body(api: ModelsAPI, fake: FakeLLM, case: str) -> None:
    name, status, body, error_class, message, requests = SHAPES[case]
    fault = Fault(status=status, body=body, headers={"retry-after": "0"} if status == 429 else {})
    fake.enqueue(fault, fault, fault)
    with pytest.raises(ProviderError) as caught:
        api(model(name), "hi")
    assert type(caught.value) is error_class
    assert str(caught.value) == f"{message} ({model(name)}, HTTP {status}, request id {caught.value.request_id})"
    assert (caught.value.provider, caught.value.status_code) == (name, status)
    assert len(fake.requests) == requests
    assert sample(api, "models_requests_total", status=caught.value.kind, **labels(name)) == 1


_IN_ANSWER = {"code": 502, "message": "Provider returned error", "metadata": {"provider_name": "Anthropic"}}


def test_openrouter_error_in_a_200_body_is_a_server_error_and_retried(api: ModelsAPI, fake: FakeLLM) -> None:
    """OpenRouter answers 200 with an `error` when it fails after generation began; that is no empty answer."""
    fault = Fault(status=200, body=_body({"error": _IN_ANSWER, "choices": [{"index": 0, "finish_reason": "error"}]}))
    fake.enqueue(fault)
    assert api(model("openrouter"), "hi").text == "echo: hi"  # the retry's
    assert sample(api, "models_retries_total", reason="server", **labels("openrouter")) == 1
    fake.enqueue(fault)
    with pytest.raises(ServerError) as caught:
        api(model("openrouter"), "hi", max_retries=0)
    assert (
        str(caught.value)
        == "OpenRouter error while answering: Provider returned error (openrouter/anthropic/claude-sonnet-4.6)"
    )
    assert type(caught.value.__cause__).__name__ == "APIError"


@pytest.mark.parametrize("how", ["stream", "astream"])
def test_openrouter_error_event_in_a_stream(api: ModelsAPI, fake: FakeLLM, how: str) -> None:
    """After the first piece: a chunk with `error` (its code the HTTP status) and finish_reason "error"."""
    chunk = {"id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": "anthropic/claude-sonnet-4.6",
             "provider": "Anthropic", "error": _IN_ANSWER,
             "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}  # fmt: skip
    fake.enqueue(Fault(inject=b"data: " + _body(chunk) + b"\n\n"))
    err = _failure(_call(api, how, model("openrouter")))
    assert type(err) is ServerError
    assert (
        str(err) == "OpenRouter error while answering: Provider returned error (openrouter/anthropic/claude-sonnet-4.6)"
    )
    assert len(fake.requests) == 1  # a stream is retried only before its first piece
    assert sample(api, "models_requests_total", status="server", **labels("openrouter")) == 1


def test_an_in_stream_code_that_is_no_http_status_is_a_provider_error(api: ModelsAPI, fake: FakeLLM) -> None:
    chunk = {"error": {"message": "Something odd", "code": "1300"}, "choices": []}
    fake.enqueue(Fault(inject=b"data: " + _body(chunk) + b"\n\n"))
    with pytest.raises(ProviderError) as caught:
        list(api.stream(model("mistral"), "hi"))
    assert type(caught.value) is ProviderError
    assert str(caught.value) == "Mistral error while answering: Something odd (mistral/mistral-large-latest)"


def test_a_proxy_page_instead_of_json_keeps_the_sdks_message(api: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(status=502, body=b"<html><body>Bad gateway</body></html>", content_type="text/html"))
    with pytest.raises(ServerError) as caught:
        api(model("groq"), "hi", max_retries=0)
    assert str(caught.value).startswith("Groq error: Error code: 502 (groq/llama-3.3-70b-versatile, HTTP 502")


def test_a_retry_after_the_preset_sends_is_honoured_in_the_error(api: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit("7"))
    with pytest.raises(RateLimitError) as caught:
        api(model("cerebras"), "hi", max_retries=0)
    assert caught.value.retry_after == 7.0
