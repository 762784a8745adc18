"""Many threads, forked and spawned processes, and long runs: totals stay exact, nothing
deadlocks, no provider is built twice, and memory stays flat."""

from __future__ import annotations

import multiprocessing
import os
import threading
import tracemalloc
import warnings
from collections import Counter
from typing import Any

import pytest

from models import Completion, ModelBinding, ModelsAPI, models
from models.providers import Provider, Request

from .conftest import MODELS, PROVIDERS, sample
from .fake_llm import FakeLLM, Reply

THREADS = 32
CALLS = 12
SDK_MODELS = [MODELS[p] for p in PROVIDERS]


class Counted(Provider):
    built = 0

    def __init__(self, *args: Any) -> None:
        Counted.built += 1
        super().__init__(*args)

    def complete(self, request: Request) -> Completion:
        return Completion("ok", input_tokens=2, output_tokens=1, finish_reason="stop")


def test_stress_32_threads_mixing_everything(wired: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"counted/x": {"input": 1, "output": 1}}')
    fake.set_reply(Reply(input_tokens=7, output_tokens=3))
    Counted.built = 0
    wired.register_provider("counted", Counted)
    bindings = {m: wired.bind(m) for m in SDK_MODELS}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 2)

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(CALLS):
                model = SDK_MODELS[(n + i) % 3]
                if i % 3 == 0:
                    assert bindings[model]("hi").text == "echo: hi"
                elif i % 3 == 1:
                    assert "".join(wired.stream(model, "hi")) == "echo: hi"
                else:
                    assert wired(model, "hi").usage.input_tokens == 7
                assert wired("counted/x", "hi").text == "ok"
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def churn() -> None:  # registry and price changes while calls run
        start.wait()
        for _ in range(CALLS * 4):
            wired.register_provider("swap", Counted)
            wired.reload_costs()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    threads += [threading.Thread(target=churn), threading.Thread(target=churn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "deadlock: threads still running"
    assert errors == []
    assert Counted.built == 1  # "counted" built once; "swap" was registered but never used
    per_model = Counter(SDK_MODELS[(n + i) % 3] for n in range(THREADS) for i in range(CALLS))
    usage = wired.usage()
    for model, calls in per_model.items():
        provider = model.split("/")[0]
        assert sample(wired, "models_requests_total", provider=provider, model=model, status="ok") == calls
        assert sample(wired, "models_tokens_total", provider=provider, model=model, type="input") == 7 * calls
        assert sample(wired, "models_in_flight_requests", provider=provider, model=model) == 0
        assert usage[model].requests == calls and usage[model].input_tokens == 7 * calls
    assert usage["counted/x"].requests == THREADS * CALLS
    assert usage["counted/x"].cost == THREADS * CALLS * 3e-06
    assert len(fake.requests) == THREADS * CALLS


def _call_binding(binding: ModelBinding) -> str:
    return binding(f"from {os.getpid()}").text


_INHERITED: list[ModelBinding] = []  # a fork child sees the parent's binding itself, not a pickled copy


def _call_inherited(_: int) -> str:
    return _call_binding(_INHERITED[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_pool_uses_bindings_made_in_the_parent(wired: ModelsAPI, fake: FakeLLM) -> None:
    gpt = wired.bind("gpt-4o")
    parent_text = gpt("from the parent").text  # the parent's SDK client exists now
    _INHERITED[:] = [gpt]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (the fake) running
            with multiprocessing.get_context("fork").Pool(2) as pool:
                texts = pool.map(_call_inherited, range(6), chunksize=1)
    finally:
        _INHERITED.clear()
    assert parent_text == "echo: from the parent"
    pids = {t.removeprefix("echo: from ") for t in texts}
    assert len(texts) == 6 and str(os.getpid()) not in pids
    assert len(fake.requests) == 7
    assert gpt("parent again").text == "echo: parent again"  # the parent's client still works


def test_bindings_pickle_into_spawned_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "1")
    echo = models.bind("mock/echo", max_tokens=1)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        texts = pool.map(_call_binding, [echo] * 4)
    assert texts == ["from"] * 4  # max_tokens=1 travelled with the binding: "from <pid>" -> "from"


def test_usage_memory_stays_flat_over_100k_calls(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "1")
    echo = api.bind("mock/echo")
    for _ in range(1_000):
        echo("a b")
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(100_000):
        echo("a b")
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    growth = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert growth < 64 * 1024, f"grew {growth} bytes over 100k calls"
    assert api.usage()["mock/echo"].requests == 101_000
