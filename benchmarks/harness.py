"""The benchmark harness: ours against the raw SDKs, one fresh pinned process per row and round.

Why it is built this way (issue 12: the earlier single-process figures did not reproduce):
- the loopback fakes run in their own process pinned to one CPU, every measurement in a client
  process pinned to another, so the two never compete for a core (`os.sched_setaffinity`; where
  that is unavailable the report says so and the spread is wider);
- every row and round runs in a fresh client process: a process that has run other rows first
  carries their heap and connections, which moved the async ratio by 5 %;
- inside that process the sides (raw, ours, ...) run in interleaved blocks (ABAB, BABA on every
  other round) so drift hits them alike; the rows of a round run in a shuffled order (fixed seed);
- each comparison is reported as the median over rounds of the per-round ratio (or difference),
  its [min, max] over rounds and a bootstrap 95 % CI of that median; a target "holds" only if the
  whole CI is within it, is "not met" if the whole CI is outside, and is "not shown" otherwise.

Adding a row (bench_overhead.py has the existing ones and the helpers used here): a setup function
that gets the fakes' URLs and returns what its section's measure function times, for most sections
one callable per side, "raw" (the baseline) first; targets are keyed by the comparison's label:

    @row("call", "openai tools", {"ours": at_most(1.00)})
    def _tools(fakes: Fakes) -> measure.Sides:
        raw = raw_client(fakes.url, "openai")
        bound = ours_api(fakes.url, "openai").bind("gpt-4o")
        return {
            "raw": lambda: raw.chat.completions.create(model="gpt-4o", messages=MESSAGES, tools=TOOLS),
            "ours": partial(bound, "hello", tools=TOOLS),
        }

A new kind of measurement is a new `section(name, title, unit, measure)`; measure.py has the kinds.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUN_ALL = Path(__file__).resolve().parent / "run_all.py"
LONG = 400  # pieces per answer from the second fake, for the per-piece cost

Measured = dict[str, tuple[float, float]]  # comparison label -> (raw value, ours value) of one round


@dataclass(frozen=True)
class Fakes:
    """Where the loopback fakes listen: `url` answers in 3 pieces, `long_url` in LONG pieces,
    `tools_url` with two tool calls, `json_url` with a JSON object (`{"name": "Paris", ...}`)."""

    url: str
    long_url: str
    tools_url: str = ""
    json_url: str = ""


@dataclass(frozen=True)
class Plan:
    """What one client process is asked to do: side order and how much work (quick or full)."""

    flip: bool  # run the sides in reverse order this round
    quick: bool

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    def schedule(self, sides: Mapping[str, Any], blocks: int) -> list[str]:
        """Side names in block order: A B A B ... (B A B A ... when flipped)."""
        names = list(sides)[::-1] if self.flip else list(sides)
        return names * blocks


@dataclass(frozen=True)
class Target:
    bound: float
    at_most: bool = True

    def text(self, unit: str | None) -> str:
        """ "≤ 1.00" for a ratio, "≤ 3 µs" for a difference."""
        bound = f"{self.bound:g} {unit}" if unit else f"{self.bound:.2f}"
        return f"{'≤' if self.at_most else '≥'} {bound}"

    def verdict(self, low: float, high: float) -> str:
        inside, outside = (
            (high <= self.bound, low > self.bound) if self.at_most else (low >= self.bound, high < self.bound)
        )
        return "holds" if inside else "not met" if outside else "not shown"


def at_most(bound: float) -> Target:
    return Target(bound, at_most=True)


def at_least(bound: float) -> Target:
    return Target(bound, at_most=False)


@dataclass(frozen=True)
class Section:
    name: str
    title: str  # what one value is, for the report
    unit: str
    measure: Callable[[Any, Plan], Measured]
    diff: bool = False  # compare ours - raw (an overhead in `unit`) instead of ours / raw
    columns: tuple[str, str] = ("raw", "ours")  # what the two sides are, for the report


@dataclass(frozen=True)
class Row:
    section: Section
    name: str
    setup: Callable[[Fakes], Any]
    targets: Mapping[str, Target] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.section.name}/{self.name}"


SECTIONS: dict[str, Section] = {}
ROWS: dict[str, Row] = {}
_NOTES: list[str] = []  # written by setups in a client process, shown under the section


def section(
    name: str,
    title: str,
    unit: str,
    measure: Callable[[Any, Plan], Measured],
    diff: bool = False,
    columns: tuple[str, str] = ("raw", "ours"),
) -> None:
    SECTIONS[name] = Section(name, title, unit, measure, diff, columns)


def row(
    section: str, name: str, targets: Mapping[str, Target] | None = None
) -> Callable[[Callable[[Fakes], Any]], Callable[[Fakes], Any]]:
    """Register `setup` as a row of `section`; targets are keyed by the measure's comparison labels
    (for per-call rows the side names, e.g. "binding", "models()", "ours")."""

    def register(setup: Callable[[Fakes], Any]) -> Callable[[Fakes], Any]:
        new = Row(SECTIONS[section], name, setup, targets or {})
        assert new.id not in ROWS, f"duplicate benchmark row {new.id}"
        ROWS[new.id] = new
        return setup

    return register


def note(text: str) -> None:
    """A line shown under the row's section (from the last round), e.g. what a probe found."""
    _NOTES.append(text)


# --- CPUs -----------------------------------------------------------------------------------------


def cpu_plan() -> tuple[int | None, int | None, str]:
    """(fake CPU, client CPU, a line for the report); Nones where pinning is unavailable."""
    if not hasattr(os, "sched_setaffinity"):
        return None, None, "not pinned: this platform has no os.sched_setaffinity; client and fakes share CPUs"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, f"not pinned: only CPU {cpus} is available; client and fakes share it"
    return cpus[0], cpus[1], f"fakes pinned to CPU {cpus[0]}, each client process to CPU {cpus[1]}"


def pin(cpu: int | None) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


# --- the fakes, in their own pinned process -------------------------------------------------------

_SERVER = """
import collections, os, sys
{pin}
sys.path.insert(0, {root!r})
from tests.fake_llm import FakeLLM, Reply
with FakeLLM() as short, FakeLLM() as long, FakeLLM() as tools, FakeLLM() as json_:
    # keep only the last requests: at ~4.5 KB a record, the ~300,000 of a full run would hold over
    # 1 GB and make the fake's full garbage collections ever longer, a drift over the run
    short.requests = long.requests = tools.requests = json_.requests = collections.deque(maxlen=8)
    long.set_reply(Reply(text=" ".join(["word"] * {long}), chunks={long}))
    calls = (("call_1", "get_weather", {{"city": "Paris"}}), ("call_2", "get_time", {{"zone": "Europe/Paris"}}))
    tools.set_reply(Reply(text="", tool_calls=calls, finish_reason="tool_calls"))
    json_.set_reply(Reply(text='{{"name": "Paris", "population": 2102650}}'))
    print(short.url, long.url, tools.url, json_.url, flush=True)
    sys.stdin.read()
"""


@contextmanager
def fakes(cpu: int | None) -> Iterator[Fakes]:
    code = _SERVER.format(pin="" if cpu is None else f"os.sched_setaffinity(0, {{{cpu}}})", root=str(ROOT), long=LONG)
    server = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdin is not None and server.stdout is not None
    try:
        yield Fakes(*server.stdout.readline().split())
    finally:
        server.stdin.close()
        server.wait(10)


# --- one measurement: a fresh client process ------------------------------------------------------


def child(row_id: str, fakes: Fakes, cpu: int | None, plan: Plan) -> None:
    """In the fresh client process: pin, set the row up, measure, print one JSON line."""
    pin(cpu)
    sys.path.insert(0, str(ROOT))
    chosen = ROWS[row_id]
    values = chosen.section.measure(chosen.setup(fakes), plan)
    print(json.dumps({"values": values, "notes": _NOTES}), flush=True)


def _spawn(chosen: Row, fakes: Fakes, cpu: int | None, plan: Plan) -> tuple[Measured, list[str]]:
    argv = [sys.executable, str(RUN_ALL), "--child", chosen.id, str(cpu), fakes.url, fakes.long_url]
    argv += [fakes.tools_url, fakes.json_url]
    argv += ["--flip"] * plan.flip + ["--quick"] * plan.quick
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"benchmark row {chosen.id} failed:\n{done.stderr}")
    out = json.loads(done.stdout.splitlines()[-1])
    return {label: (raw, ours) for label, (raw, ours) in out["values"].items()}, out["notes"]


@dataclass
class Result:
    rounds: list[Measured] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run(rows: list[Row], fakes: Fakes, cpu: int | None, rounds: int, quick: bool, seed: int) -> dict[str, Result]:
    """Every row once per round, in a fresh process each, rows shuffled per round (fixed seed)."""
    rng = random.Random(seed)
    results = {chosen.id: Result() for chosen in rows}
    for number in range(rounds):
        order = list(rows)
        rng.shuffle(order)
        for chosen in order:
            start = time.perf_counter()
            values, notes = _spawn(chosen, fakes, cpu, Plan(flip=number % 2 == 1, quick=quick))
            results[chosen.id].rounds.append(values)
            results[chosen.id].notes = notes
            took = time.perf_counter() - start
            print(f"round {number + 1}/{rounds}  {chosen.id:<24} {took:5.1f} s", file=sys.stderr, flush=True)
    return results


# --- statistics -----------------------------------------------------------------------------------


def bootstrap_ci(values: list[float], seed: str, resamples: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of the median (deterministic for a given seed)."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]


@dataclass(frozen=True)
class Line:
    """One comparison over all rounds, as the report shows it."""

    name: str
    raw: float  # median over rounds
    ours: float
    stat: float  # median over rounds of the per-round ratio (or difference)
    low: float  # min over rounds
    high: float  # max over rounds
    ci: tuple[float, float]
    target: Target | None

    @property
    def verdict(self) -> str:
        return self.target.verdict(*self.ci) if self.target else ""


def lines(chosen: Row, result: Result, seed: int) -> list[Line]:
    out = []
    for label in result.rounds[0]:
        raws = [values[label][0] for values in result.rounds]
        ours = [values[label][1] for values in result.rounds]
        stats = [b - a if chosen.section.diff else b / a for a, b in zip(raws, ours)]
        out.append(
            Line(
                chosen.name if label == "ours" else f"{chosen.name} {label}",
                statistics.median(raws),
                statistics.median(ours),
                statistics.median(stats),
                min(stats),
                max(stats),
                bootstrap_ci(stats, f"{seed}/{chosen.id}/{label}"),
                chosen.targets.get(label),
            )
        )
    return out


# --- the report -----------------------------------------------------------------------------------


def _num(value: float, sign: bool = False) -> str:
    size = abs(value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2
    return f"{value:{'+' if sign else ''}.{digits}f}"


def _stat(value: float, diff: bool) -> str:
    return _num(value, sign=True) if diff else f"{value:.3f}"


def render(header: list[str], rows: list[Row], results: dict[str, Result], seed: int) -> str:
    """The markdown report: a header, one table per section, then every target with its verdict."""
    out = ["# Benchmark report", "", *header]
    targets: list[str] = []
    for sec in SECTIONS.values():
        members = [chosen for chosen in rows if chosen.section is sec]
        if not members:
            continue
        base, ours = sec.columns
        stat = f"{ours} - {base} {sec.unit}" if sec.diff else f"{ours} / {base}"
        out += ["", f"## {sec.name}: {sec.title}", ""]
        out += [f"| row | {base} {sec.unit} | {ours} {sec.unit} | {stat} | rounds [min, max] | 95 % CI of median "]
        out[-1] += "| target | verdict |"
        out += ["|---|--:|--:|--:|--:|--:|---|---|"]
        notes = []
        for chosen in members:
            for line in lines(chosen, results[chosen.id], seed):
                spread = f"[{_stat(line.low, sec.diff)}, {_stat(line.high, sec.diff)}]"
                ci = f"[{_stat(line.ci[0], sec.diff)}, {_stat(line.ci[1], sec.diff)}]"
                cells = [line.name, _num(line.raw), _num(line.ours), f"**{_stat(line.stat, sec.diff)}**", spread, ci]
                goal = line.target.text(sec.unit if sec.diff else None) if line.target else "—"
                cells += [goal, line.verdict or "—"]
                out.append("| " + " | ".join(cells) + " |")
                if line.target:
                    what = f"{sec.name} {line.name}: {stat} {goal}"
                    targets.append(f"| {what} | {_stat(line.stat, sec.diff)} | {ci} | {line.verdict} |")
            notes += [f"- {chosen.name}: {text}" for text in results[chosen.id].notes]
        out += ["", *notes] if notes else []
    if targets:
        out += [
            "",
            "## Targets",
            "",
            "| target | median | 95 % CI of median | verdict |",
            "|---|--:|--:|---|",
            *targets,
        ]
    return "\n".join(out) + "\n"
