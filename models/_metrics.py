"""Prometheus metric families (SPEC §5), created once per registry, and per-model label children.

Families are created on a `ModelsAPI`'s first call, not at import. Every child a call
touches is resolved once per model and kept, so a call does no label lookups.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics import Counter, Gauge, Histogram

__all__ = ["TOKEN_TYPES", "Metrics", "ModelMetrics", "metrics_for"]

TOKEN_TYPES = ("input", "output", "cached_input", "cache_write", "reasoning")
# LLM calls take from tens of milliseconds to minutes.
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
_TTFT_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ModelMetrics:
    """The label children of one model; errors and retries are resolved on first use per kind."""

    __slots__ = (
        "_errors",
        "_families",
        "_labels",
        "_retries",
        "cost",
        "duration",
        "in_flight",
        "ok",
        "tokens",
        "ttft",
        "unpriced",
    )

    def __init__(self, families: Metrics, provider: str, model: str) -> None:
        self._families = families
        self._labels = (provider, model)
        self._errors: dict[str, Counter] = {}
        self._retries: dict[str, Counter] = {}
        self.ok = families.requests.labels(provider, model, "ok")
        self.tokens = tuple(families.tokens.labels(provider, model, t) for t in TOKEN_TYPES)
        self.cost = families.cost.labels(provider, model)
        self.duration = families.duration.labels(provider, model)
        self.ttft = families.ttft.labels(provider, model)
        self.in_flight = families.in_flight.labels(provider, model)
        self.unpriced = families.unpriced.labels(provider, model)

    def error(self, kind: str) -> Counter:
        child = self._errors.get(kind)
        if child is None:
            child = self._errors[kind] = self._families.requests.labels(*self._labels, kind)
        return child

    def retry(self, kind: str) -> Counter:
        child = self._retries.get(kind)
        if child is None:
            child = self._retries[kind] = self._families.retries.labels(*self._labels, kind)
        return child


class Metrics:
    """All families of one registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        labels = ("provider", "model")
        self.requests = Counter(
            "models_requests",
            "Calls, once each whatever their retries, by outcome.",
            (*labels, "status"),
            registry=registry,
        )
        self.tokens = Counter("models_tokens", "Tokens by type.", (*labels, "type"), registry=registry)
        self.cost = Counter("models_cost_usd", "Cost in US dollars of priced calls.", labels, registry=registry)
        self.duration: Histogram = Histogram(
            "models_request_duration_seconds",
            "Wall time of a call, retries included.",
            labels,
            registry=registry,
            buckets=_DURATION_BUCKETS,
        )
        self.ttft: Histogram = Histogram(
            "models_time_to_first_token_seconds",
            "Time from call to the first streamed piece.",
            labels,
            registry=registry,
            buckets=_TTFT_BUCKETS,
        )
        # Under PROMETHEUS_MULTIPROC_DIR, the sum over live worker processes.
        self.in_flight: Gauge = Gauge(
            "models_in_flight_requests",
            "Calls started and not yet finished.",
            labels,
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.retries = Counter(
            "models_retries",
            "Retried attempts, by the error that caused them.",
            (*labels, "reason"),
            registry=registry,
        )
        self.unpriced = Counter(
            "models_unpriced_requests",
            "Successful calls to a model with no price (cost unknown).",
            labels,
            registry=registry,
        )
        self._children: dict[tuple[str, str], ModelMetrics] = {}
        self._lock = threading.Lock()

    def for_model(self, provider: str, model: str) -> ModelMetrics:
        key = (provider, model)
        children = self._children.get(key)
        if children is None:
            with self._lock:
                children = self._children.get(key)
                if children is None:
                    children = self._children[key] = ModelMetrics(self, provider, model)
        return children


_BY_REGISTRY: weakref.WeakKeyDictionary[CollectorRegistry, Metrics] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def metrics_for(registry: CollectorRegistry | None) -> Metrics:
    """The families on `registry` (default: `prometheus_client.REGISTRY`), created on first request.

    Shared by every `ModelsAPI` on the same registry, since a registry takes a name once.
    """
    if registry is None:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    with _LOCK:
        metrics = _BY_REGISTRY.get(registry)
        if metrics is None:
            metrics = _BY_REGISTRY[registry] = Metrics(registry)
        return metrics
