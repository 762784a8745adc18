"""Anthropic through the Messages API (`anthropic` SDK)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .._catalog.info import ModelInfo
from .._types import Completion, Lazy
from ..errors import (
    AuthenticationError,
    ContextWindowExceededError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from ._anthropic_content import Blocks, declare_output, declare_tools, read, turns
from ._base import Provider, Request, keywords_of
from ._common import (
    asse_events,
    error_for_status,
    event_stream,
    field,
    import_sdk,
    json_object,
    redact,
    retry_after_from_headers,
    sse_events,
    stream_ended,
    stream_frame,
    text_of,
    transport_error,
)
from ._deadline import guard

if TYPE_CHECKING:
    from .._content.output import OutputFormat
    from .._content.tools import Toolset

DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; sent when the caller gives none
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "model_context_window_exceeded": "length",
}

# Files the API fetches by URL itself (an image or document block's {"type": "url"} source):
# https://platform.claude.com/docs/en/build-with-claude/vision and .../pdf-support. Other URLs
# (no known type) are downloaded by the call and sent inline, typed by their content.
_FETCHED = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"})
# Inline limits, as the most bytes of a file whose base64 fits (4 characters per 3 bytes):
# - an image: 5 MB of its base64, as the API's own 400 says ("messages.0.content.2.image.source.base64:
#   image exceeds 5 MB maximum: 15908784 bytes > 5242880 bytes", github.com/anthropics/claude-code
#   issues 10612, 13381 for tool results, 14887); the vision page states only dimensions (8000x8000 px)
#   and the 32 MB request;
# - a PDF: the whole request at most 32 MB ("Maximum request size 32MB ... on the entire request
#   payload", https://platform.claude.com/docs/en/build-with-claude/pdf-support; over it Cloudflare
#   answers 413 request_too_large, https://platform.claude.com/docs/en/api/overview), so no PDF
#   larger than this fits (its 100-page limit the API checks itself).
_IMAGE_LIMIT = 5 * 1024 * 1024 * 3 // 4  # 3,932,160 bytes
_REQUEST_LIMIT = 32 * 1024 * 1024 * 3 // 4  # 25,165,824 bytes

_IN_STREAM: dict[str, type[ProviderError]] = {
    "overloaded_error": ServerError,
    "api_error": ServerError,
    "rate_limit_error": RateLimitError,
    "invalid_request_error": InvalidRequestError,
    "request_too_large": InvalidRequestError,
    "not_found_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "permission_error": AuthenticationError,
    "timeout_error": ProviderTimeoutError,
}


def _is_context_window(error: Any) -> bool:
    # The API has no error code for this; its stable wording is the only signal.
    return error.status_code in (400, 413) and "prompt is too long" in str(error.api_message or "").lower()


def _kwargs(request: Request, stream: bool = False) -> dict[str, Any]:
    """Keyword arguments of `messages.create`."""
    messages = turns(request.messages)
    kwargs = {**request.options, "model": request.model.name, "messages": messages, "timeout": request.timeout}
    if request.system is not None:
        kwargs["system"] = request.system
    if stream:
        kwargs["stream"] = True
    return kwargs


def _counts(usage: Any, result: Completion) -> None:
    """Token counts of a usage object (a JSON body's or a stream event's) into `result`; fields
    it lacks or has as null are kept, since a stream reports input and output in separate events.

    The API's input_tokens excludes cache reads and writes; ours counts every prompt token.
    """
    cached = field(usage, "cache_read_input_tokens")
    written = field(usage, "cache_creation_input_tokens")
    if cached is not None:
        result.cached_input_tokens = cached
    if written is not None:
        result.cache_write_tokens = written
    breakdown = field(usage, "cache_creation")  # 5-minute and 1-hour writes, priced apart
    if breakdown is not None:
        result.cache_write_1h_tokens = field(breakdown, "ephemeral_1h_input_tokens") or 0
    input_tokens = field(usage, "input_tokens")
    if input_tokens is not None:
        result.input_tokens = input_tokens + result.cached_input_tokens + result.cache_write_tokens
    output_tokens = field(usage, "output_tokens")
    if output_tokens is not None:
        result.output_tokens = output_tokens


def _completion(raw: Any, provider: str, model: ModelInfo) -> Completion:
    """Our result from the body of a `with_raw_response` call (sync or async): parsed with the
    stdlib, the SDK's `Message` built only if someone reads `Response.raw`."""
    request_id = raw.request_id
    body = json_object(raw.http_response.content, "Anthropic", provider, model.id, request_id)
    text, calls = read(body.get("content") or ())
    usage = body.get("usage")
    result = Completion(
        text,
        finish_reason=_FINISH.get(body.get("stop_reason") or ""),
        raw=Lazy(partial(_typed, body, request_id, raw.workspace_id)),
        usage_reported=usage is not None,
        tool_calls=calls,
    )
    result.response_id, result.response_model = text_of(body.get("id")), text_of(body.get("model"))
    _counts(usage, result)
    return result


def _typed(body: dict[str, Any], request_id: str | None, workspace_id: str | None) -> Any:
    """The SDK's `Message` for `body`, built as its client builds one: constructed without
    validation, the request and workspace ids attached."""
    from anthropic.types import Message

    message = Message.model_construct(**body)
    message._request_id = request_id
    message._workspace_id = workspace_id
    return message


def _apply_event(name: str | None, data: str, result: Completion, response: Any, blocks: Blocks) -> str | None:
    """Record one server-sent event's usage, stop reason and tool calls; return its text, if any.

    Input usage comes in `message_start`, output usage and the stop reason in `message_delta`
    (the final usage). Tool calls and the thinking before them are assembled from their blocks'
    events by `Blocks`. An `error` event is
    raised as the SDK's `APIStatusError` (with the stream's status, 200), as its own stream would,
    so `map_error` sees what it always sees.
    """
    if name == "error":
        import anthropic

        try:
            body: Any = json.loads(data)
        except ValueError:
            body = data
        raise anthropic.APIStatusError(f"{body}" if data else "Error", response=response, body=body)
    if name is None or name == "ping" or not data:
        return None
    event = stream_frame(data, "Anthropic")
    kind = event.get("type") if isinstance(event, dict) else None
    if kind == "content_block_delta":
        delta = event.get("delta") or {}
        delta_kind = delta.get("type")
        if delta_kind == "text_delta":
            return delta.get("text")
        blocks.add(event.get("index"), delta, delta_kind)
        return None
    if kind == "content_block_start":
        blocks.start(event.get("index"), event.get("content_block") or {})
    elif kind == "content_block_stop":
        blocks.stop(event.get("index"), result)
    elif kind == "message_start":
        message = event.get("message") or {}
        result.response_id, result.response_model = text_of(message.get("id")), text_of(message.get("model"))
        _counts(message.get("usage"), result)
    elif kind == "message_delta":
        usage = event.get("usage")
        _counts(usage, result)
        result.usage_reported = usage is not None
        result.finish_reason = _FINISH.get((event.get("delta") or {}).get("stop_reason") or "")
    return None


class AnthropicProvider(Provider):
    """Claude via `messages.create`, SDK retries off, a timeout always passed."""

    key_env = ("ANTHROPIC_API_KEY",)
    base_url_env = "ANTHROPIC_BASE_URL"
    # API version 2026-10-21 (the default of SDK 2.x) removed sampling parameters for every
    # model: the SDK has no keyword for them and the API answers 400 even to temperature=1.
    unsupported = frozenset({"seed", "temperature", "top_p"})

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        anthropic = import_sdk("anthropic", "anthropic")
        client = anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0)
        guard(client._client)  # its httpx2 client: the timeout bounds a whole attempt (see _deadline)
        return client

    def keywords(self) -> frozenset[str] | None:
        """What the SDK's `messages.create` takes (`extra_body` carries anything else)."""
        return keywords_of(import_sdk("anthropic.resources.messages", "anthropic").Messages.create)

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(params)
        if "stop" in options:
            stop = options.pop("stop")
            options["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
        if "max_tokens" not in options:
            options["max_tokens"] = min(DEFAULT_MAX_TOKENS, model.max_output or DEFAULT_MAX_TOKENS)
        return options

    def tool_options(self, model: ModelInfo, tools: Toolset) -> dict[str, Any]:
        return declare_tools(tools)

    def fetches_url(self, media_type: str | None) -> bool:
        """Images and PDFs by URL: the API fetches them (a `url` source)."""
        return media_type in _FETCHED

    def inline_limit(self, media_type: str | None) -> int | None:
        """5 MB of base64 per image; a PDF (or anything else) as large as a 32 MB request allows."""
        return _IMAGE_LIMIT if media_type is not None and media_type.startswith("image/") else _REQUEST_LIMIT

    def output_options(self, model: ModelInfo, output: OutputFormat) -> dict[str, Any]:
        return declare_output(output)

    def create_async_client(self, api_key: str | None, base_url: str | None) -> Any:
        anthropic = import_sdk("anthropic", "anthropic")
        # The SDK's own pool without the wrapper whose __del__ schedules `aclose` on whatever loop
        # is running: a client of a closed loop is dropped in another one (see Provider.async_client).
        http = anthropic.DefaultAsyncHttpxClient()
        guard(http)
        return anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=0, http_client=http)

    def complete(self, request: Request) -> Completion:
        raw = self.client().messages.with_raw_response.create(**_kwargs(request))
        return _completion(raw, self.name, request.model)

    async def acomplete(self, request: Request) -> Completion:
        raw = await self.async_client().messages.with_raw_response.create(**_kwargs(request))
        return _completion(raw, self.name, request.model)

    def stream(self, request: Request, result: Completion) -> Iterator[str]:
        # The SDK's transport, auth and status errors; the events decoded here (see sse_events).
        result.usage_reported = False  # until message_delta
        events, stopped = 0, False
        blocks = Blocks()
        with self.client().messages.with_streaming_response.create(**_kwargs(request, stream=True)) as r:
            response = r.http_response
            event_stream(response.headers, "Anthropic")
            for name, data in sse_events(r.iter_lines()):
                events += 1
                if name == "message_stop":
                    stopped = True  # read on to the end of the body, so the connection can be reused
                piece = _apply_event(name, data, result, response, blocks)
                if piece:
                    yield piece
        if not stopped:
            raise stream_ended("Anthropic", "message_stop", not events and response.num_bytes_downloaded > 0)

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        result.usage_reported = False
        events, stopped = 0, False
        blocks = Blocks()
        async with self.async_client().messages.with_streaming_response.create(**_kwargs(request, stream=True)) as r:
            response = r.http_response
            event_stream(response.headers, "Anthropic")
            async for name, data in asse_events(r.iter_lines()):
                events += 1
                if name == "message_stop":
                    stopped = True
                piece = _apply_event(name, data, result, response, blocks)
                if piece:
                    yield piece
        if not stopped:
            raise stream_ended("Anthropic", "message_stop", not events and response.num_bytes_downloaded > 0)

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        anthropic = sys.modules.get("anthropic")
        if anthropic is None:  # the SDK was never imported, so this is not its error
            return super().map_error(error, model)
        where: dict[str, Any] = {"provider": self.name, "model": model.id}
        if isinstance(error, anthropic.APITimeoutError):  # before APIConnectionError: it subclasses it
            return ProviderTimeoutError("Anthropic did not answer in time.", **where)
        if isinstance(error, anthropic.APIConnectionError):
            return ProviderConnectionError(f"Could not reach Anthropic: {error.message}", **where)
        if isinstance(error, anthropic.APIStatusError) and error.status_code < 400:
            # an error event inside a stream arrives with the stream's own status, 200
            message = redact(str(error.api_message or error.message), self._secret)
            error_class = _IN_STREAM.get(str(error.type), ProviderError)
            return error_class(f"Anthropic error during the stream: {message}", **where)
        if isinstance(error, anthropic.APIStatusError):
            message = redact(str(error.api_message or error.message), self._secret)
            where.update(
                status_code=error.status_code,
                request_id=error.request_id,
                retry_after=retry_after_from_headers(error.response.headers),
            )
            if _is_context_window(error):
                return ContextWindowExceededError(f"Prompt too long for {model.id}: {message}", **where)
            if error.status_code in (401, 403):
                return AuthenticationError(f"Anthropic rejected the key (check ANTHROPIC_API_KEY): {message}", **where)
            return error_for_status(error.status_code)(f"Anthropic error: {message}", **where)
        if isinstance(error, anthropic.AnthropicError):
            return ProviderError(f"Anthropic SDK error: {redact(str(error), self._secret)}", **where)
        return transport_error(error, "Anthropic", where) or super().map_error(error, model)
