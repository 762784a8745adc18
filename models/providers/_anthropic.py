"""Anthropic through the Messages API (`anthropic` SDK)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any

from .._catalog.info import ModelInfo
from .._content.messages import Message, calls_of
from .._content.tools import ToolCall
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
    transport_error,
)
from ._deadline import guard

if TYPE_CHECKING:
    from .._content.output import OutputFormat
    from .._content.tools import Tool, Toolset

DEFAULT_MAX_TOKENS = 4096  # the Messages API requires max_tokens; sent when the caller gives none
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "model_context_window_exceeded": "length",
}

_CHOICE = {"auto": "auto", "required": "any", "none": "none"}  # tool_choice types; a tool's name is "tool"
_TYPED = frozenset({"type", "anyOf", "oneOf", "allOf", "enum", "const"})  # what a schema needs besides a $ref


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


def _content(content: str | list[Any]) -> str | list[Any]:
    """OpenAI-style text parts become Anthropic text blocks; other blocks pass through."""
    if isinstance(content, str):
        return content
    return [{"type": "text", "text": part.get("text", "")} if part.get("type") == "text" else part for part in content]


def _tool(tool: Tool) -> dict[str, Any]:
    """One tool as the Messages API declares it (no description when it has none)."""
    spec: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        spec["description"] = tool.description
    return spec


def _output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as structured outputs take it, by the SDK's own `transform_schema`: every object
    closed (`additionalProperties: false`), keywords the API lacks (`minimum`, `maxLength`, ...)
    moved into descriptions; the answer is still checked against them when parsed.

    What it cannot express raises `InvalidRequestError` before sending, naming the place: a map
    (`dict[str, X]`) would be closed into `{}`, a recursive type is refused by the API, and a
    value of any type has no schema at all.
    """
    problem = _inexpressible(schema, schema.get("$defs") or {}, "", ())
    if problem is not None:
        raise InvalidRequestError(
            f"Anthropic's structured outputs cannot express this response_format: {problem}. Give that "
            "part fixed fields (a pydantic model), or use response_format='json' and validate it yourself."
        )
    import anthropic

    return anthropic.transform_schema(schema)


def _inexpressible(node: Any, defs: Mapping[str, Any], where: str, refs: tuple[str, ...]) -> str | None:
    """What in `node` (at path `where`) structured outputs cannot express; None when they can."""
    if not isinstance(node, dict):
        return None
    at = where or "the schema"
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in refs:
            return f"{at} refers back to {name!r} (a recursive type)"
        return _inexpressible(defs.get(name), defs, where, (*refs, name))
    if node.get("additionalProperties", False) is not False:
        return f"{at} is a map (an object with open additionalProperties)"
    if not _TYPED.intersection(node):
        return f"{at} may be any value (it has no type)"
    subs = [(f"{where}.{key}" if where else key, sub) for key, sub in (node.get("properties") or {}).items()]
    subs += [(where, sub) for key in ("anyOf", "oneOf", "allOf") for sub in node.get(key) or ()]
    subs.append((where, node.get("items")))
    for path, sub in subs:
        problem = _inexpressible(sub, defs, path, refs)
        if problem is not None:
            return problem
    return None


def _is_context_window(error: Any) -> bool:
    # The API has no error code for this; its stable wording is the only signal.
    return error.status_code in (400, 413) and "prompt is too long" in str(error.api_message or "").lower()


def _turns(messages: list[Message]) -> list[dict[str, Any]]:
    """Our turns in the Messages API's shape: an assistant turn's tool calls become `tool_use`
    blocks after its text; consecutive `tool` turns become one user turn of `tool_result` blocks,
    which also takes the content of a user turn right after them (results first, as the API wants)."""
    turns: list[dict[str, Any]] = []
    results: list[Any] | None = None  # the blocks of the user turn answering the last tool calls
    for m in messages:
        role = m["role"]
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": m["content"]}
            if results is None:
                results = [block]
                turns.append({"role": "user", "content": results})
            else:
                results.append(block)
            continue
        if results is not None and role == "user":
            content = m["content"]
            if content:
                results.extend([{"type": "text", "text": content}] if isinstance(content, str) else _content(content))
        elif "tool_calls" in m:
            turns.append({"role": "assistant", "content": _uses(m)})
        else:
            turns.append({"role": role, "content": _content(m["content"])})
        results = None
    return turns


def _uses(message: Message) -> list[Any]:
    """An assistant turn that calls tools as content blocks: its text (if any), then a `tool_use` per call."""
    content = message["content"]
    blocks: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) and content else []
    if isinstance(content, list):
        blocks = list(_content(content))
    for call in calls_of(message):
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
    return blocks


def _kwargs(request: Request, stream: bool = False) -> dict[str, Any]:
    """Keyword arguments of `messages.create`."""
    turns = _turns(request.messages)
    kwargs = {**request.options, "model": request.model.name, "messages": turns, "timeout": request.timeout}
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
    text, calls = _read(body.get("content") or ())
    usage = body.get("usage")
    result = Completion(
        text,
        finish_reason=_FINISH.get(body.get("stop_reason") or ""),
        raw=Lazy(partial(_typed, body, request_id, raw.workspace_id)),
        usage_reported=usage is not None,
        tool_calls=calls,
    )
    _counts(usage, result)
    return result


def _read(blocks: Any) -> tuple[str, list[ToolCall]]:
    """The text and the tool calls of a message's content blocks (a `tool_use` input is a dict)."""
    text, calls = "", []  # the list becomes Completion.tool_calls, which would be a new [] anyway
    for block in blocks:
        kind = field(block, "type")
        if kind == "text":
            text += field(block, "text") or ""
        elif kind == "tool_use":
            arguments = field(block, "input")
            calls.append(
                ToolCall(field(block, "id"), field(block, "name"), arguments if isinstance(arguments, dict) else {})
            )
    return text, calls


def _typed(body: dict[str, Any], request_id: str | None, workspace_id: str | None) -> Any:
    """The SDK's `Message` for `body`, built as its client builds one: constructed without
    validation, the request and workspace ids attached."""
    from anthropic.types import Message

    message = Message.model_construct(**body)
    message._request_id = request_id
    message._workspace_id = workspace_id
    return message


_Pending = dict[int, tuple[Any, Any, list[str]]]
"""A stream's open `tool_use` blocks: index -> (id, name, as the wire gave them; the input's JSON fragments so far)."""


def _apply_event(name: str | None, data: str, result: Completion, response: Any, pending: _Pending) -> str | None:
    """Record one server-sent event's usage, stop reason and tool calls; return its text, if any.

    Input usage comes in `message_start`, output usage and the stop reason in `message_delta`
    (the final usage). A `tool_use` block opens with its id and name, its input follows as
    `input_json_delta` fragments, and it becomes a `ToolCall` when it stops. An `error` event is
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
        if delta_kind == "input_json_delta" and event.get("index") in pending:
            pending[event["index"]][2].append(delta.get("partial_json") or "")
        return None
    if kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") == "tool_use":
            pending[event.get("index")] = (block.get("id"), block.get("name"), [])
    elif kind == "content_block_stop":
        call = pending.pop(event.get("index"), None)
        if call is not None:
            result.tool_calls.append(ToolCall.from_json(call[0], call[1], "".join(call[2])))
    elif kind == "message_start":
        _counts((event.get("message") or {}).get("usage"), result)
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
        """`tools` as `{"name", "description", "input_schema"}` and the choice as `tool_choice`'s
        `{"type": "auto" | "any" | "none"}` or `{"type": "tool", "name": ...}`."""
        options: dict[str, Any] = {"tools": [_tool(tool) for tool in tools.tools]}
        choice = tools.choice
        if choice is not None:
            kind = _CHOICE.get(choice, "tool")
            options["tool_choice"] = {"type": kind, "name": choice} if kind == "tool" else {"type": kind}
        return options

    def output_options(self, model: ModelInfo, output: OutputFormat) -> dict[str, Any]:
        """Structured outputs: `output_config={"format": {"type": "json_schema", "schema": ...}}`.

        "json" (any JSON object) sends nothing: the API has no such mode (a schema must close
        every object, so `{"type": "object"}` would allow only `{}`); the prompt asks for JSON,
        as OpenAI's JSON mode requires too, and the answer is parsed all the same.
        """
        if output.schema is None:
            return {}
        return {"output_config": {"format": {"type": "json_schema", "schema": _output_schema(output.schema)}}}

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
        pending: _Pending = {}
        with self.client().messages.with_streaming_response.create(**_kwargs(request, stream=True)) as r:
            response = r.http_response
            event_stream(response.headers, "Anthropic")
            for name, data in sse_events(r.iter_lines()):
                events += 1
                if name == "message_stop":
                    stopped = True  # read on to the end of the body, so the connection can be reused
                piece = _apply_event(name, data, result, response, pending)
                if piece:
                    yield piece
        if not stopped:
            raise stream_ended("Anthropic", "message_stop", not events and response.num_bytes_downloaded > 0)

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        result.usage_reported = False
        events, stopped = 0, False
        pending: _Pending = {}
        async with self.async_client().messages.with_streaming_response.create(**_kwargs(request, stream=True)) as r:
            response = r.http_response
            event_stream(response.headers, "Anthropic")
            async for name, data in asse_events(r.iter_lines()):
                events += 1
                if name == "message_stop":
                    stopped = True
                piece = _apply_event(name, data, result, response, pending)
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
