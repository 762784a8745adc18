"""`serve` (what `models serve` runs): settings from options and the environment, uvicorn workers in
their own processes, the first line it prints; `GatewaySettings.from_env`'s checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from models._gateway.settings import DEFAULT_MAX_BODY, GatewaySettings
from models.errors import ConfigurationError

from .conftest import KEYS
from .fake_llm import FakeLLM
from .gateway_server import GatewayProcess

pytest.importorskip("uvicorn")


def test_settings_from_env() -> None:
    env = {
        "MODELS_GATEWAY_KEYS_FILE": "/etc/keys.json",
        "MODELS_GATEWAY_KEYS": "[]",
        "MODELS_REDIS_URL": "redis://127.0.0.1:6379/0",
        "MODELS_GATEWAY_MAX_BODY": "1000",
        "MODELS_GATEWAY_RECENT_CALLS": " 50 ",
    }
    settings = GatewaySettings.from_env(env)
    assert settings == GatewaySettings("/etc/keys.json", "[]", "redis://127.0.0.1:6379/0", 1000, 50)
    assert GatewaySettings.from_env(settings.to_env()) == settings
    assert GatewaySettings.from_env({}) == GatewaySettings(None, None, None, DEFAULT_MAX_BODY, 200)
    assert GatewaySettings().to_env() == {
        "MODELS_GATEWAY_MAX_BODY": str(DEFAULT_MAX_BODY),
        "MODELS_GATEWAY_RECENT_CALLS": "200",
    }


@pytest.mark.parametrize("value", ["ten", "0", "-5", "1.5"])
def test_settings_bad_number(value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        GatewaySettings.from_env({"MODELS_GATEWAY_MAX_BODY": value})
    assert str(raised.value) == f"MODELS_GATEWAY_MAX_BODY={value!r}: give a whole number greater than 0."


@pytest.fixture(scope="module")
def served(fake_server: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    log = tmp_path_factory.mktemp("serve") / "gateway.log"
    with GatewayProcess(
        fake_server, workers=2, env={"MODELS_GATEWAY_MAX_BODY": "2000", "MODELS_GATEWAY_NO_AUTH": "1"}, log=log
    ) as gateway:
        yield gateway


def test_two_workers_answer(served: GatewayProcess, fake: FakeLLM) -> None:
    client = served.client()
    answers = {
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"n{i}"}])
        .choices[0]
        .message.content
        for i in range(6)
    }
    assert answers == {f"echo: n{i}" for i in range(6)}
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {KEYS['openai']}"}  # from the env


def test_settings_reach_the_workers(served: GatewayProcess, fake: FakeLLM) -> None:
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 2000}]}
    answer = httpx.post(served.base_url + "/chat/completions", json=body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "request_too_large")
    assert "limit of 2000 bytes" in answer.json()["error"]["message"]


def test_metrics_answer(served: GatewayProcess) -> None:
    answer = httpx.get(served.url + "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")


def test_first_line_and_no_secrets_in_the_log(served: GatewayProcess) -> None:
    assert served.log is not None
    text = Path(served.log).read_text()
    assert text.splitlines()[0] == f"models gateway: {served.base_url} (2 workers); keys: anonymous"
    assert not [name for name, secret in KEYS.items() if secret in text]
