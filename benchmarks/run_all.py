"""Run every benchmark and print one report (the source of BENCHMARKS.md).

    .venv/bin/python benchmarks/run_all.py > /tmp/report.txt

Takes a few minutes on 2 cores; the loopback fake runs in its own process.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata as metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("openai", "anthropic", "google-genai", "prometheus-client")
    )
    print(f"date: {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cores; {versions}")
    print(f"command: {Path(sys.executable).name} benchmarks/run_all.py\n")
    for script, arg in (("bench_startup.py", "9"), ("bench_overhead.py", "400")):
        print(f"## {script}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / script), arg], check=True)
        print(flush=True)


if __name__ == "__main__":
    main()
