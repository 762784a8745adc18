"""Azure OpenAI (SPEC §11) end to end: `azure/<deployment>` through the real openai SDK's `AzureOpenAI`
and `AsyncAzureOpenAI` to the wire fake, which serves Chat Completions at Azure's deployment path.

What Azure does differently from OpenAI is checked on the wire: the path
`/openai/deployments/{deployment}/chat/completions` and its `api-version` query; the key in an `api-key`
header, or a Microsoft Entra ID token as `Authorization: Bearer`, and none of OpenAI's ambient settings
(OPENAI_API_KEY, OPENAI_ORG_ID, OPENAI_PROJECT_ID, OPENAI_CUSTOM_HEADERS, OPENAI_BASE_URL);
content-filter annotations on bodies and chunks (a stream's first chunk has no choices), a prompt
blocked with a 400 `content_filter`, an answer filtered with finish_reason `content_filter`; its 401
and 429 bodies. Then prices (genai-prices' azure rows), metrics and usage under the provider label "azure".
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import time
import traceback
from typing import Any, Literal

import openai
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from pydantic import BaseModel

from models import (
    AuthenticationError,
    ConfigurationError,
    ContentFilterError,
    MissingAPIKeyError,
    MissingSettingError,
    ModelsAPI,
    ModelsWarning,
    RateLimitError,
    ToolCall,
)

from . import media
from .conftest import KEYS, sample
from .fake_llm import FakeLLM, Fault, Recorded, Reply

AZURE_KEY = "azure-test-AZURE-SECRET-0123456789abcdef"
MODEL = "azure/gpt-4o"
PATH = "/openai/deployments/gpt-4o/chat/completions"
LABELS = {"provider": "azure", "model": MODEL}
FORMS = ["call", "stream", "acall", "astream"]
# What OpenAI's SDK would add from the environment: none of it may reach an Azure resource.
AMBIENT = {
    "OPENAI_API_KEY": KEYS["openai"],
    "OPENAI_ORG_ID": "org-AMBIENT",
    "OPENAI_PROJECT_ID": "proj_AMBIENT",
    "OPENAI_CUSTOM_HEADERS": "X-Ambient: 1\nAuthorization: Bearer sk-ambient-LEAK-0123456789",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",  # nothing listens there
}
FOREIGN = {"openai-organization", "openai-project", "x-ambient"}

# Azure's own error bodies, as its documentation and SDK issue reports show them.
BLOCKED = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "jailbreak": {"filtered": True, "detected": True},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "medium"},
            },
        },
    }
}
DENIED = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}
THROTTLED = {
    "error": {
        "code": "429",
        "message": "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-10-21 "
        "have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second.",
    }
}


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit.upper()} in {city}"


class City(BaseModel):
    name: str
    population: int


@pytest.fixture(autouse=True)
def no_azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's Azure variables (conftest clears OpenAI's)."""
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)


@pytest.fixture
def azure(api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> ModelsAPI:
    """`api` with an Azure resource at the wire fake, reached by the key variable."""
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    return api


def fresh() -> ModelsAPI:
    """Another instance: its clients read the environment anew."""
    return ModelsAPI(registry=CollectorRegistry(), retry_initial_delay=0.001, retry_max_delay=0.002)


def run(target: Any, form: str, model: str, prompt: Any = "hi", **params: Any) -> tuple[list[str], Any]:
    """One call in the given form, read to the end: (the streamed pieces, or [], and its `Response`)."""
    if form == "call":
        return [], target(model, prompt, **params)
    if form == "acall":
        return [], asyncio.run(target.acall(model, prompt, **params))
    if form == "stream":
        stream = target.stream(model, prompt, **params)
        return list(stream), stream.response

    async def read() -> tuple[list[str], Any]:
        stream = target.astream(model, prompt, **params)
        return [piece async for piece in stream], stream.response

    return asyncio.run(read())


def only_the_key(request: Recorded) -> None:
    """The request carried the Azure key in `api-key` and no other credential or OpenAI header."""
    assert request.headers["api-key"] == AZURE_KEY
    assert not ({"authorization"} | FOREIGN) & set(request.headers), request.headers


def only_the_token(request: Recorded, token: str) -> None:
    assert request.headers["authorization"] == f"Bearer {token}"
    assert not ({"api-key"} | FOREIGN) & set(request.headers), request.headers


# --- the fake's Azure shapes against the real SDK -------------------------------------------------


def test_the_sdk_reads_the_fakes_azure_annotations(fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="Hello from Azure", azure_filters=True))
    with openai.AzureOpenAI(
        api_key=AZURE_KEY, azure_endpoint=fake.url, api_version="2024-10-21", max_retries=0
    ) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
        assert completion.choices[0].message.content == "Hello from Azure"
        assert completion.prompt_filter_results[0]["content_filter_results"]["hate"] == {  # type: ignore[attr-defined]
            "filtered": False,
            "severity": "safe",
        }
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o",
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    assert fake.requests[0].path == PATH and fake.requests[0].query == {"api-version": "2024-10-21"}
    first, *rest, last = chunks
    assert (first.choices, first.id, first.model) == ([], "", "")
    assert first.prompt_filter_results[0]["prompt_index"] == 0  # type: ignore[attr-defined]
    late = [c for c in rest if c.choices and c.choices[0].delta is None]  # asynchronous filtering's annotation
    assert len(late) == 1 and late[0].choices[0].content_filter_offsets["end_offset"] == 16  # type: ignore[attr-defined]
    text = "".join(c.choices[0].delta.content or "" for c in rest if c.choices and c.choices[0].delta is not None)
    assert text == "Hello from Azure"
    assert (last.choices, last.usage and last.usage.completion_tokens) == ([], 5)


# --- every call form, on the wire -----------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_call_form_reaches_the_deployment_with_only_the_azure_key(
    azure: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    for name, value in AMBIENT.items():
        monkeypatch.setenv(name, value)
    fake.set_reply(Reply(text="Hello from Azure", input_tokens=1000, output_tokens=500, azure_filters=True))
    pieces, r = run(azure, form, MODEL)
    assert (r.text, r.model, r.provider, r.finish_reason) == ("Hello from Azure", MODEL, "azure", "stop")
    assert pieces == ([] if "call" in form else ["Hello ", "from ", "Azure"])
    usage = r.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1000, 500, 1500)
    assert (usage.cost, usage.price_source) == (0.0075, "genai-prices")  # $2.50 and $10 per 1M, azure's gpt-4o row
    [request] = fake.requests
    assert (request.path, request.query, request.model) == (PATH, {"api-version": "2024-10-21"}, "gpt-4o")
    assert request.body["messages"] == [{"role": "user", "content": "hi"}]
    assert request.body.get("stream_options") == (None if "call" in form else {"include_usage": True})
    assert request.headers["x-stainless-retry-count"] == "0"  # the SDK's own retries are off
    only_the_key(request)
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 1
    assert sample(azure, "models_tokens_total", type="input", **LABELS) == 1000
    assert sample(azure, "models_tokens_total", type="output", **LABELS) == 500
    assert sample(azure, "models_cost_usd_total", **LABELS) == 0.0075
    assert sample(azure, "models_request_duration_seconds_count", **LABELS) == 1
    ttft = sample(azure, "models_time_to_first_token_seconds_count", **LABELS)
    assert ttft == (0 if "call" in form else 1)
    totals = azure.usage()[MODEL]
    assert (totals.requests, totals.errors, totals.input_tokens, totals.output_tokens, totals.cost) == (
        1,
        0,
        1000,
        500,
        0.0075,
    )
    if "call" in form:  # the SDK's typed answer keeps Azure's annotations
        assert r.raw.prompt_filter_results[0]["content_filter_results"]["violence"]["severity"] == "safe"


def test_a_binding_sends_its_parameters_to_the_deployment(azure: ModelsAPI, fake: FakeLLM) -> None:
    bound = azure.bind(MODEL, temperature=0.2, max_tokens=64)
    assert AZURE_KEY not in repr(bound)
    assert bound("first").text == "echo: first"
    assert bound("second", temperature=0).text == "echo: second"
    assert "".join(bound.stream("third")) == "echo: third"
    assert asyncio.run(bound.acall("fourth")).text == "echo: fourth"
    bodies = [{k: v for k, v in r.body.items() if k not in ("stream", "stream_options")} for r in fake.requests]
    assert bodies == [
        {"model": "gpt-4o", "messages": [{"role": "user", "content": text}], "temperature": t, "max_tokens": 64}
        for text, t in (("first", 0.2), ("second", 0), ("third", 0.2), ("fourth", 0.2))
    ]
    assert {r.path for r in fake.requests} == {PATH}
    for request in fake.requests:
        only_the_key(request)
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 4
    assert sample(azure, "models_tokens_total", type="input", **LABELS) == 40
    assert sample(azure, "models_cost_usd_total", **LABELS) == pytest.approx(4 * 7.5e-05, abs=1e-18)


@pytest.mark.parametrize("form", FORMS)
def test_fallback_from_azure_to_openai_and_back(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    azure.configure("openai", api_key=KEYS["openai"], base_url=fake.openai_base_url)
    fake.enqueue(Fault.server())
    _, r = run(azure, form, MODEL, fallbacks=["openai/gpt-4o"], max_retries=0)
    assert (r.model, r.text) == ("openai/gpt-4o", "echo: hi")
    assert [(a.model, a.error_kind) for a in r.attempts] == [(MODEL, "server")]
    to_azure, to_openai = fake.requests
    assert (to_azure.path, to_openai.path) == (PATH, "/v1/chat/completions")
    only_the_key(to_azure)
    assert to_openai.headers["authorization"] == f"Bearer {KEYS['openai']}" and "api-key" not in to_openai.headers

    fake.reset()
    fake.enqueue(Fault.server())
    _, r = run(azure, form, "openai/gpt-4o", fallbacks=[MODEL], max_retries=0)
    assert (r.model, r.provider, r.text) == (MODEL, "azure", "echo: hi")
    assert [(a.model, a.error_kind) for a in r.attempts] == [("openai/gpt-4o", "server")]
    to_openai, to_azure = fake.requests
    assert (to_openai.path, to_azure.path) == ("/v1/chat/completions", PATH)
    only_the_key(to_azure)
    assert sample(azure, "models_fallbacks_total", reason="server", **LABELS) == 1
    assert sample(azure, "models_requests_total", status="server", **LABELS) == 1
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 1


# --- tools, structured output, attachments ----------------------------------------------------------

STRICT_WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"], "type": "string"}},
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}
PARIS = ("call_1", "get_weather", {"city": "Paris"})
WIRE_PARIS = {"name": "get_weather", "arguments": '{"city": "Paris"}'}


def test_tools_and_the_tool_loop(azure: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(
        Reply(text="", tool_calls=(PARIS,), finish_reason="tool_calls", azure_filters=True),
        Reply(text="18 C in Paris", input_tokens=30, output_tokens=7, azure_filters=True),
    )
    r = azure(MODEL, "Weather in Paris?", tools=[get_weather], run_tools=True)
    assert (r.text, r.finish_reason) == ("18 C in Paris", "stop")
    assert [step.tool_calls for step in r.steps] == [(ToolCall("call_1", "get_weather", {"city": "Paris"}),), ()]
    first, second = fake.requests
    assert (first.path, second.path) == (PATH, PATH)
    assert first.body["tools"] == second.body["tools"] == [STRICT_WEATHER]
    assert second.body["messages"][1:] == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": WIRE_PARIS}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 C in Paris"},
    ]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (40, 12)
    assert r.usage.cost == (40 * 2.5 + 12 * 10) / 1e6
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 2


@pytest.mark.parametrize("form", ["stream", "astream"])
def test_streamed_tool_calls_through_azures_chunks(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Reply(text="", tool_calls=(PARIS,), finish_reason="tool_calls", azure_filters=True))
    pieces, r = run(azure, form, MODEL, "Weather in Paris?", tools=[get_weather])
    assert (pieces, r.finish_reason) == ([], "tool_calls")
    assert r.tool_calls == (ToolCall("call_1", "get_weather", {"city": "Paris"}),)
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (10, 5, 7.5e-05)


@pytest.mark.parametrize("form", FORMS)
def test_structured_output(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Reply(text='{"name": "Paris", "population": 2102650}', azure_filters=True))
    _, r = run(azure, form, MODEL, "Largest city in France?", response_format=City)
    assert r.parsed == City(name="Paris", population=2102650)
    assert fake.requests[0].body["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "City",
            "schema": {
                "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
                "required": ["name", "population"],
                "type": "object",
                "title": "City",
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


def test_an_image_attachment(azure: ModelsAPI, fake: FakeLLM) -> None:
    picture = media.png()
    url = "data:image/png;base64," + base64.b64encode(picture).decode()
    r = azure(MODEL, "What is in this picture?", attachments=[picture])
    assert r.text == "echo: What is in this picture?"
    assert fake.requests[0].path == PATH
    assert fake.requests[0].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture?"},
                {"type": "image_url", "image_url": {"url": url}},
            ],
        }
    ]


# --- the resource: endpoint, api-version, credentials ----------------------------------------------


def test_api_version_default_then_environment_then_configure(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    first = fresh()
    first.configure("azure", base_url=fake.url + "/")  # the endpoint set in code; a trailing slash is fine
    first(MODEL, "hi")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    second = fresh()
    second.configure("azure", base_url=fake.url)
    second(MODEL, "hi")
    second.configure("azure", api_version="2024-06-01")  # code beats the environment
    second(MODEL, "hi")
    assert [(r.path, r.query["api-version"]) for r in fake.requests] == [
        (PATH, "2024-10-21"),
        (PATH, "2025-04-01-preview"),
        (PATH, "2024-06-01"),
    ]


def test_a_key_given_in_code_beats_every_other_credential(
    azure: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "entra-static-token")
    azure.configure("azure", api_key="azure-key-in-code", azure_ad_token_provider=lambda: "entra-token")
    for form in FORMS:
        run(azure, form, MODEL)
    assert [r.headers["api-key"] for r in fake.requests] == ["azure-key-in-code"] * 4
    assert not any("authorization" in r.headers for r in fake.requests)


@pytest.mark.parametrize("key_too", [False, True])
def test_an_entra_id_token_provider_is_asked_for_every_request(
    azure: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, key_too: bool
) -> None:
    """A token provider given in code is the credential, also when AZURE_OPENAI_API_KEY is set: the
    SDK too lets explicit credentials win over the environment."""
    if not key_too:
        monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    issued: list[str] = []

    def token() -> str:
        issued.append(f"entra-token-{len(issued) + 1}")
        return issued[-1]

    azure.configure("azure", azure_ad_token_provider=token)
    for form in FORMS:
        assert run(azure, form, MODEL)[1].text == "echo: hi"
    assert issued == ["entra-token-1", "entra-token-2", "entra-token-3", "entra-token-4"]
    for request, sent in zip(fake.requests, issued, strict=True):
        only_the_token(request, sent)


def test_an_async_token_provider_serves_async_calls(azure: ModelsAPI, fake: FakeLLM) -> None:
    async def token() -> str:
        await asyncio.sleep(0)
        return "entra-async-token"

    azure.configure("azure", azure_ad_token_provider=token)
    assert run(azure, "acall", MODEL)[1].text == "echo: hi"
    assert run(azure, "astream", MODEL)[1].text == "echo: hi"
    for request in fake.requests:
        only_the_token(request, "entra-async-token")
    with pytest.raises(ConfigurationError, match="azure_ad_token_provider is a coroutine function"):
        azure(MODEL, "hi")
    assert len(fake.requests) == 2  # the sync call sent nothing


@pytest.mark.parametrize("key_too", [False, True])
def test_the_sdks_own_token_variable(fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, key_too: bool) -> None:
    """AZURE_OPENAI_AD_TOKEN is the credential when set, over AZURE_OPENAI_API_KEY, as in the SDK."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.setenv("AZURE_OPENAI_AD_TOKEN", "entra-static-token")
    if key_too:
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", AZURE_KEY)
    api = fresh()
    assert run(api, "call", MODEL)[1].text == "echo: hi"
    assert run(api, "astream", MODEL)[1].text == "echo: hi"
    for request in fake.requests:
        only_the_token(request, "entra-static-token")


@pytest.mark.parametrize("form", FORMS)
def test_nothing_is_sent_without_an_endpoint_or_a_credential(
    azure: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT")
    with pytest.raises(ConfigurationError, match="set AZURE_OPENAI_ENDPOINT") as caught:
        run(azure, form, MODEL)
    assert type(caught.value) is MissingSettingError  # a fallback chain passes it over as not configured
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", fake.url)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY")
    api = fresh()
    with pytest.raises(MissingAPIKeyError, match="set AZURE_OPENAI_API_KEY or AZURE_OPENAI_AD_TOKEN") as missing:
        run(api, form, MODEL)
    assert missing.value.env_vars == ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN")
    assert fake.requests == []


def test_configure_names_the_options_azure_takes(azure: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(TypeError) as caught:
        azure.configure("azure", bogus=1)
    assert str(caught.value) == (
        "configure('azure') got unknown option(s) bogus; azure takes only api_version, azure_ad_token_provider"
    )
    with pytest.raises(ConfigurationError, match="azure_ad_token_provider must be a function returning a token"):
        azure.configure("azure", azure_ad_token_provider="not-a-function")
        azure(MODEL, "hi")
    with pytest.raises(ConfigurationError, match="api_version must be a non-empty str like '2024-10-21'"):
        azure.configure("azure", azure_ad_token_provider=lambda: "t", api_version=20241021)
        azure(MODEL, "hi")
    assert fake.requests == []


# --- Azure's own answers: filters, errors, retries --------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_a_prompt_blocked_by_azures_filter(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault(status=400, body=json.dumps(BLOCKED).encode()))
    with pytest.raises(ContentFilterError) as caught:
        run(azure, form, MODEL, max_retries=2)
    error = caught.value
    assert str(error).startswith(
        "Azure OpenAI refused the prompt: The response was filtered due to the prompt triggering Azure OpenAI's"
    )
    assert (error.status_code, error.provider, error.model, error.retryable) == (400, "azure", MODEL, False)
    assert isinstance(error.__cause__, openai.BadRequestError)
    assert len(fake.requests) == 1
    assert sample(azure, "models_requests_total", status="content_filter", **LABELS) == 1
    assert sample(azure, "models_retries_total", reason="content_filter", **LABELS) is None


@pytest.mark.parametrize("form", FORMS)
def test_an_answer_filtered_by_azure_is_returned(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Reply(text="Once upon", output_tokens=2, finish_reason="content_filter", azure_filters=True))
    pieces, r = run(azure, form, MODEL)
    assert (r.text, r.finish_reason) == ("Once upon", "content_filter")
    assert pieces == ([] if "call" in form else ["Onc", "e u", "pon"])
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (10, 2, (10 * 2.5 + 2 * 10) / 1e6)
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 1


@pytest.mark.parametrize("form", FORMS)
def test_a_rejected_key_names_the_variable(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault(status=401, body=json.dumps(DENIED).encode()))
    with pytest.raises(AuthenticationError) as caught:
        run(azure, form, MODEL)
    assert str(caught.value).startswith(
        "Azure OpenAI rejected the key (check AZURE_OPENAI_API_KEY): Access denied due to invalid subscription key"
    )
    assert (caught.value.status_code, caught.value.retryable, len(fake.requests)) == (401, False, 1)
    assert isinstance(caught.value.__cause__, openai.AuthenticationError)
    assert sample(azure, "models_requests_total", status="authentication", **LABELS) == 1


def test_a_rejected_token_names_where_it_came_from(azure: ModelsAPI, fake: FakeLLM) -> None:
    azure.configure("azure", azure_ad_token_provider=lambda: "entra-token")
    fake.enqueue(Fault(status=401, body=json.dumps(DENIED).encode()))
    with pytest.raises(AuthenticationError) as caught:
        azure(MODEL, "hi")
    assert str(caught.value).startswith(
        "Azure OpenAI rejected the key (the Entra ID token from the azure_ad_token_provider given to "
        "models.configure('azure')): Access denied"
    )


@pytest.mark.parametrize("form", FORMS)
def test_retry_after_is_honoured_with_one_layer_of_retries(azure: ModelsAPI, fake: FakeLLM, form: str) -> None:
    waits = {"retry-after": "1", "retry-after-ms": "300"}  # Azure sends both
    throttled = Fault(status=429, body=json.dumps(THROTTLED).encode(), headers=waits)
    fake.enqueue(throttled)
    start = time.perf_counter()
    assert run(azure, form, MODEL, max_retries=1)[1].text == "echo: hi"
    assert time.perf_counter() - start >= 0.3  # retry-after-ms, the finer of Azure's two headers
    assert len(fake.requests) == 2
    assert sample(azure, "models_retries_total", reason="rate_limit", **LABELS) == 1
    assert sample(azure, "models_requests_total", status="ok", **LABELS) == 1
    fake.enqueue(throttled, throttled)
    with pytest.raises(RateLimitError) as caught:
        run(azure, form, MODEL, max_retries=1)
    assert str(caught.value).startswith("Azure OpenAI error: Requests to the ChatCompletions_Create Operation")
    assert (caught.value.retry_after, caught.value.status_code, caught.value.retryable) == (0.3, 429, True)
    assert len(fake.requests) == 4  # two more: ours, never the SDK's on top
    assert [r.headers["x-stainless-retry-count"] for r in fake.requests] == ["0"] * 4
    assert sample(azure, "models_retries_total", reason="rate_limit", **LABELS) == 2
    assert sample(azure, "models_requests_total", status="rate_limit", **LABELS) == 1


# --- secrets ---------------------------------------------------------------------------------------


def _failure(api: ModelsAPI, form: str) -> BaseException:
    """The exception a failing call raises, caught in a frame that holds no secret."""
    try:
        run(api, form, MODEL, max_retries=0)
    except Exception as error:
        return error
    raise AssertionError("the call did not fail")


def _printed(error: BaseException) -> str:
    out = io.StringIO()
    logger = logging.getLogger("tests.azure")
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        logger.error("failed", exc_info=error)
    finally:
        logger.removeHandler(handler)
    locals_shown = "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format())
    return f"{error} {error!r} {error.__cause__!r} {out.getvalue()} {locals_shown}"


@pytest.mark.parametrize("entra", [False, True])
@pytest.mark.parametrize("form", ["call", "astream"])
def test_no_key_or_token_in_what_an_error_prints(azure: ModelsAPI, fake: FakeLLM, entra: bool, form: str) -> None:
    secret = AZURE_KEY
    if entra:
        secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.entra-SECRET-token"
        azure.configure("azure", azure_ad_token_provider=lambda: secret)
    fake.enqueue(Fault(status=400, echo_key=True))
    error = _failure(azure, form)
    assert "Key sent: " in str(error)  # the fake echoed what it got
    assert secret not in _printed(error)
    assert secret not in generate_latest(azure.registry).decode()


# --- prices ----------------------------------------------------------------------------------------


def test_a_deployment_with_its_own_name_is_unpriced_until_named(azure: ModelsAPI, fake: FakeLLM) -> None:
    labels = {"provider": "azure", "model": "azure/prod-4o"}
    with pytest.warns(ModelsWarning, match=r"azure/prod-4o has no price, so usage.cost is None.*with base="):
        r = azure("azure/prod-4o", "hi")
    assert (r.text, r.usage.cost, r.usage.price_source) == ("echo: hi", None, "none")
    assert fake.requests[0].path == "/openai/deployments/prod-4o/chat/completions"
    assert sample(azure, "models_unpriced_requests_total", **labels) == 1
    assert sample(azure, "models_cost_usd_total", **labels) == 0.0  # nothing priced: a 0 child, and the unpriced count
    assert sample(azure, "models_tokens_total", type="input", **labels) == 10


def test_a_deployment_named_after_its_model_is_priced_as_it(azure: ModelsAPI, fake: FakeLLM) -> None:
    azure.register_model("azure/prod-4o", base="openai/gpt-4o")
    r = azure("azure/prod-4o", "hi")
    assert (r.usage.cost, r.usage.price_source) == (7.5e-05, "default")  # openai/gpt-4o's built-in row
    assert fake.requests[0].path == "/openai/deployments/prod-4o/chat/completions"
    assert sample(azure, "models_cost_usd_total", provider="azure", model="azure/prod-4o") == 7.5e-05
