"""What the subcommands print: dollars, token counts, JSON, the call log's path."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["dollars", "log_path", "print_json", "tokens"]


def dollars(cost: float | None) -> str:
    """USD with as many decimals as it needs, up to 8 (a cheap call costs millionths): "$0.0000045",
    "$0.005211", "$1.20"; "unknown" when the model has no price (never a silent $0)."""
    if cost is None:
        return "unknown"
    if 0 < cost < 5e-9:  # would round to $0.00
        return "< $0.00000001"
    digits = f"{cost:.8f}".rstrip("0")
    whole, _, part = digits.partition(".")
    return f"${whole}.{part.ljust(2, '0')}"


def tokens(input_tokens: int, output_tokens: int, cached: int = 0) -> str:
    """ "1,200 in (800 cached) / 345 out tokens"."""
    inside = f" ({cached:,} cached)" if cached else ""
    return f"{input_tokens:,} in{inside} / {output_tokens:,} out tokens"


def print_json(value: Any) -> None:
    """One JSON document on stdout, indented, non-ASCII kept as it is."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=_jsonable) + "\n")


def _jsonable(value: Any) -> Any:
    """What `json` cannot write itself (a pydantic model or dataclass in `Response.parsed`, a Decimal)."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(value)


def log_path() -> Path | None:
    """Where the command logs and `models usage` reads: `MODELS_LOG`'s path, None when it turns the
    log off (0, off, false, no), else the default in the user's data directory."""
    from .._observe import LOG_OFF

    value = os.environ.get("MODELS_LOG", "").strip()
    if value.lower() in LOG_OFF:
        return None
    if value:
        return Path(value)
    from .._observe.calllog import default_log_path

    return default_log_path()
