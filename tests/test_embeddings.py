"""Embeddings (SPEC §12) through the real openai SDK over the wire fake, and on `mock`: vectors exact
from either encoding, batches and their order, concurrency, retries and failures per batch, bad input
refused before sending, and the same prices, metrics, usage totals, `track()`, hooks, budgets and rate
limits as a call. The OpenAI-compatible presets and Azure inherit OpenAI's embed: one test each."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import openai
import pytest

from models import (
    AuthenticationError,
    BudgetExceededError,
    InvalidRequestError,
    ModelsAPI,
    RateLimitError,
    ServerError,
    UnsupportedCapabilityError,
)
from models.errors import BadResponseError

from .conftest import KEYS, sample
from .fake_embeddings import fake_tokens, fake_vector
from .fake_llm import FakeLLM, Fault, Reply

EMBED = "text-embedding-3-small"
ID = "openai/text-embedding-3-small"
LABELS = {"provider": "openai", "model": ID}
WORDS = [f"w{i}" for i in range(5000)]  # one token each on the fake: 5,000 tokens, three batches


def cost(tokens: int) -> float:
    """What `tokens` input tokens of text-embedding-3-small cost: $0.02 per 1M, exactly."""
    return float(Decimal(tokens) * Decimal("0.02") / 10**6)


def embed(api: ModelsAPI, inputs: str | Sequence[str], asynchronous: bool, **kwargs: Any) -> Any:
    """`api.embed` or `api.aembed` (in a fresh event loop) of `inputs` with text-embedding-3-small."""
    if asynchronous:
        return asyncio.run(api.aembed(EMBED, inputs, **kwargs))
    return api.embed(EMBED, inputs, **kwargs)


def metric(api: ModelsAPI, name: str, **labels: str) -> float | None:
    return sample(api, name, **LABELS, **labels)


FORMS = pytest.mark.parametrize("asynchronous", [False, True], ids=["embed", "aembed"])


# --- vectors, usage, cost ----------------------------------------------------------------------------


@FORMS
def test_each_input_gets_its_vector_in_order_with_exact_usage_and_cost(
    wired: ModelsAPI, fake: FakeLLM, asynchronous: bool
) -> None:
    texts = ["first text", "the second text", "third"]
    e = embed(wired, texts, asynchronous)
    assert e.vectors == [fake_vector(t) for t in texts]
    assert (e.model, e.provider, len(e), e.dimensions) == (ID, "openai", 3, 8)
    assert list(e) == e.vectors and e[1] == fake_vector("the second text")
    assert (e.usage.input_tokens, e.usage.output_tokens, e.usage.total_tokens) == (6, 0, 6)
    assert (e.usage.cost, e.usage.price_source) == (cost(6), "default") == (0.00000012, "default")
    assert e.latency > 0
    assert repr(e) == "Embeddings('openai/text-embedding-3-small', 3 vectors of 8, 6 tokens, cost=$0.00000012)"
    [request] = fake.requests
    assert (request.path, request.headers["authorization"]) == ("/v1/embeddings", f"Bearer {KEYS['openai']}")
    assert request.body == {"model": EMBED, "input": texts, "encoding_format": "base64"}


def test_raw_is_the_sdks_response_per_batch(wired: ModelsAPI, fake: FakeLLM) -> None:
    e = wired.embed(EMBED, WORDS)
    assert [type(raw) for raw in e.raw] == [openai.types.CreateEmbeddingResponse] * 3
    assert [raw.usage.prompt_tokens for raw in e.raw] == [2048, 2048, 904]
    assert [len(raw.data) for raw in e.raw] == [2048, 2048, 904]
    assert e.raw[2].data[903].embedding == fake_vector("w4999")  # decoded, as the SDK itself returns it
    assert (e.raw[0].object, e.raw[0].model, e.raw[0].data[5].index) == ("list", EMBED, 5)
    assert e.raw[0] is e.raw[0]  # built once


@pytest.mark.parametrize("encoding", ["base64", "float"])
def test_both_encodings_decode_to_the_exact_vectors(wired: ModelsAPI, fake: FakeLLM, encoding: str) -> None:
    texts = ["alpha beta", "gamma", "δέλτα ✓"]
    e = wired.embed(EMBED, texts, encoding_format=encoding, dimensions=64)
    assert e.vectors == [fake_vector(t, 64) for t in texts]
    assert all(type(x) is float for v in e.vectors for x in v)
    assert fake.requests[0].body == {"model": EMBED, "input": texts, "encoding_format": encoding, "dimensions": 64}


def test_a_binding_embeds_with_its_bound_dimensions_and_call_time_ones_win(wired: ModelsAPI, fake: FakeLLM) -> None:
    bound = wired.bind(EMBED, dimensions=16)
    e = bound.embed(["a b", "c"])
    assert e.vectors == [fake_vector("a b", 16), fake_vector("c", 16)] and e.dimensions == 16
    assert (e.usage.input_tokens, e.usage.cost) == (3, cost(3))
    a = asyncio.run(bound.aembed(["x y z"], dimensions=4))
    assert a.vectors == [fake_vector("x y z", 4)] and (a.usage.input_tokens, a.usage.cost) == (3, cost(3))
    assert [r.body.get("dimensions") for r in fake.requests] == [16, 4]
    assert metric(wired, "models_requests_total", status="ok") == 2


@FORMS
def test_a_lone_string_is_one_input(wired: ModelsAPI, fake: FakeLLM, asynchronous: bool) -> None:
    e = embed(wired, "one lone string", asynchronous)
    assert e.vectors == [fake_vector("one lone string")]
    assert fake.requests[0].body["input"] == ["one lone string"]


# --- batches -----------------------------------------------------------------------------------------


@FORMS
def test_5000_inputs_go_in_batches_of_2048_and_come_back_in_order(
    wired: ModelsAPI, fake: FakeLLM, asynchronous: bool
) -> None:
    e = embed(wired, WORDS, asynchronous)
    assert e.vectors == [fake_vector(t) for t in WORDS]
    sent = sorted((r.body["input"] for r in fake.requests), key=lambda batch: int(batch[0][1:]))
    assert sent == [WORDS[:2048], WORDS[2048:4096], WORDS[4096:]]
    if not asynchronous:  # one after another
        assert [r.body["input"] for r in fake.requests] == sent
    assert (e.usage.input_tokens, e.usage.cost) == (5000, cost(5000)) == (5000, 0.0001)
    assert len(e.raw) == 3
    # the call counts once, with the batches' tokens and cost summed
    assert metric(wired, "models_requests_total", status="ok") == 1
    assert metric(wired, "models_tokens_total", type="input") == 5000
    assert metric(wired, "models_tokens_total", type="output") == 0
    assert metric(wired, "models_cost_usd_total") == 0.0001
    assert metric(wired, "models_request_duration_seconds_count") == 1
    assert metric(wired, "models_in_flight_requests") == 0


def test_long_texts_are_split_by_the_token_limit(wired: ModelsAPI, fake: FakeLLM) -> None:
    # 99,998 UTF-8 bytes each: three fit in 300,000 (the most tokens a request may carry), a fourth does not
    texts = [f"t{i} " + "word " * 19_999 for i in range(8)]
    e = wired.embed(EMBED, texts)
    assert [r.body["input"] for r in fake.requests] == [texts[:3], texts[3:6], texts[6:]]
    assert e.vectors == [fake_vector(t) for t in texts]
    assert (e.usage.input_tokens, e.usage.cost) == (160_000, cost(160_000)) == (160_000, 0.0032)


def test_aembed_sends_at_most_four_batches_at_once_and_keeps_their_order(api: ModelsAPI) -> None:
    texts = [f"w{i}" for i in range(6 * 2048)]  # six batches
    with FakeLLM() as own:  # its own server: only this client's connections are open on it
        api.configure("openai", api_key=KEYS["openai"], base_url=own.openai_base_url)
        own.enqueue(*[Fault(delay=0.3)] * 6)  # every batch answers 0.3 s after it arrives

        async def run() -> tuple[Any, int, float]:
            start = time.perf_counter()
            e = await api.aembed(EMBED, texts)
            return e, own.open_connections(), time.perf_counter() - start

        e, connections, took = asyncio.run(run())
        assert len(own.requests) == 6
    assert e.vectors == [fake_vector(t) for t in texts]
    assert connections == 4  # four at once: a fifth batch waited for a connection to come free
    assert took >= 0.6  # two rounds of 0.3 s: six at once would take one


# --- retries and failures ----------------------------------------------------------------------------


@FORMS
def test_a_429_retries_that_batch_alone(wired: ModelsAPI, fake: FakeLLM, asynchronous: bool) -> None:
    fake.enqueue(Reply(), Fault.rate_limit())  # the second request to arrive gets the 429
    e = embed(wired, WORDS, asynchronous)
    assert e.vectors == [fake_vector(t) for t in WORDS]
    sent = Counter(r.body["input"][0] for r in fake.requests)  # each batch by its first input
    assert sorted(sent.values()) == [1, 1, 2] and set(sent) == {"w0", "w2048", "w4096"}
    if not asynchronous:  # the second batch, twice
        assert [r.body["input"] for r in fake.requests][1:3] == [WORDS[2048:4096]] * 2
    assert (e.usage.input_tokens, e.usage.cost) == (5000, 0.0001)  # the refused attempt bills nothing
    assert metric(wired, "models_retries_total", reason="rate_limit") == 1
    assert metric(wired, "models_requests_total", status="ok") == 1
    assert metric(wired, "models_requests_total", status="rate_limit") is None


def test_a_batch_failing_after_its_retries_fails_the_call_counted_once(wired: ModelsAPI, fake: FakeLLM) -> None:
    errors: list[Any] = []
    wired.on_error(errors.append)
    fake.enqueue(Reply(), Fault(status=500, message="batch broke"), Fault(status=500, message="batch broke"))
    with pytest.raises(ServerError, match="batch broke") as caught:
        wired.embed(EMBED, WORDS, max_retries=1)
    assert type(caught.value.__cause__) is openai.InternalServerError
    assert (caught.value.model, caught.value.status_code) == (ID, 500)
    assert [len(r.body["input"]) for r in fake.requests] == [2048, 2048, 2048]  # the third batch is never sent
    assert metric(wired, "models_retries_total", reason="server") == 1
    assert metric(wired, "models_requests_total", status="server") == 1
    assert metric(wired, "models_requests_total", status="ok") == 0
    assert metric(wired, "models_in_flight_requests") == 0
    assert [event.error_kind for event in errors] == ["server"]


@FORMS
def test_a_batch_that_fails_for_good_fails_the_call_counted_once(
    wired: ModelsAPI, fake: FakeLLM, asynchronous: bool
) -> None:
    errors: list[Any] = []
    wired.on_error(errors.append)
    fake.enqueue(Reply(), Fault(status=400, message="batch refused"))
    with wired.track() as tracked, pytest.raises(InvalidRequestError, match="batch refused") as caught:
        embed(wired, WORDS, asynchronous)
    assert type(caught.value.__cause__) is openai.BadRequestError
    assert (caught.value.model, caught.value.status_code) == (ID, 400)
    if not asynchronous:
        assert [len(r.body["input"]) for r in fake.requests] == [2048, 2048]  # the third is never sent
    assert metric(wired, "models_requests_total", status="invalid_request") == 1
    assert metric(wired, "models_requests_total", status="ok") == 0
    assert metric(wired, "models_retries_total", reason="invalid_request") is None
    assert metric(wired, "models_in_flight_requests") == 0
    assert [event.error_kind for event in errors] == ["invalid_request"]
    assert (tracked.requests, tracked.errors) == (0, 1)
    assert (wired.usage()[ID].requests, wired.usage()[ID].errors) == (0, 1)


def test_two_batches_failing_at_once_count_once_and_cancel_the_others(wired: ModelsAPI, fake: FakeLLM) -> None:
    errors: list[Any] = []
    wired.on_error(errors.append)
    # three batches sent at once: the first two to arrive fail together after 0.5 s, the third answers after 5 s
    fake.enqueue(*[Fault(status=401, delay=0.5)] * 2, Fault(delay=5))
    start = time.perf_counter()
    with pytest.raises(AuthenticationError) as caught:
        asyncio.run(wired.aembed(EMBED, WORDS))
    assert time.perf_counter() - start < 4  # the slow batch was cancelled, not waited for
    assert type(caught.value.__cause__) is openai.AuthenticationError
    assert len(fake.requests) == 3
    assert metric(wired, "models_requests_total", status="authentication") == 1
    assert metric(wired, "models_requests_total", status="ok") == 0
    assert metric(wired, "models_in_flight_requests") == 0
    assert [event.error_kind for event in errors] == ["authentication"]


@FORMS
def test_the_key_is_never_in_an_embed_error(wired: ModelsAPI, fake: FakeLLM, asynchronous: bool) -> None:
    fake.enqueue(Fault(status=400, echo_key=True))
    with pytest.raises(InvalidRequestError) as caught:
        embed(wired, ["a"], asynchronous)
    err = caught.value
    assert "Key sent: Bearer ***" in str(err) and "Key sent: Bearer ***" in str(err.__cause__)
    assert "SECRET" not in f"{err} {err!r} {err.__cause__} {err.__cause__!r}"


def test_a_body_without_usage_is_unpriced_not_free(wired: ModelsAPI, fake: FakeLLM) -> None:
    body = b'{"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5, 0.25]}], "model": "m"}'
    fake.enqueue(Fault(body=body))
    with pytest.warns(UserWarning, match="answered without reporting its usage, so usage.cost is None"):
        e = wired.embed(EMBED, ["a"])
    assert (e.vectors, e.usage.input_tokens, e.usage.cost) == ([[0.5, 0.25]], 0, None)
    assert metric(wired, "models_unpriced_requests_total") == 1
    assert metric(wired, "models_cost_usd_total") == 0


@pytest.mark.parametrize("embedding", ['"AAAAAAA"', '"AAA="'], ids=["bad padding", "not whole floats"])
def test_an_embedding_that_is_not_base64_of_floats_is_a_bad_response(
    wired: ModelsAPI, fake: FakeLLM, embedding: str
) -> None:
    item = f'{{"object": "embedding", "index": 0, "embedding": {embedding}}}'
    fake.enqueue(Fault(body=f'{{"object": "list", "data": [{item}], "model": "m"}}'.encode()))
    with pytest.raises(BadResponseError, match="sent an embedding that is not base64 of float32 values"):
        wired.embed(EMBED, ["a"], max_retries=0)
    assert metric(wired, "models_requests_total", status="bad_response") == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("[]", "answered 1 texts with 0 vectors"),
        ('[{"index": 1, "embedding": [0.5]}, {"index": 1, "embedding": [0.25]}]', "without a vector for text 0"),
    ],
    ids=["too few", "an index twice"],
)
def test_a_body_without_a_vector_per_text_is_a_bad_response(
    wired: ModelsAPI, fake: FakeLLM, data: str, message: str
) -> None:
    body = f'{{"object": "list", "data": {data}, "usage": {{"prompt_tokens": 1, "total_tokens": 1}}}}'
    fake.enqueue(Fault(body=body.encode()))
    with pytest.raises(BadResponseError, match=message):
        wired.embed(EMBED, ["a", "b"][: max(1, data.count("index"))], max_retries=0)
    assert metric(wired, "models_requests_total", status="bad_response") == 1


def test_vectors_go_by_their_index_whatever_the_order_of_the_items(wired: ModelsAPI, fake: FakeLLM) -> None:
    data = '[{"index": 1, "embedding": [0.25]}, {"index": 0, "embedding": [0.5]}]'
    fake.enqueue(Fault(body=f'{{"object": "list", "data": {data}, "usage": {{"prompt_tokens": 2}}}}'.encode()))
    assert wired.embed(EMBED, ["a", "b"]).vectors == [[0.5], [0.25]]


# --- bad input, before anything is sent --------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "kwargs", "error", "message"),
    [
        ([], {}, InvalidRequestError, "Nothing to embed: inputs is empty"),
        (["a", 3], {}, TypeError, r"inputs\[1\] is a int; every input to embed must be a str"),
        (["a", ""], {}, InvalidRequestError, r"inputs\[1\] is empty or only whitespace"),
        (["a", "b", " \n\t"], {}, InvalidRequestError, r"inputs\[2\] is empty or only whitespace"),
        ({"a": 1}, {}, TypeError, "inputs must be a list of strings to embed with openai/text-embedding-3-small"),
        (["a"], {"dimensions": 0}, InvalidRequestError, "dimensions must be a positive int, not 0"),
        (["a"], {"dimensions": -1}, InvalidRequestError, "dimensions must be a positive int, not -1"),
        (["a"], {"dimensions": True}, InvalidRequestError, "dimensions must be a positive int, not True"),
        (["a"], {"dimensions": "8"}, InvalidRequestError, "dimensions must be a positive int, not '8'"),
        (["a"], {"dimensions": 1537}, InvalidRequestError, "at most 1536 dimensions; dimensions=1537 asks for more"),
        (["a"], {"dimension": 8}, InvalidRequestError, r"'dimension' \(did you mean 'dimensions'\?\)"),
        (["a"], {"encodingformat": "float"}, InvalidRequestError, r"did you mean 'encoding_format'\?"),
        (["a"], {"temperature": 0.5}, InvalidRequestError, "embedding call does not take the keyword 'temperature'"),
        (["a"], {"timeout": 0}, InvalidRequestError, "timeout must be more than 0 seconds, not 0"),
        (["a"], {"timeout": "5"}, TypeError, "timeout must be a number, not str"),
        (["a"], {"max_retries": -1}, InvalidRequestError, "max_retries must be 0 or more, not -1"),
        (["a"], {"max_retries": 1.5}, TypeError, "max_retries must be an int, not float"),
    ],
)
@FORMS
def test_bad_input_is_refused_before_sending(
    wired: ModelsAPI, fake: FakeLLM, asynchronous: bool, inputs: Any, kwargs: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        embed(wired, inputs, asynchronous, **kwargs)
    assert fake.requests == []
    assert metric(wired, "models_requests_total", status="invalid_request") == 1
    assert metric(wired, "models_in_flight_requests") in (None, 0)


def test_embed_on_a_chat_model_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(UnsupportedCapabilityError, match="openai/gpt-4o does not support embeddings") as caught:
        wired.embed("gpt-4o", ["a"])
    assert caught.value.capability == "embeddings"
    with pytest.raises(UnsupportedCapabilityError, match=r"models\.list"):
        asyncio.run(wired.bind("gpt-4o").aembed(["a"]))
    assert fake.requests == []
    assert (
        sample(wired, "models_requests_total", provider="openai", model="openai/gpt-4o", status="invalid_request") == 2
    )


def test_a_chat_call_on_an_embedding_model_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    message = "openai/text-embedding-3-small does not support text_output .it is an embedding model: use models.embed"
    with pytest.raises(UnsupportedCapabilityError, match=message):
        wired(EMBED, "hi")
    with pytest.raises(UnsupportedCapabilityError, match=message):
        wired.stream(EMBED, "hi", temperature=0.5)
    with pytest.raises(UnsupportedCapabilityError, match=message):
        asyncio.run(wired.acall(EMBED, "hi"))
    with pytest.raises(UnsupportedCapabilityError, match=message):
        wired.bind(EMBED)("hi")
    assert fake.requests == []
    assert metric(wired, "models_requests_total", status="invalid_request") == 4


def test_routers_and_cheapest_never_pick_an_embedding_model(wired: ModelsAPI) -> None:
    embedders = {m.id for m in wired.list(capability="embeddings")}
    assert embedders == {
        "openai/text-embedding-3-small",
        "openai/text-embedding-3-large",
        "openai/text-embedding-ada-002",
        "google/gemini-embedding-001",
        "google/gemini-embedding-2",
        "bedrock/amazon.titan-embed-text-v2:0",
    }
    assert all(m.dimensions and m.max_output == 0 and m.price is not None for m in wired.list(capability="embeddings"))
    ranked = wired.router(strategy="cost").explain("hi")
    assert ranked and not embedders & {choice.model for choice in ranked}
    assert wired.cheapest().id not in embedders  # the cheapest model to answer a call
    assert wired.cheapest(provider="openai").id not in embedders
    # asked for: the cheapest embedding model; Titan V2 ties with ID at $0.02 per 1M, and the first listed wins
    assert wired.cheapest(capabilities=["embeddings"]).id == "bedrock/amazon.titan-embed-text-v2:0"
    assert wired.cheapest(capabilities=["embeddings"], provider="openai").id == ID
    explicit = wired.router([EMBED, "gpt-4o"], strategy="cost").explain("hi")
    assert [(c.model, c.rank, c.reason) for c in explicit] == [
        ("openai/gpt-4o", 1, explicit[0].reason),
        (ID, None, "an embedding model: it answers no calls"),
    ]


# --- the bookkeeping of a call: usage totals, track(), hooks, budgets, rate limits -------------------


def test_usage_totals_track_and_hooks_count_an_embed_as_one_call(wired: ModelsAPI, fake: FakeLLM) -> None:
    events: list[Any] = []
    wired.on_response(events.append)
    with wired.track() as tracked:
        e = wired.embed(EMBED, ["a b", "c"])
        a = asyncio.run(wired.aembed(EMBED, WORDS))
    assert (tracked.requests, tracked.errors, tracked.input_tokens, tracked.output_tokens) == (2, 0, 5003, 0)
    assert tracked.cost == cost(5003) == e.usage.cost + a.usage.cost
    totals = wired.usage()[ID]
    assert (totals.requests, totals.errors, totals.input_tokens, totals.cost) == (2, 0, 5003, cost(5003))
    assert [(ev.model, ev.provider, ev.cost, ev.error_kind) for ev in events] == [
        (ID, "openai", cost(3), None),
        (ID, "openai", cost(5000), None),
    ]
    assert events[0].usage is e.usage and events[1].usage is a.usage and events[1].latency == a.latency
    assert metric(wired, "models_requests_total", status="ok") == 2
    assert metric(wired, "models_cost_usd_total") == cost(5003)


@FORMS
def test_a_budget_refuses_an_embed_that_may_cost_more_before_sending(
    wired: ModelsAPI, fake: FakeLLM, asynchronous: bool
) -> None:
    # 4,999 UTF-8 bytes and 1,000 tokens each: the budget reserves the bytes, at most 499,900 tokens
    texts = [f"t{i:02} " + "word " * 999 for i in range(100)]
    refused = (
        r"this call reserves \$0\.009998, the most it can cost: up to 499,900 input tokens of "
        r"openai/text-embedding-3-small\. Nothing was sent\. Embed fewer or shorter texts, or raise the budget\."
    )
    with wired.budget(usd="0.009997"), pytest.raises(BudgetExceededError, match=refused):
        embed(wired, texts, asynchronous)
    assert fake.requests == []
    with wired.budget(usd="0.009998") as budget:
        e = embed(wired, texts, asynchronous)
    assert (e.usage.input_tokens, e.usage.cost) == (100_000, cost(100_000)) == (100_000, 0.002)
    assert (budget.spent, budget.remaining) == (0.002, float(Decimal("0.009998") - Decimal("0.002")))


def test_a_budget_bounds_each_text_by_the_models_window(wired: ModelsAPI, fake: FakeLLM) -> None:
    # a text over the 8,192-token window is refused by the API, not billed: it reserves 8,192 at most
    texts = ["word " * 2000, "short text"]  # 10,000 and 10 bytes
    with wired.budget(usd="0.00016403"), pytest.raises(BudgetExceededError, match=r"up to 8,202 input tokens"):
        wired.embed(EMBED, texts)
    with wired.budget(usd="0.00016404") as budget:  # 8,202 tokens at $0.02 per 1M
        wired.embed(EMBED, texts)
    assert budget.spent == cost(2002)


def test_a_failed_embed_charges_the_budget_for_the_batches_that_were_answered(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(), Fault(status=400))  # the first batch is answered (and billed), the second refused
    with wired.budget(usd=1) as budget, pytest.raises(InvalidRequestError):
        wired.embed(EMBED, WORDS)
    assert (budget.spent, budget.remaining) == (cost(2048), 1 - cost(2048))


def test_rate_limits_take_a_request_per_batch_and_settle_the_tokens_billed(wired: ModelsAPI, fake: FakeLLM) -> None:
    limit = wired.limit(EMBED, rpm=3, tpm=100_000, block=False)
    assert limit is not None
    start = time.monotonic()
    wired.embed(EMBED, WORDS)  # three batches: the three requests of this minute
    elapsed = time.monotonic() - start
    tokens = limit.remaining().tokens
    assert tokens is not None and 95_000 <= tokens <= 95_000 + 100_000 / 60 * elapsed  # 5,000 billed, refilling
    with pytest.raises(RateLimitError, match=r"\(rpm=3\): capacity in"):
        wired.embed(EMBED, ["one more"])
    assert len(fake.requests) == 3
    wired.limit(EMBED, rpm=2)
    with pytest.raises(RateLimitError, match=r"this call sends 3 requests; raise rpm via models.limit"):
        asyncio.run(wired.aembed(EMBED, WORDS))
    assert len(fake.requests) == 3
    assert metric(wired, "models_requests_total", status="rate_limit") == 2
    assert metric(wired, "models_in_flight_requests") == 0


def test_a_tokens_per_minute_limit_refuses_an_embed_larger_than_it_before_sending(
    wired: ModelsAPI, fake: FakeLLM
) -> None:
    wired.limit(EMBED, tpm=1000)
    with pytest.raises(RateLimitError, match=r"\(tpm=1000\): this call needs 1501 tokens"):
        wired.embed(EMBED, ["hello " * 100] * 10)  # 6,000 characters: 1,501 tokens estimated
    assert fake.requests == []
    assert metric(wired, "models_requests_total", status="rate_limit") == 1


# --- mock, an OpenAI-compatible preset, Azure ------------------------------------------------------------


def test_mock_embeds_offline_with_the_fakes_vectors(api: ModelsAPI) -> None:
    e = api.embed("mock/embedder", ["a b c", "d"], dimensions=4)
    assert e.vectors == [fake_vector("a b c", 4), fake_vector("d", 4)]
    assert (e.model, e.usage.input_tokens) == ("mock/embedder", fake_tokens("a b c") + fake_tokens("d"))
    assert asyncio.run(api.bind("mock/embedder").aembed("d")).vectors == [fake_vector("d")]  # 8 by default
    with pytest.raises(InvalidRequestError, match=r"'dimension' \(did you mean 'dimensions'\?\)"):
        api.embed("mock/embedder", ["a"], dimension=4)


def test_an_openai_compatible_preset_embeds_with_openais_code(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", fake.openai_base_url)
    e = api.embed("ollama/nomic-embed-text", ["a b", "c"], dimensions=4096)  # unknown to the catalog: not checked
    assert e.vectors == [fake_vector("a b", 4096), fake_vector("c", 4096)]
    assert (e.model, e.provider, e.usage.input_tokens) == ("ollama/nomic-embed-text", "ollama", 3)
    chat = api("ollama/llama3.2", "hi")  # priced by the same rule as the provider's calls
    assert (e.usage.cost, e.usage.price_source) == (chat.usage.cost, chat.usage.price_source)
    request = fake.requests[0]
    assert (request.path, request.body["model"], request.body["dimensions"]) == (
        "/v1/embeddings",
        "nomic-embed-text",
        4096,
    )
    assert "authorization" not in request.headers  # Ollama takes no key


def test_azure_embeds_on_its_deployments_path(api: ModelsAPI, fake: FakeLLM) -> None:
    api.configure("azure", api_key="azure-key-0123456789", base_url=fake.url)
    e = asyncio.run(api.aembed("azure/my-embedder", ["a b"]))
    assert (e.vectors, e.model, e.usage.input_tokens) == ([fake_vector("a b")], "azure/my-embedder", 2)
    [request] = fake.requests
    assert request.path == "/openai/deployments/my-embedder/embeddings"
    assert (request.query, request.headers["api-key"]) == ({"api-version": "2024-10-21"}, "azure-key-0123456789")
    assert "authorization" not in request.headers
    assert request.body == {"model": "my-embedder", "input": ["a b"], "encoding_format": "base64"}
