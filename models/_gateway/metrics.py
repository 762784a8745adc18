"""The gateway's Prometheus metrics, with a `key` label bounded to the configured keys' names.

| metric | type | labels |
|---|---|---|
| `models_gateway_requests_total` | counter | `key`, `model`, `status` ("ok" or the OpenAI error type answered) |
| `models_gateway_tokens_total` | counter | `key`, `model`, `type` (input, output, cached_input, ...) |
| `models_gateway_cost_usd_total` | counter | `key`, `model` |
| `models_gateway_request_duration_seconds` | histogram | `key` |

`key` is a configured key's name or "unauthenticated"; `model` a canonical id, the first 100
distinct ones, then "other": every label value is a time series kept forever, so a client must not
be able to grow them. The families are made once per registry (every `create_app` in a process
shares them). In one process the cost is kept in exact integer units and exposed at scrape time,
as the library's own cost is; under prometheus-client's multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`,
several workers) every family lives in its mmap files and `render` sums every worker's samples,
the library's `models_*` metrics included.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .._costs import COST_SCALE
from .._fork import fork_safe_lock
from .._observe.metrics import _DURATION_BUCKETS, TOKEN_TYPES
from .spend import cost_units

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric

    from .._types import Usage

__all__ = ["MAX_MODEL_LABELS", "GatewayMetrics"]

MAX_MODEL_LABELS = 100
_COST = ("models_gateway_cost_usd", "Cost in US dollars of the requests of each key, by model.")


class _Families:
    """The metric families of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Histogram, values

        self.requests = Counter(
            "models_gateway_requests",
            "Requests to the gateway, by key, model and outcome.",
            ("key", "model", "status"),
            registry=registry,
        )
        self.tokens = Counter(
            "models_gateway_tokens",
            "Tokens of the gateway's requests, by key, model and type.",
            ("key", "model", "type"),
            registry=registry,
        )
        self.duration = Histogram(
            "models_gateway_request_duration_seconds",
            "Wall time of the gateway's requests, by key.",
            ("key",),
            registry=registry,
            buckets=_DURATION_BUCKETS,
        )
        self.lock = fork_safe_lock()
        self.cost_units: dict[tuple[str, str], int] = {}  # one process: exact, exposed by `_Cost`
        self.cost: Counter | None = None
        if values.ValueClass is not values.MutexValue:  # prometheus-client's own multiprocess switch
            self.cost = Counter(*_COST, ("key", "model"), registry=registry)
        else:
            registry.register(_Cost(self))


class _Cost:
    """Exposes the exact cost per key and model when the registry is scraped."""

    def __init__(self, families: _Families) -> None:
        self._families = weakref.ref(families)

    def describe(self) -> list[Metric]:
        return list(self.collect())

    def collect(self) -> Iterator[Metric]:
        from prometheus_client.metrics_core import CounterMetricFamily

        family = CounterMetricFamily(*_COST, labels=("key", "model"))
        families = self._families()
        if families is not None:
            with families.lock:
                costs = list(families.cost_units.items())
            for labels, units in costs:
                family.add_metric(labels, units / COST_SCALE)
        yield family


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, _Families] = weakref.WeakKeyDictionary()
_LOCK = fork_safe_lock()


class GatewayMetrics:
    """Requests, tokens, cost and latency per key and model, on `registry` (default: prometheus-client's)."""

    def __init__(self, key_names: Sequence[str], registry: CollectorRegistry | None = None) -> None:
        from prometheus_client import REGISTRY

        self.key_names = tuple(key_names)
        self.registry = REGISTRY if registry is None else registry
        with _LOCK:
            families = _BY_REGISTRY.get(self.registry)
            if families is None:
                families = _BY_REGISTRY[self.registry] = _Families(self.registry)
        self._families = families
        self._keys = frozenset(self.key_names)
        self._models: set[str] = set()

    def _model(self, model: str) -> str:
        if model in self._models:
            return model
        if len(self._models) >= MAX_MODEL_LABELS:
            return "other"
        self._models.add(model)
        return model

    def record(self, key: str, model: str, status: str, usage: Usage | None, latency: float, stream: bool) -> None:
        """Count one request (`stream` is not a label: the library's own metrics tell streams apart)."""
        families = self._families
        key = key if key in self._keys else "unauthenticated"
        model = self._model(model)
        families.requests.labels(key, model, status).inc()
        families.duration.labels(key).observe(latency)
        if usage is None:
            return
        counts = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens,
            usage.cache_write_tokens,
            usage.reasoning_tokens,
        )
        for kind, count in zip(TOKEN_TYPES, counts):
            if count:
                families.tokens.labels(key, model, kind).inc(count)
        units = cost_units(usage)
        if units is None:
            return
        if families.cost is not None:
            families.cost.labels(key, model).inc(units / COST_SCALE)
        else:
            with families.lock:
                families.cost_units[key, model] = families.cost_units.get((key, model), 0) + units

    def render(self) -> tuple[bytes, str]:
        """`/metrics`: the exposition text and its content type; every worker's in multiprocess mode."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry: Any = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return generate_latest(registry), CONTENT_TYPE_LATEST
