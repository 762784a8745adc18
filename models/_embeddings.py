"""`Embeddings`: what `models.embed` returns (SPEC §12), one vector per input with usage and exact cost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._types import Lazy

if TYPE_CHECKING:
    from ._types import Usage

__all__ = ["Embeddings"]


class Embeddings:
    """Vectors of the inputs, in order (`vectors[i]` is the vector of input `i`), with the canonical
    `model`, `provider`, `usage` (input tokens and exact `cost`), `latency` in seconds and `raw`: the
    provider's answers, one per batch the inputs were sent in. Immutable; iterating or indexing it
    reads `vectors`."""

    __slots__ = ("_latency", "_model", "_provider", "_raw", "_usage", "_vectors")

    def __init__(
        self, vectors: list[list[float]], model: str, provider: str, usage: Usage, latency: float, raw: tuple[Any, ...]
    ) -> None:
        self._vectors = vectors
        self._model = model
        self._provider = provider
        self._usage = usage
        self._latency = latency
        self._raw = raw

    @property
    def vectors(self) -> list[list[float]]:
        return self._vectors

    @property
    def model(self) -> str:
        return self._model

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def usage(self) -> Usage:
        return self._usage

    @property
    def latency(self) -> float:
        return self._latency

    @property
    def raw(self) -> tuple[Any, ...]:
        """The provider's answer per batch; an SDK object is built when first read (`Lazy`)."""
        raw = self._raw
        if any(isinstance(part, Lazy) for part in raw):
            raw = self._raw = tuple(part.build() if isinstance(part, Lazy) else part for part in raw)
        return raw

    @property
    def dimensions(self) -> int:
        """The length of each vector (0 when there are none)."""
        return len(self._vectors[0]) if self._vectors else 0

    def __len__(self) -> int:
        return len(self._vectors)

    def __iter__(self) -> Iterator[list[float]]:
        return iter(self._vectors)

    def __getitem__(self, index: int) -> list[float]:
        return self._vectors[index]

    def __repr__(self) -> str:
        cost = "None" if self._usage.cost is None else f"${self._usage.cost:.8f}"
        return (
            f"Embeddings({self._model!r}, {len(self._vectors)} vectors of {self.dimensions}, "
            f"{self._usage.input_tokens} tokens, cost={cost})"
        )
