"""`ModelService`: what every call gets regardless of provider — parameters, retries,
error normalisation, pricing, metrics and usage totals.

A `Target` is one model resolved once: its provider, price and metric children. The
facade caches targets by the string the caller wrote and bindings hold one, so a call
does no resolution, no price lookup and no label lookup.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .._catalog.capabilities import check_messages, check_options, check_streaming
from .._catalog.info import ModelInfo
from .._content.attachments import join, load
from .._content.messages import normalize
from .._content.output import OutputFormat, parse_output
from .._costs import COST_SCALE
from .._fork import fork_safe_lock
from .._observe import LOG_OFF
from .._observe.health import Health
from .._observe.hooks import CallEvent, Hooks
from .._observe.metrics import Metrics, metrics_for
from .._observe.observed import Observed, Observer
from .._observe.usage import UsageLedger, record_tracked
from .._pricing.book import PriceBook
from .._registry import SimpleModelRegistry
from .._types import Completion, Response, Usage
from ..errors import (
    ERROR_KINDS,
    InvalidRequestError,
    UnsupportedCapabilityError,
)
from ..providers._base import DEFAULT_TIMEOUT, Request
from ..providers._deadline import abounded, bounded
from .budget import Budget, Hold, scoped_budgets
from .holds import Holds
from .limits import Limits
from .outcomes import ModelsWarning
from .params import FEATURES, check_keywords, check_params, features
from .target import Prepared, Target

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = [
    "DEFAULT_FALLBACK_ON",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_TIMEOUT",
    "CallEvent",
    "ModelService",
    "ModelsWarning",
    "Prepared",
    "Target",
]

DEFAULT_MAX_RETRIES = 2
DEFAULT_FALLBACK_ON = frozenset({"rate_limit", "timeout", "connection", "server"})
"""The error kinds that move a call to its next model, until `configure_resilience(fallback_on=)`."""
# Ids a caller makes up (one per fine-tune, per user, ...) must not grow memory without bound.
_TARGET_CACHE_SIZE = 1024  # cached targets; past it the oldest is dropped (and rebuilt when used again)


def _join(options: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Add a hook's options without losing the caller's own under the same name: a list (Gemini's
    `config={"tools": [google_search]}` beside `tools=[fn]`) keeps the caller's items first, a dict
    (Anthropic's `output_config={"effort": "low"}` beside `response_format=`) is merged."""
    for name, value in extra.items():
        mine = options.get(name)
        if isinstance(mine, list) and isinstance(value, list):
            value = [*mine, *value]
        elif isinstance(mine, dict) and isinstance(value, dict):
            value = {**mine, **value}
        options[name] = value


class ModelService(Holds):
    """Runs calls for one `ModelsAPI`: owns the model registry, prices, metrics and usage."""

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        retry_initial_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        max_model_labels: int = 100,
    ) -> None:
        self.models = SimpleModelRegistry()
        self.prices = PriceBook(self.models)
        self.ledger = UsageLedger()
        self.prometheus_registry = registry
        self.retry_initial_delay = retry_initial_delay
        self.retry_max_delay = retry_max_delay
        self._metrics: Metrics | None = None
        self._targets: dict[str, Target] = {}
        self._lock = fork_safe_lock()
        self._warned: set[tuple[str, str]] = set()
        self.max_model_labels = max_model_labels
        self._extra_labels: set[str] = set()  # ids outside the catalog that got a label of their own
        self.budget: Budget | None = None  # set_budget: applies to every call of this instance
        self.hooks = Hooks()
        self.fallback_on: frozenset[str] = DEFAULT_FALLBACK_ON
        self.limits = Limits()
        self._health: Health | None = None  # made by the first fallback, router or health() call
        self.observers: tuple[Observer, ...] = ()  # the call log, tracing: replaced whole, read without a lock
        if "MODELS_LOG" in os.environ or "MODELS_OTEL" in os.environ:
            self._observe_from_environment()

    def _observe_from_environment(self) -> None:
        """`MODELS_LOG=path` (content unless `MODELS_LOG_CONTENT=0`) and `MODELS_OTEL=1`, read when
        the service is built (the first call), never at import."""
        path = os.environ.get("MODELS_LOG", "").strip()
        if path and path.lower() not in LOG_OFF:  # MODELS_LOG=0/off: no log, not a file named "0"
            from .._observe.calllog import open_log

            self.add_observer(open_log(path))
        if os.environ.get("MODELS_OTEL", "").strip().lower() in ("1", "true", "yes", "on"):
            from .._observe.tracing import Tracing

            self.add_observer(Tracing())

    def add_observer(self, observer: Observer) -> None:
        """Watch every later call (`models.log_to`, `models.instrument`)."""
        with self._lock:
            if observer not in self.observers:
                self.observers = (*self.observers, observer)

    def remove_observer(self, observer: Observer) -> None:
        with self._lock:
            self.observers = tuple(o for o in self.observers if o is not observer)

    def observe(self, target: Target, request: Request, *, stream: bool = False, current: bool = False) -> Observed:
        """The observers' view of a call about to be sent (only made when there are observers)."""
        return Observed(
            self.observers,
            "chat",
            target.info,
            request.messages,
            request.system,
            request.options,
            stream=stream,
            current=current,
        )

    def health(self, **settings: Any) -> Health:
        """The circuit breakers and latency averages of this instance's models, created on first use;
        from then on every call records its outcome (about 1 µs a call). `settings` replace them."""
        with self._lock:
            if self._health is None or settings:
                self._health = Health(**settings)
            return self._health

    def configure_resilience(self, fallback_on: Iterable[str] | None, **health: float) -> None:
        """`models.configure_resilience`: the error kinds that move a call to its next model, and a
        fresh `Health` with these settings (which checks them). Both are checked before either is set."""
        kinds = self.fallback_on
        if fallback_on is not None:
            kinds = frozenset(fallback_on)
            if kinds - set(ERROR_KINDS) or isinstance(fallback_on, str):
                raise ValueError(
                    f"fallback_on takes error kinds ({', '.join(sorted(ERROR_KINDS))}), not {fallback_on!r}"
                )
        self.health(**health)
        self.fallback_on = kinds

    # -- resolution ----------------------------------------------------------------------
    def metrics(self) -> Metrics:
        metrics = self._metrics
        if metrics is None:
            metrics = self._metrics = metrics_for(self.prometheus_registry)
        return metrics

    def target(self, model: str) -> Target:
        """The target for what a caller wrote, cached by that string."""
        try:
            target = self._targets.get(model)
        except TypeError:  # unhashable, so not a str: `resolve` says what a model id is
            target = None
        if target is None:
            info = self.models.resolve(model)
            provider = self.models.provider(info.provider)
            target = Target(
                info,
                provider,
                self.prices.current(info),
                self.prices.generation,
                self.metrics().for_model(info.provider, self._model_label(info)),
                self.ledger.totals(info.id, in_catalog=info.known and info.base is None),
            )
            target.default = self.prepare(target, {}, call=False)
            if info.status != "active":
                self._warn_lifecycle(info)
            with self._lock:
                targets = self._targets
                if len(targets) >= _TARGET_CACHE_SIZE:
                    del targets[next(iter(targets))]  # the oldest
                targets[model] = target
        return target

    def _model_label(self, info: ModelInfo) -> str:
        """The `model` label: catalog ids always; other ids (and fine-tunes) up to the cap, then "other".

        Every distinct label value is a time series kept forever, so ids a caller makes up
        (or one per fine-tune) must not grow them without bound.
        """
        if info.known and info.base is None:
            return info.id
        with self._lock:
            if info.id in self._extra_labels:
                return info.id
            if len(self._extra_labels) < self.max_model_labels:
                self._extra_labels.add(info.id)
                return info.id
        return "other"

    def forget_targets(self) -> None:
        """Drop cached targets (a provider was replaced); bindings keep the ones they hold."""
        with self._lock:
            self._targets = {}

    def prepared(self, model: str, params: dict[str, Any]) -> tuple[Target, Prepared]:
        """The target for `model` and the options of a call with `params` (the target's own when none)."""
        target = self.target(model)
        prepared = self.prepare(target, params) if params else target.default
        assert prepared is not None
        return target, prepared

    # -- parameters ----------------------------------------------------------------------
    def prepare(self, target: Target, params: Mapping[str, Any], *, call: bool = True) -> Prepared:
        """Check the parameters, split off timeout and retries, drop what the model rejects,
        translate the rest. For a `call` (not a `bind`), bad ones count as a refused request."""
        info, provider = target.info, target.provider
        if target.embeds:  # `models.embed` checks its own keywords; a call to it is refused in `request`
            return Prepared(dict(params), DEFAULT_TIMEOUT, DEFAULT_MAX_RETRIES)
        extras = None
        try:
            check_keywords(info, provider, params)
            check_params(info, params)
            check_options(info, params)
            if not FEATURES.isdisjoint(params):
                extras = features(info, params)
        except (InvalidRequestError, TypeError) as error:
            if call:
                self._refused(target, error)
            raise
        options = dict(params)
        timeout = options.pop("timeout", None)
        max_retries = options.pop("max_retries", None)
        for name in target.unsupported.intersection(options):
            del options[name]
            self._warn_once(info.id, name, f"{info.id} does not accept {name!r}; it was not sent.", 4)
        timeout = DEFAULT_TIMEOUT if timeout is None else float(timeout)
        max_retries = DEFAULT_MAX_RETRIES if max_retries is None else int(max_retries)
        if extras is None:
            return Prepared(provider.translate(info, options), timeout, max_retries)
        for name in FEATURES:
            options.pop(name, None)
        tools, output, run, rounds, attachments = extras
        translated = provider.translate(info, options)
        if tools is not None:
            _join(translated, provider.tool_options(info, tools))
        if output is not None:
            _join(translated, provider.output_options(info, output))
        return Prepared(translated, timeout, max_retries, tools, output, run, rounds, attachments)

    # -- the call ------------------------------------------------------------------------
    def request(
        self, target: Target, prompt: object, system: str | None, prepared: Prepared, stream: bool = False
    ) -> Request:
        """Validate the prompt, and for a `stream` that the model can stream (bad input fails here,
        before anything is sent), into a `Request`."""
        info = target.info
        try:
            if target.embeds:
                raise UnsupportedCapabilityError(info.id, "text_output", "it is an embedding model: use models.embed")
            if stream:
                check_streaming(info)
            system, messages = normalize(prompt, system, info.id)
            extra = prepared.attachments
            if extra or not isinstance(prompt, str):  # a string alone has no files
                if extra:
                    messages = join(messages, extra, info.id)
                if target.checks_parts:
                    check_messages(info, messages)
                provider = target.provider
                messages = load(messages, provider.fetches_url, provider.inline_limit, info.id, prepared.timeout)
        except (InvalidRequestError, TypeError) as error:
            self._refused(target, error)
            raise
        return Request(target.info, messages, system, prepared.options, prepared.timeout)

    def start(self, target: Target) -> float:
        """Begin a call: refresh the price if `reload_costs()` or a scheduled price change replaced it,
        raise the in-flight gauge."""
        until = target.price_until
        if target.price_generation != self.prices.generation or (until is not None and time.time() >= until):
            target.price, target.price_until = self.prices.current(target.info)
            target.price_generation = self.prices.generation
        target.metrics.begin()
        return time.perf_counter()

    def call(self, target: Target, prompt: object, system: str | None, prepared: Prepared) -> Response:
        """One call: validate, attempt with retries, then price and record it."""
        request = self.request(target, prompt, system, prepared)
        provider = target.provider
        # The common case, no budget and no limit, decided without a call.
        holds = self.budget is not None or self.limits.table or scoped_budgets()
        hold = self.hold(target, request, prepared) if holds else None
        start = self.start(target)
        observed = self.observe(target, request, current=True) if self.observers else None
        attempt = 0
        try:
            while True:
                try:
                    completion = bounded(request.timeout, provider.complete, request)
                    break
                except Exception as exc:
                    time.sleep(self.retry_delay(target, exc, attempt, prepared, start, observed))
                    attempt += 1
        except BaseException as exc:  # counted by `fail` (or cancelled): in-flight down, budget back
            target.metrics.end()
            if hold is not None:
                hold.release()
            if observed is not None:
                observed.abandoned(exc, start)
            raise
        return self.finish(target, completion, time.perf_counter() - start, hold, False, prepared.output, observed)

    async def acall(self, target: Target, prompt: object, system: str | None, prepared: Prepared) -> Response:
        """`call` on the provider's native asyncio client."""
        import asyncio  # here, not at the top: only async code gets here, and `import models` stays light

        request = self.request(target, prompt, system, prepared)
        provider = target.provider
        holds = self.budget is not None or self.limits.table or scoped_budgets()
        hold = await self.ahold(target, request, prepared) if holds else None
        start = self.start(target)
        observed = self.observe(target, request, current=True) if self.observers else None
        attempt = 0
        try:
            while True:
                try:
                    completion = await abounded(request.timeout, provider.acomplete(request))
                    break
                except Exception as exc:
                    await asyncio.sleep(self.retry_delay(target, exc, attempt, prepared, start, observed))
                    attempt += 1
        except BaseException as exc:  # counted by `fail` (or cancelled): in-flight down, budget back
            target.metrics.end()
            if hold is not None:
                hold.release()
            if observed is not None:
                observed.abandoned(exc, start)
            raise
        return self.finish(target, completion, time.perf_counter() - start, hold, False, prepared.output, observed)

    def finish(
        self,
        target: Target,
        c: Completion,
        latency: float,
        hold: Hold | None = None,
        closed_early: bool = False,
        output: OutputFormat | None = None,
        observed: Observed | None = None,
    ) -> Response:
        """Price a finished call, record it in metrics and usage, and build its `Response`.

        Without a price or without the provider's usage (`closed_early`: the caller stopped the
        stream first) the cost is unknown: `None`, counted as unpriced, never 0. With an `output`
        format the answer is parsed into `Response.parsed` after it is counted (its tokens were
        spent either way), or `StructuredOutputError` is raised.
        """
        usage = self.account(target, c, latency, hold, closed_early, observed)
        info = target.info
        response = Response(c.text, info.id, info.provider, usage, c.finish_reason, latency, c.raw)
        calls = c.tool_calls
        if calls:
            response._tool_calls = tuple(calls)
        elif output is not None and not closed_early:
            response._parsed = parse_output(output, response)
        return response

    def account(
        self,
        target: Target,
        c: Completion,
        latency: float,
        hold: Hold | None = None,
        closed_early: bool = False,
        observed: Observed | None = None,
    ) -> Usage:
        """Price what a finished call (or embedding) used and record it: metrics, health, budgets and
        limits settled, usage totals, `track()` blocks, `on_response` hooks."""
        price = target.price
        if price is None or not c.usage_reported:
            units = None
            cost = None
            row = None
            source = "none" if price is None else price.origin
            self._warn_unpriced(target, price is None, closed_early)
        else:
            row = price.for_input(c.input_tokens)  # the long-context tier, if the request reaches one
            units = row.flat_cost_units(
                c.input_tokens, c.output_tokens, c.cached_input_tokens, c.cache_write_tokens, c.cache_write_1h_tokens
            )
            cost = units / COST_SCALE
            source = price.origin
        target.metrics.ok(c, units, latency)
        if self._health is not None:
            self._health.record(target.info.id, True, latency)
        if hold is not None:  # an unknown cost keeps its reserved estimate (0 for a model without a price)
            hold.settle(hold.units if units is None else units, c.input_tokens + c.output_tokens)
        target.totals.add(c, units)
        record_tracked(c, units)
        usage = Usage(
            c.input_tokens,
            c.output_tokens,
            c.cached_input_tokens,
            c.cache_write_tokens,
            c.reasoning_tokens,
            cost,
            c.cache_write_1h_tokens,
            source,
            row,
        )
        if observed is not None:
            observed.ok(c, usage, latency)
        if self.hooks.response:
            info = target.info
            self.hooks.emit(self.hooks.response, CallEvent(info.id, info.provider, usage, cost, latency, None, None))
        return usage
