"""The wire fake's embedding answers (OpenAI's `/embeddings`), apart from tests/fake_llm.py.

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
