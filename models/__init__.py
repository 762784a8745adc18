"""`models`: call any LLM in one line and know exactly what it cost.

```python
from models import models
r = models("gpt-4o", "hello")      # r.text, r.usage.input_tokens, r.usage.cost
```

Importing this package imports no provider SDK and reads no environment variable;
both happen on first use.
"""

from . import errors
from ._api import ModelBinding, ModelsAPI
from ._budget import Budget
from ._catalog import Capability, ModelInfo
from ._costs import Price
from ._service import CallEvent, ModelsWarning
from ._stream import AsyncStream, Stream
from ._types import Completion, Response, Usage
from ._usage import Tracker, UsageTotals
from .errors import (
    AuthenticationError,
    BudgetExceededError,
    ConfigurationError,
    ContentFilterError,
    ContextWindowExceededError,
    InvalidCostOverrideError,
    InvalidRequestError,
    MissingAPIKeyError,
    ModelNotFoundError,
    ModelsError,
    ProviderConnectionError,
    ProviderError,
    ProviderNotFoundError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
    UnsupportedCapabilityError,
)
from .providers import Provider

__version__ = "0.1.0"

models = ModelsAPI()
"""The ready-to-use instance: `models("gpt-4o", "hi")`, metrics on the default registry."""

__all__ = [
    "AsyncStream",
    "AuthenticationError",
    "Budget",
    "BudgetExceededError",
    "CallEvent",
    "Capability",
    "Completion",
    "ConfigurationError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "InvalidCostOverrideError",
    "InvalidRequestError",
    "MissingAPIKeyError",
    "ModelBinding",
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
    "ServerError",
    "Stream",
    "Tracker",
    "UnsupportedCapabilityError",
    "Usage",
    "UsageTotals",
    "errors",
    "models",
]
