"""The library's errors as OpenAI's error answers: a status, a type and a code per class.

| error | status | type | code |
|---|---|---|---|
| `ContextWindowExceededError` | 400 | invalid_request_error | context_length_exceeded |
| `ContentFilterError` | 400 | invalid_request_error | content_filter |
| `UnsupportedCapabilityError` | 400 | invalid_request_error | unsupported_capability |
| `InvalidRequestError` (ours, or the provider's 400/404/422) | 400 | invalid_request_error | null |
| `ModelNotFoundError`, `ProviderNotFoundError` | 404 | invalid_request_error | model_not_found |
| `BudgetExceededError` (the library's own budgets) | 429 | insufficient_quota | insufficient_quota |
| `RateLimitError` (the provider's 429, after the library's retries) | 429 | rate_limit_error | rate_limit_exceeded |
| `AuthenticationError` (the provider refused the gateway's key) | 502 | server_error | upstream_authentication |
| `MissingAPIKeyError`, other `ConfigurationError` | 503 | server_error | provider_not_configured |
| `ProviderTimeoutError` | 504 | server_error | upstream_timeout |
| `ServerError`, `ProviderConnectionError`, `BadResponseError`, others | 502 | server_error | upstream_error |
| `StructuredOutputError` | 502 | server_error | invalid_structured_output |
| anything else | 500 | server_error | null (logged here, not shown) |

The provider's authentication and configuration failures are the operator's to fix, never the
client's (whose gateway key was fine), so they are 5xx without the provider's words, which may
quote the provider key or name the server's variables. A `RateLimitError`'s `retry_after` goes on
as `Retry-After` (whole seconds, rounded up) and `retry-after-ms`, the headers the openai SDK reads.
"""

from __future__ import annotations

import logging
import math

from starlette.responses import Response as HTTPResponse

from .. import errors
from .._types import Response, Usage
from .gate import GatewayError
from .wire import dumps

__all__ = ["error_for", "error_response", "spent"]

log = logging.getLogger("models.gateway")


def error_for(exc: BaseException) -> GatewayError:
    """The answer to a request that failed with `exc` (a `GatewayError` is its own answer)."""
    if isinstance(exc, GatewayError):
        return exc
    if not isinstance(exc, errors.ModelsError):
        log.error("unexpected %s in a gateway request", type(exc).__name__, exc_info=exc)
        return GatewayError(500, "The gateway failed unexpectedly; the error is in its log.", "server_error")
    if isinstance(exc, errors.ProviderError):
        return _provider_error(exc)
    if isinstance(exc, (errors.ModelNotFoundError, errors.ProviderNotFoundError)):
        return GatewayError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, errors.BudgetExceededError):
        return GatewayError(429, str(exc), "insufficient_quota", "insufficient_quota")
    if isinstance(exc, errors.StructuredOutputError):
        return GatewayError(502, str(exc), "server_error", "invalid_structured_output")
    if isinstance(exc, errors.ConfigurationError):
        log.error("gateway request failed on configuration: %s", exc)
        return GatewayError(
            503, "The gateway is not configured for this model's provider.", "server_error", "provider_not_configured"
        )
    log.error("unexpected %s in a gateway request", type(exc).__name__, exc_info=exc)
    return GatewayError(500, "The gateway failed unexpectedly; the error is in its log.", "server_error")


def _provider_error(exc: errors.ProviderError) -> GatewayError:
    if isinstance(exc, errors.InvalidRequestError):
        code = None
        if isinstance(exc, errors.ContextWindowExceededError):
            code = "context_length_exceeded"
        elif isinstance(exc, errors.UnsupportedCapabilityError):
            code = "unsupported_capability"
        return GatewayError(400, str(exc), code=code)
    if isinstance(exc, errors.ContentFilterError):
        return GatewayError(400, str(exc), code="content_filter")
    if isinstance(exc, errors.RateLimitError):
        headers = {}
        if exc.retry_after is not None:
            headers = {
                "retry-after": str(math.ceil(exc.retry_after)),
                "retry-after-ms": str(math.ceil(exc.retry_after * 1000)),
            }
        return GatewayError(429, str(exc), "rate_limit_error", "rate_limit_exceeded", headers=headers)
    if isinstance(exc, errors.AuthenticationError):
        log.error("provider %s refused the gateway's credentials (HTTP %s)", exc.provider, exc.status_code)
        return GatewayError(
            502,
            f"The provider {exc.provider!r} refused the gateway's credentials; the gateway's operator must fix them.",
            "server_error",
            "upstream_authentication",
        )
    if isinstance(exc, errors.ProviderTimeoutError):
        return GatewayError(504, str(exc), "server_error", "upstream_timeout")
    return GatewayError(502, str(exc), "server_error", "upstream_error")


def spent(exc: BaseException) -> Usage | None:
    """What a failed call still cost: a `StructuredOutputError`'s answer arrived whole (its tokens were
    spent and are charged); any other failure charged nothing beyond what the library counted."""
    response = exc.response if isinstance(exc, errors.StructuredOutputError) else None
    return response.usage if isinstance(response, Response) else None


def error_response(error: GatewayError) -> HTTPResponse:
    """OpenAI's error answer: `{"error": {"message", "type", "param", "code"}}` with the status."""
    body = {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}
    return HTTPResponse(dumps(body), error.status, error.headers, "application/json")
