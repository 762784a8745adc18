"""The OpenAI-compatible presets (SPEC §11) as the tests call them: each pointed at the wire fake under
its service's own path prefix through `<NAME>_BASE_URL`, with a key of its own in its own variable.

The model per preset is a current, popular one (from each service's model list, December 2026); the
stream-usage style is how that service reports a stream's usage (`Reply.stream_usage`).
"""

from __future__ import annotations

import os

import pytest

from models.providers._registry import PRESETS

from .fake_llm import FakeLLM

NAMES = sorted(PRESETS)
HOSTED = [name for name in NAMES if not PRESETS[name].local]
LOCAL = [name for name in NAMES if PRESETS[name].local]

# The path each service serves Chat Completions under, before /chat/completions.
PATHS = {
    "ollama": "/v1",
    "vllm": "/v1",
    "openrouter": "/api/v1",
    "groq": "/openai/v1",
    "together": "/v1",
    "deepseek": "",
    "xai": "/v1",
    "mistral": "/v1",
    "fireworks": "/inference/v1",
    "cerebras": "/v1",
}
MODELS = {
    "ollama": "llama3.2",
    "vllm": "Qwen/Qwen3-8B",
    "openrouter": "anthropic/claude-sonnet-4.6",
    "groq": "llama-3.3-70b-versatile",
    "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
    "deepseek": "deepseek-v4-flash",
    "xai": "grok-4.5",
    "mistral": "mistral-large-latest",
    "fireworks": "accounts/fireworks/models/gpt-oss-120b",
    "cerebras": "gpt-oss-120b",
}
KEY_ENV = {name: PRESETS[name].key_env for name in NAMES}
KEYS = {name: f"{name}-SECRET-KEY-{n:04d}" for n, name in enumerate(NAMES) if KEY_ENV[name]}
STREAM_USAGE = {"mistral": "last", "fireworks": "always", "openrouter": "always", "together": "always"}
# Variables of the presets (and of services' other conventions) the developer's environment may hold.
_VARIABLES = {"TOGETHERAI_API_KEY", "OLLAMA_API_KEY", "OLLAMA_HOST", "MINE_KEY", "MINE_BASE_URL"} | {
    f"{name.upper()}_{what}" for name in NAMES for what in ("API_KEY", "BASE_URL")
}


def model(name: str) -> str:
    """The canonical id of the preset's model."""
    return f"{name}/{MODELS[name]}"


def path(name: str) -> str:
    """The path a request of the preset arrives at."""
    return PATHS[name] + "/chat/completions"


def wire(monkeypatch: pytest.MonkeyPatch, fake: FakeLLM, keys: bool = True) -> None:
    """Every preset on the fake at its path, with its own key (none when `keys` is False)."""
    for variable in _VARIABLES & set(os.environ):
        monkeypatch.delenv(variable)
    for name in NAMES:
        monkeypatch.setenv(f"{name.upper()}_BASE_URL", fake.url + PATHS[name])
        variable = KEY_ENV[name]
        if keys and variable:
            monkeypatch.setenv(variable, KEYS[name])
