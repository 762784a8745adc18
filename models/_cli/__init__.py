"""The `models` command (SPEC §13).

STUB: the CLI helper replaces it (contract in /work/contract17.md).
"""

from __future__ import annotations

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit code."""
    return 0
