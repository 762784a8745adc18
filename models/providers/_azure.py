"""Azure OpenAI (SPEC §11): `azure/<deployment>` through the openai SDK's `AzureOpenAI` client.

The deployment is the model name; the SDK puts it in the path
(`/openai/deployments/{deployment}/chat/completions?api-version=...`). Everything else is the OpenAI
provider's Chat Completions code. Credentials: `AZURE_OPENAI_API_KEY`, or Microsoft Entra ID through
`models.configure("azure", azure_ad_token_provider=...)` (a callable returning a token, called per
request by the SDK) or the SDK's own `AZURE_OPENAI_AD_TOKEN`. Which one is used follows the SDK: a
credential given in code wins over the environment, and `AZURE_OPENAI_AD_TOKEN` over the key variable.
"""

from __future__ import annotations

import inspect
import os
from types import ModuleType
from typing import Any

from ..errors import ConfigurationError, MissingAPIKeyError, MissingSettingError
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
        if self.settings.api_key:
            return self.settings.api_key
        if self._token_source():
            return None  # Entra ID: the SDK sends a bearer token instead of a key
        key = os.environ.get("AZURE_OPENAI_API_KEY")
        if key:
            return key
        raise MissingAPIKeyError(self.name, ("AZURE_OPENAI_API_KEY", "AZURE_OPENAI_AD_TOKEN"))

    def _token_source(self) -> str | None:
        """Where the Entra ID token comes from, if no key was given in code and a token is the credential."""
        if self.settings.options.get("azure_ad_token_provider") is not None:
            return "the azure_ad_token_provider given to models.configure('azure')"
        return "AZURE_OPENAI_AD_TOKEN" if os.environ.get("AZURE_OPENAI_AD_TOKEN") else None

    def _key_hint(self) -> str:
        source = None if self.settings.api_key else self._token_source()
        return f" (the Entra ID token from {source})" if source else super()._key_hint()

    def scrub_error(self, error: BaseException) -> None:
        """Also without a key: a request with an Entra ID token carried it as `Authorization: Bearer ...`,
        which the redaction's patterns take out (and the frames, which held the headers, lose their locals)."""
        from ._common import scrub_exception  # here, not at the top: only a failure gets here

        scrub_exception(error, self._secret)

    def _base_url(self) -> str | None:
        url = self.settings.base_url or os.environ.get("AZURE_OPENAI_ENDPOINT")
        if not url:
            raise MissingSettingError(
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
        version = options.get("api_version")
        if version is not None and not (isinstance(version, str) and version.strip()):
            raise ConfigurationError(
                f"api_version must be a non-empty str like '2024-10-21', not {type(version).__name__} "
                "(models.configure('azure', api_version=...))"
            )
        kwargs = {
            "api_key": api_key,
            "azure_endpoint": base_url,
            "api_version": version or os.environ.get("OPENAI_API_VERSION") or DEFAULT_API_VERSION,
            # the key goes in `api-key`; an Entra ID token, set per request by the SDK, in Authorization
            "default_headers": {**foreign_headers(openai), "Authorization": openai.Omit()},
        }
        token = options.get("azure_ad_token_provider")
        if api_key is None and token is not None:
            kwargs["azure_ad_token_provider"] = _checked_provider(token, asynchronous)
        if asynchronous:
            kwargs["http_client"] = openai.DefaultAsyncHttpxClient()
        return kwargs


def _checked_provider(provider: Any, asynchronous: bool) -> Any:
    """The configured token provider, if this client can call it: a sync client cannot await a token.
    The message names the type only: a token string passed here by mistake is a secret."""
    if not callable(provider):
        raise ConfigurationError(
            f"azure_ad_token_provider must be a function returning a token (a str), not {type(provider).__name__}; "
            "for a fixed token set AZURE_OPENAI_AD_TOKEN"
        )
    if not asynchronous and inspect.iscoroutinefunction(provider):
        raise ConfigurationError(
            "azure_ad_token_provider is a coroutine function, which only async calls (acall, astream) can await; "
            "for models(...) and stream give a plain function returning the token "
            "(azure.identity's get_bearer_token_provider makes one)"
        )
    return provider
