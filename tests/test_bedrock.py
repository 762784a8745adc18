"""The `bedrock` provider (SPEC §11): boto3's Converse and ConverseStream against the wire fake.

Every call form, bindings, fallbacks and a router onto Bedrock; usage and exact costs (genai-prices'
"aws" rows); the error tree by botocore's error codes with one layer of retries; timeouts; the
configuration checks (boto3, region, credentials) before anything is sent; the AWS secrets nowhere.
"""

from __future__ import annotations

import asyncio
import io
import logging
import subprocess
import sys
import time
import traceback
from dataclasses import replace
from typing import Any

import pytest

from models import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    InvalidRequestError,
    MissingAPIKeyError,
    ModelsAPI,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

from .conftest import AWS, KEYS, sample
from .fake_llm import FakeLLM, Fault, Reply

MODEL = "bedrock/anthropic.claude-sonnet-4-6-v1:0"
NAME = "anthropic.claude-sonnet-4-6-v1:0"
PROFILE = "bedrock/us.anthropic.claude-sonnet-4-6-v1:0"
ARN = "bedrock/arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3d4e5f6"
LABELS = {"provider": "bedrock", "model": MODEL}
FORMS = ["call", "stream", "acall", "astream"]
TEXT = "The quick brown fox jumps over the lazy dog."
# genai-prices' "aws" row for this model (regional endpoint): USD per 1M tokens
INPUT, OUTPUT, CACHED, WRITE, WRITE_1H = 3.3, 16.5, 0.33, 4.125, 6.6


def invoke(api: ModelsAPI, form: str, model: str = MODEL, prompt: Any = "hi", **params: Any) -> Any:
    """One call in the given form, to its end; the `Response`."""
    if form == "call":
        return api(model, prompt, **params)
    if form == "acall":
        return asyncio.run(api.acall(model, prompt, **params))
    if form == "stream":
        s = api.stream(model, prompt, **params)
        "".join(s)
        return s.response

    async def read() -> Any:
        s = api.astream(model, prompt, **params)
        [piece async for piece in s]
        return s.response

    return asyncio.run(read())


# -- every call form ---------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_call_form_answers_with_exact_usage_cost_and_metrics(
    bedrock: ModelsAPI, fake: FakeLLM, form: str
) -> None:
    fake.set_reply(
        Reply(text=TEXT, input_tokens=1200, output_tokens=300, cached_input_tokens=200, cache_write_tokens=100)
    )
    r = invoke(bedrock, form, system="Be brief.", max_tokens=64, temperature=0.2, top_p=0.9, stop="END")
    assert (r.text, r.model, r.provider, r.finish_reason) == (TEXT, MODEL, "bedrock", "stop")
    usage = r.usage
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (1200, 300, 1500)
    assert (usage.cached_input_tokens, usage.cache_write_tokens) == (200, 100)
    # 900 fresh input tokens, 200 read from the cache, 100 written to it, 300 out
    assert usage.cost == pytest.approx((900 * INPUT + 200 * CACHED + 100 * WRITE + 300 * OUTPUT) / 1e6, abs=1e-15)
    assert usage.cost == pytest.approx(0.0083985, abs=1e-15)
    assert usage.cost == 0.0083985  # exact: integers of 1e-15 USD, one float at the end
    assert usage.price_source == "genai-prices"
    request = fake.requests[-1]
    assert (request.provider, request.model, request.stream) == ("bedrock", NAME, form in ("stream", "astream"))
    assert request.body == {
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"]},
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "system": [{"text": "Be brief."}],
    }
    assert sample(bedrock, "models_requests_total", status="ok", **LABELS) == 1
    assert sample(bedrock, "models_tokens_total", type="input", **LABELS) == 1200
    assert sample(bedrock, "models_tokens_total", type="output", **LABELS) == 300
    assert sample(bedrock, "models_cost_usd_total", **LABELS) == 0.0083985
    assert sample(bedrock, "models_in_flight_requests", **LABELS) == 0
    assert bedrock.usage()[MODEL].requests == 1


@pytest.mark.parametrize("form", ["call", "stream"])
def test_one_hour_cache_writes_come_from_the_cache_details(bedrock: ModelsAPI, fake: FakeLLM, form: str) -> None:
    usage = {
        "inputTokens": 50,
        "outputTokens": 7,
        "totalTokens": 487,
        "cacheReadInputTokens": 100,
        "cacheWriteInputTokens": 330,
        "cacheDetails": [{"ttl": "5m", "inputTokens": 30}, {"ttl": "1h", "inputTokens": 300}],
    }
    fake.set_reply(Reply(raw_usage=usage))
    u = invoke(bedrock, form).usage
    assert (u.input_tokens, u.cached_input_tokens, u.cache_write_tokens, u.cache_write_1h_tokens) == (
        480,
        100,
        330,
        300,
    )
    # the 300 written for an hour priced as such, the other 30 as 5-minute writes
    assert u.output_tokens == 7 and u.cost == 0.00241725
    assert u.cost == pytest.approx(
        (50 * INPUT + 100 * CACHED + 30 * WRITE + 300 * WRITE_1H + 7 * OUTPUT) / 1e6, abs=1e-15
    )


def test_raw_is_boto3s_response_and_streams_come_in_pieces(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text=TEXT, chunks=4))
    r = bedrock(MODEL, "hi")
    assert r.raw["output"]["message"]["content"] == [{"text": TEXT}]
    assert r.raw["stopReason"] == "end_turn" and r.raw["ResponseMetadata"]["HTTPStatusCode"] == 200
    pieces = list(bedrock.stream(MODEL, "hi"))
    assert len(pieces) == 4 and "".join(pieces) == TEXT

    async def read() -> list[str]:
        return [piece async for piece in bedrock.astream(MODEL, "hi")]

    assert asyncio.run(read()) == pieces


@pytest.mark.parametrize(
    ("reply", "finish"),
    [
        (Reply(finish_reason="length"), "length"),  # max_tokens
        (Reply(blocked=True, text="Sorry, the guardrail blocked this."), "content_filter"),  # guardrail_intervened
        (Reply(finish_reason="content_filter"), "content_filter"),  # content_filtered
    ],
)
@pytest.mark.parametrize("form", ["call", "stream"])
def test_finish_reasons_are_normalised(bedrock: ModelsAPI, fake: FakeLLM, form: str, reply: Reply, finish: str) -> None:
    fake.set_reply(reply)
    r = invoke(bedrock, form)
    assert r.finish_reason == finish and r.text == (reply.text or "echo: hi")


def test_a_binding_resolves_once_and_call_time_values_win(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    bound = bedrock.bind(MODEL, temperature=0.5, max_tokens=10)
    assert bound("one").text == "echo: one"
    assert bound("two", temperature=0).text == "echo: two"
    assert [r.body["inferenceConfig"] for r in fake.requests] == [
        {"temperature": 0.5, "maxTokens": 10},
        {"temperature": 0, "maxTokens": 10},
    ]
    assert sample(bedrock, "models_requests_total", status="ok", **LABELS) == 2


@pytest.mark.parametrize("model", [PROFILE, ARN])
def test_inference_profiles_and_arns_go_to_the_sdk_as_given(bedrock: ModelsAPI, fake: FakeLLM, model: str) -> None:
    r = bedrock(model, "hi")
    assert r.model == model and fake.requests[-1].model == model.removeprefix("bedrock/")
    assert (
        fake.requests[-1].path
        == "/model/" + model.removeprefix("bedrock/").replace(":", "%3A").replace("/", "%2F") + "/converse"
    )


def test_a_profile_is_priced_like_its_model(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=1_000_000, output_tokens=1_000_000))
    assert bedrock(PROFILE, "hi").usage.cost == pytest.approx(INPUT + OUTPUT, abs=1e-12)


def test_seed_is_dropped_with_a_warning_and_unknown_keywords_are_refused(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.warns(UserWarning, match="does not accept 'seed'"):
        bedrock(MODEL, "hi", seed=7)
    assert "seed" not in str(fake.requests[-1].body)
    with pytest.raises(InvalidRequestError, match="performanceConfig"):
        bedrock(MODEL, "hi", performanceConfg={"latency": "optimized"})
    assert len(fake.requests) == 1


def test_converse_keywords_pass_through_checked_against_its_shapes(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 1024}}
    bedrock(MODEL, "hi", additionalModelRequestFields=thinking, performanceConfig={"latency": "optimized"})
    body = fake.requests[-1].body
    assert (body["additionalModelRequestFields"], body["performanceConfig"]) == (thinking, {"latency": "optimized"})
    with pytest.raises(InvalidRequestError, match=r"Invalid type for parameter performanceConfig\.latency"):
        bedrock(MODEL, "hi", performanceConfig={"latency": 1})
    with pytest.raises(InvalidRequestError, match="Unknown parameter in inferenceConfig"):
        bedrock.bind(MODEL, inferenceConfig={"maxTokenz": 5})
    assert len(fake.requests) == 1


def test_a_fallback_and_a_router_land_on_bedrock(wired: ModelsAPI, bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server())
    r = bedrock("gpt-4o", "hi", fallbacks=[MODEL], max_retries=0)
    assert (r.model, r.text) == (MODEL, "echo: hi")
    assert [a.model for a in r.attempts] == ["openai/gpt-4o"] and [q.provider for q in fake.requests] == [
        "openai",
        "bedrock",
    ]
    assert sample(bedrock, "models_fallbacks_total", reason="server", provider="openai", model="openai/gpt-4o") == 1
    router = bedrock.router([MODEL, "gpt-4o"], strategy="manual")
    assert router("hi").model == MODEL and fake.requests[-1].provider == "bedrock"


# -- errors, retries, timeouts -----------------------------------------------------------------

# (fault, error class, kind, status, retried)
MATRIX = [
    (Fault.rate_limit(retry_after=None), RateLimitError, "rate_limit", 429, True),
    (Fault(status=400, code="ServiceQuotaExceededException"), RateLimitError, "rate_limit", 400, True),
    (Fault(status=400, message="Malformed input request."), InvalidRequestError, "invalid_request", 400, False),
    (Fault.context_window(), ContextWindowExceededError, "context_window", 400, False),
    (
        Fault(
            status=400,
            message="The model returned the following errors: prompt is too long: 250000 tokens > 200000 maximum",
        ),
        ContextWindowExceededError,
        "context_window",
        400,
        False,
    ),
    (Fault(status=403), AuthenticationError, "authentication", 403, False),  # AccessDeniedException
    (Fault.auth(), AuthenticationError, "authentication", 403, False),  # UnrecognizedClientException
    (Fault(status=403, code="ExpiredTokenException"), AuthenticationError, "authentication", 403, False),
    (Fault(status=404), InvalidRequestError, "invalid_request", 404, False),  # ResourceNotFoundException
    (Fault(status=408), ProviderTimeoutError, "timeout", 408, True),  # ModelTimeoutException
    (Fault.server(), ServerError, "server", 500, True),  # InternalServerException
    (Fault.overloaded(), ServerError, "server", 503, True),  # ServiceUnavailableException
    (Fault(status=429, code="ModelNotReadyException"), ServerError, "server", 429, True),
    (Fault(status=424), ServerError, "server", 424, True),  # ModelErrorException
    (Fault(reset=True), ProviderConnectionError, "connection", None, True),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("fault", "error_class", "kind", "status", "retried"), MATRIX)
def test_error_tree_by_botocore_code_with_one_layer_of_retries(
    bedrock: ModelsAPI, fake: FakeLLM, form: str, fault: Fault, error_class: type, kind: str, status: Any, retried: bool
) -> None:
    fake.enqueue(fault, fault, fault)
    with pytest.raises(error_class) as caught:
        invoke(bedrock, form, max_retries=2)
    error = caught.value
    assert type(error) is error_class
    assert (error.provider, error.model, error.kind, error.retryable, error.status_code) == (
        "bedrock",
        MODEL,
        kind,
        retried,
        status,
    )
    assert type(error.__cause__).__module__.startswith(("botocore", "urllib3"))
    assert len(fake.requests) == (3 if retried else 1)  # botocore's own retries are off
    assert sample(bedrock, "models_requests_total", status=kind, **LABELS) == 1
    assert sample(bedrock, "models_retries_total", reason=kind, **LABELS) == (2 if retried else None)
    assert sample(bedrock, "models_in_flight_requests", **LABELS) == 0
    if status is not None:
        assert error.request_id is not None and error.request_id.startswith("req_")


def test_botocores_retries_stay_off_whatever_the_environment_asks(
    bedrock: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")
    monkeypatch.setenv("AWS_RETRY_MODE", "adaptive")
    bedrock.configure("bedrock", base_url=fake.url)  # new clients, reading the environment now
    fake.enqueue(Fault.server(), Fault.server(), Fault.server())
    with pytest.raises(ServerError):
        bedrock(MODEL, "hi", max_retries=1)
    assert len(fake.requests) == 2  # ours: one retry; botocore's: none


def test_an_endpoint_nobody_answers_is_a_connection_error_retried(bedrock: ModelsAPI) -> None:
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    bedrock.configure("bedrock", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderConnectionError, match="Could not connect to the endpoint URL") as caught:
        bedrock(MODEL, "hi", max_retries=1)
    assert type(caught.value.__cause__).__name__ == "EndpointConnectionError"
    assert sample(bedrock, "models_retries_total", reason="connection", **LABELS) == 1


def test_auth_errors_name_the_credentials_and_the_model_access(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(status=403, message="You don't have access to the model with the specified model ID."))
    with pytest.raises(AuthenticationError) as caught:
        bedrock(MODEL, "hi")
    assert caught.value.message == (
        "Bedrock refused the request (AccessDeniedException): You don't have access to the model with the specified "
        "model ID. Check the AWS credentials (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_BEARER_TOKEN_BEDROCK), the IAM "
        f"permissions and the model access of {NAME} in this region."
    )


@pytest.mark.parametrize(
    ("code", "error_class", "kind"),
    [
        ("ThrottlingException", RateLimitError, "rate_limit"),
        ("ModelStreamErrorException", ServerError, "server"),
        ("InternalServerException", ServerError, "server"),
        ("ServiceUnavailableException", ServerError, "server"),
        ("ValidationException", InvalidRequestError, "invalid_request"),
    ],
)
@pytest.mark.parametrize("form", ["stream", "astream"])
def test_in_stream_exception_events_after_the_first_piece(
    bedrock: ModelsAPI, fake: FakeLLM, form: str, code: str, error_class: type, kind: str
) -> None:
    fake.enqueue(Fault(stream_error=True, code=code, message="it broke"))
    got: list[str] = []

    async def read() -> None:
        async for piece in bedrock.astream(MODEL, "hi"):
            got.append(piece)

    with pytest.raises(error_class) as caught:
        if form == "stream":
            for piece in bedrock.stream(MODEL, "hi"):
                got.append(piece)
        else:
            asyncio.run(read())
    assert got == ["ech"]  # the first piece ("echo: hi" in three) reached the caller, so no retry
    assert caught.value.message == f"Bedrock error during the stream ({code}): it broke"
    assert (caught.value.status_code, caught.value.kind, len(fake.requests)) == (None, kind, 1)
    assert type(caught.value.__cause__).__name__ == "EventStreamError"
    assert sample(bedrock, "models_requests_total", status=kind, **LABELS) == 1


@pytest.mark.parametrize("form", ["stream", "astream"])
def test_a_stream_cut_before_its_end_is_a_connection_error(bedrock: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault(end_after_chunks=1), Fault(drop_after_chunks=1))
    for _ in range(2):
        with pytest.raises(ProviderConnectionError):
            invoke(bedrock, form, max_retries=0)
    assert len(fake.requests) == 2


def test_a_body_that_is_not_the_event_stream_is_a_bad_response(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(inject=b"\x00\x00\x00\x10garbage-bytes!!"), Fault(body=b"<html>proxy</html>"))
    with pytest.raises(ProviderError, match="botocore cannot read") as caught:
        "".join(bedrock.stream(MODEL, "hi", max_retries=0))
    assert caught.value.kind == "bad_response"
    with pytest.raises(ProviderError, match="without an output message") as caught:
        bedrock(MODEL, "hi", max_retries=0)
    assert caught.value.kind == "bad_response"


@pytest.mark.parametrize("form", FORMS)
def test_timeout_bounds_each_attempt(bedrock: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault(delay=3), Fault(delay=3))
    start = time.perf_counter()
    with pytest.raises(ProviderTimeoutError) as caught:
        invoke(bedrock, form, timeout=0.3, max_retries=1)
    assert time.perf_counter() - start < 2.5 and len(fake.requests) == 2  # two attempts of 0.3 s, not of 3 s
    assert isinstance(caught.value, TimeoutError) and caught.value.retryable
    assert sample(bedrock, "models_retries_total", reason="timeout", **LABELS) == 1


def test_one_client_per_timeout_value_built_once(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    bedrock(MODEL, "hi")
    provider: Any = bedrock._service.models.provider("bedrock")
    clients = provider.client()
    first = clients.get(600.0)
    bedrock(MODEL, "hi", timeout=30)
    bedrock(MODEL, "hi", timeout=30)
    bedrock(MODEL, "hi")
    assert clients.get(600.0) is first and list(clients._by_timeout) == [600.0, 30.0]
    assert clients.get(30.0).meta.config.read_timeout == 30 and first.meta.config.read_timeout == 600
    for timeout in range(1, 9):  # the eight latest are kept
        clients.get(float(timeout))
    assert list(clients._by_timeout) == [float(t) for t in range(1, 9)]


@pytest.mark.parametrize("how", ["close", "break", "async"])
def test_closing_a_stream_early_closes_its_response(bedrock: ModelsAPI, how: str) -> None:
    with FakeLLM() as own:  # a server of its own: no other test's connection comes or goes
        bedrock.configure("bedrock", base_url=own.url)
        own.set_reply(Reply(text=TEXT * 40, chunks=200, input_tokens=50))
        opened: list[int] = []
        if how == "async":

            async def first() -> Any:
                s = bedrock.astream(MODEL, "hi")
                async for _ in s:
                    opened.append(own.open_connections())
                    break
                await s.aclose()
                return s

            s: Any = asyncio.run(first())
        else:
            s = bedrock.stream(MODEL, "hi")
            with s:
                for _ in s:
                    opened.append(own.open_connections())
                    break
        deadline = time.monotonic() + 5
        while own.open_connections() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert opened == [1] and own.open_connections() == 0  # the response was closed, its connection with it
        assert s.response.usage.cost is None and s.response.usage.output_tokens == 0
        assert sample(bedrock, "models_requests_total", status="ok", **LABELS) == 1
        own.set_reply(Reply())
        assert bedrock(MODEL, "again").text == "echo: again"  # the provider's next call is unaffected


def test_a_whole_stream_gives_its_connection_back_for_reuse(bedrock: ModelsAPI) -> None:
    with FakeLLM() as own:
        bedrock.configure("bedrock", base_url=own.url)
        for _ in range(3):
            "".join(bedrock.stream(MODEL, "hi"))
            bedrock(MODEL, "hi")
        assert own.open_connections() == 1  # one kept-alive connection served all six


# -- configuration, checked before anything is sent --------------------------------------------


def test_missing_credentials_name_the_variables_before_sending(
    api: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    api.configure("bedrock", base_url=fake.url)
    with pytest.raises(MissingAPIKeyError) as caught:
        api(MODEL, "hi")
    assert str(caught.value) == (
        "No AWS credentials for provider 'bedrock': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE "
        "(a profile of ~/.aws/config), or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK."
    )
    assert fake.requests == []
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "bedrock-api-key-SECRET")  # a Bedrock API key is enough
    api.configure("bedrock", base_url=fake.url)
    provider: Any = api._service.models.provider("bedrock")
    assert provider.client().secrets() == ["bedrock-api-key-SECRET"]  # built; redacted from errors


def test_fallbacks_pass_over_bedrock_without_credentials(
    wired: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    r = wired(MODEL, "hi", fallbacks=["gpt-4o"])
    assert r.model == "openai/gpt-4o" and [a.error_kind for a in r.attempts] == ["not_configured"]
    assert [q.provider for q in fake.requests] == ["openai"]


def test_a_missing_region_names_aws_region_before_sending(
    api: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, AWS[name])
    api.configure("bedrock", base_url=fake.url)
    with pytest.raises(ConfigurationError, match="set AWS_REGION") as caught:
        api(MODEL, "hi")
    assert str(caught.value) == (
        "No AWS region for provider 'bedrock': set AWS_REGION (e.g. us-east-1), call "
        "models.configure('bedrock', region=...), or give your AWS profile a region."
    )
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")  # the older variable works too
    api.configure("bedrock", base_url=fake.url)
    api(MODEL, "hi")
    assert "/eu-west-3/bedrock/aws4_request" in fake.requests[-1].headers["authorization"]
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # and AWS_REGION comes first
    api.configure("bedrock", base_url=fake.url)
    api(MODEL, "hi")
    assert "/us-west-2/bedrock/aws4_request" in fake.requests[-1].headers["authorization"]
    assert len(fake.requests) == 2


def test_a_profile_of_the_config_files_gives_credentials_and_region(
    api: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    (tmp_path / "aws-config").write_text("[profile work]\nregion = ap-northeast-1\n")
    (tmp_path / "aws-credentials").write_text(
        f"[work]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = {AWS['AWS_SECRET_ACCESS_KEY']}\n"
    )
    monkeypatch.setenv("AWS_PROFILE", "work")
    monkeypatch.setenv("BEDROCK_ENDPOINT_URL", fake.url)  # the endpoint from its variable
    api(MODEL, "hi")
    assert "Credential=AKIDPROFILE/" in fake.requests[-1].headers["authorization"]
    assert "/ap-northeast-1/bedrock/" in fake.requests[-1].headers["authorization"]
    monkeypatch.setenv("AWS_PROFILE", "nope")
    api.configure("bedrock")
    with pytest.raises(ConfigurationError, match="AWS_PROFILE names a profile that does not exist"):
        api(MODEL, "hi")
    assert len(fake.requests) == 1


def test_region_and_profile_chosen_in_code_come_first(
    api: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    (tmp_path / "aws-credentials").write_text(
        f"[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = {AWS['AWS_SECRET_ACCESS_KEY']}\n"
    )
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)  # the environment's key and region, which the options override
    api.configure("bedrock", base_url=fake.url, region="eu-central-1", profile="work")
    api(MODEL, "hi")
    assert "Credential=AKIDWORK/" in fake.requests[-1].headers["authorization"]
    assert "/eu-central-1/bedrock/aws4_request" in fake.requests[-1].headers["authorization"]
    api.configure("bedrock", profile="gone")
    with pytest.raises(ConfigurationError, match=r"configure\('bedrock', profile=\.\.\.\) names a profile that"):
        api(MODEL, "hi")
    with pytest.raises(
        TypeError, match="configure\\('bedrock'\\) got unknown option\\(s\\) regoin; bedrock takes only"
    ):
        api.configure("bedrock", regoin="us-east-1")
    assert len(fake.requests) == 1


def test_an_api_key_is_refused_naming_what_bedrock_takes(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    bedrock.configure("bedrock", api_key="sk-nope", base_url=fake.url)
    with pytest.raises(ConfigurationError, match="Bedrock takes no api_key"):
        bedrock(MODEL, "hi")
    assert fake.requests == []


def test_without_boto3_the_error_names_the_extra(fake: FakeLLM) -> None:
    code = f"""
import os, sys
sys.modules["boto3"] = None  # as if it were not installed
os.environ.update(AWS_ACCESS_KEY_ID="a", AWS_SECRET_ACCESS_KEY="b", AWS_REGION="us-east-1",
                  BEDROCK_ENDPOINT_URL={fake.url!r}, AWS_EC2_METADATA_DISABLED="true")
from models import models, ConfigurationError
try:
    models({MODEL!r}, "hi")
except ConfigurationError as exc:
    print(exc)
print("boto3" in sys.modules and sys.modules["boto3"] is not None)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.splitlines() == [
        "The 'boto3' package is needed for this provider: pip install 'models[bedrock]'",
        "False",
    ]
    assert fake.requests == []


def test_import_models_loads_no_boto3() -> None:
    loaded = "sorted(m for m in sys.modules if m.startswith(('boto', 'models.providers._bedrock')))"
    code = f"import sys, models; models.models; print({loaded})"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


# -- secrets -----------------------------------------------------------------------------------


def _printed(err: BaseException) -> str:
    out = io.StringIO()
    logger = logging.getLogger("tests.bedrock")
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        logger.error("the call failed", exc_info=err)
    finally:
        logger.removeHandler(handler)
    return "".join(
        [
            f"{err} {err!r} {err.__cause__} {err.__cause__!r}",
            "".join(traceback.format_exception(err)),
            out.getvalue(),
            "".join(traceback.TracebackException.from_exception(err, capture_locals=True).format()),
        ]
    )


@pytest.mark.parametrize(
    ("form", "fault"),
    [
        ("call", Fault(status=400, echo_key=True)),
        ("acall", replace(Fault.auth(), echo_key=True)),
        ("stream", Fault(stream_error=True, echo_key=True)),
        ("astream", Fault(stream_error=True, echo_key=True)),
        ("call", Fault(reset=True)),
    ],
)
def test_the_aws_secrets_are_nowhere_in_the_error(bedrock: ModelsAPI, fake: FakeLLM, form: str, fault: Fault) -> None:
    fake.enqueue(fault)
    try:
        invoke(bedrock, form, max_retries=0)
    except ProviderError as exc:
        err: BaseException = exc
    else:
        raise AssertionError("the call did not fail")
    assert fake.requests[-1].headers["x-amz-security-token"] == AWS["AWS_SESSION_TOKEN"]  # it went on the wire
    if fault.echo_key:  # the fake sent it back; the cause says what it said, the token masked
        assert "Key sent: AWS4-HMAC-SHA256 Credential=" in str(err) and "***" in str(err.__cause__)
    printed = _printed(err)
    assert err.__cause__ is not None and type(err.__cause__).__name__ in printed
    for secret in (AWS["AWS_SECRET_ACCESS_KEY"], AWS["AWS_SESSION_TOKEN"], "SECRET", "SESSION"):
        assert secret not in printed
    assert AWS["AWS_SECRET_ACCESS_KEY"] not in repr(bedrock._service.models.provider("bedrock").client())
    assert not any(key in printed for key in KEYS.values())
