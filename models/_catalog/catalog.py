"""What the library knows about models, and how a model id string becomes a `ModelInfo`.

The rows are data (`data.py`) of the record type in `info.py`; this module is the index that
resolves and searches them. Prices live in `_costs.py`, keyed
by the canonical ids of the rows.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Union

from ..errors import ModelNotFoundError, ProviderNotFoundError
from .info import ModelInfo

if TYPE_CHECKING:
    from .._costs import Price

__all__ = ["PROVIDER_ALIASES", "Catalog", "RowPrice", "default_catalog"]

RowPrice = Union["Price", str]
"""A registered row's price (`Catalog.prices`): its own flat `Price`, or the canonical id of the
catalog model whose built-in price rows apply (its `base`)."""

PROVIDER_ALIASES = MappingProxyType({"gemini": "google", "deepmind": "google", "claude": "anthropic"})
"""Other spellings of a provider in a model id (SPEC §2); `providers._registry` re-exports it."""

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
)


class _Index:
    """The rows with their statuses on the day of `now` (UTC) and the lookups over them;
    `expires` is when the next sunset changes a status (epoch seconds).

    Canonical ids are keys first; then bare names, each kept by the first row that has it (so a
    registered `azure/gpt-4o` leaves bare `gpt-4o` to `openai/gpt-4o`; a name with a '/' is no bare
    name); then aliases, which a later row may take over (a registered row's alias may claim a
    built-in's bare name, on purpose). A `provider/alias` key never hides a canonical id."""

    __slots__ = ("by_key", "expires", "rows", "spelling")

    def __init__(self, declared: tuple[ModelInfo, ...], now: float) -> None:
        import datetime as dt

        utc = dt.timezone.utc
        today = dt.datetime.fromtimestamp(now, utc).date().isoformat()
        self.rows = tuple(
            replace(row, status="retired") if row.status == "deprecated" and row.sunset and row.sunset <= today else row
            for row in declared
        )
        pending = [row.sunset for row in self.rows if row.status == "deprecated" and row.sunset]
        self.expires = dt.datetime.fromisoformat(min(pending)).replace(tzinfo=utc).timestamp() if pending else math.inf
        self.by_key: dict[str, ModelInfo] = {}
        self.spelling: dict[str, str] = {}
        for row in self.rows:
            self._put(row.id, row)
        for row in self.rows:
            if "/" not in row.name and row.name.lower() not in self.by_key:
                self._put(row.name, row)
        for row in self.rows:
            for alias in row.aliases:
                self._put(alias, row)
                self.by_key.setdefault(f"{row.provider}/{alias}".lower(), row)

    def _put(self, key: str, row: ModelInfo) -> None:
        self.by_key[key.lower()] = row
        self.spelling[key.lower()] = key


class Catalog:
    """An index over model rows: canonical ids, bare names and aliases, case-insensitive.

    A row declared deprecated reads retired from its sunset day (UTC) on. The index is built
    with today's statuses, and again at the first read on or after the next sunset, so a
    long-lived process sees a model retire on its day (resolving a model costs one clock read
    more). `clock` gives the time in epoch seconds.
    """

    def __init__(
        self,
        rows: Iterable[ModelInfo],
        clock: Callable[[], float] = time.time,
        prices: Mapping[str, RowPrice] | None = None,
    ) -> None:
        self._declared = tuple(rows)
        self._clock = clock
        self._index = _Index(self._declared, clock())
        #: The prices of registered rows by canonical id (`register_model`, `MODELS_CATALOG`); the
        #: price book reads them before the built-in table.
        self.prices: Mapping[str, RowPrice] = MappingProxyType(dict(prices or {}))

    def extended(self, rows: Iterable[tuple[ModelInfo, RowPrice | None]]) -> Catalog:
        """A catalog with these rows added: each replaces the row of its id (any case) in its place,
        with its price (None: the built-in rows of its own id, if any)."""
        merged = {row.id.lower(): row for row in self._declared}
        prices = dict(self.prices)
        for row, price in rows:
            old = merged.get(row.id.lower())
            if old is not None:
                prices.pop(old.id, None)
            merged[row.id.lower()] = row
            if price is not None:
                prices[row.id] = price
        return Catalog(merged.values(), self._clock, prices)

    def row(self, model_id: str) -> ModelInfo | None:
        """The row whose canonical id is `model_id` (any case), if any."""
        hit = self._by_key.get(model_id.lower())
        return hit if hit is not None and hit.id.lower() == model_id.lower() else None

    def _current(self) -> _Index:
        index = self._index
        now = self._clock()
        if now >= index.expires:
            index = self._index = _Index(self._declared, now)
        return index

    @property
    def rows(self) -> tuple[ModelInfo, ...]:
        """Every row, with its status as of today."""
        return self._current().rows

    @property
    def _by_key(self) -> dict[str, ModelInfo]:
        return self._current().by_key

    @property
    def _spelling(self) -> dict[str, str]:
        return self._current().spelling

    def resolve(self, model: str, providers: Collection[str]) -> ModelInfo:
        """Turn what a caller wrote into a `ModelInfo` (SPEC §2); `providers` are the registered names."""
        if not isinstance(model, str):
            raise TypeError(f"model must be a str like 'openai/gpt-4o', not {type(model).__name__}")
        text = model.strip()
        hit = self._by_key.get(text.lower())
        if hit is not None:
            return hit
        if text[:3].lower() == "ft:":
            return self._fine_tuned(text, text, providers)
        cut = min((i for i in (text.find("/"), text.find(":")) if i > 0), default=-1)
        if cut > 0:
            prefix, name = text[:cut].lower(), text[cut + 1 :]
            provider = PROVIDER_ALIASES.get(prefix, prefix)
            if provider in providers:
                parts = [part.strip() for part in name.split("/")]
                if not all(parts):  # empty, or an empty part: 'openai/', 'openai//gpt-4o'
                    raise ModelNotFoundError(model, self._suggest("/".join(filter(None, parts)), provider))
                if name[:3].lower() == "ft:":
                    return self._fine_tuned(name, model, providers)
                row = self._by_key.get(f"{provider}/{name}".lower())
                return row or ModelInfo(f"{provider}/{name}", provider, name, known=False)
            if text[cut] == "/":
                raise ProviderNotFoundError(text[:cut], providers)
        lowered = text.lower()
        for prefix, provider in _PREFIXES:
            if lowered.startswith(prefix) and provider in providers:
                return ModelInfo(f"{provider}/{text}", provider, text, known=False)
        raise ModelNotFoundError(model, self._suggest(lowered))

    def _fine_tuned(self, name: str, written: str, providers: Collection[str]) -> ModelInfo:
        """`ft:<base>:<org>:<suffix>:<id>` (OpenAI's form): the base's limits and capabilities,
        sent as written, priced as the base's fine-tuned rate (else the base's own)."""
        base = self._by_key.get(name.split(":")[1].lower()) if name.count(":") >= 1 else None
        if base is None or base.provider not in providers:
            raise ModelNotFoundError(written, self._suggest(name.split(":")[1].lower() if ":" in name else name))
        return replace(base, id=f"{base.provider}/{name}", name=name, aliases=(), base=base.id)

    def search(self, query: str) -> list[ModelInfo]:
        """Rows whose id, display name or aliases contain every word of `query` (any case),
        best first: most words matched in the id itself, then the shortest id."""
        if not isinstance(query, str):
            raise TypeError(f"query must be a str like 'claude sonnet', not {type(query).__name__}")
        words = query.lower().replace("-", " ").split()
        if not words:
            return []
        found = []
        for row in self.rows:
            text = " ".join((row.id, row.display_name or "", *row.aliases)).lower().replace("-", " ")
            if all(word in text for word in words):
                in_id = sum(word in row.id.lower().replace("-", " ") for word in words)
                found.append((-in_id, row.status != "active", len(row.id), row.id, row))
        return [entry[-1] for entry in sorted(found)]

    def suggest(self, text: str) -> list[str]:
        """Up to three catalog names close to `text` (for "did you mean")."""
        return self._suggest(text.lower())

    def _suggest(self, text: str, provider: str | None = None) -> list[str]:
        """Up to three catalog names close to `text`; with `provider`, that provider's canonical ids
        (its first three when `text` is empty)."""
        import difflib  # only an unknown id gets here

        keys = [k for k in self._spelling if "/" not in k]
        if provider is None:
            close = difflib.get_close_matches(text, keys, n=3, cutoff=0.6)
            return [self._spelling[k] for k in close]
        ids = list(dict.fromkeys(self._by_key[k].id for k in keys if self._by_key[k].provider == provider))
        if not text:
            return ids[:3]
        names = {self._by_key[i.lower()].name.lower(): i for i in ids}
        return [names[k] for k in difflib.get_close_matches(text.lower(), names, n=3, cutoff=0.6)]


@functools.cache
def default_catalog() -> Catalog:
    """The built-in catalog, built on first use: `import models` does not pay for 60 rows."""
    from .data import ROWS

    return Catalog(ROWS)
