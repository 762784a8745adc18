"""The project around the code: the README's commands, the demo, lint and types."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from models import ModelsAPI, ModelsError

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
    assert "one line  -> 'Hello from one line of Python'  (6 in, 6 out, $0.00008400)" in out
    bound = out.split("bound     -> ", 1)[1].split("\nstream", 1)[0]
    assert bound.splitlines() == [  # what each bound call returned: max_tokens bound, then given at call time
        "ModelBinding('mock/echo', max_tokens=5) answered:",
        "             'a bound model in a' (length, $0.00008000)",
        "             'call-time values win' (length, $0.00004800)",
        "             'third call' (stop, $0.00002800)",
    ]
    assert "stream    -> 6 pieces, then .response: $0.00008400" in out
    assert "mock/echo           6      33      23    0.00034200" in out
    assert 'models_requests_total{model="mock/echo",provider="mock",status="ok"} 6.0' in out


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.+?)```", (ROOT / "README.md").read_text(), re.S)


def test_readme_names_only_models_that_are_active_today(api: ModelsAPI) -> None:
    statuses = {}
    for name in set(re.findall(r"[\"']([\w.:/-]+)[\"']", "\n".join(_python_blocks()))):
        try:
            info = api.resolve(name)
        except ModelsError:
            continue  # not a model id: a role, a capability, a URL
        if info.known:
            statuses[name] = info.status
    assert len(statuses) >= 10 and {name for name, status in statuses.items() if status != "active"} == set()


def test_the_readme_first_calls_do_not_warn(wired: ModelsAPI) -> None:
    blocks = [code for code in _python_blocks() if code.startswith("from models import models\n")]
    assert len(blocks) == 2  # the opening example and "Calling models"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for code in blocks:
            exec(code.removeprefix("from models import models\n"), {"models": wired, "print": lambda *a: None})


@pytest.mark.parametrize("tool", [["ruff", "check", "models", "tests", "examples"], ["mypy"]])
def test_lint_and_strict_types(tool: list[str]) -> None:
    if shutil.which(tool[0], path=str(Path(sys.executable).parent)) is None:
        pytest.skip(f"{tool[0]} is not installed (pip install -e '.[dev]')")
    out = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_readme_tools_and_structured_output_examples_run_as_written(api: ModelsAPI) -> None:
    readme = (ROOT / "README.md").read_text()
    out: list[str] = []
    for heading in ("## Tools", "## Structured output"):
        section = readme[readme.index(heading) :]
        code = re.search(r"```python\n(.+?)```", section, re.S)
        assert code is not None
        source = code.group(1).replace("from models import models\n", "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # mock has no price: its cost-is-None notice
            exec(source, {"models": api, "print": lambda *a: out.append(" ".join(map(str, a)))})
    assert out == [
        "tool_calls",
        "18 C in city",
        "18 C in city 2",
        "name='name' population=0",
        "[City(name='name', population=0)]",
    ]


def test_the_readme_attachments_example_runs_as_written(api: ModelsAPI) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Images, documents and audio") :]
    code = re.search(r"```python\n(.+?)```", section, re.S)
    assert code is not None
    out: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mock has no price: its cost-is-None notice
        exec(code.group(1).replace("from models import models\n", ""), {"models": api, "print": out.append})
    assert out == ["Transcribe [audio/wav, 1,644 bytes]", "What is in this picture? [https://example.com/cat.jpg]"]
