"""The call log (SPEC §13): every call recorded in a SQLite file, written off the call path.

A call's `ok`/`error` appends one tuple to a `deque` (atomic under the GIL: no lock, no JSON, no
SQLite on the call path). One daemon writer thread per file and process wakes every `WAIT`
seconds (or at once for `flush`), turns what is queued into rows and inserts them in
transactions of up to `BATCH` rows. The file (WAL mode, so several processes write it) is opened,
created and migrated by the writer on its first batch; a file that cannot be opened is reported
once on the "models" logger and the calls go on. So a crash loses what was queued since the last
commit: at most the last `WAIT` seconds of calls (plus any backlog when calls come faster than
the writer writes, thousands a second); a normal exit flushes (`atexit`).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import sqlite3
import sys
import threading
from collections import deque
from pathlib import Path
from typing import Any

from .._fork import fork_safe_lock
from .._types import Completion, Usage
from .calllog_schema import INSERT, connect, read_usage
from .observed import Observed

__all__ = ["BATCH", "WAIT", "CallLog", "default_log_path", "open_log", "read_usage"]

BATCH = 500
"""Rows per transaction at most."""
WAIT = 0.2
"""Seconds the writer sleeps between batches when nothing asks it to flush."""
_OFF = ("0", "false", "no", "off")


def default_log_path() -> Path:
    """Where the `models` command logs by default: `$XDG_DATA_HOME/models/log.db`, else
    `~/.local/share/models/log.db`; on macOS `~/Library/Application Support/models/log.db`, on
    Windows `%LOCALAPPDATA%\\models\\log.db`."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(Path.home() / ".local" / "share")  # the XDG spec: relative is ignored
    return Path(base) / "models" / "log.db"


class CallLog:
    """Records every call of the services it observes in the SQLite file `path` (an `Observer`).

    `content` (None: `MODELS_LOG_CONTENT`, on unless "0", "false", "no" or "off") says whether
    prompts and answers are kept. Logs of one file in one process share its writer (`open_log`).
    """

    def __init__(self, path: str | os.PathLike[str], content: bool | None = None) -> None:
        if content is None:
            content = os.environ.get("MODELS_LOG_CONTENT", "").strip().lower() not in _OFF
        self.path = _resolve(path)
        self.content = content
        self._writer = _writer_for(self.path)
        self._put = self._writer.queue.append  # the call path's only work; a fork child empties the same deque

    def __repr__(self) -> str:
        return f"CallLog({self.path!r}, content={self.content})"

    def begin(self, call: Observed) -> object:
        return None

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        self._put((call, c, usage, latency, self.content))

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        self._put((call, None, error, latency, self.content, kind))

    def flush(self, timeout: float = 5.0) -> None:
        """Wait (at most `timeout` seconds) until every call queued so far is in the file."""
        self._writer.flush(timeout)

    def close(self) -> None:
        """Flush, stop the file's writer and close the file; later calls of the services still
        observing a log of this file are not recorded."""
        self._writer.close()

    @property
    def dropped(self) -> int:
        """Calls that could not be written (the file would not open, or a batch failed)."""
        return self._writer.dropped


def open_log(path: str | os.PathLike[str], content: bool | None = None) -> CallLog:
    """The process's `CallLog` for `path` and `content`: one per file, so every `ModelsAPI` that
    logs to it shares one writer and one connection."""
    log = CallLog(path, content)
    key = (log.path, log.content)
    with _LOCK:
        known = _LOGS.get(key)
        if known is not None and known._writer is log._writer:
            return known
        _LOGS[key] = log  # the first, or the one before was closed
        return log


def _resolve(path: str | os.PathLike[str]) -> str:
    return os.path.realpath(os.path.expanduser(os.fspath(path)))


_LOCK = fork_safe_lock()
_LOGS: dict[tuple[str, bool], CallLog] = {}
_WRITERS: dict[str, _Writer] = {}
_ABANDONED: list[sqlite3.Connection] = []  # a fork child's copies of its parent's connections: never closed


def _writer_for(path: str) -> _Writer:
    with _LOCK:
        writer = _WRITERS.get(path)
        if writer is None or writer.closed:
            if not _WRITERS:
                atexit.register(_flush_all)
                if hasattr(os, "register_at_fork"):
                    os.register_at_fork(after_in_child=_after_fork_in_child)
            writer = _WRITERS[path] = _Writer(path)
        return writer


class _Writer:
    """One file's queue and the daemon thread that writes it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.queue: deque[Any] = deque()
        self.closed = False
        self.dropped = 0
        self._conn: sqlite3.Connection | None = None
        self._failed = False  # the file would not open: reported once, later rows dropped
        self._start()

    def _start(self) -> None:
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"models call log {self.path}", daemon=True)
        self._thread.start()

    def flush(self, timeout: float) -> None:
        if self.closed or not self._thread.is_alive():
            return
        done = threading.Event()
        self.queue.append(done)
        self._wake.set()
        done.wait(timeout)

    def close(self) -> None:
        with _LOCK:
            if self.closed:
                return
            self.closed = True
        self.queue.append(_STOP)
        self._wake.set()
        self._thread.join(10)

    def after_fork(self) -> None:
        """In a forked child: the parent's unwritten rows are its own, its connection stays open
        (closing a copy would disturb the parent's locks) and a new thread writes the child's."""
        self.queue.clear()
        if self._conn is not None:
            _ABANDONED.append(self._conn)
            self._conn = None
        if not self.closed:
            self._start()

    def _run(self) -> None:
        queue, wake, pid = self.queue, self._wake, os.getpid()
        while True:
            wake.wait(WAIT)
            wake.clear()
            while queue:
                items: list[tuple[Any, ...]] = []
                done: list[threading.Event] = []
                stop = False
                while queue and len(items) < BATCH:
                    item = queue.popleft()
                    if item.__class__ is tuple:
                        items.append(item)
                    elif item is _STOP:
                        stop = True
                        break
                    else:
                        done.append(item)
                if items:
                    self._write(items, pid)
                for event in done:
                    event.set()
                if stop:
                    if self._conn is not None:
                        self._conn.close()
                        self._conn = None
                    return

    def _write(self, items: list[tuple[Any, ...]], pid: int) -> None:
        """One transaction. The rows are made as SQLite takes them, so the GIL, released for each
        insert, goes back to the callers every few microseconds rather than after the whole batch."""
        conn = self._conn
        if conn is None:
            if self._failed:
                self.dropped += len(items)
                return
            try:
                conn = self._conn = connect(self.path)
            except (sqlite3.Error, OSError) as exc:
                self._failed = True
                self.dropped += len(items)
                _log.warning("models: the call log %s cannot be opened (%s); calls are not logged", self.path, exc)
                return
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(INSERT, (_row(item, pid) for item in items))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self.dropped += len(items)
            _log.warning("models: %d calls were not written to the call log %s: %s", len(items), self.path, exc)


_STOP = object()
_log = logging.getLogger("models")


def _row(item: tuple[Any, ...], pid: int) -> tuple[Any, ...]:
    """The row of one queued call: (call, completion, usage, latency, content) for a success,
    (call, None, error, latency, content, kind) for a failure."""
    call: Observed = item[0]
    info = call.info
    prompt = _prompt(call) if item[4] else None
    c: Completion | None = item[1]
    if c is None:
        error: BaseException = item[2]
        return (
            call.time,
            info.id,
            info.provider,
            call.operation,
            call.stream,
            item[5],
            0,
            0,
            0,
            0,
            0,
            None,
            None,
            item[3],
            None,
            None,
            None,
            type(error).__name__,
            str(error),
            prompt,
            None,
            None,
            pid,
        )
    usage: Usage = item[2]
    answer = tools = None
    if item[4]:
        answer = c.text if call.operation == "chat" else None
        if c.tool_calls:
            tools = _json([{"id": t.id, "name": t.name, "arguments": t.arguments} for t in c.tool_calls])
    return (
        call.time,
        info.id,
        info.provider,
        call.operation,
        call.stream,
        "ok",
        usage.input_tokens,
        usage.output_tokens,
        usage.cached_input_tokens,
        usage.cache_write_tokens,
        usage.reasoning_tokens,
        usage.cost,
        usage.price_source,
        item[3],
        c.response_id,
        c.response_model,
        c.finish_reason,
        None,
        None,
        prompt,
        answer,
        tools,
        pid,
    )


def _prompt(call: Observed) -> str | None:
    """The prompt as JSON: {"system", "messages"} for a chat, {"input": texts} for embeddings;
    attachments as their short description, never their bytes."""
    if call.operation == "embeddings":
        body: dict[str, Any] = {"input": call.messages}
    else:
        body = {"system": call.system, "messages": call.messages}
    try:
        return _json(body)
    except (ValueError, RecursionError):  # a message that contains itself
        return None


def _describe(value: object) -> str:
    """An object JSON cannot show (an `Attachment`, bytes): its short description."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"


# made once: json.dumps with options makes an encoder a call
_json = json.JSONEncoder(ensure_ascii=False, default=_describe).encode


def _flush_all() -> None:
    """At interpreter exit: write what is queued (the writers are daemon threads)."""
    for writer in list(_WRITERS.values()):
        writer.flush(5.0)


def _after_fork_in_child() -> None:
    for writer in _WRITERS.values():
        writer.after_fork()
    util = sys.modules.get("multiprocessing.util")
    if util is not None:  # a multiprocessing child ends with os._exit, so no atexit: a finalizer flushes
        util.register_after_fork(_after_fork_in_child, _flush_at_finalize)  # it clears earlier finalizers


def _flush_at_finalize(_: object) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _flush_all, exitpriority=0)
