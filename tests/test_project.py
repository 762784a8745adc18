"""The project around the code: the README's commands, the demo, lint and types."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|sh)\n(.+?)\n```", section)


def test_readme_has_two_quick_start_commands_and_ci_runs_the_second() -> None:
    commands = _quick_start()
    assert len(commands) == 2
    assert commands[1] in (ROOT / ".ci" / "run").read_text().splitlines()


def test_demo_runs_offline_and_shows_costs_and_metrics() -> None:
    out = subprocess.run(
        [sys.executable, "examples/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert "one line  -> 'Hello from one line of Python'  (6 in, 6 out, $0.00007500)" in out
    assert "stream    -> 6 pieces, then .response: $0.00007500" in out
    assert "mock/echo           6      30      23    0.00030500" in out
    assert 'models_requests_total{model="mock/echo",provider="mock",status="ok"} 6.0' in out


@pytest.mark.parametrize("tool", [["ruff", "check", "models", "tests", "examples"], ["mypy"]])
def test_lint_and_strict_types(tool: list[str]) -> None:
    if shutil.which(tool[0], path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{tool[0]} is not installed (pip install -e '.[dev]')")
    out = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
