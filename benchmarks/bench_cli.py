"""Rows: the `models` command's start-up, the installed console script in a fresh process over a
bare interpreter (`python -c pass`); the issue's target: `models --help` within 100 ms of it.

`--help` parses with argparse before anything heavy is imported (no call path, no SDK);
`ask --help` also shows where the call log goes, so it imports the call-log module (sqlite3,
logging and the price table with it).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import measure
from harness import ROOT, Fakes, Plan, at_most, note, row, section


def commands(sides: dict[str, list[str]], plan: Plan) -> measure.Measured:
    """Wall ms of each side's command line, run to its end with its output discarded."""
    repeats = plan.pick(10, 2)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's `models`, as `-c` code gets it from cwd
    times: dict[str, list[float]] = {name: [] for name in sides}
    for name in plan.schedule(sides, repeats):
        start = time.perf_counter()
        subprocess.run(sides[name], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, check=True)
        times[name].append((time.perf_counter() - start) * 1000)
    return measure.against_raw({name: statistics.median(values) for name, values in times.items()})


def script() -> list[str]:
    """The installed `models` console script, or `python -m models` where it is not installed."""
    found = shutil.which("models", path=str(Path(sys.prefix) / ("Scripts" if os.name == "nt" else "bin")))
    if found is None:
        note("no `models` script in this environment: measured `python -m models` instead")
        return [sys.executable, "-m", "models"]
    return [found]


section(
    "cli",
    "the models command in a fresh process, over a bare interpreter",
    "ms",
    commands,
    True,
    ("bare", "command"),
)


@row("cli", "models --help", {"ours": at_most(100.0)})
def _help(fakes: Fakes) -> dict[str, list[str]]:
    return {"raw": [sys.executable, "-c", "pass"], "ours": [*script(), "--help"]}


@row("cli", "models ask --help")  # no target: it imports the call-log module to show where the log goes
def _ask_help(fakes: Fakes) -> dict[str, list[str]]:
    return {"raw": [sys.executable, "-c", "pass"], "ours": [*script(), "ask", "--help"]}
