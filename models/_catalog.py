"""What the library knows about models, and how a model id string becomes a `ModelInfo`.

The rows are data; resolution is one function. Prices live in `_costs.py`, keyed by
the canonical ids defined here.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from .errors import ModelNotFoundError, ProviderNotFoundError
from .providers._registry import PROVIDER_ALIASES

__all__ = ["CATALOG", "Catalog", "ModelInfo"]


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One model: canonical id, the name its provider expects, and the limits calls need."""

    id: str
    provider: str
    name: str
    aliases: tuple[str, ...] = ()
    context_window: int | None = None
    max_output: int | None = None
    reasoning: bool = False
    known: bool = True


def _m(
    id: str,
    *aliases: str,
    context: int,
    output: int,
    reasoning: bool = False,
) -> ModelInfo:
    provider, _, name = id.partition("/")
    return ModelInfo(id, provider, name, aliases, context, output, reasoning)


# Checked 2026-11-24 against the providers' model pages (see _costs.py for sources).
_ROWS: tuple[ModelInfo, ...] = (
    # --- OpenAI ---------------------------------------------------------------------
    _m("openai/gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", "gpt-4o-2024-05-13", context=128_000, output=16_384),
    _m("openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", context=128_000, output=16_384),
    _m("openai/gpt-4", "gpt-4-0613", context=8_192, output=8_192),
    # --- Anthropic ------------------------------------------------------------------
    _m("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929", context=200_000, output=64_000, reasoning=True),
    # --- Google ---------------------------------------------------------------------
    _m("google/gemini-2.5-flash", context=1_048_576, output=65_536, reasoning=True),
)

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("claude", "anthropic"),
    ("gemini", "google"),
)


class Catalog:
    """An index over model rows: canonical ids, bare names and aliases, case-insensitive."""

    def __init__(self, rows: Iterable[ModelInfo]) -> None:
        self.rows = tuple(rows)
        self._by_key: dict[str, ModelInfo] = {}
        self._spelling: dict[str, str] = {}
        for row in self.rows:
            for key in (row.id, row.name, *row.aliases):
                self._by_key[key.lower()] = row
                self._spelling[key.lower()] = key
            for alias in row.aliases:
                self._by_key[f"{row.provider}/{alias}".lower()] = row

    def get(self, model_id: str) -> ModelInfo | None:
        """The row for a canonical id, bare name or alias (any case), or None."""
        return self._by_key.get(model_id.lower())

    def resolve(self, model: str, providers: Collection[str]) -> ModelInfo:
        """Turn what a caller wrote into a `ModelInfo` (SPEC §2); `providers` are the registered names."""
        if not isinstance(model, str):
            raise TypeError(f"model must be a str like 'openai/gpt-4o', not {type(model).__name__}")
        text = model.strip()
        hit = self._by_key.get(text.lower())
        if hit is not None:
            return hit
        cut = min((i for i in (text.find("/"), text.find(":")) if i > 0), default=-1)
        if cut > 0:
            prefix, name = text[:cut].lower(), text[cut + 1 :]
            provider = PROVIDER_ALIASES.get(prefix, prefix)
            if provider in providers:
                if not name:
                    raise ModelNotFoundError(model, self._suggest(prefix, provider))
                row = self._by_key.get(f"{provider}/{name}".lower())
                return row or ModelInfo(f"{provider}/{name}", provider, name, known=False)
            if text[cut] == "/":
                raise ProviderNotFoundError(text[:cut], providers)
        lowered = text.lower()
        for prefix, provider in _PREFIXES:
            if lowered.startswith(prefix) and provider in providers:
                return ModelInfo(f"{provider}/{text}", provider, text, known=False)
        raise ModelNotFoundError(model, self._suggest(lowered))

    def _suggest(self, text: str, provider: str | None = None) -> list[str]:
        keys = [k for k in self._spelling if "/" not in k]
        if provider is not None:
            keys = [k for k in keys if self._by_key[k].provider == provider]
            return [self._by_key[k].id for k in keys[:3]]
        close = difflib.get_close_matches(text, keys, n=3, cutoff=0.6)
        return [self._spelling[k] for k in close]


CATALOG = Catalog(_ROWS)
