"""The call log's SQLite file: its schema, the ordered migrations, opening it, and `read_usage`.

The schema version is `PRAGMA user_version`; `migrate` brings an older file up to `VERSION` inside
one `BEGIN IMMEDIATE` transaction, so two processes opening a new file at once do not both create
it. A migration only adds (tables, columns, indexes): a file written by a newer version still
takes our rows.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from .._costs import COST_SCALE
from ..errors import ConfigurationError

__all__ = ["COLUMNS", "VERSION", "connect", "migrate", "read_usage"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # v1: the first call log
        """CREATE TABLE calls (
            id INTEGER PRIMARY KEY,
            time REAL NOT NULL,
            model TEXT NOT NULL,
            provider TEXT NOT NULL,
            operation TEXT NOT NULL,
            stream INTEGER NOT NULL,
            status TEXT NOT NULL,
            input_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            cached_input_tokens INTEGER NOT NULL,
            cache_write_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            cost REAL,
            latency REAL NOT NULL,
            error TEXT,
            prompt TEXT,
            answer TEXT,
            pid INTEGER NOT NULL
        )""",
        "CREATE INDEX calls_time ON calls (time)",
    ),
    (  # v2: where the price came from, the provider's ids, why it stopped, tool calls, the error's class
        "ALTER TABLE calls ADD COLUMN price_source TEXT",
        "ALTER TABLE calls ADD COLUMN response_id TEXT",
        "ALTER TABLE calls ADD COLUMN response_model TEXT",
        "ALTER TABLE calls ADD COLUMN finish_reason TEXT",
        "ALTER TABLE calls ADD COLUMN tool_calls TEXT",
        "ALTER TABLE calls ADD COLUMN error_type TEXT",
    ),
)
VERSION = len(MIGRATIONS)

COLUMNS = (
    "time",
    "model",
    "provider",
    "operation",
    "stream",
    "status",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "price_source",
    "latency",
    "response_id",
    "response_model",
    "finish_reason",
    "error_type",
    "error",
    "prompt",
    "answer",
    "tool_calls",
    "pid",
)
"""What the writer inserts, in the order of its row tuples (`id` is SQLite's)."""

INSERT = f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"

BUSY_MS = 10_000
"""How long a writer waits for another process's transaction before its batch fails."""


def connect(path: str) -> sqlite3.Connection:
    """Open (creating the file and its directory) in WAL mode and migrate to `VERSION`."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
        conn.execute("PRAGMA journal_mode = WAL")  # kept in the file: readers never block the writers
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL's safe setting: a power cut may lose the last commits
        migrate(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply the migrations past the file's `user_version`, in one transaction; the version before."""
    conn.execute("BEGIN IMMEDIATE")  # the version read and the changes are one write: no two processes migrate
    try:
        (before,) = conn.execute("PRAGMA user_version").fetchone()
        for statements in MIGRATIONS[before:]:
            for statement in statements:
                conn.execute(statement)
        if before < VERSION:
            conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return int(before)


_KEYS = {
    "model": "model",
    "provider": "provider",
    "day": "date(time, 'unixepoch', 'localtime')",
}


def read_usage(path: str | os.PathLike[str], since: float | None = None, by: str = "model") -> list[dict[str, Any]]:
    """Totals per model, provider or day (local time) of the calls logged at `path` since the epoch
    time `since`, most expensive first (days: in order).

    Each row: the key (`model`, `provider` or `day`), `requests` (calls that succeeded), `errors`
    (failed, cancelled calls left out), `cancelled`, the token sums (`input_tokens`,
    `output_tokens`, `cached_input_tokens`, `cache_write_tokens`, `reasoning_tokens`), `cost` (USD,
    the sum of the known costs) and `unpriced` (succeeded calls whose cost is unknown): the same
    numbers `models.usage()` gives for the same calls.
    """
    key = _KEYS.get(by)
    if key is None:
        raise ValueError(f"by must be one of {', '.join(_KEYS)}, not {by!r}")
    file = os.fspath(path)
    if not os.path.exists(file):
        raise ConfigurationError(
            f"No call log at {file}: turn it on with MODELS_LOG={file} (or models.log_to(path)); "
            "the models command logs its calls there by default."
        )
    conn = sqlite3.connect(Path(file).absolute().as_uri() + "?mode=ro", uri=True, timeout=BUSY_MS / 1000)
    try:
        try:  # integer cost units summed, as models.usage() sums them: the same dollars to the last digit
            rows = _totals(conn, key, f"SUM(CAST(ROUND(cost * {COST_SCALE}) AS INTEGER))", by, since)
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            rows = _totals(conn, key, f"SUM(cost) * {COST_SCALE}", by, since)  # over $9,223 in one row
    finally:
        conn.close()
    names = (by, "requests", "errors", "cancelled", *COLUMNS[6:11], "cost", "unpriced")
    return [dict(zip(names, (*row[:9], row[9] / COST_SCALE, row[10]))) for row in rows]


def _totals(conn: sqlite3.Connection, key: str, units: str, by: str, since: float | None) -> list[Any]:
    order = "key" if by == "day" else "cost_units DESC, key"
    query = f"""
        SELECT {key} AS key,
            SUM(status = 'ok'), SUM(status NOT IN ('ok', 'cancelled')), SUM(status = 'cancelled'),
            SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens), SUM(cache_write_tokens),
            SUM(reasoning_tokens), COALESCE({units}, 0) AS cost_units,
            SUM(status = 'ok' AND cost IS NULL)
        FROM calls WHERE time >= ? GROUP BY key ORDER BY {order}"""
    return conn.execute(query, (since if since is not None else float("-inf"),)).fetchall()
