"""End to end: a real Prometheus server scrapes `serve_metrics` and its query API returns exact totals.

Needs the `prometheus` binary (Debian: `apt-get install prometheus`); skipped when it is not on PATH.
Everything stays on 127.0.0.1: Prometheus scrapes only our exposition server, with no alerting or remote
write configured.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models import ModelsAPI

MOCK = {"provider": "mock", "model": "mock/echo"}
CALLS = 7
PER_CALL_COST = (3 * 1.5 + 3 * 2) / 1e6  # "a b c": 3 tokens in, 3 out, at $1.5 / $2 per 1M tokens
DEADLINE = 30.0  # seconds, for readiness and again for the query polling; a pass takes a few seconds

# Direct connections only: a proxy from the environment must not sit between us and 127.0.0.1.
_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


@pytest.fixture
def prometheus_bin() -> str:
    found = shutil.which("prometheus")
    if found is None:
        pytest.skip("prometheus binary not found on PATH; install it (Debian: `apt-get install prometheus`)")
    return found


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_INPUT", "1.5")
    monkeypatch.setenv("MODELS_COST_MOCK_ECHO_OUTPUT", "2")


@pytest.fixture
def metrics_port(api: ModelsAPI, priced: None) -> Iterator[int]:
    """The library's own exposition server for `api`'s registry, closed on teardown."""
    server, _thread = api.serve_metrics(0, addr="127.0.0.1")
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def prometheus(prometheus_bin: str, metrics_port: int, tmp_path: Path) -> Iterator[str]:
    """A Prometheus subprocess scraping `metrics_port` every second; yields its base URL once ready."""
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: models\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n"
    )
    log = tmp_path / "prometheus.log"
    base = f"http://127.0.0.1:{_free_port()}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                prometheus_bin,
                f"--config.file={config}",
                f"--web.listen-address={base.removeprefix('http://')}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            if proc.poll() is not None:
                pytest.fail(f"prometheus exited with {proc.returncode} before ready:\n{_log_tail(log)}")
            try:
                with _http.open(f"{base}/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"prometheus not ready after {DEADLINE:.0f}s:\n{_log_tail(log)}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _query(base: str, promql: str) -> list[dict[str, Any]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with _http.open(url, timeout=2) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _selector(name: str, **labels: str) -> str:
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in {**MOCK, **labels}.items()) + "}"


def test_real_prometheus_scrapes_exact_totals(api: ModelsAPI, prometheus: str) -> None:
    echo = api.bind("mock/echo")
    for _ in range(CALLS):
        assert echo("a b c").usage.cost == PER_CALL_COST

    queries = {
        "requests": _selector("models_requests_total", status="ok"),
        "cost": _selector("models_cost_usd_total"),
        "input_tokens": _selector("models_tokens_total", type="input"),
    }
    expected = {"requests": CALLS, "cost": CALLS * PER_CALL_COST, "input_tokens": 3 * CALLS}
    seen: dict[str, Any] = {}
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            for key, promql in queries.items():
                result = _query(prometheus, promql)
                # one series each, its value a [timestamp, "float as string"] pair
                seen[key] = float(result[0]["value"][1]) if len(result) == 1 else result
        except (urllib.error.URLError, OSError) as e:
            seen["error"] = repr(e)
        else:
            seen.pop("error", None)
            if (
                seen["requests"] == expected["requests"]
                and seen["input_tokens"] == expected["input_tokens"]
                and isinstance(seen["cost"], float)
                and abs(seen["cost"] - expected["cost"]) <= 1e-12
            ):
                break
        if time.monotonic() > deadline:
            try:
                targets = json.dumps(_query(prometheus, 'up{job="models"}'))
            except (urllib.error.URLError, OSError) as e:
                targets = repr(e)
            pytest.fail(
                f"Prometheus did not report the expected totals within {DEADLINE:.0f}s.\n"
                f"expected: {expected}\nlast seen: {seen}\nup: {targets}"
            )
        time.sleep(0.25)
