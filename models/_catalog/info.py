"""`ModelInfo`, what the catalog knows about one model, and the `Capability` enum: the record
type every layer reads (the rows in `data.py`, the index in `catalog.py`)."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, SupportsIndex, overload

from .._display import Table, repr_html, repr_pretty

if TYPE_CHECKING:
    from .._costs import Price

__all__ = ["Capability", "ModelInfo", "ModelList", "with_context_capabilities"]

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
    EMBEDDINGS = "embeddings"  # turns text into vectors (`models.embed`), and does not answer calls
    LARGE_CONTEXT = "large_context"  # a context window of more than 100K tokens
    XL_CONTEXT = "xl_context"  # a context window of 1M tokens or more

    def __str__(self) -> str:
        return self.value

    @classmethod
    def _missing_(cls, value: object) -> Capability:
        """Any case is accepted; anything else raises a `ValueError` that lists the capabilities."""
        if isinstance(value, str) and value.lower() in cls._value2member_map_:
            return cls(value.lower())
        from .._display import brief

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
    An embedding model (capability `embeddings`) has `context_window` = its most input tokens per
    text, `max_output` 0 and `dimensions`.
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
    dimensions: int | None = None  # an embedding model's vector length unless `dimensions=` asks for fewer

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
            ("dimensions", None if self.dimensions is None else f"{self.dimensions:,}"),
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
