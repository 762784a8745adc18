"""Bedrock embeddings (SPEC §12) through boto3's `invoke_model`, apart from `_bedrock.py`.

Two families, each with its own JSON body (https://docs.aws.amazon.com/bedrock/latest/userguide/
model-parameters-titan-embed-text.html, .../model-parameters-embed.html):

- Amazon Titan Text Embeddings V2 (`amazon.titan-embed-text-v2:0`): one text per request,
  `{"inputText", "dimensions" (256, 512 or 1024), "normalize"}`, answered `{"embedding",
  "inputTextTokenCount"}`. The service sends its texts one request each (`EMBED_LIMITS`).
- Cohere Embed v3 (`cohere.embed-english-v3`, `cohere.embed-multilingual-v3`): at most 96 texts,
  `{"texts", "input_type" (required: `search_document` unless the caller passes `input_type=`),
  "truncate"}`, answered `{"embeddings": [[...]], "id", "response_type", "texts"}`. The body has no
  usage: the billed tokens are the `X-Amzn-Bedrock-Input-Token-Count` header Bedrock sets on
  InvokeModel answers; without it the cost is unknown (None), never a guessed 0.

Any other model is refused before sending, naming these families.
"""

from __future__ import annotations

import json
from typing import Any

from .._catalog.info import ModelInfo
from ..errors import InvalidRequestError, UnsupportedCapabilityError
from ._base import Embedded, EmbedRequest
from ._common import bad_response

__all__ = ["EMBED_KEYWORDS", "embed", "embed_limits"]

EMBED_KEYWORDS = frozenset({"normalize", "input_type", "truncate"})
"""Titan's `normalize`, Cohere's `input_type` and `truncate`; each family refuses the other's."""

_TITAN, _COHERE = "amazon.titan-embed-text-v2", "cohere.embed-"
_TITAN_SIZES = (256, 512, 1024)
_COHERE_MOST = 96
_FAMILIES = (
    "Amazon Titan Text Embeddings V2 (amazon.titan-embed-text-v2:0) and Cohere Embed v3 "
    "(cohere.embed-english-v3, cohere.embed-multilingual-v3)"
)
_TOKENS_HEADER = "x-amzn-bedrock-input-token-count"  # botocore gives the headers lower-cased


def _family(model: ModelInfo) -> str | None:
    """Titan or Cohere by the model's name (a regional profile's prefix, `us.`, allowed), else None."""
    name = model.name
    if _TITAN in name:
        return _TITAN
    if _COHERE in name and "-v3" in name:
        return _COHERE
    return None


def embed_limits(model: ModelInfo) -> tuple[int, int | None]:
    """One text per Titan request, 96 per Cohere request; no limit on a request's total tokens."""
    return (1, None) if _family(model) == _TITAN else (_COHERE_MOST, None)


def _body(request: EmbedRequest) -> tuple[str, dict[str, Any]]:
    """The family and the JSON body of one batch, or a clear error before anything is sent."""
    model, options = request.model, request.options
    family = _family(model)
    if family is None:
        raise UnsupportedCapabilityError(model.id, "embeddings", f"Bedrock embeddings here are {_FAMILIES}")
    other = ("input_type", "truncate") if family == _TITAN else ("normalize",)
    refused = [name for name in other if name in options]
    if refused:
        takes = "normalize" if family == _TITAN else "input_type and truncate"
        raise InvalidRequestError(
            f"{model.id} does not take {', '.join(refused)}: it takes {takes} (and dimensions).", model=model.id
        )
    dimensions = options.get("dimensions")
    if family == _TITAN:
        if dimensions is not None and dimensions not in _TITAN_SIZES:
            raise InvalidRequestError(
                f"{model.id} makes vectors of 256, 512 or 1024 dimensions, not {dimensions}.", model=model.id
            )
        (text,) = request.inputs
        body: dict[str, Any] = {"inputText": text, "normalize": options.get("normalize", True)}
        if dimensions is not None:
            body["dimensions"] = dimensions
        return family, body
    if dimensions is not None:
        raise InvalidRequestError(
            f"{model.id} makes vectors of one size only (1024): drop dimensions={dimensions}.", model=model.id
        )
    body = {"texts": request.inputs, "input_type": options.get("input_type", "search_document")}
    if "truncate" in options:
        body["truncate"] = options["truncate"]
    return family, body


def embed(client: Any, request: EmbedRequest) -> Embedded:
    """One batch through `invoke_model` (the client of the request's timeout): its vectors in input
    order and the billed tokens, None when the answer does not say."""
    family, body = _body(request)
    response = client.invoke_model(
        modelId=request.model.name, body=json.dumps(body), contentType="application/json", accept="application/json"
    )
    stream = response["body"]
    try:
        data = stream.read()
    finally:
        stream.close()
    where = {"provider": "bedrock", "model": request.model.id}
    try:
        answer = json.loads(data)
    except ValueError:
        raise bad_response("Bedrock answered an embedding request with a body that is not JSON.", **where) from None
    if not isinstance(answer, dict):
        raise bad_response("Bedrock answered an embedding request with JSON that is not an object.", **where)
    headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    header = headers.get(_TOKENS_HEADER)
    tokens: Any = int(header) if isinstance(header, str) and header.isdigit() else None
    count = len(request.inputs)
    vectors: list[Any]
    if family == _TITAN:
        vectors = [answer.get("embedding")]
        counted = answer.get("inputTextTokenCount")
        tokens = counted if isinstance(counted, int) and not isinstance(counted, bool) else tokens
    else:
        found = answer.get("embeddings")
        vectors = found if isinstance(found, list) else []
    if len(vectors) != count or not all(isinstance(vector, list) for vector in vectors):
        got = f"{len(vectors)} embeddings" if len(vectors) != count else "an embedding that is not a list"
        raise bad_response(f"Bedrock answered {count} texts with {got}.", **where)
    return Embedded(vectors, tokens, answer)
