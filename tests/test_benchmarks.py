"""The benchmark harness (benchmarks/): its verdicts, its statistics, and a quick run of the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN_ALL = ROOT / "benchmarks" / "run_all.py"
# where measure.peak_memory reads a call's resident-set peak (Linux's /proc/self/clear_refs, glibc)
RESIDENT = sys.platform == "linux" and os.path.exists("/proc/self/clear_refs") and platform.libc_ver()[0] == "glibc"


def _load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_harness", ROOT / "benchmarks" / "harness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


harness = _load_harness()


def test_a_target_holds_only_when_the_whole_interval_is_within_it() -> None:
    at_most, at_least = harness.at_most(1.0), harness.at_least(0.95)
    assert at_most.verdict(0.90, 1.00) == "holds"
    assert at_most.verdict(0.99, 1.01) == "not shown"
    assert at_most.verdict(1.001, 1.2) == "not met"
    assert at_least.verdict(0.95, 1.2) == "holds"
    assert at_least.verdict(0.94, 1.2) == "not shown"
    assert at_least.verdict(0.80, 0.949) == "not met"
    assert at_most.text(None) == "≤ 1.00"
    assert harness.at_most(3.0).text("µs") == "≤ 3 µs"


def test_bootstrap_interval_of_the_median() -> None:
    # 3 rounds: a resample's median is the lowest (or highest) value 7/27 of the time, so the
    # interval is the whole range; 15 rounds: order statistics around the 8th, not the extremes.
    assert harness.bootstrap_ci([1.1, 0.9, 1.0], "s") == (0.9, 1.1)
    assert harness.bootstrap_ci([float(v) for v in range(1, 16)], "s") == (5.0, 12.0)  # seeded: the same every run


def _row(diff: bool, target: object) -> object:
    sec = harness.Section("call", "t", "µs", lambda setup, plan: {}, diff)
    return harness.Row(sec, "openai", lambda fakes: None, {"binding": target})


def test_each_comparison_is_the_median_over_rounds_of_the_per_round_ratio() -> None:
    rounds = [{"binding": (100.0, 90.0)}, {"binding": (100.0, 110.0)}, {"binding": (200.0, 190.0)}]
    [line] = harness.lines(_row(False, harness.at_most(1.0)), harness.Result(rounds), seed=1)
    assert line.name == "openai binding"
    assert (line.raw, line.ours) == (100.0, 110.0)  # medians of each side
    assert line.stat == 0.95  # median of 0.9, 1.1, 0.95: not 110 / 100
    assert (line.low, line.high, line.ci) == (0.9, 1.1, (0.9, 1.1))
    assert line.verdict == "not shown"
    [diff] = harness.lines(_row(True, harness.at_most(3.0)), harness.Result(rounds), seed=1)
    assert (diff.stat, diff.low, diff.high, diff.verdict) == (-10.0, -10.0, 10.0, "not shown")


def test_quick_run_of_two_sections_prints_the_markdown_report(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    argv = [sys.executable, str(RUN_ALL), "--quick", "--only", "bookkeeping,call/openai", "--rounds", "2"]
    done = subprocess.run([*argv, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    progress = [line.split()[:3] for line in done.stderr.splitlines() if line.startswith("round")]
    assert sorted(progress) == [
        ["round", "1/2", "bookkeeping/instant"],
        ["round", "1/2", "call/openai"],
        ["round", "2/2", "bookkeeping/instant"],
        ["round", "2/2", "call/openai"],
    ]
    report = out.read_text()
    if hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2:
        cpus = sorted(os.sched_getaffinity(0))
        assert f"fakes pinned to CPU {cpus[0]}, each client process to CPU {cpus[1]}" in report
    else:
        assert "not pinned: " in report
    assert report.startswith("# Benchmark report\n")
    assert "- 2 rounds; every row and round in a fresh client process" in report
    assert "quick run: a smoke test" in report
    sections = re.findall(r"^## (\S+)", report, re.M)
    assert sections == ["call:", "bookkeeping:", "Targets"]
    header = "| row | raw µs | ours µs | ours / raw | rounds [min, max] | 95 % CI of median | target | verdict |"
    assert header in report
    ratio, diff = r"\d+\.\d{3}", r"[+-]\d+\.\d+"
    stats = {ratio: rf"\*\*{ratio}\*\* \| \[{ratio}, {ratio}\] \| \[{ratio}, {ratio}\]"}
    stats[diff] = rf"\*\*{diff}\*\* \| \[{diff}, {diff}\] \| \[{diff}, {diff}\]"  # median, spread, CI
    verdict = r"(holds|not shown|not met)"
    for name, stat, target in (
        ("openai binding", ratio, "≤ 1.00"),
        ("openai models()", ratio, "≤ 1.02"),
        ("instant binding", diff, "≤ 3 µs"),
    ):
        cells = rf"^\| {re.escape(name)} \| [\d.]+ \| [\d.]+ \| {stats[stat]} \| {target} \| {verdict} \|$"
        assert re.search(cells, report, re.M), name
    assert re.search(r"^\| instant models\(\) \|.* \| — \| — \|$", report, re.M)  # no target: no verdict
    targets = report.split("## Targets")[1]
    assert len(re.findall(rf"^\| .* \| {verdict} \|$", targets, re.M)) == 3


def test_only_names_what_exists() -> None:
    done = subprocess.run([sys.executable, str(RUN_ALL), "--only", "async,nope"], capture_output=True, text=True)
    assert done.returncode == 1
    assert "--only: no section or row ['nope']; see --list" in done.stderr
    listing = subprocess.run([sys.executable, str(RUN_ALL), "--list"], capture_output=True, text=True, check=True)
    assert re.search(r"^async +200 concurrent calls", listing.stdout, re.M)
    assert "rows: openai, anthropic\n" in listing.stdout


def _measure(code: str) -> dict[str, list[float]]:
    """Run `code` (which ends by printing one measure function's result as JSON) in a fresh
    interpreter with benchmarks/ on the path, as a client process of the harness has it."""
    prelude = "import json, sys, time; sys.path[:0] = ['benchmarks', '.']; import harness, measure\n"
    done = subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_big_calls_time_wall_and_this_process_cpu() -> None:
    out = _measure(
        "def spin():\n"
        "    end = time.process_time() + 0.02\n"
        "    while time.process_time() < end: pass\n"
        "sides = {'raw': lambda: time.sleep(0.02), 'ours': spin}\n"
        "print(json.dumps(measure.big_calls(sides, harness.Plan(flip=False, quick=True))))"
    )
    assert list(out) == ["wall", "client CPU"]
    (sleep_wall, spin_wall), (sleep_cpu, spin_cpu) = out["wall"], out["client CPU"]
    assert sleep_wall >= 20 and spin_wall >= 20
    assert sleep_cpu < 5 <= 20 <= spin_cpu  # a sleep costs no CPU; the spin, its 20 ms


def test_peak_memory_counts_what_a_call_holds_at_its_peak() -> None:
    # raw holds 10 MiB; ours 10 MiB, then 30 MiB more while the 10 are still held: peak 40 MiB.
    # b"x" * n writes every page (bytes(n) would map zero pages that never become resident).
    out = _measure(
        "MB = 1024 * 1024\n"
        "def ours():\n"
        "    first = b'x' * (10 * MB)\n"
        "    second = b'y' * (30 * MB)\n"
        "    return len(first) + len(second)\n"
        "sides = {'raw': lambda: b'x' * (10 * MB), 'ours': ours}\n"
        "print(json.dumps(measure.peak_memory(sides, harness.Plan(flip=True, quick=False))))"
    )
    (raw, ours) = out["traced"]
    assert abs(raw - 10) < 0.05 and abs(ours - 40) < 0.05
    if RESIDENT:
        (raw, ours) = out["resident"]
        assert abs(raw - 10) < 0.5 and abs(ours - 40) < 0.5
    else:
        assert list(out) == ["traced"]


def test_quick_run_of_the_attachment_rows(tmp_path: Path) -> None:
    """Each provider's raw SDK and `models(..., attachments=[path])` send a 20 MB PDF to the fake."""
    out = tmp_path / "report.md"
    argv = [sys.executable, str(RUN_ALL), "--quick", "--only", "attach,attach-mem", "--rounds", "1"]
    done = subprocess.run([*argv, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert re.findall(r"^## (\S+)", report, re.M) == ["attach:", "attach-mem:", "Targets"]
    assert "| row | raw ms | ours ms | ours / raw |" in report
    assert "| row | raw MB | ours MB | ours / raw |" in report
    stats = r"\*\*\d+\.\d{3}\*\* \| \[[\d.]+, [\d.]+\] \| \[[\d.]+, [\d.]+\]"  # median, spread, CI
    verdict = r"(≤ 1.10 \| (holds|not shown|not met)|— \| —)"
    for provider in ("openai", "anthropic", "google"):
        sides = {}
        for label in ("wall", "client CPU", "traced", *(["resident"] * RESIDENT)):
            line = rf"^\| {provider} {label} \| ([\d.]+) \| ([\d.]+) \| {stats} \| {verdict} \|$"
            found = re.search(line, report, re.M)
            assert found, (provider, label)
            sides[label] = float(found.group(1)), float(found.group(2))
        # each side holds the file's base64 text (26.7 MB) and a request body made of it
        assert min(sides["traced"]) > 2 * 26.7
        if RESIDENT:  # nothing large outside Python's allocator, no freed block counted (the report rounds)
            assert all(abs(t - r) < 2 for t, r in zip(sides["traced"], sides["resident"])), sides


def test_quick_run_of_the_provider_rows(tmp_path: Path) -> None:
    """A Groq preset and Azure OpenAI (binding, `models()`, a stream) against the raw openai SDK, same fake."""
    out = tmp_path / "report.md"
    rows = "call/groq,call/azure,stream/groq,stream/azure"
    argv = [sys.executable, str(RUN_ALL), "--quick", "--only", rows, "--rounds", "1"]
    done = subprocess.run([*argv, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert re.findall(r"^## (\S+)", report, re.M) == ["call:", "stream:", "Targets"]
    stats = r"\*\*\d+\.\d{3}\*\* \| \[[\d.]+, [\d.]+\] \| \[[\d.]+, [\d.]+\]"  # median, spread, CI
    verdict = r"(holds|not shown|not met)"
    for service in ("groq", "azure"):
        for label, target in (("binding", "≤ 1.00"), ("models()", "≤ 1.00"), ("first piece", "≤ 1.02"), ("total", "—")):
            ending = rf"{re.escape(target)} \| {verdict}" if target != "—" else "— \\| —"
            line = rf"^\| {service} {re.escape(label)} \| [\d.]+ \| [\d.]+ \| {stats} \| {ending} \|$"
            assert re.search(line, report, re.M), (service, label)


def test_quick_run_of_the_embedding_rows(tmp_path: Path) -> None:
    """1,000 texts embedded by the raw openai SDK and by `models.embed` / `aembed` in the same batches."""
    out = tmp_path / "report.md"
    argv = [sys.executable, str(RUN_ALL), "--quick", "--only", "embed,embed-mem/1k texts", "--rounds", "1"]
    done = subprocess.run([*argv, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert re.findall(r"^## (\S+)", report, re.M) == ["embed:", "embed-mem:", "Targets"]
    stats = r"\*\*\d+\.\d{3}\*\* \| \[[\d.]+, [\d.]+\] \| \[[\d.]+, [\d.]+\]"  # median, spread, CI
    verdict = r"≤ 1.00 \| (holds|not shown|not met)"
    sides = {}
    rows = [("openai", "wall"), ("openai", "client CPU"), ("openai async", "wall"), ("openai async", "client CPU")]
    rows += [("1k texts", "traced"), *[("1k texts", "resident")] * RESIDENT]
    for name, label in rows:
        found = re.search(rf"^\| {name} {label} \| ([\d.]+) \| ([\d.]+) \| {stats} \| {verdict} \|$", report, re.M)
        assert found, (name, label)
        sides[name, label] = float(found.group(1)), float(found.group(2))
    # each side ends holding 1,000 vectors of 1,536 Python floats: 46.9 MB (the report rounds to 0.1)
    assert min(sides["1k texts", "traced"]) >= 46.9


def test_call_log_rows_switch_the_log_per_block_and_time_the_writer() -> None:
    out = _measure(
        "import sqlite3, bench_calllog as b\n"
        "plan = harness.Plan(flip=False, quick=True)\n"
        "setup = b._instant(None)\n"
        "timed = b.logged(setup, plan)\n"
        "[(rows,)] = sqlite3.connect(setup.path).execute('SELECT COUNT(*) FROM calls').fetchall()\n"
        "print(json.dumps({**timed, **b.written(b._calls(None), plan), 'rows': [rows, rows]}))"
    )
    assert list(out) == ["call path", "with writing", "client CPU", "content on", "rows"]
    assert out["rows"] == [50 + 2 * 500] * 2  # the warm-up's and the two "on" blocks' calls: none of "off"
    assert all(value > 0 for label in ("call path", "with writing", "client CPU", "content on") for value in out[label])


def test_quick_run_of_the_command_rows(tmp_path: Path) -> None:
    """`models --help` and `models ask --help` (the installed script) against `python -c pass`."""
    out = tmp_path / "report.md"
    argv = [sys.executable, str(RUN_ALL), "--quick", "--only", "cli", "--rounds", "1"]
    done = subprocess.run([*argv, "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = out.read_text()
    assert re.findall(r"^## (\S+)", report, re.M) == ["cli:", "Targets"]
    assert "| row | bare ms | command ms | command - bare ms |" in report
    stats = r"\*\*[+-][\d.]+\*\* \| \[[+-][\d.]+, [+-][\d.]+\] \| \[[+-][\d.]+, [+-][\d.]+\]"  # median, spread, CI
    assert re.search(
        rf"^\| models --help \| [\d.]+ \| [\d.]+ \| {stats} \| ≤ 100 ms \| (holds|not shown|not met) \|$", report, re.M
    )
    assert re.search(rf"^\| models ask --help \| [\d.]+ \| [\d.]+ \| {stats} \| — \| — \|$", report, re.M)


@pytest.mark.skipif(shutil.which("wrk") is None, reason="benchmarks/bench_gateway.py needs wrk (apt-get install wrk)")
def test_quick_run_of_the_gateway_benchmark() -> None:
    """`wrk` against the fake directly and through `models serve` with 1 and 2 workers: every request
    answered (a refused or failed one fails the run), one row per path with its numbers."""
    bench = ROOT / "benchmarks" / "bench_gateway.py"
    done = subprocess.run(
        [sys.executable, str(bench), "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    number = r"[\d.]+"
    rows = re.findall(
        rf"^\| (direct \(the fake\)|gateway, 1 worker|gateway, 2 workers) \| (\d+) \| {number} / {number} \| "
        rf"{number} / {number} \| (\S*)",
        done.stdout,
        re.M,
    )
    assert [name for name, _, _ in rows] == ["direct (the fake)", "gateway, 1 worker", "gateway, 2 workers"]
    assert all(int(rps) > 0 for _, rps, _ in rows)
    assert [bool(added) for _, _, added in rows] == [False, True, True]  # added latency on the gateway rows only
