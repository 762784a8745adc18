"""Spending limits: `with models.budget(usd=0.50):` and `models.set_budget(usd)`.

Amounts are exact integers of 1e-15 USD. A call reserves its estimated cost before it is
sent (the prompt's characters / 4 as input tokens, plus `max_tokens` of output at the
model's prices) and is refused when a budget in force cannot hold it; afterwards the
reservation becomes the exact cost (or is released on failure), so concurrent calls
cannot overspend together. Budgets nest, and follow `await` and `asyncio.gather` through
a context variable; `set_budget` applies to every call of its `ModelsAPI`. A model with
no price costs nothing here.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar, Token
from decimal import Decimal
from types import TracebackType

from ._costs import COST_SCALE, Price
from ._messages import text_of
from ._overrides import parse_usd
from .errors import BudgetExceededError
from .providers._base import Request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._limits import Reservation

__all__ = ["Budget", "Hold", "active_budgets", "estimate_tokens", "estimate_units", "scoped_budgets"]

_OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens")  # as each SDK spells it


class Budget:
    """A limit in USD shared by every call in its scope; also a context manager."""

    __slots__ = ("_lock", "_reserved", "_spent", "_token", "limit_units")

    def __init__(self, usd: float | Decimal | str) -> None:
        limit = parse_usd(usd, "usd")  # a numeric string is welcome: "0.10" is exact, 0.10 is not
        # 1e18 is more money than there is; far larger ones overflow the Decimal arithmetic below
        if not limit.is_finite() or not 0 <= limit <= 10**18:
            raise ValueError(f"a budget must be a finite amount of USD from 0 to 1e18, not {usd!r:.40}")
        self.limit_units = int(limit * COST_SCALE)
        self._spent = 0
        self._reserved = 0
        self._lock = threading.Lock()
        self._token: Token[tuple[Budget, ...]] | None = None

    @property
    def limit(self) -> float:
        return self.limit_units / COST_SCALE

    @property
    def spent(self) -> float:
        """USD spent by finished calls, exactly."""
        return self._spent / COST_SCALE

    @property
    def remaining(self) -> float:
        with self._lock:
            return (self.limit_units - self._spent - self._reserved) / COST_SCALE

    def reserve(self, units: int) -> None:
        with self._lock:
            if self._spent + self._reserved + units > self.limit_units:
                raise BudgetExceededError(self.limit, (self._spent + self._reserved) / COST_SCALE, units / COST_SCALE)
            self._reserved += units

    def settle(self, reserved: int, actual: int) -> None:
        with self._lock:
            self._reserved -= reserved
            self._spent += actual

    def __enter__(self) -> Budget:
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            _ACTIVE.reset(self._token)
            self._token = None

    def __repr__(self) -> str:
        return f"<Budget ${self.spent:.6f} of ${self.limit:.6f} spent>"


_ACTIVE: ContextVar[tuple[Budget, ...]] = ContextVar("models_budgets", default=())
scoped_budgets = _ACTIVE.get
"""The `with models.budget(...)` blocks in force here (empty: none), for the hot path's quick check."""


def active_budgets(instance_budget: Budget | None) -> tuple[Budget, ...]:
    """The budgets a call made here must fit: the `with` blocks in force, and the instance's."""
    scoped = _ACTIVE.get()
    return scoped if instance_budget is None else (*scoped, instance_budget)


def _estimate(request: Request) -> tuple[int, int]:
    """(input, output) tokens of a request before it is sent: prompt characters / 4, and max output."""
    chars = len(request.system or "") + sum(len(text_of(m["content"])) for m in request.messages)
    output = next((request.options[k] for k in _OUTPUT_LIMITS if isinstance(request.options.get(k), int)), 0)
    return chars // 4 + 1, output


def estimate_units(price: Price | None, request: Request) -> int:
    """The estimated cost of a request before it is sent."""
    return 0 if price is None else price.cost_units(*_estimate(request))


def estimate_tokens(request: Request) -> int:
    """The tokens a request may take, for tokens-per-minute limits."""
    return sum(_estimate(request))


class Hold:
    """The reservations one call made (budgets, and client-side rate limits when set); turned
    into its exact cost and tokens, or released."""

    __slots__ = ("budgets", "reservation", "units")

    def __init__(self, budgets: tuple[Budget, ...], units: int) -> None:
        done: list[Budget] = []
        try:
            for budget in budgets:
                budget.reserve(units)
                done.append(budget)
        except BudgetExceededError:
            for budget in done:
                budget.settle(units, 0)
            raise
        self.budgets = budgets
        self.units = units
        self.reservation: Reservation | None = None

    def settle(self, actual: int, tokens: int = 0) -> None:
        for budget in self.budgets:
            budget.settle(self.units, actual)
        if self.reservation is not None:
            self.reservation.settle(tokens)

    def release(self) -> None:
        self.settle(0)
