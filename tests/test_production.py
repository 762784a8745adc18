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
