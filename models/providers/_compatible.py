"""OpenAI-compatible services (SPEC §11): Ollama, vLLM, OpenRouter, Groq, Together, DeepSeek, xAI,
Mistral, Fireworks, Cerebras, and `models.register_openai_compatible` endpoints.

One class over the OpenAI provider's Chat Completions code (requests, parsing, errors); each preset
gets a subclass holding its `Preset` (`compatible_class`), so the `Provider` machinery (keys, base URL,
clients) reads it as it reads any provider's class attributes.

A key goes only to the host it belongs to: a preset reads its own variable and nothing else, an
endpoint without one sends no `Authorization` header at all, and none of the openai SDK's ambient
variables (`OPENAI_API_KEY`, `OPENAI_ORG_ID`, `OPENAI_PROJECT_ID`, `OPENAI_CUSTOM_HEADERS`,
`OPENAI_BASE_URL`) reaches a server that is not OpenAI's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar

from .._catalog.info import ModelInfo
from ..errors import ConfigurationError, MissingAPIKeyError
from ._openai import OpenAIProvider, foreign_headers
from ._preset import Preset

__all__ = ["OpenAICompatibleProvider", "compatible_class"]

_NO_KEY = "no-key"
"""What the SDK holds when there is no key (it refuses an empty one); its header is removed before sending."""


def _drop_authorization(request: Any) -> None:
    request.headers.pop("authorization", None)


async def _adrop_authorization(request: Any) -> None:
    request.headers.pop("authorization", None)


class OpenAICompatibleProvider(OpenAIProvider):
    """Chat Completions on a service that speaks OpenAI's API; `preset` says which and where."""

    preset: ClassVar[Preset]
    client_options = frozenset({"headers"})  # more headers for every request (OpenRouter's HTTP-Referer, X-Title)

    def _api_key(self) -> str | None:
        if self.settings.api_key:
            return self.settings.api_key
        var = self.preset.key_env
        value = os.environ.get(var) if var else None
        if value:
            return value
        if var and self.preset.key_required:
            raise MissingAPIKeyError(self.name, (var,))
        return None

    def _base_url(self) -> str | None:
        url = (
            self.settings.base_url or (self.base_url_env and os.environ.get(self.base_url_env)) or self.preset.base_url
        )
        if not url:
            raise ConfigurationError(
                f"{self.preset.label} has no base URL: set {self.base_url_env} (for example "
                f"http://localhost:8000/v1) or call models.configure({self.name!r}, base_url=...)"
            )
        return url

    def client_kwargs(
        self, openai: ModuleType, api_key: str | None, base_url: str | None, asynchronous: bool
    ) -> dict[str, Any]:
        """Only this service's key, or no `Authorization` header at all; the organization, project and
        custom headers the SDK would add from OpenAI's variables are omitted (`openai.Omit`)."""
        headers = {**foreign_headers(openai), **self.settings.options.get("headers", {})}
        if api_key:  # explicit, so an Authorization line in OPENAI_CUSTOM_HEADERS cannot replace it
            headers["Authorization"] = f"Bearer {api_key}"
            hooks: dict[str, list[Any]] = {}
        else:
            hooks = {"request": [_adrop_authorization if asynchronous else _drop_authorization]}
        http = (openai.DefaultAsyncHttpxClient if asynchronous else openai.DefaultHttpxClient)(event_hooks=hooks)
        return {"api_key": api_key or _NO_KEY, "base_url": base_url, "default_headers": headers, "http_client": http}

    def unsupported_for(self, model: ModelInfo) -> frozenset[str]:
        name = model.name.lower()
        return frozenset().union(*(params for prefix, params in self.preset.drops if name.startswith(prefix)))

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        # `max_tokens` as is: OpenAI's reasoning-model rename is OpenAI's own.
        options = dict(params)
        for ours, theirs in self.preset.renames:  # a name the SDK's signature lacks: sent in the body
            if ours in options:
                options["extra_body"] = {**(options.get("extra_body") or {}), theirs: options.pop(ours)}
        return options


def compatible_class(name: str, preset: Preset) -> type[OpenAICompatibleProvider]:
    """The provider class of one OpenAI-compatible service (made once per name by `ProviderMap`)."""
    attributes = {
        "preset": preset,
        "label": preset.label,
        "key_env": (preset.key_env,) if preset.key_env else (),
        "base_url_env": re.sub(r"[^A-Z0-9]+", "_", name.upper()) + "_BASE_URL" if preset.url_env else None,
        "stream_usage": preset.stream_usage,
        "__module__": __name__,
    }
    return type(f"OpenAICompatibleProvider[{name}]", (OpenAICompatibleProvider,), attributes)
