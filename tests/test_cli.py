"""The `models` command (SPEC §13): the real console script in a subprocess, against the wire fake
and the `mock` provider; stdout, the stderr cost line and exit codes checked exactly.

Each subprocess costs ~0.3-1 s, so one test checks several things of one run; argparse's usage
errors and the subcommands' `--help` run in this process (`main(argv)` never raises SystemExit).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from models import AuthenticationError, ModelsAPI
from models._cli import main

from .conftest import KEYS
from .fake_llm import FakeLLM, Fault, Reply
from .media import png

ROOT = Path(__file__).resolve().parent.parent
LATENCY = r"\d+\.\d\d s"  # the one number of the cost line that changes from run to run


def run(
    *argv: str, env: dict[str, str], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m models ARGV` with exactly `env` (plus PYTHONPATH and PATH), stdin from `stdin` or
    /dev/null (never a terminal, never this process's)."""
    return subprocess.run(
        [sys.executable, "-m", "models", *argv],
        env=_child_env(env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=60,
    )


def _child_env(env: dict[str, str]) -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT), "PATH": os.environ.get("PATH", ""), **env}


def spawn(*argv: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`python -m models ARGV` started, for a test that acts on it while it runs."""
    return subprocess.Popen(
        [sys.executable, "-m", "models", *argv],
        env=_child_env(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def env(tmp_path: Path, fake: FakeLLM) -> dict[str, str]:
    """A child's environment: the fake as OpenAI and Anthropic, a home and data directory of its own
    (so the default call log goes to tmp_path/data/models/log.db), mock/echo priced."""
    return {
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "OPENAI_API_KEY": KEYS["openai"],
        "OPENAI_BASE_URL": fake.openai_base_url,
        "ANTHROPIC_API_KEY": KEYS["anthropic"],
        "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
        "MODELS_COST_MOCK_ECHO_INPUT": "1",  # USD per 1M tokens
        "MODELS_COST_MOCK_ECHO_OUTPUT": "2",
    }


# -- ask ---------------------------------------------------------------------------------------


def test_ask_streams_the_answer_then_the_cost_line_and_logs_to_the_default_path(
    env: dict[str, str], fake: FakeLLM, tmp_path: Path
) -> None:
    fake.set_reply(Reply(text="Rayleigh scattering.", input_tokens=12, output_tokens=345, chunks=3))
    done = run("ask", "Why is the sky blue?", env=env)  # no -m, no MODELS_DEFAULT_MODEL: gpt-5.6-luna
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Rayleigh scattering.\n"
    # 12 x $0.20 + 345 x $1.20 per 1M tokens
    assert re.fullmatch(rf"openai/gpt-5\.6-luna · 12 in / 345 out tokens · \$0\.0004164 · {LATENCY}\n", done.stderr)
    [request] = fake.requests
    assert (request.model, request.stream) == ("gpt-5.6-luna", True)
    assert request.body["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]
    assert request.headers["authorization"] == f"Bearer {KEYS['openai']}"

    log = tmp_path / "data" / "models" / "log.db"
    assert log.is_file()  # flushed before the process ended
    usage = run("usage", "--json", env=env)
    assert usage.returncode == 0, usage.stderr
    report = json.loads(usage.stdout)
    assert report["log"] == str(log)
    [row] = report["rows"]
    assert row == {
        "model": "openai/gpt-5.6-luna",
        "requests": 1,
        "errors": 0,
        "cancelled": 0,
        "input_tokens": 12,
        "output_tokens": 345,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost": 0.0004164,
        "unpriced": 0,
    }
    assert report["total"] == {key: value for key, value in row.items() if key != "model"}


def test_ask_reads_piped_stdin_after_the_prompt_and_passes_every_parameter(
    env: dict[str, str], fake: FakeLLM, tmp_path: Path
) -> None:
    fake.set_reply(Reply(text="Short.", input_tokens=40, output_tokens=2))
    argv = ["ask", "Summarise", "-m", "claude-sonnet-4-6", "-s", "Be brief.", "--no-stream", "--max-tokens", "64"]
    argv += ["-o", 'stop_sequences=["END"]', "-o", 'metadata={"user_id": "u1"}', "-o", "service_tier=auto"]
    done = run(*argv, "--no-log", env={**env, "MODELS_LOG": str(tmp_path / "env.db")}, stdin="line one\nline two\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Short.\n"
    # 40 x $3 + 2 x $15 per 1M tokens
    assert re.fullmatch(rf"anthropic/claude-sonnet-4-6 · 40 in / 2 out tokens · \$0\.00015 · {LATENCY}\n", done.stderr)
    [request] = fake.requests
    assert (request.provider, request.model, request.stream) == ("anthropic", "claude-sonnet-4-6", False)
    body = request.body
    assert body["system"] == "Be brief."
    assert body["messages"] == [{"role": "user", "content": "Summarise\n\nline one\nline two\n"}]
    assert (body["max_tokens"], body["stop_sequences"], body["metadata"]) == (64, ["END"], {"user_id": "u1"})
    assert body["service_tier"] == "auto"  # not JSON: kept as text
    assert not (tmp_path / "env.db").exists()  # --no-log wins over MODELS_LOG
    assert not (tmp_path / "data" / "models" / "log.db").exists()


def test_ask_json_prints_the_whole_response_and_nothing_else(env: dict[str, str], tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(png())
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties":
             {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip
    argv = ["ask", "-m", "mock/echo", "-", "-a", str(image), "--json", "-o", f"tools={json.dumps(tools)}"]
    done = run(*argv, env={**env, "MODELS_LOG": "off"}, stdin="What is the weather here?", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    answer = json.loads(done.stdout)
    assert answer.pop("latency") >= 0
    assert answer == {
        "text": "",
        "model": "mock/echo",
        "provider": "mock",
        "usage": {
            "input_tokens": 5,  # the prompt's words
            "output_tokens": 2,  # {"city": "city"}: the arguments' words
            "total_tokens": 7,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0,
            "reasoning_tokens": 0,
            "cost": 9e-06,  # 5 x $1 + 2 x $2 per 1M tokens
            "price_source": "override",
        },
        "finish_reason": "tool_calls",
        "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "city"}}],
        "parsed": None,
    }
    assert sorted(os.listdir(tmp_path)) == ["dot.png"]  # MODELS_LOG=off: no file named "off"
    assert not (tmp_path / "data").exists()  # nor the default log


def test_ask_attachment_streams_with_mock(env: dict[str, str], tmp_path: Path) -> None:
    image = tmp_path / "dot.png"
    image.write_bytes(png())
    done = run("ask", "-m", "mock/echo", "look", "-a", str(image), "--no-log", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"look [image/png, {len(png()):,} bytes]\n"
    assert re.fullmatch(rf"mock/echo · 1 in / 4 out tokens · \$0\.000009 · {LATENCY}\n", done.stderr)


def test_default_model_from_the_environment_and_warnings_as_one_line(env: dict[str, str]) -> None:
    done = run("ask", "hello there", "--no-log", env={**env, "MODELS_DEFAULT_MODEL": "mock/x"})
    assert (done.returncode, done.stdout) == (0, "hello there\n")
    warning, cost = done.stderr.splitlines()
    assert warning == (
        "models: warning: mock/x has no price, so usage.cost is None. Set MODELS_COST_MOCK_X_INPUT and "
        "MODELS_COST_MOCK_X_OUTPUT (USD per 1M tokens) to price it, or register it with its price "
        "(models.register_model('mock/x', price={'input': ..., 'output': ...})) or with base= the catalog model it "
        "is (an Azure deployment's model)."
    )
    assert re.fullmatch(rf"mock/x · 2 in / 2 out tokens · unknown · {LATENCY}", cost)


def test_a_model_error_is_one_line_and_exit_1(env: dict[str, str], fake: FakeLLM) -> None:
    typo = run("ask", "-m", "gpt4o", "hi", env=env)
    assert (typo.returncode, typo.stdout) == (1, "")
    assert typo.stderr == (
        "models: Unknown model 'gpt4o'. Did you mean 'gpt-4o', 'gpt-4', 'gpt-5.4'? Use 'provider/name' "
        "(e.g. 'openai/my-model') to call a model the catalog does not know.\n"
    )
    fake.enqueue(Fault.auth())
    denied = run("ask", "-m", "gpt-5.6-sol", "hi", "--no-log", env=env)
    assert (denied.returncode, denied.stdout) == (1, "")
    assert re.fullmatch(
        r"models: OpenAI rejected the key \(check OPENAI_API_KEY\): Incorrect API key provided: sk-\*\*\*\. You can "
        r"find your API key at https://platform\.openai\.com\. \(openai/gpt-5\.6-sol, HTTP 401, request id req_\w+\)\n",
        denied.stderr,
    )
    assert len(fake.requests) == 1  # an authentication error is not retried


def test_ctrl_c_exits_130_without_a_traceback_and_logs_the_call_as_cancelled(
    env: dict[str, str], fake: FakeLLM, tmp_path: Path
) -> None:
    fake.set_reply(Reply(text="late", first_chunk_delay=30))
    child = spawn("ask", "-m", "gpt-5.6-sol", "hi", env=env)
    deadline = time.monotonic() + 30
    while not fake.requests and time.monotonic() < deadline:  # the request is on the wire: mid-call
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert (child.returncode, out) == (130, "")
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    usage = run("usage", "--json", env=env)
    assert usage.returncode == 0, (err, usage.stderr)
    report = json.loads(usage.stdout)
    assert (report["total"]["requests"], report["total"]["cancelled"]) == (0, 1)


def test_a_closed_stdout_is_quiet(env: dict[str, str], fake: FakeLLM) -> None:
    """`models ask ... | head -c 1`: the reader goes away; no traceback, exit 141 as for SIGPIPE."""
    fake.set_reply(Reply(text="a long answer " * 50, first_chunk_delay=0.2))
    child = spawn("ask", "-m", "gpt-5.6-sol", "hi", "--no-log", env=env)
    assert child.stdout is not None
    child.stdout.close()  # no reader left: the first write fails with EPIPE
    err = child.stderr.read() if child.stderr else ""
    assert (child.wait(timeout=30), err) == (141, "")
    helped = spawn("--help", env=env)  # a short text, written when stdout is flushed
    assert helped.stdout is not None and helped.stderr is not None
    helped.stdout.close()
    assert (helped.wait(timeout=30), helped.stderr.read()) == (141, "")


# -- usage ---------------------------------------------------------------------------------------


def test_usage_totals_equal_models_usage_for_the_same_calls(
    env: dict[str, str], fake: FakeLLM, wired: ModelsAPI, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replies = [Reply(text="one", input_tokens=1200, output_tokens=30, cached_input_tokens=800), Reply(text="two")]
    env = {**env, "MODELS_LOG": str(tmp_path / "calls.db")}
    fake.enqueue(*replies)
    assert run("ask", "-m", "gpt-5.6-sol", "first", env=env).returncode == 0
    assert run("ask", "-m", "claude-sonnet-4-6", "second", "--no-stream", env=env).returncode == 0
    fake.enqueue(Fault.auth())
    assert run("ask", "-m", "gpt-5.6-sol", "third", env=env).returncode == 1
    fake.enqueue(*replies, Fault.auth())
    assert "".join(wired.stream("gpt-5.6-sol", "first")) == "one"
    assert wired("claude-sonnet-4-6", "second", max_tokens=None).text == "two"
    with pytest.raises(AuthenticationError):
        wired("gpt-5.6-sol", "third")
    expected = wired.usage()

    done = run("usage", "--json", env=env)
    assert done.returncode == 0, done.stderr
    rows = {row["model"]: row for row in json.loads(done.stdout)["rows"]}
    assert set(rows) == set(expected) == {"openai/gpt-5.6-sol", "anthropic/claude-sonnet-4-6"}
    for model, totals in expected.items():
        row = rows[model]
        assert (row["requests"], row["errors"]) == (totals.requests, totals.errors)
        assert (row["input_tokens"], row["output_tokens"]) == (totals.input_tokens, totals.output_tokens)
        assert row["cached_input_tokens"] == totals.cached_input_tokens
        assert (row["cost"], row["unpriced"]) == (totals.cost, totals.unpriced_requests)
    assert rows["openai/gpt-5.6-sol"]["errors"] == 1

    assert main(["usage", "--by", "provider", "--since", "1h", "--log", env["MODELS_LOG"]]) == 0  # in this process
    assert capsys.readouterr().out.splitlines() == [
        f"Usage by provider in {env['MODELS_LOG']}",
        "  provider   requests  errors  input  cached input  output       cost",
        "  openai            1       1  1,200           800      30   $0.00252",  # 400 x $4 + 800 x $0.40 + 30 x $20
        "  anthropic         1       0     10             0       5  $0.000105",  # 10 x $3 + 5 x $15 per 1M tokens
        "  total             2       1  1,210           800      35  $0.002625",
    ]


# -- list, info, cost ------------------------------------------------------------------------------


def test_list_info_and_cost_print_the_catalog(env: dict[str, str]) -> None:
    listing = run("list", "--provider", "anthropic", "--max-input-price", "1", env=env)
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout == (
        "2 models (prices in USD per 1M tokens)\n"
        "  model                       status    context  max output  input  cached input  output\n"
        "  anthropic/claude-haiku-5-5  active  1,000,000     128,000   0.10          0.01    0.50\n"
        "  anthropic/claude-haiku-4-5  active    200,000      64,000   1.00          0.10    5.00\n"
    )
    info = run("info", "gpt-5.6-luna", "--json", env=env)
    assert info.returncode == 0, info.stderr
    data = json.loads(info.stdout)
    assert (data["id"], data["provider"], data["context_window"], data["status"]) == (
        "openai/gpt-5.6-luna",
        "openai",
        1_050_000,
        "active",
    )
    assert "reasoning" in data["capabilities"] and data["capabilities"] == sorted(data["capabilities"])
    assert {k: data["price"][k] for k in ("input", "output", "cached_input")} == {
        "input": 0.2,
        "output": 1.2,
        "cached_input": 0.02,
    }
    cost = run("cost", "gpt-5.6-sol", "--input", "12,000", "--output", "800", "--cached", "2000", env=env)
    assert cost.returncode == 0, cost.stderr
    # 10,000 x $4 + 2,000 x $0.40 + 800 x $20 per 1M tokens
    assert cost.stdout == "openai/gpt-5.6-sol · 12,000 in (2,000 cached) / 800 out tokens · $0.0568\n"


# -- in this process: help, bad usage --------------------------------------------------------------


def test_models_script_is_installed_and_runs(env: dict[str, str]) -> None:
    script = Path(sys.prefix) / "bin" / "models"
    assert script.is_file()
    done = subprocess.run(
        [str(script), "--help"],
        env=_child_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("usage: models [-h] [--version] COMMAND ...\n")
    for command in ("ask", "list", "info", "cost", "usage", "serve"):
        assert re.search(rf"^    {command} +\S", done.stdout, re.M), command
    assert "exit codes: 0 success, 1 a model error (printed as one line), 2 bad usage,\n" in done.stdout


@pytest.mark.parametrize("command", ["ask", "list", "info", "cost", "usage", "serve"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
    monkeypatch.setenv("MODELS_LOG", "/var/log/calls.db")
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: models {command} [-h]")
    assert "exit codes: 0 success" in out
    if command in ("ask", "usage"):  # where the log is, as this environment makes it
        assert "\n/var/log/calls.db" in out or " /var/log/calls.db" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "models: error: the following arguments are required: COMMAND"),
        (
            ["ask", "hi", "-o", "temperature"],
            "models ask: error: -o takes KEY=VALUE (e.g. -o top_p=0.9), not 'temperature'",
        ),
        (["cost", "gpt-5.6-sol", "--input", "-1", "--output", "1"], "argument --input: must be 0 or more, not -1"),
        (
            ["cost", "gpt-5.6-sol", "--input", "1", "--output", "1", "--cached", "2"],
            "--cached (2) is part of --input (1)",
        ),
        (["usage", "--since", "yesterday", "--log", "x.db"], "--since takes an age such as 30m"),
        (["serve", "--port", "70000"], "argument --port: not a TCP port (1-65535): 70000"),
        (["list", "--capability", "telepathy"], "models: 'telepathy' is not a capability; use one of text_input"),
    ],
)
def test_bad_usage_exits_2_with_the_reason(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


class _Terminal:
    """stdin as a terminal: nothing piped."""

    def isatty(self) -> bool:
        return True

    def read(self) -> str:
        raise AssertionError("a terminal's stdin is not read without -")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ask"], "models ask: error: no prompt: give one (models ask 'Why is the sky blue?') or pipe it on stdin"),
        (["ask", " \n"], "models ask: error: the prompt is empty"),
    ],
)
def test_no_prompt_is_bad_usage(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", _Terminal())
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err.splitlines()[-1]) == ("", message)


@pytest.mark.parametrize("blocked", ["starlette", "uvicorn"])
def test_serve_without_the_gateway_extra_names_the_install(blocked: str) -> None:
    """The package missing, wherever the gateway imports it (uvicorn only when it starts serving)."""
    block = f"import sys; sys.modules[{blocked!r}] = None; from models._cli import main; "
    done = subprocess.run(
        [sys.executable, "-c", block + "sys.exit(main(['serve', '--port', '8181']))"],
        env=_child_env({}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == "models: models serve needs starlette and uvicorn: pip install 'models[gateway]'\n"


def test_dollars_show_what_a_cheap_call_costs_and_never_a_silent_zero() -> None:
    from models._cli.output import dollars

    costs = (None, 0.0, 1e-9, 4.5e-6, 0.005211, 1.2, 123.456789123)
    assert [dollars(c) for c in costs] == [
        "unknown",
        "$0.00",
        "< $0.00000001",
        "$0.0000045",
        "$0.005211",
        "$1.20",
        "$123.45678912",
    ]
