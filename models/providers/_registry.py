"""The explicit map of provider names to classes, imported lazily, plus custom registrations.

Built-in providers are named by module path so that `import models` imports no SDK:
a provider's module (and its SDK) loads the first time a model of that provider is used.
The OpenAI-compatible services are one `Preset` line each (SPEC §11), served by one class,
`_compatible.OpenAICompatibleProvider`, of which each preset gets its own small subclass.
"""

from __future__ import annotations

import importlib
import re
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._catalog.catalog import PROVIDER_ALIASES
from .._fork import fork_safe_lock
from ._preset import Preset

if TYPE_CHECKING:
    from ._base import Provider

__all__ = ["BUILTIN_PROVIDERS", "PRESETS", "PROVIDER_ALIASES", "Preset", "ProviderMap"]

BUILTIN_PROVIDERS = MappingProxyType(
    {
        "openai": "models.providers._openai:OpenAIProvider",
        "anthropic": "models.providers._anthropic:AnthropicProvider",
        "google": "models.providers._google:GoogleProvider",
        "mock": "models.providers._mock:MockProvider",
        "bedrock": "models.providers._bedrock:BedrockProvider",
        "azure": "models.providers._azure:AzureProvider",
    }
)


# Base URLs, key variables and rejected parameters from each service's own OpenAI-compatibility
# documentation, checked 2026-12-03 (sources in README.md, "Providers"): Mistral refuses unknown fields
# (422 extra_forbidden) such as `stream_options` and `max_completion_tokens`, sends usage in every stream's
# last chunk anyway, and calls the seed `random_seed`; xAI's reasoning models (grok-4 and its successors,
# their non-reasoning variants too, and grok-3-mini) reject `stop`, `presence_penalty` and
# `frequency_penalty` with a 400 (https://docs.x.ai/docs/guides/reasoning); Groq rejects `logprobs`,
# `top_logprobs` and `logit_bias` with a 400 (https://console.groq.com/docs/openai).
_XAI_REASONING = frozenset({"stop", "presence_penalty", "frequency_penalty"})
_GROQ_REJECTS = frozenset({"logprobs", "top_logprobs", "logit_bias"})
PRESETS = MappingProxyType(
    {
        "ollama": Preset("Ollama", "http://localhost:11434/v1", local=True),
        "vllm": Preset("vLLM", None, "VLLM_API_KEY", key_required=False, local=True),
        "openrouter": Preset("OpenRouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
        "groq": Preset("Groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", drops=(("", _GROQ_REJECTS),)),
        "together": Preset("Together", "https://api.together.ai/v1", "TOGETHER_API_KEY"),
        "deepseek": Preset("DeepSeek", "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
        "xai": Preset(
            "xAI",
            "https://api.x.ai/v1",
            "XAI_API_KEY",
            drops=(("grok-4", _XAI_REASONING), ("grok-3-mini", _XAI_REASONING)),
        ),
        "mistral": Preset(
            "Mistral",
            "https://api.mistral.ai/v1",
            "MISTRAL_API_KEY",
            stream_usage=False,
            drops=(("", frozenset({"stream_options"})),),
            renames=(("seed", "random_seed"), ("max_completion_tokens", "max_tokens")),
        ),
        "fireworks": Preset("Fireworks", "https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
        "cerebras": Preset("Cerebras", "https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
    }
)

_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name or name != name.strip().lower() or any(c in name for c in "/:"):
        raise ValueError(f"provider name must be a non-empty lower-case word without '/' or ':', not {name!r}")


class ProviderMap:
    """Provider name → class, for one `ModelsAPI`: the built-ins, the presets, and registrations."""

    def __init__(self) -> None:
        self._lock = fork_safe_lock()
        self._custom: dict[str, type[Provider]] = {}
        self._presets: dict[str, Preset] = dict(PRESETS)
        self._classes: dict[str, type[Provider]] = {}  # a preset's subclass, made once
        self.names: frozenset[str] = frozenset(BUILTIN_PROVIDERS) | frozenset(PRESETS)
        #: Providers whose models run on the caller's own hardware: priced 0 unless an override prices them.
        self.local: frozenset[str] = frozenset(name for name, preset in PRESETS.items() if preset.local)

    def register(self, name: str, provider_class: type[Provider]) -> None:
        """Add or replace a provider class under `name` (lower-case, no '/' or ':')."""
        from ._base import Provider

        _check_name(name)
        if not (isinstance(provider_class, type) and issubclass(provider_class, Provider)):
            raise TypeError(f"{provider_class!r} is not a subclass of models.providers.Provider")
        with self._lock:
            self._custom[name] = provider_class
            self._presets.pop(name, None)  # a class registered over a preset replaces it
            self._classes.pop(name, None)
            self.local = self.local - {name}
            self.names = self.names | {name}

    def register_compatible(self, name: str, base_url: str, api_key_env: str | None, local: bool) -> None:
        """Add or replace an OpenAI-compatible endpoint under `name`: its key only from `api_key_env`
        (none when None: a custom endpoint never gets another service's key)."""
        _check_name(name)
        if not isinstance(base_url, str) or not re.match(r"https?://[^/\s]+", base_url):
            raise ValueError(f"base_url must be an http(s) URL like 'http://localhost:8000/v1', not {base_url!r}")
        if api_key_env is not None and (not isinstance(api_key_env, str) or not _ENV.fullmatch(api_key_env)):
            raise ValueError(f"api_key_env must name an environment variable like 'MY_LLM_KEY', not {api_key_env!r}")
        if not isinstance(local, bool):
            raise TypeError(f"local must be True or False, not {type(local).__name__}")
        preset = Preset(name, base_url, api_key_env, local=local, url_env=False)
        with self._lock:
            self._custom.pop(name, None)
            self._classes.pop(name, None)
            self._presets[name] = preset
            self.names = self.names | {name}
            self.local = self.local | {name} if local else self.local - {name}

    def preset(self, name: str) -> Preset | None:
        """The OpenAI-compatible service `name` is, if it is one."""
        return self._presets.get(name)

    def load(self, name: str) -> type[Provider]:
        """The class registered under `name`, importing a built-in's module on first use."""
        custom = self._custom.get(name)
        if custom is not None:
            return custom
        preset = self._presets.get(name)
        if preset is not None:
            made = self._classes.get(name)
            if made is None:
                from ._compatible import compatible_class

                made = self._classes[name] = compatible_class(name, preset)
            return made
        module_name, _, attr = BUILTIN_PROVIDERS[name].partition(":")
        provider_class: type[Provider] = getattr(importlib.import_module(module_name), attr)
        return provider_class
