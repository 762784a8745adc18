"""The wire fake's embedding answers (OpenAI's `/embeddings`, Gemini's `batchEmbedContents` and
`embedContent`), apart from tests/fake_llm.py.

Vectors are deterministic and exact in float32 (multiples of 1/64), so a test computes what any
input's vector must be with `fake_vector`, whichever encoding carried it. Each input counts one
token per whitespace-separated word (at least one), so a test knows a batch's usage exactly.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

DEFAULT_DIMENSIONS = 8


def fake_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The vector the fake gives `text`: `dimensions` values in [-1, 1), exact as float32."""
    digest = hashlib.shake_128(text.encode()).digest(dimensions)
    return [(byte - 128) / 128 for byte in digest]


def fake_tokens(text: str) -> int:
    """The tokens the fake bills for one input."""
    return max(1, len(text.split()))


def render_openai_embeddings(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Status and body of an OpenAI embeddings answer to `body` (400 for what the API refuses)."""
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) and t for t in inputs):
        return 400, {
            "error": {"message": "'$.input' is invalid.", "type": "invalid_request_error", "param": None, "code": None}
        }
    if len(inputs) > 2048:
        message = f"Invalid 'input': maximum input length is 2048, got {len(inputs)}."
        return 400, {"error": {"message": message, "type": "invalid_request_error", "param": "input", "code": None}}
    dimensions = body.get("dimensions") or DEFAULT_DIMENSIONS
    data = []
    for i, text in enumerate(inputs):
        vector = fake_vector(text, dimensions)
        if body.get("encoding_format") == "base64":
            embedding: Any = base64.b64encode(struct.pack(f"<{dimensions}f", *vector)).decode()
        else:
            embedding = vector
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    tokens = sum(fake_tokens(t) for t in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return 200, {"object": "list", "data": data, "model": body.get("model", ""), "usage": usage}


# Gemini (google-genai sends every call to batchEmbedContents; embedContent is its one-text form).
# Refused with a 400 as the API refuses them: more than 100 requests ("at most 100 requests can be in one
# batch", its message as reported in langchain-ai/langchainjs#4491), a task type that is not one of its enum
# (protobuf's JSON error). Ours, the API's wording unknown: a request for another model than the URL's, a
# content without text (its generic message), a non-positive outputDimensionality.
GOOGLE_METHODS = frozenset({"embedContent", "batchEmbedContents"})
GOOGLE_MOST = 100
_GOOGLE_TASKS = frozenset(
    {
        *("TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION"),
        *("CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"),
    }
)
_GOOGLE_INVALID = "Request contains an invalid argument."


def render_google_embeddings(
    method: str, model: str, body: dict[str, Any], usage: dict[str, Any] | None
) -> tuple[int, dict[str, Any]]:
    """Status and body of Gemini's `method` answer to `body` for `model` (the URL's, without "models/").

    One vector per request, of its content's text: a content of several parts is one text, as the
    multimodal models embed it. `usageMetadata` counts `fake_tokens` of every text; `usage` (a Reply's
    raw_usage) replaces it verbatim, and an empty one leaves it out, as the API did before it reported usage.
    """
    single = method == "embedContent"
    requests = [body] if single else body.get("requests")
    if not isinstance(requests, list) or not requests:
        return _google_error(_GOOGLE_INVALID)
    if len(requests) > GOOGLE_MOST:
        return _google_error(
            f"* BatchEmbedContentsRequest.requests: at most {GOOGLE_MOST} requests can be in one batch\n"
        )
    texts, sizes = [], []
    for i, request in enumerate(requests):
        where = "" if single else f"requests[{i}]."
        request = request if isinstance(request, dict) else {}
        if request.get("model", f"models/{model}") != f"models/{model}":
            return _google_error(
                f"* BatchEmbedContentsRequest.{where}model: must be the batch's model, models/{model}\n"
            )
        task = request.get("taskType")
        if task is not None and task not in _GOOGLE_TASKS:
            kind = "type.googleapis.com/google.ai.generativelanguage.v1beta.TaskType"
            return _google_error(f"Invalid value at '{where}task_type' ({kind}), \"{task}\"")
        size = request.get("outputDimensionality", DEFAULT_DIMENSIONS)
        content = request.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        text = " ".join(p["text"] for p in parts or () if isinstance(p, dict) and isinstance(p.get("text"), str))
        if not text or not isinstance(size, int) or size < 1:
            return _google_error(_GOOGLE_INVALID)
        texts.append(text)
        sizes.append(size)
    vectors = [{"values": fake_vector(text, size)} for text, size in zip(texts, sizes)]
    answer: dict[str, Any] = {"embedding": vectors[0]} if single else {"embeddings": vectors}
    if usage is None:
        tokens = sum(fake_tokens(text) for text in texts)
        usage = {"promptTokenCount": tokens, "promptTokenDetails": [{"modality": "TEXT", "tokenCount": tokens}]}
    if usage:
        answer["usageMetadata"] = usage
    return 200, answer


def _google_error(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
