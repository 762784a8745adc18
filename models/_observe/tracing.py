"""OpenTelemetry spans per call (SPEC §13), following the GenAI semantic conventions.

One CLIENT span per chat call, stream and embedding, named `"{operation} {model}"` and attributed
as the GenAI conventions' inference and embeddings client spans say (open-telemetry/
semantic-conventions-genai, docs/gen-ai/client-inference.md and client-embeddings.md), plus the
call's cost as `models.cost_usd`. OpenTelemetry is imported only when a `Tracing` is made, so a
process that never instruments loads none of it. Prompts and answers go on spans only when the
caller opts in (`content=True` or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`), as JSON
in the conventions' `parts` shape; attachments appear as a description, never their bytes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .._types import Completion, Usage
from ..errors import ConfigurationError
from .observed import Observed

__all__ = ["Tracing"]

# Our provider names -> the conventions' well-known `gen_ai.provider.name` values; any other
# provider (a compatible service, mock, one registered in code) is named as we name it.
_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "google": "gcp.gemini",  # the Gemini API (generativelanguage.googleapis.com), as google-genai with a key
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
    "xai": "x_ai",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "cohere": "cohere",
    "moonshot": "moonshot_ai",
}

_MAX_TOKENS = "gen_ai.request.max_tokens"
_TOP_P = "gen_ai.request.top_p"
_TOP_K = "gen_ai.request.top_k"
_STOP = "gen_ai.request.stop_sequences"
_CHOICES = "gen_ai.request.choice.count"
_DIMENSIONS = "gen_ai.embeddings.dimension.count"
# Request parameters by the names the SDKs take them (`Observed.options`: OpenAI and compatible
# services, Anthropic, Gemini's GenerateContentConfig, Bedrock's inferenceConfig), and the type
# each attribute has: "int", "double", "str", "strs" (a list of strings).
_REQUEST: dict[str, tuple[str, str]] = {
    "max_tokens": (_MAX_TOKENS, "int"),
    "max_completion_tokens": (_MAX_TOKENS, "int"),
    "max_output_tokens": (_MAX_TOKENS, "int"),
    "maxTokens": (_MAX_TOKENS, "int"),
    "temperature": ("gen_ai.request.temperature", "double"),
    "top_p": (_TOP_P, "double"),
    "topP": (_TOP_P, "double"),
    "top_k": (_TOP_K, "int"),
    "topK": (_TOP_K, "int"),
    "stop": (_STOP, "strs"),
    "stop_sequences": (_STOP, "strs"),
    "stopSequences": (_STOP, "strs"),
    "frequency_penalty": ("gen_ai.request.frequency_penalty", "double"),
    "presence_penalty": ("gen_ai.request.presence_penalty", "double"),
    "seed": ("gen_ai.request.seed", "int"),
    "n": (_CHOICES, "int"),
    "candidate_count": (_CHOICES, "int"),
    "reasoning_effort": ("gen_ai.request.reasoning.level", "str"),
    "dimensions": (_DIMENSIONS, "int"),
    "output_dimensionality": (_DIMENSIONS, "int"),
    "encoding_format": ("gen_ai.request.encoding_formats", "strs"),
}
_NESTED = ("config", "inferenceConfig")  # option groups whose members are request parameters too
_MIME_OUTPUT = {"application/json": "json", "text/plain": "text"}  # Gemini's response_mime_type

_CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
# "true" as the older instrumentations read it; SPAN_ONLY / SPAN_AND_EVENT as the newer ones do
# (EVENT_ONLY and NO_CONTENT put nothing on spans, and we emit no events).
_CAPTURE_ON = frozenset({"1", "true", "yes", "on", "span_only", "span_and_event"})


def _version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("models")
    except PackageNotFoundError:
        return None


class Tracing:
    """Emits one span per call on a tracer of `tracer_provider` (the global one when None).

    `content`: record prompts, system text and answers on the spans; None reads
    `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` once, here (off unless "true"/"span_only").
    """

    def __init__(self, tracer_provider: Any = None, *, content: bool | None = None) -> None:
        try:
            from opentelemetry import context, trace
        except ImportError:
            raise ConfigurationError(
                "Tracing needs OpenTelemetry, which is not installed: pip install 'models[otel]'."
            ) from None
        self.tracer_provider = tracer_provider
        if content is None:
            content = os.environ.get(_CAPTURE_ENV, "").strip().lower() in _CAPTURE_ON
        self.content = content
        self._tracer = trace.get_tracer("models", _version(), tracer_provider)
        self._client = trace.SpanKind.CLIENT
        self._in_context = trace.set_span_in_context
        self._attach = context.attach
        self._detach = context.detach
        self._error = trace.Status(trace.StatusCode.ERROR)
        self._status = trace.Status
        self._status_error = trace.StatusCode.ERROR
        # The attributes of the last request seen, by the identity of its options and model: read-only,
        # as every span copies what it is given.
        self._last: tuple[Mapping[str, Any], Any, tuple[str, bool], tuple[str, dict[str, Any]]] | None = None

    def __repr__(self) -> str:
        return f"<Tracing content={'on' if self.content else 'off'}>"

    def begin(self, call: Observed) -> object:
        """Start the call's span (a child of the current one); made current for a call that ends in
        this context, so spans made while it runs (an HTTP client's) are its children."""
        info, options, kind = call.info, call.options, (call.operation, call.stream)
        last = self._last
        if last is not None and last[0] is options and last[1] is info and last[2] == kind:
            name, attributes = last[3]  # a binding's calls share their options: built once
        else:
            name, attributes = f"{call.operation} {info.name}", _request(call)
            self._last = (options, info, kind, (name, attributes))  # one tuple, swapped whole: no lock
        span = self._tracer.start_span(name, kind=self._client, attributes=attributes)
        if self.content and call.operation == "chat" and span.is_recording():  # no JSON for a dropped span
            span.set_attribute("gen_ai.input.messages", _json(_input_messages(call.messages)))
            if call.system:
                span.set_attribute("gen_ai.system_instructions", _json([{"type": "text", "content": call.system}]))
        token = self._attach(self._in_context(span)) if call.current else None
        return span, token

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        if state is None:  # `begin` failed (and was logged)
            return
        span, token = state
        try:
            if span.is_recording():
                span.set_attributes(_response_attributes(call, c, usage))
                if self.content and call.operation == "chat":
                    span.set_attribute("gen_ai.output.messages", _json(_output_messages(c)))
        finally:
            self._end(span, token)

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        if state is None:
            return
        span, token = state
        try:
            span.set_attribute("error.type", _error_type(error))
            message = str(error)  # our errors' messages never hold a key
            span.set_status(self._status(self._status_error, message) if message else self._error)
        finally:
            self._end(span, token)

    def _end(self, span: Any, token: Any) -> None:
        if token is not None:
            self._detach(token)
        span.end()


def _request(call: Observed) -> dict[str, Any]:
    """What a span knows from the start: the operation, provider, model and request parameters
    (all of it there for a sampler to see)."""
    info = call.info
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": call.operation,
        "gen_ai.provider.name": _PROVIDERS.get(info.provider, info.provider),
        "gen_ai.request.model": info.name,
    }
    if call.stream:
        attributes["gen_ai.request.stream"] = True
    _request_attributes(call.options, attributes)
    return attributes


def _response_attributes(call: Observed, c: Completion, usage: Usage) -> dict[str, Any]:
    """What the answer says: the model and id, why it stopped, the tokens (every input token,
    cache reads and writes included, as the conventions count them) and the cost."""
    attributes: dict[str, Any] = {}
    if c.response_model:
        attributes["gen_ai.response.model"] = c.response_model
    if c.response_id:
        attributes["gen_ai.response.id"] = c.response_id
    chat = call.operation == "chat"
    if chat:
        if c.finish_reason:
            attributes["gen_ai.response.finish_reasons"] = (c.finish_reason,)
        elif call.stream:  # closed before its last event: the conventions say "error"
            attributes["gen_ai.response.finish_reasons"] = ("error",)
    if c.usage_reported:  # else the counts are partial: left out rather than a wrong number
        attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
        if chat:
            attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cached_input_tokens:
                attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cached_input_tokens
            if usage.cache_write_tokens:
                attributes["gen_ai.usage.cache_write.input_tokens"] = usage.cache_write_tokens
            if usage.reasoning_tokens:
                attributes["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
    if usage.cost is not None:
        attributes["models.cost_usd"] = usage.cost
    return attributes


def _request_attributes(options: Mapping[str, Any], into: dict[str, Any]) -> None:
    """The request parameters the conventions name, read from the SDK keyword arguments."""
    for name, value in options.items():
        known = _REQUEST.get(name)
        if known is not None:
            attribute, kind = known
            value = _typed(value, kind)
            if value is not None and not (attribute == _CHOICES and value == 1):  # choice.count only when != 1
                into[attribute] = value
        elif name in _NESTED and isinstance(value, Mapping):
            _request_attributes(value, into)
        else:
            output = _output_type(name, value)
            if output is not None:
                into["gen_ai.output.type"] = output


def _output_type(name: str, value: Any) -> str | None:
    """`gen_ai.output.type` from a structured-output option, as each SDK takes one (`response_format=`
    becomes OpenAI's `response_format`, Gemini's `response_mime_type`, Anthropic's `output_config`
    format, Bedrock's `outputConfig`); None for any other option."""
    if name == "response_mime_type":
        return _MIME_OUTPUT.get(value) if isinstance(value, str) else None
    if not isinstance(value, Mapping):
        return None
    if name == "response_format":
        kind = value.get("type")
        return "json" if kind in ("json_schema", "json_object") else "text" if kind == "text" else None
    if (name == "output_config" and value.get("format")) or (name == "outputConfig" and value.get("textFormat")):
        return "json"
    return None


def _typed(value: Any, kind: str) -> Any:
    """`value` as the attribute's type, or None when it is not one (a span takes no other)."""
    if isinstance(value, bool):
        return None
    if kind == "int":
        if isinstance(value, float) and value.is_integer():  # Gemini's SDK takes a float top_k: 40.0 is 40
            return int(value)
        return value if isinstance(value, int) else None
    if kind == "double":
        return float(value) if isinstance(value, (int, float)) else None
    if kind == "str":
        return value if isinstance(value, str) else None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _error_type(error: BaseException) -> str:
    """The exception's fully qualified class name (`models.errors.RateLimitError`): what the
    conventions ask of `error.type` for an exception, and low in cardinality."""
    kind = type(error)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _json(value: Any) -> str:
    """A structured attribute as a JSON string: what the conventions say where a span's
    attributes cannot hold maps (the Python SDK's cannot)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def _input_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """The normalised turns (OpenAI's chat shape) as the conventions' input messages."""
    out = []
    for turn in messages:
        role = turn.get("role")
        if role == "tool":
            parts: list[dict[str, Any]] = [
                {"type": "tool_call_response", "id": turn.get("tool_call_id"), "response": _text(turn.get("content"))}
            ]
        else:
            parts = _content_parts(turn.get("content"))
            for call in turn.get("tool_calls") or ():
                function = call["function"]
                parts.append(_tool_call(call["id"], function["name"], _arguments(function["arguments"])))
        out.append({"role": role, "parts": parts})
    return out


def _content_parts(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for part in content or ():
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": part.get("text", "")})
        elif kind == "attachment":
            parts.append(_attachment(part["attachment"]))
        else:  # a provider's own part: its type only, as its payload may be large or binary
            parts.append({"type": kind})
    return parts


def _attachment(attachment: Any) -> dict[str, Any]:
    """A file in the prompt: a `uri` part for a URL the provider fetches; otherwise a description
    (name, media type, modality), never the bytes, which would overflow any span exporter."""
    media_type, modality = attachment.media_type, attachment.kind
    if attachment.url is not None:
        return {"type": "uri", "modality": modality, "mime_type": media_type, "uri": attachment.url}
    return {"type": "attachment", "modality": modality, "mime_type": media_type, "name": attachment.name}


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or () if part.get("type") == "text")


def _arguments(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _output_messages(c: Completion) -> list[dict[str, Any]]:
    """The answer as the conventions' one output message (finish reasons are on their own attribute)."""
    parts: list[dict[str, Any]] = [{"type": "text", "content": c.text}] if c.text else []
    for call in c.tool_calls:
        arguments = call.arguments if call.raw_arguments is None else call.raw_arguments  # cut-off JSON as sent
        parts.append(_tool_call(call.id, call.name, arguments))
    return [{"role": "assistant", "parts": parts}]
