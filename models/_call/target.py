"""`Target` (one model resolved once: provider, price, metric counters, usage totals) and
`Prepared` (a call's options translated for its provider): what a binding holds and a call reads,
so the call does no resolution, price lookup or label lookup."""

from __future__ import annotations

from typing import Any

from .._catalog.capabilities import has_capability_data
from .._catalog.info import ModelInfo
from .._costs import Price
from .._observe.metrics import ModelMetrics
from .._observe.usage import _Totals
from ..providers._base import Provider

__all__ = ["Prepared", "Target"]


class Prepared:
    """Call options translated for one provider: SDK keyword arguments, timeout, retries."""

    __slots__ = ("max_retries", "options", "timeout")

    def __init__(self, options: dict[str, Any], timeout: float, max_retries: int) -> None:
        self.options = options
        self.timeout = timeout
        self.max_retries = max_retries


class Target:
    """One resolved model and everything a call to it needs, looked up once."""

    __slots__ = (
        "checks_parts",
        "default",
        "info",
        "metrics",
        "price",
        "price_generation",
        "price_until",
        "provider",
        "totals",
        "unsupported",
        "warned",
    )

    def __init__(
        self,
        info: ModelInfo,
        provider: Provider,
        price: tuple[Price | None, float | None],
        generation: int,
        metrics: ModelMetrics,
        totals: _Totals,
    ) -> None:
        self.info = info
        self.provider = provider
        self.price, self.price_until = price  # the row in force, and when (epoch s) a scheduled one replaces it
        self.price_generation = generation
        self.metrics = metrics
        self.totals = totals
        self.unsupported = provider.unsupported_for(info)
        self.checks_parts = has_capability_data(info)  # decided once: prompt parts are checked per call
        self.default: Prepared | None = None  # the options of a call that passes no parameters
        self.warned: set[str] = set()  # why its cost was None, once said: a call checks here, not the warned set
