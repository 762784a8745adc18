"""The catalog's questions as the facade asks them: `info`, `list`, `cheapest` and `search`, each
row with the price in force (`price_of`, given by the caller, so the catalog imports no pricing)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from .._costs import parse_usd
from ..errors import ModelNotFoundError
from .info import Capability, ModelInfo, ModelList

if TYPE_CHECKING:
    from .._costs import Price
    from .catalog import Catalog

__all__ = ["STATUSES", "cheapest", "select", "whole", "with_price"]

STATUSES = ("active", "deprecated", "retired")
PriceOf = Callable[[ModelInfo], "Price | None"]


def whole(name: str, value: object) -> int:
    """An int argument (not a bool, not a float), or a `TypeError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _usd_per_million(name: str, value: object) -> Decimal:
    """A price argument as an exact `Decimal`: a number (or a numeric string), finite and >= 0."""
    number = parse_usd(value, name)
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r:.40}")
    return number


def with_price(model: ModelInfo, price_of: PriceOf) -> ModelInfo:
    """The row with the price in force today."""
    return replace(model, price=price_of(model))


def _price_order(model: ModelInfo) -> tuple[bool, Decimal, str]:
    return (model.price is None, model.price.input if model.price is not None else Decimal(0), model.id)


def select(
    catalog: Catalog,
    price_of: PriceOf,
    provider: str | None,
    capability: Capability | str | None,
    capabilities: Iterable[Capability | str],
    max_input_price: float | Decimal | None,
    status: str | None,
) -> ModelList:
    """Rows that match every filter (`provider` already canonical), cheapest input first."""
    if isinstance(capabilities, str):
        raise TypeError(f"capabilities must be a list, not one string: use capability={capabilities!r}")
    wanted = {Capability(c) for c in capabilities} | ({Capability(capability)} if capability else set())
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)} or None (any), not {status!r}")
    limit = None if max_input_price is None else _usd_per_million("max_input_price", max_input_price)
    found = []
    for row in catalog.rows:
        if (provider is not None and row.provider != provider) or (status is not None and row.status != status):
            continue
        if not wanted <= row.capabilities:
            continue
        price = price_of(row)
        if limit is not None and (price is None or price.input > limit):
            continue
        found.append(replace(row, price=price))
    return ModelList(sorted(found, key=_price_order))


def _blended(model: ModelInfo) -> Decimal:
    price = model.price
    assert price is not None
    return (3 * price.input + price.output) / 4


def cheapest(listed: ModelList, capabilities: Iterable[Capability | str], min_context: int) -> ModelInfo:
    """The priced row of `listed` with at least `min_context` that costs least for a typical
    request (a 3:1 blend of input and output prices). Embedding models answer no calls: only
    when `capabilities` asks for embeddings."""
    embeds = Capability.EMBEDDINGS in capabilities
    fits = [
        m
        for m in listed
        if m.price is not None
        and (m.context_window or 0) >= min_context
        and (embeds or Capability.EMBEDDINGS not in m.capabilities or Capability.TEXT_OUTPUT in m.capabilities)
    ]
    if not fits:
        raise ModelNotFoundError(
            f"a model with {', '.join(map(str, capabilities)) or 'any capability'} and a context of at least "
            f"{min_context} tokens"
        )
    return min(fits, key=_blended)


def search(catalog: Catalog, price_of: PriceOf, query: str, limit: int) -> list[ModelInfo]:
    """Rows whose id, name, display name or aliases contain every word of `query`, priced."""
    whole("limit", limit)
    return [with_price(m, price_of) for m in catalog.search(query)[:limit]]
