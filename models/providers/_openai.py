"""OpenAI through the Chat Completions API (what OpenAI-compatible servers speak too)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from functools import partial
from types import ModuleType
from typing import Any, ClassVar

from .._catalog.info import ModelInfo
from .._types import Completion, Lazy, ToolCall
from ..errors import (
    AuthenticationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from ._base import Embedded, EmbedRequest, Provider, Request, keywords_of
from ._common import (
    asse_events,
    bad_response,
    body_error,
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
from ._openai_content import FETCHED, INLINE_LIMITS, sendable
from ._openai_embed import embed_kwargs, embedded

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_IN_STREAM: dict[str, type[ProviderError]] = {
    "server_error": ServerError,
    "rate_limit_exceeded": RateLimitError,
    "rate_limit_error": RateLimitError,
    "invalid_request_error": InvalidRequestError,
}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_REASONING_DROPS = frozenset({"temperature", "top_p"})


def _is_reasoning(model: ModelInfo) -> bool:
    if model.known:
        return model.reasoning
    return model.name.lower().startswith(_REASONING_PREFIXES)


_REQUEST_OPTIONS = frozenset({"extra_headers", "extra_query"})  # the SDK's own, not the body's


def _kwargs(request: Request, stream: bool = False, usage: bool = True) -> dict[str, Any]:
    """Keyword arguments of `chat.completions.create`; a stream asks for its usage chunk (`usage`:
    unless the server refuses `stream_options` and reports usage unasked).

    The body goes in `extra_body`, which the SDK merges into the JSON it sends as it is: its own
    keyword arguments pass through its type-driven transform first, which costs ~140 µs per message
    and ~70 µs besides (openai 3.x), the larger part of a call's client CPU. Ours are plain JSON
    already, checked and shaped per call by this module; `messages=()` only satisfies the signature,
    and the caller's own `extra_body` still has the last word, as with the SDK.
    """
    messages = request.messages
    if len(messages) > 1 or type(messages[0]["content"]) is list:  # tool calls, or files
        messages = sendable(messages)
    if request.system is not None:
        messages = [{"role": "system", "content": request.system}, *messages]
    body: dict[str, Any] = {"messages": messages}
    kwargs: dict[str, Any] = {"model": request.model.name, "messages": (), "timeout": request.timeout}
    options = request.options
    for name, value in options.items():
        if name in _REQUEST_OPTIONS:
            kwargs[name] = value
        elif name != "extra_body":
            body[name] = value
    if stream:
        kwargs["stream"] = True
        if usage:
            body["stream_options"] = {**(options.get("stream_options") or {}), "include_usage": True}
    extra = options.get("extra_body")
    kwargs["extra_body"] = {**body, **extra} if extra else body
    return kwargs


def _json_or_none(response: Any) -> Any:
    """An error response's JSON body, or None when it is not JSON (a proxy's page)."""
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _counts(usage: Any, result: Completion) -> None:
    """Token counts of a usage object (a JSON body's or a stream chunk's) into `result`;
    prompt_tokens includes cached ones, and an absent or null count is 0."""
    result.usage_reported = True
    result.input_tokens = field(usage, "prompt_tokens") or 0
    result.output_tokens = field(usage, "completion_tokens") or 0
    result.cached_input_tokens = (
        field(field(usage, "prompt_tokens_details"), "cached_tokens") or field(usage, "prompt_cache_hit_tokens") or 0
    )  # DeepSeek reports its cache hits as prompt_cache_hit_tokens
    result.reasoning_tokens = field(field(usage, "completion_tokens_details"), "reasoning_tokens") or 0


def _completion(raw: Any, provider: str, model: ModelInfo, label: str = "OpenAI") -> Completion:
    """Our result from the body of a `with_raw_response` call (sync or async): parsed with the
    stdlib, the SDK's `ChatCompletion` built only if someone reads `Response.raw`."""
    request_id = raw.request_id
    body = json_object(raw.http_response.content, label, provider, model.id, request_id)
    choices = body.get("choices")
    choice = choices[0] if choices else None
    finish = _FINISH.get(field(choice, "finish_reason"))
    if finish is None and body.get("error"):  # an error in a 200 (OpenRouter, Ollama: the answer had begun)
        _raise_event(body["error"], raw.http_response)
    message = field(choice, "message")
    result = Completion(
        field(message, "content") or "",
        finish_reason=finish,
        raw=Lazy(partial(_typed, body, request_id)),
        usage_reported=False,
    )
    result.response_id, result.response_model = text_of(body.get("id")), text_of(body.get("model"))
    calls, refusal = field(message, "tool_calls"), field(message, "refusal")
    if calls or refusal:
        result.tool_calls = [
            _tool_call(field(call, "id"), field(function, "name"), field(function, "arguments"), n)
            for n, call in enumerate(calls or (), 1)
            for function in (field(call, "function"),)
        ]
        if refusal:
            result.text = refusal
        _conclude(result, bool(refusal))
    usage = body.get("usage")
    if usage is not None:
        _counts(usage, result)
    return result


def _tool_call(call_id: Any, name: Any, arguments: Any, n: int) -> ToolCall:
    """One call of an answer, from its message (a plain call) or its assembled deltas (a stream).

    The arguments are JSON text, parsed by `ToolCall.from_json` (which keeps text that is not an
    object as `raw_arguments`); a server that sends an object instead gets it read as one. A
    missing id (some compatible servers) becomes `call_<n>`; a missing name is a bad response.
    """
    if not isinstance(name, str) or not name:
        raise bad_response("OpenAI sent a tool call without a function name.")
    if not isinstance(call_id, str) or not call_id:
        call_id = f"call_{n}"
    if arguments is not None and not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return ToolCall.from_json(call_id, name, arguments)


def _conclude(result: Completion, refused: bool) -> None:
    """The finish reason an answer's tool calls or refusal make it, plain call or stream alike.

    A refusal (structured outputs) is the text, finished by `content_filter`. Calls finish by
    `tool_calls` even where the API says `stop` (it does when `tool_choice` names the tool);
    `length` stays, since the arguments may be cut off.
    """
    if refused:
        result.finish_reason = "content_filter"
    elif result.tool_calls and result.finish_reason in (None, "stop"):
        result.finish_reason = "tool_calls"


class _Assembly:
    """A stream's tool calls as their deltas arrive, and whether it refused; `finish` puts them
    into the result once the stream has ended.

    Deltas join by `index` as the SDK's own accumulator joins them (strings concatenated; an
    object for arguments, as some compatible servers send, as its JSON). A delta without an index
    (Gemini's compatible API sends none) opens a new call when it has an id, and otherwise
    continues the last one.
    """

    __slots__ = ("calls", "refused")

    def __init__(self) -> None:
        self.calls: dict[int, list[Any]] = {}  # index -> [id, name, argument fragments]
        self.refused = False

    def add(self, deltas: Any) -> None:
        for delta in deltas if isinstance(deltas, list) else ():
            if not isinstance(delta, dict):
                continue
            index = delta.get("index")
            if not isinstance(index, int):
                index = len(self.calls) - (0 if delta.get("id") or not self.calls else 1)
            entry = self.calls.get(index)
            if entry is None:
                entry = self.calls[index] = ["", "", []]
            entry[0] += delta.get("id") or ""
            function = delta.get("function")
            if isinstance(function, dict):
                entry[1] += function.get("name") or ""
                arguments = function.get("arguments")
                if arguments:
                    entry[2].append(arguments if isinstance(arguments, str) else json.dumps(arguments))

    def finish(self, result: Completion) -> None:
        if self.calls:
            calls = sorted(self.calls.items())
            result.tool_calls = [
                _tool_call(i, name, "".join(args), n) for n, (_, (i, name, args)) in enumerate(calls, 1)
            ]
        _conclude(result, self.refused)


def _typed(body: dict[str, Any], request_id: str | None) -> Any:
    """The SDK's `ChatCompletion` for `body`, built as its client builds one: constructed
    without validation, the request id attached."""
    from openai.types.chat import ChatCompletion

    completion = ChatCompletion.model_construct(**body)
    completion._request_id = request_id
    return completion


def _apply_chunk(data: str, result: Completion, response: Any, assembly: _Assembly, label: str) -> str | None:
    """Record one server-sent chunk's usage and finish reason, and its tool call deltas in
    `assembly`; return its text (or refusal), if any.

    An error event is raised as the SDK's own `APIError`, as its stream would, so `map_error`
    sees what it always sees.
    """
    chunk = stream_frame(data, label)
    if not isinstance(chunk, dict):
        return None
    error = chunk.get("error")
    if error:
        _raise_event(error, response)
    if result.response_id is None:  # the first chunk's; every chunk repeats them
        result.response_id, result.response_model = text_of(chunk.get("id")), text_of(chunk.get("model"))
    usage = chunk.get("usage")
    if usage is not None:
        _counts(usage, result)
    choices = chunk.get("choices")
    if not choices:
        return None
    choice = choices[0]
    reason = choice.get("finish_reason")
    if reason is not None:
        result.finish_reason = _FINISH.get(reason)
        if not result.usage_reported:  # Groq's usage chunk before it took stream_options: in the last one's x_groq
            legacy = field(chunk.get("x_groq"), "usage")
            if legacy is not None:
                _counts(legacy, result)
    delta = choice.get("delta")
    if not delta:
        return None
    calls = delta.get("tool_calls")
    if calls:
        assembly.add(calls)
    refusal: str | None = delta.get("refusal")
    if refusal:
        assembly.refused = True
        return refusal
    content: str | None = delta.get("content")
    return content


def _raise_event(error: Any, response: Any) -> None:
    """An error object in a 200 answer (a stream's event, or a compatible server's body) raised as the
    SDK's own `APIError`, as its stream would raise it, so `map_error` sees what it always sees."""
    import openai

    message = error.get("message") if isinstance(error, dict) else error
    raise openai.APIError(
        message if isinstance(message, str) and message else "An error occurred during streaming",
        response.request,
        body=error,
    )


def foreign_headers(openai: ModuleType) -> dict[str, Any]:
    """Default headers that keep OpenAI's ambient settings off another host: the organization, project
    and `OPENAI_CUSTOM_HEADERS` lines the SDK adds from the environment, each omitted (`openai.Omit`).
    An `Authorization` line is left to the caller, who sets its own."""
    omit = openai.Omit()
    headers: dict[str, Any] = {"OpenAI-Organization": omit, "OpenAI-Project": omit}
    for line in os.environ.get("OPENAI_CUSTOM_HEADERS", "").split("\n"):
        name = line.partition(":")[0].strip()
        if ":" in line and name and name.lower() != "authorization":
            headers[name] = omit
    return headers


class OpenAIProvider(Provider):
    """Chat Completions via the `openai` SDK, its own retries off (the service retries).

    The base of the Azure and OpenAI-compatible providers, which change the client (`client_class`,
    `client_kwargs`), the name errors give (`label`) and whether a stream asks for its usage.
    """

    key_env = ("OPENAI_API_KEY",)
    base_url_env = "OPENAI_BASE_URL"
    #: The service's name in error messages.
    label: ClassVar[str] = "OpenAI"
    #: Whether a stream sends `stream_options: {"include_usage": true}` to get its usage chunk.
    stream_usage: ClassVar[bool] = True

    def client_class(self, openai: ModuleType, asynchronous: bool) -> Any:
        """The SDK client class to build."""
        return openai.AsyncOpenAI if asynchronous else openai.OpenAI

    def client_kwargs(
        self, openai: ModuleType, api_key: str | None, base_url: str | None, asynchronous: bool
    ) -> dict[str, Any]:
        """The client's constructor arguments besides `max_retries` (always 0)."""
        if not asynchronous:
            return {"api_key": api_key, "base_url": base_url}
        # The SDK's own pool without the wrapper whose __del__ schedules `aclose` on whatever loop
        # is running: a client of a closed loop is dropped in another one (see Provider.async_client).
        return {"api_key": api_key, "base_url": base_url, "http_client": openai.DefaultAsyncHttpxClient()}

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        return self._build(api_key, base_url, asynchronous=False)

    def create_async_client(self, api_key: str | None, base_url: str | None) -> Any:
        return self._build(api_key, base_url, asynchronous=True)

    def _build(self, api_key: str | None, base_url: str | None, asynchronous: bool) -> Any:
        openai = import_sdk("openai", "openai")
        kwargs = self.client_kwargs(openai, api_key, base_url, asynchronous)
        client = self.client_class(openai, asynchronous)(**kwargs, max_retries=0)
        guard(client._client)  # its httpx2 client: the timeout bounds a whole attempt (see _deadline)
        return client

    def _key_hint(self) -> str:
        return f" (check {' or '.join(self.key_env)})" if self.key_env else ""

    def fetches_url(self, media_type: str | None) -> bool:
        """Images by URL OpenAI fetches itself; a PDF or audio by URL is downloaded and sent inline
        (Chat Completions takes neither by URL), as is a URL whose type its name does not show."""
        return media_type in FETCHED

    def inline_limit(self, media_type: str | None) -> int | None:
        """The documented limits (see `_openai_content.INLINE_LIMITS`); audio has none."""
        return INLINE_LIMITS.get(media_type or "")

    def keywords(self) -> frozenset[str] | None:
        """What the SDK's `chat.completions.create` takes (`extra_body` carries anything else)."""
        return keywords_of(import_sdk("openai.resources.chat.completions", "openai").Completions.create)

    def unsupported_for(self, model: ModelInfo) -> frozenset[str]:
        # o-series and gpt-5 reasoning models reject sampling parameters.
        return _REASONING_DROPS if _is_reasoning(model) else frozenset()

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(params)
        if "max_tokens" in options and _is_reasoning(model):
            options["max_completion_tokens"] = options.pop("max_tokens")
        return options

    def embed(self, request: EmbedRequest) -> Embedded:
        raw = self.client().embeddings.with_raw_response.create(**embed_kwargs(request))
        return embedded(raw, self.label, self.name, request.model, len(request.inputs))

    async def aembed(self, request: EmbedRequest) -> Embedded:
        raw = await self.async_client().embeddings.with_raw_response.create(**embed_kwargs(request))
        return embedded(raw, self.label, self.name, request.model, len(request.inputs))

    def embed_limits(self, model: ModelInfo) -> tuple[int, int | None]:
        """2,048 texts and 300,000 tokens per request (developers.openai.com/api/reference/resources/embeddings)."""
        return 2048, 300_000

    def embed_keywords(self) -> frozenset[str] | None:
        """What the SDK's `embeddings.create` takes (`extra_body` carries anything else)."""
        names = keywords_of(import_sdk("openai.resources.embeddings", "openai").Embeddings.create)
        return None if names is None else names - {"input"}

    def complete(self, request: Request) -> Completion:
        raw = self.client().chat.completions.with_raw_response.create(**_kwargs(request))
        return _completion(raw, self.name, request.model, self.label)

    async def acomplete(self, request: Request) -> Completion:
        raw = await self.async_client().chat.completions.with_raw_response.create(**_kwargs(request))
        return _completion(raw, self.name, request.model, self.label)

    def stream(self, request: Request, result: Completion) -> Iterator[str]:
        # The SDK's transport, auth and status errors; the chunks decoded here (see sse_events).
        result.usage_reported = False  # until the usage chunk
        events = 0
        assembly = _Assembly()
        with self.client().chat.completions.with_streaming_response.create(
            **_kwargs(request, True, self.stream_usage)
        ) as r:
            response = r.http_response
            event_stream(response.headers, self.label)
            for _, data in sse_events(r.iter_lines()):
                if data.startswith("[DONE]"):
                    assembly.finish(result)
                    return
                events += 1
                piece = _apply_chunk(data, result, response, assembly, self.label) if data else None
                if piece:
                    yield piece
        raise stream_ended(self.label, "[DONE]", not events and response.num_bytes_downloaded > 0)

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        result.usage_reported = False
        events = 0
        assembly = _Assembly()
        client = self.async_client()
        async with client.chat.completions.with_streaming_response.create(
            **_kwargs(request, True, self.stream_usage)
        ) as r:
            response = r.http_response
            event_stream(response.headers, self.label)
            async for _, data in asse_events(r.iter_lines()):
                if data.startswith("[DONE]"):
                    assembly.finish(result)
                    return
                events += 1
                piece = _apply_chunk(data, result, response, assembly, self.label) if data else None
                if piece:
                    yield piece
        raise stream_ended(self.label, "[DONE]", not events and response.num_bytes_downloaded > 0)

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        openai = sys.modules.get("openai")
        if openai is None:  # the SDK was never imported, so this is not its error
            return super().map_error(error, model)
        where: dict[str, Any] = {"provider": self.name, "model": model.id}
        if isinstance(error, openai.APITimeoutError):  # before APIConnectionError: it subclasses it
            return ProviderTimeoutError(f"{self.label} did not answer in time: {error.message}", **where)
        if isinstance(error, openai.APIConnectionError):
            return ProviderConnectionError(f"Could not reach {self.label}: {error.message}", **where)
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            # the SDK takes a body's `error` as the body; xAI's is a string, so read the whole body
            detail = body_error(error.body if isinstance(error.body, Mapping) else _json_or_none(error.response))
            code = error.code or detail.get("code")
            message = redact(str(detail.get("message") or error.message), self._secret)
            where.update(
                status_code=status,
                request_id=error.request_id,
                retry_after=retry_after_from_headers(error.response.headers),
            )
            # vLLM says it only in words: a 400 "This model's maximum context length is N tokens..."
            if code == "context_length_exceeded" or (status == 400 and "maximum context length" in message):
                return ContextWindowExceededError(f"Prompt too long for {model.id}: {message}", **where)
            metadata = detail.get("metadata")
            flagged = isinstance(metadata, Mapping) and "flagged_input" in metadata  # OpenRouter's moderation 403
            if code in ("content_filter", "content_policy_violation") or flagged:
                return ContentFilterError(f"{self.label} refused the prompt: {message}", **where)
            if code == "invalid_api_key" or status in (401, 403):
                return AuthenticationError(f"{self.label} rejected the key{self._key_hint()}: {message}", **where)
            # a 429 that waiting will not fix; 402 Payment Required: credits or balance used up (OpenRouter,
            # DeepSeek, Fireworks, Cerebras). A rate limit, so a fallback moves on, but not retried
            if code == "insufficient_quota" or status == 402:
                return RateLimitError(f"{self.label} quota exhausted: {message}", retryable=False, **where)
            return error_for_status(status)(f"{self.label} error: {message}", **where)
        if isinstance(error, openai.APIError):  # an error in a 200 answer (a stream's event): no HTTP status
            message = redact(error.message, self._secret)
            kind = error.type or error.code or ""
            status = int(kind) if kind.isdigit() and 400 <= int(kind) < 600 else None  # OpenRouter's: an HTTP status
            error_class = _IN_STREAM.get(kind) or error_for_status(status)
            return error_class(f"{self.label} error while answering: {message}", **where)
        if isinstance(error, openai.OpenAIError):
            return ProviderError(f"{self.label} SDK error: {redact(str(error), self._secret)}", **where)
        return transport_error(error, self.label, where) or super().map_error(error, model)
