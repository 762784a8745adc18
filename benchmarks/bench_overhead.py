"""Rows: what the facade costs per call against the raw SDKs, over the loopback fakes.

Plain calls (raw SDK with a reused client, a `ModelBinding`, `models(...)`), streams (first piece
and total), per-piece client CPU (LONG-piece answers from the second fake), 200 concurrent async
calls, 1-8 threads sharing one client, and the facade's own bookkeeping on a provider that answers
at once. Targets are issue 6's. Each setup runs in the fresh client process of its row and round.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import measure
from harness import Fakes, at_least, at_most, row, section

MODELS = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-6", "google": "gemini-2.5-flash"}
MESSAGES = [{"role": "user", "content": "hello"}]


def ours_api(url: str, provider: str) -> Any:
    """A `ModelsAPI` on its own Prometheus registry, `provider` pointed at the fake."""
    from prometheus_client import CollectorRegistry

    from models import ModelsAPI, ModelsWarning

    warnings.simplefilter("ignore", ModelsWarning)  # deprecation notices of the benchmarked models
    api = ModelsAPI(registry=CollectorRegistry())
    api.configure(provider, api_key="sk-bench", base_url=url + {"openai": "/v1", "google": "/"}.get(provider, ""))
    return api


def raw_client(url: str, provider: str, asynchronous: bool = False) -> Any:
    if provider == "openai":
        import openai

        return (openai.AsyncOpenAI if asynchronous else openai.OpenAI)(
            api_key="sk-bench", base_url=url + "/v1", max_retries=0
        )
    if provider == "anthropic":
        import anthropic

        return (anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic)(
            api_key="sk-bench", base_url=url, max_retries=0
        )
    from google import genai

    return genai.Client(api_key="bench", http_options={"base_url": url + "/"})


def raw_call(client: Any, provider: str) -> Callable[[], Any]:
    """One plain call through the raw SDK (async clients give a coroutine function). A closure over
    the client: google-genai closes its HTTP client once the `Client` is garbage."""
    model = MODELS[provider]
    if provider == "openai":
        return lambda: client.chat.completions.create(model=model, messages=MESSAGES, timeout=600)
    if provider == "anthropic":
        return lambda: client.messages.create(model=model, messages=MESSAGES, max_tokens=4096, timeout=600)
    return lambda: client.models.generate_content(model=model, contents="hello")


def raw_stream(client: Any, provider: str) -> Callable[[], Iterable[str]]:
    """Opens a raw SDK stream that yields the text pieces only, as ours does."""
    model = MODELS[provider]
    if provider == "openai":
        return lambda: (
            chunk.choices[0].delta.content
            for chunk in client.chat.completions.create(
                model=model, messages=MESSAGES, timeout=600, stream=True, stream_options={"include_usage": True}
            )
            if chunk.choices and chunk.choices[0].delta.content
        )
    if provider == "anthropic":
        return lambda: (
            event.delta.text
            for event in client.messages.create(
                model=model, messages=MESSAGES, max_tokens=4096, timeout=600, stream=True
            )
            if event.type == "content_block_delta"
        )
    return lambda: (chunk.text for chunk in client.models.generate_content_stream(model=model, contents="hello"))


def _call(provider: str, fakes: Fakes) -> measure.Sides:
    api = ours_api(fakes.url, provider)
    model = MODELS[provider]
    return {
        "raw": raw_call(raw_client(fakes.url, provider), provider),
        "binding": partial(api.bind(model), "hello"),
        "models()": partial(api, model, "hello"),
    }


def _stream(provider: str, fakes: Fakes) -> measure.Sides:
    bound = ours_api(fakes.url, provider).bind(MODELS[provider])
    return {"raw": raw_stream(raw_client(fakes.url, provider), provider), "ours": partial(bound.stream, "hello")}


def _piece(provider: str, fakes: Fakes) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    short, long = _stream(provider, fakes), _stream(provider, Fakes(fakes.long_url, fakes.long_url))
    return {side: (short[side], long[side]) for side in ("raw", "ours")}


def _async(provider: str, fakes: Fakes) -> tuple[dict[str, Callable[[], Any]], Callable[[], Any]]:
    raw = raw_client(fakes.url, provider, asynchronous=True)
    bound = ours_api(fakes.url, provider).bind(MODELS[provider])
    return {"raw": raw_call(raw, provider), "ours": partial(bound.acall, "hello")}, raw.close


def _threads(count: int, fakes: Fakes) -> tuple[int, measure.Sides]:
    bound = ours_api(fakes.url, "openai").bind("gpt-4o")
    return count, {"raw": raw_call(raw_client(fakes.url, "openai"), "openai"), "ours": partial(bound, "hello")}


def instant_api() -> Any:
    """A `ModelsAPI` with `instant/echo`, a provider that returns a ready, priced answer at once: what
    a call through it costs is our own work (bench_tracing.py uses it too)."""
    from prometheus_client import CollectorRegistry

    from models import Completion, ModelsAPI, Provider
    from models.providers import Request

    answer = Completion("hi", input_tokens=10, output_tokens=5)

    class Instant(Provider):
        def complete(self, request: Request) -> Completion:
            return answer

    os.environ["MODELS_COST_INSTANT_ECHO_INPUT"] = "1"
    os.environ["MODELS_COST_INSTANT_ECHO_OUTPUT"] = "2"
    api = ModelsAPI(registry=CollectorRegistry())
    api.register_provider("instant", Instant)
    return api


def _bookkeeping(fakes: Fakes) -> measure.Sides:
    """A provider that returns a ready, priced answer at once: what remains is our own work."""
    from models.providers import Request

    api = instant_api()
    bound = api.bind("instant/echo")
    request = Request(bound._target.info, [{"role": "user", "content": "hello"}], None, {}, 600.0)
    return {
        "raw": partial(bound._target.provider.complete, request),
        "binding": partial(bound, "hello"),
        "models()": partial(api, "instant/echo", "hello"),
    }


section("call", "one plain call, median µs of the round's calls", "µs", measure.per_call)
section("stream", "a 3-piece stream, median µs to the first text piece and to the end", "µs", measure.streams)
section(
    "piece",
    f"client CPU per streamed piece ({measure.LONG}-piece vs 3-piece answers)",
    "µs",
    measure.per_piece,
    diff=True,
)
section("async", "200 concurrent calls, wall and client CPU, median of the round's batches", "ms", measure.gather)
section("threads", "one client shared by N threads (openai), calls per second", "calls/s", measure.threads)
section(
    "bookkeeping",
    "our own work per call on a provider that answers at once (best of runs)",
    "µs",
    measure.floor,
    True,
    ("provider", "ours"),
)

for name in MODELS:
    row("call", name, {"binding": at_most(1.00), "models()": at_most(1.02)})(partial(_call, name))
    row("stream", name, {"first piece": at_most(1.02)})(partial(_stream, name))
    row("piece", name, {"per piece": at_most(2.0)})(partial(_piece, name))
for name in ("openai", "anthropic"):
    row("async", name, {"wall": at_most(1.02)})(partial(_async, name))
for count in (1, 2, 4, 8):
    row("threads", str(count), {"ours": at_least(0.95)} if count == 8 else {})(partial(_threads, count))
row("bookkeeping", "instant", {"binding": at_most(3.0)})(_bookkeeping)
