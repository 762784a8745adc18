"""Bad input fails early and clearly: before any request, as a `ModelsError` (or `TypeError`
for a wrong Python type), never a traceback from inside an SDK."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

import models
from models import InvalidRequestError, ModelNotFoundError, ModelsAPI, ModelsError

from .conftest import sample
from .fake_llm import FakeLLM


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"temperature": -0.1}, InvalidRequestError, "temperature must be between 0 and 2"),
        ({"temperature": 2.5}, InvalidRequestError, "temperature must be between 0 and 2"),
        ({"temperature": float("nan")}, InvalidRequestError, "temperature must be a finite number"),
        ({"temperature": "hot"}, TypeError, "temperature must be a number"),
        ({"top_p": 1.5}, InvalidRequestError, "top_p must be between 0 and 1"),
        ({"max_tokens": 0}, InvalidRequestError, "max_tokens must be at least 1"),
        ({"max_tokens": 1.5}, TypeError, "max_tokens must be an int"),
        ({"max_tokens": 10**9}, InvalidRequestError, r"more than openai/gpt-4o can write \(16384\)"),
        ({"stop": ""}, InvalidRequestError, "stop sequences must not be empty"),
        ({"stop": ["END", ""]}, InvalidRequestError, "stop sequences must not be empty"),
        ({"stop": 5}, TypeError, "stop must be a str or a list of str"),
        ({"seed": "x"}, TypeError, "seed must be an int"),
        ({"timeout": 0}, InvalidRequestError, "timeout must be more than 0 seconds"),
        ({"max_retries": -1}, InvalidRequestError, "max_retries must be 0 or more"),
        ({"max_retries": True}, TypeError, "max_retries must be an int"),
    ],
)
def test_bad_parameters_fail_before_any_request(
    wired: ModelsAPI, fake: FakeLLM, params: dict[str, Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        wired("gpt-4o", "hi", **params)
    with pytest.raises(error, match=message):
        wired.bind("gpt-4o", **params)
    with pytest.raises(error, match=message):
        wired.bind("gpt-4o")("hi", **params)
    assert fake.requests == []


def test_content_parts_must_be_objects_with_a_type(api: ModelsAPI) -> None:
    with pytest.raises(InvalidRequestError, match=r"prompt\[0\]\['content'\]\[1\] must be a dict with a 'type'"):
        api("mock/echo", [{"role": "user", "content": [{"type": "text", "text": "a"}, "b"]}])


_api = ModelsAPI(registry=CollectorRegistry())
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_messages = st.lists(
    st.dictionaries(
        st.sampled_from(["role", "content", "name"]),
        st.sampled_from(["user", "assistant", "system", "tool"]) | _json,
        max_size=3,
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    prompt=st.text(max_size=30) | _messages | _json,
    system=st.none() | st.text(max_size=10) | st.integers(),
    params=st.dictionaries(
        st.sampled_from(["temperature", "max_tokens", "top_p", "stop", "seed", "timeout", "max_retries"]),
        _json,
        max_size=3,
    ),
)
def test_fuzzed_calls_raise_only_models_errors_or_type_errors(prompt: Any, system: Any, params: Any) -> None:
    with warnings.catch_warnings(), contextlib.suppress(ModelsError, TypeError):
        warnings.simplefilter("ignore")
        _api("mock/echo", prompt, system=system, **params)


@settings(max_examples=500, deadline=None)
@given(model=st.text(max_size=40) | st.from_regex(r"(openai|claude|gemini|ft|mock)[:/][a-z0-9.:/-]{0,20}"))
def test_fuzzed_model_ids_resolve_or_raise_a_models_error(model: str) -> None:
    try:
        info = _api.resolve(model)
    except ModelsError:
        return
    assert info.id == f"{info.provider}/{info.name}" and info.name


# -- prompt shapes ---------------------------------------------------------------------------
def _nested(depth: int, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


def _cycle() -> dict[str, Any]:
    part: dict[str, Any] = {"type": "image_url", "image_url": {}}
    part["image_url"]["again"] = part
    return part


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        (
            [{"role": "user", "content": [{"type": "text", "text": 123}]}],
            r"prompt\[0\]\['content'\]\[0\] is a text part, so its 'text' must be a str, not int",
        ),
        (
            [{"role": "user", "content": [{"type": "text"}]}],
            r"prompt\[0\]\['content'\]\[0\] is a text part, so its 'text' must be a str, not none",
        ),
        (
            [{"role": "system", "content": [{"type": "text", "text": None}]}, {"role": "user", "content": "hi"}],
            r"prompt\[0\]\['content'\]\[0\] is a text part, so its 'text' must be a str, not NoneType",
        ),
        (_nested(5000, "hi"), r"prompt\[0\] must be a dict with 'role' and 'content', got \[\[\[\[\.\.\.\]\]\]\]"),
        ([{"role": _nested(5000, "x"), "content": "hi"}], r"prompt\[0\] has role \[\[\[\[\.\.\.\]\]\]\]; use one of"),
        ([{"role": "user", "content": [_nested(5000, 1)]}], r"prompt\[0\]\['content'\]\[0\] must be a dict with a"),
        (
            [{"role": "user", "content": [{"type": "image_url", "image_url": _nested(5000, {})}]}],
            r"prompt\[0\]\['content'\]\[0\] nests dicts and lists more than 32 levels deep",
        ),
        (
            [{"role": "user", "content": [{"type": "text", "text": "hi"}, _cycle()]}],
            r"prompt\[0\]\['content'\]\[1\] nests dicts and lists more than 32 levels deep \(or contains itself\)",
        ),
    ],
)
def test_bad_parts_and_deep_prompts_name_the_part(api: ModelsAPI, prompt: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        api("mock/echo", prompt)
    # refused before sending, counted once as the provider's 400 would have been
    assert sample(api, "models_requests_total", provider="mock", model="mock/echo", status="invalid_request") == 1


def test_a_part_nested_to_the_limit_is_fine(api: ModelsAPI) -> None:
    part = {"type": "x-custom", "x": _nested(31, {"url": "x"})}  # 32 levels below the part
    r = api("mock/echo", [{"role": "user", "content": [{"type": "text", "text": "two words"}, part]}])
    assert r.text == "two words"
    part = {"type": "x-custom", "x": _nested(32, {"url": "x"})}  # one more
    with pytest.raises(InvalidRequestError, match="more than 32 levels deep"):
        api("mock/echo", [{"role": "user", "content": [part]}])


def test_a_response_format_that_is_no_json_schema_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    # Once passed through as it was (and an "unhashable type" TypeError before that): now a dict is
    # a JSON Schema, checked against the metaschema, and "json_schema" is no JSON Schema type.
    with pytest.raises(InvalidRequestError, match=r"response_format is not a valid JSON Schema \(type: "):
        wired("gpt-4o", "hi", response_format={"type": ["json_schema"]})
    assert fake.requests == []


# -- model ids ---------------------------------------------------------------------------------
def test_a_model_that_is_not_a_string_fails_clearly_in_every_form(api: ModelsAPI) -> None:
    api.bind("mock/echo")
    forms = [
        lambda: api(["gpt-4o"], "hi"),  # type: ignore[arg-type]
        lambda: api.bind(["gpt-4o"]),  # type: ignore[arg-type]
        lambda: api.stream(["gpt-4o"], "hi"),  # type: ignore[arg-type]
        lambda: asyncio.run(api.acall(["gpt-4o"], "hi")),  # type: ignore[arg-type]
        lambda: api.astream({"gpt-4o"}, "hi"),  # type: ignore[arg-type]
        lambda: api("mock/echo", "hi", fallbacks=[["gpt-4o"]]),  # type: ignore[list-item]
        lambda: api.bind("mock/echo", fallbacks=[("gpt-4o",)]),  # type: ignore[list-item]
        lambda: api.router(["mock/echo", ["gpt-4o"]]),  # type: ignore[list-item]
        lambda: api(42, "hi"),  # type: ignore[arg-type]
    ]
    for form in forms:
        with pytest.raises(TypeError, match=r"(model must be a str like 'openai/gpt-4o', not|fallbacks must be)"):
            form()


@pytest.mark.parametrize("written", ["openai//gpt-4o", "openai/gpt-4o/", "openai:/gpt-4o", "openai/ /gpt-4o"])
def test_an_empty_part_of_a_name_is_not_a_model(api: ModelsAPI, written: str) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        api.resolve(written)
    assert caught.value.suggestions[0] == "openai/gpt-4o"
    assert str(caught.value).startswith(f"Unknown model {written!r}. Did you mean 'openai/gpt-4o'")


def test_a_provider_alone_suggests_three_different_models(api: ModelsAPI) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        api.resolve("openai/")
    assert caught.value.suggestions == ["openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-5-nano"]


def test_names_with_inner_slashes_still_resolve(api: ModelsAPI) -> None:
    info = api.resolve("openai/org/custom-model")  # OpenAI-compatible servers use such names
    assert (info.id, info.name) == ("openai/org/custom-model", "org/custom-model")


# -- the other public functions ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda a: a.search(None), TypeError, "query must be a str like 'claude sonnet', not NoneType"),
        (lambda a: a.search("gpt", limit="3"), TypeError, "limit must be an int, not str"),
        (lambda a: a.list(capability="vision"), ValueError, "'vision' is not a capability; use one of text_input, "),
        (lambda a: a.list(capabilities="vision"), TypeError, "capabilities must be a list, not one string"),
        (lambda a: a.list(status="bogus"), ValueError, "status must be one of active, deprecated, retired or None"),
        (lambda a: a.list(provider=3), TypeError, "provider must be a str like 'openai', not int"),
        (lambda a: a.list(max_input_price="abc"), ValueError, "max_input_price must be a number of USD, not 'abc'"),
        (lambda a: a.list(max_input_price=[1]), TypeError, "max_input_price must be a number of USD, not list"),
        (lambda a: a.list(max_input_price=-1), ValueError, "max_input_price must be a finite number >= 0"),
        (lambda a: a.cheapest(capabilities=["vision"]), ValueError, "'vision' is not a capability"),
        (lambda a: a.cheapest(min_context="1M"), TypeError, "min_context must be an int, not str"),
        (lambda a: a.router(capabilities=["vision"]), ValueError, "'vision' is not a capability"),
        (lambda a: a.serve_metrics("abc"), TypeError, "port must be an int, not str"),
        (lambda a: a.serve_metrics(70000), ValueError, "port must be from 0 to 65535"),
        (lambda a: a.serve_metrics(0, addr=None), TypeError, "addr must be a str like '127.0.0.1', not NoneType"),
        (lambda a: a.configure("openai", api_key=123), TypeError, "api_key must be a str, not int"),
        (lambda a: a.configure("openai", api_key=" "), ValueError, "api_key is empty"),
        (lambda a: a.configure("openai", base_url=b"http://x"), TypeError, "base_url must be a str, not bytes"),
        (lambda a: a.configure(None, api_key="k"), TypeError, "provider must be a str"),
        (lambda a: a.budget(usd="one dollar"), ValueError, "usd must be a number of USD, not 'one dollar'"),
        (lambda a: a.budget(usd=True), TypeError, "usd must be a number of USD, not bool"),
        (lambda a: a.budget(usd=None), TypeError, "usd must be a number of USD, not NoneType"),
        (lambda a: a.set_budget([1]), TypeError, "usd must be a number of USD, not list"),
        (lambda a: a.budget(usd="1e999999"), ValueError, "a budget must be a finite amount of USD from 0 to 1e18"),
        (lambda a: a.cost("gpt-4o", input_tokens="5"), TypeError, "input_tokens must be an int, not str"),
        (lambda a: a.cost("gpt-4o", output_tokens=1.0), TypeError, "output_tokens must be an int, not float"),
        (lambda a: a.cost("gpt-4o", input_tokens=10**400), ValueError, "input_tokens must be a whole number from 0"),
    ],
)
def test_public_functions_reject_bad_arguments_clearly(
    api: ModelsAPI, call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        call(api)
    assert type(caught.value) is error and str(caught.value).startswith(message)


def test_a_key_of_the_wrong_type_is_not_shown(api: ModelsAPI) -> None:
    with pytest.raises(TypeError) as caught:
        api.configure("openai", api_key=12345678901234)  # type: ignore[arg-type]
    assert "12345678901234" not in str(caught.value)


def test_numbers_and_exact_strings_still_work(api: ModelsAPI) -> None:
    assert api.budget(usd="0.10").limit == 0.1 and api.budget(usd=1).limit == 1.0
    assert api.budget(usd=10**18).limit == 1e18
    assert [m.id for m in api.list(capability="IMAGE_INPUT", max_input_price="0.1")] == [
        m.id for m in api.list(capability="image_input", max_input_price=0.1)
    ]
    assert api.list(status=None) and api.search("gpt 4o", limit=1)[0].id == "openai/gpt-4o"
    assert api.cost("gpt-4o", input_tokens=2**63 - 1) == (2**63 - 1) * 2.5 / 1e6


# -- fuzzing the whole public call -----------------------------------------------------------
_MODELS_DIR = Path(models.__file__).resolve().parent
_parts = st.lists(
    st.fixed_dictionaries({"type": st.sampled_from(["text", "image_url", "input_audio", "file", "x"])})
    | st.dictionaries(st.sampled_from(["type", "text", "image_url"]), _json, max_size=3)
    | _json,
    max_size=3,
)
_prompts = (
    st.text(max_size=30)
    | _messages
    | _json
    | st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "system", "assistant"]), "content": _parts}))
)
# Deeply nested values are made in the test from (depth, place): hypothesis could not print them.
_DEEP_PLACES = {
    "prompt": lambda deep: deep,
    "message": lambda deep: [deep],
    "role": lambda deep: [{"role": deep, "content": "hi"}],
    "content": lambda deep: [{"role": "user", "content": [deep]}],
    "part": lambda deep: [{"role": "user", "content": [{"type": "image_url", "image_url": deep}]}],
    "text": lambda deep: [{"role": "user", "content": [{"type": "text", "text": deep}]}],
}
_NEAR_MISSES = "temperature temprature max_tokens max_token top_p topp stop seed timeout max_retries stream messages"
_keyword_names = st.sampled_from(
    [*_NEAR_MISSES.split(" "), "extra_body", "reasoning_effort", "fallbacks", "system", ""]
) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True).filter(lambda n: n not in ("model", "prompt"))
_model_ids = (
    st.just("mock/echo")
    | st.text(max_size=20)
    | st.from_regex(r"(mock|openai|claude|gemini|ft)[:/]{1,2}[a-z0-9.:/ -]{0,12}", fullmatch=True)
    | st.lists(st.just("mock/echo"), max_size=2)
    | st.none()
    | st.integers()
)


def _call(form: str, model: Any, prompt: Any, params: dict[str, Any]) -> None:
    if form == "call":
        _api(model, prompt, **params)
    elif form == "bind":
        _api.bind(model, **params)(prompt)
    elif form == "bound":
        _api.bind(model)(prompt, **params)
    elif form == "stream":
        "".join(_api.stream(model, prompt, **params))
    else:
        asyncio.run(_api.acall(model, prompt, **params))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    form=st.sampled_from(["call", "bind", "bound", "stream", "acall"]),
    model=_model_ids,
    prompt=_prompts,
    params=st.dictionaries(_keyword_names, _json, max_size=3),
    deep=st.none() | st.tuples(st.integers(30, 3000), st.sampled_from([*_DEEP_PLACES, "param"])),
)
def test_fuzzed_public_calls_raise_only_our_errors(
    form: str, model: Any, prompt: Any, params: Any, deep: tuple[int, str] | None
) -> None:
    """Whatever goes in, what comes out is a `ModelsError`, or a `TypeError`/`ValueError` that our
    own checks raise on purpose (a `raise` statement in `models/`): never an exception from inside
    the standard library or an SDK, nor a builtin operation failing on bad input ("unhashable
    type", "sequence item 0"). And nothing stays in flight."""
    if deep is not None:
        depth, place = deep
        nested = _nested(depth, {"type": "text", "text": "x"})
        if place == "param":
            params = {**params, "stop": nested}
        else:
            prompt = _DEEP_PLACES[place](nested)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _call(form, model, prompt, params)
        except ModelsError:
            pass
        except (TypeError, ValueError) as exc:
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            ours = Path(frame.filename).resolve().is_relative_to(_MODELS_DIR)
            assert ours and (frame.line or "").startswith("raise "), f"{frame}: {type(exc).__name__}: {exc}"
    for metric in _api._service.metrics().models():
        assert metric.in_flight == 0
