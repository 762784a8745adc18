"""Wire-level fake of the OpenAI, Anthropic, Gemini and Bedrock (tests/fake_bedrock.py) HTTP APIs.

A real HTTP/1.1 server on 127.0.0.1 that the official SDKs talk to unmodified, so tests exercise the
SDKs' own parsing, typed objects and typed exceptions rather than mocks. Answers and misbehaviours are
scripted with `Reply` and `Fault` (one queued item per request, any provider), and every request is
recorded for assertions. tests/test_fake_llm.py proves the wire format against the real SDKs.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
from contextlib import suppress
from dataclasses import dataclass, field, replace
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

from . import fake_bedrock
from .fake_embeddings import GOOGLE_METHODS, render_google_embeddings, render_openai_embeddings

OPENAI, ANTHROPIC, GOOGLE, BEDROCK = "openai", "anthropic", "google", "bedrock"
_PROVIDERS = (OPENAI, ANTHROPIC, GOOGLE)
_DEFAULT_MESSAGE = "fault"
_TRICKLE_BYTES = 64  # a trickling answer's bytes per write: every read gets data in time, the answer does not


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it, for assertions on what the SDK sent."""

    provider: str  # "openai" | "anthropic" | "google" | "bedrock"; "unknown" for a path the fake does not serve (404)
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # keys lower-cased
    body: dict[str, Any]
    model: str  # body["model"] for openai/anthropic; from the URL for google (without "models/") and bedrock
    stream: bool


@dataclass(frozen=True)
class Reply:
    """What the next successful answer says, in provider-neutral terms; rendered per provider."""

    text: str | None = None  # None: "echo: " + the text of the last user message in the request
    input_tokens: int = 10  # every prompt token, cached and cache-writes included
    output_tokens: int = 5  # every generated token, reasoning included
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    finish_reason: str = "stop"  # "stop" | "length" | "content_filter" | "tool_calls"
    raw_usage: dict[str, Any] | None = None  # sent verbatim as the provider's usage object
    blocked: bool = False  # google: promptFeedback SAFETY; anthropic: "refusal"; openai: "content_filter";
    # bedrock: "guardrail_intervened", the text (the guardrail's message) kept
    chunks: int = 3  # streaming: pieces the text is split into (fewer if the text is shorter)
    first_chunk_delay: float = 0.0  # streaming: seconds between the headers and the first piece
    # Tool calls the answer makes, in order: (id, name, arguments). Rendered in each provider's own
    # shape (OpenAI message.tool_calls / streamed tool_call deltas, Anthropic tool_use blocks /
    # input_json_delta, Gemini functionCall parts), after the text if there is any. Set
    # finish_reason="tool_calls" with them, as the APIs do.
    tool_calls: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    refusal: str | None = None  # openai: message.refusal (structured outputs), content null
    thought_signature: str | None = None  # google: thoughtSignature on the first functionCall part
    # openai: where a stream reports its usage, as OpenAI-compatible services differ. "asked": a last
    # `choices: []` chunk when the request asks (stream_options.include_usage), as OpenAI; "always": that
    # chunk unasked too (Fireworks, OpenRouter, Together); "last": on the chunk with the finish reason,
    # unasked (Mistral); "x_groq": in that chunk's `x_groq.usage`, no usage chunk (Groq before it took
    # stream_options); "null_choices": as asked, with `choices: null` (some vLLM builds)
    stream_usage: str = "asked"
    # openai: Azure OpenAI's content-filter annotations: `prompt_filter_results` on the body and
    # `content_filter_results` on each choice (a category filtered when finish_reason is content_filter);
    # streamed, a first chunk with `choices: []` and an empty id and model that carries only the prompt's
    # results, and after the text an annotation chunk whose choice has no delta (asynchronous filtering).
    azure_filters: bool = False


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, consumed by one request."""

    status: int | None = None  # HTTP error status; body in the provider's own error format
    message: str = _DEFAULT_MESSAGE
    code: str | None = None  # openai error.code / anthropic error.type / google error.status override
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # sleep first; with nothing else set, then answer with the default Reply
    reset: bool = False  # RST the connection (SO_LINGER 0) without any response
    drop_after_chunks: int | None = None  # send N pieces, then FIN; a plain call gets half its body
    stream_error: bool = False  # after the first piece, the provider's in-stream error event
    kind: str | None = None  # set by the helpers so one Fault renders each provider's own way
    trickle: float = 0.0  # after the headers, the answer (body or stream) _TRICKLE_BYTES at a time, this many s apart
    body: bytes | None = None  # the whole body, verbatim, with `status` (200 when None): a proxy's page, bad JSON
    content_type: str | None = None  # replaces the Content-Type of whatever is sent
    sse_comment: bool | str = False  # streaming: a ": keep-alive" comment line (or this one) before every event
    inject: bytes | None = None  # streaming: these bytes, verbatim, right after the first piece (a bad frame)
    end_after_chunks: int | None = None  # streaming: N pieces, then a clean end of the body, no closing events
    echo_key: bool = False  # the error message ends with the key header the request sent, as some servers do

    @classmethod
    def rate_limit(cls, retry_after: str | None = "0") -> Fault:
        """429; Retry-After (and Google's RetryInfo) only when `retry_after` is given."""
        return cls(status=429, headers={} if retry_after is None else {"retry-after": retry_after}, kind="rate_limit")

    @classmethod
    def auth(cls) -> Fault:
        return cls(status=401, kind="auth")

    @classmethod
    def context_window(cls) -> Fault:
        return cls(status=400, kind="context_window")

    @classmethod
    def server(cls) -> Fault:
        return cls(status=500, kind="server")

    @classmethod
    def overloaded(cls) -> Fault:
        """529 for Anthropic; 503 for the providers that have no 529."""
        return cls(status=529, kind="overloaded")

    @classmethod
    def invalid_key_400(cls) -> Fault:
        """Google rejects a bad key with 400 API_KEY_INVALID; the others answer 401."""
        return cls(status=400, kind="invalid_key")


_BAD_KEY = "Incorrect API key provided: sk-***. You can find your API key at https://platform.openai.com."
_CTX_GOOGLE = "The input token count (250000) exceeds the maximum number of tokens allowed (1048576)."
_KEY_INVALID = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "API_KEY_INVALID",
    "domain": "googleapis.com",
}
_CTX = "This model's maximum context length is 128000 tokens. However, your messages resulted in 250000 tokens."
# kind -> per provider (openai, anthropic, google): (status, code, message). "code" is openai error.code,
# anthropic error.type and google error.status.
_KINDS: dict[str, tuple[tuple[int, str | None, str], ...]] = {
    "rate_limit": (
        (429, "rate_limit_exceeded", "Rate limit reached for requests."),
        (429, "rate_limit_error", "Number of requests has exceeded your rate limit."),
        (429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
    ),
    "auth": (
        (401, "invalid_api_key", _BAD_KEY),
        (401, "authentication_error", "invalid x-api-key"),
        (401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
    ),
    "context_window": (
        (400, "context_length_exceeded", _CTX),
        (400, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum"),
        (400, "INVALID_ARGUMENT", _CTX_GOOGLE),
    ),
    "server": (
        (500, None, "The server had an error while processing your request."),
        (500, "api_error", "Internal server error"),
        (500, "INTERNAL", "An internal error has occurred."),
    ),
    "overloaded": (
        (503, None, "The engine is currently overloaded, please try again later."),
        (529, "overloaded_error", "Overloaded"),
        (503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    ),
    "invalid_key": (
        (401, "invalid_api_key", _BAD_KEY),
        (401, "authentication_error", "invalid x-api-key"),
        (400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
    ),
}
# status -> (openai error.type, anthropic error.type, google error.status) for Faults without a kind
_NAMES = {
    400: ("invalid_request_error", "invalid_request_error", "INVALID_ARGUMENT"),
    401: ("invalid_request_error", "authentication_error", "UNAUTHENTICATED"),
    403: ("permission_error", "permission_error", "PERMISSION_DENIED"),
    404: ("invalid_request_error", "not_found_error", "NOT_FOUND"),
    429: ("rate_limit_error", "rate_limit_error", "RESOURCE_EXHAUSTED"),
    500: ("server_error", "api_error", "INTERNAL"),
    503: ("server_error", "api_error", "UNAVAILABLE"),
    529: ("server_error", "overloaded_error", "UNAVAILABLE"),
}
_ANTHROPIC_STOP = {"stop": "end_turn", "length": "max_tokens", "content_filter": "refusal", "tool_calls": "tool_use"}
_GOOGLE_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "content_filter": "SAFETY", "tool_calls": "STOP"}
# The SDK's default api_version has moved (v1beta, now v1), so any version prefix is served.
_GOOGLE_PATH = re.compile(
    r"^/v1[a-z0-9]*/((?:models|tunedModels)/[^/:]+):"
    r"(generateContent|streamGenerateContent|embedContent|batchEmbedContents)$"
)


def _error(
    provider: str, fault: Fault, request_id: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any]]:
    """Status and body of `fault` in the provider's own error format (Bedrock's error name joins `headers`)."""
    if provider == BEDROCK:
        status, body, more = fake_bedrock.error(fault)
        (headers if headers is not None else {}).update(more)
        return status, body
    status, code, message = fault.status or 500, fault.code, fault.message
    if fault.kind is not None:
        status, kind_code, kind_message = _KINDS[fault.kind][_PROVIDERS.index(provider)]
        code = code or kind_code
        message = kind_message if message == _DEFAULT_MESSAGE else message
    fallback = ("server_error", "api_error", "UNKNOWN") if status >= 500 else ("invalid_request_error", "", "UNKNOWN")
    names = _NAMES.get(status, fallback)
    if provider == OPENAI:
        return status, {"error": {"message": message, "type": names[0], "param": None, "code": code}}
    if provider == ANTHROPIC:
        error = {"type": code or names[1] or "invalid_request_error", "message": message}
        return status, {"type": "error", "error": error, "request_id": request_id}
    body: dict[str, Any] = {"code": status, "message": message, "status": code or names[2]}
    retry_after = {k.lower(): v for k, v in fault.headers.items()}.get("retry-after", "")
    details = []
    if status == 429 and re.fullmatch(r"\d+(\.\d+)?", retry_after):
        details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after}s"})
    if fault.kind == "invalid_key":
        details.append(_KEY_INVALID)
    return status, {"error": {**body, "details": details} if details else body}


def _echoing_key(provider: str, fault: Fault, headers: dict[str, str]) -> Fault:
    """`fault` with the request's key header value in its message (Authorization, x-api-key,
    x-goog-api-key, or Azure's api-key)."""
    sent = headers.get("authorization") or headers.get("x-api-key") or headers.get("x-goog-api-key") or ""
    sent = sent or headers.get("api-key") or ""
    if provider == BEDROCK:  # the signature's header and the session token
        sent = " ".join(headers.get(name, "") for name in fake_bedrock.SECRET_HEADERS)
    message = fault.message
    if message == _DEFAULT_MESSAGE and fault.kind is not None:
        message = (
            fake_bedrock.error(fault)[1]["message"]
            if provider == BEDROCK
            else _KINDS[fault.kind][_PROVIDERS.index(provider)][2]
        )
    return replace(fault, message=f"{message} Key sent: {sent}")


def _split(text: str, n: int) -> list[str]:
    """`text` in at most `n` non-empty pieces, as even as possible (one empty piece for empty text)."""
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    bounds = [i * size + min(i, extra) for i in range(n + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(n)]


def _last_user_text(provider: str, body: dict[str, Any]) -> str:
    """Text of the last user turn: a plain string or the text parts of a content list."""
    turns, key = ("contents", "parts") if provider == GOOGLE else ("messages", "content")
    users = [t for t in body.get(turns) or [] if isinstance(t, dict) and t.get("role", "user") == "user"]
    content = users[-1].get(key, "") if users else ""
    if isinstance(content, str):
        return content
    return "".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))


def _sse(data: Any, event: str | None = None, sep: str = "\n") -> bytes:
    head = f"event: {event}{sep}" if event else ""
    return f"{head}data: {data if isinstance(data, str) else json.dumps(data)}{sep}{sep}".encode()


class _Rendered(NamedTuple):
    """A reply as a whole body and as stream frames: preamble, one frame per text piece, epilogue."""

    body: dict[str, Any]
    pre: list[bytes]
    pieces: list[bytes]
    post: list[bytes]


def _render_openai(r: Reply, text: str, req: Recorded) -> _Rendered:
    usage = r.raw_usage
    if usage is None:
        usage = {
            "prompt_tokens": r.input_tokens,
            "completion_tokens": r.output_tokens,
            "total_tokens": r.input_tokens + r.output_tokens,
            "prompt_tokens_details": {"cached_tokens": r.cached_input_tokens},
            "completion_tokens_details": {"reasoning_tokens": r.reasoning_tokens},
        }
    finish = "content_filter" if r.blocked else r.finish_reason
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:24]}", "created": int(time.time()), "model": req.model}
    # A refusal replaces the content; with tool calls and no text the content is null, as the API sends.
    content = None if r.refusal is not None or (r.tool_calls and not text) else text
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": r.refusal, "annotations": []}
    calls = [
        {"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, n, a in r.tool_calls
    ]
    if calls:
        message["tool_calls"] = calls
    filters = _azure_filters(finish) if r.azure_filters else {}
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish, **filters}
    body = {**base, "object": "chat.completion", "choices": [choice], "usage": usage, "system_fingerprint": None}
    asked = bool((req.body.get("stream_options") or {}).get("include_usage"))
    with_usage = r.stream_usage == "always" or (asked and r.stream_usage in ("asked", "null_choices"))
    chunk = {**base, "object": "chat.completion.chunk", **({"usage": None} if with_usage else {})}
    closing = {"last": {"usage": usage}, "x_groq": {"x_groq": {"id": "req_x", "usage": usage}}}.get(r.stream_usage, {})

    def frame(delta: dict[str, Any], reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason, **filters}
        return _sse({**chunk, "choices": [choice], **(closing if reason else {})})

    # Streamed: text (or refusal) pieces, the first with the role; then per call one delta with index, id,
    # type, name and empty arguments, followed by argument fragments carrying only the index; the finish
    # reason in a last empty delta (without calls, on the last piece).
    key, shown = ("content", text) if r.refusal is None else ("refusal", r.refusal)
    deltas: list[dict[str, Any]] = [] if calls and not shown else [{key: p} for p in _split(shown, r.chunks)]
    for i, call in enumerate(calls):
        deltas.append({"tool_calls": [{"index": i, **call, "function": {**call["function"], "arguments": ""}}]})
        for piece in _split(call["function"]["arguments"], r.chunks):
            deltas.append({"tool_calls": [{"index": i, "function": {"arguments": piece}}]})
    deltas[0] = {"role": "assistant", "content": None, "refusal": None, **deltas[0]}
    frames = [frame(d, None if calls or i < len(deltas) - 1 else finish) for i, d in enumerate(deltas)]
    post = [frame({}, finish)] if calls else []
    empty = None if r.stream_usage == "null_choices" else []
    post += [_sse({**chunk, "choices": empty, "usage": usage})] if with_usage else []
    if not filters:
        return _Rendered(body, [], frames, [*post, _sse("[DONE]")])
    # Azure: the prompt's results on the body, and streamed in a first chunk of their own; the answer's
    # again in a late chunk without a delta, as asynchronous filtering sends them.
    prompt = [{"prompt_index": 0, "content_filter_results": _AZURE_SAFE}]
    offsets = {"check_offset": 0, "start_offset": 0, "end_offset": len(shown)}
    late = {"index": 0, "finish_reason": None, "content_filter_offsets": offsets, **filters}
    pre = [_sse({"choices": [], **_AZURE_NO_ID, "prompt_filter_results": prompt})]
    post = [_sse({"choices": [late], **_AZURE_NO_ID}), *post]
    return _Rendered({**body, "prompt_filter_results": prompt}, pre, frames, [*post, _sse("[DONE]")])


_AZURE_SAFE = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}
_AZURE_NO_ID = {"created": 0, "id": "", "model": "", "object": ""}  # Azure's chunks that carry only filter results


def _azure_filters(finish: str) -> dict[str, Any]:
    """A choice's `content_filter_results`: every category safe, or violence filtered when the answer was."""
    if finish != "content_filter":
        return {"content_filter_results": _AZURE_SAFE}
    return {"content_filter_results": {**_AZURE_SAFE, "violence": {"filtered": True, "severity": "high"}}}


def _render_anthropic(r: Reply, text: str, req: Recorded) -> _Rendered:
    usage = r.raw_usage
    if usage is None:
        usage = {
            "input_tokens": r.input_tokens - r.cached_input_tokens - r.cache_write_tokens,
            "output_tokens": r.output_tokens,
            "cache_read_input_tokens": r.cached_input_tokens,
            "cache_creation_input_tokens": r.cache_write_tokens,
        }
    stop = "refusal" if r.blocked else _ANTHROPIC_STOP.get(r.finish_reason, r.finish_reason)
    head = {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant", "model": req.model}
    has_text = not r.blocked and (bool(text) or not r.tool_calls)  # a tool-only answer has no text block
    calls = [{"type": "tool_use", "id": i, "name": n, "input": args} for i, n, args in r.tool_calls]
    content = [{"type": "text", "text": text}] if has_text else []
    body = {**head, "content": content + calls, "stop_reason": stop, "stop_sequence": None, "usage": usage}
    start_usage = usage if r.raw_usage is not None else {**usage, "output_tokens": 1}
    start: dict[str, Any] = {**head, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    pre = [_sse({"type": "message_start", "message": start}, "message_start"), _sse({"type": "ping"}, "ping")]
    frames: list[bytes] = []
    post: list[bytes] = []
    if has_text:
        block = {"type": "text", "text": ""}
        pre.append(_sse({"type": "content_block_start", "index": 0, "content_block": block}, "content_block_start"))
        for piece in _split(text, r.chunks):
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
            frames.append(_sse(delta, "content_block_delta"))
        post.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    # Each tool_use block: started with input {}, then its JSON in fragments (the API's first is ""), then stopped.
    for index, call in enumerate(calls, start=len(content)):
        opened = {"type": "content_block_start", "index": index, "content_block": {**call, "input": {}}}
        post.append(_sse(opened, "content_block_start"))
        for piece in ["", *_split(json.dumps(call["input"]), r.chunks)]:
            delta = {"type": "input_json_delta", "partial_json": piece}
            post.append(_sse({"type": "content_block_delta", "index": index, "delta": delta}, "content_block_delta"))
        post.append(_sse({"type": "content_block_stop", "index": index}, "content_block_stop"))
    end_usage = usage if r.raw_usage is not None else {"output_tokens": r.output_tokens}
    end = {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None}, "usage": end_usage}
    post += [_sse(end, "message_delta"), _sse({"type": "message_stop"}, "message_stop")]
    return _Rendered(body, pre, frames, post)


def _render_google(r: Reply, text: str, req: Recorded) -> _Rendered:
    """Tool calls are `functionCall` parts after the text (an empty id is left out, as Gemini 2.x sends
    none), `thoughtSignature` on the first one; streamed, each arrives whole in a chunk of its own."""
    usage = r.raw_usage
    if usage is None:
        total = r.input_tokens + r.output_tokens
        usage = {"promptTokenCount": r.input_tokens, "candidatesTokenCount": r.output_tokens - r.reasoning_tokens}
        usage["totalTokenCount"] = total
        if r.cached_input_tokens:
            usage["cachedContentTokenCount"] = r.cached_input_tokens
        if r.reasoning_tokens:
            usage["thoughtsTokenCount"] = r.reasoning_tokens
    tail = {"modelVersion": req.model, "responseId": uuid.uuid4().hex[:22]}
    if r.blocked:
        body = {"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": usage, **tail}
        return _Rendered(body, [], [], [_sse(body, sep="\r\n")])
    # Like the real API, earlier chunks carry a partial usageMetadata; only the last one is complete.
    early = None if r.raw_usage is not None else {"promptTokenCount": r.input_tokens, "totalTokenCount": r.input_tokens}
    calls: list[dict[str, Any]] = []
    for i, (call_id, name, args) in enumerate(r.tool_calls):
        call: dict[str, Any] = {"functionCall": {**({"id": call_id} if call_id else {}), "name": name, "args": args}}
        if i == 0 and r.thought_signature is not None:
            call["thoughtSignature"] = r.thought_signature
        calls.append(call)

    def chunk(parts: list[dict[str, Any]], last: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if last:
            candidate["finishReason"] = _GOOGLE_FINISH.get(r.finish_reason, "STOP")
        meta = usage if last else early
        return {"candidates": [candidate], **({"usageMetadata": meta} if meta else {}), **tail}

    texts = _split(text, r.chunks) if text or not calls else []  # no empty text part before calls
    pieces = [[{"text": piece}] for piece in texts] + [[call] for call in calls]
    frames = [_sse(chunk(p, i == len(pieces) - 1), sep="\r\n") for i, p in enumerate(pieces)]
    return _Rendered(chunk(([{"text": text}] if texts else []) + calls, True), [], frames, [])


def _render_bedrock(r: Reply, text: str, req: Recorded) -> _Rendered:
    return _Rendered(*fake_bedrock.render(r, text))


_RENDER = {OPENAI: _render_openai, ANTHROPIC: _render_anthropic, GOOGLE: _render_google, BEDROCK: _render_bedrock}


# What each API refuses in a request body with a 400 (its own error format): the shape of
# image, document and audio parts (base64 validity, media types, required fields), as the real
# API checks them. Each returns the API's message for the first problem, or None.
def _check_openai(body: dict[str, Any]) -> str | None:
    """Chat Completions: each role's part types (files in user turns only), and each file part's shape.

    The messages are the API's own where they are known (its "Invalid value", "Missing required
    parameter", "Invalid type", "Invalid image URL", "Invalid file data" and "unsupported image"
    errors, as reported in SDK issues); the audio and not-a-PDF ones are ours. The 400 carries
    them without the API's `param` and `code`.
    """
    messages = body.get("messages")
    for i, message in enumerate(messages if isinstance(messages, list) else ()):
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            allowed = _OPENAI_PARTS.get(message.get("role"), ("text",))
            for j, part in enumerate(content):
                problem = _openai_part(part, f"messages[{i}].content[{j}]", allowed)
                if problem is not None:
                    return problem
    return None


_OPENAI_PARTS = {"user": ("text", "image_url", "input_audio", "file"), "assistant": ("text", "refusal")}
_OPENAI_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_OPENAI_EXPECTED = "Expected a base64-encoded data URL with {} MIME type (e.g. 'data:{};base64,{}'), but got {}."


def _openai_part(part: Any, where: str, allowed: tuple[str, ...]) -> str | None:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind not in allowed:
        quoted = [repr(k) for k in allowed]
        listed = " and ".join(quoted) if len(quoted) < 3 else ", ".join(quoted[:-1]) + ", and " + quoted[-1]
        return f"Invalid value: {kind!r}. Supported values are: {listed}."
    value = part.get(kind)
    if kind in ("text", "refusal"):
        return None if isinstance(value, str) else f"Missing required parameter: '{where}.{kind}'."
    if not isinstance(value, dict):
        got = {str: "a string", list: "an array", bool: "a boolean", int: "an integer", float: "a number"}
        return f"Invalid type for '{where}.{kind}': expected an object, but got {got.get(type(value), 'null')} instead."
    if kind == "image_url":
        return _openai_image(value, f"{where}.image_url")
    if kind == "input_audio":
        return _openai_audio(value, f"{where}.input_audio")
    return _openai_file(value, f"{where}.file")


def _openai_image(image: dict[str, Any], where: str) -> str | None:
    url, detail = image.get("url"), image.get("detail", "auto")
    if not isinstance(url, str):
        return f"Missing required parameter: '{where}.url'."
    if detail not in ("auto", "low", "high", "original"):
        return f"Invalid value: {detail!r}. Supported values are: 'auto', 'low', 'high', and 'original'."
    if url.startswith(("http://", "https://")):
        return None  # the API fetches it
    data, problem = _openai_data_url(url, _OPENAI_IMAGES)
    if problem is not None:
        expected = _OPENAI_EXPECTED.format("an image", "image/png", "aW1nIGJ5dGVzIGhlcmU=", problem)
        return f"Invalid image URL: '{where}.url'. {expected}"
    if _openai_magic(data) not in _OPENAI_IMAGES:  # the bytes decide, not the declared type
        return (
            "You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is of "
            "one the following formats: ['png', 'jpeg', 'gif', 'webp']."
        )
    return None


def _openai_audio(audio: dict[str, Any], where: str) -> str | None:
    data, fmt = audio.get("data"), audio.get("format")
    if not isinstance(data, str):
        return f"Missing required parameter: '{where}.data'."
    if fmt is None:
        return f"Missing required parameter: '{where}.format'."
    if fmt not in ("wav", "mp3"):
        return f"Invalid value: {fmt!r}. Supported values are: 'wav' and 'mp3'."
    decoded = _openai_base64(data)
    if not decoded:
        got = "nothing" if decoded == b"" else "invalid base64"
        return f"Invalid '{where}.data': expected base64-encoded audio, but got {got}."
    if _openai_magic(decoded) != ("audio/wav" if fmt == "wav" else "audio/mpeg"):
        return f"The audio in '{where}.data' could not be decoded as {fmt}."
    return None


def _openai_file(file: dict[str, Any], where: str) -> str | None:
    if "file_data" not in file and isinstance(file.get("file_id"), str):
        return None  # an uploaded file
    data = file.get("file_data")
    if not isinstance(data, str):
        return f"Missing required parameter: '{where}.file_data'."
    if not isinstance(file.get("filename"), str):
        return f"Missing required parameter: '{where}.filename'."
    decoded, problem = _openai_data_url(data, ("application/pdf",))
    if problem is not None:
        expected = _OPENAI_EXPECTED.format("an application/pdf", "application/pdf", "SGVsbG8sIFdvcmxkIQ==", problem)
        return f"Invalid file data: '{where}.file_data'. {expected}"
    if _openai_magic(decoded) != "application/pdf":
        return f"Invalid file data: '{where}.file_data'. The file is not a valid PDF."
    return None


def _openai_data_url(url: str, types: tuple[str, ...]) -> tuple[bytes, str | None]:
    """The bytes of a `data:<type>;base64,<data>` URL of one of `types`, or what is wrong with it."""
    if not url.startswith("data:"):
        return b"", "a value without the 'data:' prefix"
    head, comma, payload = url[5:].partition(",")
    if not comma or not head.endswith(";base64"):
        return b"", "a data URL that is not base64-encoded"
    if head[:-7] not in types:
        return b"", f"unsupported MIME type {head[:-7]!r}"
    data = _openai_base64(payload)
    if not data:
        return b"", "empty base64-encoded bytes" if data == b"" else "invalid base64-encoded bytes"
    return data, None


def _openai_base64(text: str) -> bytes | None:
    """Strict base64 (None if invalid), as the API decodes it."""
    import base64
    import binascii

    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _openai_magic(data: bytes) -> str | None:
    """The media type a file's first bytes show (the fake's own reading, not the library's)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if data[8:12] == b"WEBP" else "audio/wav"
    if data[:5] == b"%PDF-":
        return "application/pdf"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] >= 0xE0):
        return "audio/mpeg"
    return None


def _check_anthropic(body: dict[str, Any]) -> str | None:
    """Image and document blocks in the turns and in `tool_result` contents, as the Messages API
    validates them (its messages, with the block's path, are the ones it answers with)."""
    for i, turn in enumerate(body.get("messages") or ()):
        content = turn.get("content") if isinstance(turn, dict) else None
        for j, block in enumerate(content if isinstance(content, list) else ()):
            where = f"messages.{i}.content.{j}"
            blocks = [(block, where)]
            inner = block.get("content") if isinstance(block, dict) and block.get("type") == "tool_result" else None
            if isinstance(inner, list):
                blocks += [(part, f"{where}.tool_result.content.{k}") for k, part in enumerate(inner)]
            for one, path in blocks:
                problem = _anthropic_block(one, path)
                if problem is not None:
                    return problem
    return None


_ANTHROPIC_SOURCES = {"image": ("base64", "url", "file"), "document": ("base64", "text", "content", "url", "file")}
_ANTHROPIC_TYPES = {"image": ("image/jpeg", "image/png", "image/gif", "image/webp"), "pdf": ("application/pdf",)}
_ANTHROPIC_IMAGE_MAX = 5 * 1024 * 1024  # characters of base64: "image exceeds 5 MB maximum: N bytes > 5242880 bytes"
_FOREIGN_PARTS = ("image_url", "input_audio", "file", "attachment")  # other APIs' parts (and ours), never Anthropic's
_NO_TAG = "Input tag '{}' found using 'type' does not match any of the expected tags"


def _anthropic_block(block: Any, where: str) -> str | None:
    """What the API says about one content block (`where` is its path), or None when it takes it."""
    kind = block.get("type") if isinstance(block, dict) else None
    if kind in _FOREIGN_PARTS:
        return f"{where}: {_NO_TAG.format(kind)}"
    if kind not in _ANTHROPIC_SOURCES:
        return None
    source = block.get("source")
    if not isinstance(source, dict):
        return f"{where}.{kind}.source: Field required"
    tag, tags = source.get("type"), _ANTHROPIC_SOURCES[kind]
    if tag not in tags:
        return f"{where}.{kind}.source: {_NO_TAG.format(tag)}: {', '.join(map(repr, tags))}"
    if tag == "url" and not str(source.get("url", "")).startswith(("http://", "https://")):
        return f"{where}.{kind}.source.url.url: Field required"
    if tag != "base64":
        return None
    kind = "pdf" if kind == "document" else kind  # the API names a base64 PDF's path "pdf"
    where = f"{where}.{kind}.source.base64"
    media_type, data = source.get("media_type"), source.get("data")
    for name, value in (("media_type", media_type), ("data", data)):
        if not isinstance(value, str):
            return f"{where}.{name}: Field required"
    if media_type not in _ANTHROPIC_TYPES[kind]:
        *others, last = map(repr, _ANTHROPIC_TYPES[kind])
        return f"{where}.media_type: Input should be {', '.join(others) + ' or ' if others else ''}{last}"
    try:
        content = base64.b64decode(str(data), validate=True)
    except (binascii.Error, ValueError):
        return f"{where}: invalid base64 data"
    if kind == "pdf":
        return None if content.startswith(b"%PDF-") else f"{where}.data: The PDF specified was not valid."
    return _anthropic_image(str(media_type), len(str(data)), content, where)


def _anthropic_image(media_type: str, encoded: int, content: bytes, where: str) -> str | None:
    """An image's data: not empty, at most 5 MB of base64, and of the type it says it is."""
    if not content:
        return f"{where}: image cannot be empty"
    if encoded > _ANTHROPIC_IMAGE_MAX:
        return f"{where}: image exceeds 5 MB maximum: {encoded} bytes > {_ANTHROPIC_IMAGE_MAX} bytes"
    seen = _image_type(content)
    if seen is None:
        return "Could not process image"
    if seen != media_type:
        said = f"The image was specified using the {media_type} media type"
        return f"{where}: {said}, but the image appears to be a {seen} image"
    return None


def _image_type(head: bytes) -> str | None:
    """The image type the first bytes say, by their magic numbers (the fake's own, not the library's)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


# Gemini: each Part sets exactly one field of its `data` oneof. Its JSON (protobuf's mapping,
# https://protobuf.dev/programming-guides/json/) takes a field by its proto name or its lowerCamelCase
# one (google-genai sends `inlineData` holding `mime_type`), and bytes as standard or URL-safe base64,
# padded or not (the SDK sends URL-safe). Media types: those the docs list for inline data (images
# https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats, audio .../docs/audio,
# PDF .../docs/document-processing; no GIF, and MP3 by its documented name, audio/mp3) and for URLs
# Gemini fetches (.../docs/file-input-methods#supported-content-types). Messages are the API's own:
# "Invalid value at ... Base64 decoding failed for", "Unsupported MIME type: image/gif", "required
# oneof field 'data' must have one initialized field", else its generic one (a blob without data, a
# file_data without file_uri: no specific text is documented). Video and YouTube URLs are not modelled.
_GOOGLE_DATA = {
    name: snake
    for snake, camel in [
        ("text", "text"),
        ("inline_data", "inlineData"),
        ("file_data", "fileData"),
        ("function_call", "functionCall"),
        ("function_response", "functionResponse"),
        ("executable_code", "executableCode"),
        ("code_execution_result", "codeExecutionResult"),
    ]
    for name in (snake, camel)
}
_GOOGLE_INLINE = frozenset(
    {
        *("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "application/pdf"),
        *("audio/wav", "audio/mp3", "audio/aiff", "audio/aac", "audio/ogg", "audio/flac"),
    }
)
_GOOGLE_URL = frozenset(
    {
        *("text/html", "text/css", "text/plain", "text/xml", "text/csv", "text/rtf", "text/javascript"),
        *("application/json", "application/pdf", "image/bmp", "image/jpeg", "image/png", "image/webp"),
    }
)
_GOOGLE_FILES = "https://generativelanguage.googleapis.com/"  # a Files API upload: any inline type
_GOOGLE_INVALID = "Request contains an invalid argument."  # its generic INVALID_ARGUMENT text
_GOOGLE_ONEOF = "required oneof field 'data'"


def _check_google(body: dict[str, Any]) -> str | None:
    """The first problem with a part (a body that does not parse, bad base64, comes before any other)."""
    problem = None
    for i, content in enumerate(body.get("contents") or ()):
        for j, part in enumerate(content.get("parts") or () if isinstance(content, dict) else ()):
            found = _google_part_problem(part, f"contents[{i}].parts[{j}]") if isinstance(part, dict) else None
            if found is not None:
                unparsed, message = found
                if unparsed:
                    return message
                problem = problem or message
    return problem


def _google_part_problem(part: dict[str, Any], where: str) -> tuple[bool, str] | None:
    """(whether the body fails to parse, the API's message) for one Part, or None."""
    data = [name for name in part if name in _GOOGLE_DATA]
    if len(data) > 1:
        return True, f"Invalid value at '{where}' (oneof), oneof field 'data' is already set. Cannot set '{data[1]}'"
    if not data:
        return False, f"* GenerateContentRequest.{where}.data: {_GOOGLE_ONEOF} must have one initialized field\n"
    kind, value = _GOOGLE_DATA[data[0]], part[data[0]]
    value = value if isinstance(value, dict) else {}
    mime = value.get("mimeType", value.get("mime_type"))
    if kind == "inline_data":
        encoded = value.get("data")
        if encoded is not None and _google_unbase64(encoded) is None:
            field = f"{where}.inline_data.data"
            return True, f"Invalid value at '{field}' (TYPE_BYTES), Base64 decoding failed for \"{encoded}\""
        if mime not in _GOOGLE_INLINE:
            return False, f"Unsupported MIME type: {mime or ''}"
        return None if encoded else (False, _GOOGLE_INVALID)
    if kind == "file_data":
        uri = value.get("fileUri", value.get("file_uri"))
        if not isinstance(uri, str) or not uri:
            return False, _GOOGLE_INVALID
        if mime not in (_GOOGLE_INLINE if uri.startswith(_GOOGLE_FILES) else _GOOGLE_URL):
            return False, f"Unsupported MIME type: {mime or ''}"
    return None


def _google_unbase64(text: object) -> bytes | None:
    """`text` decoded as protobuf's JSON reads bytes (standard or URL-safe alphabet, padded or not), or None."""
    import base64  # here, not at the top: this file's imports are shared by every provider's checks
    import binascii

    if not isinstance(text, str):
        return None
    bare = text.rstrip("=")
    urlsafe = "-" in bare or "_" in bare
    if len(bare) % 4 == 1 or len(text) - len(bare) > 2 or (urlsafe and ("+" in bare or "/" in bare)):
        return None
    try:
        return base64.b64decode(bare + "=" * (-len(bare) % 4), altchars=b"-_" if urlsafe else None, validate=True)
    except binascii.Error:
        return None


_CHECK = {OPENAI: _check_openai, ANTHROPIC: _check_anthropic, GOOGLE: _check_google, BEDROCK: fake_bedrock.check}
_REQUEST_ID = {ANTHROPIC: "request-id", BEDROCK: fake_bedrock.REQUEST_ID}  # the others: x-request-id


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # hundreds of concurrent clients connect at once; a small backlog drops SYNs
    fake: FakeLLM

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections cut by a client or a Fault are expected; only real bugs are printed."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: Nagle + delayed ACK cost 40 ms
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._conns.add(self.connection)

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        with self.server.fake._lock:
            self.server.fake._conns.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: pytest output should show test failures, not access logs."""

    def _serve(self) -> None:
        fake, url = self.server.fake, urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}  # the SDKs never send this; recorded as an empty body and answered like one
        body = body if isinstance(body, dict) else {}
        provider, model, stream = "unknown", "", False
        google, bedrock = _GOOGLE_PATH.match(url.path), fake_bedrock.PATH.match(url.path)
        if self.command == "POST" and url.path.endswith("/embeddings"):  # OpenAI's, at any prefix
            provider, model = OPENAI, str(body.get("model", ""))
        elif self.command == "POST" and (url.path == "/v1/messages" or url.path.endswith("/chat/completions")):
            # Chat Completions at any prefix: OpenAI's /v1, the compatible services' (/openai/v1, /api/v1,
            # /inference/v1, none) and Azure's /openai/deployments/{deployment}
            provider = ANTHROPIC if url.path == "/v1/messages" else OPENAI
            model, stream = str(body.get("model", "")), bool(body.get("stream"))
        elif self.command == "POST" and google:
            provider, model = GOOGLE, google.group(1).removeprefix("models/")
            stream = google.group(2) == "streamGenerateContent"
        elif self.command == "POST" and bedrock:
            provider, model, stream = BEDROCK, unquote(bedrock.group(1)), bedrock.group(2) == "converse-stream"
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = dict(parse_qsl(url.query))
        req = Recorded(provider, self.command, url.path, query, headers, body, model, stream)
        with fake._lock:
            fake.requests.append(req)
        if provider == "unknown":
            error = {"code": 404, "message": f"Unknown path: {self.command} {url.path}", "status": "NOT_FOUND"}
            return self._send(404, json.dumps({"error": error}).encode(), {})
        request_id = f"req_{uuid.uuid4().hex[:24]}"
        extra = {_REQUEST_ID.get(provider, "x-request-id"): request_id}
        with fake._lock:
            item = fake._queue.pop(0) if fake._queue else fake._reply
            reply = item if isinstance(item, Reply) else fake._reply
        fault = item if isinstance(item, Fault) else Fault()
        invoke = bedrock is not None and bedrock.group(2) == "invoke"  # a Bedrock embedding model's InvokeModel
        problem = None if invoke else _CHECK[provider](body)
        if problem is not None:  # the API refuses a malformed request whatever was scripted
            status, payload = _error(provider, Fault(status=400, message=problem), request_id, extra)
            return self._send(status, json.dumps(payload).encode(), extra)
        if fault.echo_key:
            fault = _echoing_key(provider, fault, headers)
        extra.update(fault.headers)
        if fault.delay and fake._stopping.wait(fault.delay):
            return self._cut(reset=False)
        if fault.reset:
            return self._cut(reset=True)
        if fault.body is not None:
            return self._send(fault.status or 200, fault.body, extra, content_type=fault.content_type)
        if fault.status is not None or (fault.stream_error and not stream):
            status, payload = _error(provider, _as_error(fault), request_id, extra)
            return self._send(status, json.dumps(payload).encode(), extra, content_type=fault.content_type)
        if url.path.endswith("/embeddings"):
            status, payload = render_openai_embeddings(body)
            return self._send(status, json.dumps(payload).encode(), extra)
        if invoke:
            problem, payload, more = fake_bedrock.render_invoke(model, body, reply.raw_usage)
            if problem is not None:
                status, payload = _error(provider, Fault(status=400, message=problem), request_id, extra)
                return self._send(status, json.dumps(payload).encode(), extra)
            return self._send(200, json.dumps(payload).encode(), {**extra, **more})
        if google is not None and google.group(2) in GOOGLE_METHODS:
            status, payload = render_google_embeddings(google.group(2), model, body, reply.raw_usage)
            return self._send(status, json.dumps(payload).encode(), extra)
        text = reply.text if reply.text is not None else "echo: " + _last_user_text(provider, body)
        out = _RENDER[provider](reply, "" if reply.blocked else text, req)
        if not stream:
            data = json.dumps(out.body).encode()
            if fault.trickle:
                return self._send(200, data, extra, trickle=fault.trickle)
            if fault.drop_after_chunks is None:
                return self._send(200, data, extra, content_type=fault.content_type)
            self._send(200, data[: len(data) // 2], extra, length=len(data), content_type=fault.content_type)
            return self._cut(reset=False)
        self._stream(provider, reply, fault, out, request_id, extra)

    def _send(
        self,
        status: int,
        data: bytes,
        headers: dict[str, str],
        length: int | None = None,
        content_type: str | None = None,
        trickle: float = 0.0,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/json")
        self.send_header("Content-Length", str(len(data) if length is None else length))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if trickle:
            return self._trickle(data, trickle)
        self.wfile.write(data)

    def _stream(
        self, provider: str, reply: Reply, fault: Fault, out: _Rendered, rid: str, headers: dict[str, str]
    ) -> None:
        """Chunked SSE body; a Fault can cut it after N pieces, end it early, add comments or bytes of its
        own, or inject the provider's error event."""
        self.send_response(200)
        sse = "text/event-stream; charset=utf-8"
        self.send_header(
            "Content-Type", fault.content_type or (fake_bedrock.STREAM_TYPE if provider == BEDROCK else sse)
        )
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        if fault.trickle:
            frames = b"".join(map(_chunked, (*out.pre, *out.pieces, *out.post)))
            return self._trickle(frames + b"0\r\n\r\n", fault.trickle)
        send = self._chunk
        if fault.sse_comment:
            comment = fault.sse_comment if isinstance(fault.sse_comment, str) else ": keep-alive"
            send = partial(self._commented_chunk, comment.encode() + b"\n\n")
        for frame in out.pre:
            send(frame)
        if reply.first_chunk_delay and self.server.fake._stopping.wait(reply.first_chunk_delay):
            return self._cut(reset=False)
        tail = out.post
        if fault.stream_error:
            payload = _error(provider, _as_error(fault), rid)[1]
            payload.pop("request_id", None)  # the in-stream event has no request_id
            tail = [_sse(payload, "error" if provider == ANTHROPIC else None, "\r\n" if provider == GOOGLE else "\n")]
            if provider == BEDROCK:
                tail = [fake_bedrock.exception_frame(_as_error(fault))]
        pieces = out.pieces[:1] if fault.stream_error else out.pieces
        for i, frame in enumerate(pieces):
            if fault.drop_after_chunks == i:
                return self._cut(reset=False)
            if fault.end_after_chunks == i:
                break
            send(frame)
            if i == 0 and fault.inject is not None:
                self._chunk(fault.inject)
        if fault.drop_after_chunks is not None:
            return self._cut(reset=False)
        if fault.end_after_chunks is None:
            for frame in tail:
                send(frame)
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = _serve

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(_chunked(data))

    def _trickle(self, data: bytes, interval: float) -> None:
        """Write `data` a few bytes at a time, `interval` seconds apart."""
        for start in range(0, len(data), _TRICKLE_BYTES):
            if start and self.server.fake._stopping.wait(interval):
                return self._cut(reset=False)
            self.wfile.write(data[start : start + _TRICKLE_BYTES])

    def _commented_chunk(self, comment: bytes, data: bytes) -> None:
        """A keep-alive comment (its own chunk, as a proxy sends it), then `data`."""
        self._chunk(comment)
        self._chunk(data)

    def _cut(self, reset: bool) -> None:
        """End the connection mid-exchange: RST (SO_LINGER 0) or a plain FIN."""
        self.close_connection = True
        with suppress(OSError):
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.rfile.close()  # drop the makefile's reference so close() really closes the fd
                self.connection.close()
            else:
                self.connection.shutdown(socket.SHUT_RDWR)


def _chunked(data: bytes) -> bytes:
    """One chunk of a `Transfer-Encoding: chunked` body."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _as_error(fault: Fault) -> Fault:
    """An in-stream error (or one on a plain call) without its own status reads as "overloaded"."""
    return fault if fault.status is not None else replace(fault, status=529, kind="overloaded")


class FakeLLM:
    """Scriptable fake of the three providers' HTTP APIs; see the module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault | Reply] = []
        self._reply = Reply()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.requests: list[Recorded] = []
        self.url = self.openai_base_url = self.anthropic_base_url = self.google_base_url = ""

    def start(self) -> FakeLLM:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self._stopping.clear()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.openai_base_url, self.anthropic_base_url, self.google_base_url = self.url + "/v1", self.url, self.url + "/"
        serve = {"poll_interval": 0.05}  # shutdown() waits up to one poll interval
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs=serve, name="fake-llm", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and cut kept-alive or sleeping connections so no handler thread outlives the fake."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for sock in conns:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_reply(self, reply: Reply) -> None:
        """The answer for requests that find the queue empty."""
        with self._lock:
            self._reply = reply

    def enqueue(self, *items: Fault | Reply) -> None:
        """FIFO, one item per request, whichever provider the request is for."""
        with self._lock:
            self._queue.extend(items)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self._reply = Reply()

    def open_connections(self) -> int:
        """Connections open server-side now, idle keep-alive ones included."""
        with self._lock:
            return len(self._conns)
