"""Gemini embeddings (SPEC §12) through google-genai's `models.embed_content`.

On the Gemini Developer API the SDK sends every call, one text or many, to
`models/{model}:batchEmbedContents` as `{"requests": [{"model", "content", "taskType", "title",
"outputDimensionality"}, ...]}` and reads `{"embeddings": [{"values": [...]}, ...], "usageMetadata":
{"promptTokenCount": n}}`. The API takes at most 100 requests per batch ("at most 100 requests can be
in one batch", its 400) and 2,048 tokens per text on gemini-embedding-001, 8,192 on gemini-embedding-2.

Each text goes as a Content of its own: given a list of strings, the SDK makes the multimodal models'
(gemini-embedding-2) contents one Content of several parts, which the API embeds as one vector.
Billed tokens are `usageMetadata.promptTokenCount`, which the SDK keeps; an answer without it has an
unknown cost (None, with a warning), never a guessed one.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidRequestError
from ._base import DEFAULT_TIMEOUT, Embedded, EmbedRequest
from ._common import bad_response, import_sdk

__all__ = ["EMBED_LIMITS", "embed_keywords", "embed_kwargs", "embedded"]

EMBED_LIMITS = (100, None)
"""Texts per request, and no limit on a request's total tokens (the API has one per text)."""

# EmbedContentConfig fields the SDK refuses on the Developer API (ValueError: "only supported in Gemini
# Enterprise Agent Platform mode"), and `output_dimensionality`, which is `dimensions=` (checked against
# the model's size before sending).
_REFUSED = frozenset({"mime_type", "auto_truncate", "document_ocr", "audio_track_extraction", "output_dimensionality"})


@functools.cache
def _spellings() -> dict[str, str]:
    """Each `EmbedContentConfig` field the Developer API takes, by its name and its camelCase alias, to its
    name: a config holding both spellings of one field is one the SDK refuses (pydantic's "extra")."""
    fields = import_sdk("google.genai.types", "google-genai").EmbedContentConfig.model_fields
    names: dict[str, str] = {}
    for name, info in fields.items():
        if name not in _REFUSED:
            names.update((spelling, name) for spelling in (name, info.alias) if spelling)
    return names


@functools.cache
def embed_keywords() -> frozenset[str]:
    """Those fields, either spelling, and `config` itself: a dict of them (checked too) or the SDK's
    `EmbedContentConfig`. Built once: every embed call asks."""
    return frozenset({"config", *_spellings()})


def embed_kwargs(request: EmbedRequest) -> dict[str, Any]:
    """Keyword arguments of `models.embed_content` for one batch: the keywords over `config`'s fields, as
    one config by the fields' names, `dimensions` as `output_dimensionality`, and each text as a Content
    of its own."""
    options = request.options
    names = _spellings()
    config = {names.get(name, name): value for name, value in _config(options.get("config"), request).items()}
    for name, value in options.items():
        if name != "config":
            config["output_dimensionality" if name == "dimensions" else names.get(name, name)] = value
    if request.timeout != DEFAULT_TIMEOUT:  # as the chat calls send it: in ms, only when not the client's default
        config["http_options"] = {"timeout": max(int(request.timeout * 1000), 1)}
    contents = [{"parts": [{"text": text}]} for text in request.inputs]
    kwargs: dict[str, Any] = {"model": request.model.name, "contents": contents}
    if config:
        kwargs["config"] = config
    return kwargs


def _config(config: Any, request: EmbedRequest) -> Mapping[str, Any]:
    """`config=`: a dict, or the SDK's `EmbedContentConfig` as the fields it sets, checked as a dict's keys
    are (the SDK would refuse them only with a ValueError, or pydantic's ValidationError, from inside)."""
    if config is None or isinstance(config, Mapping):
        return config or {}
    if not isinstance(config, import_sdk("google.genai.types", "google-genai").EmbedContentConfig):
        raise TypeError(
            f"config must be a dict of EmbedContentConfig fields or an EmbedContentConfig, not {type(config).__name__}"
        )
    fields: dict[str, Any] = config.model_dump(exclude_unset=True)
    refused = sorted(_REFUSED.intersection(fields))
    if refused:
        raise InvalidRequestError(
            f"config sets {', '.join(refused)}, which the Gemini Developer API does not take "
            "(output_dimensionality is dimensions=; the others are Vertex AI's).",
            provider="google",
            model=request.model.id,
        )
    return fields


def embedded(response: Any, request: EmbedRequest) -> Embedded:
    """The vectors of `response` in input order (the SDK's lists, not copied) and the billed tokens,
    None when the answer does not report them."""
    embeddings = response.embeddings or ()
    count = len(request.inputs)
    vectors = [embedding.values for embedding in embeddings]
    if len(vectors) != count or any(values is None for values in vectors):
        got = f"{len(vectors)} embeddings" if len(vectors) != count else "an embedding without values"
        raise bad_response(f"Gemini answered {count} texts with {got}.", provider="google", model=request.model.id)
    usage = response.usage_metadata
    tokens = usage.prompt_token_count if usage is not None else None
    return Embedded(vectors, tokens, response)
