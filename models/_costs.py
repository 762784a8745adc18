"""Prices: exact defaults (USD per 1M tokens), environment overrides, and the pricing rule.

Prices are kept as `Decimal` for display and as integers of 1e-9 USD per 1M tokens for
arithmetic, so a cost is an exact integer of 1e-15 USD until it becomes a float once,
correctly rounded. Overrides are read at the first price lookup and at `reload()`, never
at import.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ._catalog import ModelInfo
from .errors import InvalidCostOverrideError

__all__ = ["FIELDS", "Price", "PriceBook", "env_name"]

FIELDS = ("input", "output", "cached_input", "cache_write")
_FIELDS_LONGEST_FIRST = ("cached_input", "cache_write", "input", "output")  # CACHED_INPUT ends in _INPUT
_PRICE_SCALE = 10**9  # integer price units per USD-per-1M-tokens
COST_SCALE = 10**15  # integer cost units per USD (= 1e6 tokens * _PRICE_SCALE)


@dataclass(frozen=True, slots=True)
class Price:
    """One model's rates in USD per 1M tokens, with optional long-context tiers.

    A tier `(threshold, price)` applies to the whole request when its total input tokens
    (cached and cache writes included) are above `threshold`.
    """

    input: Decimal
    output: Decimal
    cached_input: Decimal
    cache_write: Decimal
    tiers: tuple[tuple[int, Price], ...] = ()
    checked: str | None = None
    source: str | None = None
    origin: str = "default"
    _units: tuple[int, int, int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        units = tuple(int((getattr(self, f) * _PRICE_SCALE).to_integral_value()) for f in FIELDS)
        object.__setattr__(self, "_units", units)
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda t: -t[0])))

    def cost_units(self, input_tokens: int, output_tokens: int, cached: int, written: int) -> int:
        """Exact cost in 1e-15 USD: uncached input, cache reads, cache writes and output at their rates."""
        price = self
        for threshold, tier in self.tiers:
            if input_tokens > threshold:
                price = tier
                break
        inp, out, cache, write = price._units
        uncached = max(input_tokens - cached - written, 0)
        return uncached * inp + cached * cache + written * write + output_tokens * out

    def cost(self, input_tokens: int, output_tokens: int, cached: int = 0, written: int = 0) -> float:
        """USD, correctly rounded from the exact integer cost."""
        return self.cost_units(input_tokens, output_tokens, cached, written) / COST_SCALE


def _price(
    input: str,
    output: str,
    cached_input: str | None = None,
    cache_write: str | None = None,
    *,
    checked: str,
    source: str,
    tiers: dict[int, tuple[Any, ...]] | None = None,
) -> Price:
    """A default row; cache rates default to the input rate when a provider has none."""
    inp = Decimal(input)
    return Price(
        inp,
        Decimal(output),
        Decimal(cached_input) if cached_input is not None else inp,
        Decimal(cache_write) if cache_write is not None else inp,
        tuple((at, _price(*rates, checked=checked, source=source)) for at, rates in (tiers or {}).items()),
        checked,
        source,
    )


_OPENAI = "https://developers.openai.com/api/docs/pricing"
_ANTHROPIC = "https://platform.claude.com/docs/en/about-claude/pricing"
_GOOGLE = "https://ai.google.dev/gemini-api/docs/pricing"


def _defaults() -> dict[str, Price]:
    """The built-in price table, keyed by canonical id (built on first use, not at import)."""
    day = "2026-11-24"
    return {
        # --- openai
        "openai/gpt-5": _price("1.25", "10.00", "0.125", checked=day, source=_OPENAI),
        "openai/gpt-5-mini": _price("0.25", "2.00", "0.025", checked=day, source=_OPENAI),
        "openai/gpt-5-nano": _price("0.05", "0.40", "0.005", checked=day, source=_OPENAI),
        "openai/gpt-5-pro": _price("15.00", "120.00", checked=day, source=_OPENAI),
        "openai/gpt-5.1": _price("1.25", "10.00", "0.125", checked=day, source=_OPENAI),
        "openai/gpt-5.2": _price("1.75", "14.00", "0.175", checked=day, source=_OPENAI),
        "openai/gpt-5.2-pro": _price("21.00", "168.00", checked=day, source=_OPENAI),
        "openai/gpt-5.3-codex": _price("1.75", "14.00", "0.175", checked=day, source=_OPENAI),
        "openai/gpt-5.4": _price(
            "2.50", "15.00", "0.25", checked=day, source=_OPENAI, tiers={272_000: ("5.00", "22.50", "0.50")}
        ),
        "openai/gpt-5.4-mini": _price("0.75", "4.50", "0.075", checked=day, source=_OPENAI),
        "openai/gpt-5.4-nano": _price("0.20", "1.25", "0.02", checked=day, source=_OPENAI),
        "openai/gpt-5.4-pro": _price(
            "30.00", "180.00", checked=day, source=_OPENAI, tiers={272_000: ("60.00", "270.00")}
        ),
        "openai/gpt-5.5": _price(
            "5.00", "30.00", "0.50", checked=day, source=_OPENAI, tiers={272_000: ("10.00", "45.00", "1.00")}
        ),
        "openai/gpt-5.5-pro": _price(
            "30.00", "180.00", checked=day, source=_OPENAI, tiers={272_000: ("60.00", "270.00")}
        ),
        "openai/gpt-5.6-sol": _price(
            "4.00",
            "20.00",
            "0.40",
            "5.00",
            checked=day,
            source=_OPENAI,
            tiers={272_000: ("8.00", "30.00", "0.80", "10.00")},
        ),
        "openai/gpt-5.6-terra": _price(
            "2.00",
            "12.00",
            "0.20",
            "2.50",
            checked=day,
            source=_OPENAI,
            tiers={272_000: ("4.00", "18.00", "0.40", "5.00")},
        ),
        "openai/gpt-5.6-luna": _price(
            "0.20",
            "1.20",
            "0.02",
            "0.25",
            checked=day,
            source=_OPENAI,
            tiers={272_000: ("0.40", "1.80", "0.04", "0.50")},
        ),
        "openai/gpt-4.1": _price("2.00", "8.00", "0.50", checked=day, source=_OPENAI),
        "openai/gpt-4.1-mini": _price("0.40", "1.60", "0.10", checked=day, source=_OPENAI),
        "openai/gpt-4.1-nano": _price("0.10", "0.40", "0.025", checked=day, source=_OPENAI),
        "openai/gpt-4o": _price("2.50", "10.00", "1.25", checked=day, source=_OPENAI),
        "openai/gpt-4o-mini": _price("0.15", "0.60", "0.075", checked=day, source=_OPENAI),
        "openai/o1": _price("15.00", "60.00", "7.50", checked=day, source=_OPENAI),
        "openai/o3": _price("2.00", "8.00", "0.50", checked=day, source=_OPENAI),
        "openai/o3-mini": _price("1.10", "4.40", "0.55", checked=day, source=_OPENAI),
        "openai/o4-mini": _price("1.10", "4.40", "0.275", checked=day, source=_OPENAI),
        "openai/gpt-4": _price("30.00", "60.00", checked=day, source=_OPENAI),
        "openai/gpt-4-turbo": _price("10.00", "30.00", checked=day, source=_OPENAI),
        "openai/gpt-3.5-turbo": _price("0.50", "1.50", checked=day, source=_OPENAI),
        # --- anthropic
        "anthropic/claude-opus-4-0": _price("15.00", "75.00", "1.50", "18.75", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-4-1": _price("15.00", "75.00", "1.50", "18.75", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-4-5": _price("5.00", "25.00", "0.50", "6.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-4-6": _price("5.00", "25.00", "0.50", "6.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-4-7": _price("5.00", "25.00", "0.50", "6.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-4-8": _price("5.00", "25.00", "0.50", "6.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-5": _price("5.00", "25.00", "0.50", "6.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-opus-5-5": _price("4.00", "20.00", "0.20", "5.00", checked=day, source=_ANTHROPIC),
        "anthropic/claude-sonnet-4-0": _price(
            "3.00",
            "15.00",
            "0.30",
            "3.75",
            checked=day,
            source=_ANTHROPIC,
            tiers={200_000: ("6.00", "22.50", "0.60", "7.50")},
        ),  # genai-prices lacks this >200K band (documented in tests/test_prices.py)
        "anthropic/claude-sonnet-4-5": _price(
            "3.00",
            "15.00",
            "0.30",
            "3.75",
            checked=day,
            source=_ANTHROPIC,
            tiers={200_000: ("6.00", "22.50", "0.60", "7.50")},
        ),
        "anthropic/claude-sonnet-4-6": _price("3.00", "15.00", "0.30", "3.75", checked=day, source=_ANTHROPIC),
        "anthropic/claude-sonnet-5": _price("2.00", "10.00", "0.20", "2.50", checked=day, source=_ANTHROPIC),
        "anthropic/claude-sonnet-5-5": _price("2.00", "10.00", "0.10", "2.50", checked=day, source=_ANTHROPIC),
        "anthropic/claude-haiku-4-5": _price("1.00", "5.00", "0.10", "1.25", checked=day, source=_ANTHROPIC),
        "anthropic/claude-haiku-5-5": _price(
            "0.10",
            "0.50",
            "0.01",
            "0.125",
            checked=day,
            source=_ANTHROPIC,
            tiers={100_000: ("0.50", "2.50", "0.05", "0.625")},
        ),
        "anthropic/claude-3-7-sonnet-latest": _price("3.00", "15.00", "0.30", "3.75", checked=day, source=_ANTHROPIC),
        "anthropic/claude-3-5-haiku-latest": _price("0.80", "4.00", "0.08", "1.00", checked=day, source=_ANTHROPIC),
        # --- google
        "google/gemini-2.5-pro": _price(
            "1.25", "10.00", "0.125", checked=day, source=_GOOGLE, tiers={200_000: ("2.50", "15.00", "0.25")}
        ),
        "google/gemini-2.5-flash": _price("0.30", "2.50", "0.03", checked=day, source=_GOOGLE),
        "google/gemini-2.5-flash-lite": _price("0.10", "0.40", "0.01", checked=day, source=_GOOGLE),
        "google/gemini-2.0-flash": _price("0.10", "0.40", "0.025", checked=day, source=_GOOGLE),
        "google/gemini-2.0-flash-lite": _price("0.075", "0.30", checked=day, source=_GOOGLE),
        "google/gemini-3-pro-preview": _price(
            "2.00", "12.00", "0.20", checked=day, source=_GOOGLE, tiers={200_000: ("4.00", "18.00", "0.40")}
        ),
        "google/gemini-3-flash-preview": _price("0.50", "3.00", "0.05", checked=day, source=_GOOGLE),
        "google/gemini-3.1-pro-preview": _price(
            "2.00", "12.00", "0.20", checked=day, source=_GOOGLE, tiers={200_000: ("4.00", "18.00", "0.40")}
        ),
        "google/gemini-3.1-flash-lite": _price("0.25", "1.50", "0.025", checked=day, source=_GOOGLE),
        "google/gemini-3.5-flash": _price("1.50", "9.00", "0.15", checked=day, source=_GOOGLE),
        "google/gemini-3.5-flash-lite": _price("0.30", "2.50", "0.03", checked=day, source=_GOOGLE),
        "google/gemini-3.6-flash": _price("0.75", "3.75", "0.075", checked=day, source=_GOOGLE),
        "google/gemini-3.7-flash": _price("0.75", "3.75", "0.075", checked=day, source=_GOOGLE),
        "google/gemini-3.8-flash": _price("0.75", "3.75", "0.075", checked=day, source=_GOOGLE),
    }


def env_name(model_id: str) -> str:
    """The MODEL part of `MODELS_COST_<MODEL>_<FIELD>` for an id (SPEC §4)."""
    return re.sub(r"[^A-Z0-9]+", "_", model_id.upper())


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidCostOverrideError(where, f"expected a number of USD per 1M tokens, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidCostOverrideError(where, f"expected a number of USD per 1M tokens, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidCostOverrideError(where, f"a price must be a finite number >= 0, got {value!r}")
    return number


def _read_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """Parse both override forms into key → field → (rank, value), keys in `env_name` form.

    A per-field variable (rank 2) wins over `MODELS_COSTS_JSON` (rank 1).
    """
    found: dict[str, dict[str, tuple[int, Decimal]]] = {}

    def put(key: str, fld: str, rank: int, value: Decimal) -> None:
        slot = found.setdefault(key, {})
        if fld not in slot or slot[fld][0] <= rank:
            slot[fld] = (rank, value)

    raw = environ.get("MODELS_COSTS_JSON")
    if raw and raw.strip():
        try:
            table = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise InvalidCostOverrideError("MODELS_COSTS_JSON", f"not valid JSON ({exc})") from None
        if not isinstance(table, dict):
            raise InvalidCostOverrideError(
                "MODELS_COSTS_JSON", 'expected an object like {"openai/gpt-4o": {"input": 2.5}}'
            )
        for model_id, rates in table.items():
            where = f"MODELS_COSTS_JSON[{model_id!r}]"
            if not isinstance(rates, dict) or not rates:
                raise InvalidCostOverrideError(where, f"expected an object with some of {', '.join(FIELDS)}")
            for fld, value in rates.items():
                if fld not in FIELDS:
                    raise InvalidCostOverrideError(where, f"unknown field {fld!r}; use {', '.join(FIELDS)}")
                put(env_name(model_id), fld, 1, _number(value, where))
    for var, value in environ.items():
        if not var.startswith("MODELS_COST_"):
            continue
        rest = var[len("MODELS_COST_") :]
        fld = next((f for f in _FIELDS_LONGEST_FIRST if rest.endswith("_" + f.upper())), None)
        if fld is None or len(rest) == len(fld) + 1:
            raise InvalidCostOverrideError(
                var, "expected MODELS_COST_<MODEL>_<FIELD>, FIELD one of INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE"
            )
        put(rest[: -len(fld) - 1], fld, 2, _number(value, var))
    return found


class PriceBook:
    """Defaults plus overrides; `lookup` is cached per model and `generation` counts reloads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._defaults: dict[str, Price] | None = None
        self._overrides: dict[str, dict[str, tuple[int, Decimal]]] | None = None
        self._cache: dict[str, Price | None] = {}
        self.generation = 0

    def reload(self) -> None:
        """Re-read the overrides; on a bad value raise and keep the previous ones."""
        overrides = _read_overrides(os.environ)
        with self._lock:
            self._overrides = overrides
            self._cache = {}
            self.generation += 1

    def lookup(self, model: ModelInfo) -> Price | None:
        """The price in force for `model`, or None when it has none."""
        cache = self._cache
        try:
            return cache[model.id]
        except KeyError:
            pass
        if self._overrides is None:
            self.reload()
            cache = self._cache
        price = self._compute(model)
        cache[model.id] = price
        return price

    def defaults(self) -> dict[str, Price]:
        """The built-in table (a copy); overrides never change it."""
        if self._defaults is None:
            self._defaults = _defaults()
        return dict(self._defaults)

    def _compute(self, model: ModelInfo) -> Price | None:
        default = self.defaults().get(model.id)
        overrides = self._overrides or {}
        # (rank, canonical?) orders the sources: a canonical-id key beats a bare one at equal rank.
        best: dict[str, tuple[tuple[int, int], Decimal]] = {}
        for canonical, key in ((1, env_name(model.id)), (0, env_name(model.name))):
            for fld, (rank, value) in overrides.get(key, {}).items():
                if fld not in best or best[fld][0] < (rank, canonical):
                    best[fld] = ((rank, canonical), value)
        if not best:
            return default
        rates = {fld: value for fld, (_, value) in best.items()}
        if default is None:
            missing = [f for f in ("input", "output") if f not in rates]
            if missing:
                names = " and ".join(f"MODELS_COST_{env_name(model.id)}_{f.upper()}" for f in missing)
                raise InvalidCostOverrideError(
                    names, f"{model.id} has no default price, so an override must set {' and '.join(missing)}"
                )
            inp = rates["input"]
            return Price(
                inp, rates["output"], rates.get("cached_input", inp), rates.get("cache_write", inp), origin="override"
            )
        return Price(
            rates.get("input", default.input),
            rates.get("output", default.output),
            rates.get("cached_input", default.cached_input),
            rates.get("cache_write", default.cache_write),
            checked=default.checked,
            source=default.source,
            origin="override",
        )
