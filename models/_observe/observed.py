"""What the call log and tracing see of a call: `Observed`, and the `Observer` protocol.

The service makes one `Observed` per call (a chat call, a stream, an embedding) only when an
observer is installed, so a process without a call log or tracing pays one truthiness test per
call. Each observer gets `begin` before the first attempt and exactly one of `ok` or `error`.
An observer that raises is logged and never breaks the call or the other observers.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .._catalog.info import ModelInfo
from .._types import Completion, Usage

__all__ = ["Observed", "Observer"]


class Observer(Protocol):
    """Something that watches every call of a service: the call log, tracing."""

    def begin(self, call: Observed) -> object:
        """Called before the first attempt; what it returns is handed back to `ok` or `error`."""

    def ok(self, call: Observed, state: Any, c: Completion, usage: Usage, latency: float) -> None:
        """The call succeeded (a stream closed early too): `c` is what the provider answered, `usage`
        what was priced (`usage.cost` None when unknown), `latency` seconds, retries included."""

    def error(self, call: Observed, state: Any, error: BaseException, kind: str, latency: float) -> None:
        """The call failed for good: `error` is what the caller gets (normally a `ModelsError`);
        `kind` its metrics label, or "cancelled" when the caller abandoned it (task cancelled,
        KeyboardInterrupt): such a call is not counted in the metrics."""


class Observed:
    """One call as observers see it.

    `operation` is "chat" or "embeddings"; `messages` the normalised turns (OpenAI's chat shape,
    the caller's own dicts: not copied) or, for embeddings, the texts; `options` the keyword
    arguments as the provider's SDK gets them (translated); `current` says the call begins and
    ends in the same context (`call`, `acall`), so tracing may make its span the current one;
    `first_piece` is a stream's time to its first piece in seconds (retries included), once it came.
    """

    __slots__ = (
        "_done",
        "_observers",
        "_states",
        "current",
        "first_piece",
        "info",
        "messages",
        "operation",
        "options",
        "stream",
        "system",
        "time",
    )

    def __init__(
        self,
        observers: tuple[Observer, ...],
        operation: str,
        info: ModelInfo,
        messages: Sequence[Any],
        system: str | None,
        options: Mapping[str, Any],
        *,
        stream: bool = False,
        current: bool = False,
    ) -> None:
        self.operation = operation
        self.info = info
        self.messages = messages
        self.system = system
        self.options = options
        self.stream = stream
        self.current = current
        self.time = time.time()
        self.first_piece: float | None = None
        self._observers = observers
        self._done = False
        states = []
        for observer in observers:
            try:
                states.append(observer.begin(self))
            except Exception:
                _log_failure(observer, "begin", info.id)
                states.append(None)
        self._states = states

    def ok(self, c: Completion, usage: Usage, latency: float) -> None:
        if self._done:
            return
        self._done = True
        for observer, state in zip(self._observers, self._states):
            try:
                observer.ok(self, state, c, usage, latency)
            except Exception:
                _log_failure(observer, "ok", self.info.id)

    def error(self, error: BaseException, kind: str, latency: float) -> None:
        if self._done:
            return
        self._done = True
        for observer, state in zip(self._observers, self._states):
            try:
                observer.error(self, state, error, kind, latency)
            except Exception:
                _log_failure(observer, "error", self.info.id)

    def abandoned(self, error: BaseException, start: float) -> None:
        """The call ended by an exception no `error` reported (cancellation, KeyboardInterrupt)."""
        if not self._done:
            self.error(error, "cancelled", time.perf_counter() - start)


def _log_failure(observer: object, step: str, model: str) -> None:
    import logging  # only a failing observer needs it

    logging.getLogger("models").exception("models: observer %r failed in %s for %s", observer, step, model)
