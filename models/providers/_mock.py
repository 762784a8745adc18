"""`mock`: an offline provider for demos and users' own tests — no key, no network.

It echoes the last user message. Usage is deterministic: one token per
whitespace-separated word of the system text and every message in, one per word out.
It has no default price; price it with an override (`MODELS_COST_MOCK_ECHO_INPUT`, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from .._catalog import ModelInfo
from .._messages import Message, text_of
from .._types import Completion
from ._base import Provider, copy_counts


def _words(text: str) -> int:
    return len(text.split())


class MockProvider(Provider):
    """Echoes the prompt; `max_tokens` truncates the echo to that many words. Streams word by word."""

    def complete(
        self,
        model: ModelInfo,
        messages: list[Message],
        system: str | None,
        options: Mapping[str, Any],
        timeout: float,
    ) -> Completion:
        last_user = next((text_of(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")
        words = last_user.split()
        limit = options.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(words) > limit:
            words, finish = words[:limit], "length"
        prompt_words = _words(system or "") + sum(_words(text_of(m["content"])) for m in messages)
        return Completion(" ".join(words), input_tokens=prompt_words, output_tokens=len(words), finish_reason=finish)

    def stream(
        self,
        model: ModelInfo,
        messages: list[Message],
        system: str | None,
        options: Mapping[str, Any],
        timeout: float,
        result: Completion,
    ) -> Iterator[str]:
        copy_counts(self.complete(model, messages, system, options, timeout), result)
        yield from _pieces(result.text)

    async def astream(
        self,
        model: ModelInfo,
        messages: list[Message],
        system: str | None,
        options: Mapping[str, Any],
        timeout: float,
        result: Completion,
    ) -> AsyncIterator[str]:
        copy_counts(self.complete(model, messages, system, options, timeout), result)
        for piece in _pieces(result.text):
            yield piece


def _pieces(text: str) -> list[str]:
    """The words of (single-spaced) `text`, each after the first with its space: they join back to `text`."""
    words = text.split(" ")
    return [words[0], *(" " + word for word in words[1:])] if text else []
