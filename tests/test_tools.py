"""Tools and structured output (SPEC §8, §9): what every provider shares, driven through `mock`.

The schemas a function or type turns into, the checks before sending, the `run_tools` loop in
every call form, and `response_format` parsing. The provider wire shapes are in
tests/test_tools_{openai,anthropic,google}.py; the same calls across providers in
tests/test_tools_matrix.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

import models as package
from models import (
    BudgetExceededError,
    Completion,
    InvalidRequestError,
    ModelsAPI,
    Provider,
    StructuredOutputError,
    Tool,
    ToolCall,
    UnsupportedCapabilityError,
)
from models._content.schema import sample as sample_value
from models._content.schema import strict_schema
from models._content.tools import tool_of
from models.providers import Request

from .conftest import sample

MOCK = "mock/echo"


class Address(BaseModel):
    street: str
    zip_code: str = Field(description="Postal code")


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city.

    Args:
        city: The city, e.g. Paris.
        unit: Celsius or Fahrenheit.
    """
    return f"18 {unit.upper()} in {city}"


def ship(to: Address, items: list[str], note: Optional[str] = None, express: bool = False) -> dict[str, Any]:  # noqa: UP045
    """Ship items to an address.

    :param to: Where to.
    :param items: What to send.
    """
    return {"to": to.street, "items": items, "express": express}


class Opaque:
    """A class pydantic has no schema for."""


class City(BaseModel):
    name: str
    population: int


class CityDict(TypedDict):
    name: str
    population: int


@dataclasses.dataclass
class CityData:
    name: str
    population: int


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1.5")  # USD per 1M tokens
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")


# -- schemas -------------------------------------------------------------------------------------
def test_a_function_becomes_a_schema_from_its_signature_hints_and_docstring() -> None:
    tool = tool_of(get_weather)
    assert (tool.name, tool.description) == ("get_weather", "Current weather in a city.")
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city, e.g. Paris."},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c", "description": "Celsius or Fahrenheit."},
        },
        "required": ["city"],
    }
    assert tool_of(get_weather) is tool  # built once per function


def test_nested_models_lists_optionals_and_sphinx_docstrings() -> None:
    tool = tool_of(ship)
    assert tool.description == "Ship items to an address."
    assert tool.parameters == {
        "$defs": {
            "Address": {
                "type": "object",
                "properties": {
                    "street": {"type": "string"},
                    "zip_code": {"type": "string", "description": "Postal code"},
                },
                "required": ["street", "zip_code"],
            }
        },
        "type": "object",
        "properties": {
            "to": {"$ref": "#/$defs/Address", "description": "Where to."},
            "items": {"type": "array", "items": {"type": "string"}, "description": "What to send."},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "express": {"type": "boolean", "default": False},
        },
        "required": ["to", "items"],
    }
    strict = tool.strict_parameters()
    assert strict is not None
    assert strict["required"] == ["to", "items", "note", "express"]
    assert strict["additionalProperties"] is False
    assert "default" not in strict["properties"]["note"]
    # a $ref with a sibling description is inlined: OpenAI's strict mode allows nothing beside a $ref
    assert strict["properties"]["to"] == {
        "type": "object",
        "properties": {"street": {"type": "string"}, "zip_code": {"type": "string", "description": "Postal code"}},
        "required": ["street", "zip_code"],
        "additionalProperties": False,
        "description": "Where to.",
    }


def test_a_map_has_no_strict_form() -> None:
    def tag(labels: dict[str, int]) -> str:
        return ""

    assert tool_of(tag).strict_parameters() is None


def test_pydantic_classes_dicts_and_hand_made_tools() -> None:
    by_class = tool_of(City)
    assert (by_class.name, by_class.fn) == ("City", None)
    assert by_class.parameters == {
        "type": "object",
        "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
        "required": ["name", "population"],
    }
    openai_dict = {"type": "function", "function": {"name": "f", "description": "d", "parameters": {"type": "object"}}}
    assert tool_of(openai_dict) == Tool("f", "d", {"type": "object", "properties": {}})
    anthropic_dict = {"name": "g", "input_schema": {"type": "object", "properties": {"x": {"type": "number"}}}}
    assert tool_of(anthropic_dict).parameters == {"type": "object", "properties": {"x": {"type": "number"}}}
    by_hand = ModelsAPI().Tool("h", "Hand made.", fn=get_weather)  # `models.Tool` on the instance too
    assert by_hand.parameters == tool_of(get_weather).parameters
    assert package.Tool is Tool


def test_sample_values_fit_their_schemas() -> None:
    assert sample_value(tool_of(ship).parameters) == {
        "to": {"street": "street", "zip_code": "zip_code"},
        "items": ["items"],
        "note": "note",
        "express": True,
    }
    assert sample_value({"type": "integer", "exclusiveMinimum": 3}) == 4
    assert sample_value({"type": "string", "format": "date", "minLength": 12}) == "2025-01-01xx"
    assert strict_schema({"type": "object", "additionalProperties": {"type": "string"}}) is None


# -- bad input, before anything is sent -----------------------------------------------------------
def _refused(api: ModelsAPI) -> float | None:
    return sample(api, "models_requests_total", provider="mock", model=MOCK, status="invalid_request")


def test_bad_tools_are_refused_before_sending_with_the_fix(api: ModelsAPI) -> None:
    def splat(*names: str) -> str:
        return ""

    def odd(thing: Opaque) -> str:
        return ""

    def unread(thing: Undefined) -> str:  # type: ignore[name-defined]  # noqa: F821
        return ""

    cases: list[tuple[dict[str, Any], str]] = [
        ({"tools": [splat]}, r"Tool 'splat' takes \*names: a model can only fill named parameters"),
        ({"tools": [odd]}, r"Tool 'odd': pydantic cannot describe its parameters as JSON Schema"),
        ({"tools": [unread]}, r"Tool 'unread': its signature cannot be read \(name 'Undefined' is not defined\)"),
        ({"tools": [get_weather, Tool("get_weather")]}, r"Two tools are named 'get_weather': names must be unique"),
        (
            {"tools": [get_weather], "tool_choice": "get_wether"},
            r"tool_choice='get_wether' is neither 'auto'.*\('get_weather'\)",
        ),
        ({"tool_choice": "required"}, r"tool_choice='required' needs tools"),
        (
            {"tools": [{"type": "function", "function": {"name": "f"}}], "run_tools": True},
            r"run_tools=True has nothing to run",
        ),
        ({"run_tools": True}, r"run_tools=True needs tools"),
        ({"tools": [get_weather], "max_tool_rounds": 0}, r"max_tool_rounds must be at least 1, not 0"),
        (
            {"tools": [42]},
            r"tools= takes functions, pydantic model classes, .* or models.Tool, not 42",
        ),
        ({"tools": [{"type": "function", "function": {"name": "bad name"}}]}, r"Tool name 'bad name' is not valid"),
        ({"response_format": 42}, r"response_format=42 is not a type or a schema"),
        ({"response_format": "xml"}, r"the only string it takes is 'json'"),
        ({"response_format": {"oops": 1}}, r"is not a JSON Schema"),
    ]
    for n, (params, message) in enumerate(cases, 1):
        with pytest.raises(InvalidRequestError, match=message):
            api(MOCK, "hi", **params)
        assert _refused(api) == n
    with pytest.raises(TypeError, match="tools must be a list, like tools=\\[get_weather\\], not function"):
        api(MOCK, "hi", tools=get_weather)
    with pytest.raises(TypeError, match="run_tools must be True or False, not 'yes'"):
        api(MOCK, "hi", tools=[get_weather], run_tools="yes")


def test_a_model_without_structured_output_is_refused_before_sending(api: ModelsAPI) -> None:
    # Every catalog model with capability data calls tools; tests/test_catalog.py checks that rule.
    with pytest.raises(UnsupportedCapabilityError, match=r"openai/gpt-4-turbo does not support structured_output"):
        api("gpt-4-turbo", "hi", response_format=City)
    assert (
        sample(api, "models_requests_total", provider="openai", model="openai/gpt-4-turbo", status="invalid_request")
        == 1
    )


def test_tool_turns_must_answer_a_call_that_was_made(api: ModelsAPI) -> None:
    with pytest.raises(InvalidRequestError, match=r"prompt\[1\] answers tool call 'x', which no earlier assistant"):
        api(MOCK, [{"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "x", "content": "1"}])
    bad_call = {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "function": {}}]}
    with pytest.raises(InvalidRequestError, match=r"prompt\[1\]\['tool_calls'\]\[0\] must be \{'id': str"):
        api(MOCK, [{"role": "user", "content": "hi"}, bad_call])


# -- tool calls, by hand and by the loop ----------------------------------------------------------
def test_mock_calls_each_tool_once_and_answers_with_the_results(api: ModelsAPI) -> None:
    r = api(MOCK, "Weather in Paris?", tools=[get_weather])
    assert r.finish_reason == "tool_calls"
    assert r.tool_calls == (ToolCall("call_1", "get_weather", {"city": "city", "unit": "c"}),)
    assert r.message == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "city", "unit": "c"}'},
            }
        ],
    }
    turn = r.tool_calls[0].result({"temp": 18})
    assert turn == {"role": "tool", "tool_call_id": "call_1", "content": '{"temp":18}'}
    follow = api(MOCK, [{"role": "user", "content": "Weather?"}, r.message, turn], tools=[get_weather])
    assert (follow.text, follow.finish_reason, follow.tool_calls) == ('{"temp":18}', "stop", ())
    assert (follow.usage.input_tokens, follow.usage.output_tokens) == (2, 1)


def test_run_tools_loops_until_an_answer_and_sums_every_round(api: ModelsAPI, priced: None) -> None:
    with api.track() as t:
        r = api(MOCK, "Weather in Paris?", tools=[get_weather], run_tools=True)
    assert r.text == "18 C in city"
    assert [s.finish_reason for s in r.steps] == ["tool_calls", "stop"]
    assert r.steps[-1].text == r.text
    # round 1: 3 words in; 4 words of arguments out. Round 2: 3 + 4 words of the result in; 4 out.
    assert [(s.usage.input_tokens, s.usage.output_tokens) for s in r.steps] == [(3, 4), (7, 4)]
    assert (r.usage.input_tokens, r.usage.output_tokens) == (10, 8)
    assert r.usage.cost == pytest.approx((10 * 1.5 + 8 * 2) / 1e6, abs=0)
    assert r.usage.cost == 0.000031
    assert [s.usage.cost for s in r.steps] == [0.0000125, 0.0000185]
    assert (t.requests, t.input_tokens, t.output_tokens, t.cost) == (2, 10, 8, 0.000031)
    assert sample(api, "models_requests_total", provider="mock", model=MOCK, status="ok") == 2
    assert sample(api, "models_cost_usd_total", provider="mock", model=MOCK) == pytest.approx(0.000031, rel=1e-12)


def test_a_tool_that_raises_or_gets_bad_arguments_becomes_an_error_result(api: ModelsAPI) -> None:
    def broken(city: str) -> str:
        raise RuntimeError("station offline")

    r = api(MOCK, "go", tools=[broken], run_tools=True)
    assert r.text == "Error: broken raised RuntimeError: station offline"

    def count(n: int) -> int:
        return n * 2

    # the mock's sample for an int is 0, valid; a hand-written call with a bad argument is not
    from models._call.tool_loop import run_call
    from models._content.tools import toolset

    tools = toolset([count], None, True, MOCK)
    assert tools is not None
    assert run_call(tools, ToolCall("c1", "count", {"n": 4})) == {"role": "tool", "tool_call_id": "c1", "content": "8"}
    bad = run_call(tools, ToolCall("c2", "count", {"n": "four"}))["content"]
    assert bad.startswith("Error: invalid arguments for count: 1 validation error")
    assert "n\n  Input should be a valid integer" in bad
    unknown = run_call(tools, ToolCall("c3", "cuont", {}))["content"]
    assert unknown == "Error: there is no tool named 'cuont'. The tools are: count."
    cut = run_call(tools, ToolCall.from_json("c4", "count", '{"n": 1'))["content"]
    assert cut == 'Error: the arguments of count are not a JSON object: {"n": 1'


def test_max_tool_rounds_returns_the_last_round(api: ModelsAPI) -> None:
    r = api(MOCK, "go", tools=[get_weather], run_tools=True, max_tool_rounds=1)
    assert r.finish_reason == "tool_calls"
    assert len(r.steps) == 1 and r.tool_calls[0].name == "get_weather"


def test_a_tool_without_a_function_stops_the_loop_for_the_caller(api: ModelsAPI) -> None:
    r = api(MOCK, "go", tools=[get_weather, City], run_tools=True)
    assert [c.name for c in r.tool_calls] == ["get_weather", "City"]  # City has no function: yours to answer
    assert len(r.steps) == 1


def test_every_call_form_runs_the_loop(api: ModelsAPI) -> None:
    async def aweather(city: str) -> str:
        await asyncio.sleep(0)
        return f"async sun in {city}"

    bound = api.bind(MOCK, tools=[get_weather], run_tools=True)
    assert bound("go").text == "18 C in city"
    assert bound("go").steps[0].tool_calls[0].id == "call_1"
    s = api.stream(MOCK, "go", tools=[get_weather], run_tools=True)
    assert list(s) == ["18", " C", " in", " city"]
    assert (s.response.text, len(s.response.steps), s.response.usage.input_tokens) == ("18 C in city", 2, 1 + 5)
    assert asyncio.run(api.acall(MOCK, "go", tools=[aweather], run_tools=True)).text == "async sun in city"

    async def astream() -> tuple[list[str], Any]:
        stream = api.astream(MOCK, "go", tools=[aweather, get_weather], run_tools=True)
        return [p async for p in stream], stream.response

    pieces, response = asyncio.run(astream())
    assert "".join(pieces) == "async sun in city 18 C in city"
    assert [c.id for c in response.steps[0].tool_calls] == ["call_1", "call_2"]
    router = api.router([MOCK], strategy="manual")
    assert router("go", tools=[get_weather], run_tools=True).text == "18 C in city"
    assert api("mock/echo", "go", tools=[get_weather], run_tools=True, fallbacks=["mock/other"]).text == "18 C in city"


def test_an_async_tool_in_a_sync_call_runs_in_its_own_loop(api: ModelsAPI) -> None:
    async def aweather(city: str) -> str:
        return f"async {city}"

    assert api(MOCK, "go", tools=[aweather], run_tools=True).text == "async city"


def test_tool_choice_none_and_a_name(api: ModelsAPI) -> None:
    assert api(MOCK, "go", tools=[get_weather], tool_choice="none").tool_calls == ()
    r = api(MOCK, "go", tools=[get_weather, City], tool_choice="City")
    assert [c.name for c in r.tool_calls] == ["City"]


# -- structured output ----------------------------------------------------------------------------
def test_response_format_gives_a_validated_value(api: ModelsAPI) -> None:
    assert api(MOCK, "Largest city?", response_format=City).parsed == City(name="name", population=0)
    listed = api(MOCK, "Cities?", response_format=list[City])
    assert listed.text == '{"result": [{"name": "name", "population": 0}]}'  # wrapped: the root must be an object
    assert listed.parsed == [City(name="name", population=0)]
    assert api(MOCK, "x", response_format=CityDict).parsed == {"name": "name", "population": 0}
    assert api(MOCK, "x", response_format=CityData).parsed == CityData("name", 0)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    assert api(MOCK, "x", response_format=schema).parsed == {"ok": True}
    assert api(MOCK, "say hi", response_format="json").parsed == {"echo": "say hi"}
    assert api(MOCK, "x").parsed is None


def test_an_answer_that_does_not_fit_raises_with_its_text_and_cost(api: ModelsAPI, priced: None) -> None:
    with pytest.raises(StructuredOutputError) as caught:
        api(MOCK, "x", response_format=City, max_tokens=1)
    error = caught.value
    assert error.text == '{"name":'
    assert "does not fit City" in str(error) and "cut off at max_tokens: raise max_tokens" in str(error)
    assert error.response.usage.output_tokens == 1
    assert error.response.usage.cost == (1 * 1.5 + 1 * 2) / 1e6
    assert sample(api, "models_cost_usd_total", provider="mock", model=MOCK) == error.response.usage.cost
    assert sample(api, "models_requests_total", provider="mock", model=MOCK, status="ok") == 1
    with pytest.raises(StructuredOutputError, match="not JSON"):
        list(api.stream(MOCK, "x", response_format="json", max_tokens=1))


def test_streams_parse_at_the_end(api: ModelsAPI) -> None:
    s = api.stream(MOCK, "x", response_format=City)
    assert "".join(s) == '{"name": "name", "population": 0}'
    assert s.response.parsed == City(name="name", population=0)

    async def astream() -> Any:
        stream = api.astream(MOCK, "x", response_format=City)
        async for _ in stream:
            pass
        return stream.response.parsed

    assert asyncio.run(astream()) == City(name="name", population=0)


def test_a_budget_counts_every_round_and_stops_the_loop_when_spent(api: ModelsAPI, priced: None) -> None:
    with api.budget(usd=1) as budget:
        r = api(MOCK, "Weather in Paris?", tools=[get_weather], run_tools=True, max_tokens=50)
    assert budget.spent == r.usage.cost == 0.000031
    # A budget of exactly what round 1 reserves (its input bound and 50 output tokens): round 1 is
    # sent and settles at its cost; round 2, a longer prompt, reserves more than is left.
    from models._call.budget import input_bound

    service = api._service
    target = service.target(MOCK)
    first = service.request(target, "Weather in Paris?", None, service.prepare(target, {"tools": [get_weather]}))
    reserved = (input_bound(first) * 1.5 + 50 * 2) / 1e6
    with api.budget(usd=reserved) as tight, pytest.raises(BudgetExceededError, match="this call reserves"):
        api(MOCK, "Weather in Paris?", tools=[get_weather], run_tools=True, max_tokens=50)
    assert tight.spent == 0.0000125


def test_a_bindings_tools_and_schema_are_built_once_not_per_call(api: ModelsAPI) -> None:
    seen: list[Request] = []

    class Recording(Provider):
        def complete(self, request: Request) -> Completion:
            seen.append(request)
            return Completion("{}", input_tokens=1, output_tokens=1)

    api.register_provider("recording", Recording)
    bound = api.bind("recording/x", tools=[get_weather])
    bound("a")
    bound("b")
    assert seen[0].options is seen[1].options  # the binding's options, translated at bind time
    assert seen[0].options["tools"][0]["function"]["parameters"] == tool_of(get_weather).strict_parameters()
    api("recording/x", "c", tools=[get_weather])
    api("recording/x", "d", tools=[get_weather])
    # per call: a new options dict, but the function's schema is the one built the first time
    first, second = (s.options["tools"][0]["function"]["parameters"] for s in seen[2:])
    assert first is second is tool_of(get_weather).strict_parameters()


def test_an_async_tool_in_a_sync_call_from_inside_an_event_loop_still_runs(api: ModelsAPI) -> None:
    # A notebook cell runs inside an event loop; a sync call's async tool then runs in a worker's loop.
    async def aweather(city: str) -> str:
        await asyncio.sleep(0)
        return f"async {city}"

    async def inside() -> str:
        return api(MOCK, "go", tools=[aweather], run_tools=True).text

    assert asyncio.run(inside()) == "async city"
