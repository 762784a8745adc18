"""Bindings, usage totals, track(), and the metric samples a call leaves, on the offline provider."""

from __future__ import annotations

import pickle
import threading
import urllib.request
from typing import Any

import pytest

from models import InvalidRequestError, ModelBinding, ModelNotFoundError, ModelsAPI, models
from models.providers import Provider

from .conftest import sample

MOCK = {"provider": "mock", "model": "mock/echo"}


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1.5")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")


def test_mock_echoes_with_deterministic_usage_and_cost(api: ModelsAPI, priced: None) -> None:
    r = api("mock:echo", "say these four words", system="be brief")
    assert str(r) == r.text == "say these four words"
    assert (r.model, r.provider, r.finish_reason) == ("mock/echo", "mock", "stop")
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.total_tokens) == (6, 4, 10)
    assert r.usage.cost == (6 * 1.5 + 4 * 2) / 1e6
    assert r.latency > 0


def test_message_list_and_max_tokens(api: ModelsAPI, priced: None) -> None:
    r = api("mock/echo", [{"role": "system", "content": "x"}, {"role": "user", "content": "a b c d"}], max_tokens=2)
    assert (r.text, r.finish_reason, r.usage.input_tokens, r.usage.output_tokens) == ("a b", "length", 5, 2)


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "The prompt is empty"),
        ("   ", "The prompt is empty"),
        ([], "no user or assistant message"),
        ([{"role": "robot", "content": "hi"}], "role 'robot'; use one of system, user, assistant"),
        ([{"content": "hi"}], "must be a dict with 'role' and 'content'"),
        ([{"role": "user", "content": 3}], "must be a str or a list of parts"),
    ],
)
def test_bad_prompts_fail_before_any_request(api: ModelsAPI, prompt: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        api("mock/echo", prompt)


def test_prompt_of_wrong_type_is_a_type_error(api: ModelsAPI) -> None:
    with pytest.raises(TypeError, match="prompt must be a str or a list"):
        api("mock/echo", 42)  # type: ignore[arg-type]


def test_binding_is_immutable_with_a_safe_repr(api: ModelsAPI) -> None:
    api.register_provider("custom", Provider)  # declares no keywords, so it takes any
    b = api.bind("custom/x", temperature=0.5, max_tokens=3, api_key="sk-live-abcdefgh", extra_headers={"a": "b"})
    assert repr(b) == "ModelBinding('custom/x', api_key=***, extra_headers=***, temperature=0.5, max_tokens=3)"
    with pytest.raises(AttributeError, match="immutable"):
        b.model = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del b._params


def test_binding_fails_at_bind_time_for_unknown_model(api: ModelsAPI) -> None:
    with pytest.raises(ModelNotFoundError):
        api.bind("gtp-4o-typo")


def test_call_time_values_win_over_bound_ones(api: ModelsAPI, priced: None) -> None:
    b = api.bind("mock/echo", max_tokens=1, system="one two")
    assert b("a b c").text == "a"
    assert b("a b c", max_tokens=2).text == "a b"
    assert b("a b c").usage.input_tokens == 5  # bound system counted
    assert b("a b c", system="x").usage.input_tokens == 4


def test_binding_keeps_its_provider_without_registry_lookups(api: ModelsAPI) -> None:
    b = api.bind("mock/echo")
    held = b._target.provider
    api._service.models._providers.clear()  # a lookup now would build a new instance
    b("hi")
    assert b._target.provider is held
    assert "mock" not in api._service.models._providers


def test_binding_survives_pickle_and_reresolves() -> None:
    b = models.bind("mock/echo", max_tokens=2, system="s")
    restored = pickle.loads(pickle.dumps(b))
    assert isinstance(restored, ModelBinding)
    assert repr(restored) == repr(b) == "ModelBinding('mock/echo', system='s', max_tokens=2)"
    assert restored("a b c").text == "a b"


def test_usage_track_and_reset(api: ModelsAPI, priced: None) -> None:
    api("mock/echo", "a b")
    with api.track() as outer:
        api("mock/echo", "a b c")
        with api.track() as inner:
            api("mock/echo", "a")
            with pytest.raises(InvalidRequestError):
                api("mock/echo", "")
    api("mock/echo", "a")
    assert (inner.requests, inner.input_tokens, inner.output_tokens, inner.cost) == (1, 1, 1, 3.5e-06)
    assert (outer.requests, outer.input_tokens, outer.cost) == (2, 4, 14e-06)
    totals = api.usage()["mock/echo"]
    # the empty prompt was refused before sending: an error, as the provider's 400 would have been
    assert (totals.requests, totals.errors, totals.input_tokens, totals.output_tokens) == (4, 1, 7, 7)
    assert totals.cost == 24.5e-06
    api.reset_usage()
    assert api.usage() == {}
    api("mock/echo", "a")
    assert api.usage()["mock/echo"].requests == 1


def test_metric_samples_after_calls(api: ModelsAPI, priced: None) -> None:
    echo = api.bind("mock/echo")
    for _ in range(3):
        echo("a b c")
    assert sample(api, "models_requests_total", status="ok", **MOCK) == 3
    assert sample(api, "models_tokens_total", type="input", **MOCK) == 9
    assert sample(api, "models_tokens_total", type="output", **MOCK) == 9
    assert sample(api, "models_tokens_total", type="cached_input", **MOCK) == 0
    assert sample(api, "models_cost_usd_total", **MOCK) == pytest.approx(3 * (3 * 1.5 + 3 * 2) / 1e6, rel=1e-12)
    assert sample(api, "models_request_duration_seconds_count", **MOCK) == 3
    assert sample(api, "models_in_flight_requests", **MOCK) == 0
    # every family exists from the first call on; plain calls observe no time-to-first-token
    assert sample(api, "models_time_to_first_token_seconds_count", **MOCK) == 0
    names = {m.name for m in api.registry.collect()}
    assert {
        "models_requests",
        "models_tokens",
        "models_cost_usd",
        "models_request_duration_seconds",
        "models_time_to_first_token_seconds",
        "models_in_flight_requests",
        "models_retries",
    } <= names


def test_two_instances_on_one_registry_share_families() -> None:
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    first, second = ModelsAPI(registry=registry), ModelsAPI(registry=registry)
    with pytest.warns(UserWarning):
        first("mock/echo", "a")
    with pytest.warns(UserWarning):
        second("mock/echo", "a")
    assert registry.get_sample_value("models_requests_total", {**MOCK, "status": "ok"}) == 2


def test_serve_metrics_exposes_the_registry(api: ModelsAPI, priced: None) -> None:
    api("mock/echo", "a b")
    server, _thread = api.serve_metrics(0)
    try:
        port = server.server_address[1]
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'models_requests_total{model="mock/echo",provider="mock",status="ok"} 1.0' in body
    assert 'models_tokens_total{model="mock/echo",provider="mock",type="input"} 2.0' in body


def test_concurrent_calls_keep_exact_totals(api: ModelsAPI, priced: None) -> None:
    echo = api.bind("mock/echo")

    def work() -> None:
        for _ in range(250):
            echo("a b c d")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    totals = api.usage()["mock/echo"]
    assert (totals.requests, totals.input_tokens) == (2000, 8000)
    assert totals.cost == 2000 * (4 * 1.5 + 4 * 2) / 1e6
    assert sample(api, "models_requests_total", status="ok", **MOCK) == 2000


def test_the_cost_counter_is_the_exact_sum(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "100000")  # one input token: $0.10 a call
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "0")
    costs = [api("mock/echo", "hi").usage.cost for _ in range(10)]
    assert costs == [0.1] * 10 and sum(costs) == 0.9999999999999999  # what float counters would show
    assert sample(api, "models_cost_usd_total", provider="mock", model="mock/echo") == 1.0
    assert api.usage()["mock/echo"].cost == 1.0
