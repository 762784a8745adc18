"""Spending limits: `with models.budget(usd=0.50):` and `models.set_budget(usd)`.

Amounts are exact integers of 1e-15 USD. A call reserves the most it can cost before it is
sent, and is refused (`BudgetExceededError`, nothing sent) when a budget in force cannot hold
that; afterwards the reservation becomes the exact cost (or is released on failure), so
concurrent calls cannot overspend together. The most a call can cost: its input bound (the
UTF-8 bytes of its text, since a token of every provider's tokenizer covers at least one byte,
plus framing; at most the model's context window, which alone bounds images and other parts)
at the dearest input rate (a cache write's, where dearer), plus its output bound (`max_tokens`
as sent, else the model's maximum output) at the output rate, in the dearest tier the input
may reach. A call with no bound (no `max_tokens` and no known maximum output) is refused.
Budgets nest, and follow `await` and `asyncio.gather` through a context variable;
`set_budget` applies to every call of its `ModelsAPI`. A model with no price costs nothing here.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar, Token
from decimal import Decimal
from types import TracebackType

from .._content.messages import text_of
from .._costs import COST_SCALE, Price, parse_usd
from .._fork import fork_safe_lock
from ..errors import BudgetExceededError
from ..providers._base import Request

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._observe.metrics import ModelMetrics
    from .limits import Reservation

__all__ = [
    "Budget",
    "Hold",
    "active_budgets",
    "estimate_tokens",
    "hold_budgets",
    "hold_input",
    "input_bound",
    "output_bound",
    "scoped_budgets",
]

_OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens")  # as each SDK spells it
_CHOICES = ("n", "candidate_count")  # answers per request (OpenAI, Gemini): each may write max_tokens
_FRAMING = 8  # tokens a provider may add around each message and the request (OpenAI's are 3 or 4)
_STRUCTURED = 1024  # tokens a provider may add for tools or a schema (Anthropic's tool prompt is ~350)


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
        self._lock = fork_safe_lock()
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


def _bytes(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())  # isascii is O(1): no copy for ASCII


def input_bound(request: Request) -> int | None:
    """The most input tokens `request` can be billed: the UTF-8 bytes of its text and options plus
    framing, at most the model's context window (a longer request is refused, not billed). A part
    that is not text (an image, audio, a file) or an option that is not JSON leaves the window as
    the only bound; None when that is unknown too."""
    window = request.model.context_window
    total = _FRAMING * (len(request.messages) + 2) + _bytes(request.system or "")
    for message in request.messages:
        content = message["content"]
        calls = message.get("tool_calls")
        if calls:  # an assistant turn's tool calls are billed as their JSON
            total += _bytes(json.dumps(calls))
        if content is None:
            continue
        if isinstance(content, str):
            total += _bytes(content)
            continue
        for part in content:
            text = part.get("text") if part.get("type") == "text" else None
            if not isinstance(text, str):
                return window
            total += _bytes(text)
    structured = False
    for value in request.options.values():
        if isinstance(value, str):
            total += _bytes(value)
        elif isinstance(value, (dict, list, tuple)):
            try:
                total += _bytes(json.dumps(value))
            except (TypeError, ValueError):
                return window
            structured = True
        elif value is not None and not isinstance(value, (int, float)):  # an SDK object: size unknown
            return window
    total += _STRUCTURED if structured else 0
    return total if window is None else min(total, window)


def output_bound(request: Request) -> int | None:
    """The most output tokens (reasoning included) `request` can be billed: its output limit as it
    will be sent (Anthropic's default included), else the model's maximum output; None if unknown."""
    options = request.options
    limit = request.model.max_output
    for name in _OUTPUT_LIMITS:  # loops, not next(generator): this runs on every call under a budget
        if isinstance(value := options.get(name), int):
            limit = value
            break
    if limit is None:
        return None
    for name in _CHOICES:
        if isinstance(value := options.get(name), int) and value > 1:
            return limit * value
    return limit


def hold_budgets(budgets: tuple[Budget, ...], price: Price | None, request: Request) -> Hold:
    """Reserve the most `request` can cost in every budget, all or none, or raise
    `BudgetExceededError` (before anything is sent) naming the budget, the reserve and the fix."""
    if price is None:
        return Hold(budgets, 0)  # a model with no price costs nothing here
    model = request.model
    inp, out = input_bound(request), output_bound(request)
    if inp is None or out is None:
        budget = budgets[0]
        unknown = (
            f"{model.id}'s maximum output is unknown. Pass max_tokens"
            if out is None
            else f"its prompt has a part that is not text and {model.id}'s context window is unknown. "
            f"Give the window with models.register_model({model.id!r}, context_window=...)"
        )
        raise BudgetExceededError(
            budget.limit,
            (budget._spent + budget._reserved) / COST_SCALE,
            None,
            f"A budget of ${budget.limit:.6f} is in force and this call has no upper bound on its cost: "
            f"{unknown}, so the budget can reserve what the call may cost. Nothing was sent.",
        )
    units = price.max_cost_units(inp, out)
    try:
        return Hold(budgets, units)
    except BudgetExceededError as error:
        given = any(isinstance(request.options.get(k), int) for k in _OUTPUT_LIMITS)
        fix = "Pass a lower max_tokens" if given else f"Pass max_tokens (without it, {out:,} is {model.id}'s maximum)"
        raise _exceeded(error, units, f"{inp:,} input and {out:,} output tokens of {model.id}", fix) from None


def hold_input(budgets: tuple[Budget, ...], price: Price | None, model: str, tokens: int) -> Hold:
    """Reserve the most a request of at most `tokens` input tokens and no output (an embedding) can
    cost in every budget, all or none, or raise `BudgetExceededError` before anything is sent."""
    units = 0 if price is None else price.max_cost_units(tokens, 0)
    try:
        return Hold(budgets, units)
    except BudgetExceededError as error:
        raise _exceeded(error, units, f"{tokens:,} input tokens of {model}", "Embed fewer or shorter texts") from None


def _exceeded(error: BudgetExceededError, units: int, tokens: str, fix: str) -> BudgetExceededError:
    """The error for a reservation of `units` (up to `tokens`) that a budget cannot hold, with the fix."""
    message = (
        f"Budget of ${error.limit:.6f} has ${error.remaining:.6f} left (${error.spent:.6f} spent or reserved "
        f"by calls in flight), and this call reserves ${units / COST_SCALE:.6f}, the most it can cost: up to "
        f"{tokens}. Nothing was sent. {fix}, or raise the budget."
    )
    return BudgetExceededError(error.limit, error.spent, error.estimate, message)


def estimate_tokens(request: Request) -> int:
    """The tokens a request may take, for tokens-per-minute limits."""
    return sum(_estimate(request))


class Hold:
    """The reservations one call made (budgets, and client-side rate limits when set); turned
    into its exact cost and tokens, or released.

    Settling never raises: the call it follows has happened (and may have been paid for). A
    rate-limit store that fails to settle is logged on the `models` logger and counted in
    `models_settle_failures_total`; the limit keeps the call's estimate.
    """

    __slots__ = ("budgets", "metrics", "reservation", "units")

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
        self.metrics: ModelMetrics | None = None  # where a failed settle is counted

    def settle(self, actual: int, tokens: int = 0) -> None:
        for budget in self.budgets:
            budget.settle(self.units, actual)
        reservation = self.reservation
        if reservation is not None:
            try:
                reservation.settle(tokens)
            except Exception:
                keys = ", ".join(limit.key for limit in reservation.limits)
                logging.getLogger("models").exception("models: settling the rate limits of %s failed", keys)
                if self.metrics is not None:
                    self.metrics.settle_failed()

    def release(self) -> None:
        self.settle(0)
