"""Bad input fails early and clearly: before any request, as a `ModelsError` (or `TypeError`
for a wrong Python type), never a traceback from inside an SDK."""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from models import InvalidRequestError, ModelsAPI, ModelsError

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
