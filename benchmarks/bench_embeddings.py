"""Rows: embedding many texts, ours against the raw openai SDK doing the same batching (issue 16).

Both sides embed the same texts in the same batches (at most 2,048 texts and 300,000 UTF-8 bytes
per request, OpenAI's limits as `models.embed` applies them) with `dimensions=1536`, and end with a
`list[float]` per text, in order:
- raw: `client.embeddings.create(model=..., input=batch, dimensions=1536)` per batch, as the SDK's
  docs show it (no `encoding_format`: the SDK asks for base64 and decodes it itself, with numpy
  when numpy is installed, else with `array`, into lists of floats), the vectors collected from
  `response.data`; async: the batches under an `asyncio.Semaphore(4)` and `asyncio.gather`, the
  concurrency of `models.aembed`;
- ours: `models.embed(model, texts, dimensions=1536)` / `await models.aembed(...)`.

"embed" times a call of 1,000 texts of ~1,000 bytes (four batches): wall and the client's CPU.
"embed-mem" measures a call's peak memory (`measure.peak_memory`) for those 1,000 texts and for
10,000 one-word texts (five batches of 2,048); a vector of 1,536 Python floats is 49 KB, so the
10,000 vectors alone are ~490 MB on either side.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

import measure
from bench_overhead import ours_api, raw_client
from harness import Fakes, at_most, row, section

MODEL = "text-embedding-3-small"
DIMENSIONS = 1536
_MOST, _BYTES = 2048, 300_000  # texts and UTF-8 bytes per request


def documents(count: int) -> list[str]:
    """`count` distinct texts of ~1,000 bytes."""
    return [f"document {i}: " + "the quick brown fox jumps over the lazy dog " * 22 for i in range(count)]


def words(count: int) -> list[str]:
    return [f"w{i}" for i in range(count)]


def batches(texts: list[str]) -> list[list[str]]:
    """OpenAI's request limits, as a caller of the raw SDK applies them (the same split as ours)."""
    out: list[list[str]] = []
    batch: list[str] = []
    size = 0
    for text in texts:
        n = len(text.encode())
        if batch and (len(batch) == _MOST or size + n > _BYTES):
            out.append(batch)
            batch, size = [], 0
        batch.append(text)
        size += n
    out.append(batch)
    return out


def _raw(client: Any, texts: list[str]) -> list[list[float]]:
    vectors: list[list[float]] = []
    for batch in batches(texts):
        response = client.embeddings.create(model=MODEL, input=batch, dimensions=DIMENSIONS, timeout=600)
        vectors.extend(item.embedding for item in response.data)
    return vectors


async def _araw(client: Any, texts: list[str]) -> list[list[float]]:
    gate = asyncio.Semaphore(4)

    async def one(batch: list[str]) -> Any:
        async with gate:
            return await client.embeddings.create(model=MODEL, input=batch, dimensions=DIMENSIONS, timeout=600)

    responses = await asyncio.gather(*(one(batch) for batch in batches(texts)))
    return [item.embedding for response in responses for item in response.data]


def _sync(texts: list[str], fakes: Fakes) -> measure.Sides:
    client, api = raw_client(fakes.url, "openai"), ours_api(fakes.url, "openai")
    return {
        "raw": partial(_raw, client, texts),
        "ours": lambda: api.embed(MODEL, texts, dimensions=DIMENSIONS).vectors,
    }


def _async(texts: list[str], fakes: Fakes) -> measure.Sides:
    """Both on one event loop kept for the process: each client's connection pool belongs to it."""
    client, api = raw_client(fakes.url, "openai", asynchronous=True), ours_api(fakes.url, "openai")
    loop = asyncio.new_event_loop()

    async def ours() -> list[list[float]]:
        return (await api.aembed(MODEL, texts, dimensions=DIMENSIONS)).vectors

    return {
        "raw": lambda: loop.run_until_complete(_araw(client, texts)),
        "ours": lambda: loop.run_until_complete(ours()),
    }


section(
    "embed",
    "embedding 1,000 texts of ~1,000 bytes in 4 batches, 1,536 dimensions (base64 on the wire): median wall and "
    "client-CPU ms of the round's calls",
    "ms",
    measure.big_calls,
)
section(
    "embed-mem",
    "embedding N texts, 1,536 dimensions: peak MB above the call's start, Python allocations (traced) and the "
    "resident set; the vectors alone are 49 KB each as Python floats",
    "MB",
    partial(measure.peak_memory, blocks=1),  # 15 million floats: ~20 s a call under tracemalloc
)

_TIME = {"wall": at_most(1.00), "client CPU": at_most(1.00)}
_MEMORY = {"traced": at_most(1.00), "resident": at_most(1.00)}
row("embed", "openai", _TIME)(partial(_sync, documents(1000)))
row("embed", "openai async", _TIME)(partial(_async, documents(1000)))
row("embed-mem", "1k texts", _MEMORY)(partial(_sync, documents(1000)))
row("embed-mem", "10k words", _MEMORY)(partial(_sync, words(10_000)))
