"""What one gateway process holds: its `ModelsAPI`, the gatekeeper, metrics, history, settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._facade.api import ModelsAPI
    from .._types import Usage
    from .gate import Admission, Gatekeeper
    from .history import History
    from .metrics import GatewayMetrics
    from .settings import GatewaySettings

__all__ = ["GatewayState"]


@dataclass
class GatewayState:
    """One worker's state, made by `create_app` and kept on `app.state.gateway`."""

    api: ModelsAPI
    gate: Gatekeeper
    metrics: GatewayMetrics
    history: History
    settings: GatewaySettings

    def record(
        self, admission: Admission, model: str, status: str, usage: Usage | None, latency: float, stream: bool
    ) -> None:
        """After every request that reached a model (or was refused for a key): metrics and history.

        `status` is "ok" or the OpenAI error type the client got."""
        self.metrics.record(admission.key, model, status, usage, latency, stream)
        self.history.record(admission.key, model, status, usage, latency, stream)
