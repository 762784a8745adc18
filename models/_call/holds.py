"""What a call reserves before it is sent, for `ModelService`: its most possible cost in every budget
in force, and its place in the client-side rate limits (waiting up to its timeout), or the refusal
counted once; and `models.limit`.

`Holds` is a base class of the service, apart so that service.py reads as the path of a call.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, NoReturn

from ..errors import ModelsError, ProviderNotFoundError
from .budget import Hold, active_budgets, estimate_tokens, hold_budgets
from .limits import Limit, aacquire_all, acquire_all
from .outcomes import Outcomes

if TYPE_CHECKING:
    from ..providers._base import Request
    from .budget import Budget
    from .limits import Limits
    from .target import Prepared, Target

__all__ = ["Holds"]


class Holds(Outcomes):
    """Budget reservations and rate-limit places (see the module's docstring)."""

    # What the service holds that these read (`ModelService.__init__` sets them).
    budget: Budget | None
    limits: Limits

    def hold(self, target: Target, request: Request, prepared: Prepared) -> Hold | None:
        """Reserve the most the call can cost in every budget in force (or raise `BudgetExceededError`)
        and take its place in the client-side rate limits (waiting up to its timeout)."""
        hold, limits = self._budget_hold(target, request)
        if limits:
            return self.take_limits(target, hold, limits, estimate_tokens(request), prepared.timeout)
        return hold

    async def ahold(self, target: Target, request: Request, prepared: Prepared) -> Hold | None:
        """`hold`, waiting for rate-limit capacity without blocking the event loop."""
        hold, limits = self._budget_hold(target, request)
        if limits:
            return await self.atake_limits(target, hold, limits, estimate_tokens(request), prepared.timeout)
        return hold

    def take_limits(
        self,
        target: Target,
        hold: Hold | None,
        limits: tuple[Limit, ...],
        tokens: int,
        timeout: float,
        requests: int = 1,
    ) -> Hold:
        """`hold` (or a new one) with the call's place in its rate limits: `requests` and `tokens`,
        waiting up to `timeout`, or the `RateLimitError` counted and raised, the budget given back."""
        hold = hold or Hold((), 0)
        info = target.info
        try:
            hold.reservation = acquire_all(
                limits, tokens, timeout=timeout, model=info.id, provider=info.provider, requests=requests
            )
        except BaseException as error:
            self._limited(target, hold, error)
        hold.metrics = target.metrics
        return hold

    async def atake_limits(
        self,
        target: Target,
        hold: Hold | None,
        limits: tuple[Limit, ...],
        tokens: int,
        timeout: float,
        requests: int = 1,
    ) -> Hold:
        """`take_limits` without blocking the event loop."""
        hold = hold or Hold((), 0)
        info = target.info
        try:
            hold.reservation = await aacquire_all(
                limits, tokens, timeout=timeout, model=info.id, provider=info.provider, requests=requests
            )
        except BaseException as error:
            self._limited(target, hold, error)
        hold.metrics = target.metrics
        return hold

    def _budget_hold(self, target: Target, request: Request) -> tuple[Hold | None, tuple[Limit, ...]]:
        """The budget reservation, if any budget is in force, and the rate limits that apply."""
        budgets = active_budgets(self.budget)
        hold = hold_budgets(budgets, target.price, request) if budgets else None
        return hold, self.limits.for_model(target.info.id, target.info.provider)

    def _limited(self, target: Target, hold: Hold, error: BaseException) -> NoReturn:
        """The call was not sent: a client-side limit refused it (`rate_limit`), or its store failed
        (`LimitStoreError`, `other`); counted once, not against the model's health, budget given back."""
        hold.release()
        if isinstance(error, ModelsError):  # not a cancellation or a bug
            observed = self._unsent(target, "embeddings" if target.embeds else "chat")
            self._record_error(target, error, time.perf_counter(), counts_for_health=False, observed=observed)
        raise error

    def limit(self, key: str, rpm: int | None, tpm: int | None, block: bool, store: str | None) -> Limit | None:
        """Set (or, with neither rate, remove) the limit of a model or provider id."""
        try:  # a provider ("openai"), else a model ("gpt-5", "openai/gpt-5") by its canonical id
            key = self.models.provider_name(key)
        except ProviderNotFoundError:
            key = self.models.resolve(key).id
        return self.limits.set(key, rpm, tpm, block=block, store=store)
