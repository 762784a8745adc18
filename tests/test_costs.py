"""Costs (SPEC §4): the pricing rule, tiers, overrides and their errors, unpriced models."""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Collection
from decimal import Decimal

import pytest

from models import InvalidCostOverrideError, ModelInfo, ModelsAPI, ModelsWarning
from models._catalog.catalog import Catalog, default_catalog
from models._pricing.book import PriceBook
from models._pricing.overrides import env_name
from models.providers import Provider

from .conftest import sample


def test_cached_input_and_cache_writes_are_billed_at_their_rates(api: ModelsAPI) -> None:
    # gpt-4o: $2.50 in, $1.25 cached, $10 out per 1M
    assert api.cost("gpt-4o", input_tokens=1000, output_tokens=500, cached_input_tokens=200) == 0.00725
    # claude-sonnet-4-5: $3 in, $0.30 cache read, $3.75 cache write, $15 out
    assert (
        api.cost(
            "claude-sonnet-4-5",
            input_tokens=10_000,
            output_tokens=100,
            cached_input_tokens=6_000,
            cache_write_tokens=2_000,
        )
        == 0.0168
    )


def test_reasoning_tokens_are_part_of_output_and_change_nothing(api: ModelsAPI) -> None:
    assert api.cost("gpt-4o", output_tokens=1000, reasoning_tokens=400) == api.cost("gpt-4o", output_tokens=1000)


def test_long_context_tier_applies_above_the_threshold_only(api: ModelsAPI) -> None:
    assert api.cost("claude-sonnet-4-5", input_tokens=200_000, output_tokens=1000) == 0.615
    # one token above: every token of the request at $6 in / $22.50 out
    assert api.cost("claude-sonnet-4-5", input_tokens=200_001, output_tokens=1000) == 1.222506
    # cached tokens count towards the threshold
    assert api.cost("claude-sonnet-4-5", input_tokens=200_001, cached_input_tokens=200_000) == 0.000006 + 0.12


def test_costs_are_exact_not_accumulated_floats(api: ModelsAPI) -> None:
    assert api.cost("gpt-4o-mini", input_tokens=1) == 1.5e-07
    assert api.cost("gpt-4o-mini", input_tokens=3, output_tokens=7) == float(
        Decimal("0.15") * 3 / 10**6 + Decimal("0.6") * 7 / 10**6
    )


def test_cost_rejects_impossible_usage(api: ModelsAPI) -> None:
    with pytest.raises(ValueError, match="input_tokens must be a whole number"):
        api.cost("gpt-4o", input_tokens=-1)
    with pytest.raises(ValueError, match="cannot exceed"):
        api.cost("gpt-4o", input_tokens=10, cached_input_tokens=11)


def test_env_name_follows_the_spec() -> None:
    assert env_name("gpt-4o-mini") == "GPT_4O_MINI"
    assert env_name("gpt-3.5-turbo") == "GPT_3_5_TURBO"
    assert env_name("openai/gpt-4o") == "OPENAI_GPT_4O"


def test_json_override_keeps_unset_fields_and_drops_tiers(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"claude-sonnet-4-5": {"input": 2}}')
    # input overridden; output keeps its default $15; priced flat above 200K
    assert api.cost("claude-sonnet-4-5", input_tokens=300_000, output_tokens=1000) == 0.6 + 0.015


def test_precedence_env_canonical_then_env_bare_then_json(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"openai/gpt-4o": {"input": 5, "output": 50}, "gpt-4o": {"input": 6}}')
    assert api.cost("gpt-4o", input_tokens=1_000_000, output_tokens=1_000_000) == 5 + 50
    monkeypatch.setenv("MODELS_COST_GPT_4O_INPUT", "4")
    api.reload_costs()
    assert api.cost("gpt-4o", input_tokens=1_000_000) == 4
    monkeypatch.setenv("MODELS_COST_OPENAI_GPT_4O_INPUT", "3")
    api.reload_costs()
    assert api.cost("gpt-4o", input_tokens=1_000_000, output_tokens=1_000_000) == 3 + 50


def test_override_never_changes_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_GPT_4O_INPUT", "99")
    book = PriceBook()
    book.reload()
    assert book.defaults()["openai/gpt-4o"][-1].input == Decimal("2.50")


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MODELS_COST_GPT_4O_INPUT", "cheap", "MODELS_COST_GPT_4O_INPUT: expected a number"),
        ("MODELS_COST_GPT_4O_OUTPUT", "-1", "MODELS_COST_GPT_4O_OUTPUT: a price must be a finite number >= 0"),
        ("MODELS_COST_GPT_4O_OUTPUT", "nan", "MODELS_COST_GPT_4O_OUTPUT: a price must be a finite number >= 0"),
        ("MODELS_COST_GPT_4O_PRICE", "1", "MODELS_COST_GPT_4O_PRICE: expected MODELS_COST_<MODEL>_<FIELD>"),
        ("MODELS_COST_INPUT", "1", "MODELS_COST_INPUT: expected MODELS_COST_<MODEL>_<FIELD>"),
        ("MODELS_COSTS_JSON", "{oops", "MODELS_COSTS_JSON: not valid JSON"),
        ("MODELS_COSTS_JSON", "[1]", "MODELS_COSTS_JSON: expected an object"),
        ("MODELS_COSTS_JSON", '{"gpt-4o": {"inptu": 1}}', "MODELS_COSTS_JSON['gpt-4o']: unknown field 'inptu'"),
        ("MODELS_COSTS_JSON", '{"gpt-4o": {"input": true}}', "MODELS_COSTS_JSON['gpt-4o']: expected a number"),
        # keys that name no model (a canonical id the catalog lacks is fine: test_override_validation.py)
        (
            "MODELS_COSTS_JSON",
            '{"gpt4o": {"input": 1}}',
            "MODELS_COSTS_JSON['gpt4o']: 'gpt4o' names no model; did you mean 'gpt-4o', ",
        ),
        (
            "MODELS_COSTS_JSON",
            '{"opnai/gpt-4o": {"input": 1}}',
            "MODELS_COSTS_JSON['opnai/gpt-4o']: 'opnai/gpt-4o' names no model: no provider 'opnai' "
            "(known: anthropic, azure, bedrock, cerebras, deepseek, fireworks, google, groq, mistral, mock, ollama, "
            "openai, openrouter, together, vllm, xai)",
        ),
        (
            "MODELS_COSTS_JSON",
            '{"openai//gpt-4o": {"input": 1}}',
            "MODELS_COSTS_JSON['openai//gpt-4o']: 'openai//gpt-4o' names no model; did you mean 'openai/gpt-4o'",
        ),
        (
            "MODELS_COST_GPT4O_INPUT",
            "1",
            "MODELS_COST_GPT4O_INPUT: GPT4O names no model: it is no catalog model's id, name or alias",
        ),
        ("MODELS_COST_OPNAI_GPT_4O_INPUT", "1", "MODELS_COST_OPNAI_GPT_4O_INPUT: OPNAI_GPT_4O names no model"),
        ("MODELS_COST_OPENAI__CACHED_INPUT", "1", "MODELS_COST_OPENAI__CACHED_INPUT: OPENAI_ names no model"),
    ],
)
def test_bad_override_fails_loudly_naming_the_variable(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidCostOverrideError) as caught:
        api.cost("gpt-4o", input_tokens=1)
    assert str(caught.value).startswith(message)
    with pytest.raises(InvalidCostOverrideError):
        api.reload_costs()


def test_model_without_default_needs_input_and_output(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    with pytest.raises(InvalidCostOverrideError, match="MODELS_COST_MOCK_ECHO_OUTPUT"):
        api.cost("mock/echo", input_tokens=1)


def test_override_prices_a_model_without_default(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"openai/my-finetune": {"input": 0.5, "output": 1.5}}')
    assert api.cost("openai/my-finetune", input_tokens=2_000_000, output_tokens=1_000_000) == 2.5
    assert api.cost("openai/other-finetune", input_tokens=1) is None


def test_reload_costs_reaches_existing_bindings(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")
    echo = api.bind("mock/echo")
    assert echo("one two three").usage.cost == (3 * 1 + 3 * 2) / 1e6
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "20")
    assert echo("one two three").usage.cost == (3 * 1 + 3 * 2) / 1e6  # read at first use only
    api.reload_costs()
    assert echo("one two three").usage.cost == (3 * 1 + 3 * 20) / 1e6


def test_unpriced_model_gives_none_warns_once_and_is_counted(api: ModelsAPI) -> None:
    hint = r"MODELS_COST_MOCK_ECHO_INPUT.*models\.register_model\('mock/echo', price="
    with pytest.warns(ModelsWarning, match=rf"mock/echo has no price.*{hint}"):
        first = api("mock/echo", "hi there")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = api("mock/echo", "hi again")
    assert first.usage.cost is None and second.usage.cost is None
    assert sample(api, "models_unpriced_requests_total", provider="mock", model="mock/echo") == 2
    assert sample(api, "models_cost_usd_total", provider="mock", model="mock/echo") == 0
    assert api.usage()["mock/echo"].unpriced_requests == 2
    assert api.usage()["mock/echo"].cost == 0.0


DAY = datetime.date(2026, 12, 1)  # the genai-prices rates in force that day (genai-prices 0.2.3)


def _provider(api: ModelsAPI, model: str) -> None:
    """A stand-in for a provider that lands on another branch: pricing needs only its name."""
    name = model.partition("/")[0]
    if name not in api._service.models.provider_names:
        api.register_provider(name, Provider)


@pytest.mark.parametrize(
    ("model", "in_and_out", "cached"),
    [
        ("groq/llama-3.3-70b-versatile", 1.38, 0.59),
        ("deepseek/deepseek-chat", 0.685, 0.035),
        ("xai/grok-4", 18.0, 0.75),
        ("mistral/mistral-large-latest", 8.0, 2.0),
        ("together/meta-llama/Llama-3.3-70B-Instruct-Turbo", 1.76, 0.88),
        ("fireworks/accounts/fireworks/models/deepseek-v3-0324", 1.8, 0.9),
        ("cerebras/gpt-oss-120b", 1.1, 0.35),
        ("openrouter/anthropic/claude-sonnet-4-6", 18.0, 0.3),
        ("azure/gpt-4o", 12.5, 1.25),
        ("bedrock/anthropic.claude-sonnet-4-6-v1:0", 19.8, 0.33),
    ],
)
def test_a_popular_model_of_each_new_provider_is_priced_from_genai_prices(
    api: ModelsAPI, model: str, in_and_out: float, cached: float
) -> None:
    """USD for 1M input + 1M output tokens, and for 1M input tokens all read from the cache."""
    _provider(api, model)
    assert api.cost(model, 1_000_000, 1_000_000, at=DAY) == in_and_out
    assert api.cost(model, 1_000_000, 0, 1_000_000, at=DAY) == cached
    price = api.info(model).price
    assert price is not None and (price.origin, price.source) == ("genai-prices", "genai-prices")


def test_genai_prices_is_asked_in_the_service_s_own_spelling_too(api: ModelsAPI) -> None:
    for model in ("openrouter/x", "fireworks/x", "bedrock/x"):
        _provider(api, model)
    # OpenRouter writes Anthropic's versions with a dot: anthropic/claude-sonnet-4.6, claude-3.5-haiku
    assert api.cost("openrouter/anthropic/claude-sonnet-4.6", 1_000_000, 1_000_000, at=DAY) == 18.0
    assert api.cost("openrouter/anthropic/claude-3-5-haiku", 1_000_000, 1_000_000, at=DAY) == 4.8
    assert api.cost("fireworks/deepseek-v3-0324", 1_000_000, 1_000_000, at=DAY) == 1.8  # its ids are paths
    # Bedrock's Claude bills one-hour cache writes at their own rate
    assert api.cost("bedrock/anthropic.claude-sonnet-4-6-v1:0", 1_000_000, 0, 0, 1_000_000, at=DAY) == 4.125
    one_hour = api.cost(
        "bedrock/anthropic.claude-sonnet-4-6-v1:0", 1_000_000, 0, 0, 1_000_000, at=DAY, cache_write_1h_tokens=1_000_000
    )
    assert one_hour == 6.6
    assert api.cost("openrouter/anthropic/claude-sonnet-4-6-nonexistent", 1, 1, at=DAY) is None


class _Names:
    """What the price book asks of a registry (`ModelNames`), with vllm as a local provider."""

    catalog: Catalog = default_catalog()
    provider_names: Collection[str] = frozenset({"openai", "vllm"})
    local_providers: Collection[str] = frozenset({"vllm"})

    def resolve(self, model: str) -> ModelInfo:
        return self.catalog.resolve(model, self.provider_names)


def test_a_local_provider_s_models_cost_nothing_unless_an_override_prices_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    book = PriceBook(_Names())
    qwen = _Names().resolve("vllm/Qwen/Qwen3-8B")
    price = book.lookup(qwen)
    assert price is not None and (price.input, price.output, price.cached_input, price.origin) == (0, 0, 0, "local")
    counts = {"input_tokens": 3000, "output_tokens": 1000, "cached_input_tokens": 1000, "cache_write_tokens": 1000}
    assert book.cost(qwen, None, **counts, reasoning_tokens=0, cache_write_1h_tokens=1000) == 0.0
    monkeypatch.setenv("MODELS_COST_VLLM_QWEN_QWEN3_8B_OUTPUT", "0.3")
    book.reload()
    price = book.lookup(qwen)
    assert price is not None and (price.input, price.output, price.origin) == (0, Decimal("0.3"), "override")
