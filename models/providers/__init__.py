"""Provider interface for custom backends: subclass `Provider`, then `models.register_provider`."""

from .._types import Completion
from ._base import Provider, ProviderSettings, Request
from ._registry import BUILTIN_PROVIDERS, PROVIDER_ALIASES

__all__ = ["BUILTIN_PROVIDERS", "PROVIDER_ALIASES", "Completion", "Provider", "ProviderSettings", "Request"]
