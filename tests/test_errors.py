"""Faults on the wire → the SPEC §7 error tree, retries with attempts counted by the fake,
metrics by error kind, the SDK exception kept as `__cause__`, and no secret anywhere."""

from __future__ import annotations

import asyncio
import pickle
import time
from typing import Any

import pytest
from prometheus_client import generate_latest

from models import (
    AuthenticationError,
    ContextWindowExceededError,
    MissingAPIKeyError,
    ModelsAPI,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

from .conftest import KEYS, MODELS, PROVIDERS, sample
from .fake_llm import FakeLLM, Fault

SDK_MODULE = {"openai": "openai", "anthropic": "anthropic", "google": "google.genai"}


def _check_no_secret(api: ModelsAPI, error: BaseException) -> None:
    for key in KEYS.values():
        assert key not in str(error) and key not in repr(error)
        assert key not in generate_latest(api.registry).decode()


# (fault, error class, kind, status code or None, retried?)
MATRIX = [
    (Fault.rate_limit, RateLimitError, "rate_limit", 429, True),
    (Fault.server, ServerError, "server", 500, True),
    (Fault.auth, AuthenticationError, "authentication", 401, False),
    (Fault.context_window, ContextWindowExceededError, "context_window", 400, False),
    (Fault.invalid_key_400, AuthenticationError, "authentication", None, False),
    (lambda: Fault(reset=True), ProviderConnectionError, "connection", None, True),
]


def invoke(api: ModelsAPI, form: str, model: str, **params: Any) -> Any:
    """Run one call in the given form to its end: plain, stream, async or async stream."""
    if form == "call":
        return api(model, "hi", **params)
    if form == "stream":
        return "".join(api.stream(model, "hi", **params))
    if form == "acall":
        return asyncio.run(api.acall(model, "hi", **params))

    async def read() -> str:
        return "".join([piece async for piece in api.astream(model, "hi", **params)])

    return asyncio.run(read())


FORMS = ["call", "stream", "acall", "astream"]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("make", "error_class", "kind", "status", "retried"), MATRIX)
def test_fault_matrix(
    wired: ModelsAPI,
    fake: FakeLLM,
    form: str,
    provider: str,
    make: object,
    error_class: type,
    kind: str,
    status: int | None,
    retried: bool,
) -> None:
    fake.enqueue(*(make() for _ in range(3)))  # type: ignore[operator]
    with pytest.raises(error_class) as caught:
        invoke(wired, form, MODELS[provider], max_retries=2)
    error = caught.value
    assert type(error) is error_class
    assert (error.provider, error.model, error.kind, error.retryable) == (provider, MODELS[provider], kind, retried)
    if status is not None:
        assert error.status_code == status
    assert type(error.__cause__).__module__.startswith((SDK_MODULE[provider], "httpx2"))
    assert len(fake.requests) == (3 if retried else 1)
    labels = {"provider": provider, "model": MODELS[provider]}
    assert sample(wired, "models_requests_total", status=kind, **labels) == 1
    assert sample(wired, "models_requests_total", status="ok", **labels) == 0
    assert sample(wired, "models_retries_total", reason=kind, **labels) == (2 if retried else None)
    assert sample(wired, "models_in_flight_requests", **labels) == 0
    assert wired.usage()[MODELS[provider]].errors == 1
    _check_no_secret(wired, error)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_overloaded_is_a_retryable_server_error(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.enqueue(Fault.overloaded())
    with pytest.raises(ServerError) as caught:
        wired(MODELS[provider], "hi", max_retries=0)
    assert caught.value.status_code == (529 if provider == "anthropic" else 503)
    assert caught.value.retryable and len(fake.requests) == 1  # max_retries=0: no retry, not even the SDK's


@pytest.mark.parametrize("provider", PROVIDERS)
def test_flaky_then_ok_counts_once_with_its_retries(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.enqueue(Fault.server(), Fault.rate_limit(), Fault(reset=True))
    r = wired(MODELS[provider], "hi", max_retries=3)
    assert r.text == "echo: hi" and len(fake.requests) == 4
    labels = {"provider": provider, "model": MODELS[provider]}
    assert sample(wired, "models_requests_total", status="ok", **labels) == 1
    for reason in ("server", "rate_limit", "connection"):
        assert sample(wired, "models_retries_total", reason=reason, **labels) == 1
    assert sample(wired, "models_requests_total", status="server", **labels) is None
    assert wired.usage()[MODELS[provider]].errors == 0


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_retry_after_is_parsed_and_honoured(wired: ModelsAPI, fake: FakeLLM, form: str, provider: str) -> None:
    fake.enqueue(Fault.rate_limit(retry_after="0.3"))
    start = time.perf_counter()
    assert invoke(wired, form, MODELS[provider]) is not None
    assert len(fake.requests) == 2 and time.perf_counter() - start >= 0.3
    fake.enqueue(Fault.rate_limit(retry_after="7"))
    with pytest.raises(RateLimitError) as caught:
        invoke(wired, form, MODELS[provider], max_retries=0)
    assert (caught.value.retry_after, caught.value.retryable, caught.value.status_code) == (7.0, True, 429)


def test_a_retry_after_beyond_the_cap_is_raised_not_slept(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit(retry_after="3600"))
    with pytest.raises(RateLimitError) as caught:
        wired("gpt-4o", "hi", max_retries=5)
    assert caught.value.retry_after == 3600.0 and len(fake.requests) == 1


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_response_times_out_per_attempt(wired: ModelsAPI, fake: FakeLLM, form: str, provider: str) -> None:
    fake.enqueue(Fault(delay=1.0), Fault(delay=1.0))
    with pytest.raises(ProviderTimeoutError) as caught:
        invoke(wired, form, MODELS[provider], timeout=0.2, max_retries=1)
    assert isinstance(caught.value, TimeoutError)
    assert len(fake.requests) == 2
    labels = {"provider": provider, "model": MODELS[provider]}
    assert sample(wired, "models_requests_total", status="timeout", **labels) == 1


@pytest.mark.parametrize("provider", PROVIDERS)
def test_auth_error_names_the_variable(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.enqueue(Fault.auth())
    with pytest.raises(
        AuthenticationError,
        match={"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "google": "GEMINI_API_KEY"}[provider],
    ):
        wired(MODELS[provider], "hi")


@pytest.mark.parametrize(
    ("provider", "variable"),
    [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("google", "GEMINI_API_KEY or GOOGLE_API_KEY")],
)
def test_missing_key_names_the_variable(api: ModelsAPI, provider: str, variable: str) -> None:
    with pytest.raises(MissingAPIKeyError, match=f"set {variable}, or call models.configure"):
        api(MODELS[provider], "hi")


def test_request_id_is_kept(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError) as caught:
        wired("claude-sonnet-4-6", "hi")
    assert caught.value.request_id and caught.value.request_id in str(caught.value)


def test_errors_pickle_with_their_fields(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit(retry_after="5"))
    with pytest.raises(RateLimitError) as caught:
        wired("gpt-4o", "hi", max_retries=0)
    restored = pickle.loads(pickle.dumps(caught.value))
    assert type(restored) is RateLimitError and str(restored) == str(caught.value)
    assert (restored.retry_after, restored.status_code, restored.provider) == (5.0, 429, "openai")


def test_secret_in_sdk_error_text_is_redacted(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(status=400, message=f"bad key {KEYS['google']} at https://x/?key={KEYS['google']}&alt=sse"))
    with pytest.raises(ProviderError) as caught:
        wired("gemini-2.5-flash", "hi")
    assert "***" in str(caught.value)
    _check_no_secret(wired, caught.value)


def test_every_error_class_survives_pickle() -> None:
    import models.errors as errors

    samples = [
        errors.MissingAPIKeyError("openai", ["OPENAI_API_KEY"]),
        errors.InvalidCostOverrideError("MODELS_COST_X_INPUT", "bad"),
        errors.ModelNotFoundError("gtp", ["gpt-4o"]),
        errors.ProviderNotFoundError("nope", ["openai"]),
        errors.BudgetExceededError(1.0, 0.5, 0.75),
        errors.UnsupportedCapabilityError("openai/gpt-4", "image_input", "an image"),
        errors.ServerError("down", provider="openai", model="openai/gpt-4o", status_code=503, retry_after=2.0),
        errors.ConfigurationError("plain"),
    ]
    for error in samples:
        restored = pickle.loads(pickle.dumps(error))
        assert type(restored) is type(error) and str(restored) == str(error)
        assert restored.__dict__ == error.__dict__
