"""Google Gemini through generateContent, and embeddings through embed_content (`_google_embed.py`), with
the `google-genai` SDK on the Gemini Developer API."""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import closing, suppress
from typing import TYPE_CHECKING, Any

from .._catalog.info import ModelInfo
from .._content.messages import Message, calls_of, text_of, tool_names
from .._types import Completion, ToolCall
from ..errors import (
    AuthenticationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidRequestError,
    ProviderError,
)
from ._base import DEFAULT_TIMEOUT, Embedded, EmbedRequest, Provider, Request
from ._common import (
    bad_response,
    body_error,
    error_for_status,
    import_sdk,
    redact,
    retry_after_from_headers,
    seconds_from,
    stream_ended,
    transport_error,
)
from ._deadline import guard
from ._google_embed import EMBED_LIMITS, embed_keywords, embed_kwargs, embedded

if TYPE_CHECKING:
    from .._content.attachments import Attachment
    from .._content.output import OutputFormat
    from .._content.tools import Toolset

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
    "IMAGE_SAFETY": "content_filter",
}
_CONFIG_NAMES = {"max_tokens": "max_output_tokens", "stop": "stop_sequences"}
_MODES = {"auto": "AUTO", "required": "ANY", "none": "NONE"}  # tool_choice -> function_calling_config.mode


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)


# Files (SPEC §10), per the Gemini API docs as of 2026-01:
# - Inline media types: images https://ai.google.dev/gemini-api/docs/image-understanding#supported-formats
#   (PNG, JPEG, WEBP, HEIC, HEIF: no GIF, which the API refuses, 400 "Unsupported MIME type: image/gif"),
#   audio https://ai.google.dev/gemini-api/docs/audio#supported-formats (MP3 is named "audio/mp3"),
#   PDF https://ai.google.dev/gemini-api/docs/document-processing. Keys: the types we send; values: Gemini's names.
# - Sizes https://ai.google.dev/gemini-api/docs/file-input-methods#method-comparison: inline data "100 MB per
#   request/payload (50 MB for PDFs)" (raised from 20 MB on 2026-01-12,
#   https://blog.google/innovation-and-ai/technology/developers-tools/gemini-api-new-file-limits).
# - URLs, same page, "External HTTP / Signed URLs": public HTTPS URLs go in `file_data.file_uri` and
#   Gemini fetches them, for PDF and PNG/JPEG/WEBP (its "Supported content types"; no audio).
_MIME = {
    "image/png": "image/png",
    "image/jpeg": "image/jpeg",
    "image/webp": "image/webp",
    "application/pdf": "application/pdf",
    "audio/wav": "audio/wav",
    "audio/mpeg": "audio/mp3",
}
_FETCHED = frozenset({"image/png", "image/jpeg", "image/webp", "application/pdf"})
# Read as the page reads them, sizes of the file ("for smaller files (under 100MB, or 50MB for PDFs)"), in
# Google's MB of 2**20 bytes (its 400 says "Request payload size exceeds the limit: 4194304 bytes"): the
# readings that never refuse a file the API takes. The API counts the whole request as sent (base64), so
# files near the limit, or several together, can still get its 400.
_INLINE_LIMIT = 100 * 2**20
_PDF_LIMIT = 50 * 2**20


def _parts(content: str | list[Any], model: ModelInfo) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"text": content}]
    return [{"text": part["text"]} if part["type"] == "text" else _file_part(part, model) for part in content]


def _answer(call_id: str, name: str, content: str | list[Any], model: ModelInfo) -> dict[str, Any]:
    """A tool turn as a `function_response`: its text as the result, and its files (a tool that
    returns an image) as the response's own `parts`, which Gemini 3 reads with the result."""
    if isinstance(content, str):
        return {"id": call_id, "name": name, "response": {"result": content}}
    files = [_file_part(part, model) for part in content if part["type"] != "text"]
    return {"id": call_id, "name": name, "response": {"result": text_of(content)}, "parts": files}


def _file_part(part: dict[str, Any], model: ModelInfo) -> dict[str, Any]:
    """An `attachment` part as `inline_data` (its bytes: the SDK base64-encodes them, once) or, for
    a URL left for Gemini to fetch, `file_data`."""
    if part["type"] != "attachment":
        raise InvalidRequestError(
            f"Gemini takes text and file parts (text, image_url, input_audio, file, attachment), not a "
            f"{part['type']!r} part.",
            provider="google",
            model=model.id,
        )
    attachment: Attachment = part["attachment"]
    mime = _MIME.get(attachment.media_type or "")
    if mime is None:
        raise InvalidRequestError(
            f"Gemini does not take {attachment.media_type} (attachment {attachment.describe()}); it takes "
            "PNG, JPEG, WEBP, PDF, WAV and MP3: convert the file to one of them.",
            provider="google",
            model=model.id,
        )
    if attachment.size is None:  # a URL not downloaded: Gemini fetches it (`fetches_url`)
        return {"file_data": {"file_uri": attachment.url, "mime_type": mime}}
    return {"inline_data": {"mime_type": mime, "data": attachment.data()}}


def _seconds(duration: Any) -> float | None:
    """A protobuf Duration string like '13s' or '0.5s' as seconds; None for anything else."""
    if isinstance(duration, str) and duration.endswith("s"):
        return seconds_from(duration[:-1])
    return None


def _details(error: Any) -> list[Mapping[str, Any]]:
    details = body_error(error.details).get("details") if isinstance(error.details, Mapping) else None
    return [d for d in details or () if isinstance(d, Mapping)]


_SIGNING = ("gemini-3",)  # models that refuse a function call turn without a thought signature
_NO_SIGNATURE = b"skip_thought_signature_validator"


def _contents(request: Request) -> str | list[dict[str, Any]]:
    """The `contents` argument. A lone plain-text user turn goes as a string: the SDK sends the
    same body for it, and converts it more cheaply than the equivalent list of Content dicts.

    Tool calls become `function_call` parts of the model turn; the `tool` turns answering them
    become one user turn of `function_response` parts, named by the calls they answer (Gemini
    matches results to calls by name, and by id when the call had one)."""
    messages = request.messages
    if len(messages) == 1 and messages[0]["role"] == "user" and isinstance(messages[0]["content"], str):
        return messages[0]["content"]
    contents: list[dict[str, Any]] = []
    names: dict[str, str] | None = None
    after_tool = False
    for message in messages:
        role = message["role"]
        if role == "tool":
            names = tool_names(messages) if names is None else names
            call_id = message["tool_call_id"]
            answer = _answer(call_id, names[call_id], message["content"], request.model)
            if after_tool:
                contents[-1]["parts"].append({"function_response": answer})
            else:
                contents.append({"role": "user", "parts": [{"function_response": answer}]})
        elif "tool_calls" in message:
            parts = _parts(message["content"], request.model) if message["content"] else []
            contents.append({"role": "model", "parts": parts + _call_parts(message, request.model)})
        else:
            parts = _parts(message["content"], request.model)
            contents.append({"role": "model" if role == "assistant" else "user", "parts": parts})
        after_tool = role == "tool"
    return contents


def _call_parts(message: Message, model: ModelInfo) -> list[dict[str, Any]]:
    """An assistant turn's tool calls as `function_call` parts, each with the thought signature
    Gemini gave it (`extra_content.google.thought_signature`, base64) where it came with one."""
    parts = []
    for call in calls_of(message):
        part: dict[str, Any] = {"function_call": {"id": call.id, "name": call.name, "args": call.arguments}}
        signature = ((call.extra or {}).get("google") or {}).get("thought_signature")
        if signature is not None:
            try:  # decoded here: the SDK would raise pydantic's ValidationError from inside itself
                part["thought_signature"] = base64.b64decode(signature, validate=True)
            except (binascii.Error, TypeError, ValueError) as exc:
                raise InvalidRequestError(
                    f"Tool call {call.id!r} has a thought_signature that is not base64 text: pass back "
                    "extra_content as r.message gave it.",
                    provider="google",
                    model=model.id,
                ) from exc
        parts.append(part)
    if parts and model.name.startswith(_SIGNING) and not any("thought_signature" in p for p in parts):
        # Calls Gemini did not make (another provider's, after a fallback, or written by hand):
        # Gemini 3 refuses a call turn without a signature; this is the placeholder its docs give.
        parts[0]["thought_signature"] = _NO_SIGNATURE
    return parts


def _kwargs(request: Request) -> dict[str, Any]:
    """Keyword arguments of `models.generate_content(_stream)`."""
    config = dict(request.options)
    if request.timeout != DEFAULT_TIMEOUT:
        config["http_options"] = {"timeout": _ms(request.timeout)}
    if request.system is not None:
        config["system_instruction"] = request.system
    kwargs: dict[str, Any] = {"model": request.model.name, "contents": _contents(request)}
    if config:  # even an empty config costs the SDK a conversion pass
        kwargs["config"] = config
    return kwargs


def _apply(response: Any, result: Completion, model: ModelInfo) -> str:
    """Record a response's (or stream chunk's) usage and finish reason; return its text.

    A stream's last usage is the complete one, so each chunk's usage replaces the last.
    """
    feedback = response.prompt_feedback
    if not response.candidates and feedback is not None and feedback.block_reason is not None:
        reason = getattr(feedback.block_reason, "value", feedback.block_reason)
        raise ContentFilterError(f"Gemini blocked the prompt ({reason}).", provider="google", model=model.id)
    if result.response_id is None:  # a stream's first chunk's; every chunk repeats them
        result.response_id, result.response_model = response.response_id, response.model_version
    usage = response.usage_metadata
    if usage is not None:
        thoughts = usage.thoughts_token_count or 0
        result.input_tokens = (usage.prompt_token_count or 0) + (usage.tool_use_prompt_token_count or 0)
        # candidates_token_count excludes thinking; ours counts every generated token
        result.output_tokens = (usage.candidates_token_count or 0) + thoughts
        result.cached_input_tokens = usage.cached_content_token_count or 0
        result.reasoning_tokens = thoughts
    candidate = response.candidates[0] if response.candidates else None
    if candidate is None:
        return ""
    parts = (candidate.content.parts if candidate.content is not None else None) or ()
    texts = []
    for part in parts:
        if part.function_call is not None:
            result.tool_calls = [*result.tool_calls, _tool_call(part, result.tool_calls)]
        elif part.text and not part.thought:
            texts.append(part.text)
    finish = getattr(candidate.finish_reason, "value", None)
    if finish is not None:  # Gemini says STOP for an answer of tool calls too
        result.finish_reason = "tool_calls" if finish == "STOP" and result.tool_calls else _FINISH.get(finish)
    return "".join(texts)


def _tool_call(part: Any, made: Sequence[ToolCall]) -> ToolCall:
    """A `functionCall` part as a `ToolCall`. Gemini 2.x gives no id: `call_<n>`, n its place
    in the answer (streamed calls included), made unique among the answer's ids. The part's
    thought signature (bytes in the SDK) is kept as the base64 text the API sent."""
    call = part.function_call
    call_id = call.id
    if not call_id:
        n, taken = len(made) + 1, {c.id for c in made}
        while f"call_{n}" in taken:
            n += 1
        call_id = f"call_{n}"
    signature = part.thought_signature
    extra = None if signature is None else {"google": {"thought_signature": base64.b64encode(signature).decode()}}
    return ToolCall(call_id, call.name or "", dict(call.args or {}), extra=extra)


def _completion(response: Any, model: ModelInfo) -> Completion:
    result = Completion("", raw=response)
    result.text = _apply(response, result, model)
    result.usage_reported = response.usage_metadata is not None
    return result


def _finished(chunk: Any) -> bool:
    """Whether a stream chunk carries the finish reason, which only the last one (or last but
    one, before a chunk of usage alone) does."""
    candidates = chunk.candidates
    return bool(candidates) and candidates[0].finish_reason is not None


async def _close_abandoned(error: BaseException) -> None:
    """Close the HTTP response google-genai leaves open when its async stream raises an in-stream
    error event: it raises while its own async iterators over that response are suspended, so
    they are closed only when collected, or all at once at the event loop's shutdown, where they
    race ("aclose(): asynchronous generator is already running"). Closing it ends them now."""
    http = getattr(getattr(error, "response", None), "response_stream", None)
    aclose = getattr(http, "aclose", None)  # an httpx response; aiohttp's has none
    if aclose is not None:
        with suppress(Exception):  # the error being raised is the one that matters
            await aclose()


class GoogleProvider(Provider):
    """Gemini via `models.generate_content`; the SDK's retries stay off (its default)."""

    key_env = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
    base_url_env = "GOOGLE_GEMINI_BASE_URL"
    nested_keywords = "config"  # a dict of GenerateContentConfig fields, as the keywords are

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        genai = import_sdk("google.genai", "google-genai")
        # The default timeout lives on the client: a per-request http_options costs the SDK
        # about as much again as the whole rest of the call, so it is sent only when needed.
        from ._gemini_sse import ASYNC_CLIENT_ARGS, CLIENT_ARGS  # needs httpx2, loaded with the SDK

        options: dict[str, Any] = {
            "timeout": _ms(DEFAULT_TIMEOUT),
            "client_args": CLIENT_ARGS,  # SSE comment lines out of streams (see _gemini_sse)
            "async_client_args": ASYNC_CLIENT_ARGS,
        }
        if base_url:
            options["base_url"] = base_url
        client = genai.Client(api_key=api_key, http_options=options)
        guard(getattr(client._api_client, "_httpx_client", None))  # the timeout bounds an attempt (see _deadline)
        return client

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        """Everything goes into `GenerateContentConfig`; common names become Gemini's."""
        config = dict(params.get("config") or {})
        for name, value in params.items():
            if name == "config":
                continue
            if name == "stop" and isinstance(value, str):
                value = [value]
            config[_CONFIG_NAMES.get(name, name)] = value
        return config

    def tool_options(self, model: ModelInfo, tools: Toolset) -> dict[str, Any]:
        """`tools` as function declarations (the JSON Schema as it is: Gemini takes it in
        `parameters_json_schema`), `tool_choice` as the function calling mode. (Declarations leave
        the SDK's automatic function calling off by themselves: it runs only Python callables.)"""
        declarations, natives = [], []
        for tool in tools.tools:
            if tool.native is not None:
                natives.append(tool.native)
                continue
            declaration: dict[str, Any] = {"name": tool.name, "parameters_json_schema": tool.parameters}
            if tool.description:
                declaration["description"] = tool.description
            declarations.append(declaration)
        functions = [{"function_declarations": declarations}] if declarations else []
        options: dict[str, Any] = {"tools": [*functions, *natives]}
        choice = tools.choice
        if choice is not None:
            mode = _MODES.get(choice)
            calling = {"mode": mode} if mode else {"mode": "ANY", "allowed_function_names": [choice]}
            options["tool_config"] = {"function_calling_config": calling}
        return options

    def output_options(self, model: ModelInfo, output: OutputFormat) -> dict[str, Any]:
        """JSON answers (`response_mime_type`), held to the schema by `response_json_schema`, which
        takes JSON Schema as it is (not Gemini's older OpenAPI subset, `response_schema`)."""
        if output.schema is None:
            return {"response_mime_type": "application/json"}
        return {"response_mime_type": "application/json", "response_json_schema": output.schema}

    def create_async_client(self, api_key: str | None, base_url: str | None) -> Any:
        client = self.create_client(api_key, base_url).aio
        # The SDK's async httpx2 client sends through an inner client per event loop: guard this
        # loop's (the only one this client meets). With aiohttp installed the SDK uses that instead.
        http: Any = getattr(client._api_client, "_async_httpx_client", None)
        guard(http._client_for_running_loop() if getattr(http, "_per_loop", False) else http)
        return client

    def fetches_url(self, media_type: str | None) -> bool:
        """PDFs and PNG, JPEG and WEBP images (Gemini fetches public URLs of those types itself);
        the call downloads any other URL, and one of unknown type, and sends it inline."""
        return media_type in _FETCHED

    def inline_limit(self, media_type: str | None) -> int:
        """100 MB, 50 MB for a PDF: the documented inline limits (see the notes above `_MIME`)."""
        return _PDF_LIMIT if media_type == "application/pdf" else _INLINE_LIMIT

    def keywords(self) -> frozenset[str]:
        """The fields of `GenerateContentConfig` (snake_case or camelCase, as pydantic takes them),
        where `translate` puts every keyword, and `config` itself."""
        fields = import_sdk("google.genai.types", "google-genai").GenerateContentConfig.model_fields
        return frozenset({"config", *fields, *(f.alias for f in fields.values() if f.alias)})

    def embed(self, request: EmbedRequest) -> Embedded:
        return embedded(self.client().models.embed_content(**embed_kwargs(request)), request)

    async def aembed(self, request: EmbedRequest) -> Embedded:
        return embedded(await self.async_client().models.embed_content(**embed_kwargs(request)), request)

    def embed_limits(self, model: ModelInfo) -> tuple[int, int | None]:
        return EMBED_LIMITS

    def embed_keywords(self) -> frozenset[str]:
        return embed_keywords()

    def complete(self, request: Request) -> Completion:
        return _completion(self.client().models.generate_content(**_kwargs(request)), request.model)

    async def acomplete(self, request: Request) -> Completion:
        response = await self.async_client().models.generate_content(**_kwargs(request))
        return _completion(response, request.model)

    def stream(self, request: Request, result: Completion) -> Iterator[str]:
        # Every chunk has usage, complete only in the last: it is the reported usage at the end.
        result.usage_reported = False
        finished = usage = False
        with closing(self.client().models.generate_content_stream(**_kwargs(request))) as chunks:
            for chunk in chunks:
                finished = finished or _finished(chunk)
                usage = usage or chunk.usage_metadata is not None
                piece = _apply(chunk, result, request.model)
                if piece:
                    yield piece
        if not finished:
            raise stream_ended("Gemini", "a finish reason")
        result.usage_reported = usage

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        result.usage_reported = False
        finished = usage = False
        chunks = await self.async_client().models.generate_content_stream(**_kwargs(request))
        try:
            async for chunk in chunks:
                finished = finished or _finished(chunk)
                usage = usage or chunk.usage_metadata is not None
                piece = _apply(chunk, result, request.model)
                if piece:
                    yield piece
        except Exception as exc:
            await _close_abandoned(exc)
            raise
        finally:
            await chunks.aclose()
        if not finished:
            raise stream_ended("Gemini", "a finish reason")
        result.usage_reported = usage

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        errors = sys.modules.get("google.genai.errors")
        if errors is None:  # the SDK was never imported, so this is not its error
            return super().map_error(error, model)
        where: dict[str, Any] = {"provider": self.name, "model": model.id}
        # A body (or a stream event) that is not JSON: the SDK's plain calls raise json's own error.
        if isinstance(error, (errors.UnknownApiResponseError, json.JSONDecodeError)):
            return bad_response("Gemini answered with a body that is not JSON.", **where)
        if isinstance(error, errors.APIError):
            message = redact(str(error.message or error.status or ""), self._secret)
            details = _details(error)
            headers = getattr(error.response, "headers", None)
            retry_after = retry_after_from_headers(headers)
            if retry_after is None:
                retry_after = next((_seconds(d.get("retryDelay")) for d in details if "retryDelay" in d), None)
            where.update(
                status_code=error.code,
                retry_after=retry_after,
                request_id=headers.get("x-request-id") if headers is not None else None,
            )
            if error.code in (401, 403) or any(d.get("reason") == "API_KEY_INVALID" for d in details):
                return AuthenticationError(
                    f"Gemini rejected the key (check GEMINI_API_KEY or GOOGLE_API_KEY): {message}", **where
                )
            # No error code distinguishes this; the API's wording is the only signal.
            if error.code == 400 and "exceeds the maximum number of tokens" in message:
                return ContextWindowExceededError(f"Prompt too long for {model.id}: {message}", **where)
            return error_for_status(error.code)(f"Gemini error: {message}", **where)
        return transport_error(error, "Gemini", where) or super().map_error(error, model)
