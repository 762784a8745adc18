"""How a call ends when it does not simply succeed, for `ModelService`: a failure normalised to our
error class and counted once (metrics, health, usage totals, `track()`, hooks, observers), a retry
decided, a call refused before sending counted, and the warnings a service gives once per model.

`Outcomes` is the service's base class (through `Holds`), apart so that service.py reads as the
path of a call; it holds no state of its own.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, NoReturn

from .._observe.hooks import CallEvent
from .._observe.observed import Observed
from .._observe.usage import record_tracked_error
from .._pricing.overrides import env_name
from ..errors import ProviderError
from ..providers._common import error_for_status
from .retry import delay_before_retry

if TYPE_CHECKING:
    import threading

    from .._catalog.info import ModelInfo
    from .._observe.health import Health
    from .._observe.hooks import Hooks
    from .._observe.observed import Observer
    from .._registry import SimpleModelRegistry
    from ..providers._base import Provider
    from .target import Prepared, Target

__all__ = ["ModelsWarning", "Outcomes"]

# Failures that say a model is unwell (they count towards its circuit breaker); others, like
# a caller's invalid request, say nothing about it.
_UNHEALTHY = frozenset({"rate_limit", "timeout", "connection", "server"})
_MAX_WARNED = 1024  # (model, topic) warnings remembered; past it, one more per topic, then none


class ModelsWarning(UserWarning):
    """Something was dropped or is unknown, and the call went ahead anyway."""


def _unmapped(provider: Provider, exc: Exception, bug: Exception) -> ProviderError:
    """The error for `exc` when `provider.map_error` itself raised: the class its HTTP status
    gives (a 429 is still a retryable `RateLimitError`), and the bug logged with its traceback."""
    import logging  # here: only a failing mapping gets here

    logging.getLogger("models").error("models: %r.map_error failed on %s", provider, type(exc).__name__, exc_info=bug)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    message = f"{provider.name} raised {type(exc).__name__}, and mapping it failed ({type(bug).__name__}; logged)."
    return error_for_status(status)(message, provider=provider.name, status_code=status)


class Outcomes:
    """Failures, refusals and warnings of the service's calls (see the module's docstring)."""

    # What the service holds that these read (`ModelService.__init__` sets them).
    models: SimpleModelRegistry
    hooks: Hooks
    observers: tuple[Observer, ...]
    retry_initial_delay: float
    retry_max_delay: float
    _health: Health | None
    _warned: set[tuple[str, str]]
    _lock: threading.Lock

    def retry_delay(
        self,
        target: Target,
        exc: Exception,
        attempt: int,
        prepared: Prepared,
        start: float,
        observed: Observed | None = None,
    ) -> float:
        """Seconds to wait before attempt `attempt + 1`; or, when `exc` is final, count it once and
        raise it normalised (the SDK's exception as `__cause__`)."""
        error = self._normalize_error(target.provider, exc, target.info)
        if error is not None and error.retryable and attempt < prepared.max_retries:
            delay = delay_before_retry(error, attempt, self.retry_initial_delay, self.retry_max_delay)
            if delay is not None:
                target.metrics.retry(error.kind)
                return delay
        self.fail(target, exc, start, error, observed)

    def fail(
        self,
        target: Target,
        exc: Exception,
        start: float,
        error: ProviderError | None = None,
        observed: Observed | None = None,
    ) -> NoReturn:
        """Count a final failure under its kind and raise it normalised."""
        if error is None:
            error = self._normalize_error(target.provider, exc, target.info)
        self._record_error(target, error if error is not None else exc, start, observed=observed)
        if error is None or error is exc:
            raise exc
        raise error from exc

    def _normalize_error(self, provider: Provider, exc: Exception, info: ModelInfo) -> ProviderError | None:
        provider.scrub_error(exc)  # raised as is, kept as the cause or logged: it must not print the key
        try:
            error = provider.map_error(exc, info)
        except Exception as bug:  # a mapping that fails must not turn a provider's error into a raw one
            error = _unmapped(provider, exc, bug)
        if error is not None:
            if error.provider is None:
                error.provider = info.provider
            if error.model is None:
                error.model = info.id
            if error.status_code == 404 and not info.known:  # most likely a typo in a model name
                close = self.models.catalog.suggest(info.name)
                if close:
                    error.message += f" Did you mean {', '.join(map(repr, close))}?"
        return error

    def _warn_lifecycle(self, info: ModelInfo) -> None:
        when = f" on {info.sunset}" if info.sunset else ""
        state = f"stops answering{when}" if info.status == "deprecated" else f"was retired{when}"
        instead = f"; use {info.replacement} instead" if info.replacement else ""
        self._warn_once(info.id, "lifecycle", f"{info.id} {state}{instead}.", 5)

    def _record_error(
        self,
        target: Target,
        error: BaseException,
        start: float,
        *,
        counts_for_health: bool = True,
        kind: str | None = None,
        observed: Observed | None = None,
    ) -> None:
        if kind is None:
            kind = error.kind if isinstance(error, ProviderError) else "other"
        latency = time.perf_counter() - start
        if observed is not None:
            observed.error(error, kind, latency)
        target.metrics.error(kind, latency)
        health = self._health
        if health is not None:
            if counts_for_health and kind in _UNHEALTHY:
                health.record(target.info.id, False)
            else:
                health.release(target.info.id)
        target.totals.add_error()
        record_tracked_error()
        if self.hooks.error:
            info = target.info
            self.hooks.emit(self.hooks.error, CallEvent(info.id, info.provider, None, None, latency, kind, error))

    def _refused(self, target: Target, error: Exception, operation: str = "chat") -> None:
        """Bad input refused before sending: counted once as `invalid_request` (the kind the provider's
        400 would have had), and nothing against the model's health."""
        observed = self._unsent(target, operation)
        self._record_error(
            target, error, time.perf_counter(), counts_for_health=False, kind="invalid_request", observed=observed
        )

    def _unsent(self, target: Target, operation: str) -> Observed | None:
        """A call refused before it was sent, as the observers see it (the call log and `models usage`
        count it as `usage()` does): without its messages, which may be what was refused."""
        if not self.observers:
            return None
        return Observed(self.observers, operation, target.info, (), None, {})

    def _warn_once(self, model: str, topic: str, message: str, stacklevel: int) -> None:
        """Warn about (model, topic) once per service; `stacklevel` points at the caller's line.

        Past `_MAX_WARNED` remembered warnings, one last one per topic says so and later ones
        are not shown: each distinct text would also stay in the caller's `__warningregistry__`.
        """
        key = (model, topic)
        if key in self._warned:
            return
        with self._lock:
            if key in self._warned:
                return
            if len(self._warned) >= _MAX_WARNED:
                key = ("", topic)
                if key in self._warned:
                    return
                message += f" (Over {_MAX_WARNED} models were warned about: later warnings like this are not shown.)"
            self._warned.add(key)
        warnings.warn(message, ModelsWarning, stacklevel=stacklevel + 1)

    def _warn_unpriced(self, target: Target, no_price: bool, closed_early: bool) -> None:
        """Say once per model and reason why a call's cost is None."""
        topic = "price" if no_price else "usage-closed" if closed_early else "usage-missing"
        if topic in target.warned:  # every call of an unpriced model gets here: one set lookup, no message built
            return
        target.warned.add(topic)  # also past the cap of the service's warned set
        model = target.info.id
        if no_price:
            name = env_name(model)
            message = (
                f"{model} has no price, so usage.cost is None. Set MODELS_COST_{name}_INPUT and "
                f"MODELS_COST_{name}_OUTPUT (USD per 1M tokens) to price it, or register it with its price "
                f"(models.register_model({model!r}, price={{'input': ..., 'output': ...}})) or with base= the "
                "catalog model it is (an Azure deployment's model)."
            )
        elif closed_early:
            message = (
                f"A stream of {model} was closed before the provider reported its usage, so usage.cost is None "
                "(its tokens are those reported until then) and the call counts as unpriced. Read a stream to "
                "its end to get its cost."
            )
        else:
            message = (
                f"{model} answered without reporting its usage, so usage.cost is None and the call counts as unpriced."
            )
            if not target.embeds:  # a chat answer's usage, which a stream has only when asked for
                message += " An OpenAI-compatible server may need to support stream_options.include_usage."
        self._warn_once(model, topic, message, 6)
