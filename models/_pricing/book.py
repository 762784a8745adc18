"""`PriceBook`: the price in force for a model — overrides, then a registered row's price
(`register_model`, `MODELS_CATALOG`), then 0 for a model of a local provider (Ollama, vLLM), then
the default rows (the model's own, or its registered base's), then the `genai-prices` data for
models we lack.

Overrides are read at the first lookup and at `reload()`, never at import.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from .._catalog.catalog import PROVIDER_ALIASES
from .._costs import COST_SCALE, FIELDS, Price, default_rows, fine_tuned_rows, make_price, row_in_force
from .._fork import fork_safe_lock
from ..errors import InvalidCostOverrideError
from .overrides import ModelNames, Overrides, env_name, read_overrides

if TYPE_CHECKING:
    from .._catalog.info import ModelInfo

__all__ = ["PriceBook"]

_CACHE_SIZE = 1024  # models whose price is cached; past it the oldest is dropped (ids can be made up)


def _utc_midnight(day: str) -> float:
    return _dt.datetime.fromisoformat(day).replace(tzinfo=_dt.timezone.utc).timestamp()


MAX_TOKENS = 2**63 - 1  # a provider's token counter is at most an int64; more cannot be priced as a float


def _iso_day(at: _dt.date | _dt.datetime | None) -> str | None:
    """The UTC calendar day of `at`, as the price history keys it."""
    if at is None:
        return None
    if isinstance(at, _dt.datetime):
        if at.tzinfo is not None:
            at = at.astimezone(_dt.timezone.utc)
        return at.date().isoformat()
    if isinstance(at, _dt.date):
        return at.isoformat()
    raise TypeError(f"at must be a date or datetime, not {type(at).__name__}")


def _today() -> str:
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


class PriceBook:
    """Defaults plus overrides. `current` is cached per model until its next scheduled change;
    `generation` counts reloads, so holders of a price know to fetch it again."""

    def __init__(self, models: ModelNames | None = None) -> None:
        self._models = models  # checks that every override names one of its models
        self._lock = fork_safe_lock()
        self._defaults: dict[str, tuple[Price, ...]] | None = None
        self._fine_tuned: dict[str, tuple[Price, ...]] | None = None
        self._overrides: Overrides | None = None
        self._cache: dict[str, tuple[Price | None, float | None]] = {}
        self.generation = 0

    def reload(self) -> None:
        """Re-read the overrides; on a bad value raise and keep the previous ones."""
        overrides = read_overrides(os.environ, self._models)
        with self._lock:
            self._overrides = overrides
            self._cache = {}
            self.generation += 1

    def forget(self) -> None:
        """Drop the prices worked out so far (a catalog row's price changed); holders of one
        (targets, bindings) see `generation` move and fetch theirs again."""
        with self._lock:
            self._cache = {}
            self.generation += 1

    def defaults(self) -> dict[str, tuple[Price, ...]]:
        """The built-in rows per canonical id, oldest first (a copy; overrides never change it)."""
        if self._defaults is None:
            self._defaults = default_rows()
        return dict(self._defaults)

    def current(self, model: ModelInfo) -> tuple[Price | None, float | None]:
        """The price in force now, and when (epoch seconds) a scheduled row replaces it, if ever."""
        cache = self._cache
        hit = cache.get(model.id)
        if hit is not None and (hit[1] is None or hit[1] > _dt.datetime.now(_dt.timezone.utc).timestamp()):
            return hit
        if self._overrides is None:
            self.reload()
            cache = self._cache
        price, next_day = self._compute(model, _today())
        entry = (price, _utc_midnight(next_day) if next_day is not None else None)
        with self._lock:
            if len(cache) >= _CACHE_SIZE:
                del cache[next(iter(cache))]  # the oldest
            cache[model.id] = entry
        return entry

    def lookup(self, model: ModelInfo, at: str | None = None) -> Price | None:
        """The price in force for `model` on `at` (ISO date; default today), or None when it has none."""
        if at is None:
            return self.current(model)[0]
        if self._overrides is None:
            self.reload()
        return self._compute(model, at)[0]

    def cost(self, model: ModelInfo, at: _dt.date | _dt.datetime | None, **counts: int) -> float | None:
        """`models.cost`: USD for the token counts of a usage of `model` (checked: whole numbers from
        0 to 2**63 - 1, the parts within their wholes), by the price in force on the UTC day of `at`
        (default today); None when the model has no price."""
        for name, count in counts.items():
            if isinstance(count, bool) or not isinstance(count, int):
                raise TypeError(f"{name} must be an int, not {type(count).__name__}")
            if not 0 <= count <= MAX_TOKENS:
                raise ValueError(f"{name} must be a whole number from 0 to 2**63 - 1, not {count!r}")
        inp, cached, write, write_1h = (
            counts["input_tokens"],
            counts["cached_input_tokens"],
            counts["cache_write_tokens"],
            counts["cache_write_1h_tokens"],
        )
        if cached + write > inp:
            raise ValueError("cached_input_tokens + cache_write_tokens are part of input_tokens and cannot exceed it")
        if write_1h > write:
            raise ValueError("cache_write_1h_tokens are part of cache_write_tokens and cannot exceed it")
        price = self.lookup(model, _iso_day(at))
        if price is None:
            return None
        return price.cost_units(inp, counts["output_tokens"], cached, write, write_1h) / COST_SCALE

    def _compute(self, model: ModelInfo, day: str) -> tuple[Price | None, str | None]:
        override = self._override(model)
        if override is not None:
            return override, None
        rows = self._rows(model)
        if rows:
            return row_in_force(rows, day)
        return _from_genai_prices(self._priced_as(model), day), None

    def _rows(self, model: ModelInfo) -> tuple[Price, ...]:
        """The model's price rows before overrides: registered, local (free), or the default rows."""
        if self._defaults is None:
            self._defaults = default_rows()
        defaults = self._defaults
        if model.base is not None:  # fine-tuned: the base's fine-tuned rate, else the base's own
            if self._fine_tuned is None:
                self._fine_tuned = fine_tuned_rows()
            return self._fine_tuned.get(model.base) or defaults.get(model.base, ())
        registered = self._models.catalog.prices.get(model.id) if self._models is not None else None
        if isinstance(registered, Price):
            return (registered,)
        if self._models is not None and model.provider in self._models.local_providers:
            return (_LOCAL,)
        return defaults.get(registered or model.id, ())

    def _priced_as(self, model: ModelInfo) -> ModelInfo:
        """The model whose price applies: a registered row's base, else the model itself."""
        if self._models is None:
            return model
        catalog = self._models.catalog
        registered = catalog.prices.get(model.id)
        return (catalog.row(registered) or model) if isinstance(registered, str) else model

    def _override(self, model: ModelInfo) -> Price | None:
        """The overridden price (flat: tiers dropped), or None when no override names the model."""
        overrides = self._overrides or {}
        # (rank, canonical?) orders the sources: a canonical-id key beats a bare one at equal rank.
        # Every spelling that resolves to the model counts (provider and model aliases too), the
        # model's own first: it wins a tie.
        best: dict[str, tuple[tuple[int, int], Decimal]] = {}
        spellings = (model.name, *model.aliases)
        providers = (model.provider, *(a for a, p in PROVIDER_ALIASES.items() if p == model.provider))
        keys = [(1, env_name(f"{p}/{s}")) for p in providers for s in spellings] + [(0, env_name(s)) for s in spellings]
        for canonical, key in keys:
            for fld, (rank, value) in overrides.get(key, {}).items():
                if fld not in best or best[fld][0] < (rank, canonical):
                    best[fld] = ((rank, canonical), value)
        if not best:
            return None
        rates = {fld: value for fld, (_, value) in best.items()}
        default, _ = row_in_force(self._rows(model), _today())
        if default is None:
            missing = [f for f in ("input", "output") if f not in rates]
            if missing:
                names = " and ".join(f"MODELS_COST_{env_name(model.id)}_{f.upper()}" for f in missing)
                raise InvalidCostOverrideError(
                    names, f"{model.id} has no default price, so an override must set {' and '.join(missing)}"
                )
            return make_price(rates, origin="override")
        merged = {f: rates.get(f, getattr(default, f)) for f in FIELDS}
        if "cache_write" in rates and "cache_write_1h" not in rates and default.cache_write_1h == default.cache_write:
            merged["cache_write_1h"] = rates["cache_write"]
        return make_price(
            merged, since=default.since, checked=default.checked, source=default.source, origin="override"
        )


_LOCAL = make_price({"input": Decimal(0), "output": Decimal(0)}, origin="local")
"""The price of a model that runs on the caller's own hardware (`ModelNames.local_providers`)."""

_GENAI_PROVIDERS = {"xai": "x-ai", "bedrock": "aws"}
"""Our provider names that genai-prices spells otherwise."""
_VERSION_DASH = re.compile(r"(?<=[-/]\d)-(?=\d(?:-|$))")
"""A dash between two one-digit version numbers: `claude-sonnet-4-6`, `claude-3-5-haiku`."""


def _genai_names(model: ModelInfo) -> tuple[str, ...]:
    """The names to look a model up by in genai-prices, ours first, then the service's own spelling
    where it differs from the one users write: OpenRouter writes versions with a dot
    (`anthropic/claude-sonnet-4.6` for Anthropic's `claude-sonnet-4-6`); Fireworks' ids are paths
    (`accounts/fireworks/models/<name>`)."""
    name = model.name
    if model.provider == "openrouter" and _VERSION_DASH.search(name):
        return name, _VERSION_DASH.sub(".", name)
    if model.provider == "fireworks" and not name.startswith("accounts/"):
        return name, f"accounts/fireworks/models/{name}"
    return (name,)


def _from_genai_prices(model: ModelInfo, day: str) -> Price | None:
    """Flat rates from the `genai-prices` data, for a model our table lacks (imported only then)."""
    try:
        import genai_prices
    except ImportError:
        return None
    when = _dt.datetime.fromisoformat(day).replace(tzinfo=_dt.timezone.utc)
    provider = _GENAI_PROVIDERS.get(model.provider, model.provider)

    def per_million(name: str, **tokens: int) -> Decimal:
        usage = genai_prices.Usage(**tokens)
        result = genai_prices.calc_price(usage, name, provider_id=provider, genai_request_timestamp=when)
        return Decimal(result.total_price) * 1000  # priced on 1,000 tokens: below any long-context tier

    for name in _genai_names(model):
        try:
            rates = {
                "input": per_million(name, input_tokens=1000),
                "output": per_million(name, output_tokens=1000),
                "cached_input": per_million(name, input_tokens=1000, cache_read_tokens=1000),
                "cache_write": per_million(name, input_tokens=1000, cache_write_tokens=1000),
                "cache_write_1h": per_million(
                    name, input_tokens=1000, cache_write_tokens=1000, cache_write_1h_tokens=1000
                ),
            }
        except LookupError:
            continue
        return make_price(rates, since=None, checked=None, source="genai-prices", origin="genai-prices")
    return None
