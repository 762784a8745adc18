"""Embeddings on `bedrock` (SPEC §12): Titan Text Embeddings V2 and Cohere Embed v3 through boto3's `invoke_model`
against the wire fake's `/model/{id}/invoke`, with exact vectors, tokens, cost and metrics, batching (one text per
Titan request, 96 per Cohere request), retries, errors, and bad input refused before sending. The last tests prove
the fake's InvokeModel answers against boto3 itself."""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from models import ModelsAPI, ModelsWarning
from models.errors import BadResponseError, InvalidRequestError, RateLimitError, UnsupportedCapabilityError

from .conftest import AWS, sample
from .fake_embeddings import fake_tokens, fake_vector
from .fake_llm import FakeLLM, Fault, Reply

TITAN = "bedrock/amazon.titan-embed-text-v2:0"
COHERE = "bedrock/cohere.embed-english-v3"
TITAN_PATH = "/model/amazon.titan-embed-text-v2%3A0/invoke"
COHERE_PATH = "/model/cohere.embed-english-v3/invoke"
TEXTS = ["the first text", "second", "a third one here", "four", "and the fifth text"]


def labels(model: str) -> dict[str, str]:
    return {"provider": "bedrock", "model": model}


def many(n: int) -> list[str]:
    return [f"text number {i}" for i in range(n)]


def titan_cost(tokens: int) -> float:
    """Titan Text Embeddings V2: $0.02 per 1M input tokens (our row, as genai-prices' "aws" row)."""
    return float(Decimal(tokens) * Decimal("0.02") / 10**6)


def check_titan(bedrock: ModelsAPI, fake: FakeLLM, result: Any, texts: list[str], dimensions: int = 1024) -> None:
    tokens = sum(fake_tokens(t) for t in texts)
    assert result.vectors == [fake_vector(t, dimensions) for t in texts]
    assert (result.model, result.provider, result.dimensions, len(result)) == (TITAN, "bedrock", dimensions, len(texts))
    assert (result.usage.input_tokens, result.usage.output_tokens) == (tokens, 0)
    assert result.usage.cost == titan_cost(tokens)
    assert result.usage.price_source == "default"


# --- Titan: one text per request ------------------------------------------------------------------


def test_titan_sends_one_text_per_request_in_order(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    e = bedrock.embed(TITAN, TEXTS)
    check_titan(bedrock, fake, e, TEXTS)
    assert e.usage.input_tokens == 13
    assert e.usage.cost == 2.6e-07  # 13 tokens at $0.02 per 1M
    assert [r.path for r in fake.requests] == [TITAN_PATH] * 5
    assert [r.body for r in fake.requests] == [{"inputText": t, "normalize": True} for t in TEXTS]
    assert all(r.headers["content-type"] == "application/json" for r in fake.requests)
    assert all(r.headers["accept"] == "application/json" for r in fake.requests)
    assert (
        fake.requests[0].headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={AWS['AWS_ACCESS_KEY_ID']}/")
    )
    assert len(e.raw) == 5
    assert e.raw[1]["inputTextTokenCount"] == 1
    assert sample(bedrock, "models_requests_total", status="ok", **labels(TITAN)) == 1
    assert sample(bedrock, "models_tokens_total", type="input", **labels(TITAN)) == 13
    assert sample(bedrock, "models_cost_usd_total", **labels(TITAN)) == 2.6e-07
    assert bedrock.usage()[TITAN].requests == 1


def test_titan_aembed_and_binding_give_the_same_result(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    binding = bedrock.bind(TITAN)
    results = [asyncio.run(bedrock.aembed(TITAN, TEXTS)), binding.embed(TEXTS), asyncio.run(binding.aembed(TEXTS))]
    for e in results:
        check_titan(bedrock, fake, e, TEXTS)
    assert len(fake.requests) == 15
    assert sorted(r.body["inputText"] for r in fake.requests) == sorted(TEXTS * 3)
    assert sample(bedrock, "models_requests_total", status="ok", **labels(TITAN)) == 3
    assert sample(bedrock, "models_tokens_total", type="input", **labels(TITAN)) == 39


def test_titan_dimensions_and_normalize_go_on_the_wire(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    e = bedrock.embed(TITAN, TEXTS[:2], dimensions=256, normalize=False)
    check_titan(bedrock, fake, e, TEXTS[:2], dimensions=256)
    assert [r.body for r in fake.requests] == [
        {"inputText": t, "normalize": False, "dimensions": 256} for t in TEXTS[:2]
    ]


def test_titan_prices_at_genai_prices_aws_row(bedrock: ModelsAPI) -> None:
    assert bedrock.cost(TITAN, 1_000_000) == 0.02


# --- Cohere: 96 texts per request -----------------------------------------------------------------


def test_cohere_sends_200_texts_in_96_96_8_with_the_header_tokens(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    texts = many(200)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = bedrock.embed(COHERE, texts)
    assert e.vectors == [fake_vector(t, 1024) for t in texts]
    assert [len(r.body["texts"]) for r in fake.requests] == [96, 96, 8]
    assert [t for r in fake.requests for t in r.body["texts"]] == texts
    assert [r.path for r in fake.requests] == [COHERE_PATH] * 3
    assert all(r.body["input_type"] == "search_document" for r in fake.requests)
    assert e.usage.input_tokens == 600  # the X-Amzn-Bedrock-Input-Token-Count headers, summed
    assert e.usage.cost is None  # no price known for Cohere on Bedrock: unpriced, never 0
    (warning,) = [w for w in caught if issubclass(w.category, ModelsWarning)]
    assert str(warning.message).startswith(f"{COHERE} has no price, so usage.cost is None.")
    assert e.raw[2]["response_type"] == "embeddings_floats"
    assert sample(bedrock, "models_requests_total", status="ok", **labels(COHERE)) == 1
    assert sample(bedrock, "models_tokens_total", type="input", **labels(COHERE)) == 600
    assert sample(bedrock, "models_unpriced_requests_total", **labels(COHERE)) == 1


def test_cohere_aembed_reassembles_in_order(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    texts = many(200)
    e = asyncio.run(bedrock.aembed(COHERE, texts, input_type="search_query", truncate="END"))
    assert e.vectors == [fake_vector(t, 1024) for t in texts]
    assert sorted(len(r.body["texts"]) for r in fake.requests) == [8, 96, 96]
    assert all((r.body["input_type"], r.body["truncate"]) == ("search_query", "END") for r in fake.requests)
    assert e.usage.input_tokens == 600


def test_cohere_without_the_token_header_has_an_unknown_cost(
    bedrock: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Priced by an override, a batch answered without the header still makes the cost None (unknown), never 0."""
    monkeypatch.setenv("MODELS_COST_BEDROCK_COHERE_EMBED_ENGLISH_V3_INPUT", "0.10")
    monkeypatch.setenv("MODELS_COST_BEDROCK_COHERE_EMBED_ENGLISH_V3_OUTPUT", "0")
    bedrock.reload_costs()
    assert bedrock.cost(COHERE, 1_000_000) == 0.1
    fake.enqueue(Reply(), Reply(raw_usage={}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = bedrock.embed(COHERE, many(100))
    assert e.vectors == [fake_vector(t, 1024) for t in many(100)]
    assert e.usage.input_tokens == 288  # the first batch's header; the second sent none
    assert e.usage.cost is None
    assert sample(bedrock, "models_unpriced_requests_total", **labels(COHERE)) == 1


# --- retries and failures -------------------------------------------------------------------------


def test_a_429_on_one_titan_request_is_retried_once(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(), Fault.rate_limit())
    e = bedrock.embed(TITAN, TEXTS)
    check_titan(bedrock, fake, e, TEXTS)
    assert [r.body["inputText"] for r in fake.requests] == [TEXTS[0], TEXTS[1], TEXTS[1], *TEXTS[2:]]
    assert sample(bedrock, "models_retries_total", reason="rate_limit", **labels(TITAN)) == 1
    assert sample(bedrock, "models_tokens_total", type="input", **labels(TITAN)) == 13  # the retry counted once


def test_aembed_retries_a_429(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit())
    e = asyncio.run(bedrock.aembed(TITAN, TEXTS))
    check_titan(bedrock, fake, e, TEXTS)
    assert len(fake.requests) == 6
    assert sample(bedrock, "models_retries_total", reason="rate_limit", **labels(TITAN)) == 1


def test_a_400_on_the_second_cohere_batch_fails_the_call(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(), Fault(status=400, message="Malformed input request: bad"))
    with pytest.raises(InvalidRequestError) as caught:
        bedrock.embed(COHERE, many(150))
    error = caught.value
    assert type(error) is InvalidRequestError
    assert (error.provider, error.model, error.status_code) == ("bedrock", COHERE, 400)
    assert "Bedrock error (ValidationException): Malformed input request: bad" in str(error)
    assert isinstance(error.__cause__, ClientError)
    assert len(fake.requests) == 2
    assert sample(bedrock, "models_requests_total", status="invalid_request", **labels(COHERE)) == 1
    assert sample(bedrock, "models_requests_total", status="ok", **labels(COHERE)) == 0
    assert sample(bedrock, "models_in_flight_requests", **labels(COHERE)) == 0


def test_retries_run_out_with_the_rate_limit_error(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit(), Fault.rate_limit())
    with pytest.raises(RateLimitError) as caught:
        bedrock.embed(TITAN, ["a"], max_retries=1)
    assert caught.value.status_code == 429
    assert len(fake.requests) == 2
    assert sample(bedrock, "models_requests_total", status="rate_limit", **labels(TITAN)) == 1


@pytest.mark.parametrize(
    ("model", "body", "says"),
    [
        (TITAN, b"<html>proxy</html>", "Bedrock answered an embedding request with a body that is not JSON."),
        (TITAN, b'{"inputTextTokenCount": 3}', "Bedrock answered 1 texts with an embedding that is not a list."),
        (COHERE, b'{"embeddings": [[0.5]]}', "Bedrock answered 2 texts with 1 embeddings."),
    ],
)
def test_an_answer_that_does_not_match_the_texts_is_a_bad_response(
    bedrock: ModelsAPI, fake: FakeLLM, model: str, body: bytes, says: str
) -> None:
    fake.enqueue(Fault(body=body))
    with pytest.raises(BadResponseError, match=says) as caught:
        bedrock.embed(model, ["a", "b"] if model == COHERE else ["a"], max_retries=0)
    assert (caught.value.provider, caught.value.model) == ("bedrock", model)
    assert sample(bedrock, "models_requests_total", status="bad_response", **labels(model)) == 1


# --- refused before sending -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "params", "error", "says"),
    [
        (TITAN, {"dimensions": 300}, InvalidRequestError, "256, 512 or 1024 dimensions, not 300"),
        (TITAN, {"dimensions": 2048}, InvalidRequestError, "at most 1024 dimensions; dimensions=2048"),
        (TITAN, {"input_type": "search_query"}, InvalidRequestError, "does not take input_type: it takes normalize"),
        (COHERE, {"normalize": True}, InvalidRequestError, "does not take normalize: it takes input_type and truncate"),
        (COHERE, {"dimensions": 512}, InvalidRequestError, "one size only (1024): drop dimensions=512"),
        (COHERE, {"input_typ": "x"}, InvalidRequestError, "'input_typ' (did you mean 'input_type'?)"),
        (
            "bedrock/amazon.titan-embed-image-v1",
            {},
            UnsupportedCapabilityError,
            "Bedrock embeddings here are Amazon Titan Text Embeddings V2",
        ),
    ],
)
def test_bad_input_is_refused_before_sending(
    bedrock: ModelsAPI, fake: FakeLLM, model: str, params: dict[str, Any], error: type, says: str
) -> None:
    with pytest.raises(error) as caught:
        bedrock.embed(model, ["a"], **params)
    assert says in str(caught.value)
    assert fake.requests == []


def test_an_empty_input_is_refused_before_sending(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(InvalidRequestError, match=r"inputs\[1\] is empty"):
        bedrock.embed(COHERE, ["a", " "])
    assert fake.requests == []


def test_the_catalog_lists_titan_and_chat_on_it_is_refused(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    found = {m.id: (m.dimensions, m.context_window) for m in bedrock.list(capability="embeddings", provider="bedrock")}
    assert found == {TITAN: (1024, 8192)}  # Cohere's has no known price, so no row: embedded as an unknown model
    with pytest.raises(UnsupportedCapabilityError) as caught:
        bedrock(TITAN, "hello")
    assert caught.value.model == TITAN
    assert fake.requests == []


# --- the fake's InvokeModel against boto3 itself --------------------------------------------------


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[Any]:
    session = boto3.session.Session(
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )
    config = Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=10)
    made = session.client("bedrock-runtime", endpoint_url=fake_server.url, config=config)
    yield made
    made.close()


def _invoke(client: Any, model: str, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    response = client.invoke_model(modelId=model, body=json.dumps(body), contentType="application/json")
    return json.loads(response["body"].read()), response["ResponseMetadata"]["HTTPHeaders"]


def test_fake_titan_and_cohere_answers_as_boto3_reads_them(fake: FakeLLM, client: Any) -> None:
    answer, headers = _invoke(client, "amazon.titan-embed-text-v2:0", {"inputText": "two words", "dimensions": 512})
    assert answer["embedding"] == fake_vector("two words", 512)
    assert answer["inputTextTokenCount"] == 2
    assert headers["x-amzn-bedrock-input-token-count"] == "2"
    answer, headers = _invoke(client, "cohere.embed-english-v3", {"texts": ["a b", "c"], "input_type": "clustering"})
    assert answer["embeddings"] == [fake_vector("a b", 1024), fake_vector("c", 1024)]
    assert (answer["response_type"], answer["texts"]) == ("embeddings_floats", ["a b", "c"])
    assert headers["x-amzn-bedrock-input-token-count"] == "3"


@pytest.mark.parametrize(
    ("model", "body", "says"),
    [
        ("amazon.titan-embed-text-v2:0", {"inputText": ["a", "b"]}, "#/inputText: expected type: String"),
        ("amazon.titan-embed-text-v2:0", {"inputText": "a", "dimensions": 300}, "#/dimensions: 300"),
        ("cohere.embed-english-v3", {"texts": ["a"]}, "required key [input_type] not found"),
        (
            "cohere.embed-english-v3",
            {"texts": ["a"] * 97, "input_type": "search_query"},
            "expected maximum item count: 96, found: 97",
        ),
    ],
)
def test_fake_refuses_bad_bodies_with_a_validation_exception(
    fake: FakeLLM, client: Any, model: str, body: Any, says: str
) -> None:
    fake.enqueue(Reply())
    with pytest.raises(ClientError) as caught:
        _invoke(client, model, body)
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert says in error["Error"]["Message"]


def test_fake_faults_apply_to_invoke(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(Fault.rate_limit())
    with pytest.raises(ClientError) as caught:
        _invoke(client, "cohere.embed-english-v3", {"texts": ["a"], "input_type": "search_query"})
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
