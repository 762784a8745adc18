"""The web page at `/` and its JSON endpoints.

STUB: the gateway-page helper replaces it (contract in /work/contract18.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import GatewayState

__all__ = ["routes"]


def routes(state: GatewayState) -> list[Any]:
    """Starlette routes for `/` (the page), its static files and `/api/calls`."""
    return []
