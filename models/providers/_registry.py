"""The explicit map of provider names to classes, imported lazily, plus custom registrations.

Built-in providers are named by module path so that `import models` imports no SDK:
a provider's module (and its SDK) loads the first time a model of that provider is used.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._catalog.catalog import PROVIDER_ALIASES
from .._fork import fork_safe_lock

if TYPE_CHECKING:
    from ._base import Provider

__all__ = ["BUILTIN_PROVIDERS", "PROVIDER_ALIASES", "ProviderMap"]

BUILTIN_PROVIDERS = MappingProxyType(
    {
        "openai": "models.providers._openai:OpenAIProvider",
        "anthropic": "models.providers._anthropic:AnthropicProvider",
        "google": "models.providers._google:GoogleProvider",
        "mock": "models.providers._mock:MockProvider",
        "bedrock": "models.providers._bedrock:BedrockProvider",
    }
)


class ProviderMap:
    """Provider name → class, for one `ModelsAPI`: the built-ins plus `register_provider` calls."""

    def __init__(self) -> None:
        self._lock = fork_safe_lock()
        self._custom: dict[str, type[Provider]] = {}
        self.names: frozenset[str] = frozenset(BUILTIN_PROVIDERS)
        #: Providers whose models run on the caller's own hardware: priced 0 unless an override prices them.
        self.local: frozenset[str] = frozenset()

    def register(self, name: str, provider_class: type[Provider]) -> None:
        """Add or replace a provider class under `name` (lower-case, no '/' or ':')."""
        from ._base import Provider

        if not isinstance(name, str) or not name or name != name.strip().lower() or any(c in name for c in "/:"):
            raise ValueError(f"provider name must be a non-empty lower-case word without '/' or ':', not {name!r}")
        if not (isinstance(provider_class, type) and issubclass(provider_class, Provider)):
            raise TypeError(f"{provider_class!r} is not a subclass of models.providers.Provider")
        with self._lock:
            self._custom[name] = provider_class
            self.names = self.names | {name}

    def load(self, name: str) -> type[Provider]:
        """The class registered under `name`, importing a built-in's module on first use."""
        custom = self._custom.get(name)
        if custom is not None:
            return custom
        module_name, _, attr = BUILTIN_PROVIDERS[name].partition(":")
        provider_class: type[Provider] = getattr(importlib.import_module(module_name), attr)
        return provider_class
