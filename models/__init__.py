"""`models`: call any LLM in one line and know exactly what it cost.

```python
from models import models
r = models("gpt-4o", "hello")      # r.text, r.usage.input_tokens, r.usage.cost
```

Importing this package imports no provider SDK and reads no environment variable;
both happen on first use.
"""

from __future__ import annotations

from . import errors
from ._facade.api import ModelsAPI
from ._facade.binding import ModelBinding
from .errors import (
    AuthenticationError,
    BadResponseError,
    BudgetExceededError,
    ConfigurationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidCostOverrideError,
    InvalidRequestError,
    LimitStoreError,
    MissingAPIKeyError,
    MissingSettingError,
    ModelNotFoundError,
    ModelsError,
    ProviderConnectionError,
    ProviderError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    StructuredOutputError,
    UnsupportedCapabilityError,
)

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~4 ms; mypy reads either
if TYPE_CHECKING:
    from typing import Any

    from ._call.budget import Budget
    from ._call.limits import Limit
    from ._call.service import ModelsWarning
    from ._call.stream import AsyncStream, Stream
    from ._catalog.info import Capability, ModelInfo
    from ._content.attachments import Attachment
    from ._content.tools import Tool
    from ._costs import Price
    from ._embeddings import Embeddings
    from ._facade.router import RouteChoice, Router
    from ._observe.health import ModelHealth
    from ._observe.hooks import CallEvent
    from ._observe.usage import Tracker, UsageTotals
    from ._types import Attempt, Completion, Response, ToolCall, Usage
    from .providers import Provider

# Public names whose modules load on first access (PEP 562), so `import models` stays small.
_LAZY = {
    "AsyncStream": "_call.stream",
    "Attachment": "_content.attachments",
    "Attempt": "_types",
    "Limit": "_call.limits",
    "ModelHealth": "_observe.health",
    "RouteChoice": "_facade.router",
    "Router": "_facade.router",
    "Budget": "_call.budget",
    "CallEvent": "_observe.hooks",
    "Capability": "_catalog.info",
    "Completion": "_types",
    "Embeddings": "_embeddings",
    "ModelInfo": "_catalog.info",
    "ModelsWarning": "_call.service",
    "Price": "_costs",
    "Provider": "providers",
    "Response": "_types",
    "Stream": "_call.stream",
    "Tool": "_content.tools",
    "ToolCall": "_types",
    "Tracker": "_observe.usage",
    "Usage": "_types",
    "UsageTotals": "_observe.usage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'models' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

models = ModelsAPI()
"""The ready-to-use instance: `models("gpt-4o", "hi")`, metrics on the default registry."""

__all__ = [
    "AsyncStream",
    "Attachment",
    "Attempt",
    "AuthenticationError",
    "BadResponseError",
    "Budget",
    "BudgetExceededError",
    "CallEvent",
    "Capability",
    "Completion",
    "ConfigurationError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "Embeddings",
    "InvalidCostOverrideError",
    "InvalidRequestError",
    "Limit",
    "LimitStoreError",
    "MissingAPIKeyError",
    "MissingSettingError",
    "ModelBinding",
    "ModelHealth",
    "ModelInfo",
    "ModelNotFoundError",
    "ModelsAPI",
    "ModelsError",
    "ModelsWarning",
    "Price",
    "Provider",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderTimeoutError",
    "RateLimitError",
    "Response",
    "RouteChoice",
    "Router",
    "ServerError",
    "Stream",
    "StructuredOutputError",
    "Tool",
    "ToolCall",
    "Tracker",
    "UnsupportedCapabilityError",
    "Usage",
    "UsageTotals",
    "errors",
    "models",
]
