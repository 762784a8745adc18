"""Usage totals: per model since start (`usage()`), and per block (`track()`).

Each model's totals have their own lock, so calls to different models never contend.
`track()` uses a context variable, so it follows a call across threads started inside
it only when the context is copied, and across `await` and `asyncio.gather` always.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, fields
from types import TracebackType

from .._costs import COST_SCALE
from .._display import Table, money, repr_html, repr_pretty
from .._fork import fork_safe_lock
from .._types import Completion

__all__ = ["MAX_OTHER_IDS", "OTHER", "Tracker", "UsageLedger", "UsageReport", "UsageTotals"]

MAX_OTHER_IDS = 1024
"""Ids outside the catalog (and fine-tunes) that get their own `usage()` entry; later ones share `OTHER`."""
OTHER = "other"


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """A snapshot of summed usage. `cost` is USD over priced calls; `unpriced_requests` had none."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    unpriced_requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class UsageReport(dict[str, UsageTotals]):
    """What `models.usage()` returns: a plain `dict` of totals per model that shows as a table."""

    __slots__ = ()

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    def _table(self) -> Table:
        def cells(label: str, t: UsageTotals) -> list[str]:
            counts = (t.requests, t.errors, t.input_tokens, t.cached_input_tokens, t.cache_write_tokens)
            cost = money(t.cost) + (f" + {t.unpriced_requests:,} unpriced" if t.unpriced_requests else "")
            return [label, *(f"{n:,}" for n in (*counts, t.output_tokens, t.reasoning_tokens)), cost]

        rows = [cells(model, totals) for model, totals in self.items()]
        if len(self) > 1:
            names = [f.name for f in fields(UsageTotals)]
            rows.append(cells("total", UsageTotals(*(sum(getattr(t, n) for t in self.values()) for n in names))))
        headers = ("model", "requests", "errors", "input", "cached input", "cache write", "output", "reasoning", "cost")
        caption = "Usage by model" if self else "Usage by model: no calls yet"
        return Table(caption, rows, headers, right=range(1, 9))


class _Totals:
    """Mutable running sums behind a lock; cost in exact integer units of 1e-15 USD."""

    __slots__ = ("_lock", "counts")

    def __init__(self) -> None:
        self._lock = fork_safe_lock()
        # requests, errors, input, output, cached, written, reasoning, cost units, unpriced
        self.counts = [0] * 9

    def add(self, c: Completion, cost_units: int | None) -> None:
        self._lock.acquire()  # not `with`: this runs on every call, and `with` costs twice as much
        try:
            counts = self.counts
            counts[0] += 1
            counts[2] += c.input_tokens
            counts[3] += c.output_tokens
            counts[4] += c.cached_input_tokens
            counts[5] += c.cache_write_tokens
            counts[6] += c.reasoning_tokens
            if cost_units is None:
                counts[8] += 1
            else:
                counts[7] += cost_units
        finally:
            self._lock.release()

    def add_error(self) -> None:
        with self._lock:
            self.counts[1] += 1

    def snapshot(self) -> UsageTotals:
        with self._lock:
            c = list(self.counts)
        return UsageTotals(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7] / COST_SCALE, c[8])

    def clear(self) -> None:
        with self._lock:
            self.counts = [0] * 9


class UsageLedger:
    """Per-model totals for one `ModelsAPI`. Callers keep the `_Totals` they get: reset zeroes in place.

    Catalog ids always get an entry; other ids (made up, or one per fine-tune) up to
    `MAX_OTHER_IDS`, then they add to the `OTHER` entry, so their number bounds the memory.
    """

    def __init__(self) -> None:
        self._lock = fork_safe_lock()
        self._by_model: dict[str, _Totals] = {}
        self._others = 0  # entries of ids outside the catalog

    def totals(self, model_id: str, in_catalog: bool = True) -> _Totals:
        totals = self._by_model.get(model_id)
        if totals is None:
            with self._lock:
                totals = self._by_model.get(model_id)
                if totals is None:
                    if not in_catalog:
                        if self._others >= MAX_OTHER_IDS:
                            model_id = OTHER
                        else:
                            self._others += 1
                    totals = self._by_model.setdefault(model_id, _Totals())
        return totals

    def snapshot(self) -> dict[str, UsageTotals]:
        with self._lock:
            items = list(self._by_model.items())
        snaps = ((model, totals.snapshot()) for model, totals in items)
        return {model: snap for model, snap in snaps if snap.requests or snap.errors}

    def reset(self) -> None:
        with self._lock:
            items = list(self._by_model.values())
        for totals in items:
            totals.clear()


_ACTIVE: ContextVar[tuple[Tracker, ...]] = ContextVar("models_trackers", default=())


class Tracker:
    """`with models.track() as t:` — totals of the calls made inside the block (nests)."""

    def __init__(self) -> None:
        self._totals = _Totals()
        self._token: object = None

    def __enter__(self) -> Tracker:
        self._token = _ACTIVE.set((*_ACTIVE.get(), self))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _ACTIVE.reset(self._token)  # type: ignore[arg-type]

    def totals(self) -> UsageTotals:
        return self._totals.snapshot()

    def __getattr__(self, name: str) -> object:
        # t.cost, t.requests, t.input_tokens, ...: read through to a fresh snapshot
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._totals.snapshot(), name)

    def __repr__(self) -> str:
        return f"<Tracker {self.totals()}>"


def record_tracked(c: Completion, cost_units: int | None) -> None:
    """Add one successful call to every `track()` block active in this context."""
    for tracker in _ACTIVE.get():
        tracker._totals.add(c, cost_units)


def record_tracked_error() -> None:
    for tracker in _ACTIVE.get():
        tracker._totals.add_error()
