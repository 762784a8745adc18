"""`mock`: an offline provider for demos and users' own tests — no key, no network.

It echoes the last user message. Usage is deterministic: one token per
whitespace-separated word of the system text and every message in, one per word out.
It has no default price; price it with an override (`MODELS_COST_MOCK_ECHO_INPUT`, ...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from .._content.messages import text_of
from .._types import Completion
from ._base import Provider, Request, copy_counts


def _words(text: str) -> int:
    return len(text.split())


class MockProvider(Provider):
    """Echoes the prompt; `max_tokens` truncates the echo to that many words. Streams word by word."""

    def keywords(self) -> frozenset[str]:
        """Only the common parameters: a misspelt one fails here as it would on a real provider."""
        return frozenset()

    def complete(self, request: Request) -> Completion:
        messages = request.messages
        last_user = next((text_of(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")
        words = last_user.split()
        limit = request.options.get("max_tokens")
        finish = "stop"
        if isinstance(limit, int) and len(words) > limit:
            words, finish = words[:limit], "length"
        prompt_words = _words(request.system or "") + sum(_words(text_of(m["content"])) for m in messages)
        return Completion(" ".join(words), input_tokens=prompt_words, output_tokens=len(words), finish_reason=finish)

    async def acomplete(self, request: Request) -> Completion:
        return self.complete(request)  # no I/O, so no worker thread

    def stream(self, request: Request, result: Completion) -> Iterator[str]:
        copy_counts(self.complete(request), result)
        yield from _pieces(result.text)

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        copy_counts(self.complete(request), result)
        for piece in _pieces(result.text):
            yield piece


def _pieces(text: str) -> list[str]:
    """The words of (single-spaced) `text`, each after the first with its space: they join back to `text`."""
    words = text.split(" ")
    return [words[0], *(" " + word for word in words[1:])] if text else []
