"""Embeddings on `google` (SPEC §12): `models.embed`/`aembed`/`binding.embed` through the real google-genai SDK
against the wire fake's `batchEmbedContents`, with exact vectors, tokens, cost and metrics, batching, retries,
errors, and bad input refused before sending."""

from __future__ import annotations

import asyncio
import warnings
from decimal import Decimal

import pytest
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from models import Embeddings, ModelsAPI, ModelsWarning
from models.errors import (
    BadResponseError,
    InvalidRequestError,
    ProviderTimeoutError,
    RateLimitError,
    UnsupportedCapabilityError,
)

from .conftest import sample
from .fake_embeddings import fake_tokens, fake_vector
from .fake_llm import FakeLLM, Fault, Reply

MODEL = "google/gemini-embedding-001"
LABELS = {"provider": "google", "model": MODEL}
PATH = "/v1/models/gemini-embedding-001:batchEmbedContents"
TEXTS = ["the first text", "second", "a third one here"]


def cost(tokens: int, usd_per_million: str = "0.15") -> float:
    """The exact cost of `tokens` input tokens, as the library rounds it (once, from exact units)."""
    return float(Decimal(tokens) * Decimal(usd_per_million) / 10**6)


def texts_of(body: dict[str, object]) -> list[str]:
    """The texts of a batchEmbedContents body, in order; each must be a Content of one text part."""
    requests = body["requests"]
    assert isinstance(requests, list)
    texts = []
    for request in requests:
        assert request["model"] == f"models/{request['model'].removeprefix('models/')}"
        (part,) = request["content"]["parts"]
        texts.append(part["text"])
    return texts


def many(n: int) -> list[str]:
    return [f"text number {i}" for i in range(n)]


def check(e: Embeddings, texts: list[str], model: str = MODEL, dimensions: int = 8, usd: str = "0.15") -> None:
    tokens = sum(fake_tokens(t) for t in texts)
    assert e.vectors == [fake_vector(t, dimensions) for t in texts]
    assert (e.model, e.provider, e.dimensions, len(e)) == (model, "google", dimensions, len(texts))
    assert (e.usage.input_tokens, e.usage.output_tokens) == (tokens, 0)
    assert e.usage.cost == cost(tokens, usd)
    assert e.usage.price_source == "default"


# --- the three call forms -------------------------------------------------------------------------


def test_embed_sends_one_content_per_text_and_prices_the_reported_tokens(wired: ModelsAPI, fake: FakeLLM) -> None:
    e = wired.embed("gemini-embedding-001", TEXTS)
    check(e, TEXTS)
    assert e.usage.input_tokens == 8
    assert e.usage.cost == 1.2e-06  # 8 tokens at $0.15 per 1M
    (req,) = fake.requests
    assert (req.provider, req.method, req.path, req.model) == ("google", "POST", PATH, "gemini-embedding-001")
    assert req.headers["x-goog-api-key"] == "AIzaTEST-GOOGLE-SECRET-0123456789abcdef"
    assert req.body == {
        "requests": [{"content": {"parts": [{"text": t}]}, "model": "models/gemini-embedding-001"} for t in TEXTS]
    }
    (raw,) = e.raw
    assert isinstance(raw, genai_types.EmbedContentResponse)
    assert raw.usage_metadata.prompt_token_count == 8  # type: ignore[union-attr]
    assert e.vectors[0] is raw.embeddings[0].values  # type: ignore[index]  # the SDK's list, not a copy


def test_aembed_and_binding_embed_give_the_same_result(wired: ModelsAPI, fake: FakeLLM) -> None:
    binding = wired.bind("gemini-embedding-001")
    results = [
        asyncio.run(wired.aembed("gemini-embedding-001", TEXTS)),
        binding.embed(TEXTS),
        asyncio.run(binding.aembed(TEXTS)),
    ]
    for e in results:
        check(e, TEXTS)
    assert [r.path for r in fake.requests] == [PATH] * 3
    assert all(texts_of(r.body) == TEXTS for r in fake.requests)
    assert sample(wired, "models_requests_total", status="ok", **LABELS) == 3
    assert sample(wired, "models_tokens_total", type="input", **LABELS) == 24


def test_a_lone_string_is_one_input(wired: ModelsAPI, fake: FakeLLM) -> None:
    e = wired.embed("gemini-embedding-001", "just one")
    check(e, ["just one"])
    assert texts_of(fake.requests[0].body) == ["just one"]


def test_gemini_embedding_2_gets_one_vector_per_text(wired: ModelsAPI, fake: FakeLLM) -> None:
    """Given strings, the SDK would make gemini-embedding-2's texts one Content of several parts, which the API
    (and the fake) embeds as one vector: each text goes as a Content of its own."""
    e = wired.embed("gemini-embedding-2", TEXTS)
    check(e, TEXTS, model="google/gemini-embedding-2", usd="0.20")
    assert e.usage.cost == 1.6e-06  # 8 tokens at $0.20 per 1M
    assert texts_of(fake.requests[0].body) == TEXTS
    assert fake.requests[0].path == "/v1/models/gemini-embedding-2:batchEmbedContents"


# --- batching ------------------------------------------------------------------------------------


def test_250_inputs_go_in_three_batches_in_order(wired: ModelsAPI, fake: FakeLLM) -> None:
    texts = many(250)
    e = wired.embed("gemini-embedding-001", texts)
    check(e, texts)
    assert [len(texts_of(r.body)) for r in fake.requests] == [100, 100, 50]
    assert [t for r in fake.requests for t in texts_of(r.body)] == texts
    assert e.usage.input_tokens == 750
    assert len(e.raw) == 3
    assert sample(wired, "models_requests_total", status="ok", **LABELS) == 1  # one call, however many batches
    assert sample(wired, "models_tokens_total", type="input", **LABELS) == 750
    assert sample(wired, "models_cost_usd_total", **LABELS) == cost(750)
    assert wired.usage()[MODEL].requests == 1


def test_aembed_250_inputs_concurrently_reassembled_in_order(wired: ModelsAPI, fake: FakeLLM) -> None:
    texts = many(250)
    e = asyncio.run(wired.aembed("gemini-embedding-001", texts))
    check(e, texts)
    batches = sorted((texts_of(r.body) for r in fake.requests), key=lambda b: texts.index(b[0]))
    assert [len(b) for b in batches] == [100, 100, 50]
    assert [t for b in batches for t in b] == texts
    assert sample(wired, "models_requests_total", status="ok", **LABELS) == 1
    assert sample(wired, "models_cost_usd_total", **LABELS) == cost(750)


# --- parameters on the wire ----------------------------------------------------------------------


def test_dimensions_task_type_and_title_reach_every_request(wired: ModelsAPI, fake: FakeLLM) -> None:
    e = wired.embed("gemini-embedding-001", many(150), dimensions=16, task_type="RETRIEVAL_DOCUMENT", title="Doc")
    check(e, many(150), dimensions=16)
    assert len(fake.requests) == 2
    for req in fake.requests:
        for request in req.body["requests"]:
            extra = {k: v for k, v in request.items() if k not in ("content", "model")}
            assert extra == {"outputDimensionality": 16, "taskType": "RETRIEVAL_DOCUMENT", "title": "Doc"}


def test_config_as_a_dict_or_the_sdks_object_and_keywords_over_it(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired.embed("gemini-embedding-001", ["a"], config={"task_type": "CLUSTERING", "title": "T"})
    wired.embed("gemini-embedding-001", ["a"], config=genai_types.EmbedContentConfig(task_type="CLASSIFICATION"))
    wired.embed("gemini-embedding-001", ["a"], config={"taskType": "CLUSTERING"}, task_type="SEMANTIC_SIMILARITY")
    sent = [{k: v for k, v in r.body["requests"][0].items() if k not in ("content", "model")} for r in fake.requests]
    assert sent == [
        {"taskType": "CLUSTERING", "title": "T"},
        {"taskType": "CLASSIFICATION"},
        {"taskType": "SEMANTIC_SIMILARITY"},
    ]


def test_a_task_type_the_api_refuses_fails_with_its_message(wired: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        wired.embed("gemini-embedding-001", ["a"], task_type="retrieval_document")
    error = caught.value
    assert (error.provider, error.model, error.status_code) == ("google", MODEL, 400)
    assert "Invalid value at 'requests[0].task_type'" in str(error)
    assert '"retrieval_document"' in str(error)
    assert isinstance(error.__cause__, genai_errors.ClientError)
    assert len(fake.requests) == 1  # a 400 is not retried
    assert sample(wired, "models_requests_total", status="invalid_request", **LABELS) == 1


# --- retries and failures ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [(Fault.rate_limit(), "rate_limit"), (Fault.server(), "server"), (Fault(reset=True), "connection")],
)
def test_a_retryable_failure_of_the_second_batch_is_retried(
    wired: ModelsAPI, fake: FakeLLM, fault: Fault, reason: str
) -> None:
    texts = many(150)
    fake.enqueue(Reply(), fault)
    e = wired.embed("gemini-embedding-001", texts)
    check(e, texts)
    assert [len(texts_of(r.body)) for r in fake.requests] == [100, 50, 50]  # the second batch, then its retry
    assert texts_of(fake.requests[1].body) == texts_of(fake.requests[2].body) == texts[100:]
    assert sample(wired, "models_retries_total", reason=reason, **LABELS) == 1
    assert sample(wired, "models_requests_total", status="ok", **LABELS) == 1
    assert sample(wired, "models_tokens_total", type="input", **LABELS) == 450  # the retried batch counted once


def test_aembed_retries_a_429(wired: ModelsAPI, fake: FakeLLM) -> None:
    texts = many(150)
    fake.enqueue(Fault.rate_limit())  # whichever batch arrives first
    e = asyncio.run(wired.aembed("gemini-embedding-001", texts))
    check(e, texts)
    counts = sorted(len(texts_of(r.body)) for r in fake.requests)
    assert counts in ([50, 50, 100], [50, 100, 100])  # the batches, and a retry of the one that met the 429
    assert len(fake.requests) == 3
    assert sample(wired, "models_retries_total", reason="rate_limit", **LABELS) == 1


def test_a_400_on_the_second_batch_fails_the_call(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(), Fault(status=400, message="* BatchEmbedContentsRequest.requests[3].content: bad"))
    with pytest.raises(InvalidRequestError) as caught:
        wired.embed("gemini-embedding-001", many(150))
    error = caught.value
    assert type(error) is InvalidRequestError
    assert "requests[3].content: bad" in str(error)
    assert isinstance(error.__cause__, genai_errors.ClientError)
    assert len(fake.requests) == 2
    assert sample(wired, "models_requests_total", status="invalid_request", **LABELS) == 1
    assert sample(wired, "models_requests_total", status="ok", **LABELS) == 0
    assert sample(wired, "models_tokens_total", type="input", **LABELS) == 0  # a failed call spends nothing here
    assert sample(wired, "models_in_flight_requests", **LABELS) == 0


def test_retries_run_out_with_the_rate_limit_error(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit(), Fault.rate_limit())
    with pytest.raises(RateLimitError):
        wired.embed("gemini-embedding-001", ["a"], max_retries=1)
    assert len(fake.requests) == 2
    assert sample(wired, "models_requests_total", status="rate_limit", **LABELS) == 1


def test_the_timeout_bounds_each_batch(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(delay=2.0))
    with pytest.raises(ProviderTimeoutError):
        wired.embed("gemini-embedding-001", ["a"], timeout=0.2, max_retries=0)
    assert len(fake.requests) == 1


def test_an_answer_without_usage_has_an_unknown_cost_and_says_so(wired: ModelsAPI, fake: FakeLLM) -> None:
    """The API reported no usage before 2026 (and may not for every model): the cost is None, never a guess."""
    texts = many(150)
    fake.enqueue(Reply(), Reply(raw_usage={}))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        e = wired.embed("gemini-embedding-001", texts)
    assert e.vectors == [fake_vector(t) for t in texts]
    assert e.usage.cost is None
    assert e.usage.input_tokens == 300  # the first batch's reported tokens
    (warning,) = [w for w in caught if issubclass(w.category, ModelsWarning)]  # not a ResourceWarning of a GC
    assert str(warning.message) == (
        f"{MODEL} answered without reporting its usage, so usage.cost is None and the call counts as unpriced."
    )
    assert sample(wired, "models_unpriced_requests_total", **LABELS) == 1
    assert sample(wired, "models_cost_usd_total", **LABELS) == 0


# --- refused before sending ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "params", "error", "says"),
    [
        ([], {}, InvalidRequestError, "inputs is empty"),
        (["a", ""], {}, InvalidRequestError, "inputs[1] is empty"),
        (["a", "  "], {}, InvalidRequestError, "inputs[1] is empty"),
        (["a", 3], {}, TypeError, "inputs[1] is a int"),
        (["a"], {"dimensions": 3073}, InvalidRequestError, "at most 3072 dimensions; dimensions=3073"),
        (["a"], {"dimensions": 0}, InvalidRequestError, "dimensions must be a positive int"),
        (
            ["a"],
            {"task_typ": "CLUSTERING"},
            InvalidRequestError,
            "'task_typ' (did you mean 'task_type' or 'taskType'?)",
        ),
        (["a"], {"output_dimensionality": 8}, InvalidRequestError, "'output_dimensionality'"),
        (["a"], {"mime_type": "text/plain"}, InvalidRequestError, "'mime_type'"),
        (["a"], {"config": {"tite": "T"}}, InvalidRequestError, "config field 'tite' (did you mean 'title'?)"),
        (["a"], {"config": {"auto_truncate": True}}, InvalidRequestError, "config field 'auto_truncate'"),
        (
            ["a"],
            {"config": genai_types.EmbedContentConfig(output_dimensionality=9000)},
            InvalidRequestError,
            "config sets output_dimensionality, which the Gemini Developer API does not take",
        ),
    ],
)
def test_bad_input_is_refused_before_sending(
    wired: ModelsAPI, fake: FakeLLM, inputs: list[object], params: dict[str, object], error: type, says: str
) -> None:
    with pytest.raises(error) as caught:
        wired.embed("gemini-embedding-001", inputs, **params)
    assert says in str(caught.value)
    assert fake.requests == []


def test_a_config_of_another_type_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(TypeError, match="config must be a dict of EmbedContentConfig fields or an EmbedContentConfig"):
        wired.embed("gemini-embedding-001", ["a"], config="RETRIEVAL_QUERY")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b'{"embeddings": [{"values": [0.5]}]}', "Gemini answered 3 texts with 1 embeddings."),
        (b'{"embeddings": [{"values": [0.5]}, {}, {"values": [0.5]}]}', "with an embedding without values"),
    ],
)
def test_an_answer_that_does_not_match_the_texts_is_a_bad_response(
    wired: ModelsAPI, fake: FakeLLM, body: bytes, says: str
) -> None:
    fake.enqueue(Fault(body=body))
    with pytest.raises(BadResponseError, match=says) as caught:
        wired.embed("gemini-embedding-001", TEXTS, max_retries=0)
    assert (caught.value.provider, caught.value.model) == ("google", MODEL)
    assert sample(wired, "models_requests_total", status=caught.value.kind, **LABELS) == 1


def test_embed_on_a_chat_model_and_chat_on_an_embedding_model_are_refused(wired: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(UnsupportedCapabilityError) as on_chat:
        wired.embed("gemini-2.5-flash", ["a"])
    assert "embeddings" in str(on_chat.value)
    with pytest.raises(UnsupportedCapabilityError) as on_embedding:
        wired("gemini-embedding-001", "hello")
    assert on_embedding.value.model == MODEL
    assert fake.requests == []


def test_the_catalog_lists_both_gemini_embedding_models(api: ModelsAPI) -> None:
    found = {m.id: m for m in api.list(capability="embeddings", provider="google")}
    assert sorted(found) == ["google/gemini-embedding-001", "google/gemini-embedding-2"]
    sizes = {name: (info.dimensions, info.context_window) for name, info in found.items()}
    assert sizes == {"google/gemini-embedding-001": (3072, 2048), "google/gemini-embedding-2": (3072, 8192)}
