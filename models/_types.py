"""Value types a call returns: `Usage`, `Response`, and `Completion` (a provider's raw result).

`Usage` and `Response` are built on every call, so they are plain slotted classes with
read-only properties: about a fifth of the cost of frozen dataclasses, and still immutable
to their users.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._display import Table, clip, money, repr_html, repr_pretty

if TYPE_CHECKING:
    from ._costs import Price

__all__ = ["Attempt", "Completion", "Lazy", "Response", "Usage"]


class Usage:
    """Tokens and dollars of one call.

    `input_tokens` counts every prompt token, cached ones and cache writes included;
    `output_tokens` counts every generated token, reasoning included;
    `cache_write_1h_tokens` are the cache writes kept for an hour (Anthropic), a part of
    `cache_write_tokens`. `cost` is USD, or `None` when the model has no price or the provider
    reported no usage (a stream closed before its end): unknown, never a silent 0. For an
    audit, `price_source` says where the price came from ("default", "override",
    "genai-prices" or "none") and `price` is the rate row applied (long-context tier included).
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
    that already overflowed) or `not_configured` (no API key). `error` is the exception, if one
    was raised; `latency` the seconds spent on it.
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


class Completion:
    """What a `Provider.complete` returns: the answer and token counts, normalised.

    Token semantics are those of `Usage`; the service adds cost, latency and metrics.
    `raw` is the SDK's response object, or a `Lazy` that builds it. `usage_reported` (default True)
    says the counts are the provider's final usage; the built-in providers clear it when a body
    or a stream lacks that usage (a stream closed early), so the call is priced as unknown
    (`cost` None), never as free.
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
        "text",
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
    ) -> None:
        self.text = text
        self.usage_reported = usage_reported
        self.cache_write_1h_tokens = cache_write_1h_tokens
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_input_tokens = cached_input_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.finish_reason = finish_reason
        self.raw = raw


class Response:
    """The answer of one call. Immutable; `str(response)` is its text.

    `model` is the canonical `provider/name`; `raw` is the SDK's own response object, built
    on first access; `latency` is the wall time of the whole call in seconds, retries included.
    """

    __slots__ = ("_attempts", "_finish", "_latency", "_model", "_provider", "_raw", "_text", "_usage")

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
    ) -> None:
        self._attempts = attempts
        self._text = text
        self._model = model
        self._provider = provider
        self._usage = usage
        self._finish = finish_reason
        self._latency = latency
        self._raw = raw

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

    def _with_attempts(self, attempts: tuple[Attempt, ...]) -> Response:
        response = Response(self._text, self._model, self._provider, self._usage, self._finish, self._latency)
        response._raw, response._attempts = self._raw, attempts
        return response

    @property
    def raw(self) -> Any:
        raw = self._raw
        if isinstance(raw, Lazy):
            # Two threads reading at once may both build it; each gets an equal object.
            raw = self._raw = raw.build()
        return raw

    def __str__(self) -> str:
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (self._text, self._model, self._provider, self._usage, self._finish, self._latency) == (
            other._text,
            other._model,
            other._provider,
            other._usage,
            other._finish,
            other._latency,
        )

    __hash__ = None  # type: ignore[assignment]  # `raw` may be unhashable; equal responses need not hash

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self._text, self._model, self._provider, self._usage, self._finish, self._latency)
        return (Response, (*fields, self.raw, self._attempts))

    def __repr__(self) -> str:
        text = self._text if len(self._text) <= 60 else self._text[:57] + "..."
        return (
            f"Response(model={self._model!r}, text={text!r}, input_tokens={self._usage.input_tokens}, "
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
        if self._attempts:
            rows.append(("attempts", "\n".join(f"{a.model} ({a.error_kind})" for a in self._attempts)))
        return Table("Response", rows)
