"""`models usage`: totals from the call log, per model, day or provider, with a total row."""

from __future__ import annotations

import argparse
import math
import re
import time
from datetime import datetime
from typing import Any

from .._display import Table
from .output import dollars, log_path, print_json

__all__ = ["run", "since"]

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
COUNTS = (  # read_usage's integer columns, summed into the total row
    "requests",
    "errors",
    "cancelled",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "unpriced",
)
SHOWN = ("requests", "errors", "input_tokens", "cached_input_tokens", "output_tokens")  # the table's columns


def since(text: str, now: float | None = None) -> float:
    """Epoch seconds of `--since`: an age (30m, 12h, 1d, 2w; units s, m, h, d, w) before `now`, or
    an ISO date or time (local time unless it gives its offset, as the log's days are)."""
    age = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([smhdw])", text.strip().lower())
    if age:
        return (time.time() if now is None else now) - float(age[1]) * UNITS[age[2]]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since takes an age such as 30m, 12h, 1d, 2w or an ISO date such as 2026-12-01, not {text!r}"
        ) from None


def run(args: argparse.Namespace) -> int:
    from .._observe.calllog import read_usage

    parser: argparse.ArgumentParser = args.parser
    path = args.log or log_path()
    if path is None:
        parser.error("the call log is off (MODELS_LOG turns it off); give --log FILE to read one")
    try:
        start = None if args.since is None else since(args.since)
    except argparse.ArgumentTypeError as exc:
        parser.error(str(exc))
    rows = read_usage(path, since=start, by=args.by)
    total: dict[str, Any] = {name: sum(row[name] for row in rows) for name in COUNTS}
    total["cost"] = math.fsum(row["cost"] for row in rows)
    if args.json:
        print_json({"log": str(path), "by": args.by, "since": start, "rows": rows, "total": total})
    else:
        print(_table(args.by, rows, total, str(path)).text())
    return 0


def _table(by: str, rows: list[dict[str, Any]], total: dict[str, Any], path: str) -> Table:
    def cells(label: str, row: dict[str, Any]) -> list[str]:
        cost = dollars(row["cost"]) + (f" + {row['unpriced']:,} unpriced" if row["unpriced"] else "")
        return [label, *(f"{row[name]:,}" for name in SHOWN), cost]

    lines = [cells(str(row[by]), row) for row in rows]
    lines.append(cells("total", total))
    headers = (by, "requests", "errors", "input", "cached input", "output", "cost")
    caption = f"Usage by {by} in {path}" + ("" if rows else ": no calls")
    return Table(caption, lines, headers, right=range(1, 7))
