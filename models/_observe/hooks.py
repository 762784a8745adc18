"""Hooks: `models.on_response(fn)` and `models.on_error(fn)`, called after every call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._fork import fork_safe_lock
from .._types import Usage

__all__ = ["CallEvent", "Hook", "Hooks"]


@dataclass(frozen=True, slots=True)
class CallEvent:
    """What `on_response` and `on_error` hooks receive after every call (streams included).

    On success `usage` and `cost` are set and `error_kind`/`error` are None; on failure the
    reverse. `latency` is seconds, retries included.
    """

    model: str
    provider: str
    usage: Usage | None
    cost: float | None
    latency: float
    error_kind: str | None
    error: BaseException | None


Hook = Callable[[CallEvent], object]


class Hooks:
    """The hooks of one service, as tuples replaced on change: calls read them without a lock."""

    def __init__(self) -> None:
        self._lock = fork_safe_lock()
        self.response: tuple[Hook, ...] = ()
        self.error: tuple[Hook, ...] = ()

    @staticmethod
    def emit(hooks: tuple[Hook, ...], event: CallEvent) -> None:
        """Run hooks; one that raises is logged and never breaks the call or the other hooks."""
        for hook in hooks:
            try:
                hook(event)
            except Exception:
                import logging  # only a failing hook needs it; `import models` stays light

                logging.getLogger("models").exception("models: hook %r failed on %s", hook, event.model)

    def add(self, kind: str, hook: Hook) -> None:
        """Register a hook for "response" or "error"."""
        if not callable(hook):
            raise TypeError(f"a hook must be callable, not {type(hook).__name__}")
        with self._lock:
            if kind == "response":
                self.response = (*self.response, hook)
            else:
                self.error = (*self.error, hook)

    def remove(self, hook: Hook) -> None:
        with self._lock:
            self.response = tuple(h for h in self.response if h is not hook)
            self.error = tuple(h for h in self.error if h is not hook)
