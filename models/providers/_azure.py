"""Azure OpenAI (SPEC §11): `azure/<deployment>` through the openai SDK's `AzureOpenAI` client.

The deployment is the model name; the SDK puts it in the path
(`/openai/deployments/{deployment}/chat/completions?api-version=...`). Everything else is the OpenAI
provider's Chat Completions code. Credentials: `AZURE_OPENAI_API_KEY`, or Microsoft Entra ID through
`models.configure("azure", azure_ad_token_provider=...)` (a callable returning a token, called per
request by the SDK) or the SDK's own `AZURE_OPENAI_AD_TOKEN`.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

from ..errors import ConfigurationError, MissingAPIKeyError
from ._openai import OpenAIProvider, foreign_headers

__all__ = ["DEFAULT_API_VERSION", "AzureProvider"]

DEFAULT_API_VERSION = "2024-10-21"
"""The api-version sent when neither `OPENAI_API_VERSION` nor `configure(api_version=)` gives one:
the latest generally available (not preview) data-plane version of the Chat Completions API."""


class AzureProvider(OpenAIProvider):
    """Chat Completions on an Azure OpenAI resource."""

    key_env = ("AZURE_OPENAI_API_KEY",)
    base_url_env = "AZURE_OPENAI_ENDPOINT"
    label = "Azure OpenAI"
    client_options = frozenset({"api_version", "azure_ad_token_provider"})

    def _api_key(self) -> str | None:
        key = self.settings.api_key or os.environ.get("AZURE_OPENAI_API_KEY")
        if key:
            return key
        if self.settings.options.get("azure_ad_token_provider") or os.environ.get("AZURE_OPENAI_AD_TOKEN"):
            return None  # Entra ID: the SDK sends a bearer token instead of a key
        raise MissingAPIKeyError(self.name, ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"))

    def _base_url(self) -> str | None:
        url = self.settings.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not url:
            raise ConfigurationError(
                "Azure OpenAI needs the resource's endpoint: set AZURE_OPENAI_ENDPOINT (for example "
                "https://my-resource.openai.azure.com) or call models.configure('azure', base_url=...)"
            )
        return url

    def client_class(self, openai: ModuleType, asynchronous: bool) -> Any:
        return openai.AsyncAzureOpenAI if asynchronous else openai.AzureOpenAI

    def client_kwargs(
        self, openai: ModuleType, api_key: str | None, base_url: str | None, asynchronous: bool
    ) -> dict[str, Any]:
        options = self.settings.options
        kwargs = {
            "api_key": api_key,
            "azure_endpoint": base_url,
            "api_version": options.get("api_version") or os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION,
            # the key goes in `api-key`; an Entra ID token, set per request by the SDK, in Authorization
            "default_headers": {**foreign_headers(openai), "Authorization": openai.Omit()},
        }
        if api_key is None and options.get("azure_ad_token_provider"):
            kwargs["azure_ad_token_provider"] = options["azure_ad_token_provider"]
        if asynchronous:
            kwargs["http_client"] = openai.DefaultAsyncHttpxClient()
        return kwargs
