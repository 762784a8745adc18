"""Where the gateway keeps budgets, usage totals and rate-limit buckets: the `SpendStore` interface
and `MemorySpend`, one worker's (Redis for several: `spend_redis.py`).

Amounts are exact integers of 1e-15 USD (`COST_SCALE`). A budget is an *account* (a key's name and
its period, "alice:2026-12"): a request reserves the most it can cost, and is refused when spent +
reserved + that would pass the limit; settling turns the reservation into the exact cost.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from itertools import count
from typing import TYPE_CHECKING

from .._call.limit_stores import MemoryStore, Outcome

if TYPE_CHECKING:
    from .._types import Usage

__all__ = ["COUNTS", "Balance", "MemorySpend", "SpendStore", "Totals", "cost_units"]

COUNTS = ("requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost_units")
Totals = dict[str, dict[str, list[int]]]
"""Usage per key name, per canonical model: the numbers named by `COUNTS`, in that order."""
Balance = tuple[int, int]
"""An account's (spent, reserved), in 1e-15 USD."""


def cost_units(usage: Usage) -> int | None:
    """A call's exact cost in 1e-15 USD, from the price row it was billed at; None when unknown."""
    row = usage.price
    if row is None or usage.cost is None:
        return None
    return row.flat_cost_units(
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.cache_write_1h_tokens,
    )


class SpendStore(ABC):
    """Budgets, usage totals and rate-limit buckets; every operation atomic across the workers sharing it."""

    @abstractmethod
    async def reserve(self, account: str, limit: int, units: int) -> tuple[str | None, Balance]:
        """Reserve `units` in `account` if spent + reserved + units <= `limit`: the reservation's ticket
        (None: refused) and the balance before."""

    @abstractmethod
    async def settle(
        self,
        account: str | None,
        ticket: str | None,
        units: int,
        key: str,
        model: str,
        tokens: tuple[int, int, int] | None,
    ) -> None:
        """The request of `ticket` (None: nothing reserved) finished: release its reservation, charge
        `units` to `account` and to the usage totals of (`key`, `model`), with `tokens` (input, output,
        cached input) or, for a failure, None."""

    @abstractmethod
    async def balance(self, account: str) -> Balance:
        """`account`'s (spent, reserved) now."""

    @abstractmethod
    async def totals(self) -> Totals:
        """Usage per key and model since the store began."""

    @abstractmethod
    async def rate(self, key: str, rpm: int | None, tpm: int | None, requests: int, tokens: int, mode: str) -> Outcome:
        """The token-bucket step of `limit_stores` (take, peek or force) on `key`'s buckets."""

    async def aclose(self) -> None:  # noqa: B027 - a memory store holds nothing to close
        """Close connections."""


class MemorySpend(SpendStore):
    """One process's store. Every method runs without awaiting anything, so under one event loop each
    is atomic; the buckets are the library's `MemoryStore` (a lock held for microseconds)."""

    def __init__(self) -> None:
        self._accounts: dict[str, list[int]] = {}  # account -> [spent, reserved]
        self._tickets: dict[str, tuple[str, int]] = {}  # ticket -> (account, units reserved)
        self._totals: Totals = {}
        self._buckets = MemoryStore()
        self._next = count(1)

    async def reserve(self, account: str, limit: int, units: int) -> tuple[str | None, Balance]:
        money = self._accounts.setdefault(account, [0, 0])
        before = (money[0], money[1])
        if money[0] + money[1] + units > limit:
            return None, before
        money[1] += units
        ticket = str(next(self._next))
        self._tickets[ticket] = (account, units)
        return ticket, before

    async def settle(
        self,
        account: str | None,
        ticket: str | None,
        units: int,
        key: str,
        model: str,
        tokens: tuple[int, int, int] | None,
    ) -> None:
        held = self._tickets.pop(ticket, None) if ticket is not None else None
        if held is not None:
            self._accounts[held[0]][1] -= held[1]
        if account is not None:
            self._accounts.setdefault(account, [0, 0])[0] += units
        row = self._totals.setdefault(key, {}).get(model)
        if row is None:
            row = self._totals[key][model] = [0] * len(COUNTS)
        if tokens is None:
            row[1] += 1
        else:
            row[0] += 1
            row[2] += tokens[0]
            row[3] += tokens[1]
            row[4] += tokens[2]
        row[5] += units

    async def balance(self, account: str) -> Balance:
        money = self._accounts.get(account, (0, 0))
        return money[0], money[1]

    async def totals(self) -> Totals:
        return {key: {model: list(row) for model, row in rows.items()} for key, rows in self._totals.items()}

    async def rate(self, key: str, rpm: int | None, tpm: int | None, requests: int, tokens: int, mode: str) -> Outcome:
        return self._buckets.apply(key, rpm, tpm, requests, tokens, mode)

    def __repr__(self) -> str:
        return "memory"
