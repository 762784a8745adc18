"""Run the benchmarks and print one markdown report (the source of BENCHMARKS.md).

    .venv/bin/python benchmarks/run_all.py > report.md          # every section (~15 min on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick              # smoke run (~2 min): little work, 2 rounds
    .venv/bin/python benchmarks/run_all.py --only async,threads --rounds 20
    .venv/bin/python benchmarks/run_all.py --list               # sections and rows

Progress goes to stderr, the report to stdout (or --out). harness.py says how it measures and how
to add a row; bench_startup.py, bench_overhead.py, bench_tools.py, bench_attachments.py,
bench_providers.py, bench_bedrock.py, bench_embeddings.py, bench_tracing.py, bench_calllog.py and
bench_cli.py hold the rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import bench_attachments  # noqa: F401  (registers its rows)
import bench_bedrock  # noqa: F401  (registers its rows)
import bench_calllog  # noqa: F401  (registers its rows)
import bench_cli  # noqa: F401  (registers its rows)
import bench_embeddings  # noqa: F401  (registers its rows)
import bench_overhead  # noqa: F401  (registers its rows)
import bench_providers  # noqa: F401  (registers its rows)
import bench_startup  # noqa: F401  (registers its rows)
import bench_tools  # noqa: F401  (registers its rows)
import bench_tracing  # noqa: F401  (registers its rows)
import harness

ROUNDS, QUICK_ROUNDS = 15, 2


def _select(only: str | None) -> list[harness.Row]:
    """Rows of the named sections or row ids ("async", "call/openai"), in registration order."""
    if not only:
        return list(harness.ROWS.values())
    names = {name.strip() for name in only.split(",") if name.strip()}
    unknown = names - set(harness.SECTIONS) - set(harness.ROWS)
    if unknown:
        raise SystemExit(f"--only: no section or row {sorted(unknown)}; see --list")
    return [chosen for chosen in harness.ROWS.values() if chosen.section.name in names or chosen.id in names]


def main() -> None:
    if sys.argv[1:2] == ["--child"]:  # one row and round, in a fresh process started by run()
        row_id, cpu, *urls = sys.argv[2:8]
        plan = harness.Plan(flip="--flip" in sys.argv, quick="--quick" in sys.argv)
        return harness.child(row_id, harness.Fakes(*urls), None if cpu == "None" else int(cpu), plan)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"smoke run: little work per round, {QUICK_ROUNDS} rounds")
    parser.add_argument("--only", help="comma-separated sections or row ids, e.g. async or call/openai,stream")
    parser.add_argument("--rounds", type=int, help=f"rounds per row (default {ROUNDS}, quick {QUICK_ROUNDS})")
    parser.add_argument("--seed", type=int, default=12, help="seed of the row order and the bootstrap")
    parser.add_argument("--out", type=Path, help="write the report here instead of stdout")
    parser.add_argument("--list", action="store_true", help="list sections and rows, then exit")
    args = parser.parse_args()
    if args.list:
        for sec in harness.SECTIONS.values():
            names = ", ".join(chosen.name for chosen in harness.ROWS.values() if chosen.section is sec)
            print(f"{sec.name:<12} {sec.title}\n{'':<12} rows: {names}")
        return
    rows = _select(args.only)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    # Our bytecode, as a wheel ships it (bench_startup.py).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(harness.ROOT / "models")], check=True)
    fake_cpu, client_cpu, pinning = harness.cpu_plan()
    print(f"{pinning}; {len(rows)} rows, {rounds} rounds", file=sys.stderr, flush=True)
    harness.pin(fake_cpu)  # this process only waits; keep it off the client's CPU
    start = time.perf_counter()
    with harness.fakes(fake_cpu) as fakes:
        results = harness.run(rows, fakes, client_cpu, rounds, args.quick, args.seed)
    took = time.perf_counter() - start
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("openai", "anthropic", "google-genai", "boto3", "prometheus-client")
    )
    command = " ".join(["python benchmarks/run_all.py", *sys.argv[1:]])
    header = [
        f"- date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, took {took // 60:.0f} min {took % 60:.0f} s",
        f"- python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; {versions}",
        f"- command: `{command}`",
        f"- {rounds} rounds; every row and round in a fresh client process, its sides in interleaved blocks "
        f"(order reversed every other round), the rows of a round shuffled (seed {args.seed}); {pinning}",
    ]
    if args.quick:
        header.append("- **quick run: a smoke test of the harness; too little work and too few rounds for any claim**")
    report = harness.render(header, rows, results, args.seed)
    if args.out:
        args.out.write_text(report)
    else:
        sys.stdout.write(report)


if __name__ == "__main__":
    main()
