"""Our default prices against the `genai-prices` package, for every model both know.

One deliberate difference: genai-prices has no >200K-token band for Claude Sonnet 4
(`anthropic/claude-sonnet-4-0`), which Anthropic billed at $6/$22.50 in/out while that
model offered a 1M context (beta). We keep the band; below 200K both agree.
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from typing import Any

import pytest

from models import ModelsAPI
from models._catalog.catalog import default_catalog
from models._costs import COST_SCALE, row_in_force
from models._pricing.book import PriceBook

genai_prices = pytest.importorskip("genai_prices")

WHEN = dt.datetime(2026, 11, 24, tzinfo=dt.timezone.utc)
KNOWN_DIFFERENCES = {("anthropic/claude-sonnet-4-0", "above tier"), ("anthropic/claude-sonnet-4-0", "large")}


def _theirs(model_id: str, inp: int, out: int, cached: int, written: int) -> Decimal | None:
    provider, _, name = model_id.partition("/")
    usage = genai_prices.Usage(
        input_tokens=inp, output_tokens=out, cache_read_tokens=cached, cache_write_tokens=written
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = genai_prices.calc_price(usage, name, provider_id=provider, genai_request_timestamp=WHEN)
    except LookupError:
        return None
    return Decimal(result.total_price)


def _in_force(model_id: str) -> Any:
    price, _ = row_in_force(PriceBook().defaults()[model_id], WHEN.date().isoformat())
    assert price is not None
    return price


def _cases(model_id: str) -> list[tuple[str, int, int, int, int]]:
    price = _in_force(model_id)
    cases = [
        ("large", 1_000_000, 1_000_000, 100_000, 0),
        ("small", 1_234, 567, 0, 0),
        ("cache write", 10_000, 500, 3_000, 2_000 if model_id.startswith("anthropic/") else 0),
    ]
    for threshold, _tier in price.tiers:
        cases.append(("above tier", threshold + 1, 1_000, 0, 0))
        cases.append(("at tier", threshold, 1_000, 0, 0))
    return cases


PRICED = sorted(PriceBook().defaults())


def test_every_catalog_model_has_a_dated_sourced_price() -> None:
    defaults = PriceBook().defaults()
    assert {row.id for row in default_catalog().rows} == set(defaults)
    for rows in defaults.values():
        price = rows[-1]
        assert price.checked == "2026-11-24"
        assert price.source is not None and price.source.startswith("https://")


@pytest.mark.parametrize("model_id", PRICED)
def test_agrees_with_genai_prices(api: ModelsAPI, model_id: str) -> None:
    compared = 0
    for label, inp, out, cached, written in _cases(model_id):
        theirs = _theirs(model_id, inp, out, cached, written)
        if theirs is None:
            pytest.skip(f"genai-prices does not know {model_id}")
        ours = _in_force(model_id).cost_units(inp, out, cached, written)
        if (model_id, label) in KNOWN_DIFFERENCES:
            assert Decimal(ours) / COST_SCALE != theirs
            continue
        assert Decimal(ours) / COST_SCALE == theirs, f"{model_id} {label}"
        assert api.cost(model_id, inp, out, cached, written) == float(theirs)
        compared += 1
    assert compared >= 2


def test_genai_prices_knows_almost_all_of_our_models() -> None:
    known = [m for m in PRICED if _theirs(m, 1, 1, 0, 0) is not None]
    assert len(known) >= 55, sorted(set(PRICED) - set(known))
