"""Recent calls and spend over time, in memory, for the web page and `/api/calls`.

STUB: the gateway-page helper replaces it (contract in /work/contract18.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._types import Usage

__all__ = ["History"]


class History:
    """The last `size` calls of this worker, and its spend per key and model per minute."""

    def __init__(self, size: int = 200) -> None:
        self.size = size

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        """Remember one request."""

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        """The latest calls, newest first."""
        return []
