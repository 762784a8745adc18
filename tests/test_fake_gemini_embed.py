"""Proves the wire fake's Gemini embeddings (tests/fake_embeddings.py) against the real google-genai SDK, as
tests/test_fake_llm.py does for chat: every assertion is on what the SDK sent, parsed or raised."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import httpx2
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from .fake_embeddings import fake_tokens, fake_vector
from .fake_llm import FakeLLM, Fault, Reply

KEY = "test-key"
TEXTS = ["alpha beta", "gamma", "delta epsilon zeta"]


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[genai.Client]:
    """The real SDK client on the session's fake (conftest's `fake` resets it per test)."""
    options = genai_types.HttpOptions(base_url=fake_server.google_base_url, timeout=10_000)
    made = genai.Client(api_key=KEY, http_options=options)
    yield made
    made.close()


def contents(texts: list[str]) -> list[genai_types.ContentDict]:
    return [{"parts": [{"text": text}]} for text in texts]


def test_batch_embed_contents_parses_vectors_and_usage(fake: FakeLLM, client: genai.Client) -> None:
    config = genai_types.EmbedContentConfig(task_type="RETRIEVAL_QUERY", output_dimensionality=5)
    response = client.models.embed_content(model="gemini-embedding-001", contents=contents(TEXTS), config=config)
    assert [e.values for e in response.embeddings or ()] == [fake_vector(t, 5) for t in TEXTS]
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == sum(fake_tokens(t) for t in TEXTS) == 6
    (req,) = fake.requests
    assert (req.provider, req.path, req.model, req.stream) == (
        "google",
        "/v1/models/gemini-embedding-001:batchEmbedContents",
        "gemini-embedding-001",
        False,
    )
    assert req.headers["x-goog-api-key"] == KEY
    assert req.body["requests"][0] == {
        "content": {"parts": [{"text": "alpha beta"}]},
        "taskType": "RETRIEVAL_QUERY",
        "outputDimensionality": 5,
        "model": "models/gemini-embedding-001",
    }


def test_async_client_and_default_size(fake: FakeLLM) -> None:
    async def run() -> genai_types.EmbedContentResponse:
        options = genai_types.HttpOptions(base_url=fake.google_base_url)
        async with genai.Client(api_key=KEY, http_options=options).aio as aio:
            return await aio.models.embed_content(model="gemini-embedding-2", contents=contents(TEXTS))

    response = asyncio.run(run())
    assert [e.values for e in response.embeddings or ()] == [fake_vector(t) for t in TEXTS]
    assert len(fake_vector("x")) == 8


def test_strings_on_a_multimodal_model_are_one_content_and_one_vector(fake: FakeLLM, client: genai.Client) -> None:
    """The SDK joins a list of strings into one Content for gemini-embedding-2; the API embeds a Content as one
    vector, and so does the fake: a caller that sends strings gets one vector for three texts."""
    response = client.models.embed_content(model="gemini-embedding-2", contents=TEXTS)  # type: ignore[arg-type]
    assert [e.values for e in response.embeddings or ()] == [fake_vector(" ".join(TEXTS))]
    assert len(fake.requests[0].body["requests"]) == 1


def test_raw_usage_replaces_usage_metadata_and_empty_leaves_it_out(fake: FakeLLM, client: genai.Client) -> None:
    fake.enqueue(Reply(raw_usage={"promptTokenCount": 77}), Reply(raw_usage={}))
    first = client.models.embed_content(model="gemini-embedding-001", contents=contents(["a"]))
    assert first.usage_metadata is not None and first.usage_metadata.prompt_token_count == 77
    second = client.models.embed_content(model="gemini-embedding-001", contents=contents(["a"]))
    assert second.usage_metadata is None
    assert [e.values for e in second.embeddings or ()] == [fake_vector("a")]


@pytest.mark.parametrize(
    ("texts", "config", "message"),
    [
        (
            [f"t{i}" for i in range(101)],
            None,
            "* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch\n",
        ),
        (["a", ""], None, "Request contains an invalid argument."),
        (
            ["a"],
            {"task_type": "retrieval_query"},
            "Invalid value at 'requests[0].task_type' "
            '(type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType), "retrieval_query"',
        ),
        (["a"], {"output_dimensionality": 0}, "Request contains an invalid argument."),
    ],
)
def test_what_the_api_refuses_is_a_400_in_its_format(
    fake: FakeLLM, client: genai.Client, texts: list[str], config: genai_types.EmbedContentConfigDict, message: str
) -> None:
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.embed_content(model="gemini-embedding-001", contents=contents(texts), config=config)
    assert (caught.value.code, caught.value.status, caught.value.message) == (400, "INVALID_ARGUMENT", message)


def test_a_request_for_another_model_is_refused(fake: FakeLLM) -> None:
    body = {"requests": [{"model": "models/other", "content": {"parts": [{"text": "a"}]}}]}
    status, answer = post(fake, "/v1beta/models/gemini-embedding-001:batchEmbedContents", body)
    assert status == 400
    assert answer["error"]["message"].startswith("* BatchEmbedContentsRequest.requests[0].model: must be")


def test_embed_content_answers_one_embedding(fake: FakeLLM) -> None:
    body = {"content": {"parts": [{"text": "one two three"}]}, "outputDimensionality": 3}
    status, answer = post(fake, "/v1beta/models/gemini-embedding-001:embedContent", body)
    assert status == 200
    tokens = {"promptTokenCount": 3, "promptTokenDetails": [{"modality": "TEXT", "tokenCount": 3}]}
    assert answer == {"embedding": {"values": fake_vector("one two three", 3)}, "usageMetadata": tokens}
    assert fake.requests[0].model == "gemini-embedding-001"


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (Fault.rate_limit(), genai_errors.ClientError, 429),
        (Fault.server(), genai_errors.ServerError, 500),
        (Fault(status=400, message="bad batch"), genai_errors.ClientError, 400),
        (Fault(reset=True), httpx2.ReadError, None),
    ],
)
def test_faults_apply_as_for_chat(
    fake: FakeLLM, client: genai.Client, fault: Fault, error: type[Exception], code: int | None
) -> None:
    fake.enqueue(fault)
    with pytest.raises(error) as caught:
        client.models.embed_content(model="gemini-embedding-001", contents=contents(TEXTS))
    assert type(caught.value) is error
    if code is not None:
        assert isinstance(caught.value, genai_errors.APIError) and caught.value.code == code
    again = client.models.embed_content(model="gemini-embedding-001", contents=contents(TEXTS))
    assert len(again.embeddings or ()) == 3


def post(fake: FakeLLM, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(fake.url + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
