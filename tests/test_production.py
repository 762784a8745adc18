"""Production behaviour: bounded label cardinality, multiprocess metrics, hooks, budgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from models import ModelsAPI

from .conftest import sample
from .fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parent.parent


def test_unknown_model_ids_get_labels_up_to_the_cap_then_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"mock/a": {"input": 1, "output": 1}}')
    api = ModelsAPI(registry=CollectorRegistry(), max_model_labels=2)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unpriced mock ids
        for name in ("a", "b", "c", "d", "a", "c"):
            api(f"mock/{name}", "x y")
    assert sample(api, "models_requests_total", provider="mock", model="mock/a", status="ok") == 2
    assert sample(api, "models_requests_total", provider="mock", model="mock/b", status="ok") == 1
    assert sample(api, "models_requests_total", provider="mock", model="other", status="ok") == 3  # c, d, c
    assert sample(api, "models_requests_total", provider="mock", model="mock/c", status="ok") is None
    # usage totals keep the real ids: they are not a time series
    assert sorted(api.usage()) == ["mock/a", "mock/b", "mock/c", "mock/d"]
    # catalog models are never capped
    assert api._service._model_label(api.resolve("gpt-4o")) == "openai/gpt-4o"


WORKER = """
import os, sys
sys.path.insert(0, {root!r})
from models import models
for _ in range({calls}):
    models("mock/echo", "a b c")
"""


def test_multiprocess_mode_aggregates_worker_processes(tmp_path: Path) -> None:
    from prometheus_client import multiprocess

    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "MODELS_COST_MOCK_ECHO_INPUT": "1.5",
        "MODELS_COST_MOCK_ECHO_OUTPUT": "2",
    }
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER.format(root=str(ROOT), calls=calls)], env=env)
        for calls in (5, 7, 11)
    ]
    assert [w.wait(60) for w in workers] == [0, 0, 0]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(tmp_path))
    labels = {"provider": "mock", "model": "mock/echo"}
    assert registry.get_sample_value("models_requests_total", {**labels, "status": "ok"}) == 23
    assert registry.get_sample_value("models_tokens_total", {**labels, "type": "input"}) == 69
    assert registry.get_sample_value("models_cost_usd_total", labels) == pytest.approx(23 * 10.5e-6, rel=1e-12)
    assert registry.get_sample_value("models_request_duration_seconds_count", labels) == 23


# -- hooks -----------------------------------------------------------------------------


def test_hooks_receive_an_immutable_event_after_every_call(
    wired: ModelsAPI, fake: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    from models import CallEvent, RateLimitError

    from .fake_llm import Fault

    seen: list[CallEvent] = []

    @wired.on_response
    def audit(event: CallEvent) -> None:
        seen.append(event)

    def broken(event: CallEvent) -> None:
        raise RuntimeError("a sink is down")

    wired.on_response(broken)
    wired.on_error(seen.append)
    r = wired("gpt-4o", "hi")
    "".join(wired.stream("gpt-4o", "hi"))
    fake.enqueue(Fault.rate_limit(retry_after="0"))
    with pytest.raises(RateLimitError):
        wired("gpt-4o", "hi", max_retries=0)
    assert [e.error_kind for e in seen] == [None, None, "rate_limit"]
    ok, _, failed = seen
    assert (ok.model, ok.provider, ok.usage, ok.cost) == ("openai/gpt-4o", "openai", r.usage, r.usage.cost)
    assert ok.latency > 0 and ok.error is None
    assert (failed.usage, failed.cost) == (None, None) and isinstance(failed.error, RateLimitError)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ok.cost = 0  # type: ignore[misc]
    failures = [r for r in caplog.records if r.name == "models" and "failed on openai/gpt-4o" in r.getMessage()]
    assert len(failures) == 2  # logged, with the traceback, and the calls went on
    wired.remove_hook(audit)
    wired("gpt-4o", "hi")
    assert len(seen) == 3


# -- budgets ---------------------------------------------------------------------------


@pytest.fixture
def echo_priced(monkeypatch: pytest.MonkeyPatch) -> None:
    # $1 per 1M tokens each way: a call of n words costs 2n micro-dollars
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "1")


def test_budget_refuses_the_call_that_would_exceed_it_and_counts_exactly(api: ModelsAPI, echo_priced: None) -> None:
    from models import BudgetExceededError

    # "one two" may bill at most 7 bytes + 3 x 8 framing = 31 input tokens: reserves 31 + max_tokens
    with api.budget(usd="0.00004") as b:  # 40 micro-dollars
        api("mock/echo", "one two", max_tokens=2)  # reserves 33; actual 2 + 2 = 4 micro-dollars
        api("mock/echo", "one two", max_tokens=2)
        assert b.spent == 8e-06
        with pytest.raises(BudgetExceededError) as caught:
            api("mock/echo", "one two", max_tokens=5)  # reserves 36 > the 32 left
        error = caught.value
        assert (error.limit, error.spent, error.remaining, error.estimate) == (4e-05, 8e-06, 3.2e-05, 3.6e-05)
    assert b.spent == 8e-06 and b.remaining == 3.2e-05
    assert api.usage()["mock/echo"].requests == 2  # the refused call was never made


def test_budgets_nest_and_the_instance_budget_applies_everywhere(api: ModelsAPI, echo_priced: None) -> None:
    from models import BudgetExceededError

    api.set_budget(1.0)
    with api.budget(usd=1.0) as outer:
        with api.budget(usd=0.00003) as inner:
            api("mock/echo", "a", max_tokens=1)  # reserves 25 + 1; costs 2 micro-dollars
            with pytest.raises(BudgetExceededError):
                api("mock/echo", "a b c d", max_tokens=10)  # reserves 31 + 10 > the 28 left
        api("mock/echo", "a b c d", max_tokens=10)  # fine outside the inner block
    assert (inner.spent, outer.spent) == (2e-06, 10e-06)
    assert api._service.budget is not None and api._service.budget.spent == 10e-06
    api.set_budget(0)
    with pytest.raises(BudgetExceededError):
        api("mock/echo", "a", max_tokens=1)
    api.set_budget(None)
    api("mock/echo", "a")


def test_budget_follows_async_tasks_and_holds_under_concurrency(api: ModelsAPI, echo_priced: None) -> None:
    import asyncio

    from models import BudgetExceededError

    async def main() -> tuple[int, int, float]:
        # each reserves 33 micro-dollars and costs 4: admitted while at most 67 are spent, so 17
        with api.budget(usd="0.0001") as b:
            results = await asyncio.gather(
                *(api.acall("mock/echo", "one two", max_tokens=2) for _ in range(40)), return_exceptions=True
            )
        ok = sum(not isinstance(r, BaseException) for r in results)
        refused = sum(isinstance(r, BudgetExceededError) for r in results)
        return ok, refused, b.spent

    ok, refused, spent = asyncio.run(main())
    assert (ok, refused) == (17, 23) and spent == 0.000068


def test_a_failed_call_spends_nothing(wired: ModelsAPI, fake: FakeLLM) -> None:
    from models import ServerError

    from .fake_llm import Fault

    with wired.budget(usd=1) as b:
        fake.enqueue(Fault.server())
        with pytest.raises(ServerError):
            wired("gpt-4o", "hi", max_retries=0)
        assert b.spent == 0 and b.remaining == 1.0
        "".join(wired.stream("gpt-4o", "hi"))
    assert b.spent == wired.cost("gpt-4o", 10, 5)
