"""Per-call cost of the facade against the raw SDKs, same run, server in its own process.

    .venv/bin/python benchmarks/bench_overhead.py [calls]

Prints medians (µs) of interleaved rounds for: the raw SDK with a reused client, a
`ModelBinding`, and `models(...)`; and the facade's own bookkeeping on the `mock`
provider (no I/O) in ns per call.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SERVER = """
import sys, time
sys.path.insert(0, {root!r})
from tests.fake_llm import FakeLLM
with FakeLLM() as fake:
    print(fake.url, flush=True)
    sys.stdin.read()
"""


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


def main(calls: int = 300) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER.format(root=str(ROOT))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        import anthropic
        import openai
        from google import genai
        from prometheus_client import CollectorRegistry

        from models import ModelsAPI

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

        os.environ["MODELS_COST_MOCK_ECHO_INPUT"] = "1"
        os.environ["MODELS_COST_MOCK_ECHO_OUTPUT"] = "1"
        mock = ModelsAPI(registry=CollectorRegistry())
        echo = mock.bind("mock/echo")
        provider = echo._target.provider
        info = echo._target.info
        n = 20000
        for label, fn in (
            ("mock provider alone", lambda: provider.complete(info, msgs, None, {}, 600.0)),
            ("binding on mock", lambda: echo("hello")),
            ("models() on mock", lambda: mock("mock/echo", "hello")),
        ):
            start = time.perf_counter_ns()
            for _ in range(n):
                fn()
            print(f"{label:<22}{(time.perf_counter_ns() - start) / n:>8.0f} ns/call")
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
