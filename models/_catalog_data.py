"""The model catalog as data: one row per model, checked 2026-11-24.

Sources: the providers' model, pricing and deprecation pages, cross-checked against
genai-prices 0.2.3 (prices live in _costs.py). Rows of retired models stay, so that
past usage can still be priced and old ids still resolve.
"""

from __future__ import annotations

from ._catalog import Capability, ModelInfo, with_context_capabilities


def _caps(*names: str) -> frozenset[Capability]:
    return frozenset(Capability(n) for n in names)


_C0 = _caps()


def _m(
    id: str,
    *aliases: str,
    context: int,
    output: int,
    reasoning: bool = False,
    display: str | None = None,
    released: str | None = None,
    cutoff: str | None = None,
    status: str = "active",
    sunset: str | None = None,
    replacement: str | None = None,
    caps: frozenset[Capability] = frozenset(),
    tier: int | None = None,
) -> ModelInfo:
    provider, _, name = id.partition("/")
    return ModelInfo(
        id,
        provider,
        name,
        aliases,
        context,
        output,
        reasoning,
        True,
        display,
        released,
        cutoff,
        status,
        sunset,
        replacement,
        with_context_capabilities(caps, context),
        tier,
    )


ROWS: tuple[ModelInfo, ...] = (
    # --- openai
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
    # --- anthropic
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
    # --- google
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
