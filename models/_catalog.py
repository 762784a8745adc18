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


# Checked 2026-11-24 against the providers' model pages and genai-prices 0.2.3 (sources in _costs.py).
# Rows of retired models stay, so that past usage can still be priced.
_ROWS: tuple[ModelInfo, ...] = (
    # --- openai ----------------------------------------------------------------------
    _m("openai/gpt-5", "gpt-5-2025-08-07", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5-mini", "gpt-5-mini-2025-08-07", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5-nano", "gpt-5-nano-2025-08-07", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5-pro", "gpt-5-pro-2025-10-06", context=400_000, output=272_000, reasoning=True),
    _m("openai/gpt-5.1", "gpt-5.1-2025-11-13", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.2", "gpt-5.2-2025-12-11", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.2-pro", "gpt-5.2-pro-2025-12-11", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.3-codex", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.4", "gpt-5.4-2026-03-05", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.4-mini", "gpt-5.4-mini-2026-03-17", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.4-nano", "gpt-5.4-nano-2026-03-17", context=400_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.4-pro", "gpt-5.4-pro-2026-03-05", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.5", "gpt-5.5-2026-04-23", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.5-pro", "gpt-5.5-pro-2026-04-23", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.6-sol", "gpt-5.6", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.6-terra", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-5.6-luna", context=1_050_000, output=128_000, reasoning=True),
    _m("openai/gpt-4.1", "gpt-4.1-2025-04-14", context=1_047_576, output=32_768),
    _m("openai/gpt-4.1-mini", "gpt-4.1-mini-2025-04-14", context=1_047_576, output=32_768),
    _m("openai/gpt-4.1-nano", "gpt-4.1-nano-2025-04-14", context=1_047_576, output=32_768),
    _m("openai/gpt-4o", "gpt-4o-2024-08-06", "gpt-4o-2024-11-20", context=128_000, output=16_384),
    _m("openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", context=128_000, output=16_384),
    _m("openai/o1", "o1-2024-12-17", context=200_000, output=100_000, reasoning=True),
    _m("openai/o3", "o3-2025-04-16", context=200_000, output=100_000, reasoning=True),
    _m("openai/o3-mini", "o3-mini-2025-01-31", context=200_000, output=100_000, reasoning=True),
    _m("openai/o4-mini", "o4-mini-2025-04-16", context=200_000, output=100_000, reasoning=True),
    _m("openai/gpt-4", "gpt-4-0613", context=8_192, output=8_192),
    _m(
        "openai/gpt-4-turbo",
        "gpt-4-turbo-2024-04-09",
        "gpt-4-turbo-preview",
        "gpt-4-0125-preview",
        "gpt-4-1106-preview",
        context=128_000,
        output=4_096,
    ),
    _m("openai/gpt-3.5-turbo", "gpt-3.5-turbo-0125", context=16_385, output=4_096),
    # --- anthropic -------------------------------------------------------------------
    _m("anthropic/claude-opus-4-0", "claude-opus-4-20250514", context=200_000, output=32_000, reasoning=True),
    _m("anthropic/claude-opus-4-1", "claude-opus-4-1-20250805", context=200_000, output=32_000, reasoning=True),
    _m("anthropic/claude-opus-4-5", "claude-opus-4-5-20251101", context=200_000, output=64_000, reasoning=True),
    _m("anthropic/claude-opus-4-6", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-opus-4-7", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-opus-4-8", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-opus-5", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-opus-5-5", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-sonnet-4-0", "claude-sonnet-4-20250514", context=200_000, output=64_000, reasoning=True),
    _m("anthropic/claude-sonnet-4-5", "claude-sonnet-4-5-20250929", context=200_000, output=64_000, reasoning=True),
    _m("anthropic/claude-sonnet-4-6", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-sonnet-5", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-sonnet-5-5", context=1_000_000, output=128_000, reasoning=True),
    _m("anthropic/claude-haiku-4-5", "claude-haiku-4-5-20251001", context=200_000, output=64_000, reasoning=True),
    _m("anthropic/claude-haiku-5-5", context=1_000_000, output=128_000, reasoning=True),
    _m(
        "anthropic/claude-3-7-sonnet-latest",
        "claude-3-7-sonnet-20250219",
        context=200_000,
        output=64_000,
        reasoning=True,
    ),
    _m("anthropic/claude-3-5-haiku-latest", "claude-3-5-haiku-20241022", context=200_000, output=8_192),
    # --- google ----------------------------------------------------------------------
    _m("google/gemini-2.5-pro", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-2.5-flash", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-2.5-flash-lite", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-2.0-flash", "gemini-2.0-flash-001", context=1_048_576, output=8_192),
    _m("google/gemini-2.0-flash-lite", "gemini-2.0-flash-lite-001", context=1_048_576, output=8_192),
    _m("google/gemini-3-pro-preview", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-3-flash-preview", context=1_048_576, output=65_536, reasoning=True),
    _m(
        "google/gemini-3.1-pro-preview",
        "gemini-3.1-pro-preview-customtools",
        context=1_048_576,
        output=65_536,
        reasoning=True,
    ),
    _m(
        "google/gemini-3.1-flash-lite",
        "gemini-3.1-flash-lite-preview",
        context=1_048_576,
        output=65_536,
        reasoning=True,
    ),
    _m("google/gemini-3.5-flash", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-3.5-flash-lite", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-3.6-flash", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-3.7-flash", context=1_048_576, output=65_536, reasoning=True),
    _m("google/gemini-3.8-flash", context=1_048_576, output=65_536, reasoning=True),
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
