"""Cost overrides are checked when they are read (SPEC §4): every value that cannot price a call,
and every key that names no model, is an `InvalidCostOverrideError` naming the variable, before
any request is sent; never an `OverflowError` after one was paid for."""

from __future__ import annotations

import pytest

from models import InvalidCostOverrideError, ModelsAPI
from models._pricing.overrides import MAX_PRICE
from models.providers import Completion, Provider, Request

from .conftest import sample

_RANGE = "a price must be a finite number >= 0 and <= 1000000 (USD per 1M tokens)"
_JSON_ECHO = "MODELS_COSTS_JSON['mock/echo']"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MODELS_COST_MOCK_ECHO_INPUT", "1e400", f"MODELS_COST_MOCK_ECHO_INPUT: {_RANGE}, got '1e400'"),
        ("MODELS_COST_MOCK_ECHO_INPUT", "1e999999", f"MODELS_COST_MOCK_ECHO_INPUT: {_RANGE}"),
        ("MODELS_COST_MOCK_ECHO_INPUT", "1000000.000000001", f"MODELS_COST_MOCK_ECHO_INPUT: {_RANGE}"),
        ("MODELS_COST_MOCK_ECHO_INPUT", "-inf", f"MODELS_COST_MOCK_ECHO_INPUT: {_RANGE}"),
        ("MODELS_COST_MOCK_ECHO_INPUT", "sNaN", f"MODELS_COST_MOCK_ECHO_INPUT: {_RANGE}"),
        ("MODELS_COSTS_JSON", '{"mock/echo": {"input": 1e400, "output": 1}}', f"{_JSON_ECHO}: {_RANGE}"),
        ("MODELS_COSTS_JSON", '{"mock/echo": {"input": Infinity, "output": 1}}', f"{_JSON_ECHO}: {_RANGE}"),
        ("MODELS_COSTS_JSON", '{"mock/echo": {"input": "1e999999", "output": 1}}', f"{_JSON_ECHO}: {_RANGE}"),
        ("MODELS_COSTS_JSON", '{"mock/echo": {"input": 1' + "0" * 5000 + "}}", "MODELS_COSTS_JSON: not valid JSON"),
        ("MODELS_COSTS_JSON", "[" * 100_000 + "]" * 100_000, "MODELS_COSTS_JSON: nested too deeply to be a price"),
        ("MODELS_COSTS_JSON", '{"mock/echo": {"input": ' + "[" * 500 + "]" * 500 + "}}", f"{_JSON_ECHO}: expected"),
    ],
)
def test_a_price_that_cannot_be_used_fails_at_load_before_sending(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "1")
    monkeypatch.setenv(variable, value)
    with pytest.raises(InvalidCostOverrideError) as caught:
        api("mock/echo", "hi")
    assert str(caught.value).startswith(message)
    assert sample(api, "models_in_flight_requests", provider="mock", model="mock/echo") is None  # never began
    with pytest.raises(InvalidCostOverrideError):
        api.reload_costs()


def test_the_highest_price_prices_the_largest_usage_without_overflow(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", str(MAX_PRICE))
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", str(MAX_PRICE))
    assert api("mock/echo", "two words").usage.cost == 4.0  # 2 in + 2 out at $1 a token
    most = 2**63 - 1
    assert api.cost("mock/echo", input_tokens=most, output_tokens=most) == 2 * float(most)


def test_a_variable_names_its_close_catalog_spelling(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_GPT4O_INPUT", "1")
    with pytest.raises(InvalidCostOverrideError, match="Did you mean MODELS_COST_GPT_4O_INPUT or "):
        api.reload_costs()


class Custom(Provider):
    def complete(self, request: Request) -> Completion:
        return Completion("ok", input_tokens=1_000_000, output_tokens=0, finish_reason="stop")


@pytest.mark.parametrize(
    ("variable", "model"),
    [
        ("MODELS_COST_OPENAI_MY_FINETUNE_INPUT", "openai/my-finetune"),  # a provider's model the catalog lacks
        ("MODELS_COST_GEMINI_MY_TUNE_INPUT", "google/my-tune"),  # by a provider alias
        ("MODELS_COST_CLAUDE_CLAUDE_SONNET_4_5_20250929_INPUT", "claude-sonnet-4-5"),  # both aliases
        ("MODELS_COST_GPT_4O_CUSTOM_INPUT", "gpt-4o-custom"),  # a bare name that resolves by prefix
        ("MODELS_COST_O3_DEEP_RESEARCH_INPUT", "o3-deep-research"),
        ("MODELS_COST_FT_GPT_4O_MINI_ORG_ABC_INPUT", "ft:gpt-4o-mini:org::abc"),  # a fine-tune of a catalog model
        ("MODELS_COST_GPT_4O_2024_08_06_INPUT", "gpt-4o"),  # an alias
        ("MODELS_COST_OPENAI_GPT_4O_2024_11_20_INPUT", "openai/gpt-4o"),  # an alias, canonical
        ("MODELS_COST_CUSTOM_ANY_INPUT", "custom/any"),  # a registered custom provider
    ],
)
def test_keys_for_models_the_catalog_lacks_are_valid_and_apply(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch, variable: str, model: str
) -> None:
    api.register_provider("custom", Custom)
    monkeypatch.setenv(variable, "7")
    monkeypatch.setenv(variable.replace("_INPUT", "_OUTPUT"), "8")
    assert api.cost(model, input_tokens=1_000_000, output_tokens=1_000_000) == 7 + 8


def test_json_keys_apply_by_any_spelling_that_resolves(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MODELS_COSTS_JSON",
        '{" gpt-4o-2024-08-06 ": {"input": 3}, "OpenAI:my-ft": {"input": 1, "output": 2}, "mock/a b": {"input": 1,'
        ' "output": 1}, "claude/claude-sonnet-4-5-20250929": {"output": 4}}',
    )
    assert api.cost("gpt-4o", input_tokens=1_000_000) == 3  # an alias, spaces and all, as a call resolves it
    assert api.cost("claude-sonnet-4-5", output_tokens=1_000_000) == 4  # provider and model aliases
    assert api.cost("openai/my-ft", input_tokens=1_000_000, output_tokens=1_000_000) == 3
    # a variable may name a JSON key's model, whatever its mangled form
    monkeypatch.setenv("MODELS_COST_MOCK_A_B_OUTPUT", "5")
    api.reload_costs()
    assert api.cost("mock/a b", output_tokens=1_000_000) == 5


def test_a_bad_key_keeps_the_previous_overrides(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_GPT_4O_INPUT", "1")
    assert api.cost("gpt-4o", input_tokens=1_000_000) == 1
    monkeypatch.setenv("MODELS_COST_GPT4O_OUTPUT", "1")
    with pytest.raises(InvalidCostOverrideError):
        api.reload_costs()
    assert api.cost("gpt-4o", input_tokens=1_000_000) == 1
