"""OpenAI's embeddings (SPEC §12), apart from `_openai.py`: a batch as `embeddings.create`'s arguments and
its answer as vectors and billed tokens, for OpenAI, Azure and every OpenAI-compatible service alike."""

from __future__ import annotations

import binascii
import sys
from array import array
from functools import partial
from typing import Any

from .._catalog.info import ModelInfo
from .._types import Lazy
from ._base import Embedded, EmbedRequest
from ._common import bad_response, field, json_object

__all__ = ["embed_kwargs", "embedded"]


def embed_kwargs(request: EmbedRequest) -> dict[str, Any]:
    """Keyword arguments of `embeddings.create`: base64 on the wire unless the caller asks otherwise
    (a quarter of the bytes of JSON floats; what the SDK itself asks for)."""
    options = request.options
    kwargs = {**options, "model": request.model.name, "input": request.inputs, "timeout": request.timeout}
    kwargs.setdefault("encoding_format", "base64")
    return kwargs


def embedded(raw: Any, label: str, provider: str, model: ModelInfo, count: int) -> Embedded:
    """Vectors and billed tokens (None when the body has no usage) of an embeddings body, in input
    order: base64 decoded with the standard library, a list of floats taken as it is. Nothing else of
    the body is kept for `raw` but its small top level: its items are made again from the vectors."""
    request_id = raw.request_id
    body = json_object(raw.http_response.content, label, provider, model.id, request_id)
    data = body.pop("data", None)
    if not isinstance(data, list) or len(data) != count:
        raise bad_response(
            f"{label} answered {count} texts with {len(data) if isinstance(data, list) else 'no'} vectors."
        )
    vectors: list[Any] = [None] * count
    for n, item in enumerate(data):
        index = field(item, "index")
        embedding = field(item, "embedding")
        if isinstance(embedding, str):  # the text is dropped as its floats are made: one at a time is held
            embedding = item["embedding"] = _floats(embedding, label)
        if not isinstance(embedding, list):
            raise bad_response(f"{label} sent an embedding that is neither base64 nor a list of numbers.")
        vectors[index if isinstance(index, int) and 0 <= index < count else n] = embedding
    if None in vectors:  # two items gave the same index
        raise bad_response(f"{label} answered without a vector for text {vectors.index(None)}.")
    usage = body.get("usage")
    tokens = field(usage, "prompt_tokens")
    if not isinstance(tokens, int):
        tokens = field(usage, "total_tokens")
    typed = Lazy(partial(_typed_embeddings, body, vectors))
    return Embedded(vectors, tokens if isinstance(tokens, int) else None, typed)


def _floats(text: str, label: str) -> list[float]:
    """A base64 embedding, little-endian float32 as OpenAI sends it, as Python floats: decoded
    straight from the text and read in place (the SDK's base64 + `array` path copies twice more)."""
    try:
        data = binascii.a2b_base64(text)
        if sys.byteorder == "little":
            return memoryview(data).cast("f").tolist()  # type: ignore[return-value]  # typeshed: list[int]
        floats = array("f", data)
        floats.byteswap()
        return floats.tolist()
    except (binascii.Error, TypeError, ValueError):  # bad padding, or not a whole number of floats
        raise bad_response(f"{label} sent an embedding that is not base64 of float32 values.") from None


def _typed_embeddings(body: dict[str, Any], vectors: list[list[float]]) -> Any:
    """The SDK's `CreateEmbeddingResponse` of an answer, its vectors decoded as the SDK's own
    response has them (shared with `Embeddings.vectors`), built as its client builds one."""
    from openai.types import CreateEmbeddingResponse

    data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
    return CreateEmbeddingResponse.model_construct(**body, data=data)
