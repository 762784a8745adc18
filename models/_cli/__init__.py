"""The `models` command (SPEC §13): ask, list, info, cost, usage, serve.

`main` parses with argparse before importing anything heavy: `models --help` and a usage error
load only this package and the `models` package's light top (no SDK, no call path). Each
subcommand's module is imported when it runs. Exit codes: 0 success, 1 a model error (one line,
`models: <message>`), 2 bad usage, 130 interrupted, 141 stdout closed early (`| head`).
"""

from __future__ import annotations

import sys
import warnings

__all__ = ["main"]

INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process stopped by Ctrl-C
BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a process whose reader went away


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns its exit code (argparse's 2 for bad usage, never raises it)."""
    from .parser import build

    parser = build()
    try:
        try:
            args = parser.parse_args(argv)
            with warnings.catch_warnings():  # restored after, for a caller that runs main() in its own process
                warnings.showwarning = _show_warning
                code = int(args.run(args))
        except SystemExit as done:  # argparse: --help (0) and bad usage (2), also from a subcommand
            code = done.code if isinstance(done.code, int) else 2 if done.code else 0
        sys.stdout.flush()  # here, where a reader that went away (`| head`) is caught, not at exit
        return code
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        return BROKEN_PIPE
    except Exception as exc:
        return _failed(exc)


def _failed(exc: Exception) -> int:
    """A model error or an argument the library refused, as one line on stderr (never a traceback).

    `TypeError`/`ValueError` are what the library raises for a bad argument (`-o temperature='"hot"'`,
    an unknown capability): bad usage, exit 2. Anything else is a bug and keeps its traceback."""
    from ..errors import ModelsError

    if isinstance(exc, ModelsError):
        print(f"models: {exc}", file=sys.stderr)
        return 1
    if isinstance(exc, (TypeError, ValueError)):
        print(f"models: {exc}", file=sys.stderr)
        return 2
    raise exc


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush is silent."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: object = None,
    line: str | None = None,
) -> None:
    """`warnings.showwarning` for the command: the library's warnings (a deprecated model, an unpriced
    one, a dropped parameter) as one `models: warning: ...` line each, no source line."""
    print(f"models: warning: {message}", file=sys.stderr)
