"""The facade: `ModelsAPI`, what `from models import models` gives.

Both turn keyword arguments into a `Prepared` and hand a `Target` to the service; a
binding prepares its bound parameters once, so a call without call-time parameters
builds no option dict at all.
"""

from __future__ import annotations

import _thread  # the lock, without importing threading (1.4 ms) before the first call
import builtins
from types import ModuleType

from .. import errors as _errors
from .binding import ModelBinding, collect, embed_params, fallback_ids

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~4 ms; mypy reads either
if TYPE_CHECKING:
    import datetime as _dt
    import os
    from collections.abc import Iterable, Mapping, Sequence
    from decimal import Decimal
    from typing import Any

    from prometheus_client import CollectorRegistry

    from .._call.budget import Budget
    from .._call.limits import Limit
    from .._call.resilience import Plan
    from .._call.service import ModelService
    from .._call.stream import AsyncStream, Stream
    from .._catalog.info import Capability, ModelInfo, ModelList
    from .._content.attachments import Attachment
    from .._content.tools import Tool
    from .._embeddings import Embeddings
    from .._observe.calllog import CallLog
    from .._observe.health import ModelHealth
    from .._observe.hooks import Hook
    from .._observe.tracing import Tracing
    from .._observe.usage import Tracker, UsageReport
    from .._types import Response
    from ..providers._base import Provider
    from .router import Router

# Everything else is imported on first use: `from models import models` loads this module,
# `errors` and nothing heavy (no SDK, prometheus-client, dataclasses, decimal or asyncio).

__all__ = ["ModelsAPI"]


class ModelsAPI:
    """Call any model in one line: `models("gpt-4o", "hello")`.

    `registry` is the Prometheus registry for this instance's metrics (default: the
    global one). `max_model_labels` caps how many model ids outside the catalog get a
    `model` label of their own; later ones are labelled "other". Retry back-off starts at
    `retry_initial_delay` seconds and doubles up to `retry_max_delay`.
    """

    errors: ModuleType = _errors

    @property
    def Attachment(self) -> type[Attachment]:  # `models.Attachment(...)` on the instance, as SPEC §10 writes it
        """`models.Attachment(path=|url=|data=, media_type=None)`: a file for the prompt."""
        from .._content.attachments import Attachment

        return Attachment

    @property
    def Tool(self) -> type[Tool]:  # `models.Tool(...)` on the instance too, as SPEC §8 writes it
        """`models.Tool(name, description, parameters, fn=None)`: a tool given by hand."""
        from .._content.tools import Tool

        return Tool

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
            from .._call.tool_loop import call_plan

            return call_plan(self._service, self._plan(model, fallbacks, params), prompt, system)
        target, prepared = self._service.prepared(model, params)
        if prepared.run_tools:
            from .._call.tool_loop import call_plan

            return call_plan(self._service, ((target, prepared),), prompt, system)
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
        from .._call.tool_loop import stream_for

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        return stream_for(self._service, self._plan(model, fallbacks, params), prompt, system)

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
            from .._call.tool_loop import acall_plan

            return await acall_plan(self._service, self._plan(model, fallbacks, params), prompt, system)
        target, prepared = self._service.prepared(model, params)
        if prepared.run_tools:
            from .._call.tool_loop import acall_plan

            return await acall_plan(self._service, ((target, prepared),), prompt, system)
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
        from .._call.tool_loop import astream_for

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        return astream_for(self._service, self._plan(model, fallbacks, params), prompt, system)

    def embed(
        self,
        model: str,
        inputs: str | Sequence[str],
        *,
        dimensions: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> Embeddings:
        """Embed `inputs` with an embedding model: `Embeddings.vectors[i]` is input i's vector, with usage
        and exact cost. Large inputs go in batches the provider takes; other keywords go to its SDK."""
        from .._call.embed import embed

        target = self._service.target(model)
        return embed(self._service, target, inputs, embed_params(kwargs, dimensions, timeout, max_retries))

    async def aembed(
        self,
        model: str,
        inputs: str | Sequence[str],
        *,
        dimensions: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> Embeddings:
        """`embed` on the provider's asyncio client, a few batches at once."""
        from .._call.embed import aembed

        target = self._service.target(model)
        return await aembed(self._service, target, inputs, embed_params(kwargs, dimensions, timeout, max_retries))

    def _plan(self, model: str, fallbacks: Sequence[str] | None, params: dict[str, Any]) -> Plan:
        """The model and its fallbacks, each resolved and with the parameters translated for it."""
        from .._call.resilience import plan

        return plan(self._service, (model, *fallback_ids(fallbacks)), params)

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
        return ModelBinding(self._service, model, system, params, fallback_ids(fallbacks))

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
            self._service,
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
        self._service.configure_resilience(
            fallback_on,
            failure_threshold=failure_threshold,
            cooldown=cooldown,
            max_cooldown=max_cooldown,
            window=window,
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
        return self._service.prices.cost(
            self._service.models.resolve(model),
            at,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_tokens=cached_input_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            cache_write_1h_tokens=cache_write_1h_tokens,
        )

    # -- the catalog ---------------------------------------------------------------------
    def info(self, model: str) -> ModelInfo:
        """Everything known about a model (read-only), with the price in force today."""
        from .._catalog.queries import with_price

        return with_price(self._service.models.resolve(model), self._service.prices.lookup)

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
        from .._catalog.queries import select

        service = self._service
        name = None if provider is None else service.models.provider_name(provider)
        return select(
            service.models.catalog, service.prices.lookup, name, capability, capabilities, max_input_price, status
        )

    def cheapest(
        self, capabilities: Iterable[Capability | str] = (), min_context: int = 0, provider: str | None = None
    ) -> ModelInfo:
        """The active, priced model with these capabilities and context that costs least for a
        typical request (a 3:1 blend of input and output prices)."""
        from .._catalog.queries import cheapest, whole

        whole("min_context", min_context)  # before listing: a bad argument fails whatever the catalog holds
        return cheapest(self.list(provider=provider, capabilities=capabilities), capabilities, min_context)

    def search(self, query: str, limit: int = 10) -> builtins.list[ModelInfo]:
        """Catalog models whose id, name, display name or aliases contain every word of `query`."""
        from .._catalog.queries import search

        return search(self._service.models.catalog, self._service.prices.lookup, query, limit)

    def reload_costs(self) -> None:
        """Re-read the cost overrides and the `MODELS_CATALOG` file from the environment; bindings
        pick up the new prices too."""
        self._service.models.load_catalog()
        self._service.forget_targets()
        self._service.prices.reload()

    def register_model(
        self,
        id: str,
        *,
        context_window: int | None = None,
        max_output: int | None = None,
        capabilities: Iterable[Capability | str] | None = None,
        price: Mapping[str, float | Decimal | str] | None = None,
        aliases: Iterable[str] = (),
        base: str | None = None,
    ) -> ModelInfo:
        """Add or replace a catalog row of this instance: `id` is 'provider/name'; `price` has `input`
        and `output` (and optionally `cached_input`, `cache_write`, `cache_write_1h`) in USD per 1M
        tokens; `aliases` are more names for it; `base` is the catalog model it is (an Azure
        deployment of 'openai/gpt-4o'), whose limits, capabilities and price apply unless given.
        Registering over a catalog id keeps what is not given. Returns the row, priced."""
        info = self._service.models.register_model(
            id,
            context_window=context_window,
            max_output=max_output,
            capabilities=capabilities,
            price=price,
            aliases=aliases,
            base=base,
        )
        self._service.forget_targets()
        self._service.prices.forget()
        return self.info(info.id)

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

    # -- call log and tracing (SPEC §13) -------------------------------------------------
    def log_to(self, path: str | os.PathLike[str] | None, *, content: bool | None = None) -> CallLog | None:
        """Record every later call of this instance in the SQLite file at `path` (None: stop).

        Written by a background thread, so a call only queues its row; `content=False` (or
        `MODELS_LOG_CONTENT=0` when not given) leaves prompts and answers out. `MODELS_LOG=path`
        does the same from the environment."""
        from .._observe.calllog import CallLog, open_log

        service = self._service
        for observer in service.observers:
            if isinstance(observer, CallLog):
                service.remove_observer(observer)
        if path is None:
            return None
        log = open_log(path, content)
        service.add_observer(log)
        return log

    def instrument(self, tracer_provider: Any = None, *, content: bool | None = None) -> Tracing:
        """Emit an OpenTelemetry span per call of this instance (GenAI semantic conventions), on
        `tracer_provider` or the global one; needs `pip install 'models[otel]'`. Prompts and answers
        are left out unless `content=True` (or `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true`).
        `MODELS_OTEL=1` does the same from the environment."""
        from .._observe.tracing import Tracing

        self.uninstrument()
        tracing = Tracing(tracer_provider, content=content)
        self._service.add_observer(tracing)
        return tracing

    def uninstrument(self) -> None:
        """Stop emitting spans."""
        from .._observe.tracing import Tracing

        service = self._service
        for observer in service.observers:
            if isinstance(observer, Tracing):
                service.remove_observer(observer)

    # -- providers -----------------------------------------------------------------------
    def register_provider(self, name: str, provider_class: type[Provider]) -> None:
        """Add (or replace) a provider; models `name/...` then go through it."""
        self._service.models.register(name, provider_class)
        self._service.forget_targets()
        self._service.prices.forget()  # a local provider replaced by a priced one, or the reverse

    def register_openai_compatible(
        self, name: str, base_url: str, api_key_env: str | None = None, *, local: bool = False
    ) -> None:
        """Add (or replace) an OpenAI-compatible endpoint as provider `name`: models `name/...` go to
        `base_url` with the key from `api_key_env` (no key at all when None; never another service's).
        `local=True`: its models run on your hardware and cost 0 unless a cost override prices them."""
        self._service.models.register_compatible(name, base_url, api_key_env, local)
        self._service.forget_targets()
        self._service.prices.forget()  # `local` decides its models' price

    def configure(
        self, provider: str, *, api_key: str | None = None, base_url: str | None = None, **options: Any
    ) -> None:
        """Set a provider's key, base URL or client options in code instead of the environment
        (Azure: `api_version`, `azure_ad_token_provider`; OpenAI-compatible services: `headers`)."""
        self._service.models.configure(provider, api_key, base_url, options)

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
        from .._observe.metrics import serve

        self._service.metrics()
        return serve(self.registry, port, addr)
