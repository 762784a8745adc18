"""What the SDK providers share: status-code mapping, Retry-After, redaction, lazy SDK import,
and reading a JSON body the providers parse themselves."""

from __future__ import annotations

import datetime
import email.utils
import importlib
import json
import math
import re
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping
from types import ModuleType
from typing import Any

from ..errors import (
    AuthenticationError,
    BadResponseError,
    ConfigurationError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)

__all__ = [
    "asse_events",
    "bad_response",
    "body_error",
    "error_for_status",
    "event_stream",
    "field",
    "import_sdk",
    "json_object",
    "redact",
    "retry_after_from_headers",
    "scrub_exception",
    "seconds_from",
    "sse_events",
    "stream_ended",
    "stream_frame",
    "text_of",
    "transport_error",
]


def import_sdk(module: str, package: str, install: str | None = None) -> ModuleType:
    """Import a provider SDK on first use, or say which `pip install` fixes its absence (`install`,
    when it is not the package itself: an extra of ours, `'models[bedrock]'`)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        fix = install or package
        raise ConfigurationError(f"The {package!r} package is needed for this provider: pip install {fix}") from exc


def error_for_status(status: int | None) -> type[ProviderError]:
    """The error class for an HTTP status when nothing more specific is known."""
    if status is None:
        return ProviderError
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status == 408:
        return ProviderTimeoutError
    if status >= 500:
        return ServerError
    if 400 <= status < 500:
        return InvalidRequestError
    return ProviderError


def retry_after_from_headers(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, then `retry-after` (seconds or HTTP
    date). A value that is none of these is no advice (None: the usual back-off), never an error."""
    if not headers:
        return None
    value = headers.get("retry-after-ms")
    if value:
        seconds = seconds_from(value)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if not value:
        return None
    seconds = seconds_from(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):  # not a date, or an impossible one (32 January)
        return None
    if when.tzinfo is None:  # "-0000": a time in UTC with no zone said
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(when.timestamp() - time.time(), 0.0)


def seconds_from(value: str) -> float | None:
    """A finite number of seconds (negative ones read as 0), else None: NaN and infinity are no advice."""
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


_SECRET_PATTERNS = (
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"(?i)([?&](?:key|api_key|access_token)=)[^&\s'\"]+"), r"\1***"),
    (re.compile(r"\b(sk-(?:ant-)?)[A-Za-z0-9_\-]{8,}"), r"\1***"),
    (re.compile(r"\bAIza[0-9A-Za-z_\-]{20,}"), "AIza***"),
)
_MAYBE_SECRET = re.compile(r"(?i:bearer\s|[?&](?:key|api_key|access_token)=)|\bsk-|\bAIza")  # one scan before four


def redact(text: str, secret: str | None) -> str:
    """`text` without the provider's key or anything shaped like a credential.

    The key is replaced where it stands as a whole token: a short one (a local server's "k")
    must not take letters out of words.
    """
    if secret and secret in text:
        text = re.sub(_token(secret), "***", text)
    if _MAYBE_SECRET.search(text):
        for pattern, replacement in _SECRET_PATTERNS:
            text = pattern.sub(replacement, text)
    return text


def _token(secret: str) -> str:
    """A pattern matching `secret` where it stands as a whole token."""
    return rf"(?<![\w-]){re.escape(secret)}(?![\w-])"


def scrub_exception(error: BaseException, secret: str | None) -> None:
    """Take the key out of an SDK exception and the exceptions it was raised from, in place.

    The SDK's exception stays our error's `__cause__` (SPEC §7), so it must print no key
    wherever it goes: `traceback`, `logging.exception`, a reporter that shows frame locals.
    In place, not a redacted copy, since the frames that handled it hold it too. `redact`
    applies to its args and to the text and JSON in its attributes (`message`, `body`,
    `details`, notes), and to the headers and read body of httpx requests and responses;
    the frames it passed through keep their file and line but lose their locals
    (`traceback.clear_frames`): an SDK's frames hold the request headers, key included.
    Only `raise ... from` links are followed: an implicit `__context__` may be the caller's
    own exception, not ours to change.
    """
    import traceback  # here, not at the top: only a failed call gets here

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = _scrubbed(current.args, secret)
        attributes = getattr(current, "__dict__", {})
        for name, value in list(attributes.items()):
            attributes[name] = _scrubbed(value, secret)
        if current.__traceback__ is not None:
            traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or (current.__context__ if current.__suppress_context__ else None)


def _scrubbed(value: Any, secret: str | None) -> Any:
    """`value` redacted: text, bytes and plain JSON containers copied, httpx messages in place."""
    kind = type(value)
    if kind is str:
        return redact(value, secret)
    if kind is bytes:
        return re.sub(_token(secret).encode(), b"***", value) if secret and secret.encode() in value else value
    if kind is dict:
        return {key: _scrubbed(item, secret) for key, item in value.items()}
    if kind is list or kind is tuple:
        return kind(_scrubbed(item, secret) for item in value)
    if _is_http_message(value):
        headers = value.headers
        for name, text in list(headers.items()):
            clean = redact(text, secret)
            if clean != text:
                headers[name] = clean
        state = value.__dict__
        for name in ("_content", "_text", "_request"):  # a read body as httpx caches it; a response's request
            if state.get(name) is not None:
                state[name] = _scrubbed(state[name], secret)
    return value


def _is_http_message(value: Any) -> bool:
    """An httpx `Request` or `Response` (of `httpx2`, the SDKs' transport, or `httpx`)."""
    for name in ("httpx2", "httpx"):
        httpx = sys.modules.get(name)
        if httpx is not None and isinstance(value, (httpx.Request, httpx.Response)):
            return True
    return False


def body_error(body: Any) -> Mapping[str, Any]:
    """The `error` object of a JSON error body (all three APIs nest it so), or {}. Compatible servers
    vary: xAI sends `error` as a string, Mistral and older vLLM a flat `{"object": "error", "message"}`,
    Mistral's 422 a `message` (or a FastAPI server a top-level `detail`) holding pydantic's errors."""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            return error
        if isinstance(error, str):
            return {"message": error}
        message = body.get("message", body.get("detail"))
        if isinstance(message, Mapping):
            message = message.get("detail")
        text = _validation_text(message)
        if text:
            return {**body, "message": text}
    return {}


def _validation_text(detail: Any) -> str | None:
    """A message as is, or pydantic's validation errors (`[{"loc": [...], "msg": ...}]`) as
    `body.stream_options: Extra inputs are not permitted; ...` (their `input` values left out)."""
    if isinstance(detail, str):
        return detail or None
    if not isinstance(detail, list):
        return None
    parts = []
    for item in detail:
        if isinstance(item, Mapping) and isinstance(item.get("msg"), str):
            where = ".".join(map(str, item.get("loc") or ()))
            parts.append(f"{where}: {item['msg']}" if where else item["msg"])
    return "; ".join(parts) or None


def transport_error(error: BaseException, label: str, where: dict[str, Any]) -> ProviderError | None:
    """Our error for an `httpx2` timeout or transport failure the SDK let through unwrapped
    (Gemini always, Anthropic in the middle of a stream), else None."""
    httpx = sys.modules.get("httpx2")
    if httpx is None:
        return None
    if isinstance(error, httpx.TimeoutException):
        return ProviderTimeoutError(f"{label} did not answer in time ({type(error).__name__}).", **where)
    if isinstance(error, httpx.TransportError):
        return ProviderConnectionError(f"The connection to {label} failed ({type(error).__name__}).", **where)
    return None


def json_object(content: bytes, label: str, provider: str, model: str, request_id: str | None) -> dict[str, Any]:
    """The JSON object of a successful response body, which the providers parse themselves
    (much cheaper than the SDKs' typed objects); anything else is a `BadResponseError`."""
    where = {"provider": provider, "model": model, "request_id": request_id}
    try:
        body = json.loads(content)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
        raise bad_response(f"{label} answered with a body that is not JSON ({len(content)} bytes).", **where) from exc
    if not isinstance(body, dict):
        raise bad_response(f"{label} answered with JSON that is not an object.", **where)
    return body


def bad_response(message: str, **where: Any) -> BadResponseError:
    """A `BadResponseError` whose message says the usual cause."""
    return BadResponseError(f"{message} A wrong base URL or a proxy answers so.", **where)


def stream_frame(data: str, label: str) -> Any:
    """The JSON of one server-sent event; a frame that is not JSON is a `BadResponseError`."""
    try:
        return json.loads(data)
    except ValueError as exc:
        raise bad_response(f"{label} sent a stream event that is not JSON.") from exc


def event_stream(headers: Mapping[str, str], label: str) -> None:
    """Check that a stream's response is server-sent events before reading it: an HTML page or a
    JSON body answering a stream request is a `BadResponseError`, not an empty answer."""
    content_type = headers.get("content-type")
    if content_type and not content_type.lower().startswith("text/event-stream"):
        media = content_type.partition(";")[0].strip()
        raise bad_response(f"{label} answered a stream request with {media!r}, not server-sent events.")


def stream_ended(label: str, last: str, foreign: bool = False) -> ProviderError:
    """The error for a stream whose body ended before its closing event (`last`): a cut
    connection (retried while no text has reached the caller), or, when the body had content
    but not one event (`foreign`), a bad response."""
    if foreign:
        return bad_response(f"{label} answered a stream request with no server-sent event.")
    return ProviderConnectionError(f"The stream from {label} ended without its closing event ({last}): cut short.")


def text_of(value: Any) -> str | None:
    """A body's string field (an id, a model name), or None when it is missing or not a string."""
    return value if isinstance(value, str) and value else None


def field(source: Any, name: str) -> Any:
    """`source[name]` of a parsed JSON object or `source.name` of an SDK object, None when absent,
    so one usage rule per provider reads both plain bodies and the SDKs' stream events."""
    if isinstance(source, dict):
        return source.get(name)
    return getattr(source, name, None)


class _SSE:
    """Server-sent events from lines (the text/event-stream format): `(event, data)` per event.

    The providers' streams are read with the SDK's transport (`with_streaming_response`) and
    decoded here: the SDKs' typed chunk objects cost ~100 µs each, our `json.loads` a few.
    """

    __slots__ = ("data", "event")

    def __init__(self) -> None:
        self.event: str | None = None
        self.data: list[str] = []

    def feed(self, line: str) -> tuple[str | None, str] | None:
        """Take one line; at the blank line that ends an event, return it."""
        if not line:
            event, data = self.event, self.data
            self.event, self.data = None, []
            return (event, "\n".join(data)) if data or event is not None else None
        if line.startswith(":"):  # a comment (keep-alive)
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self.event = value
        elif name == "data":
            self.data.append(value)
        return None

    def end(self) -> tuple[str | None, str] | None:
        """An event the stream ended without a blank line after."""
        return (self.event, "\n".join(self.data)) if self.data else None


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str | None, str]]:
    decoder = _SSE()
    for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.end()
    if last is not None:
        yield last


async def asse_events(lines: AsyncIterable[str]) -> AsyncIterator[tuple[str | None, str]]:
    decoder = _SSE()
    async for line in lines:
        event = decoder.feed(line)
        if event is not None:
            yield event
    last = decoder.end()
    if last is not None:
        yield last
