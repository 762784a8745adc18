"""The gateway's Prometheus metrics, with a `key` label bounded to the configured keys' names.

STUB: the gateway-keys helper replaces it (contract in /work/contract18.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._types import Usage

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    """Requests, tokens, cost and latency per key and model."""

    def __init__(self, key_names: Sequence[str]) -> None:
        self.key_names = tuple(key_names)

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        """Count one request."""

    def render(self) -> tuple[bytes, str]:
        """`/metrics`: the exposition text and its content type (every worker's in multiprocess mode)."""
        from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
