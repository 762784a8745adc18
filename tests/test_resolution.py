"""Model ids (SPEC §2): canonical, provider:name, bare, aliases, prefixes, errors."""

from __future__ import annotations

import pytest

from models import ModelNotFoundError, ModelsAPI, ProviderNotFoundError


@pytest.mark.parametrize(
    ("written", "canonical", "sent"),
    [
        ("gpt-4o", "openai/gpt-4o", "gpt-4o"),
        ("openai/gpt-4o", "openai/gpt-4o", "gpt-4o"),
        ("openai:gpt-4o", "openai/gpt-4o", "gpt-4o"),
        ("OpenAI/GPT-4o", "openai/gpt-4o", "gpt-4o"),
        ("  GPT-4O ", "openai/gpt-4o", "gpt-4o"),
        ("gpt-4o-2024-08-06", "openai/gpt-4o", "gpt-4o"),
        ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("gemini:gemini-2.5-flash", "google/gemini-2.5-flash", "gemini-2.5-flash"),
        ("deepmind/gemini-2.5-flash", "google/gemini-2.5-flash", "gemini-2.5-flash"),
        # not in the catalog: provider by prefix, the caller's spelling is sent
        ("gpt-9-Turbo", "openai/gpt-9-Turbo", "gpt-9-Turbo"),
        ("o3-deep-research", "openai/o3-deep-research", "o3-deep-research"),
        ("chatgpt-4o-latest", "openai/chatgpt-4o-latest", "chatgpt-4o-latest"),
        ("claude-future-9", "anthropic/claude-future-9", "claude-future-9"),
        ("gemini-9-ultra", "google/gemini-9-ultra", "gemini-9-ultra"),
        ("openai/my-Finetune", "openai/my-Finetune", "my-Finetune"),
        ("mock/echo", "mock/echo", "echo"),
    ],
)
def test_resolution(api: ModelsAPI, written: str, canonical: str, sent: str) -> None:
    info = api.resolve(written)
    assert (info.id, info.name, info.provider) == (canonical, sent, canonical.split("/")[0])


def test_unknown_bare_name_suggests_close_matches(api: ModelsAPI) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        api.resolve("gtp4o")
    assert caught.value.suggestions[0] == "gpt-4o"
    assert 1 <= len(caught.value.suggestions) <= 3
    assert "Did you mean 'gpt-4o'" in str(caught.value)


def test_unknown_provider_names_the_known_ones(api: ModelsAPI) -> None:
    with pytest.raises(ProviderNotFoundError, match="Known providers: anthropic, azure, bedrock, cerebras") as caught:
        api.resolve("openroutr/some-model")
    assert caught.value.suggestions == ["openrouter"]
    assert "Did you mean 'openrouter'?" in str(caught.value)


def test_empty_name_after_provider(api: ModelsAPI) -> None:
    with pytest.raises(ModelNotFoundError):
        api.resolve("openai/")


def test_model_must_be_a_string(api: ModelsAPI) -> None:
    with pytest.raises(TypeError, match="model must be a str"):
        api.resolve(42)  # type: ignore[arg-type]
