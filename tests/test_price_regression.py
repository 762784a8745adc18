"""Price regression cases: expected dollars computed by hand from the providers' published
prices (checked 2026-11-24: tokens x USD per 1M, outside this library), one case per line.

Covers cached input, 5-minute and 1-hour cache writes, reasoning-heavy output (billed as
output), long-context tiers at and just above their thresholds, snapshot aliases, and
price history (dated cases at the end). `cost` must equal the bill exactly, not nearly.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from models import ModelsAPI
from models._costs import COST_SCALE, Price, row_in_force
from models._pricing.book import PriceBook

# (label, model as a user writes it, input, output, cached input, cache writes, of which 1-hour, expected USD)
CASES = [
    ("gpt-5 plain", "gpt-5", 12345, 6789, 0, 0, 0, "0.08332125"),
    ("gpt-5 cached", "openai/gpt-5", 50000, 2000, 40000, 0, 0, "0.0375"),
    ("gpt-5 reasoning-heavy output", "gpt-5", 1000, 30000, 0, 0, 0, "0.30125"),
    ("gpt-5-mini cached", "gpt-5-mini", 200000, 5000, 150000, 0, 0, "0.02625"),
    ("gpt-5-nano tiny", "gpt-5-nano", 17, 3, 0, 0, 0, "0.00000205"),
    ("gpt-5.4 at threshold", "gpt-5.4", 272000, 1000, 0, 0, 0, "0.695"),
    ("gpt-5.4 above threshold", "gpt-5.4", 272001, 1000, 0, 0, 0, "1.382505"),
    ("gpt-5.4 above, cached", "gpt-5.4", 300000, 4000, 250000, 0, 0, "0.465"),
    ("gpt-5.5 below", "gpt-5.5", 100000, 10000, 20000, 0, 0, "0.71"),
    ("gpt-5.5 above", "gpt-5.5", 400000, 10000, 0, 0, 0, "4.45"),
    ("gpt-5.6-sol cache write", "gpt-5.6-sol", 10000, 500, 2000, 3000, 0, "0.0458"),
    ("gpt-5.6-sol above, write", "gpt-5.6-sol", 500000, 500, 100000, 50000, 0, "3.395"),
    ("gpt-4.1 plain", "gpt-4.1", 800000, 32768, 0, 0, 0, "1.862144"),
    ("gpt-4.1-mini cached", "gpt-4.1-mini", 90000, 1234, 45000, 0, 0, "0.0244744"),
    ("gpt-4.1-nano", "gpt-4.1-nano", 333333, 77777, 111111, 0, 0, "0.056110775"),
    ("gpt-4o plain", "gpt-4o", 1000, 500, 0, 0, 0, "0.0075"),
    ("gpt-4o cached", "gpt-4o-2024-08-06", 10000, 500, 8192, 0, 0, "0.01976"),
    ("gpt-4o-mini", "gpt-4o-mini", 123456, 7890, 1024, 0, 0, "0.0231756"),
    ("o3 reasoning", "o3", 5000, 25000, 0, 0, 0, "0.21"),
    ("o3 cached", "o3-2025-04-16", 60000, 3000, 50000, 0, 0, "0.069"),
    ("o4-mini", "o4-mini", 40000, 12000, 10000, 0, 0, "0.08855"),
    ("o1", "o1", 2000, 8000, 1024, 0, 0, "0.50232"),
    ("gpt-4 classic", "gpt-4", 1500, 500, 0, 0, 0, "0.075"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo", 3000, 1000, 0, 0, 0, "0.003"),
    ("opus-4-1 plain", "claude-opus-4-1", 2000, 1000, 0, 0, 0, "0.105"),
    ("opus-4-1 5m write", "claude-opus-4-1", 20000, 1000, 0, 15000, 0, "0.43125"),
    ("opus-4-1 1h write", "claude-opus-4-1", 20000, 1000, 0, 15000, 15000, "0.6"),
    ("opus-4-5 read+write", "claude-opus-4-5", 30000, 2000, 20000, 5000, 0, "0.11625"),
    ("opus-4-5 mixed writes", "claude-opus-4-5", 30000, 2000, 10000, 15000, 5000, "0.1925"),
    ("sonnet-4-5 at 200K", "claude-sonnet-4-5", 200000, 1000, 0, 0, 0, "0.615"),
    ("sonnet-4-5 above 200K", "claude-sonnet-4-5", 200001, 1000, 0, 0, 0, "1.222506"),
    ("sonnet-4-5 above, cache", "claude-sonnet-4-5-20250929", 250000, 4000, 100000, 50000, 20000, "1.215"),
    ("sonnet-4-5 cached under", "claude-sonnet-4-5", 150000, 4000, 120000, 10000, 0, "0.1935"),
    ("sonnet-4-6 plain", "claude-sonnet-4-6", 8000, 2000, 0, 0, 0, "0.054"),
    ("sonnet-4-6 1M context", "claude-sonnet-4-6", 900000, 8000, 800000, 0, 0, "0.66"),
    ("haiku-4-5 write", "claude-haiku-4-5", 5000, 300, 0, 4000, 0, "0.0075"),
    ("haiku-4-5 1h write", "claude-haiku-4-5", 5000, 300, 0, 4000, 4000, "0.0105"),
    ("haiku-5-5 under 100K", "claude-haiku-5-5", 100000, 5000, 50000, 0, 0, "0.008"),
    ("haiku-5-5 above 100K", "claude-haiku-5-5", 100001, 5000, 50000, 0, 0, "0.0400005"),
    ("haiku-5-5 above, writes", "claude-haiku-5-5", 150000, 1000, 0, 100000, 40000, "0.105"),
    ("sonnet-5-5 current cache read", "claude-sonnet-5-5", 100000, 2000, 90000, 0, 0, "0.049"),
    ("gemini-2.5-pro at 200K", "gemini-2.5-pro", 200000, 2000, 0, 0, 0, "0.27"),
    ("gemini-2.5-pro above 200K", "gemini-2.5-pro", 200001, 2000, 0, 0, 0, "0.5300025"),
    ("gemini-2.5-pro above, cached", "google/gemini-2.5-pro", 500000, 10000, 400000, 0, 0, "0.5"),
    ("gemini-2.5-pro thinking", "gemini-2.5-pro", 3000, 20000, 0, 0, 0, "0.20375"),
    ("gemini-2.5-flash", "gemini-2.5-flash", 1000000, 65536, 0, 0, 0, "0.46384"),
    ("gemini-2.5-flash cached", "gemini-2.5-flash", 100000, 1000, 75000, 0, 0, "0.01225"),
    ("gemini-2.5-flash-lite", "gemini-2.5-flash-lite", 777777, 12345, 0, 0, 0, "0.0827157"),
    ("gemini-3-pro-preview under", "gemini-3-pro-preview", 150000, 3000, 50000, 0, 0, "0.246"),
    ("gemini-3-pro-preview above", "gemini-3-pro-preview", 300000, 3000, 50000, 0, 0, "1.074"),
    ("gemini-2.0-flash", "gemini-2.0-flash", 10000, 2000, 4000, 0, 0, "0.0015"),
    ("one token of gpt-4o-mini input", "gpt-4o-mini", 1, 0, 0, 0, 0, "1.5E-7"),
    ("one token of opus output", "claude-opus-4-1", 0, 1, 0, 0, 0, "0.000075"),
]


@pytest.mark.parametrize(("label", "model", "inp", "out", "cached", "written", "written_1h", "expected"), CASES)
def test_cost_equals_the_hand_computed_bill(
    api: ModelsAPI,
    label: str,
    model: str,
    inp: int,
    out: int,
    cached: int,
    written: int,
    written_1h: int,
    expected: str,
) -> None:
    cost = api.cost(model, inp, out, cached, written, cache_write_1h_tokens=written_1h)
    assert cost == float(Decimal(expected)), label
    price = api.info(model).price
    assert price is not None
    exact = Decimal(price.cost_units(inp, out, cached, written, written_1h)) / COST_SCALE
    assert exact == Decimal(expected), label  # exact to the last digit, not within 1e-9


def test_there_are_at_least_fifty_cases_across_the_three_providers(api: ModelsAPI) -> None:
    providers = [api.resolve(model).provider for _, model, *_ in CASES]
    assert len(CASES) >= 50 and {p: providers.count(p) >= 10 for p in set(providers)} == {
        "openai": True,
        "anthropic": True,
        "google": True,
    }


# (label, model, day the call was made (UTC), input, output, cached input, expected USD)
DATED_CASES = [
    ("o3 before its 2025-06-10 price cut", "o3", "2025-05-01", 10000, 5000, 2000, "0.285"),
    ("o3 the day before the cut", "o3", "2025-06-09", 10000, 5000, 2000, "0.285"),
    ("o3 on the day of the cut", "o3", "2025-06-10", 10000, 5000, 2000, "0.057"),
    ("gpt-4o alias at launch", "gpt-4o", "2024-06-01", 1000, 1000, 0, "0.02"),
    ("gpt-4o alias after 2024-10-02", "gpt-4o", "2024-10-02", 1000, 1000, 0, "0.0125"),
    ("gpt-3.5-turbo, March 2023", "gpt-3.5-turbo", "2023-04-01", 1000, 1000, 0, "0.004"),
    ("gpt-3.5-turbo, June 2023", "gpt-3.5-turbo", "2023-07-01", 1000, 1000, 0, "0.0035"),
    ("gpt-3.5-turbo, 2024", "gpt-3.5-turbo", "2024-03-01", 1000, 1000, 0, "0.002"),
    ("sonnet-5-5 cache read before 2026-10-07", "claude-sonnet-5-5", "2026-10-01", 100000, 2000, 90000, "0.058"),
    ("sonnet-5-5 cache read from 2026-10-07", "claude-sonnet-5-5", "2026-10-07", 100000, 2000, 90000, "0.049"),
    ("gemini-3.6-flash introductory price", "gemini-3.6-flash", "2026-12-31", 100000, 10000, 0, "0.1125"),
    ("gemini-3.6-flash announced 2027 price", "gemini-3.6-flash", "2027-01-01", 100000, 10000, 0, "0.225"),
]


@pytest.mark.parametrize(("label", "model", "day", "inp", "out", "cached", "expected"), DATED_CASES)
def test_cost_at_a_date_uses_the_price_in_force_then(
    api: ModelsAPI, label: str, model: str, day: str, inp: int, out: int, cached: int, expected: str
) -> None:
    assert api.cost(model, inp, out, cached, at=dt.date.fromisoformat(day)) == float(Decimal(expected)), label


def test_no_price_before_a_model_existed(api: ModelsAPI) -> None:
    assert api.cost("o3", 1000, 1000, at=dt.date(2020, 1, 1)) is None


def test_a_binding_moves_to_a_scheduled_price_when_it_begins(api: ModelsAPI) -> None:
    import time

    info = api.resolve("gemini-3.6-flash")
    price, until = api._service.prices.current(info)
    assert price is not None and price.input == Decimal("0.75")
    assert until == dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    target = api._service.target("gemini-3.6-flash")
    assert target.price is price
    target.price_until = time.time() - 1  # as if 2027 had come: the next call re-fetches
    api._service.start(target)
    target.metrics.end()
    assert target.price_until == until  # re-fetched: the stale deadline was replaced


def test_at_accepts_dates_and_datetimes(api: ModelsAPI) -> None:
    today = api.cost("gpt-4o", 1000, 1000)
    assert api.cost("gpt-4o", 1000, 1000, at=dt.date(2026, 11, 24)) == today
    assert api.cost("gpt-4o", 1000, 1000, at=dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.timezone.utc)) == today
    with pytest.raises(TypeError, match="at must be a date or datetime"):
        api.cost("gpt-4o", 1000, 1000, at="2026-11-24")  # type: ignore[arg-type]


# -- every dated period against genai-prices ------------------------------------------------
# (model, start of our period) -> why we keep our rate where genai-prices 0.2.3 disagrees.
# Each is asserted to still disagree, so a genai-prices that catches up turns the entry stale.
GENAI_PRICES_WRONG = {
    ("openai/gpt-4o", "2024-05-13"): "no history: the gpt-4o alias was gpt-4o-2024-05-13, $5/$15, until 2024-10-02",
    ("openai/gpt-3.5-turbo", "2023-03-01"): "no history: $2/$2 at launch (gpt-3.5-turbo-0301)",
    ("openai/gpt-3.5-turbo", "2023-06-13"): "no history: $1.50/$2 from the 0613 snapshot to 2024-02-16",
    ("openai/o3", "2025-04-16"): "keeps today's $0.50 cache read for the launch period, which was $2.50",
    ("anthropic/claude-sonnet-4-0", "2025-05-22"): "no >200K band; Anthropic billed $6/$22.50 while 1M was beta",
    ("anthropic/claude-sonnet-5-5", "2026-09-28"): "no history: models only the 2026-10-07 cache-read rate",
}


def _their_start_dates(model_id: str) -> set[str]:
    """The days genai-prices changes this model's price (empty when it has one price)."""
    from genai_prices import data_snapshot

    provider, _, name = model_id.partition("/")
    _, info = data_snapshot.get_snapshot().find_provider_model(name, None, provider, None)
    rows = info.prices if isinstance(info.prices, list) else []
    return {row.constraint.start_date.isoformat() for row in rows if hasattr(row.constraint, "start_date")}


def _days_to_check(model_id: str, rows: tuple[Price, ...]) -> list[str]:
    """Each of our periods' first and last day, and every day genai-prices changes a price in them."""
    starts = sorted({row.since for row in rows if row.since} | _their_start_dates(model_id))
    starts = [day for day in starts if day >= (rows[0].since or "")]
    eves = [(dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat() for day in starts[1:]]
    return sorted({*starts, *eves})


def _usages(model_id: str, rows: tuple[Price, ...]) -> list[tuple[str, int, int, int, int, int]]:
    """(label, input, output, cached, written, of which 1-hour): small, cached, around every tier any
    of the model's rows has, and large (above any tier, for a period whose tier one source lacks)."""
    writes = model_id.startswith("anthropic/")  # the others bill no cache writes
    usages = [
        ("small", 1_234, 567, 0, 0, 0),
        ("cached", 10_000, 500, 3_000, 2_000 * writes, 500 * writes),
        ("large", 900_000, 20_000, 100_000, 50_000 * writes, 0),
    ]
    for threshold in sorted({threshold for row in rows for threshold, _ in row.tiers}):
        usages.append((f"at {threshold}", threshold, 1_000, 0, 0, 0))
        usages.append((f"above {threshold}", threshold + 1, 1_000, 0, 0, 0))
        usages.append((f"above {threshold}, cached", threshold + 50_000, 2_000, 40_000, 8_000 * writes, 0))
    return usages


def _genai_cost(model_id: str, day: str, inp: int, out: int, cached: int, written: int, written_1h: int) -> Decimal:
    import genai_prices

    provider, _, name = model_id.partition("/")
    tokens = {"input_tokens": inp, "output_tokens": out, "cache_read_tokens": cached, "cache_write_tokens": written}
    if written_1h:
        tokens["cache_write_1h_tokens"] = written_1h
    when = dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.timezone.utc)
    result = genai_prices.calc_price(
        genai_prices.Usage(**tokens), name, provider_id=provider, genai_request_timestamp=when
    )
    return Decimal(result.total_price)


def _known_to_genai_prices(model_id: str) -> bool:
    import genai_prices

    provider, _, name = model_id.partition("/")
    try:
        genai_prices.calc_price(genai_prices.Usage(input_tokens=1), name, provider_id=provider)
    except LookupError:
        return False
    return True


@pytest.mark.parametrize("model_id", sorted(PriceBook().defaults()))
def test_every_dated_period_agrees_with_genai_prices(api: ModelsAPI, model_id: str) -> None:
    """Every day a price of ours or of genai-prices begins (and the day before), priced both ways."""
    pytest.importorskip("genai_prices")
    if not _known_to_genai_prices(model_id):
        pytest.skip(f"genai-prices 0.2.3 does not know {model_id}")
    rows = PriceBook().defaults()[model_id]
    wrong_there: set[str] = set()
    for day in _days_to_check(model_id, rows):
        price, _ = row_in_force(rows, day)
        assert price is not None and price.since is not None
        at = dt.date.fromisoformat(day)
        for label, inp, out, cached, written, written_1h in _usages(model_id, rows):
            ours = Decimal(price.cost_units(inp, out, cached, written, written_1h)) / COST_SCALE  # exact
            theirs = _genai_cost(model_id, day, inp, out, cached, written, written_1h)
            if (model_id, price.since) not in GENAI_PRICES_WRONG:
                assert ours == theirs, f"{model_id} on {day}, {label}: ours {ours}, genai-prices {theirs}"
                assert api.cost(model_id, inp, out, cached, written, cache_write_1h_tokens=written_1h, at=at) == float(
                    ours
                )
            elif ours != theirs:
                wrong_there.add(price.since)
    expected = {since for model, since in GENAI_PRICES_WRONG if model == model_id}
    assert wrong_there == expected, "a listed genai-prices difference is gone: drop it from GENAI_PRICES_WRONG"


def test_sonnet_4_6_had_a_long_context_band_until_2026_03_13(api: ModelsAPI) -> None:
    # 300K input, 2K output: $6 and $22.50 per 1M above 200K while the 1M window was in beta
    assert api.cost("claude-sonnet-4-6", 300_000, 2_000, at=dt.date(2026, 3, 12)) == 1.845
    assert api.cost("claude-sonnet-4-6", 300_000, 2_000, at=dt.date(2026, 3, 13)) == 0.93
