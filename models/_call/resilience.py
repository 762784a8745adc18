"""Fallbacks: one call walks a plan of models until one answers.

A plan is the caller's model followed by its `fallbacks` (or a router's ranking). Each
model gets its own retries first (`ModelService.call`); a failure of a kind in
`fallback_on` (rate limit, timeout, connection, server by default) then moves to the next
model, and so does `ContextWindowExceededError`, to the next model with a larger window.
Other errors (authentication, invalid request) are the caller's to fix and are raised at
once. Models whose circuit breaker is open are passed over; a model whose provider has no
key is passed over too, so a chain across providers works with the keys you have, and so is
one whose rate limit's shared store (Redis) failed, since the next model's limit may not use it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from .._types import Attempt, Response
from ..errors import (
    ConfigurationError,
    ContextWindowExceededError,
    LimitStoreError,
    MissingAPIKeyError,
    MissingSettingError,
    ModelsError,
    ProviderError,
    ServerError,
)

if TYPE_CHECKING:
    from .service import ModelService
    from .target import Prepared, Target

__all__ = ["Chain", "Plan", "acall_chain", "call_chain", "plan"]

"""Error kinds that move a call to its next model: the ones another model may not have."""

Plan = tuple[tuple["Target", "Prepared"], ...]


class Chain:
    """The state of one walk along a plan: what was tried, what failed, when to give up."""

    __slots__ = ("_health", "_missing", "_service", "_window", "attempts", "last")

    def __init__(self, service: ModelService) -> None:
        self._service = service
        self._health = service.health()
        self._window: int | None = None  # the largest window known to be too small
        self._missing: ConfigurationError | None = None  # a missing key or a failed limit store
        self.attempts: list[Attempt] = []
        self.last: ProviderError | None = None

    def usable(self, target: Target) -> bool:
        """Whether to try this model now; if not, the reason is kept as an attempt."""
        info = target.info
        if self._window is not None and info.context_window is not None and info.context_window <= self._window:
            self.attempts.append(Attempt(info.id, "context_window"))
            return False
        if not self._health.allow(info.id):
            self.attempts.append(Attempt(info.id, "cooldown"))
            return False
        return True

    def failed(self, target: Target, error: ModelsError, started: float, more: bool) -> bool:
        """Record a failed model; True to go on to the next one, False to raise `error` now."""
        info = target.info
        if isinstance(error, (MissingAPIKeyError, MissingSettingError)):
            self._health.release(info.id)
            self._missing = self._missing or error
            self.attempts.append(Attempt(info.id, "not_configured", error))
            return True
        if isinstance(error, LimitStoreError):  # nothing was sent; counted as `other` by the service
            self._missing = self._missing or error
            self.attempts.append(Attempt(info.id, "other", error, time.perf_counter() - started))
            if more:
                target.metrics.fallback("other")
            return True
        if not isinstance(error, ProviderError):
            return False
        latency = time.perf_counter() - started
        context = isinstance(error, ContextWindowExceededError)
        if not context and error.kind not in self._service.fallback_on:
            self._attach(error, Attempt(info.id, error.kind, error, latency))
            return False
        if context and info.context_window is not None:
            self._window = max(self._window or 0, info.context_window)
        self.attempts.append(Attempt(info.id, error.kind, error, latency))
        self.last = error
        if more:
            target.metrics.fallback(error.kind)
        return True

    def done(self, response: Response) -> Response:
        return response._with_attempts(tuple(self.attempts)) if self.attempts else response

    def exhausted(self) -> NoReturn:
        """Every model failed or was passed over: raise the last provider error, with all attempts."""
        error: ModelsError | None = self.last or self._missing
        if error is None:
            tried = ", ".join(f"{a.model} ({a.error_kind})" for a in self.attempts)
            waits = [h.retry_in for h in self._health.snapshot(a.model for a in self.attempts).values() if h.retry_in]
            error = ServerError(
                f"No model could be tried: {tried}. Every one is cooling down after repeated failures "
                "(see models.health()) or is too small for the prompt.",
                retryable=True,
                retry_after=min(waits) if waits else None,
            )
        self._attach(error)
        raise error

    def _attach(self, error: ModelsError, *extra: Attempt) -> None:
        error.attempts = (*self.attempts, *extra)


def call_chain(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:
    """One call: each model of the plan in turn until one answers."""
    chain = Chain(service)
    last = len(plan) - 1
    for index, (target, prepared) in enumerate(plan):
        if not chain.usable(target):
            continue
        started = time.perf_counter()
        try:
            response = service.call(target, prompt, system, prepared)
        except ModelsError as error:
            if not chain.failed(target, error, started, index < last):
                raise
            continue
        return chain.done(response)
    chain.exhausted()


async def acall_chain(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:
    """`call_chain` for asyncio."""
    chain = Chain(service)
    last = len(plan) - 1
    for index, (target, prepared) in enumerate(plan):
        if not chain.usable(target):
            continue
        started = time.perf_counter()
        try:
            response = await service.acall(target, prompt, system, prepared)
        except ModelsError as error:
            if not chain.failed(target, error, started, index < last):
                raise
            continue
        return chain.done(response)
    chain.exhausted()


def plan(service: ModelService, models: Sequence[str], params: dict[str, Any]) -> Plan:
    """Each model resolved, with `params` translated for it: what `Chain` walks."""
    return tuple(service.prepared(m, params) for m in models)
