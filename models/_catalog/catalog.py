"""What the library knows about models, and how a model id string becomes a `ModelInfo`.

The rows are data (`_catalog_data.py`); this module is the record type, the capability
enum, and the index that resolves and searches them. Prices live in `_costs.py`, keyed
by the canonical ids of the rows.
"""

from __future__ import annotations

import enum
import functools
import math
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, SupportsIndex, overload

from .._display import Table, repr_html, repr_pretty
from ..errors import ModelNotFoundError, ProviderNotFoundError
from ..providers._registry import PROVIDER_ALIASES

if TYPE_CHECKING:
    from .._costs import Price

__all__ = ["Capability", "Catalog", "ModelInfo", "ModelList", "default_catalog"]

LARGE_CONTEXT = 100_000  # a context window above this is "large"
XL_CONTEXT = 1_000_000  # ... and one of at least this "extra-large"


class Capability(str, enum.Enum):
    """What a model accepts and can do; a plain string works wherever a capability is asked for."""

    TEXT_INPUT = "text_input"
    IMAGE_INPUT = "image_input"
    AUDIO_INPUT = "audio_input"
    VIDEO_INPUT = "video_input"
    DOCUMENT_INPUT = "document_input"
    TEXT_OUTPUT = "text_output"
    IMAGE_OUTPUT = "image_output"
    STRUCTURED_OUTPUT = "structured_output"
    JSON_MODE = "json_mode"
    FUNCTION_CALLING = "function_calling"
    STREAMING = "streaming"
    BATCH = "batch"
    PROMPT_CACHING = "prompt_caching"
    REASONING = "reasoning"
    SYSTEM_MESSAGES = "system_messages"
    LARGE_CONTEXT = "large_context"  # a context window of more than 100K tokens
    XL_CONTEXT = "xl_context"  # a context window of 1M tokens or more

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Capability:
        """Any case is accepted; anything else raises a `ValueError` that lists the capabilities."""
        if isinstance(value, str) and value.lower() in cls._value2member_map_:
            return cls(value.lower())
        from .._content.messages import brief

        names = ", ".join(c.value for c in cls)
        raise ValueError(f"{brief(value)} is not a capability; use one of {names}")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model, read-only: identity, limits, capabilities, lifecycle; `price` when asked via `models.info`.

    Dates are ISO strings (`release_date`, `sunset`); `knowledge_cutoff` is as the provider
    states it ("2024-06"). `status` is "active", "deprecated" (still answers; `sunset` is
    when it stops) or "retired" (`sunset` is when it stopped); the catalog reads a row
    declared deprecated as retired from its sunset day (UTC) on. `replacement` is the
    canonical id the provider recommends instead. `known` is False for an id the catalog
    does not have (sent as written); `base` is the catalog model a fine-tuned id derives from.
    """

    id: str
    provider: str
    name: str
    aliases: tuple[str, ...] = ()
    context_window: int | None = None
    max_output: int | None = None
    reasoning: bool = False
    known: bool = True
    display_name: str | None = None
    release_date: str | None = None
    knowledge_cutoff: str | None = None
    status: str = "active"
    sunset: str | None = None
    replacement: str | None = None
    capabilities: frozenset[Capability] = frozenset()
    quality_tier: int | None = None
    base: str | None = None
    price: Price | None = None

    def supports(self, *capabilities: Capability | str) -> bool:
        """Whether the model has every capability named (unknown models: only what is known)."""
        return all(Capability(c) in self.capabilities for c in capabilities)

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    def _table(self) -> Table:
        import textwrap

        price = self.price
        fields = (
            ("id", self.id),
            ("display_name", self.display_name),
            ("status", self.status),
            ("sunset", self.sunset),
            ("replacement", self.replacement),
            ("context_window", None if self.context_window is None else f"{self.context_window:,} tokens"),
            ("max_output", None if self.max_output is None else f"{self.max_output:,} tokens"),
            ("capabilities", textwrap.fill(", ".join(sorted(self.capabilities)), 72)),
            ("release_date", self.release_date),
            ("knowledge_cutoff", self.knowledge_cutoff),
            ("aliases", ", ".join(self.aliases)),
            ("base", self.base),
            ("known", None if self.known else "no: not in the catalog, sent as written"),
            ("price", None if price is None else f"${price.input} in, ${price.output} out per 1M tokens"),
        )
        return Table("ModelInfo", [(name, value) for name, value in fields if value])


class ModelList(list[ModelInfo]):
    """What `models.list()` returns: a plain list that shows as a table in a notebook (a slice too)."""

    __slots__ = ()

    _repr_pretty_ = repr_pretty
    _repr_html_ = repr_html

    @overload
    def __getitem__(self, key: SupportsIndex) -> ModelInfo: ...

    @overload
    def __getitem__(self, key: slice) -> ModelList: ...

    def __getitem__(self, key: SupportsIndex | slice) -> ModelInfo | ModelList:
        if isinstance(key, slice):
            return ModelList(super().__getitem__(key))
        return super().__getitem__(key)

    def _table(self) -> Table:
        def cell(value: object) -> str:
            return "-" if value is None else f"{value:,}" if isinstance(value, int) else str(value)

        rows = []
        for m in self:
            p = m.price
            rates = (None, None, None) if p is None else (p.input, p.cached_input, p.output)
            rows.append([cell(v) for v in (m.id, m.status, m.context_window, m.max_output, *rates)])
        headers = ("model", "status", "context", "max output", "input", "cached input", "output")
        caption = f"{len(self)} model{'' if len(self) == 1 else 's'} (prices in USD per 1M tokens)"
        return Table(caption, rows, headers, right=range(2, 7))


def with_context_capabilities(capabilities: Iterable[Capability], context_window: int | None) -> frozenset[Capability]:
    """The capabilities plus the large-context flags the context window implies."""
    derived = set(capabilities)
    if context_window is not None and context_window > LARGE_CONTEXT:
        derived.add(Capability.LARGE_CONTEXT)
    if context_window is not None and context_window >= XL_CONTEXT:
        derived.add(Capability.XL_CONTEXT)
    return frozenset(derived)


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
    `expires` is when the next sunset changes a status (epoch seconds)."""

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
            for key in (row.id, row.name, *row.aliases):
                self.by_key[key.lower()] = row
                self.spelling[key.lower()] = key
            for alias in row.aliases:
                self.by_key[f"{row.provider}/{alias}".lower()] = row


class Catalog:
    """An index over model rows: canonical ids, bare names and aliases, case-insensitive.

    A row declared deprecated reads retired from its sunset day (UTC) on. The index is built
    with today's statuses, and again at the first read on or after the next sunset, so a
    long-lived process sees a model retire on its day (resolving a model costs one clock read
    more). `clock` gives the time in epoch seconds.
    """

    def __init__(self, rows: Iterable[ModelInfo], clock: Callable[[], float] = time.time) -> None:
        self._declared = tuple(rows)
        self._clock = clock
        self._index = _Index(self._declared, clock())

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
