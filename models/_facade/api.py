"""The facade: `ModelsAPI`, what `from models import models` gives.

Both turn keyword arguments into a `Prepared` and hand a `Target` to the service; a
binding prepares its bound parameters once, so a call without call-time parameters
builds no option dict at all.
"""

from __future__ import annotations

import _thread  # the lock, without importing threading (1.4 ms) before the first call
import builtins
import os
from types import ModuleType

from .. import errors as _errors
from ..errors import ModelNotFoundError
from .binding import ModelBinding, collect, fallback_ids

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~4 ms; mypy reads either
if TYPE_CHECKING:
    import datetime as _dt
    from collections.abc import Iterable, Mapping, Sequence
    from decimal import Decimal
    from typing import Any

    from prometheus_client import CollectorRegistry

    from .._call.budget import Budget
    from .._call.limits import Limit
    from .._call.resilience import Plan
    from .._call.service import ModelService, Prepared, Target
    from .._call.stream import AsyncStream, Stream
    from .._catalog.catalog import Capability, ModelInfo, ModelList
    from .._observe.health import ModelHealth
    from .._observe.hooks import Hook
    from .._observe.usage import Tracker, UsageReport
    from .._types import Response
    from ..providers._base import Provider
    from .router import Router

# Everything else is imported on first use: `from models import models` loads this module,
# `errors` and nothing heavy (no SDK, prometheus-client, dataclasses, decimal or asyncio).

__all__ = ["ModelsAPI"]

_STATUSES = ("active", "deprecated", "retired")
_MAX_TOKENS = 2**63 - 1  # a provider's token counter is at most an int64; more cannot be priced as a float
_ERROR_KINDS = frozenset(
    {"authentication", "rate_limit", "invalid_request", "context_window", "content_filter", "timeout", "connection"}
    | {"server", "other"}
)


def _iso_day(at: _dt.date | _dt.datetime | None) -> str | None:
    """The UTC calendar day of `at`, as the price history keys it."""
    import datetime as _dt

    if at is None:
        return None
    if isinstance(at, _dt.datetime):
        if at.tzinfo is not None:
            at = at.astimezone(_dt.timezone.utc)
        return at.date().isoformat()
    if isinstance(at, _dt.date):
        return at.isoformat()
    raise TypeError(f"at must be a date or datetime, not {type(at).__name__}")


def _int(name: str, value: object) -> int:
    """An int argument (not a bool, not a float), or a `TypeError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _usd_per_million(name: str, value: object) -> Decimal:
    """A price argument as an exact `Decimal`: a number (or a numeric string), finite and >= 0."""
    from .._pricing.overrides import parse_usd

    number = parse_usd(value, name)
    if not number.is_finite() or number < 0:
        raise ValueError(f"{name} must be a finite number >= 0, not {value!r:.40}")
    return number


def _blended(model: ModelInfo) -> Decimal:
    price = model.price
    assert price is not None
    return (3 * price.input + price.output) / 4


def _price_order(model: ModelInfo) -> tuple[int, Decimal, str]:
    from decimal import Decimal

    return (model.price is None, model.price.input if model.price is not None else Decimal(0), model.id)


class ModelsAPI:
    """Call any model in one line: `models("gpt-4o", "hello")`.

    `registry` is the Prometheus registry for this instance's metrics (default: the
    global one). `max_model_labels` caps how many model ids outside the catalog get a
    `model` label of their own; later ones are labelled "other". Retry back-off starts at
    `retry_initial_delay` seconds and doubles up to `retry_max_delay`.
    """

    errors: ModuleType = _errors

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        retry_initial_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        max_model_labels: int = 100,
    ) -> None:
        self._settings = (registry, retry_initial_delay, retry_max_delay, max_model_labels)
        self._lock = _thread.allocate_lock()

    _service: ModelService  # built on first use by __getattr__, then a plain attribute

    def __getattr__(self, name: str) -> Any:
        # Only reached while `_service` is missing: building it imports the whole library,
        # which `from models import models` must not pay for.
        if name != "_service":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        with self._lock:
            service = self.__dict__.get("_service")
            if service is None:
                from .._call.service import ModelService

                registry, initial, most, labels = self._settings
                service = self.__dict__["_service"] = ModelService(
                    registry, retry_initial_delay=initial, retry_max_delay=most, max_model_labels=labels
                )
        return service

    def __repr__(self) -> str:
        return f"<ModelsAPI providers={sorted(self._service.models.provider_classes.names)}>"

    def __call__(
        self,
        model: str,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """Call `model` with `prompt`; other keywords go to the provider SDK unchanged.

        `fallbacks`: models to try in order when `model` fails with a rate limit, timeout,
        connection or server error (after its own retries), or its context window overflows.
        """
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        if fallbacks is not None:
            from .._call.resilience import call_chain

            return call_chain(self._service, self._plan(model, fallbacks, params), prompt, system)
        target, prepared = self._prepare(model, params)
        return self._service.call(target, prompt, system, prepared)

    def stream(
        self,
        model: str,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Stream:
        """Iterate the answer's text pieces as they arrive; then `.response` has usage and cost.

        With `fallbacks`, the next model is tried only while no piece has arrived."""
        from .._call.stream import Stream

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        return Stream(self._service, self._plan(model, fallbacks, params), prompt, system)

    async def acall(
        self,
        model: str,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """`models(...)` for asyncio, on the provider SDK's native async client."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        if fallbacks is not None:
            from .._call.resilience import acall_chain

            return await acall_chain(self._service, self._plan(model, fallbacks, params), prompt, system)
        target, prepared = self._prepare(model, params)
        return await self._service.acall(target, prompt, system, prepared)

    def astream(
        self,
        model: str,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncStream:
        """`async for piece in models.astream(...)`; then `.response` has usage and cost."""
        from .._call.stream import AsyncStream

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        return AsyncStream(self._service, self._plan(model, fallbacks, params), prompt, system)

    def _prepare(self, model: str, params: dict[str, Any]) -> tuple[Target, Prepared]:
        service = self._service
        target = service.target(model)
        prepared = service.prepare(target, params) if params else target.default
        assert prepared is not None
        return target, prepared

    def _plan(self, model: str, fallbacks: Sequence[str] | None, params: dict[str, Any]) -> Plan:
        """The model and its fallbacks, each resolved and with the parameters translated for it."""
        return self._plan_models((model, *fallback_ids(fallbacks)), params)

    def _plan_models(self, models: Sequence[str], params: dict[str, Any]) -> Plan:
        return tuple(self._prepare(m, params) for m in models)

    def bind(
        self,
        model: str,
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> ModelBinding:
        """Resolve `model`, its provider and price once, for calls in a hot loop (fallbacks too)."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        return ModelBinding(self, model, system, params, fallback_ids(fallbacks))

    # -- resilience and routing ----------------------------------------------------------
    def router(
        self,
        candidates: Sequence[str] | None = None,
        strategy: str = "balanced",
        *,
        capabilities: Iterable[Capability | str] = (),
        provider: str | None = None,
        quality: Mapping[str, int] | None = None,
        weights: tuple[float, float] = (0.5, 0.5),
        fallback: bool = True,
        system: str | None = None,
        **params: Any,
    ) -> Router:
        """A `Router` over `candidates` (default: every active, priced catalog model with the
        `capabilities`, of `provider` if given) that picks a model per call by `strategy`:
        cost, latency, quality, balanced, round_robin or manual. With `fallback`, a failed
        call moves down the ranking. `params` are bound like `bind`'s."""
        from .router import Router

        return Router(
            self,
            candidates,
            strategy,
            capabilities=capabilities,
            provider=provider,
            quality=quality,
            weights=weights,
            fallback=fallback,
            system=system,
            params=params,
        )

    def limit(
        self,
        model: str,
        *,
        rpm: int | None = None,
        tpm: int | None = None,
        block: bool = True,
        store: str | None = None,
    ) -> Limit | None:
        """A client-side rate limit for a model ("openai/gpt-5") or a provider ("openai"): requests
        and tokens per minute. A call waits for capacity up to its timeout, or raises
        `RateLimitError` (with `retry_after`) at once when `block=False`. `store="redis://..."`
        shares the limit between processes. Neither rpm nor tpm removes the limit."""
        return self._service.limit(model, rpm, tpm, block, store)

    def health(self) -> dict[str, ModelHealth]:
        """Each model's circuit-breaker state, recent error rate and average latency.

        Recording starts with the first call to this, a router or a call with fallbacks."""
        return self._service.health().snapshot()

    def configure_resilience(
        self,
        *,
        fallback_on: Iterable[str] | None = None,
        failure_threshold: int = 3,
        cooldown: float = 30.0,
        max_cooldown: float = 300.0,
        window: float = 60.0,
    ) -> None:
        """Which error kinds move a call to its next model (default: rate_limit, timeout,
        connection, server), and the circuit breaker: `failure_threshold` consecutive failures
        put a model in cooldown for `cooldown` seconds (doubling up to `max_cooldown` while its
        probes fail); error rates are over the last `window` seconds. Resets health."""
        if fallback_on is not None:
            kinds = frozenset(fallback_on)
            unknown = kinds - _ERROR_KINDS
            if unknown or isinstance(fallback_on, str):
                kinds_list = ", ".join(sorted(_ERROR_KINDS))
                raise ValueError(f"fallback_on takes error kinds ({kinds_list}), not {fallback_on!r}")
            self._service.fallback_on = kinds
        self._service.health(
            failure_threshold=failure_threshold, cooldown=cooldown, max_cooldown=max_cooldown, window=window
        )

    # -- costs ---------------------------------------------------------------------------
    def cost(
        self,
        model: str,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cached_input_tokens: int = 0,
        cache_write_tokens: int = 0,
        reasoning_tokens: int = 0,
        at: _dt.date | _dt.datetime | None = None,
        *,
        cache_write_1h_tokens: int = 0,
    ) -> float | None:
        """USD for a usage of `model`, by the rules of a real call; None when it has no price.

        `at` picks the price in force on that day (UTC); default: today. `reasoning_tokens`
        are part of `output_tokens` and change nothing; `cache_write_1h_tokens` are the part
        of `cache_write_tokens` written for an hour (Anthropic).
        """
        counts = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "cached_input_tokens": cached_input_tokens,
            "cache_write_tokens": cache_write_tokens,
            "reasoning_tokens": reasoning_tokens,
            "cache_write_1h_tokens": cache_write_1h_tokens,
        }
        for name, count in counts.items():
            if not 0 <= _int(name, count) <= _MAX_TOKENS:
                raise ValueError(f"{name} must be a whole number from 0 to 2**63 - 1, not {count!r}")
        if cached_input_tokens + cache_write_tokens > input_tokens:
            raise ValueError("cached_input_tokens + cache_write_tokens are part of input_tokens and cannot exceed it")
        if cache_write_1h_tokens > cache_write_tokens:
            raise ValueError("cache_write_1h_tokens are part of cache_write_tokens and cannot exceed it")
        price = self._service.prices.lookup(self._service.models.resolve(model), _iso_day(at))
        if price is None:
            return None
        from .._costs import COST_SCALE

        units = price.cost_units(
            input_tokens, output_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens
        )
        return units / COST_SCALE

    # -- the catalog ---------------------------------------------------------------------
    def info(self, model: str) -> ModelInfo:
        """Everything known about a model (read-only), with the price in force today."""
        from dataclasses import replace

        info = self._service.models.resolve(model)
        return replace(info, price=self._service.prices.lookup(info))

    def list(
        self,
        provider: str | None = None,
        capability: Capability | str | None = None,
        capabilities: Iterable[Capability | str] = (),
        max_input_price: float | Decimal | None = None,
        status: str | None = "active",
    ) -> ModelList:
        """Catalog models that match every filter, with today's prices, cheapest input first.

        `status=None` includes deprecated and retired models; `max_input_price` is USD per 1M
        input tokens (unpriced models never pass it). The result is a `list` that shows as a
        table in a notebook.
        """
        from dataclasses import replace

        from .._catalog.catalog import Capability, ModelList

        if isinstance(capabilities, str):
            raise TypeError(f"capabilities must be a list, not one string: use capability={capabilities!r}")
        wanted = {Capability(c) for c in capabilities} | ({Capability(capability)} if capability else set())
        name = None if provider is None else self._service.models.provider_name(provider)
        if status is not None and status not in _STATUSES:
            raise ValueError(f"status must be one of {', '.join(_STATUSES)} or None (any), not {status!r}")
        limit = None if max_input_price is None else _usd_per_million("max_input_price", max_input_price)
        found = []
        for row in self._service.models.catalog.rows:
            if (name is not None and row.provider != name) or (status is not None and row.status != status):
                continue
            if not wanted <= row.capabilities:
                continue
            price = self._service.prices.lookup(row)
            if limit is not None and (price is None or price.input > limit):
                continue
            found.append(replace(row, price=price))
        return ModelList(sorted(found, key=_price_order))

    def cheapest(
        self, capabilities: Iterable[Capability | str] = (), min_context: int = 0, provider: str | None = None
    ) -> ModelInfo:
        """The active, priced model with these capabilities and context that costs least for a
        typical request (a 3:1 blend of input and output prices)."""
        _int("min_context", min_context)
        fits = [
            m
            for m in self.list(provider=provider, capabilities=capabilities)
            if m.price is not None and (m.context_window or 0) >= min_context
        ]
        if not fits:
            raise ModelNotFoundError(
                f"a model with {', '.join(map(str, capabilities)) or 'any capability'} and a context of at least "
                f"{min_context} tokens"
            )
        return min(fits, key=_blended)

    def search(self, query: str, limit: int = 10) -> builtins.list[ModelInfo]:
        """Catalog models whose id, name, display name or aliases contain every word of `query`."""
        from dataclasses import replace

        _int("limit", limit)
        return [replace(m, price=self._service.prices.lookup(m)) for m in self._service.models.catalog.search(query)][
            :limit
        ]

    def reload_costs(self) -> None:
        """Re-read the cost overrides from the environment; bindings pick them up too."""
        self._service.prices.reload()

    # -- usage ---------------------------------------------------------------------------
    def usage(self) -> UsageReport:
        """Totals per canonical model id since start or the last `reset_usage()`: a `dict`
        that shows as a table in a notebook."""
        from .._observe.usage import UsageReport

        return UsageReport(self._service.ledger.snapshot())

    def reset_usage(self) -> None:
        self._service.ledger.reset()

    def track(self) -> Tracker:
        """`with models.track() as t:` gives the totals of the calls made inside the block."""
        from .._observe.usage import Tracker

        return Tracker()

    # -- budgets -------------------------------------------------------------------------
    def budget(self, usd: float | Decimal | str) -> Budget:
        """`with models.budget(usd=0.50) as b:` — calls inside fail with `BudgetExceededError`
        once they would take `b` past its limit; `b.spent` is exact. Nests; follows tasks."""
        from .._call.budget import Budget

        return Budget(usd)

    def set_budget(self, usd: float | Decimal | str | None) -> Budget | None:
        """A limit for every call of this instance, from now on (None removes it)."""
        from .._call.budget import Budget

        self._service.budget = None if usd is None else Budget(usd)
        return self._service.budget

    # -- hooks ---------------------------------------------------------------------------
    def on_response(self, hook: Hook) -> Hook:
        """Call `hook(event)` after every successful call (a `CallEvent`); usable as a decorator."""
        self._service.hooks.add("response", hook)
        return hook

    def on_error(self, hook: Hook) -> Hook:
        """Call `hook(event)` after every failed call, with the error and its kind."""
        self._service.hooks.add("error", hook)
        return hook

    def remove_hook(self, hook: Hook) -> None:
        """Stop calling `hook`."""
        self._service.hooks.remove(hook)

    # -- providers -----------------------------------------------------------------------
    def register_provider(self, name: str, provider_class: type[Provider]) -> None:
        """Add (or replace) a provider; models `name/...` then go through it."""
        self._service.models.register(name, provider_class)
        self._service.forget_targets()

    def configure(self, provider: str, *, api_key: str | None = None, base_url: str | None = None) -> None:
        """Set a provider's key or base URL in code instead of the environment."""
        self._service.models.configure(provider, api_key, base_url)

    def resolve(self, model: str) -> ModelInfo:
        """What a model id string refers to: canonical id, provider, provider-side name."""
        return self._service.models.resolve(model)

    # -- metrics -------------------------------------------------------------------------
    @property
    def registry(self) -> CollectorRegistry:
        """The Prometheus registry this instance's metrics are on."""
        if self._service.prometheus_registry is None:
            from prometheus_client import REGISTRY

            return REGISTRY
        return self._service.prometheus_registry

    def serve_metrics(self, port: int, addr: str = "127.0.0.1") -> Any:
        """Serve `/metrics` on `addr:port` (a daemon thread); returns (server, thread).

        With `PROMETHEUS_MULTIPROC_DIR` set (gunicorn/uvicorn workers), it serves the sum over
        every worker process; otherwise this instance's registry.
        """
        from prometheus_client import CollectorRegistry, start_http_server

        if not 0 <= _int("port", port) <= 65535:
            raise ValueError(f"port must be from 0 to 65535 (0: any free port), not {port}")
        if not isinstance(addr, str):
            raise TypeError(f"addr must be a str like '127.0.0.1', not {type(addr).__name__}")
        self._service.metrics()
        registry = self.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        return start_http_server(port, addr, registry=registry)
