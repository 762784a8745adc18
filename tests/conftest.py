"""Shared fixtures: a clean environment, a fresh `ModelsAPI` on its own registry, the wire fake."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from prometheus_client import CollectorRegistry

from models import ModelsAPI

if TYPE_CHECKING:
    from .fake_llm import FakeLLM

KEYS = {
    "openai": "sk-test-OPENAI-SECRET-123456",
    "anthropic": "sk-ant-test-ANTHROPIC-SECRET-1234",
    "google": "AIzaTEST-GOOGLE-SECRET-0123456789abcdef",
}
# One current model per SDK provider, as the tests that run every provider call them.
MODELS = {"openai": "openai/gpt-4o", "anthropic": "anthropic/claude-sonnet-4-6", "google": "google/gemini-2.5-flash"}
PROVIDERS = sorted(MODELS)
_ENV_PREFIXES = (
    "MODELS_COST",
    "MODELS_CATALOG",
    "MODELS_LOG",
    "MODELS_OTEL",
    "MODELS_GATEWAY",
    "MODELS_REDIS",
    "OTEL_",
    "OPENAI_",
    "ANTHROPIC_",
    "GEMINI_",
    "GOOGLE_",
    "AWS_",
    "BEDROCK_",
)
# Dummy AWS credentials for Bedrock against the fake: a session token too, which goes on the wire.
AWS = {
    "AWS_ACCESS_KEY_ID": "AKIDTESTBEDROCK0001",
    "AWS_SECRET_ACCESS_KEY": "bedrockSECRETkey0123456789abcdefABCDEF",
    "AWS_SESSION_TOKEN": "bedrockSESSIONtoken0123456789abcdef",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's keys, base URLs or cost overrides."""
    for name in list(os.environ):
        if name.startswith(_ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeLLM]:
    from .fake_llm import FakeLLM

    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeLLM) -> FakeLLM:
    fake_server.reset()
    return fake_server


@pytest.fixture
def api() -> ModelsAPI:
    """A private instance: its own metrics registry, near-zero back-off so retries are quick."""
    return ModelsAPI(registry=CollectorRegistry(), retry_initial_delay=0.001, retry_max_delay=0.002)


@pytest.fixture
def wired(api: ModelsAPI, fake: FakeLLM) -> ModelsAPI:
    """`api` pointed at the wire fake for all three providers, with dummy keys."""
    api.configure("openai", api_key=KEYS["openai"], base_url=fake.openai_base_url)
    api.configure("anthropic", api_key=KEYS["anthropic"], base_url=fake.anthropic_base_url)
    api.configure("google", api_key=KEYS["google"], base_url=fake.google_base_url)
    return api


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """An AWS environment with nothing in it: no profile files, no instance metadata (which boto3's
    credential chain would otherwise try, for seconds, on a machine that has none)."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def bedrock(api: ModelsAPI, fake: FakeLLM, aws: None, monkeypatch: pytest.MonkeyPatch) -> ModelsAPI:
    """`api` with dummy AWS credentials and Bedrock's endpoint at the wire fake."""
    for name, value in AWS.items():
        monkeypatch.setenv(name, value)
    api.configure("bedrock", base_url=fake.url)
    return api


def sample(api: ModelsAPI, name: str, **labels: str) -> float | None:
    """One metric sample of `api`'s registry (None when absent)."""
    value: Any = api.registry.get_sample_value(name, labels)
    return value  # type: ignore[no-any-return]
