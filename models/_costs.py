"""Prices: the exact default table (USD per 1M tokens, with history), and the pricing rule.

Prices are `Decimal` for display and integers of 1e-9 USD per 1M tokens for arithmetic,
so a cost is an exact integer of 1e-15 USD until it becomes a float once, correctly
rounded. Each model has dated rows, oldest first; the row in force on a date prices a
call made then. `_pricing/book.py` adds the environment overrides and the optional
`genai-prices` fallback; nothing here reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ._display import Table, brief, repr_html, repr_pretty

__all__ = [
    "COST_SCALE",
    "FIELDS",
    "MAX_PRICE",
    "Price",
    "default_rows",
    "fine_tuned_rows",
    "make_price",
    "parse_rate",
    "parse_usd",
    "row_in_force",
]

FIELDS = ("input", "output", "cached_input", "cache_write", "cache_write_1h")
"""The price fields, in the order a row, an override and the pricing rule read them."""


def parse_usd(value: object, name: str) -> Decimal:
    """An amount of USD given as a number, or as a numeric string for an exact decimal ("0.10"),
    as a `Decimal` (not yet checked to be finite or >= 0). `TypeError` for another type,
    `ValueError` for a string that is no number; both name the argument."""
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)  # not via str(): that refuses ints of over 4,300 digits
    if not isinstance(value, (float, str)):
        raise TypeError(f"{name} must be a number of USD, not {type(value).__name__}")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number of USD, not {brief(value)}") from None


MAX_PRICE = Decimal(1_000_000)
"""The highest price an override or a registered row may set, in USD per 1M tokens: $1 a token,
over 3,000 times the dearest rate in the table (gpt-5.5-pro's $270 output), so a value above it
is a mistake. It also bounds every cost: an int64 of tokens at $1 each is far inside a float, so
pricing a finished call cannot overflow after the request was paid for."""


def parse_rate(value: object, name: str) -> Decimal:
    """A price field given by a user (`register_model`, `MODELS_CATALOG`): `parse_usd`, then finite,
    >= 0 and <= `MAX_PRICE`, or a `ValueError` naming it."""
    number = parse_usd(value, name)
    if not number.is_finite() or not 0 <= number <= MAX_PRICE:
        raise ValueError(
            f"{name} must be a finite number >= 0 and <= {MAX_PRICE} (USD per 1M tokens), not {brief(value)}"
        )
    return number


_PRICE_SCALE = 10**9  # integer price units per USD-per-1M-tokens
COST_SCALE = 10**15  # integer cost units per USD (= 1e6 tokens * _PRICE_SCALE)


@dataclass(frozen=True, slots=True)
class Price:
    """One price row of a model, in USD per 1M tokens, with optional long-context tiers.

    A tier `(threshold, price)` applies to the whole request when its total input tokens
    (cached and cache writes included) are above `threshold`. `since` is the date the row
    took effect; `origin` is where it comes from ("default", "override", "registered", "local"
    or "genai-prices", what `Usage.price_source` says); `checked` and `source` say when and where a
    default was verified (a `MODELS_CATALOG` row's `source` is its file).
    """

    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    cache_write_1h: Decimal
    tiers: tuple[tuple[int, Price], ...] = ()
    since: str | None = None
    checked: str | None = None
    source: str | None = None
    origin: str = "default"
    _units: tuple[int, int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        units = tuple(int((getattr(self, f) * _PRICE_SCALE).to_integral_value()) for f in FIELDS)
        object.__setattr__(self, "_units", units)
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: -t[0])))

    def for_input(self, input_tokens: int) -> Price:
        """The row that prices a request of `input_tokens`: the highest tier it exceeds, or this one."""
        for threshold, tier in self.tiers:
            if input_tokens > threshold:
                return tier
        return self

    def cost_units(
        self, input_tokens: int, output_tokens: int, cached: int = 0, written: int = 0, written_1h: int = 0
    ) -> int:
        """Exact cost in 1e-15 USD. `cached` and `written` are part of `input_tokens`; `written_1h`
        of `written` (writes kept for an hour, Anthropic); output includes reasoning."""
        return self.for_input(input_tokens).flat_cost_units(input_tokens, output_tokens, cached, written, written_1h)

    def max_cost_units(self, input_tokens: int, output_tokens: int) -> int:
        """The most a request of at most these tokens can cost, for a budget to reserve: every input
        token at the dearest rate that may bill it (plain, or a 5-minute or 1-hour cache write), in the
        dearest row it may reach (this one, or any tier `input_tokens` exceeds)."""
        inp, out, _, write, write_1h = self._units
        worst = input_tokens * max(inp, write, write_1h) + output_tokens * out
        for threshold, tier in self.tiers:
            if input_tokens > threshold:
                inp, out, _, write, write_1h = tier._units
                worst = max(worst, input_tokens * max(inp, write, write_1h) + output_tokens * out)
        return worst

    def flat_cost_units(
        self, input_tokens: int, output_tokens: int, cached: int = 0, written: int = 0, written_1h: int = 0
    ) -> int:
        """`cost_units` at this row's own rates, for a caller that already chose the tier."""
        inp, out, cache, write, write_1h = self._units
        units = max(input_tokens - cached - written, 0) * inp + output_tokens * out
        # Most calls cache nothing: skipping zero terms halves the cost of this per-call sum.
        if cached:
            units += cached * cache
        if written:
            units += (written - written_1h) * write + written_1h * write_1h
        return units

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    def _table(self) -> Table:
        """Where the rates come from, then the rates, a column per long-context tier (lowest threshold first)."""
        tiers = self.tiers[::-1]
        headers = ("", "base", *(f"above {at:,} input tokens" for at, _ in tiers)) if tiers else ()
        rates = [(f, str(getattr(self, f)), *(str(getattr(tier, f)) for _, tier in tiers)) for f in FIELDS]
        about = self.origin + (f" since {self.since}" if self.since else "")
        about += (f", checked {self.checked}" if self.checked else "") + (f": {self.source}" if self.source else "")
        return Table(f"Price (USD per 1M tokens)\n{about}", rates, headers, right=range(1, 2 + len(tiers)))


def make_price(rates: dict[str, Decimal], **details: Any) -> Price:
    """A row from the rates given; a missing cache rate is the input rate (no discount, no premium)."""
    inp = rates["input"]
    write = rates.get("cache_write", inp)
    return Price(
        inp,
        rates["output"],
        rates.get("cached_input", inp),
        write,
        rates.get("cache_write_1h", write),
        **details,
    )


def row_in_force(rows: tuple[Price, ...], day: str) -> tuple[Price | None, str | None]:
    """The row in force on `day` (ISO date) among rows oldest first, and the date the next one starts."""
    current: Price | None = None
    for row in rows:
        if row.since is not None and row.since > day:
            return current, row.since
        current = row
    return current, None


CHECKED = "2026-11-24"
_SOURCES = {
    "openai": "https://developers.openai.com/api/docs/pricing",
    "anthropic": "https://platform.claude.com/docs/en/about-claude/pricing",
    "google": "https://ai.google.dev/gemini-api/docs/pricing",
    "bedrock": "https://aws.amazon.com/bedrock/pricing/",
}
_Rates = tuple[str | None, ...]  # input, output[, cached_input[, cache_write[, cache_write_1h]]]
_Row = tuple[str, _Rates, dict[int, _Rates]]  # since, rates, long-context tiers


def _build(model_id: str, since: str | None, rates: _Rates, tiers: dict[int, _Rates] | None = None) -> Price:
    values = {f: Decimal(v) for f, v in zip(FIELDS, rates) if v is not None}
    source = _SOURCES[model_id.partition("/")[0]]
    details: dict[str, Any] = {"since": since, "checked": CHECKED, "source": source}
    tier_rows = tuple((at, _build(model_id, since, tier)) for at, tier in (tiers or {}).items())
    return make_price(values, tiers=tier_rows, **details)


def default_rows() -> dict[str, tuple[Price, ...]]:
    """The built-in rows per canonical id, oldest first (built on first use, not at import)."""
    return {model: tuple(_build(model, *row) for row in rows) for model, rows in _DEFAULTS.items()}


def fine_tuned_rows() -> dict[str, tuple[Price, ...]]:
    """Rates of models fine-tuned from a base model, keyed by the base's canonical id."""
    return {model: tuple(_build(model, *row) for row in rows) for model, rows in _FINE_TUNED.items()}


# fmt: off
# Generated from the 2026-11-24 research (providers' pricing pages, genai-prices 0.2.3).
# model: rows oldest first, each (effective from, (input, output, cached_input, cache_write,
# cache_write_1h), {tier threshold: rates}). A missing cache rate is the input rate.
_DEFAULTS: dict[str, tuple[tuple[Any, ...], ...]] = {
    'openai/gpt-5': (('2025-08-07', ('1.25', '10.00', '0.125')),),
    'openai/gpt-5-mini': (('2025-08-07', ('0.25', '2.00', '0.025')),),
    'openai/gpt-5-nano': (('2025-08-07', ('0.05', '0.40', '0.005')),),
    'openai/gpt-5-pro': (('2025-10-06', ('15.00', '120.00')),),
    'openai/gpt-5.1': (('2025-11-13', ('1.25', '10.00', '0.125')),),
    'openai/gpt-5.2': (('2025-12-11', ('1.75', '14.00', '0.175')),),
    'openai/gpt-5.2-pro': (('2025-12-11', ('21.00', '168.00')),),
    'openai/gpt-5.3-codex': (('2026-02-05', ('1.75', '14.00', '0.175')),),
    'openai/gpt-5.4': (('2026-03-05', ('2.50', '15.00', '0.25'), {272_000: ('5.00', '22.50', '0.50')}),),
    'openai/gpt-5.4-mini': (('2026-03-17', ('0.75', '4.50', '0.075')),),
    'openai/gpt-5.4-nano': (('2026-03-17', ('0.20', '1.25', '0.02')),),
    'openai/gpt-5.4-pro': (('2026-03-05', ('30.00', '180.00'), {272_000: ('60.00', '270.00')}),),
    'openai/gpt-5.5': (('2026-04-24', ('5.00', '30.00', '0.50'), {272_000: ('10.00', '45.00', '1.00')}),),
    'openai/gpt-5.5-pro': (('2026-04-24', ('30.00', '180.00'), {272_000: ('60.00', '270.00')}),),
    # gpt-5.6-*: the 2x input / 1.5x output band above 272K applied from launch, before the price cuts too
    # (genai-prices 0.2.3, citing developers.openai.com/api/docs/models/gpt-5.6-* and the API changelog).
    'openai/gpt-5.6-sol': (('2026-07-09', ('5.00', '30.00', '0.50', '6.25'), {272_000: ('10.00', '45.00', '1.00', '12.50')}), ('2026-08-21', ('4.00', '20.00', '0.40', '5.00'), {272_000: ('8.00', '30.00', '0.80', '10.00')}),),
    'openai/gpt-5.6-terra': (('2026-07-09', ('2.50', '15.00', '0.25', '3.125'), {272_000: ('5.00', '22.50', '0.50', '6.25')}), ('2026-07-30', ('2.00', '12.00', '0.20', '2.50'), {272_000: ('4.00', '18.00', '0.40', '5.00')}),),
    'openai/gpt-5.6-luna': (('2026-07-09', ('1.00', '6.00', '0.10', '1.25'), {272_000: ('2.00', '9.00', '0.20', '2.50')}), ('2026-07-30', ('0.20', '1.20', '0.02', '0.25'), {272_000: ('0.40', '1.80', '0.04', '0.50')}),),
    'openai/gpt-4.1': (('2025-04-14', ('2.00', '8.00', '0.50')),),
    'openai/gpt-4.1-mini': (('2025-04-14', ('0.40', '1.60', '0.10')),),
    'openai/gpt-4.1-nano': (('2025-04-14', ('0.10', '0.40', '0.025')),),
    'openai/gpt-4o': (('2024-05-13', ('5.00', '15.00')), ('2024-10-02', ('2.50', '10.00', '1.25')),),
    'openai/gpt-4o-mini': (('2024-07-18', ('0.15', '0.60', '0.075')),),
    'openai/o1': (('2024-12-17', ('15.00', '60.00', '7.50')),),
    'openai/o3': (('2025-04-16', ('10.00', '40.00', '2.50')), ('2025-06-10', ('2.00', '8.00', '0.50')),),
    'openai/o3-mini': (('2025-01-31', ('1.10', '4.40', '0.55')),),
    'openai/o4-mini': (('2025-04-16', ('1.10', '4.40', '0.275')),),
    'openai/gpt-4': (('2023-03-14', ('30.00', '60.00')),),
    'openai/gpt-4-turbo': (('2024-04-09', ('10.00', '30.00')),),
    'openai/gpt-3.5-turbo': (('2023-03-01', ('2.00', '2.00')), ('2023-06-13', ('1.50', '2.00')), ('2024-02-16', ('0.50', '1.50')),),
    'anthropic/claude-opus-4-0': (('2025-05-22', ('15.00', '75.00', '1.50', '18.75', '30.00')),),
    'anthropic/claude-opus-4-1': (('2025-08-05', ('15.00', '75.00', '1.50', '18.75', '30.00')),),
    'anthropic/claude-opus-4-5': (('2025-11-24', ('5.00', '25.00', '0.50', '6.25', '10.00')),),
    # Opus 4.6 and Sonnet 4.6: above 200K input, 2x input and cache rates and 1.5x output while the 1M window
    # was in beta, until it became generally available at flat rates on 2026-03-13 (genai-prices 0.2.3, citing
    # platform.claude.com/docs/en/build-with-claude/context-windows and .../about-claude/pricing#long-context-pricing).
    'anthropic/claude-opus-4-6': (('2026-02-05', ('5.00', '25.00', '0.50', '6.25', '10.00'), {200_000: ('10.00', '37.50', '1.00', '12.50', '20.00')}), ('2026-03-13', ('5.00', '25.00', '0.50', '6.25', '10.00')),),
    'anthropic/claude-opus-4-7': (('2026-04-16', ('5.00', '25.00', '0.50', '6.25', '10.00')),),
    'anthropic/claude-opus-4-8': (('2026-05-28', ('5.00', '25.00', '0.50', '6.25', '10.00')),),
    'anthropic/claude-opus-5': (('2026-07-24', ('5.00', '25.00', '0.50', '6.25', '10.00')),),
    'anthropic/claude-opus-5-5': (('2026-09-22', ('4.00', '20.00', '0.20', '5.00', '8.00')),),
    'anthropic/claude-sonnet-4-0': (('2025-05-22', ('3.00', '15.00', '0.30', '3.75', '6.00'), {200_000: ('6.00', '22.50', '0.60', '7.50', '12.00')}),),
    'anthropic/claude-sonnet-4-5': (('2025-09-29', ('3.00', '15.00', '0.30', '3.75', '6.00'), {200_000: ('6.00', '22.50', '0.60', '7.50', '12.00')}),),
    'anthropic/claude-sonnet-4-6': (('2026-02-17', ('3.00', '15.00', '0.30', '3.75', '6.00'), {200_000: ('6.00', '22.50', '0.60', '7.50', '12.00')}), ('2026-03-13', ('3.00', '15.00', '0.30', '3.75', '6.00')),),
    'anthropic/claude-sonnet-5': (('2026-06-30', ('2.00', '10.00', '0.20', '2.50', '4.00')),),
    'anthropic/claude-sonnet-5-5': (('2026-09-28', ('2.00', '10.00', '0.20', '2.50', '4.00')), ('2026-10-07', ('2.00', '10.00', '0.10', '2.50', '4.00')),),
    'anthropic/claude-haiku-4-5': (('2025-10-15', ('1.00', '5.00', '0.10', '1.25', '2.00')),),
    'anthropic/claude-haiku-5-5': (('2026-10-07', ('0.10', '0.50', '0.01', '0.125', '0.20'), {100_000: ('0.50', '2.50', '0.05', '0.625', '1.00')}),),
    'anthropic/claude-3-7-sonnet-latest': (('2025-02-24', ('3.00', '15.00', '0.30', '3.75', '6.00')),),
    'anthropic/claude-3-5-haiku-latest': (('2024-11-04', ('0.80', '4.00', '0.08', '1.00', '1.60')),),
    'google/gemini-2.5-pro': (('2025-06-17', ('1.25', '10.00', '0.125'), {200_000: ('2.50', '15.00', '0.25')}),),
    'google/gemini-2.5-flash': (('2025-06-17', ('0.30', '2.50', '0.03')),),
    'google/gemini-2.5-flash-lite': (('2025-07-22', ('0.10', '0.40', '0.01')),),
    'google/gemini-2.0-flash': (('2025-02-05', ('0.10', '0.40', '0.025')),),
    'google/gemini-2.0-flash-lite': (('2025-02-25', ('0.075', '0.30')),),
    'google/gemini-3-pro-preview': (('2025-11-18', ('2.00', '12.00', '0.20'), {200_000: ('4.00', '18.00', '0.40')}),),
    'google/gemini-3-flash-preview': (('2025-12-17', ('0.50', '3.00', '0.05')),),
    'google/gemini-3.1-pro-preview': (('2026-02-19', ('2.00', '12.00', '0.20'), {200_000: ('4.00', '18.00', '0.40')}),),
    'google/gemini-3.1-flash-lite': (('2026-05-07', ('0.25', '1.50', '0.025')),),
    'google/gemini-3.5-flash': (('2026-05-19', ('1.50', '9.00', '0.15')),),
    'google/gemini-3.5-flash-lite': (('2026-07-21', ('0.30', '2.50', '0.03')),),
    'google/gemini-3.6-flash': (('2026-07-21', ('0.75', '3.75', '0.075')), ('2027-01-01', ('1.50', '7.50', '0.15')),),
    'google/gemini-3.7-flash': (('2026-08-13', ('0.75', '3.75', '0.075')), ('2027-01-01', ('1.50', '7.50', '0.15')),),
    'google/gemini-3.8-flash': (('2026-09-02', ('0.75', '3.75', '0.075')), ('2027-01-01', ('1.50', '7.50', '0.15')),),
    # embedding models: input tokens only (genai-prices 0.2.3; OpenAI's and Google's pricing pages)
    'openai/text-embedding-3-small': (('2024-01-25', ('0.02', '0')),),
    'openai/text-embedding-3-large': (('2024-01-25', ('0.13', '0')),),
    'openai/text-embedding-ada-002': (('2022-12-15', ('0.10', '0')),),
    'google/gemini-embedding-001': (('2025-07-14', ('0.15', '0')),),
    # text input; https://ai.google.dev/gemini-api/docs/pricing#gemini-embedding-2 (images, audio, video cost more)
    'google/gemini-embedding-2': (('2026-04-22', ('0.20', '0')),),
    # genai-prices' "aws" row (Amazon Titan Text Embeddings V2, on-demand, per 1M input tokens)
    'bedrock/amazon.titan-embed-text-v2:0': (('2024-04-30', ('0.02', '0')),),
}
_FINE_TUNED: dict[str, tuple[tuple[Any, ...], ...]] = {
    'openai/gpt-4.1': ((None, ('3.00', '12.00', '0.75')),),
    'openai/gpt-4.1-mini': ((None, ('0.80', '3.20', '0.20')),),
    'openai/gpt-4.1-nano': ((None, ('0.20', '0.80', '0.05')),),
    'openai/gpt-4o': ((None, ('3.75', '15.00', '1.875')),),
    'openai/gpt-4o-mini': ((None, ('0.30', '1.20', '0.15')),),
    'openai/o4-mini': ((None, ('4.00', '16.00', '1.00')),),
    'openai/gpt-3.5-turbo': ((None, ('3.00', '6.00')),),
}
# fmt: on
