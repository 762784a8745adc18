"""`mock`: an offline provider for demos and users' own tests — no key, no network.

It echoes the last user message. Usage is deterministic: one token per
whitespace-separated word of the system text and every message in, one per word out.
It has no default price; price it with an override (`MODELS_COST_MOCK_ECHO_INPUT`, ...).

With tools (SPEC §8) it first calls every offered tool once (only the named one under a
`tool_choice` name; none under "none"), ids `call_1`, `call_2`, ... counted over the whole
conversation, with arguments generated from each tool's schema (`_content.schema.sample`:
each string argument is its own name, each number the smallest allowed, the first of every
enum); once the conversation ends in tool results it answers with those results, joined by
spaces. With `response_format` (SPEC §9) it answers with a value valid against the schema,
made the same way, as JSON; with "json", `{"echo": <the echo>}`. A tool call's output
tokens are the words of its arguments as JSON. Attachments (SPEC §10) are echoed after the
text as `[image/png, 1,234 bytes]` (a URL the mock would fetch, as `[url]`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from .._content.messages import text_of
from .._content.schema import sample
from .._types import Completion, ToolCall
from ._base import Embedded, EmbedRequest, Provider, Request, copy_counts


def _words(text: str) -> int:
    return len(text.split())


def _calls(options: Mapping[str, Any], made: int) -> list[ToolCall]:
    """One call of each offered tool (the chosen one only), numbered after the `made` ones."""
    choice = options.get("tool_choice")
    if choice == "none":
        return []
    named = choice["function"]["name"] if isinstance(choice, dict) else None
    offered = [t["function"] for t in options["tools"] if t.get("type") == "function"]
    offered = [f for f in offered if named is None or f["name"] == named]
    return [ToolCall(f"call_{made + i}", f["name"], sample(f["parameters"])) for i, f in enumerate(offered, 1)]


def _answer(request: Request) -> tuple[str, list[ToolCall]]:
    """The mock's text and tool calls for a request (see the module's docstring). It reads its
    tools and format from the options in Chat Completions' shape, as a real backend would."""
    messages = request.messages
    options = request.options
    if messages[-1]["role"] == "tool":
        results = []
        for message in reversed(messages):
            if message["role"] != "tool":
                break
            results.append(_seen(message["content"]))
        return " ".join(reversed(results)), []
    if options.get("tools"):
        made = sum(len(m.get("tool_calls") or ()) for m in messages)
        calls = _calls(options, made)
        if calls:
            return "", calls
    last_user = next((_seen(m["content"]) for m in reversed(messages) if m["role"] == "user"), "")
    output = options.get("response_format")
    if output is not None:
        schema = output.get("json_schema", {}).get("schema")
        value = {"echo": last_user} if schema is None else sample(schema)
        return json.dumps(value, ensure_ascii=False), []
    return " ".join(last_user.split()), []


def _seen(content: str | list[Any]) -> str:
    """A user turn as the mock reads it: its text, then each attachment as `[media/type, N bytes]`."""
    if isinstance(content, str):
        return content
    files = [p["attachment"] for p in content if p.get("type") == "attachment"]
    seen = [f"[{f.media_type}, {len(f.data()):,} bytes]" if f.url is None else f"[{f.url}]" for f in files]
    return " ".join([text_of(content), *seen])


class MockProvider(Provider):
    """Echoes the prompt; `max_tokens` truncates the echo to that many words. Streams word by word."""

    def keywords(self) -> frozenset[str]:
        """Only the common parameters: a misspelt one fails here as it would on a real provider."""
        return frozenset()

    def complete(self, request: Request) -> Completion:
        messages = request.messages
        text, calls = _answer(request)
        limit = request.options.get("max_tokens")
        finish = "tool_calls" if calls else "stop"
        if isinstance(limit, int) and _words(text) > limit:
            text, finish = " ".join(text.split()[:limit]), "length"
        prompt_words = _words(request.system or "") + sum(_words(text_of(m["content"])) for m in messages)
        return Completion(
            text,
            input_tokens=prompt_words,
            output_tokens=_words(text) + sum(_words(json.dumps(c.arguments)) for c in calls),
            finish_reason=finish,
            tool_calls=calls,
        )

    async def acomplete(self, request: Request) -> Completion:
        return self.complete(request)  # no I/O, so no worker thread

    def embed(self, request: EmbedRequest) -> Embedded:
        """A vector per text from its hash (same text, same vector), of `dimensions` values (default 8)
        in [-1, 1); one token per word."""
        import hashlib

        size = request.options.get("dimensions") or request.model.dimensions or 8
        vectors = [[(b - 128) / 128 for b in hashlib.shake_128(text.encode()).digest(size)] for text in request.inputs]
        return Embedded(vectors, sum(max(1, _words(text)) for text in request.inputs))

    async def aembed(self, request: EmbedRequest) -> Embedded:
        return self.embed(request)

    def embed_keywords(self) -> frozenset[str]:
        return frozenset()  # only `dimensions`

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
