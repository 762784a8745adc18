"""`SimpleModelRegistry`: resolves model ids and keeps one provider instance per name.

One lock guards the provider cache. Reads of a cached provider take no lock; the lock is
never held while a provider is constructed (that may import an SDK): the first thread
marks the name as being built, builds outside the lock, and any other thread asking for
it meanwhile waits for that one build. After `os.fork` the child forgets builds that
other threads had in progress (they do not exist there); its locks are unlocked by
`_fork`, and every provider drops its SDK clients (`providers._base`).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Collection
from typing import Any

from ._catalog.catalog import Catalog, default_catalog
from ._catalog.info import ModelInfo
from ._catalog.registered import Row, make_row, read_file
from ._fork import fork_safe_lock
from .errors import ProviderNotFoundError
from .providers._base import Provider, ProviderSettings
from .providers._registry import PROVIDER_ALIASES, ProviderMap

__all__ = ["SimpleModelRegistry"]


class SimpleModelRegistry:
    """Model resolution and the lazy provider cache of one `ModelsAPI`."""

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._given = catalog
        self._below: Catalog | None = None  # the given (or built-in) catalog with the MODELS_CATALOG rows
        self._catalog: Catalog | None = None  # ... and the rows of `register_model`; built on first use
        self._registered: dict[str, Row] = {}  # by lower-case id, in the order registered
        self.provider_classes = ProviderMap()
        self._lock = fork_safe_lock()
        self._providers: dict[str, Provider] = {}
        self._building: dict[str, threading.Event] = {}
        self._settings: dict[str, ProviderSettings] = {}
        _LIVE.add(self)

    @property
    def catalog(self) -> Catalog:
        """The catalog this registry resolves against: the built-in one (unless given) with the rows of
        the `MODELS_CATALOG` file, read at first use, and those of `register_model`, which win."""
        catalog = self._catalog
        return catalog if catalog is not None else self.load_catalog()

    def load_catalog(self) -> Catalog:
        """(Re-)read the `MODELS_CATALOG` file (a bad one raises `ConfigurationError` and changes
        nothing); rows registered in code stay on top of its rows."""
        base = self._given or default_catalog()
        path = os.environ.get("MODELS_CATALOG", "").strip()
        below = base
        if path:
            below = base.extended(read_file(path, base, self.provider_classes.names))
        with self._lock:
            self._below = below
            catalog = self._catalog = below.extended(self._registered.values()) if self._registered else below
        return catalog

    def register_model(self, model_id: object, **fields: object) -> ModelInfo:
        """Add or replace a catalog row of this registry (`models.register_model`); see `_catalog.registered`."""
        if self._catalog is None:
            self.load_catalog()  # the file's rows first: a row may start from one of them
        with self._lock:
            catalog, below = self._catalog, self._below
            assert catalog is not None and below is not None
            row = make_row(model_id, fields, catalog, below, self.provider_classes.names)
            self._registered.pop(row.info.id.lower(), None)  # registered again: it moves to the end
            self._registered[row.info.id.lower()] = row
            self._catalog = catalog.extended([row])
        return row.info

    @property
    def provider_names(self) -> Collection[str]:
        """The provider names a model id may start with (aliases aside)."""
        return self.provider_classes.names

    @property
    def local_providers(self) -> Collection[str]:
        """The providers whose models run locally (Ollama, vLLM): free unless an override prices them."""
        return self.provider_classes.local

    def resolve(self, model: str) -> ModelInfo:
        """The `ModelInfo` for a model id string (SPEC §2)."""
        return self.catalog.resolve(model, self.provider_classes.names)

    def provider_name(self, name: str) -> str:
        """The registered provider a name or alias refers to, or `ProviderNotFoundError`."""
        if not isinstance(name, str):
            raise TypeError(f"provider must be a str like 'openai', not {type(name).__name__}")
        canonical = PROVIDER_ALIASES.get(name.lower(), name.lower())
        if canonical not in self.provider_classes.names:
            raise ProviderNotFoundError(name, self.provider_classes.names)
        return canonical

    def provider(self, name: str) -> Provider:
        """The provider instance for a registered name, constructed once, on first use."""
        provider = self._providers.get(name)
        if provider is not None:
            return provider
        while True:
            with self._lock:
                provider = self._providers.get(name)
                if provider is not None:
                    return provider
                pending = self._building.get(name)
                if pending is None:
                    done = self._building[name] = threading.Event()
                    settings = self._settings.setdefault(name, ProviderSettings())
                    break
            pending.wait()
        try:
            provider = self.provider_classes.load(name)(name, settings)
            with self._lock:
                self._providers[name] = provider
            return provider
        finally:
            with self._lock:
                del self._building[name]
            done.set()

    def register(self, name: str, provider_class: type[Provider]) -> None:
        """Add or replace a provider class; a replaced provider's cached instance is dropped."""
        self.provider_classes.register(name, provider_class)
        with self._lock:
            self._providers.pop(name, None)

    def register_compatible(self, name: str, base_url: str, api_key_env: str | None, local: bool) -> None:
        """Add or replace an OpenAI-compatible endpoint; a replaced provider's cached instance is dropped."""
        self.provider_classes.register_compatible(name, base_url, api_key_env, local)
        with self._lock:
            self._providers.pop(name, None)

    def configure(self, name: str, api_key: str | None, base_url: str | None, options: dict[str, Any]) -> None:
        """Set a provider's key, base URL or client options in code; its client is rebuilt on next use."""
        name = self.provider_name(name)
        if options:
            accepted = self.provider_classes.load(name).client_options
            unknown = sorted(set(options) - accepted)
            if unknown:
                takes = f"takes only {', '.join(sorted(accepted))}" if accepted else "takes no other options"
                raise TypeError(f"configure({name!r}) got unknown option(s) {', '.join(unknown)}; {name} {takes}")
        for what, value in (("api_key", api_key), ("base_url", base_url)):
            if value is None:
                continue
            if not isinstance(value, str):  # no repr: the value may be a key
                raise TypeError(f"{what} must be a str, not {type(value).__name__}")
            if not value.strip():
                raise ValueError(f"{what} is empty; pass None to keep the current one")
        with self._lock:
            settings = self._settings.setdefault(name, ProviderSettings())
            if api_key is not None:
                settings.api_key = api_key
            if base_url is not None:
                settings.base_url = base_url
            settings.options.update(options)
            provider = self._providers.get(name)
        if provider is not None:
            provider.reset()

    def _after_fork_in_child(self) -> None:
        self._building = {}  # their builders are threads the child does not have


_LIVE: weakref.WeakSet[SimpleModelRegistry] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for registry in list(_LIVE):
        registry._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
