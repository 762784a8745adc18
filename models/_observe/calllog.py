"""The call log (SPEC §13): every call recorded in a SQLite file, written off the call path.

STUB: the helper building issue 17's call log replaces this module (contract in /work/contract17.md).
"""

from __future__ import annotations

import os
from typing import Any

from .._types import Completion, Usage
from .observed import Observed

__all__ = ["CallLog", "open_log"]


class CallLog:
    """Records calls into one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], content: bool | None = None) -> None:
        self.path = os.fspath(path)
        self.content = content

    def begin(self, call: Observed) -> object:
        return None

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        return None

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        return None


def open_log(path: str | os.PathLike[str], content: bool | None = None) -> CallLog:
    """The process's one `CallLog` for `path`."""
    return CallLog(path, content)
