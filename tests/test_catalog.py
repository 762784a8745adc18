"""The catalog as an API: info, list, cheapest, search, fine-tuned ids, lifecycle, capabilities."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import warnings
from decimal import Decimal

import pytest

from models import (
    Capability,
    InvalidRequestError,
    ModelInfo,
    ModelNotFoundError,
    ModelsAPI,
    ModelsWarning,
    UnsupportedCapabilityError,
)
from models._catalog.catalog import Catalog

from .conftest import sample
from .fake_llm import FakeLLM, Fault


def test_info_is_a_read_only_record_with_todays_price(api: ModelsAPI) -> None:
    info = api.info("GPT-4o-2024-08-06")
    assert (info.id, info.name, info.provider, info.context_window, info.max_output) == (
        "openai/gpt-4o",
        "gpt-4o",
        "openai",
        128_000,
        16_384,
    )
    assert info.price is not None and (info.price.input, info.price.output) == (Decimal("2.50"), Decimal("10.00"))
    assert info.price.source == "https://developers.openai.com/api/docs/pricing"
    assert Capability.LARGE_CONTEXT in info.capabilities and Capability.XL_CONTEXT not in info.capabilities
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.id = "x"  # type: ignore[misc]


def test_context_flags_follow_the_window(api: ModelsAPI) -> None:
    assert api.info("gemini-2.5-flash").supports("large_context", Capability.XL_CONTEXT)
    assert not api.info("gpt-4").supports("large_context")


def test_list_filters_by_provider_price_and_status(api: ModelsAPI) -> None:
    google = api.list(provider="gemini")
    assert google and {m.provider for m in google} == {"google"}
    assert all(m.status == "active" for m in google)
    cheap = api.list(max_input_price=0.15)
    assert cheap and all(m.price is not None and m.price.input <= Decimal("0.15") for m in cheap)
    assert [m.price.input for m in cheap if m.price] == sorted(m.price.input for m in cheap if m.price)
    everything = api.list(status=None)
    assert len(everything) == len(api._service.models.catalog.rows)
    assert all(m.supports("xl_context") for m in api.list(capability="xl_context"))


def test_cheapest_uses_a_three_to_one_blend_and_honours_overrides(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    dearest = api.list()[-1]  # the active model with the highest input price ...
    monkeypatch.setenv("MODELS_COSTS_JSON", f'{{"{dearest.id}": {{"input": 0.001, "output": 0.002}}}}')
    api.reload_costs()  # overrides are read at first use, which list() just was
    assert api.cheapest().id == dearest.id  # ... made the cheapest by an override
    assert api.cheapest(min_context=dearest.context_window or 0).id == dearest.id
    with pytest.raises(ModelNotFoundError, match="a context of at least 99999999"):
        api.cheapest(min_context=99_999_999)
    blend = {m.id: (3 * m.price.input + m.price.output) / 4 for m in api.list() if m.price}
    assert blend[api.cheapest(capabilities=["image_input"]).id] == min(
        blend[m.id] for m in api.list(capability="image_input")
    )


def test_search_finds_by_words(api: ModelsAPI) -> None:
    found = [m.id for m in api.search("flash lite")]
    assert found and all("flash" in m and "lite" in m for m in found)
    assert api.search("sonnet 4-5")[0].id == "anthropic/claude-sonnet-4-5"
    assert api.search("no such thing") == []


@pytest.mark.parametrize(
    ("typo", "meant"),
    [("gpt4o", "gpt-4o"), ("claud-sonnet-4-5", "claude-sonnet-4-5"), ("gemni-2.5-flash", "gemini-2.5-flash")],
)
def test_typos_get_suggestions(api: ModelsAPI, typo: str, meant: str) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        api.resolve(typo)
    assert meant in caught.value.suggestions


def test_typo_that_looks_like_a_new_model_gets_suggestions_from_the_404(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(status=404, message="model not found"))
    with pytest.raises(InvalidRequestError, match=r"Did you mean 'claude-sonnet-4-5'"):
        wired("claude-sonet-4-5", "hi")  # the "claude" prefix sends it; the provider says 404
    assert fake.requests[-1].model == "claude-sonet-4-5"


def test_fine_tuned_ids_resolve_to_their_base(api: ModelsAPI) -> None:
    info = api.resolve("ft:gpt-4o-mini-2024-07-18:my-org::abc123")
    assert (info.id, info.name, info.provider, info.base) == (
        "openai/ft:gpt-4o-mini-2024-07-18:my-org::abc123",
        "ft:gpt-4o-mini-2024-07-18:my-org::abc123",
        "openai",
        "openai/gpt-4o-mini",
    )
    assert info.context_window == 128_000
    assert api.resolve("openai/ft:gpt-4o:acme::x1").base == "openai/gpt-4o"
    with pytest.raises(ModelNotFoundError):
        api.resolve("ft:not-a-model:org::x")


def test_fine_tuned_models_are_priced_from_their_base(api: ModelsAPI) -> None:
    base = api.info("gpt-4o-mini").price
    tuned = api.info("ft:gpt-4o-mini:org::x").price
    assert base is not None and tuned is not None
    # a fine-tuned rate when the base has one, else the base's own
    fine = api._service.prices._rows(api.resolve("ft:gpt-4o-mini:org::x"))[-1]
    assert (tuned.input, tuned.output) == (fine.input, fine.output)
    assert api.cost("ft:gpt-4o-mini:org::x", 1_000_000, 0) == float(fine.input)


def test_fine_tuned_call_sends_the_full_name(wired: ModelsAPI, fake: FakeLLM) -> None:
    r = wired("ft:gpt-4o-mini:org::abc", "hi")
    assert fake.requests[-1].model == "ft:gpt-4o-mini:org::abc"
    assert r.model == "openai/ft:gpt-4o-mini:org::abc" and r.usage.cost is not None
    assert sample(wired, "models_requests_total", provider="openai", model=r.model, status="ok") == 1


def test_usage_says_where_its_price_came_from(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")
    usage = api("mock/echo", "a b").usage
    assert usage.price_source == "override" and usage.price is not None and usage.price.input == Decimal(1)
    with pytest.warns(ModelsWarning):
        unpriced = api("mock/other", "a").usage
    assert (unpriced.price_source, unpriced.price, unpriced.cost) == ("none", None, None)


def test_usage_price_is_the_tier_row_applied(wired: ModelsAPI, fake: FakeLLM) -> None:
    from .fake_llm import Reply

    fake.set_reply(Reply(input_tokens=250_000, output_tokens=10))
    usage = wired("gemini-2.5-pro", "hi").usage
    assert usage.price_source == "default" and usage.price is not None
    assert (usage.price.input, usage.price.output) == (Decimal("2.50"), Decimal("15.00"))  # the >200K tier
    assert usage.cost == wired.cost("gemini-2.5-pro", 250_000, 10)


def test_capability_checks_happen_before_any_request(wired: ModelsAPI, fake: FakeLLM) -> None:
    text_only = next(
        m for m in wired.list(status=None) if m.supports("text_input", "text_output") and not m.supports("image_input")
    )
    image = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
            ],
        }
    ]
    with pytest.raises(UnsupportedCapabilityError) as caught:
        wired(text_only.id, image)
    assert caught.value.capability == "image_input" and text_only.id in str(caught.value)
    assert isinstance(caught.value, InvalidRequestError)
    assert fake.requests == []


def test_tools_and_output_formats_need_their_capabilities(api: ModelsAPI) -> None:
    from models._catalog.capabilities import check_options, check_output
    from models._content.output import output_format

    row = api.resolve("gpt-4o")
    check_options(row, {"tools": [{"type": "function"}], "response_format": {"type": "json_schema"}})
    limited = dataclasses.replace(
        row, capabilities=row.capabilities - {Capability.FUNCTION_CALLING, Capability.STRUCTURED_OUTPUT}
    )
    with pytest.raises(UnsupportedCapabilityError, match="function_calling"):
        check_options(limited, {"tools": [{"type": "function"}]})
    schema = output_format({"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}, "x")
    check_output(row, schema)
    with pytest.raises(UnsupportedCapabilityError, match="structured_output"):
        check_output(limited, schema)
    check_output(limited, output_format("json", "x"))  # JSON mode is enough for any object
    no_json = dataclasses.replace(limited, capabilities=limited.capabilities - {Capability.JSON_MODE})
    with pytest.raises(UnsupportedCapabilityError, match=r"json_mode \(response_format='json'\)"):
        check_output(no_json, output_format("json", "x"))
    with pytest.raises(UnsupportedCapabilityError, match="structured_output"):
        check_options(limited, {"response_schema": {"type": "object"}})  # Gemini's spelling
    check_options(dataclasses.replace(limited, capabilities=frozenset()), {"tools": [1]})  # no data: no check


def test_deprecated_models_warn_once_naming_the_replacement(api: ModelsAPI) -> None:
    old = [m for m in api.list(status=None) if m.status in ("deprecated", "retired") and m.replacement]
    if not old:
        pytest.skip("no deprecated model in the catalog")
    model = old[0]
    with pytest.warns(ModelsWarning, match=f"{model.id} .*use {model.replacement} instead"):
        api.bind(model.id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        api.bind(model.id)


def _utc(day: str) -> float:
    return datetime.datetime.fromisoformat(day).replace(tzinfo=datetime.timezone.utc).timestamp()


def test_a_deprecated_row_reads_retired_from_its_sunset_day_even_in_a_long_lived_process() -> None:
    rows = [
        ModelInfo("openai/old", "openai", "old", status="deprecated", sunset="2030-01-02", replacement="openai/new"),
        ModelInfo("openai/later", "openai", "later", status="deprecated", sunset="2030-03-01"),
        ModelInfo("openai/undated", "openai", "undated", status="deprecated"),
        ModelInfo("openai/new", "openai", "new"),
    ]
    now = _utc("2030-01-02") - 1  # the last second before the first sunset (UTC)
    catalog = Catalog(rows, clock=lambda: now)

    def statuses() -> list[str]:
        return [row.status for row in catalog.rows]

    assert statuses() == ["deprecated", "deprecated", "deprecated", "active"]
    now += 1  # the same catalog, a second later: the sunset day has begun
    assert catalog.resolve("old", {"openai"}).status == "retired"
    assert statuses() == ["retired", "deprecated", "deprecated", "active"]
    assert [(m.id, m.status) for m in catalog.search("old")] == [("openai/old", "retired")]
    now = _utc("2031-01-01")
    assert statuses() == ["retired", "retired", "deprecated", "active"]  # no sunset date: stays deprecated
    assert [row.status for row in Catalog(rows, clock=lambda: now).rows] == statuses()


def test_a_model_past_its_sunset_is_retired_and_warns_so(api: ModelsAPI) -> None:
    info = api.info("claude-sonnet-4-5")  # the data says deprecated, retiring on 2026-11-30
    assert (info.status, info.sunset, info.replacement) == ("retired", "2026-11-30", "anthropic/claude-sonnet-5-5")
    retired = "anthropic/claude-sonnet-4-5 was retired on 2026-11-30; use anthropic/claude-sonnet-5-5 instead."
    with pytest.warns(ModelsWarning) as caught:
        api.bind("claude-sonnet-4-5")
    assert [str(w.message) for w in caught] == [retired]
    today = datetime.datetime.now(datetime.timezone.utc).date().isoformat()
    assert all(m.sunset is None or m.sunset > today for m in api.list(status="deprecated"))
    assert all(m.sunset is not None and m.sunset <= today for m in api.list(status="retired"))
    assert "anthropic/claude-sonnet-4-5" in {m.id for m in api.list(status="retired")}
    dated = next(m for m in api.list(status="deprecated") if m.sunset and m.replacement)
    with pytest.warns(ModelsWarning) as caught:
        api.bind(dated.id)
    assert [str(w.message) for w in caught] == [
        f"{dated.id} stops answering on {dated.sunset}; use {dated.replacement} instead."
    ]


def test_genai_prices_prices_models_our_table_lacks(wired: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("genai_prices")
    assert wired.cost("openai/gpt-4-32k", 1000, 1000) == (60 + 120) / 1000  # $60 / $120 per 1M
    usage = wired("openai/gpt-4-32k", "hi").usage
    assert usage.price_source == "genai-prices" and usage.cost == wired.cost("openai/gpt-4-32k", 10, 5)
    monkeypatch.setenv("MODELS_COST_GPT_4_32K_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_GPT_4_32K_OUTPUT", "2")
    wired.reload_costs()
    assert wired.info("openai/gpt-4-32k").price.origin == "override"  # type: ignore[union-attr]
    assert wired.cost("openai/gpt-4-32k", 1000, 1000) == 0.003


def test_without_genai_prices_an_unknown_model_is_unpriced() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; sys.modules['genai_prices'] = None\n"
        "from models import ModelsAPI\n"
        "print(ModelsAPI().cost('openai/gpt-4-32k', 1000, 1000))\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "None", out.stderr


def test_a_stream_needs_streaming(wired: ModelsAPI, fake: FakeLLM) -> None:
    assert not wired.info("gpt-5-pro").supports("streaming")
    wired.health()  # recording on: a refusal must not count against the model
    bound = wired.bind("gpt-5-pro")
    forms = [
        lambda: wired.stream("gpt-5-pro", "hi"),
        lambda: wired.astream("gpt-5-pro", "hi"),
        lambda: bound.stream("hi"),
        lambda: bound.astream("hi"),
        lambda: wired.stream("gpt-5-pro", "hi", fallbacks=["gpt-5"]),
        lambda: wired.astream("gpt-5-pro", "hi", fallbacks=["gpt-5"]),
    ]
    for form in forms:
        with pytest.raises(UnsupportedCapabilityError, match="streaming"):
            form()
    assert fake.requests == []
    # refused before sending: counted once each, as the provider's 400 would have been
    labels = {"provider": "openai", "model": "openai/gpt-5-pro"}
    assert sample(wired, "models_requests_total", status="invalid_request", **labels) == len(forms)
    assert sample(wired, "models_requests_total", status="other", **labels) is None
    assert wired.usage()["openai/gpt-5-pro"].errors == len(forms)
    assert "openai/gpt-5-pro" not in wired.health()
    assert "".join(wired.stream("gpt-5", "hi")) == "echo: hi"  # a model that streams still does


@pytest.mark.parametrize("form", ["stream", "astream"])
def test_a_fallback_that_cannot_stream_is_refused_and_counted_once(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault.server())
    stream = getattr(wired, form)("gpt-5", "hi", fallbacks=["gpt-5-pro"], max_retries=0)

    async def first() -> str:
        return await stream.__anext__()

    with pytest.raises(UnsupportedCapabilityError, match="streaming"):
        next(stream) if form == "stream" else asyncio.run(first())
    assert len(fake.requests) == 1  # only the first model's
    labels = {"provider": "openai", "model": "openai/gpt-5-pro"}
    assert sample(wired, "models_requests_total", status="invalid_request", **labels) == 1
    assert sample(wired, "models_requests_total", status="server", provider="openai", model="openai/gpt-5") == 1
