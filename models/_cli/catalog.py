"""`models list`, `models info`, `models cost`: the catalog and its prices, as tables or JSON."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .. import models as api
from .output import dollars, print_json, tokens

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._catalog.info import ModelInfo
    from .._costs import Price

__all__ = ["info_json", "run"]


def run(args: argparse.Namespace) -> int:
    command: str = args.command
    if command == "list":
        return _list(args)
    if command == "info":
        return _info(args)
    return _cost(args)


def _list(args: argparse.Namespace) -> int:
    found = api.list(
        provider=args.provider,
        capabilities=args.capability,
        max_input_price=args.max_input_price,
        status=None if args.all else "active",
    )
    if args.json:
        print_json([info_json(model) for model in found])
    else:
        print(found._table().text())
    return 0


def _info(args: argparse.Namespace) -> int:
    model = api.info(args.model)
    if args.json:
        print_json(info_json(model))
    else:
        print(model._table().text())
    return 0


def _cost(args: argparse.Namespace) -> int:
    if args.cached > args.input:
        args.parser.error(f"--cached ({args.cached:,}) is part of --input ({args.input:,}), so at most that")
    model = api.info(args.model).id
    cost = api.cost(model, input_tokens=args.input, output_tokens=args.output, cached_input_tokens=args.cached)
    if args.json:
        counts = {"input_tokens": args.input, "output_tokens": args.output, "cached_input_tokens": args.cached}
        print_json({"model": model, **counts, "cost": cost})
    else:
        print(f"{model} · {tokens(args.input, args.output, args.cached)} · {dollars(cost)}")
    return 0


def info_json(model: ModelInfo) -> dict[str, Any]:
    """A `ModelInfo` as JSON-able data: capabilities sorted, the price in USD per 1M tokens."""
    data = {field.name: getattr(model, field.name) for field in dataclasses.fields(model)}
    data["aliases"] = list(model.aliases)
    data["capabilities"] = sorted(c.value for c in model.capabilities)
    data["price"] = None if model.price is None else _price_json(model.price)
    return data


def _price_json(price: Price) -> dict[str, Any]:
    rates = {name: float(getattr(price, name)) for name in ("input", "output", "cached_input", "cache_write")}
    tiers = [{"above_input_tokens": threshold, **_price_json(tier)} for threshold, tier in price.tiers]
    rates["cache_write_1h"] = float(price.cache_write_1h)
    return {**rates, "tiers": tiers, "since": price.since, "origin": price.origin, "source": price.source}
