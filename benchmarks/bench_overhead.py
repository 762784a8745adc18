"""Cost of the facade against the raw SDKs, same run, server in its own process.

    .venv/bin/python benchmarks/bench_overhead.py [calls]

Prints medians (µs) of interleaved rounds for: plain calls (raw SDK with a reused
client, a `ModelBinding`, `models(...)`), streams (time to first piece and total, raw
SDK stream vs `binding.stream`), 200 concurrent async calls (wall time, raw async
client vs `binding.acall`), per-piece stream overhead (answers of 400 pieces from a second
fake), 1-8 threads, and the facade's own bookkeeping per call (a provider that answers at once).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fake_llm import FakeLLM, Reply
with FakeLLM() as fake:
    if {pieces}:  # every answer streams this many one-word pieces
        fake.set_reply(Reply(text=" ".join(["word"] * {pieces}), chunks={pieces}))
    print(fake.url, flush=True)
    sys.stdin.read()
"""
LONG = 400  # pieces per answer for the per-piece measurement


def _server(pieces: int = 0) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT), pieces=pieces)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def _median_us(fn: Callable[[], Any], calls: int) -> float:
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def _compare(raw: Callable[[], Any], bound: Callable[[], Any], call: Callable[[], Any], calls: int) -> list[float]:
    """Medians (µs) of raw, bound and facade calls, interleaved in 5 rounds so drift hits all alike."""
    for fn in (raw, bound, call):
        for _ in range(20):
            fn()
    rounds: list[list[float]] = [[], [], []]
    for _ in range(5):
        for samples, fn in zip(rounds, (raw, bound, call)):
            samples.append(_median_us(fn, calls // 5))
    return [statistics.median(samples) for samples in rounds]


def _stream_times(open_stream: Callable[[], Any], count: int) -> tuple[list[float], list[float]]:
    """µs to the first item and to the end, for `count` streams."""
    firsts, totals = [], []
    for _ in range(count):
        start = time.perf_counter_ns()
        stream = iter(open_stream())
        next(stream)
        firsts.append((time.perf_counter_ns() - start) / 1000)
        for _ in stream:
            pass
        totals.append((time.perf_counter_ns() - start) / 1000)
    return firsts, totals


def _stream_cpu(raw: Callable[[], Any], ours: Callable[[], Any], count: int) -> tuple[float, float]:
    """Median client CPU µs per whole stream, raw and ours, interleaved. CPU time of this process
    only: the fake's own per-chunk work (another process) and scheduling noise drop out."""
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(count):
        for column, fn in zip(samples, (raw, ours)):
            start = time.process_time_ns()
            for _ in fn():
                pass
            column.append((time.process_time_ns() - start) / 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def _compare_streams(raw: Callable[[], Any], ours: Callable[[], Any], count: int) -> list[float]:
    """Median first-piece and total µs, raw then ours, in 5 interleaved rounds."""
    samples: list[list[float]] = [[], [], [], []]
    for fn in (raw, ours):
        _stream_times(fn, 10)
    for _ in range(5):
        for offset, fn in ((0, raw), (2, ours)):
            firsts, totals = _stream_times(fn, count // 5)
            samples[offset].append(statistics.median(firsts))
            samples[offset + 1].append(statistics.median(totals))
    return [statistics.median(column) for column in samples]


async def _gather_times(
    client_class: Any, extra: dict[str, Any], model: str, bound: Any
) -> tuple[float, float, float, float]:
    """Median wall ms and client CPU ms of 200 concurrent calls, raw async client vs binding;
    9 rounds, the order alternating so neither side always runs second."""
    raw = client_class(api_key="sk-bench", max_retries=0, **extra)
    msgs = [{"role": "user", "content": "hello"}]
    if "openai" in type(raw).__module__:
        one = partial(raw.chat.completions.create, model=model, messages=msgs, timeout=600)
    else:
        one = partial(raw.messages.create, model=model, messages=msgs, max_tokens=4096, timeout=600)
    ours = partial(bound.acall, "hello")
    walls: dict[Any, list[float]] = {one: [], ours: []}
    cpus: dict[Any, list[float]] = {one: [], ours: []}
    for fn in (one, ours):  # warm both connection pools
        await asyncio.gather(*(fn() for _ in range(200)))
    for turn in range(9):
        for fn in (one, ours) if turn % 2 else (ours, one):
            start, cpu = time.perf_counter(), time.process_time()
            await asyncio.gather(*(fn() for _ in range(200)))
            walls[fn].append((time.perf_counter() - start) * 1000)
            cpus[fn].append((time.process_time() - cpu) * 1000)
    await raw.close()  # in this loop: the SDK's __del__ would schedule it after the loop is gone
    med = statistics.median
    return med(walls[one]), med(walls[ours]), med(cpus[one]), med(cpus[ours])


def _throughput(fn: Callable[[], Any], threads: int, total: int) -> float:
    """Calls per second for `total` calls shared by `threads` threads (best of 3 rounds)."""
    import threading

    best = 0.0
    for _ in range(3):
        barrier = threading.Barrier(threads + 1)

        def work(barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            for _ in range(total // threads):
                fn()

        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        barrier.wait()
        start = time.perf_counter()
        for t in pool:
            t.join()
        best = max(best, (total // threads) * threads / (time.perf_counter() - start))
    return best


def _stream_cases(api: Any, url: str) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Per provider: a raw SDK stream that yields text pieces only (as ours does), and ours."""
    import anthropic
    import openai
    from google import genai

    raw_openai = openai.OpenAI(api_key="sk-bench", base_url=url + "/v1", max_retries=0)
    raw_anthropic = anthropic.Anthropic(api_key="sk-bench", base_url=url, max_retries=0)
    raw_google = genai.Client(api_key="bench", http_options={"base_url": url + "/"})
    msgs = [{"role": "user", "content": "hello"}]
    raw = {
        "openai": lambda: (
            c.choices[0].delta.content
            for c in raw_openai.chat.completions.create(
                model="gpt-4o", messages=msgs, timeout=600, stream=True, stream_options={"include_usage": True}
            )
            if c.choices and c.choices[0].delta.content
        ),
        "anthropic": lambda: (
            e.delta.text
            for e in raw_anthropic.messages.create(
                model="claude-sonnet-4-6", messages=msgs, max_tokens=4096, timeout=600, stream=True
            )
            if e.type == "content_block_delta"
        ),
        "google": lambda: (
            c.text for c in raw_google.models.generate_content_stream(model="gemini-2.5-flash", contents="hello")
        ),
    }
    models = {"openai": "gpt-4o", "anthropic": "claude-sonnet-4-6", "google": "gemini-2.5-flash"}
    return {name: (raw[name], partial(api.bind(models[name]).stream, "hello")) for name in raw}


def _bookkeeping() -> None:
    """The facade's own work per call: a provider that returns a ready answer at once, priced."""
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
    bound = api.bind("instant/echo")
    request = Request(bound._target.info, [{"role": "user", "content": "hello"}], None, {}, 600.0)
    provider = bound._target.provider
    n = 20000
    rows = (
        ("instant provider alone", partial(provider.complete, request)),
        ("binding", partial(bound, "hello")),
        ("models()", partial(api, "instant/echo", "hello")),
    )
    best = {}
    for _ in range(5):  # best of 5: the floor, with the least interference from other processes
        for label, fn in rows:
            start = time.perf_counter_ns()
            for _ in range(n):
                fn()
            best[label] = min(best.get(label, float("inf")), (time.perf_counter_ns() - start) / n)
    print(f"\n{'bookkeeping (instant provider)':<32}{'ns/call':>9}{'facade ns':>11}")
    for label, ns in best.items():
        print(f"{label:<32}{ns:>9.0f}{ns - best['instant provider alone']:>11.0f}")


def _async_section(url: str) -> None:
    """200 concurrent calls through a binding vs the raw async clients."""
    import anthropic
    import openai
    from prometheus_client import CollectorRegistry

    from models import ModelsAPI, ModelsWarning

    warnings.simplefilter("ignore", ModelsWarning)
    api = ModelsAPI(registry=CollectorRegistry())
    api.configure("openai", api_key="sk-bench", base_url=url + "/v1")
    api.configure("anthropic", api_key="sk-bench", base_url=url)
    raw_async = {
        "openai": (openai.AsyncOpenAI, {"base_url": url + "/v1"}, "gpt-4o"),
        "anthropic": (anthropic.AsyncAnthropic, {"base_url": url}, "claude-sonnet-4-6"),
    }
    print(f"\n{'200 async':<10}{'raw ms':>9}{'ours ms':>10}{'ratio':>8}{'raw CPU ms':>12}{'ours CPU':>10}{'ratio':>8}")
    for provider, (client_class, extra, model) in raw_async.items():
        raw_ms, our_ms, raw_cpu, our_cpu = asyncio.run(_gather_times(client_class, extra, model, api.bind(model)))
        print(
            f"{provider:<10}{raw_ms:>9.1f}{our_ms:>10.1f}{our_ms / raw_ms:>8.3f}"
            f"{raw_cpu:>12.1f}{our_cpu:>10.1f}{our_cpu / raw_cpu:>8.3f}",
            flush=True,
        )


def main(calls: int = 300) -> None:
    server, url = _server()
    try:
        import anthropic
        import openai
        from google import genai
        from prometheus_client import CollectorRegistry

        from models import ModelsAPI, ModelsWarning

        warnings.simplefilter("ignore", ModelsWarning)  # deprecation notices of the benchmarked models

        api = ModelsAPI(registry=CollectorRegistry())
        api.configure("openai", api_key="sk-bench", base_url=url + "/v1")
        api.configure("anthropic", api_key="sk-bench", base_url=url)
        api.configure("google", api_key="bench", base_url=url + "/")
        raw_openai = openai.OpenAI(api_key="sk-bench", base_url=url + "/v1", max_retries=0)
        raw_anthropic = anthropic.Anthropic(api_key="sk-bench", base_url=url, max_retries=0)
        raw_google = genai.Client(api_key="bench", http_options={"base_url": url + "/"})
        msgs = [{"role": "user", "content": "hello"}]
        cases = {
            "openai": (
                lambda: raw_openai.chat.completions.create(model="gpt-4o", messages=msgs, timeout=600),
                "gpt-4o",
            ),
            "anthropic": (
                lambda: raw_anthropic.messages.create(
                    model="claude-sonnet-4-6", messages=msgs, max_tokens=4096, timeout=600
                ),
                "claude-sonnet-4-6",
            ),
            "google": (
                lambda: raw_google.models.generate_content(model="gemini-2.5-flash", contents="hello"),
                "gemini-2.5-flash",
            ),
        }
        print(f"{'provider':<10}{'raw µs':>9}{'binding µs':>12}{'models() µs':>13}{'bind/raw':>10}{'call/raw':>10}")
        for provider, (raw, model) in cases.items():
            bound = api.bind(model)
            r, b, c = _compare(raw, partial(bound, "hello"), partial(api, model, "hello"), calls)
            print(f"{provider:<10}{r:>9.0f}{b:>12.0f}{c:>13.0f}{b / r:>10.3f}{c / r:>10.3f}")

        print(
            f"\n{'stream':<10}{'raw 1st µs':>11}{'ours 1st':>10}{'raw total':>11}{'ours total':>12}"
            f"{'1st ratio':>10}{'total ratio':>12}"
        )
        for provider, (open_raw, open_ours) in _stream_cases(api, url).items():
            raw_first, raw_total, our_first, our_total = _compare_streams(open_raw, open_ours, calls // 2)
            print(
                f"{provider:<10}{raw_first:>11.0f}{our_first:>10.0f}{raw_total:>11.0f}{our_total:>12.0f}"
                f"{our_first / raw_first:>10.3f}{our_total / raw_total:>12.3f}"
            )

        # Per piece: client CPU per stream of 400 pieces minus that of 3, raw and ours.
        short = {name: _stream_cpu(*pair, 60) for name, pair in _stream_cases(api, url).items()}
        long_server, long_url = _server(LONG)
        try:
            header = f"{'per piece':<10}{'raw CPU µs':>11}{'ours CPU µs':>12}{'ours - raw µs':>15}"
            print(f"\n{header}   ({LONG} pieces vs 3)")
            long_api = ModelsAPI(registry=CollectorRegistry())
            long_api.configure("openai", api_key="sk-bench", base_url=long_url + "/v1")
            long_api.configure("anthropic", api_key="sk-bench", base_url=long_url)
            long_api.configure("google", api_key="bench", base_url=long_url + "/")
            for provider, pair in _stream_cases(long_api, long_url).items():
                raw_long, our_long = _stream_cpu(*pair, 20)
                raw_piece = (raw_long - short[provider][0]) / (LONG - 3)
                our_piece = (our_long - short[provider][1]) / (LONG - 3)
                print(f"{provider:<10}{raw_piece:>11.1f}{our_piece:>12.1f}{our_piece - raw_piece:>15.2f}")
        finally:
            long_server.stdin.close()  # type: ignore[union-attr]
            long_server.wait(10)

        # In a fresh process: this one is full of the other sections' objects by now.
        sys.stdout.flush()
        subprocess.run([sys.executable, __file__, "--async", url], check=True)

        print(f"\n{'threads':<10}{'raw calls/s':>12}{'ours calls/s':>14}{'ratio':>8}")
        bound = api.bind("gpt-4o")
        raw_call = cases["openai"][0]
        for n in (1, 2, 4, 8):
            raw_rate = _throughput(raw_call, n, calls)
            our_rate = _throughput(partial(bound, "hello"), n, calls)
            print(f"{n:<10}{raw_rate:>12.0f}{our_rate:>14.0f}{our_rate / raw_rate:>8.3f}")

        _bookkeeping()
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--async"]:
        _async_section(sys.argv[2])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
