"""Rows: what the call log (`models.log_to`) costs a call, and how fast its writer writes.

The log's design is that a call only appends a tuple to a queue; a background thread makes the
rows and inserts them. So one binding is timed with its instance's log switched off and on in
alternate blocks (the same client, connections and caches either way): "call path", the median of
single calls, which is what the caller waits; "with writing", each block's mean with the flush of
its rows; "client CPU", the process's CPU per call, the writer's included, which a real call
hides in its network wait but a provider that answers at once cannot. On the wire the difference
is far below the run-to-run noise of a shared machine (tens of µs), so only the mock row has a
target. The "logwriter" rows time the writer alone: rows per second from a queue of calls made
beforehand into a fresh file, prompts and answers off vs on.
"""

from __future__ import annotations

import atexit
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench_overhead import ours_api
from harness import Fakes, Measured, Plan, at_most, row, section

Work = tuple[tuple[int, int], tuple[int, int]]  # (calls, blocks) of a full run, of a quick run


@dataclass(frozen=True)
class Logged:
    """One binding whose instance logs or not, switched between blocks: the same client and
    connection either way, so the difference is the log's alone."""

    call: Callable[[], Any]
    api: Any
    path: str
    work: Work

    def switch(self, on: bool) -> None:
        self.api.log_to(self.path if on else None)

    def flush(self) -> None:
        from models._observe.calllog import open_log

        open_log(self.path).flush(60.0)


def logged(setup: Logged, plan: Plan) -> Measured:
    """Log off vs on, in interleaved blocks: "call path", the median µs of a single call (the
    writer's bursts fall between calls); "with writing", the block's mean µs per call with the
    flush of its rows timed; "client CPU", this process's CPU µs per call over the block and its
    flush, the writer thread's included. The off side runs the same steps (its flush has nothing
    to write)."""
    calls, blocks = plan.pick(*setup.work)
    for on in (False, True):
        setup.switch(on)
        for _ in range(calls // 10):
            setup.call()
    setup.flush()
    single: dict[str, list[int]] = {"off": [], "on": []}
    wall: dict[str, list[float]] = {"off": [], "on": []}
    cpu: dict[str, list[float]] = {"off": [], "on": []}
    fn = setup.call
    for name in plan.schedule(single, blocks):
        setup.switch(name == "on")
        out = single[name]
        start, start_cpu = time.perf_counter_ns(), time.process_time_ns()
        for _ in range(calls):
            before = time.perf_counter_ns()
            fn()
            out.append(time.perf_counter_ns() - before)
        setup.flush()
        wall[name].append((time.perf_counter_ns() - start) / calls / 1000)
        cpu[name].append((time.process_time_ns() - start_cpu) / calls / 1000)
    med = statistics.median
    return {
        "call path": (med(single["off"]) / 1000, med(single["on"]) / 1000),
        "with writing": (med(wall["off"]), med(wall["on"])),
        "client CPU": (med(cpu["off"]), med(cpu["on"])),
    }


def _log_path() -> str:
    """A file in a new directory, removed when this client process exits (after the log's flush)."""
    folder = tempfile.mkdtemp(prefix="bench-calllog-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder + "/calls.db"


def _wire(fakes: Fakes) -> Logged:
    """A binding over the loopback fake (OpenAI)."""
    api = ours_api(fakes.url, "openai")
    return Logged(partial(api.bind("gpt-4o"), "Why is the sky blue?"), api, _log_path(), ((300, 8), (50, 2)))


def _instant(fakes: Fakes) -> Logged:
    """The mock provider (no I/O, priced): what is left is our own work, the log's included."""
    api = _mock_api()
    return Logged(partial(api.bind("mock/echo"), "Why is the sky blue?"), api, _log_path(), ((5000, 8), (500, 2)))


def _mock_api() -> Any:
    from prometheus_client import CollectorRegistry

    from models import ModelsAPI

    api = ModelsAPI(registry=CollectorRegistry())
    api.register_model("mock/echo", price={"input": 1.0, "output": 2.0})
    return api


class _Keep:
    """An observer that keeps what the call log would queue, to feed the writer directly."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []

    def begin(self, call: Any) -> None:
        return None

    def ok(self, call: Any, state: Any, c: Any, usage: Any, latency: float) -> None:
        self.items.append((call, c, usage, latency, True))

    def error(self, *args: Any) -> None:
        return None


def written(items: list[tuple[Any, ...]], plan: Plan) -> Measured:
    """Rows per second the writer inserts from a full queue (content off vs on), each block into a
    fresh file (the first batch also creates it)."""
    blocks = plan.pick(6, 2)
    rates: dict[str, list[float]] = {"raw": [], "ours": []}
    from models._observe.calllog import open_log

    for name in plan.schedule(rates, blocks):
        content = name == "ours"
        log = open_log(_log_path(), content=content)
        log.flush()  # the writer thread is up
        queued = [(*item[:4], content) for item in items]
        start = time.perf_counter()
        log._writer.queue.extend(queued)
        log.flush(120.0)
        rates[name].append(len(queued) / (time.perf_counter() - start))
        log.close()
    return {"content on": (statistics.median(rates["raw"]), statistics.median(rates["ours"]))}


def _calls(fakes: Fakes) -> list[tuple[Any, ...]]:
    """Calls of the mock, as the log would queue them, with prompts of a few sentences."""
    from models._observe.observed import Observer

    api = _mock_api()
    keep = _Keep()
    observer: Observer = keep
    api._service.add_observer(observer)
    prompt = "Why is the sky blue? Answer in two sentences, for a child of ten. " * 3
    bound = api.bind("mock/echo", system="You are a patient teacher.")
    for i in range(5000):
        bound(f"{i}: {prompt}")
    return keep.items


section("calllog", "µs per call, log off vs on (mean per block, median of blocks)", "µs", logged, True, ("off", "on"))
section(
    "logwriter",
    "rows per second the writer inserts, prompts and answers off vs on",
    "rows/s",
    written,
    columns=("content off", "content on"),
)
row("calllog", "openai")(_wire)  # µs are within the wire's noise on a shared machine: no target
row("calllog", "instant", {"call path": at_most(5.0)})(_instant)
row("logwriter", "mock")(_calls)
