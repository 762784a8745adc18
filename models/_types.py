"""Value types a call returns: `Usage`, `Response`, `ToolCall`, and `Completion` (a provider's raw result).

`Usage` and `Response` are built on every call, so they are plain slotted classes with
read-only properties: about a fifth of the cost of frozen dataclasses, and still immutable
to their users.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ._display import Table, clip, money, repr_html, repr_pretty

if TYPE_CHECKING:
    from ._costs import Price

__all__ = ["Attempt", "Completion", "Lazy", "Response", "ToolCall", "Usage", "as_text"]


class Usage:
    """Tokens and dollars of one call.

    `input_tokens` counts every prompt token, cached ones and cache writes included;
    `output_tokens` counts every generated token, reasoning included;
    `cache_write_1h_tokens` are the cache writes kept for an hour (Anthropic), a part of
    `cache_write_tokens`. `cost` is USD, or `None` when the model has no price or the provider
    reported no usage (a stream closed before its end): unknown, never a silent 0. For an
    audit, `price_source` says where the price came from ("default", "override",
    "registered", "local", "genai-prices" or "none") and `price` is the rate row applied (long-context tier included).
    """

    __slots__ = ("_c", "_cache_1h", "_cached", "_cost", "_in", "_out", "_price", "_reasoning", "_source", "_written")

    def __init__(
        self,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        cost: float | None = None,
        cache_write_1h_tokens: int = 0,
        price_source: str = "none",
        price: Price | None = None,
    ) -> None:
        self._in = input_tokens
        self._out = output_tokens
        self._cached = cached_input_tokens
        self._written = cache_write_tokens
        self._reasoning = reasoning_tokens
        self._cost = cost
        self._cache_1h = cache_write_1h_tokens
        self._source = price_source
        self._price = price

    @property
    def input_tokens(self) -> int:
        return self._in

    @property
    def output_tokens(self) -> int:
        return self._out

    @property
    def total_tokens(self) -> int:
        return self._in + self._out

    @property
    def cached_input_tokens(self) -> int:
        return self._cached

    @property
    def cache_write_tokens(self) -> int:
        return self._written

    @property
    def reasoning_tokens(self) -> int:
        return self._reasoning

    @property
    def cost(self) -> float | None:
        return self._cost

    @property
    def cache_write_1h_tokens(self) -> int:
        return self._cache_1h

    @property
    def price_source(self) -> str:
        return self._source

    @property
    def price(self) -> Price | None:
        return self._price

    def _fields(self) -> tuple[Any, ...]:
        return (
            self._in,
            self._out,
            self._cached,
            self._written,
            self._reasoning,
            self._cost,
            self._cache_1h,
            self._source,
            self._price,
        )

    def __eq__(self, other: object) -> bool:
        return self._fields() == other._fields() if isinstance(other, Usage) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Usage(input_tokens={self._in}, output_tokens={self._out}, cached_input_tokens={self._cached}, "
            f"cache_write_tokens={self._written}, reasoning_tokens={self._reasoning}, cost={self._cost!r}, "
            f"cache_write_1h_tokens={self._cache_1h}, price_source={self._source!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Usage, self._fields())

    def _summary(self) -> str:
        """Tokens in and out, with the parts that are not zero: "1,000 in (200 cached), 500 out"."""
        inside = [f"{n:,} {what}" for n, what in ((self._cached, "cached"), (self._written, "cache write")) if n]
        spent = f"{self._in:,} in" + (f" ({', '.join(inside)})" if inside else "") + f", {self._out:,} out"
        return spent + (f" ({self._reasoning:,} reasoning)" if self._reasoning else "")

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    def _table(self) -> Table:
        counts = (
            ("input_tokens", self._in),
            ("cached_input_tokens", self._cached),
            ("cache_write_tokens", self._written),
            ("cache_write_1h_tokens", self._cache_1h),
            ("output_tokens", self._out),
            ("reasoning_tokens", self._reasoning),
            ("total_tokens", self.total_tokens),
        )
        rows = [(name, f"{n:,}") for name, n in counts]
        return Table("Usage", [*rows, ("cost", money(self._cost)), ("price_source", self._source)])


class Attempt:
    """A model tried before the one that answered (or before the error raised): fallbacks and routers.

    `error_kind` is an error kind (`rate_limit`, `server`, ...) or why it was passed over:
    `cooldown` (its circuit breaker is open), `context_window` (its window is no larger than one
    that already overflowed) or `not_configured` (no API key, or no base URL, endpoint or region).
    `error` is the exception, if one was raised; `latency` the seconds spent on it.
    """

    __slots__ = ("_error", "_kind", "_latency", "_model")

    def __init__(self, model: str, error_kind: str, error: BaseException | None = None, latency: float = 0.0) -> None:
        self._model = model
        self._kind = error_kind
        self._error = error
        self._latency = latency

    @property
    def model(self) -> str:
        return self._model

    @property
    def error_kind(self) -> str:
        return self._kind

    @property
    def error(self) -> BaseException | None:
        return self._error

    @property
    def latency(self) -> float:
        return self._latency

    def __reduce__(self) -> tuple[Any, ...]:
        return (Attempt, (self._model, self._kind, self._error, self._latency))

    def __repr__(self) -> str:
        return f"Attempt({self._model!r}, {self._kind!r}, latency={self._latency:.3f}s)"


class Lazy:
    """A value built on first use: a provider's typed SDK object costs more to build than our
    own parsing, so `Response.raw` builds it only when someone reads it."""

    __slots__ = ("build",)

    def __init__(self, build: Callable[[], Any]) -> None:
        self.build = build


def as_text(value: Any) -> str:
    """A tool's result as the text the model reads: a `str` as it is, anything else as JSON
    (pydantic models and dataclasses included), or `str()` when it is not JSON-able."""
    if isinstance(value, str):
        return value
    from pydantic_core import to_json

    try:
        return to_json(value).decode()
    except Exception:  # e.g. a custom object pydantic cannot serialise
        return str(value)


class ToolCall:
    """A call the model asked for: `id`, `name`, `arguments` (a parsed dict).

    `raw_arguments` is the model's text when it was not a JSON object (arguments cut off by
    `max_tokens`, say): `arguments` is then empty and `run_tools` tells the model so. `extra`
    is provider data that must go back with the call (Gemini's thought signature).
    """

    __slots__ = ("_arguments", "_extra", "_id", "_name", "_raw")

    def __init__(
        self,
        id: str,
        name: str,
        arguments: dict[str, Any],
        *,
        extra: dict[str, Any] | None = None,
        raw_arguments: str | None = None,
    ) -> None:
        self._id = id
        self._name = name
        self._arguments = arguments
        self._extra = extra
        self._raw = raw_arguments

    @classmethod
    def from_json(cls, id: str, name: str, text: str | None, extra: dict[str, Any] | None = None) -> ToolCall:
        """A call whose arguments came as JSON text (OpenAI; Anthropic's streamed fragments)."""
        if not text:
            return cls(id, name, {}, extra=extra)
        try:
            arguments = json.loads(text)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            return cls(id, name, {}, extra=extra, raw_arguments=text)
        return cls(id, name, arguments, extra=extra)

    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @property
    def arguments(self) -> dict[str, Any]:
        return self._arguments

    @property
    def extra(self) -> dict[str, Any] | None:
        return self._extra

    @property
    def raw_arguments(self) -> str | None:
        return self._raw

    def result(self, value: Any) -> dict[str, Any]:
        """The `tool` turn answering this call: `{"role": "tool", "tool_call_id", "content"}`."""
        return {"role": "tool", "tool_call_id": self._id, "content": as_text(value)}

    def to_openai(self) -> dict[str, Any]:
        """This call in OpenAI's chat format, as `Response.message` lists it."""
        arguments = self._raw if self._raw is not None else json.dumps(self._arguments, ensure_ascii=False)
        call: dict[str, Any] = {
            "id": self._id,
            "type": "function",
            "function": {"name": self._name, "arguments": arguments},
        }
        if self._extra:
            call["extra_content"] = self._extra
        return call

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ToolCall):
            return NotImplemented
        return (self._id, self._name, self._arguments, self._extra, self._raw) == (
            other._id,
            other._name,
            other._arguments,
            other._extra,
            other._raw,
        )

    __hash__ = None  # type: ignore[assignment]  # arguments are a dict

    def __repr__(self) -> str:
        return f"ToolCall(id={self._id!r}, name={self._name!r}, arguments={self._arguments!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_call, (self._id, self._name, self._arguments, self._extra, self._raw))


def _call(id: str, name: str, arguments: dict[str, Any], extra: Any, raw: str | None) -> ToolCall:
    return ToolCall(id, name, arguments, extra=extra, raw_arguments=raw)


class Completion:
    """What a `Provider.complete` returns: the answer and token counts, normalised.

    Token semantics are those of `Usage`; the service adds cost, latency and metrics.
    `raw` is the SDK's response object, or a `Lazy` that builds it. `usage_reported` (default True)
    says the counts are the provider's final usage; the built-in providers clear it when a body
    or a stream lacks that usage (a stream closed early), so the call is priced as unknown
    (`cost` None), never as free. `tool_calls` are the calls the answer makes, in order (a stream
    fills them in by its end). `response_id` and `response_model` are the provider's id of the answer
    and the model that gave it, as the provider says (None when it does not).
    """

    __slots__ = (
        "cache_write_1h_tokens",
        "cache_write_tokens",
        "cached_input_tokens",
        "finish_reason",
        "input_tokens",
        "output_tokens",
        "raw",
        "reasoning_tokens",
        "response_id",
        "response_model",
        "text",
        "tool_calls",
        "usage_reported",
    )

    def __init__(
        self,
        text: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        finish_reason: str | None = None,
        raw: Any = None,
        cache_write_1h_tokens: int = 0,
        usage_reported: bool = True,
        tool_calls: Sequence[ToolCall] = (),
    ) -> None:
        self.text = text
        self.tool_calls = tool_calls  # a provider assigns a new list; the default allocates nothing
        self.usage_reported = usage_reported
        self.cache_write_1h_tokens = cache_write_1h_tokens
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_input_tokens = cached_input_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.finish_reason = finish_reason
        self.raw = raw
        self.response_id: str | None = None  # the provider's id of this answer, for tracing and the call log
        self.response_model: str | None = None  # the model that answered, as the provider names it


class Response:
    """The answer of one call. Immutable; `str(response)` is its text.

    `model` is the canonical `provider/name`; `raw` is the SDK's own response object, built
    on first access; `latency` is the wall time of the whole call in seconds, retries included.
    `tool_calls` are the calls the model asks for (SPEC §8), `message` the assistant turn to append
    to a conversation, `parsed` the validated value of a `response_format` call (SPEC §9), and
    `steps` every round's own `Response` when `run_tools=True` ran the loop (then `usage` covers all).
    """

    __slots__ = (
        "_attempts",
        "_finish",
        "_latency",
        "_model",
        "_parsed",
        "_provider",
        "_raw",
        "_steps",
        "_text",
        "_tool_calls",
        "_usage",
    )

    def __init__(
        self,
        text: str,
        model: str,
        provider: str,
        usage: Usage,
        finish_reason: str | None,
        latency: float,
        raw: Any = None,
        attempts: tuple[Attempt, ...] = (),
        tool_calls: tuple[ToolCall, ...] = (),
        parsed: Any = None,
        steps: tuple[Response, ...] = (),
    ) -> None:
        self._attempts = attempts
        self._text = text
        self._model = model
        self._provider = provider
        self._usage = usage
        self._finish = finish_reason
        self._latency = latency
        self._raw = raw
        self._tool_calls = tool_calls
        self._parsed = parsed
        self._steps = steps

    @property
    def text(self) -> str:
        return self._text

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def usage(self) -> Usage:
        return self._usage

    @property
    def finish_reason(self) -> str | None:
        return self._finish

    @property
    def latency(self) -> float:
        return self._latency

    @property
    def attempts(self) -> tuple[Attempt, ...]:
        """The models tried before this one answered (fallbacks, routers); empty when the first did."""
        return self._attempts

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls the model asks for, in order; empty when none."""
        return self._tool_calls

    @property
    def parsed(self) -> Any:
        """The validated value of the answer when the call gave `response_format`; else None."""
        return self._parsed

    @property
    def steps(self) -> tuple[Response, ...]:
        """Every round's `Response` when `run_tools=True` ran the loop (this one's usage sums them); else empty."""
        return self._steps

    @property
    def message(self) -> dict[str, Any]:
        """The assistant turn, in OpenAI's chat format, to append to a conversation."""
        message: dict[str, Any] = {"role": "assistant", "content": self._text or None}
        if self._tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self._tool_calls]
        elif message["content"] is None:
            message["content"] = ""
        return message

    def _replace(self, **fields: Any) -> Response:
        """A copy with some private fields replaced (`attempts=`, `steps=`, `usage=`, ...)."""
        response = Response.__new__(Response)
        for name in Response.__slots__:
            object.__setattr__(response, name, fields.get(name[1:], getattr(self, name)))
        return response

    def _with_attempts(self, attempts: tuple[Attempt, ...]) -> Response:
        return self._replace(attempts=attempts)

    @property
    def raw(self) -> Any:
        raw = self._raw
        if isinstance(raw, Lazy):
            # Two threads reading at once may both build it; each gets an equal object.
            raw = self._raw = raw.build()
        return raw

    def __str__(self) -> str:
        return self._text

    def _key(self) -> tuple[Any, ...]:
        return (
            self._text,
            self._model,
            self._provider,
            self._usage,
            self._finish,
            self._latency,
            self._tool_calls,
            self._steps,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return self._key() == other._key() and _same(self._parsed, other._parsed)

    __hash__ = None  # type: ignore[assignment]  # `raw` may be unhashable; equal responses need not hash

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self._text, self._model, self._provider, self._usage, self._finish, self._latency)
        return (Response, (*fields, self.raw, self._attempts, self._tool_calls, self._parsed, self._steps))

    def __repr__(self) -> str:
        text = self._text if len(self._text) <= 60 else self._text[:57] + "..."
        calls = f", tool_calls={[c.name for c in self._tool_calls]}" if self._tool_calls else ""
        return (
            f"Response(model={self._model!r}, text={text!r}{calls}, input_tokens={self._usage.input_tokens}, "
            f"output_tokens={self._usage.output_tokens}, cost={money(self._usage.cost)}, latency={self._latency:.3f}s)"
        )

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    def _table(self) -> Table:
        rows = [
            ("text", clip(self._text)),
            ("model", self._model),
            ("usage", self._usage._summary()),
            ("cost", money(self._usage.cost)),
            ("finish_reason", self._finish or "none"),
            ("latency", f"{self._latency:.3f} s"),
        ]
        if self._tool_calls:
            rows.append(("tool_calls", "\n".join(f"{c.name}({clip(str(c.arguments))})" for c in self._tool_calls)))
        if self._steps:
            rows.append(("steps", str(len(self._steps))))
        if self._attempts:
            rows.append(("attempts", "\n".join(f"{a.model} ({a.error_kind})" for a in self._attempts)))
        return Table("Response", rows)


def _same(a: Any, b: Any) -> bool:
    """Equality that an object without `__eq__` (compared by identity) does not fail."""
    try:
        return bool(a == b)
    except Exception:
        return a is b
