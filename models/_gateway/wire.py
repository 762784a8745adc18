"""OpenAI's wire format: request bodies checked and turned into library calls, answers rendered.

Checked here, before the gatekeeper or a model sees them, so that every malformed request gets
OpenAI's 400 (`Unrecognized request argument supplied`, `Invalid type for 'x'`, `Missing required
parameter`) and never reaches the library as a `TypeError`. What the library checks itself
(message contents, tool and schema shapes, a parameter a provider does not take) is left to it:
its `InvalidRequestError` becomes the same 400 (`failures.py`).
"""

from __future__ import annotations

import base64
import json
import secrets
import struct
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .gate import GatewayError

if TYPE_CHECKING:
    from .._catalog.info import ModelInfo
    from .._embeddings import Embeddings
    from .._types import Response, Usage

__all__ = [
    "ChatRequest",
    "EmbeddingRequest",
    "chat_chunk",
    "chat_completion",
    "dumps",
    "embedding_list",
    "model_object",
    "parse_chat",
    "parse_embeddings",
    "parse_json",
    "usage_object",
]

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False)


def dumps(value: Any) -> bytes:
    """Compact JSON, UTF-8: every body the gateway sends is encoded once, here."""
    return _JSON.encode(value).encode()


def parse_json(body: bytes) -> dict[str, Any]:
    """The request's JSON object, or OpenAI's 400 for a body that is not one."""
    try:
        value = json.loads(body)
    except ValueError:  # UnicodeDecodeError included
        raise GatewayError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON payload, but what was "
            "sent was not valid JSON.",
        ) from None
    if not isinstance(value, dict):
        raise GatewayError(400, f"The request body must be a JSON object, not {_json_type(value)}.")
    return value


# What each field must be: (a check, OpenAI's name for the type) as in its `Invalid type for` messages.
def _is_str(v: object) -> bool:
    return isinstance(v, str)


def _is_bool(v: object) -> bool:
    return isinstance(v, bool)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_object(v: object) -> bool:
    return isinstance(v, dict)


def _is_array(v: object) -> bool:
    return isinstance(v, list)


def _is_stop(v: object) -> bool:
    return isinstance(v, str) or (isinstance(v, list) and all(isinstance(s, str) for s in v))


def _is_choice(v: object) -> bool:
    return isinstance(v, (str, dict))


def _is_input(v: object) -> bool:
    return isinstance(v, (str, list))


_Check = tuple[Callable[[object], bool], str]
_STRING: _Check = (_is_str, "a string")
_BOOLEAN: _Check = (_is_bool, "a boolean")
_INTEGER: _Check = (_is_int, "an integer")
_NUMBER: _Check = (_is_number, "a decimal")
_OBJECT: _Check = (_is_object, "an object")
_ARRAY: _Check = (_is_array, "an array")

# Chat Completions' fields: those the gateway reads itself, those passed on to the library as keywords
# (which checks them against the model's provider), and those it cannot answer (their output has no
# place in a `Response`: log probabilities, audio, several choices), refused by name.
_CHAT_OWN: dict[str, _Check] = {
    "model": _STRING,
    "messages": _ARRAY,
    "stream": _BOOLEAN,
    "stream_options": _OBJECT,
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "max_tokens": _INTEGER,
    "max_completion_tokens": _INTEGER,
    "stop": (_is_stop, "a string or an array of strings"),
    "seed": _INTEGER,
    "tools": _ARRAY,
    "tool_choice": (_is_choice, "a string or an object"),
    "response_format": _OBJECT,
    "n": _INTEGER,
    "logprobs": _BOOLEAN,
}
_CHAT_PASSED: dict[str, _Check] = {
    "frequency_penalty": _NUMBER,
    "presence_penalty": _NUMBER,
    "logit_bias": _OBJECT,
    "parallel_tool_calls": _BOOLEAN,
    "reasoning_effort": _STRING,
    "user": _STRING,
    "metadata": _OBJECT,
    "store": _BOOLEAN,
    "service_tier": _STRING,
    "verbosity": _STRING,
    "safety_identifier": _STRING,
    "prompt_cache_key": _STRING,
    "prediction": _OBJECT,
}
_CHAT_REFUSED = frozenset({"top_logprobs", "audio", "modalities", "functions", "function_call", "web_search_options"})
_CHAT_FIELDS = {**_CHAT_OWN, **_CHAT_PASSED}

_EMBED_FIELDS: dict[str, _Check] = {
    "model": _STRING,
    "input": (_is_input, "a string or an array of strings"),
    "encoding_format": _STRING,
    "dimensions": _INTEGER,
    "user": _STRING,
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _check(
    body: dict[str, Any], fields: Mapping[str, _Check], required: tuple[str, str], refused: frozenset[str] = frozenset()
) -> None:
    """OpenAI's 400 for the first unknown, refused or mistyped field, or a missing `required` one; nulls
    count as absent."""
    for name, value in body.items():
        spec = fields.get(name)
        if spec is None:
            if name in refused:
                raise _unsupported(name)
            raise GatewayError(400, f"Unrecognized request argument supplied: {name}")
        if value is not None and not spec[0](value):
            raise _invalid_type(name, spec[1], value)
    for name in required:
        value = body.get(name)
        if value is None or (name == "model" and not value.strip()):  # an empty model: not given
            raise GatewayError(
                400, f"Missing required parameter: '{name}'.", code="missing_required_parameter", param=name
            )


def _invalid_type(name: str, expected: str, value: object) -> GatewayError:
    message = f"Invalid type for '{name}': expected {expected}, but got {_json_type(value)} instead."
    return GatewayError(400, message, code="invalid_type", param=name)


def _unsupported(name: str, why: str = "") -> GatewayError:
    return GatewayError(
        400, f"'{name}' is not supported by this gateway{why}.", code="unsupported_parameter", param=name
    )


class ChatRequest:
    """A checked Chat Completions request: the model, the messages, and the library's keywords."""

    __slots__ = ("include_usage", "max_tokens", "messages", "model", "params", "stream")

    def __init__(
        self,
        model: str,
        messages: list[Any],
        params: dict[str, Any],
        stream: bool,
        include_usage: bool,
    ) -> None:
        self.model = model
        self.messages = messages
        self.params = params
        self.stream = stream
        self.include_usage = include_usage
        self.max_tokens: int | None = params.get("max_tokens")


def parse_chat(body: dict[str, Any]) -> ChatRequest:
    """`POST /v1/chat/completions`'s body as a library call, or OpenAI's 400 naming the field."""
    _check(body, _CHAT_FIELDS, ("model", "messages"), _CHAT_REFUSED)
    messages = body["messages"]
    if not messages:
        raise GatewayError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            code="empty_array",
            param="messages",
        )
    if any(isinstance(m, dict) and m.get("role") == "developer" for m in messages):
        # OpenAI's newer name for the system role; the library (every provider) knows it as system.
        messages = [
            {**m, "role": "system"} if isinstance(m, dict) and m.get("role") == "developer" else m for m in messages
        ]
    if body.get("n") not in (None, 1):
        raise _unsupported("n", " (one choice per request)")
    if body.get("logprobs"):
        raise _unsupported("logprobs")
    params: dict[str, Any] = {}
    for name, value in body.items():
        if value is not None and name in _CHAT_PASSED:
            params[name] = value
    for name in ("temperature", "top_p", "stop", "seed", "tools"):
        value = body.get(name)
        if value is not None:
            params[name] = value
    limit = body.get("max_completion_tokens")
    if limit is None:
        limit = body.get("max_tokens")
    if limit is not None:
        params["max_tokens"] = limit
    choice = body.get("tool_choice")
    if choice is not None:
        params["tool_choice"] = _tool_choice(choice)
    response_format = body.get("response_format")
    if response_format is not None and response_format.get("type") != "text":
        params["response_format"] = response_format
    options = body.get("stream_options") or {}
    usage = options.get("include_usage")
    if usage is not None and not isinstance(usage, bool):
        raise _invalid_type("stream_options.include_usage", "a boolean", usage)
    return ChatRequest(body["model"], messages, params, bool(body.get("stream")), bool(usage))


def _tool_choice(choice: str | dict[str, Any]) -> str:
    """OpenAI's `tool_choice` as the library takes it: "auto", "required", "none" or a tool's name."""
    if isinstance(choice, str):
        return choice
    function = choice.get("function")
    name = function.get("name") if isinstance(function, dict) else None
    if choice.get("type") != "function" or not isinstance(name, str):
        raise GatewayError(
            400,
            "Invalid 'tool_choice': expected 'auto', 'required', 'none' or "
            '{"type": "function", "function": {"name": ...}}.',
            code="invalid_value",
            param="tool_choice",
        )
    return name


class EmbeddingRequest:
    """A checked embeddings request: the model, the texts, the library's keywords, the encoding."""

    __slots__ = ("base64", "inputs", "model", "params")

    def __init__(self, model: str, inputs: list[str], params: dict[str, Any], base64: bool) -> None:
        self.model = model
        self.inputs = inputs
        self.params = params
        self.base64 = base64


def parse_embeddings(body: dict[str, Any]) -> EmbeddingRequest:
    """`POST /v1/embeddings`'s body as a library call, or OpenAI's 400 naming the field."""
    _check(body, _EMBED_FIELDS, ("model", "input"))
    inputs = body["input"]
    if isinstance(inputs, str):
        inputs = [inputs]
    elif not all(isinstance(text, str) for text in inputs):
        raise GatewayError(
            400,
            "Invalid 'input': this gateway embeds text only: a string or an array of strings (not token arrays).",
            code="invalid_value",
            param="input",
        )
    encoding = body.get("encoding_format") or "float"
    if encoding not in ("float", "base64"):
        raise GatewayError(
            400,
            f"Invalid 'encoding_format': {encoding!r}. Expected 'float' or 'base64'.",
            code="invalid_value",
            param="encoding_format",
        )
    params = {name: body[name] for name in ("dimensions", "user") if body.get(name) is not None}
    return EmbeddingRequest(body["model"], inputs, params, encoding == "base64")


# Answers ---------------------------------------------------------------------------------------


def usage_object(usage: Usage) -> dict[str, Any]:
    """OpenAI's `usage`, plus `cost`: our exact USD cost, null when unknown (an extra field SDKs keep)."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {
            "cached_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
        },
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "cost": usage.cost,
    }


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def chat_completion(response: Response) -> dict[str, Any]:
    """A `Response` as OpenAI's `chat.completion` object."""
    message = response.message
    message["refusal"] = None
    return {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": response.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": response.finish_reason or "stop"}
        ],
        "usage": usage_object(response.usage),
        "system_fingerprint": None,
    }


def chat_chunk(head: dict[str, Any], delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
    """One server-sent event of a stream: a `chat.completion.chunk` with `head`'s id, created, model
    (and `usage: null` when the client asked for usage); `delta` None is the usage chunk's empty choices."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    return b"data: " + dumps({**head, "choices": choices}) + b"\n\n"


def embedding_list(embeddings: Embeddings, as_base64: bool) -> dict[str, Any]:
    """`Embeddings` as OpenAI's list of `embedding` objects; base64 is little-endian float32, as OpenAI's."""
    data = []
    for index, vector in enumerate(embeddings.vectors):
        value: Any = vector
        if as_base64:
            value = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
        data.append({"object": "embedding", "index": index, "embedding": value})
    usage = embeddings.usage
    return {
        "object": "list",
        "data": data,
        "model": embeddings.model,
        "usage": {"prompt_tokens": usage.input_tokens, "total_tokens": usage.input_tokens, "cost": usage.cost},
    }


def model_object(info: ModelInfo, created: int) -> dict[str, Any]:
    """A catalog row as OpenAI's `model` object (`shutdown_date` is the catalog's sunset), with what the
    page shows: limits, capabilities, prices (USD per 1M tokens) and status."""
    price = info.price
    return {
        "id": info.id,
        "object": "model",
        "created": created,
        "owned_by": info.provider,
        "shutdown_date": info.sunset,
        "context_window": info.context_window,
        "max_output": info.max_output,
        "capabilities": sorted(str(c) for c in info.capabilities),
        "pricing": None
        if price is None
        else {"input": float(price.input), "output": float(price.output), "cached_input": float(price.cached_input)},
        "status": info.status,
    }
