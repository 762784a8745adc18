"""The call log (SPEC §13): one row per call, written by a background thread into SQLite.

Rows are read back with plain `sqlite3` after `flush()`; the numbers are the wire fake's (10 in, 5
out) or the mock's (one token a word). Processes, forks, exit and crashes: test_calllog_processes.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from models import Attachment, AuthenticationError, ConfigurationError, InvalidRequestError, ModelsAPI
from models._observe.calllog import BACKLOG, BATCH, CallLog, default_log_path, open_log, read_usage
from models._observe.calllog_schema import VERSION

from . import media
from .conftest import KEYS
from .fake_llm import FakeLLM, Fault, Reply

MOCK = "mock/echo"


def rows(path: Path, where: str = "1") -> list[dict[str, Any]]:
    """The log's rows, oldest first, as dicts (every column)."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in conn.execute(f"SELECT * FROM calls WHERE {where} ORDER BY id")]
    finally:
        conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Iterator[Path]:
    """A log file of this test alone; its writer is stopped afterwards."""
    file = tmp_path / "logs" / "calls.db"  # the directory is made by the writer
    yield file
    open_log(file).close()


@pytest.fixture
def mocked(path: Path) -> ModelsAPI:
    """A private instance that prices the mock ($1 / $2 per 1M tokens) and logs to `path`."""
    api = ModelsAPI(registry=CollectorRegistry(), retry_initial_delay=0.001, retry_max_delay=0.002)
    api.register_model(MOCK, price={"input": 1.0, "output": 2.0})
    api.log_to(path)
    return api


def flush(path: Path) -> None:
    open_log(path).flush()


def test_an_openai_call_is_one_row_with_every_column(wired: ModelsAPI, path: Path) -> None:
    log = wired.log_to(path)
    assert isinstance(log, CallLog)
    r = wired("gpt-4o", "Why is the sky blue?", system="Be brief.", max_tokens=50)
    log.flush()
    [row] = rows(path)
    assert row.pop("id") == 1
    assert row.pop("latency") == r.latency  # the same measurement the response has
    assert 0 < row.pop("time") <= time.time()
    assert row.pop("pid") == os.getpid()
    assert row == {
        "model": "openai/gpt-4o",
        "provider": "openai",
        "operation": "chat",
        "stream": 0,
        "status": "ok",
        "input_tokens": 10,
        "output_tokens": 5,
        "cached_input_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "cost": r.usage.cost,
        "price_source": "default",
        "response_id": r.raw.id,
        "response_model": r.raw.model,
        "finish_reason": "stop",
        "error_type": None,
        "error": None,
        "prompt": json.dumps(
            {"system": "Be brief.", "messages": [{"role": "user", "content": "Why is the sky blue?"}]}
        ),
        "answer": "echo: Why is the sky blue?",
        "tool_calls": None,
    }
    assert r.usage.cost == 7.5e-05  # gpt-4o: 10 * $2.50 + 5 * $10 per 1M


def test_streams_errors_and_cancelled_calls_have_their_status(wired: ModelsAPI, fake: FakeLLM, path: Path) -> None:
    wired.log_to(path)
    bound = wired.bind("claude-sonnet-4-6")
    assert "".join(bound.stream("stream this")) == "echo: stream this"
    stream = bound.stream("closed early")
    next(iter(stream))
    stream.close()
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError) as info:
        wired("gpt-4o", "refused")
    fake.enqueue(Fault(delay=2.0))

    async def cancelled() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(wired.acall("gpt-4o", "too slow"), 0.05)

    asyncio.run(cancelled())
    flush(path)
    got = [
        (r["model"], r["stream"], r["status"], r["input_tokens"], r["output_tokens"], r["cost"], r["error_type"])
        for r in rows(path)
    ]
    cost = 1.05e-04  # claude-sonnet-4-6: 10 * $3 + 5 * $15 per 1M
    assert got == [
        ("anthropic/claude-sonnet-4-6", 1, "ok", 10, 5, cost, None),
        ("anthropic/claude-sonnet-4-6", 1, "ok", 10, 1, None, None),  # closed early: counts so far, cost unknown
        ("openai/gpt-4o", 0, "authentication", 0, 0, None, "AuthenticationError"),
        ("openai/gpt-4o", 0, "cancelled", 0, 0, None, "CancelledError"),
    ]
    errors = rows(path, "status = 'authentication'")
    assert errors[0]["error"] == str(info.value)
    everything = json.dumps(rows(path))
    assert not any(key in everything for key in KEYS.values())


def test_embeddings_rows_keep_the_texts_not_the_vectors(wired: ModelsAPI, path: Path) -> None:
    wired.log_to(path)
    e = wired.embed("text-embedding-3-small", ["one two", "three"])
    flush(path)
    [row] = rows(path)
    assert (row["operation"], row["model"], row["status"], row["input_tokens"], row["output_tokens"]) == (
        "embeddings",
        "openai/text-embedding-3-small",
        "ok",
        e.usage.input_tokens,
        0,
    )
    assert (row["cost"], row["prompt"], row["answer"]) == (e.usage.cost, '{"input": ["one two", "three"]}', None)


def test_tool_calls_and_attachments_are_logged_as_json_without_the_bytes(mocked: ModelsAPI, path: Path) -> None:
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    png = media.png()
    r = mocked(MOCK, "Weather?", tools=[get_weather], attachments=[Attachment(data=png)])
    flush(path)
    [row] = rows(path)
    assert json.loads(row["tool_calls"]) == [{"id": "call_1", "name": "get_weather", "arguments": {"city": "city"}}]
    assert row["finish_reason"] == r.finish_reason == "tool_calls"
    [turn] = json.loads(row["prompt"])["messages"]
    assert turn["content"] == [
        {"type": "text", "text": "Weather?"},
        {"type": "attachment", "attachment": f"Attachment(data=..., media_type='image/png', {len(png):,} bytes)"},
    ]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_content_off_leaves_prompts_answers_and_tool_calls_out(
    how: str, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = ModelsAPI(registry=CollectorRegistry())
    if how == "argument":
        monkeypatch.setenv("MODELS_LOG_CONTENT", "1")
        log = api.log_to(path, content=False)
    else:
        monkeypatch.setenv("MODELS_LOG_CONTENT", "off")
        log = api.log_to(path)
    assert log is not None and log.content is False
    api(MOCK, "secret plans")
    asyncio.run(api.acall(MOCK, "more secret plans"))
    api.embed(MOCK, ["secret"])
    flush(path)
    got = [(r["operation"], r["input_tokens"], r["prompt"], r["answer"], r["tool_calls"]) for r in rows(path)]
    assert got == [("chat", 2, None, None, None), ("chat", 3, None, None, None), ("embeddings", 1, None, None, None)]


def test_two_instances_on_one_file_share_one_writer(path: Path) -> None:
    first, second = ModelsAPI(registry=CollectorRegistry()), ModelsAPI(registry=CollectorRegistry())
    a, b = first.log_to(path), second.log_to(str(path.parent / ".." / "logs" / path.name))
    assert a is b and a is open_log(path)
    assert open_log(path, content=False) is not a  # content is each log's own: the writer is shared
    assert open_log(path, content=False)._writer is a._writer
    first(MOCK, "one")
    second(MOCK, "two")
    first.log_to(None)  # stops logging this instance only
    first(MOCK, "not logged")
    second(MOCK, "three")
    flush(path)
    assert [r["answer"] for r in rows(path)] == ["one", "two", "three"]


def test_four_threads_writing_at_once_lose_nothing(mocked: ModelsAPI, path: Path) -> None:
    import threading

    n = 3 * BATCH // 4  # 4 threads: several batches
    barrier = threading.Barrier(4)

    def work(k: int) -> None:
        bound = mocked.bind(MOCK)
        barrier.wait()
        for i in range(n):
            bound(f"thread {k} " + "word " * i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    flush(path)
    conn = sqlite3.connect(path)
    per_thread = conn.execute(
        "SELECT substr(answer, 1, 8), COUNT(*), COUNT(DISTINCT answer), SUM(input_tokens) FROM calls GROUP BY 1"
    ).fetchall()
    conn.close()
    words = sum(2 + i for i in range(n))
    assert per_thread == [(f"thread {k}", n, n, words) for k in range(4)]


def test_read_usage_totals_equal_models_usage(wired: ModelsAPI, fake: FakeLLM, path: Path) -> None:
    wired.register_model(MOCK, price={"input": 1.0, "output": 2.0})
    wired.log_to(path)
    for _ in range(3):
        wired("gpt-4o", "hello")
    fake.set_reply(Reply(input_tokens=1200, output_tokens=345, cached_input_tokens=1000, reasoning_tokens=100))
    wired("claude-sonnet-4-6", "hello")
    "".join(wired.stream("gemini-2.5-flash", "hello"))
    wired(MOCK, "three words here")
    wired.embed("text-embedding-3-small", ["a b c"])
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError):
        wired("gpt-4o", "refused")
    with pytest.raises(InvalidRequestError):  # refused before sending: an error in usage(), so in the log too
        wired("gpt-4o", "   ")
    flush(path)
    usage = wired.usage()
    logged = {row["model"]: row for row in read_usage(path)}
    assert set(logged) == set(usage)
    for model, totals in usage.items():
        row = logged[model]
        assert (row["requests"], row["errors"], row["unpriced"], row["cost"]) == (
            totals.requests,
            totals.errors,
            totals.unpriced_requests,
            totals.cost,
        ), model
        for kind in ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens"):
            assert row[kind] == getattr(totals, kind), (model, kind)
    assert logged["openai/gpt-4o"]["requests"] == 3 and logged["openai/gpt-4o"]["errors"] == 2
    by_provider = {row["provider"]: row["requests"] for row in read_usage(path, by="provider")}
    assert by_provider == {"openai": 4, "anthropic": 1, "google": 1, "mock": 1}
    [day] = read_usage(path, by="day")
    assert (day["requests"], day["errors"]) == (7, 2)
    assert read_usage(path, since=time.time() + 60) == []


def test_read_usage_of_a_missing_file_says_how_to_turn_the_log_on(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(ConfigurationError) as info:
        read_usage(missing)
    assert str(info.value) == (
        f"No call log at {missing}: turn it on with MODELS_LOG={missing} (or models.log_to(path)); "
        "the models command logs its calls there by default."
    )
    assert not missing.exists()
    with pytest.raises(ValueError, match="by must be one of model, provider, day, not 'week'"):
        read_usage(missing, by="week")


def test_an_older_file_is_migrated_and_keeps_its_rows(mocked: ModelsAPI, path: Path) -> None:
    path.parent.mkdir()
    conn = sqlite3.connect(path)  # version 1, as the first call log wrote it
    conn.executescript(
        """
        CREATE TABLE calls (id INTEGER PRIMARY KEY, time REAL NOT NULL, model TEXT NOT NULL, provider TEXT NOT NULL,
            operation TEXT NOT NULL, stream INTEGER NOT NULL, status TEXT NOT NULL, input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL, cached_input_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL, reasoning_tokens INTEGER NOT NULL, cost REAL, latency REAL NOT NULL,
            error TEXT, prompt TEXT, answer TEXT, pid INTEGER NOT NULL);
        CREATE INDEX calls_time ON calls (time);
        INSERT INTO calls VALUES (1, 1700000000.5, 'mock/echo', 'mock', 'chat', 0, 'ok', 4, 2, 0, 0, 0, 0.000008,
            0.25, NULL, '{"system": null, "messages": []}', 'old answer', 42);
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    mocked(MOCK, "new call")
    flush(path)
    old, new = rows(path)
    assert (old["answer"], old["price_source"], old["response_id"]) == ("old answer", None, None)
    assert (new["answer"], new["price_source"], new["finish_reason"]) == ("new call", "registered", "stop")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone() == (VERSION,) == (2,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    assert [row["requests"] for row in read_usage(path)] == [2]


def test_a_file_that_cannot_be_opened_is_reported_once_and_calls_go_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    path = blocker / "calls.db"  # its directory cannot be made
    api = ModelsAPI(registry=CollectorRegistry())
    log = api.log_to(path)
    assert log is not None
    with caplog.at_level(logging.WARNING, logger="models"):
        for i in range(3):
            assert api(MOCK, f"call {i}").text == f"call {i}"
            log.flush()
    log.close()
    assert [r.getMessage() for r in caplog.records] == [
        f"models: the call log {path} cannot be opened ([Errno 17] File exists: '{blocker}'); calls are not logged"
    ]
    assert log.dropped == 3


def test_models_log_in_the_environment_logs_every_call(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_LOG", str(path))
    monkeypatch.setenv("MODELS_LOG_CONTENT", "0")
    api = ModelsAPI(registry=CollectorRegistry())  # the environment is read when its service is built
    api(MOCK, "from the environment")
    flush(path)
    assert [(r["answer"], r["input_tokens"]) for r in rows(path)] == [(None, 3)]


def test_a_closed_log_stops_and_a_new_one_for_the_file_writes_again(path: Path) -> None:
    api = ModelsAPI(registry=CollectorRegistry())
    first = api.log_to(path)
    api(MOCK, "one")
    assert first is not None
    first.close()  # flushes first
    assert [r["answer"] for r in rows(path)] == ["one"]
    api(MOCK, "after close")  # still observed by the closed log: neither written nor kept
    assert len(first._writer.queue) == 0
    second = api.log_to(path)
    assert second is not first
    api(MOCK, "two")
    flush(path)
    assert [r["answer"] for r in rows(path)] == ["one", "two"]


def test_default_log_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", "/data")
    assert default_log_path() == Path("/data/models/log.db")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    assert default_log_path() == tmp_path / ".local" / "share" / "models" / "log.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_log_path() == tmp_path / ".local" / "share" / "models" / "log.db"
    monkeypatch.setattr("sys.platform", "darwin")
    assert default_log_path() == tmp_path / "Library" / "Application Support" / "models" / "log.db"


def test_content_json_cannot_show_is_left_out_and_the_row_kept(path: Path) -> None:
    from models import Completion, Provider
    from models.providers import Request

    class Odd(Provider):
        def complete(self, request: Request) -> Completion:
            return Completion("odd", input_tokens=3, output_tokens=1, tool_calls=[object()])  # type: ignore[list-item]

    api = ModelsAPI(registry=CollectorRegistry())
    api.register_provider("odd", Odd)
    api.register_model("odd/one", price={"input": 1.0, "output": 2.0})
    api.log_to(path)
    api("odd/one", "hello")
    api(MOCK, "still logged")
    flush(path)
    got = [(r["model"], r["input_tokens"], r["prompt"] is None, r["answer"], r["tool_calls"]) for r in rows(path)]
    assert got == [("odd/one", 3, True, None, None), (MOCK, 2, False, "still logged", None)]


def test_read_usage_of_a_file_that_is_not_a_call_log(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(ConfigurationError, match=r"other\.db is not a call log \(no such table: calls\)\.$"):
        read_usage(other)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, but long enough to have a header of a hundred bytes or so " * 2)
    with pytest.raises(ConfigurationError, match=r"notes\.txt is not a call log \(file is not a database\)\.$"):
        read_usage(text)


def test_read_usage_sums_beyond_the_exact_range_as_floats(mocked: ModelsAPI, path: Path) -> None:
    mocked(MOCK, "one two")  # makes the file: $0.000008
    flush(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE calls SET cost = 6000.0")
    conn.execute(
        "INSERT INTO calls (time, model, provider, operation, stream, status, input_tokens, output_tokens,"
        " cached_input_tokens, cache_write_tokens, reasoning_tokens, cost, latency, pid)"
        " SELECT time, model, provider, operation, stream, status, input_tokens, output_tokens,"
        " cached_input_tokens, cache_write_tokens, reasoning_tokens, 5000.0, latency, pid FROM calls"
    )
    conn.commit()
    conn.close()
    [row] = read_usage(path)  # 1.1e19 cost units: past SQLite's 64-bit integers
    assert (row["requests"], row["cost"]) == (2, 11000.0)


def test_a_writer_held_up_keeps_at_most_the_backlog_and_counts_what_it_drops(
    mocked: ModelsAPI, path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bound = mocked.bind(MOCK)
    bound("first")
    flush(path)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another process's long transaction: the writer waits for it
    made = BACKLOG + BATCH + 300  # more than the queue and a batch the writer took: 300 at least are dropped
    with caplog.at_level(logging.WARNING, logger="models"):
        for i in range(made):
            bound(f"call {i}")
        log = open_log(path)
        assert len(log._writer.queue) <= BACKLOG
        other.execute("COMMIT")
        log.flush(30.0)
    other.close()
    written = len(rows(path)) - 1
    assert written + log.dropped == made
    assert BACKLOG <= written <= BACKLOG + BATCH  # and the batch the writer held, waiting
    assert log.dropped >= 300
    assert [r.getMessage() for r in caplog.records] == [
        f"models: the call log {path} is {BACKLOG} calls behind; calls are dropped until it catches up"
    ]


def test_the_default_path_is_known_without_loading_the_call_log() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from models._observe.calllog_path import default_log_path; default_log_path(); "
        "print(sorted(m for m in ('sqlite3', 'json', 'threading', 'models._observe.calllog') if m in sys.modules))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": root}
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")  # what `models --help` needs of it


def test_the_log_and_tracing_each_see_every_call(mocked: ModelsAPI, path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    mocked.instrument(tracer_provider=provider)
    mocked(MOCK, "one")
    "".join(mocked.stream(MOCK, "two words"))
    flush(path)
    spans = [(s.name, (s.attributes or {})["gen_ai.usage.input_tokens"]) for s in exporter.get_finished_spans()]
    assert spans == [("chat echo", 1), ("chat echo", 2)]
    assert [(r["operation"], r["stream"], r["input_tokens"]) for r in rows(path)] == [("chat", 0, 1), ("chat", 1, 2)]
