"""OpenTelemetry spans per call (SPEC §13), following the GenAI semantic conventions.

STUB: the helper building issue 17's tracing replaces this module (contract in /work/contract17.md).
"""

from __future__ import annotations

from typing import Any

from .._types import Completion, Usage
from .observed import Observed

__all__ = ["Tracing"]


class Tracing:
    """Emits one span per call on a tracer of `tracer_provider` (the global one when None)."""

    def __init__(self, tracer_provider: Any = None, *, content: bool | None = None) -> None:
        self.tracer_provider = tracer_provider
        self.content = content

    def begin(self, call: Observed) -> object:
        return None

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        return None

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        return None
