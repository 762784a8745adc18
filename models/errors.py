"""The exception tree of `models`, documented in one place.

```
ModelsError
├── ConfigurationError
│   ├── MissingAPIKeyError
│   ├── LimitStoreError         a rate limit's Redis store failed; nothing was sent
│   └── InvalidCostOverrideError
├── ModelNotFoundError          (.suggestions)
├── ProviderNotFoundError       (.suggestions)
├── BudgetExceededError         (.limit .spent .remaining .estimate, USD) raised before sending
├── StructuredOutputError       (.text .response) an answer that does not fit `response_format`
└── ProviderError               (.provider .model .status_code .request_id .retryable)
    ├── AuthenticationError     401/403, and a provider's "invalid key" 400
    ├── RateLimitError          429   (.retry_after seconds or None)
    ├── InvalidRequestError     400/404/422, and bad input caught before sending
    │   ├── ContextWindowExceededError
    │   └── UnsupportedCapabilityError  (.capability) the model lacks what the call needs
    ├── ContentFilterError      the provider refused or blocked the prompt
    ├── ProviderTimeoutError    (also a builtin TimeoutError)
    ├── ProviderConnectionError (also a builtin ConnectionError; a stream cut before its end too)
    ├── ServerError             5xx, overloaded
    └── BadResponseError        a success status with a body that is not the API's format
```

Every `ProviderError` raised for an SDK failure keeps the SDK's exception as
`__cause__`. `kind` is the short name used as the `status` label in metrics.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._types import Attempt

__all__ = [
    "AuthenticationError",
    "BadResponseError",
    "BudgetExceededError",
    "ConfigurationError",
    "ContentFilterError",
    "ContextWindowExceededError",
    "InvalidCostOverrideError",
    "InvalidRequestError",
    "LimitStoreError",
    "MissingAPIKeyError",
    "ModelNotFoundError",
    "ModelsError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderNotFoundError",
    "ProviderTimeoutError",
    "RateLimitError",
    "ServerError",
    "StructuredOutputError",
    "UnsupportedCapabilityError",
]


class ModelsError(Exception):
    """Base class of every error this library raises on purpose.

    `attempts` lists the models a call with fallbacks (or a router) tried, this one's
    failure last; empty for a plain call.
    """

    attempts: tuple[Attempt, ...] = ()

    def __reduce__(self) -> tuple[object, ...]:
        # Subclasses' __init__ signatures differ, so pickling (multiprocessing sends errors
        # between processes) rebuilds from the message and attributes instead of re-calling it.
        return (_rebuild, (type(self), self.args, self.__dict__.copy()))


def _rebuild(cls: type[ModelsError], args: tuple[object, ...], state: dict[str, object]) -> ModelsError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ConfigurationError(ModelsError):
    """The library is set up wrongly: fix the environment or `configure()`."""


class MissingAPIKeyError(ConfigurationError):
    """A provider needs a key and none was configured; the message names the variable."""

    def __init__(self, provider: str, env_vars: Sequence[str]) -> None:
        self.provider = provider
        self.env_vars = tuple(env_vars)
        names = " or ".join(self.env_vars)
        super().__init__(
            f"No API key for provider {provider!r}: set {names}, or call models.configure({provider!r}, api_key=...)."
        )


class LimitStoreError(ConfigurationError):
    """The shared store of a client-side rate limit (Redis) failed or did not answer within the
    call's timeout, so the call was not sent. Counted as `other`; fallbacks move on to the next model."""


class InvalidCostOverrideError(ConfigurationError):
    """A cost override in the environment cannot be used; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


class ModelNotFoundError(ModelsError):
    """The model id matches no catalog entry and no provider prefix."""

    def __init__(self, model: str, suggestions: Sequence[str] = ()) -> None:
        self.model = model
        self.suggestions = list(suggestions)
        hint = f" Did you mean {', '.join(map(repr, self.suggestions))}?" if suggestions else ""
        super().__init__(
            f"Unknown model {model!r}.{hint} "
            "Use 'provider/name' (e.g. 'openai/my-model') to call a model the catalog does not know."
        )


class ProviderNotFoundError(ModelsError):
    """The provider part of a model id names no registered provider."""

    def __init__(self, provider: str, known: Iterable[str]) -> None:
        import difflib  # only a mistyped provider gets here

        self.provider = provider
        known = sorted(known)
        self.suggestions = difflib.get_close_matches(provider.lower(), known, n=3, cutoff=0.7)
        close = f" Did you mean {' or '.join(map(repr, self.suggestions))}?" if self.suggestions else ""
        super().__init__(
            f"Unknown provider {provider!r}.{close} Known providers: {', '.join(known)}; add one with "
            "models.register_provider(name, ProviderClass) or models.register_openai_compatible(name, base_url)."
        )


class BudgetExceededError(ModelsError):
    """A call could take a budget (`models.budget`, `models.set_budget`) past its limit, so it was
    not sent: `estimate` is the most it can cost (None when nothing bounds it), `spent` what the
    budget has spent or reserved for calls in flight, `remaining` what is left (USD)."""

    def __init__(self, limit: float, spent: float, estimate: float | None, message: str | None = None) -> None:
        self.limit = limit
        self.spent = spent
        self.estimate = estimate
        self.remaining = round(limit - spent, 15)  # amounts are whole 1e-15 USD: exact, not float drift
        super().__init__(
            message
            or f"Budget of ${limit:.6f} has ${self.remaining:.6f} left; this call reserves ${estimate or 0:.6f}, "
            "the most it can cost, so it was not sent. Pass a lower max_tokens, or raise the budget."
        )


class StructuredOutputError(ModelsError):
    """An answer that does not parse or validate against the call's `response_format`.

    `text` is the answer as the model wrote it; `response` is the whole `Response` (usage and cost
    included: the tokens were spent and are counted).
    """

    def __init__(self, message: str, text: str, response: object) -> None:
        super().__init__(message)
        self.text = text
        self.response = response


class ProviderError(ModelsError):
    """A provider answered with an error, or could not be reached.

    `retry_after` (seconds) is the server's advice, when it gave one; the retry loop honours it.
    """

    kind = "other"
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.request_id = request_id
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        where = ", ".join(
            part
            for part in (
                self.model,
                f"HTTP {self.status_code}" if self.status_code is not None else None,
                f"request id {self.request_id}" if self.request_id else None,
            )
            if part
        )
        return f"{self.message} ({where})" if where else self.message


class AuthenticationError(ProviderError):
    """The key was rejected (401/403, or a provider's 'invalid key' 400)."""

    kind = "authentication"


class RateLimitError(ProviderError):
    """Too many requests (429); `retry_after` is the server's advice in seconds, if any."""

    kind = "rate_limit"
    retryable = True


class InvalidRequestError(ProviderError):
    """The request itself is wrong (400/404/422, or bad input caught before sending)."""

    kind = "invalid_request"


class ContextWindowExceededError(InvalidRequestError):
    """The prompt (plus requested output) does not fit the model's context window."""

    kind = "context_window"


class UnsupportedCapabilityError(InvalidRequestError):
    """The call needs a capability the catalog says the model lacks; raised before sending."""

    kind = "invalid_request"

    def __init__(self, model: str, capability: str, what: str) -> None:
        super().__init__(
            f"{model} does not support {capability} ({what}). "
            f"models.list(capability={capability!r}) lists models that do.",
            model=model,
        )
        self.capability = capability


class ContentFilterError(ProviderError):
    """The provider refused or blocked the prompt."""

    kind = "content_filter"


class ProviderTimeoutError(ProviderError, TimeoutError):
    """No answer within the timeout of one attempt."""

    kind = "timeout"
    retryable = True


class ProviderConnectionError(ProviderError, ConnectionError):
    """The provider could not be reached, or the connection broke."""

    kind = "connection"
    retryable = True


class ServerError(ProviderError):
    """The provider failed (5xx) or is overloaded."""

    kind = "server"
    retryable = True


class BadResponseError(ProviderError):
    """The provider answered with a success status but a body its API never sends: not JSON,
    an HTML page, a stream that is not server-sent events (a wrong base URL, a proxy's page).

    Not retried: the request may have been billed, and a misconfigured endpoint will not heal.
    """

    kind = "bad_response"


def _tree(cls: type[ProviderError]) -> list[type[ProviderError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found += _tree(sub)
    return found


ERROR_KINDS: tuple[str, ...] = tuple(dict.fromkeys(cls.kind for cls in _tree(ProviderError)))
"""Every error kind (the `status` label of a failed call), in the tree's order: `configure_resilience`
takes these for `fallback_on`."""
