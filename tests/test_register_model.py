"""Your own models in the catalog (SPEC §11): `models.register_model(...)` and `MODELS_CATALOG`.

A registered row takes part in resolution, `info`, `list`, `cheapest`, `search`, routers and
capability checks like a built-in row, and its price (registered, its base's, or 0 on a local
provider) in every cost, bindings made before it included.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from models import (
    Capability,
    ConfigurationError,
    ModelNotFoundError,
    ModelsAPI,
    ProviderNotFoundError,
    UnsupportedCapabilityError,
)
from models._catalog.catalog import default_catalog
from models.providers._openai import OpenAIProvider

from .conftest import KEYS, sample
from .fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent
IMAGE = [
    {
        "role": "user",
        "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ],
    }
]


def serve_as(api: ModelsAPI, fake: FakeLLM, name: str, *, local: bool = False) -> None:
    """Provider `name` as an OpenAI-compatible endpoint on the wire fake (the OpenAI provider class);
    `local` puts it in the provider map's local set, as the presets do for ollama and vllm."""
    api.register_provider(name, OpenAIProvider)
    api.configure(name, api_key=KEYS["openai"], base_url=fake.openai_base_url)
    if local:
        providers = api._service.models.provider_classes
        providers.local = providers.local | {name}


def get_time() -> str:
    """The time now."""
    return "noon"


def test_a_registered_local_model_is_a_catalog_row_and_costs_nothing(api: ModelsAPI, fake: FakeLLM) -> None:
    serve_as(api, fake, "ollama", local=True)
    info = api.register_model(
        "ollama/llama3.2",
        context_window=131_072,
        max_output=8_192,
        capabilities=["function_calling", Capability.STREAMING],
        aliases=["llama"],
    )
    assert (info.id, info.provider, info.name, info.aliases, info.context_window, info.max_output, info.known) == (
        "ollama/llama3.2",
        "ollama",
        "llama3.2",
        ("llama",),
        131_072,
        8_192,
        True,
    )
    # text input is implied by any list given; large_context follows the window
    assert info.capabilities == {"text_input", "function_calling", "streaming", "large_context"}
    assert info.price is not None and (info.price.input, info.price.output, info.price.origin) == (0, 0, "local")
    for spelling in ("llama", "LLAMA3.2", "ollama/llama3.2", "ollama:llama3.2"):
        assert api.resolve(spelling).id == "ollama/llama3.2"

    response = api("llama", "hi")
    assert [r.model for r in fake.requests] == ["llama3.2"]  # the SDK gets the provider-side name
    usage = response.usage
    assert (response.model, usage.input_tokens, usage.cost, usage.price_source) == ("ollama/llama3.2", 10, 0.0, "local")
    assert api.usage()["ollama/llama3.2"].cost == 0.0
    assert sample(api, "models_requests_total", provider="ollama", model="ollama/llama3.2", status="ok") == 1

    assert [m.id for m in api.list(provider="ollama")] == ["ollama/llama3.2"]
    assert [m.id for m in api.list(capability="function_calling", max_input_price=0)] == ["ollama/llama3.2"]
    assert api.search("llama")[0].id == "ollama/llama3.2"
    assert api.cheapest(capabilities=["function_calling"], min_context=100_000).id == "ollama/llama3.2"
    router = api.router(strategy="cost", capabilities=["function_calling"])
    assert "ollama/llama3.2" in router.models and router.explain("hi")[0].model == "ollama/llama3.2"


def test_a_registered_row_s_capabilities_are_checked_before_sending(api: ModelsAPI, fake: FakeLLM) -> None:
    serve_as(api, fake, "ollama", local=True)
    api.register_model("ollama/tiny", capabilities=["streaming"])
    with pytest.raises(UnsupportedCapabilityError) as caught:
        api("ollama/tiny", "time?", tools=[get_time])
    assert (caught.value.capability, caught.value.model) == ("function_calling", "ollama/tiny")
    with pytest.raises(UnsupportedCapabilityError, match="image_input"):
        api("ollama/tiny", IMAGE)
    with pytest.raises(UnsupportedCapabilityError, match="structured_output"):
        api("ollama/tiny", "json?", response_format={"type": "object", "properties": {}})
    assert fake.requests == []
    api.register_model("ollama/tiny")  # again, without capabilities: nothing known, so nothing refused
    api("ollama/tiny", "time?", tools=[get_time])
    assert [r.model for r in fake.requests] == ["tiny"]


def test_base_gives_limits_capabilities_and_the_base_s_default_price(api: ModelsAPI, fake: FakeLLM) -> None:
    serve_as(api, fake, "azure")
    gpt = api.info("openai/gpt-4o")
    prod = api.register_model("azure/prod-4o", base="openai/gpt-4o")
    assert (prod.context_window, prod.max_output, prod.capabilities, prod.reasoning) == (
        gpt.context_window,
        gpt.max_output,
        gpt.capabilities,
        gpt.reasoning,
    )
    assert (prod.display_name, prod.quality_tier, prod.aliases, prod.status) == (
        "GPT-4o",
        gpt.quality_tier,
        (),
        "active",
    )
    assert prod.price == gpt.price and prod.price is not None and prod.price.origin == "default"
    assert api.cost("azure/prod-4o", 1_000_000, 1_000_000, 400_000) == 12.0  # 0.6M x 2.50 + 0.4M x 1.25 + 1M x 10
    assert api.cost("azure/prod-4o", 1_000_000, 1_000_000, at=datetime.date(2024, 6, 1)) == 20.0  # its history too

    response = api("azure/prod-4o", "hi")
    assert fake.requests[-1].model == "prod-4o"  # the deployment's name, not the base's
    assert (response.usage.cost, response.usage.price_source) == (7.5e-05, "default")  # 10 x 2.50 + 5 x 10

    small = api.register_model(
        "azure/prod-small",
        base="gpt-4o",
        context_window=64_000,
        max_output=4_096,
        price={"input": "2.75", "output": 11},
    )
    assert (small.context_window, small.max_output) == (64_000, 4_096)
    assert small.capabilities == gpt.capabilities - {Capability.LARGE_CONTEXT}  # 64K is not large
    assert api.cost("azure/prod-small", 1_000_000, 1_000_000) == 13.75
    # `base` of a registered row is not the fine-tuned `base`: an ft: id keeps its fine-tuned rate
    assert api.cost("ft:gpt-4o-2024-08-06:org::abc", 1_000_000, 1_000_000) == 18.75  # 3.75 + 15


def test_a_base_priced_from_genai_prices_prices_the_rows_made_from_it(api: ModelsAPI, fake: FakeLLM) -> None:
    serve_as(api, fake, "groq")
    api.register_model("groq/llama-3.3-70b-versatile", context_window=131_072)  # no price: genai-prices has it
    row = api.register_model("groq/house-llama", base="groq/llama-3.3-70b-versatile")
    assert row.context_window == 131_072 and row.price is not None and row.price.origin == "genai-prices"
    assert api.cost("groq/house-llama", 1_000_000, 1_000_000, at=datetime.date(2026, 12, 1)) == 1.38  # 0.59 + 0.79


def test_registering_over_a_built_in_row_changes_only_what_is_given_and_only_here(api: ModelsAPI) -> None:
    before = api.info("openai/gpt-4o")
    row = api.register_model("openai/gpt-4o", price={"input": 2, "output": 8}, aliases=["house-4o"])
    assert dataclasses.replace(row, price=None, aliases=()) == dataclasses.replace(before, price=None, aliases=())
    assert row.aliases == (*before.aliases, "house-4o")
    assert row.price is not None
    assert (row.price.input, row.price.output, row.price.cached_input, row.price.origin) == (2, 8, 2, "registered")
    assert api.resolve("house-4o").id == "openai/gpt-4o"
    assert api.cost("gpt-4o", 1_000_000, 1_000_000) == 10.0

    other = ModelsAPI(registry=CollectorRegistry())  # the built-in catalog is shared and unchanged
    assert other.cost("gpt-4o", 1_000_000, 1_000_000) == 12.5
    with pytest.raises(ModelNotFoundError):
        other.resolve("house-4o")
    assert default_catalog().row("openai/gpt-4o") == dataclasses.replace(before, price=None)

    # registered again: it starts from the built-in row again, not from the previous registration
    again = api.register_model("openai/gpt-4o", context_window=64_000)
    assert (again.aliases, again.context_window, again.max_output) == (before.aliases, 64_000, before.max_output)
    assert api.cost("gpt-4o", 1_000_000, 1_000_000) == 12.5


def test_a_binding_made_before_a_registration_is_not_left_with_a_stale_price(wired: ModelsAPI, fake: FakeLLM) -> None:
    bound = wired.bind("gpt-4o")
    assert bound("hi").usage.cost == 7.5e-05  # 10 x 2.50 + 5 x 10 per 1M
    assert wired("gpt-4o", "hi").usage.cost == 7.5e-05  # the one-liner's cached target
    wired.register_model("openai/gpt-4o", price={"input": 1, "output": 2})
    for response in (bound("hi"), wired("gpt-4o", "hi")):
        assert (response.usage.cost, response.usage.price_source) == (2e-05, "registered")  # 10 x 1 + 5 x 2


def test_overrides_beat_a_registered_price_which_beats_local_and_genai_prices(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_as(api, fake, "ollama", local=True)
    serve_as(api, fake, "groq")
    api.register_model("ollama/priced", price={"input": "0.1", "output": "0.2"})  # your own GPU hours
    api.register_model("groq/llama-3.3-70b-versatile", price={"input": "0.5", "output": "0.6"})  # a negotiated rate

    def rates(model: str) -> tuple[Decimal, Decimal, str]:
        price = api.info(model).price
        assert price is not None
        return price.input, price.output, price.origin

    assert rates("ollama/priced") == (Decimal("0.1"), Decimal("0.2"), "registered")
    assert rates("ollama/anything") == (0, 0, "local")
    assert rates("groq/llama-3.3-70b-versatile") == (Decimal("0.5"), Decimal("0.6"), "registered")
    assert api.cost("ollama/priced", 1_000_000, 1_000_000) == 0.3
    assert api.cost("ollama/anything", 1_000_000, 1_000_000) == 0.0

    monkeypatch.setenv("MODELS_COST_OLLAMA_PRICED_OUTPUT", "0.4")
    monkeypatch.setenv("MODELS_COST_OLLAMA_ANYTHING_INPUT", "0.05")
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"groq/llama-3.3-70b-versatile": {"input": 0.25}}')
    api.reload_costs()
    assert rates("ollama/priced") == (Decimal("0.1"), Decimal("0.4"), "override")  # fields left out keep theirs
    assert rates("ollama/anything") == (Decimal("0.05"), 0, "override")  # ... the local 0 too
    assert rates("groq/llama-3.3-70b-versatile") == (Decimal("0.25"), Decimal("0.6"), "override")
    assert api.cost("ollama/priced", 1_000_000, 1_000_000) == 0.5


def test_an_alias_may_claim_a_bare_name_but_a_registered_name_never_does(api: ModelsAPI, fake: FakeLLM) -> None:
    serve_as(api, fake, "azure")
    serve_as(api, fake, "openrouter")
    api.register_model("azure/gpt-4o", base="openai/gpt-4o")
    assert api.resolve("gpt-4o").id == "openai/gpt-4o"  # the bare name stays with the built-in row
    api.register_model("openrouter/meta-llama/llama-3.3-70b-instruct")
    with pytest.raises(ProviderNotFoundError):  # a name with a '/' is no bare name
        api.resolve("meta-llama/llama-3.3-70b-instruct")
    api.register_model("openrouter/house", base="openai/gpt-4o", aliases=["gpt-4o"])
    assert api.resolve("gpt-4o").id == "openrouter/house"  # asked for by name, as LiteLLM's model_name does
    assert api.resolve("openai/gpt-4o").id == "openai/gpt-4o"
    with pytest.raises(ValueError, match="aliases: 'gpt-4o' would hide the catalog model azure/gpt-4o"):
        api.register_model("azure/prod", aliases=["gpt-4o"])  # azure/gpt-4o would then mean azure/prod


PRICE_NEEDS = "price needs 'output' (USD per 1M tokens); the cache rates default to input"
RATE = "must be a finite number >= 0 and <= 1000000 (USD per 1M tokens), not"


@pytest.mark.parametrize(
    ("model", "fields", "error", "message"),
    [
        ("house", {}, ValueError, "id must be a canonical 'provider/name' id (it says which provider serves the "
         "model), like '<provider>/house', not 'house'; providers: anthropic, "),
        ("gpt-4o-house", {}, ValueError, "id must be a canonical 'provider/name' id (it says which provider serves the "
         "model), like 'openai/gpt-4o-house', not 'gpt-4o-house'"),
        (5, {}, TypeError, "id must be a str like 'ollama/llama3.2', not int"),
        ("nope/house", {}, ProviderNotFoundError, "Unknown provider 'nope'. Known providers: anthropic, "),
        ("mock//house", {}, ValueError, "id 'mock//house' has an empty or space-padded part; write 'provider/name'"),
        ("mock/house", {"context_window": "big"}, TypeError, "context_window must be an int (tokens), not 'big'"),
        ("mock/house", {"context_window": 0}, ValueError, "context_window must be a number of tokens > 0, not 0"),
        ("mock/house", {"max_output": True}, TypeError, "max_output must be an int (tokens), not True"),
        ("mock/house", {"context_window": 10, "max_output": 20}, ValueError,
         "max_output (20) cannot exceed context_window (10)"),
        ("mock/house", {"capabilities": "tools"}, TypeError,
         "capabilities must be a list like ['function_calling', 'image_input'], not 'tools'"),
        ("mock/house", {"capabilities": ["tools"]}, ValueError,
         "capabilities: 'tools' is not a capability; use one of text_input, image_input, "),
        ("mock/house", {"price": [1, 2]}, TypeError,
         "price must be a dict like {'input': 0.5, 'output': 1.5} (USD per 1M tokens), not [1, 2]"),
        ("mock/house", {"price": {"input": 1}}, ValueError, PRICE_NEEDS),
        ("mock/house", {"price": {"inptu": 1, "output": 1}}, ValueError,
         "price: unknown field 'inptu' (did you mean 'input'?); use input, output, cached_input, cache_write, "
         "cache_write_1h"),
        ("mock/house", {"price": {"input": -1, "output": 1}}, ValueError, f"price['input'] {RATE} -1"),
        ("mock/house", {"price": {"input": 1, "output": float("nan")}}, ValueError, f"price['output'] {RATE} nan"),
        ("mock/house", {"price": {"input": 1, "output": 2_000_000}}, ValueError, f"price['output'] {RATE} 2000000"),
        ("mock/house", {"price": {"input": "cheap", "output": 1}}, ValueError,
         "price['input'] must be a number of USD, not 'cheap'"),
        ("mock/house", {"aliases": "house"}, TypeError, "aliases must be a list like ['llama', 'local'], not 'house'"),
        ("mock/house", {"aliases": ["a/b"]}, ValueError,
         "aliases: each must be a name without '/' or padding, like 'llama', not 'a/b'"),
        ("mock/house", {"base": 4}, TypeError, "base must be a catalog model id like 'openai/gpt-4o', not 4"),
        ("mock/house", {"base": "gpt-4oo"}, ValueError, "base 'gpt-4oo' is not a catalog model (did you mean 'gpt-4o'"),
        ("mock/house", {"base": "ft:gpt-4o:org::x"}, ValueError,
         "base 'ft:gpt-4o:org::x' is not a catalog model: a fine-tune or an unknown id has nothing to copy; give "
         "context_window, max_output, capabilities and price instead, or register it first"),
        ("mock/house", {"base": "opnai/gpt-4o"}, ValueError,
         "base 'opnai/gpt-4o' is not a catalog model: Unknown provider 'opnai'"),
    ],
)  # fmt: skip
def test_bad_arguments_name_the_argument_and_the_fix_and_register_nothing(
    api: ModelsAPI, model: Any, fields: dict[str, Any], error: type[Exception], message: str
) -> None:
    rows = len(api._service.models.catalog.rows)
    with pytest.raises(error) as caught:
        api.register_model(model, **fields)
    assert str(caught.value).startswith(message)
    assert len(api._service.models.catalog.rows) == rows


def test_models_catalog_is_read_at_first_use_and_code_rows_win(
    api: ModelsAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "models.json"
    rows = [
        {
            "id": "mock/house",
            "context_window": 32_000,
            "max_output": 4_000,
            "capabilities": ["function_calling"],
            "price": {"input": 0.5, "output": "1.5"},
            "aliases": ["home"],
        },
        {"id": "mock/house-eu", "base": "mock/house", "price": {"input": 0.6, "output": 1.8}},
        {"id": "mock/echo", "context_window": 8_000, "max_output": None, "price": {"input": 1, "output": 2}},
    ]
    path.write_text(json.dumps(rows))
    monkeypatch.setenv("MODELS_CATALOG", str(path))  # after the instance exists: read at first use
    api.register_model("mock/echo", price={"input": 3, "output": 4})  # code beats the file for the same id ...
    house = api.info("home")
    assert house.price is not None
    assert (house.id, house.context_window, house.max_output, house.supports("function_calling")) == (
        "mock/house",
        32_000,
        4_000,
        True,
    )
    assert (house.price.input, house.price.output, house.price.origin, house.price.source) == (
        Decimal("0.5"),
        Decimal("1.5"),
        "registered",
        str(path),
    )
    eu = api.info("mock/house-eu")
    assert (eu.context_window, eu.capabilities, eu.price and eu.price.input) == (
        32_000,
        house.capabilities,
        Decimal("0.6"),
    )
    echo = api.info("mock/echo")
    assert (echo.context_window, echo.price and echo.price.input) == (8_000, 3)  # ... starting from the file's row
    response = api("mock/echo", "one two three")  # mock: a token a word, in and out
    assert (response.usage.cost, response.usage.price_source) == (2.1e-05, "registered")  # 3 x 3 + 3 x 4


def test_reload_costs_reads_models_catalog_again_and_a_bad_file_changes_nothing(
    api: ModelsAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "models.json"
    path.write_text(json.dumps([{"id": "mock/house", "price": {"input": 1, "output": 1}, "aliases": ["home"]}]))
    monkeypatch.setenv("MODELS_CATALOG", str(path))
    bound = api.bind("home")
    api.register_model("mock/mine", price={"input": 7, "output": 7})
    assert bound("a b").usage.cost == 4e-06
    path.write_text(json.dumps([{"id": "mock/house", "price": {"input": 0.25, "output": 0.75}}]))
    api.reload_costs()
    assert bound("a b").usage.cost == 2e-06  # 2 x 0.25 + 2 x 0.75, for the binding made before
    with pytest.raises(ModelNotFoundError):
        api.info("home")  # the file's row has no alias any more
    assert api.cost("mock/mine", 1_000_000, 0) == 7.0  # rows registered in code stay
    path.write_text("[{")
    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        api.reload_costs()
    assert api.cost("mock/house", 1_000_000, 1_000_000) == 1.0  # the rows read before are kept


def test_models_catalog_is_not_read_before_first_use_and_a_failed_read_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "models.json"
    monkeypatch.setenv("MODELS_CATALOG", str(path))
    api = ModelsAPI(registry=CollectorRegistry())
    with pytest.raises(ConfigurationError) as caught:
        api.info("gpt-4o")
    assert str(caught.value) == f"MODELS_CATALOG file {str(path)!r} cannot be read: No such file or directory"
    path.write_text('[{"id": "mock/house"}]')
    assert api.info("house").id == "mock/house"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"id": "mock/x", "contxt_window": 5}]', ", row 0 (id 'mock/x'): unknown key 'contxt_window' (did you mean "
         "'context_window'?); use id, context_window, max_output, capabilities, price, aliases, base"),
        ('[{"id": "mock/x", "context_window": 1.5}]', ", row 0 (id 'mock/x'): context_window must be an int (tokens), "
         "not 1.5"),
        ('[{"id": "mock/x", "price": {"input": -0.5, "output": 1}}]', f", row 0 (id 'mock/x'): price['input'] {RATE} "
         "-0.5"),
        ('[{"id": "mock/x"}, {"id": "mock/y", "capabilities": ["vision"]}]', ", row 1 (id 'mock/y'): capabilities: "
         "'vision' is not a capability; use one of text_input, "),
        ('[{"id": "nope/x"}]', ", row 0 (id 'nope/x'): Unknown provider 'nope'. Known providers: anthropic, "),
        ('[{"id": "house"}]', ", row 0 (id 'house'): id must be a canonical 'provider/name' id"),
        ('[{"id": "mock/x", "base": "mock/y"}, {"id": "mock/y"}]', ", row 0 (id 'mock/x'): base 'mock/y' is not a "
         "catalog model"),
        ('[{"id": "mock/x"}, {"id": "MOCK/x"}]', ", row 1 (id 'MOCK/x'): the same model as row 0; give each model one "
         "row"),
        ('[{"context_window": 5}]', ", row 0: missing 'id' (a canonical 'provider/name' like 'ollama/llama3.2')"),
        ('[["mock/x"]]', ", row 0: expected an object with 'id' and some of context_window, max_output, "),
        ('{"id": "mock/x"}', ': expected a list of objects like [{"id": "ollama/llama3.2", "context_window": 131072}]'),
        ('[{"id": "mock/x",\n "price": {"input": 1 "output": 2}}]', " is not valid JSON: Expecting ',' delimiter at "
         "line 2, column 23"),
        (b"\xff[]", " is not UTF-8 text"),
    ],
)  # fmt: skip
def test_a_bad_models_catalog_names_the_file_the_row_and_the_field(
    api: ModelsAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str | bytes, message: str
) -> None:
    path = tmp_path / "models.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    monkeypatch.setenv("MODELS_CATALOG", str(path))
    with pytest.raises(ConfigurationError) as caught:
        api.resolve("gpt-4o")
    assert str(caught.value).startswith(f"MODELS_CATALOG file {str(path)!r}{message}")
    monkeypatch.setenv("MODELS_CATALOG", str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"cannot be read: Is a directory$"):
        api.reload_costs()


def test_registered_and_local_prices_need_no_genai_prices_import() -> None:
    code = (
        "import sys\n"
        "from models import ModelsAPI\n"
        "from models.providers import Provider\n"
        "api = ModelsAPI()\n"
        "api.register_provider('ollama', Provider)\n"
        "api._service.models.provider_classes.local = frozenset({'ollama'})\n"
        "api.register_model('mock/house', price={'input': 1, 'output': 2})\n"
        "print(api.cost('mock/house', 10, 10), api.cost('ollama/llama3.2', 10, 10), 'genai_prices' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3e-05", "0.0", "False"]


def test_re_registering_an_endpoint_as_not_local_unprices_its_models(api: ModelsAPI) -> None:
    api.register_openai_compatible("box", "http://127.0.0.1:9/v1", local=True)
    assert (api.cost("box/llm", 1000, 1000), api.info("box/llm").price) == (0.0, api.info("box/llm").price)
    assert api.info("box/llm").price.origin == "local"  # type: ignore[union-attr]
    api.register_openai_compatible("box", "http://127.0.0.1:9/v1", local=False)
    assert (api.cost("box/llm", 1000, 1000), api.info("box/llm").price) == (None, None)
