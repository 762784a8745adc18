"""Value types a call returns: `Usage`, `Response`, and `Completion` (a provider's raw result)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._costs import Price

__all__ = ["Completion", "Response", "Usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens and dollars of one call (or of many, when summed).

    `input_tokens` counts every prompt token, cached ones and cache writes included;
    `output_tokens` counts every generated token, reasoning included;
    `cache_write_1h_tokens` are the cache writes kept for an hour (Anthropic), a part of
    `cache_write_tokens`. `cost` is USD, or `None` only when the model has no price. For an
    audit, `price_source` says where the price came from ("default", "override",
    "genai-prices" or "none") and `price` is the rate row applied (long-context tier included).
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float | None = None
    cache_write_1h_tokens: int = 0
    price_source: str = "none"
    price: Price | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Completion:
    """What a `Provider.complete` returns: the answer and token counts, normalised.

    Token semantics are those of `Usage`; the service adds cost, latency and metrics.
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
    ) -> None:
        self.text = text
        self.cache_write_1h_tokens = cache_write_1h_tokens
        self.input_tokens = input_tokens
        self.output_tokens = output_tokens
        self.cached_input_tokens = cached_input_tokens
        self.cache_write_tokens = cache_write_tokens
        self.reasoning_tokens = reasoning_tokens
        self.finish_reason = finish_reason
        self.raw = raw


@dataclass(frozen=True, slots=True, repr=False)
class Response:
    """The answer of one call. Immutable; `str(response)` is its text.

    `model` is the canonical `provider/name`; `raw` is the SDK's own response object;
    `latency` is the wall time of the whole call in seconds, retries included.
    """

    text: str
    model: str
    provider: str
    usage: Usage
    finish_reason: str | None
    latency: float
    raw: Any = None

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        text = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        cost = "unpriced" if self.usage.cost is None else f"${self.usage.cost:.8f}"
        return (
            f"Response(model={self.model!r}, text={text!r}, input_tokens={self.usage.input_tokens}, "
            f"output_tokens={self.usage.output_tokens}, cost={cost}, latency={self.latency:.3f}s)"
        )
