"""Where the `models` command keeps its call log: a module of its own, so `models --help`, which
names the path, imports neither SQLite nor the rest of the call log."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["default_log_path"]


def default_log_path() -> Path:
    """`$XDG_DATA_HOME/models/log.db`, else `~/.local/share/models/log.db`; on macOS
    `~/Library/Application Support/models/log.db`, on Windows `%LOCALAPPDATA%\\models\\log.db`."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = str(Path.home() / "Library" / "Application Support")
    else:
        xdg = os.environ.get("XDG_DATA_HOME", "")
        base = xdg if os.path.isabs(xdg) else str(Path.home() / ".local" / "share")  # the XDG spec: relative is ignored
    return Path(base) / "models" / "log.db"
