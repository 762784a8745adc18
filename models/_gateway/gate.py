"""Gateway keys: who may call, which models, within what budget and rate (SPEC §14).

STUB (lets everyone in): the gateway-keys helper replaces it (contract in /work/contract18.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._facade.api import ModelsAPI
    from .._types import Usage
    from .settings import GatewaySettings

__all__ = ["Admission", "Gatekeeper", "GatewayError"]


class GatewayError(Exception):
    """A request refused by the gateway, answered in OpenAI's error shape with `status`."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.key = key  # the refused key's name when known (403, 429), for metrics; never its secret


class Admission:
    """One admitted request: the key's name (never its secret), the model, what was reserved."""

    __slots__ = ("key", "model", "reserved")

    def __init__(self, key: str, model: str, reserved: Any = None) -> None:
        self.key = key
        self.model = model
        self.reserved = reserved


class Gatekeeper:
    """Checks a request's key, model, budget and rate limits; settles what the call cost."""

    def __init__(self, api: ModelsAPI, settings: GatewaySettings) -> None:
        self.api = api
        self.settings = settings
        self.key_names: tuple[str, ...] = ("anonymous",)

    async def admit(
        self,
        authorization: str | None,
        model: str,
        *,
        prompt: Sequence[Any] | None = None,
        inputs: Sequence[str] | None = None,
        max_tokens: int | None = None,
    ) -> Admission:
        """The request's admission, or `GatewayError` (401 no/bad key, 403 model not allowed, 429 over
        budget or rate limit) before anything is sent."""
        return Admission("anonymous", model)

    async def authenticate(self, authorization: str | None, *, admin: bool = False) -> str:
        """The name of the key in `authorization` ("Bearer <secret>"), or `GatewayError` (401 no/bad key,
        403 `admin` asked of a key that is not): for `/v1/models` and the admin's `/api/usage`."""
        return "anonymous"

    async def settle(self, admission: Admission, usage: Usage | None) -> None:
        """Charge what the call cost (`usage` None: it failed, release what was reserved)."""

    async def usage(self) -> dict[str, Any]:
        """Spend and tokens per key and model, for `/api/usage`."""
        return {"keys": {}}

    async def aclose(self) -> None:
        """Close connections (Redis) at shutdown."""
