"""How a round of a row is timed: one function per kind of section.

Each runs in the fresh, pinned client process, takes what its rows' setup returns and the `Plan`,
and returns per comparison label the round's (raw, ours) values. Sides run in interleaved blocks
(`Plan.schedule`); "raw" is always the baseline and every other side is compared with it.
"""

from __future__ import annotations

import asyncio
import ctypes
import gc
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from harness import LONG, ROOT, Measured, Plan, note

Sides = dict[str, Callable[[], Any]]  # "raw" first, then ours (e.g. "binding", "models()", or "ours")


def against_raw(values: dict[str, float], metric: str = "") -> Measured:
    """Each non-raw side against raw, labelled by side (and metric, when a kind has several)."""
    label = {"ours": metric} if metric else {}
    return {
        label.get(side, f"{side} {metric}".strip()): (values["raw"], value)
        for side, value in values.items()
        if side != "raw"
    }


def per_call(sides: Sides, plan: Plan) -> Measured:
    """Median µs per call of each side, over all its calls in this round."""
    calls, blocks = plan.pick((50, 8), (20, 2))
    for fn in sides.values():
        for _ in range(10):
            fn()
    samples: dict[str, list[int]] = {name: [] for name in sides}
    for name in plan.schedule(sides, blocks):
        fn, out = sides[name], samples[name]
        for _ in range(calls):
            start = time.perf_counter_ns()
            fn()
            out.append(time.perf_counter_ns() - start)
    return against_raw({name: statistics.median(values) / 1000 for name, values in samples.items()})


def _stream_times(open_stream: Callable[[], Iterable[Any]], out: tuple[list[float], list[float]]) -> None:
    start = time.perf_counter_ns()
    stream = iter(open_stream())
    next(stream)
    out[0].append((time.perf_counter_ns() - start) / 1000)
    for _ in stream:
        pass
    out[1].append((time.perf_counter_ns() - start) / 1000)


def streams(sides: Sides, plan: Plan) -> Measured:
    """Median µs to the first text piece and to the end of a 3-piece stream; the sides open a
    stream that yields text pieces only."""
    count, blocks = plan.pick((20, 8), (10, 2))
    samples: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in sides}
    for fn in sides.values():
        for _ in range(5):
            _stream_times(fn, ([], []))
    for name in plan.schedule(sides, blocks):
        for _ in range(count):
            _stream_times(sides[name], samples[name])
    med = statistics.median
    return {
        **against_raw({name: med(first) for name, (first, _) in samples.items()}, "first piece"),
        **against_raw({name: med(total) for name, (_, total) in samples.items()}, "total"),
    }


def _cpu_us(open_stream: Callable[[], Iterable[Any]]) -> float:
    start = time.process_time_ns()
    for _ in open_stream():
        pass
    return (time.process_time_ns() - start) / 1000


def per_piece(
    sides: dict[str, tuple[Callable[[], Iterable[Any]], Callable[[], Iterable[Any]]]], plan: Plan
) -> Measured:
    """Client CPU µs per streamed piece: (a LONG-piece stream - a 3-piece stream) / (LONG - 3).
    CPU time of this process only, so the fake's own per-piece work drops out. The sides are
    (open a 3-piece stream, open a LONG-piece stream)."""
    count, blocks = plan.pick((6, 3), (2, 1))
    short: dict[str, list[float]] = {name: [] for name in sides}
    long: dict[str, list[float]] = {name: [] for name in sides}
    for open_short, open_long in sides.values():
        _cpu_us(open_short), _cpu_us(open_long)
    for name in plan.schedule(sides, blocks):
        open_short, open_long = sides[name]
        for _ in range(count):
            long[name].append(_cpu_us(open_long))
            for _ in range(4):
                short[name].append(_cpu_us(open_short))
    med = statistics.median
    return against_raw({name: (med(long[name]) - med(short[name])) / (LONG - 3) for name in sides}, "per piece")


def gather(
    setup: tuple[dict[str, Callable[[], Awaitable[Any]]], Callable[[], Awaitable[None]]], plan: Plan
) -> Measured:
    """Wall and client-CPU ms of 200 concurrent calls per side. The setup returns the sides (async
    callables) and a coroutine function that closes the raw client inside the loop (the SDK's own
    finaliser would otherwise schedule it after the loop is gone)."""
    sides, close = setup
    blocks = plan.pick(3, 1)
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}

    async def main() -> None:
        for fn in sides.values():  # warm both connection pools
            await asyncio.gather(*(fn() for _ in range(200)))
        for name in plan.schedule(sides, blocks):
            fn, start, cpu = sides[name], time.perf_counter(), time.process_time()
            await asyncio.gather(*(fn() for _ in range(200)))
            walls[name].append((time.perf_counter() - start) * 1000)
            cpus[name].append((time.process_time() - cpu) * 1000)
        await close()

    asyncio.run(main())
    med = statistics.median
    return {
        **against_raw({name: med(values) for name, values in walls.items()}, "wall"),
        **against_raw({name: med(values) for name, values in cpus.items()}, "client CPU"),
    }


def _rate(fn: Callable[[], Any], threads: int, calls: int) -> tuple[int, float]:
    """(calls made, seconds) for `calls` calls shared by `threads` threads started together."""
    each = calls // threads
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(each):
            fn()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in pool:
        thread.join()
    return each * threads, time.perf_counter() - start


def threads(setup: tuple[int, Sides], plan: Plan) -> Measured:
    """Calls per second of each side with N threads sharing one client: the median of its blocks,
    so a moment of load elsewhere that hits one block does not move the round."""
    count, sides = setup
    calls, blocks = plan.pick((200, 8), (100, 2))
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for fn in sides.values():  # warm: one connection per thread
        _rate(fn, count, 4 * count)
    for name in plan.schedule(sides, blocks):
        made, seconds = _rate(sides[name], count, calls)
        rates[name].append(made / seconds)
    return against_raw({name: statistics.median(values) for name, values in rates.items()})


def floor(sides: Sides, plan: Plan) -> Measured:
    """µs per call, the best of several runs of many calls: the floor, for work with no I/O."""
    calls, repeats = plan.pick((10000, 5), (1000, 2))
    best = {name: float("inf") for name in sides}
    for name in plan.schedule(sides, repeats):
        fn = sides[name]
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        best[name] = min(best[name], (time.perf_counter_ns() - start) / calls / 1000)
    return against_raw(best)


def interpreters(sides: dict[str, str], plan: Plan) -> Measured:
    """Wall ms of a fresh interpreter running each side's code (pinned like this process)."""
    repeats = plan.pick(2, 1)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for name in plan.schedule(sides, repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", sides[name]], cwd=ROOT, check=True)
        times[name].append((time.perf_counter() - start) * 1000)
    return against_raw({name: statistics.median(values) for name, values in times.items()})


def big_calls(sides: Sides, plan: Plan) -> Measured:
    """Median wall and client-CPU ms per call, for calls of tens of ms or more (a 20 MB upload):
    few calls, one warm-up each. Client CPU is this process's alone, so it leaves out the fake's
    own work on the request (the same for every side), which the wall time includes."""
    calls, blocks = plan.pick((3, 4), (1, 1))
    for fn in sides.values():
        fn()
    walls: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    for name in plan.schedule(sides, blocks):
        fn = sides[name]
        for _ in range(calls):
            start, cpu = time.perf_counter(), time.process_time()
            fn()
            walls[name].append((time.perf_counter() - start) * 1000)
            cpus[name].append((time.process_time() - cpu) * 1000)
    med = statistics.median
    return {
        **against_raw({name: med(values) for name, values in walls.items()}, "wall"),
        **against_raw({name: med(values) for name, values in cpus.items()}, "client CPU"),
    }


_MB = 1024 * 1024


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB


def _fix_heap() -> Any:
    """glibc, set to give every large block back to the OS on free, or None where it cannot be
    (not Linux, not glibc). glibc otherwise raises its mmap threshold after each large free and
    keeps freed blocks of up to 32 MB on the heap, so a call's resident peak would depend on what
    ran before it; a fixed threshold (M_MMAP_THRESHOLD = -3, at its default 128 KiB) does not.
    Set when measuring starts, after the row's setup: a block the setup left on the heap stays
    there (`_peaks` trims it, but one reused and freed again would stay resident). The attachment
    rows' setups leave none that matters: their resident peaks match the traced ones (a test
    checks); a process that had made many large calls before, e.g. under `big_calls`, would."""
    try:
        _reset_rss_peak()
        libc = ctypes.CDLL(None)
        return libc if libc.mallopt(-3, 128 * 1024) else None
    except (OSError, AttributeError):
        return None


def _reset_rss_peak() -> None:
    """Set the resident-set high-water mark (VmHWM) back to the current size (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _peaks(fn: Callable[[], Any], heap: Any) -> tuple[float, float]:
    """MB above the start of one call of `fn`, each its own call: (peak of Python allocations,
    peak resident set, 0 without `heap`)."""
    resident = 0.0
    if heap is not None:
        gc.collect()
        heap.malloc_trim(0)  # what the heap still holds from before is given back, not reused
        _reset_rss_peak()
        before = _status_mb("VmRSS")
        fn()
        resident = _status_mb("VmHWM") - before
    gc.collect()
    tracemalloc.start()
    try:
        fn()
        traced = tracemalloc.get_traced_memory()[1] / _MB
    finally:
        tracemalloc.stop()
    return traced, resident


def peak_memory(sides: Sides, plan: Plan, blocks: int = 3) -> Measured:
    """Peak MB during one call of each side, above what was in use when it began, median of the
    round's calls: Python allocations (tracemalloc, started for the call alone: it slows every
    allocation, so these calls are not timed) and, on Linux with glibc, the process's resident set
    (its high-water mark reset before the call; see `_fix_heap`), which also counts memory that C
    code allocates outside Python's allocator. Each side is warmed by one call first. `blocks` per
    round (quick: 1): fewer for calls that allocate millions of objects, slow under tracemalloc."""
    heap = _fix_heap()
    if heap is None:
        note("resident set not measured: needs Linux (/proc/self/clear_refs) and glibc (mallopt)")
    for fn in sides.values():
        fn()
    traced: dict[str, list[float]] = {name: [] for name in sides}
    resident: dict[str, list[float]] = {name: [] for name in sides}
    for name in plan.schedule(sides, plan.pick(blocks, 1)):
        python, process = _peaks(sides[name], heap)
        traced[name].append(python)
        resident[name].append(process)
    med = statistics.median
    peaks = {name: med(values) for name, values in traced.items()}
    for name, peak in peaks.items():
        if name != "raw":
            note(f"{name} - raw: {peak - peaks['raw']:+.1f} MB of Python allocations at the peak")
    out = against_raw(peaks, "traced")
    if heap is not None:
        out.update(against_raw({name: med(values) for name, values in resident.items()}, "resident"))
    return out
