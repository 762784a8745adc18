"""`Stream` and `AsyncStream`: text pieces as they arrive, then the full `Response`.

Nothing is sent until the first piece is asked for. Every attempt before the first piece
may be retried like a plain call; once text has reached the caller, a failure is raised
(normalised, counted once), never retried. Ending a stream early — `break` plus
`close()`, the `with` block, or garbage collection — closes the HTTP response and still
records what was received: its usage, cost and an `ok` request.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, NoReturn

from .._content.output import parse_output
from .._types import Attempt, Completion, Response
from ..errors import ModelsError
from ..providers._deadline import abounded, bounded
from .budget import Hold

if TYPE_CHECKING:
    from .._observe.observed import Observed
    from .resilience import Plan
    from .service import ModelService
    from .target import Prepared, Target

__all__ = ["AsyncStream", "Stream"]


class _StreamState:
    """What both stream kinds share: the request, the pieces so far, the bookkeeping."""

    __slots__ = (
        "__weakref__",
        "_attempts",
        "_hold",
        "_observed",
        "_parts",
        "_plan",
        "_prepared",
        "_prompt",
        "_request",
        "_response",
        "_result",
        "_service",
        "_start",
        "_system",
        "_target",
    )

    def __init__(self, service: ModelService, plan: Plan, prompt: object, system: str | None) -> None:
        target, prepared = plan[0]
        self._request = service.request(target, prompt, system, prepared, stream=True)  # bad input fails here
        self._service = service
        self._plan = plan  # the model, then its fallbacks: tried in turn until a first piece arrives
        self._prompt, self._system = prompt, system
        self._attempts: tuple[Attempt, ...] = ()
        self._target = target
        self._prepared = prepared
        self._parts: list[str] = []
        self._result: Completion | None = None  # set when a request is under way
        self._response: Response | None = None
        self._start = 0.0
        self._hold: Hold | None = None  # budget reservations, made when the request is sent
        self._observed: Observed | None = None  # the call log's and tracing's view, made when it is sent

    @property
    def model(self) -> str:
        return self._target.info.id

    def _first_piece(self, piece: str | None) -> None:
        elapsed = time.perf_counter() - self._start
        self._target.metrics.first_token(elapsed)
        if self._observed is not None:
            self._observed.first_piece = elapsed
        if piece is not None:
            self._parts.append(piece)

    def _settle(self, closed_early: bool = False) -> None:
        """Record the call as finished with what was received (also after an early close)."""
        result = self._result
        if result is None or self._response is not None:
            return
        result.text = "".join(self._parts)
        latency = time.perf_counter() - self._start
        response = self._service.finish(
            self._target, result, latency, self._hold, closed_early, observed=self._observed
        )
        self._response = response = response._with_attempts(self._attempts) if self._attempts else response
        output = self._prepared.output
        if output is not None and not closed_early and not response.tool_calls:
            response._parsed = parse_output(output, response)  # counted above, so raised once, after

    def _use(self, target: Target, prepared: Prepared) -> None:
        """Switch to a fallback model (its own validation, its own request)."""
        self._request = self._service.request(target, self._prompt, self._system, prepared, stream=True)
        self._target, self._prepared = target, prepared

    def _abandoned(self, exc: BaseException) -> None:
        """Ended before the first piece (a final failure `fail` counted, or Ctrl-C / task cancellation,
        while waiting to retry too): in-flight down, the budget back, the observers told ("cancelled",
        unless `fail` told them already), as `ModelService.call` does."""
        self._target.metrics.end()
        if self._hold is not None:
            self._hold.release()
        if self._observed is not None:
            self._observed.abandoned(exc, self._start)

    def _failed(self, exc: Exception) -> NoReturn:
        """A failure after the first piece: count it once and raise it normalised. Text was
        generated, so the budget keeps the call's reserved estimate (its usage is unknown)."""
        result, self._result = self._result, None
        self._target.metrics.end()
        if self._hold is not None:
            tokens = result.input_tokens + result.output_tokens if result is not None else 0
            self._hold.settle(self._hold.units, tokens)
        self._service.fail(self._target, exc, self._start, observed=self._observed)

    def __repr__(self) -> str:
        state = "done" if self._response is not None else "open" if self._result is not None else "not started"
        return f"<{type(self).__name__} {self.model} {state}, {len(self._parts)} pieces>"


class Stream(_StreamState):
    """`for piece in models.stream(model, prompt): ...`, then `.response`. Also a context manager."""

    __slots__ = ("_pieces",)

    def __init__(self, service: ModelService, plan: Plan, prompt: object, system: str | None) -> None:
        super().__init__(service, plan, prompt, system)
        self._pieces: Iterator[str] | None = None

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> str:
        pieces = self._pieces
        if pieces is None:
            if self._response is not None:
                raise StopIteration
            return self._open()
        try:
            piece = bounded(self._request.timeout, next, pieces)
        except StopIteration:
            self._pieces = None
            self._settle()
            raise
        except Exception as exc:
            self._pieces = None
            self._failed(exc)
        self._parts.append(piece)
        return piece

    def _open(self) -> str:
        """Open the stream on the first model of the plan that gives a first piece."""
        if len(self._plan) == 1:
            return self._open_one()
        from .resilience import Chain

        chain, last = Chain(self._service), len(self._plan) - 1
        for index, (target, prepared) in enumerate(self._plan):
            if not chain.usable(target):
                continue
            started = time.perf_counter()
            try:
                if index:
                    self._use(target, prepared)
                first = self._open_one()
            except ModelsError as error:
                if not chain.failed(target, error, started, index < last):
                    raise
                continue
            self._attempts = tuple(chain.attempts)
            return first
        chain.exhausted()

    def _open_one(self) -> str:
        """Send the request, retrying until the first piece arrives (or the answer is empty)."""
        service, target, prepared = self._service, self._target, self._prepared
        self._hold = service.hold(target, self._request, prepared)
        self._start = service.start(target)
        self._observed = service.observe(target, self._request, stream=True) if service.observers else None
        attempt = 0
        while True:
            result = Completion("")
            pieces = target.provider.stream(self._request, result)
            try:
                first = bounded(self._request.timeout, next, pieces)
                break
            except StopIteration:  # an empty answer
                self._result = result
                self._first_piece(None)
                self._settle()
                raise
            except Exception as exc:
                try:
                    time.sleep(service.retry_delay(target, exc, attempt, prepared, self._start, self._observed))
                except BaseException as final:  # counted by `fail`, or Ctrl-C while waiting to retry
                    self._abandoned(final)
                    raise
                attempt += 1
            except BaseException as exc:  # Ctrl-C before the first piece: settled as `call` settles it
                self._abandoned(exc)
                raise
        self._result, self._pieces = result, pieces
        self._first_piece(first)
        return first

    @property
    def response(self) -> Response:
        """The full `Response` (text, usage, cost); reads the rest of the stream if need be."""
        if self._response is None:
            for _ in self:
                pass
        if self._response is None:  # closed before it started
            raise RuntimeError("this stream was closed before any request was sent")
        return self._response

    def close(self) -> None:
        """Stop early: close the HTTP response and record what was received."""
        pieces, self._pieces = self._pieces, None
        if pieces is not None:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        self._settle(closed_early=True)

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_pieces", None) is not None:  # unset when __init__ rejected the prompt
            self.close()


class AsyncStream(_StreamState):
    """`async for piece in models.astream(model, prompt): ...`, then `.response`."""

    __slots__ = ("_pieces",)

    def __init__(self, service: ModelService, plan: Plan, prompt: object, system: str | None) -> None:
        super().__init__(service, plan, prompt, system)
        self._pieces: AsyncIterator[str] | None = None

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> str:
        pieces = self._pieces
        if pieces is None:
            if self._response is not None:
                raise StopAsyncIteration
            return await self._open()
        try:
            piece = await abounded(self._request.timeout, pieces.__anext__())
        except StopAsyncIteration:
            self._pieces = None
            self._settle()
            raise
        except Exception as exc:
            self._pieces = None
            self._failed(exc)
        self._parts.append(piece)
        return piece

    async def _open(self) -> str:
        """Open the stream on the first model of the plan that gives a first piece."""
        if len(self._plan) == 1:
            return await self._open_one()
        from .resilience import Chain

        chain, last = Chain(self._service), len(self._plan) - 1
        for index, (target, prepared) in enumerate(self._plan):
            if not chain.usable(target):
                continue
            started = time.perf_counter()
            try:
                if index:
                    self._use(target, prepared)
                first = await self._open_one()
            except ModelsError as error:
                if not chain.failed(target, error, started, index < last):
                    raise
                continue
            self._attempts = tuple(chain.attempts)
            return first
        chain.exhausted()

    async def _open_one(self) -> str:
        service, target, prepared = self._service, self._target, self._prepared
        self._hold = await service.ahold(target, self._request, prepared)
        self._start = service.start(target)
        self._observed = service.observe(target, self._request, stream=True) if service.observers else None
        attempt = 0
        while True:
            result = Completion("")
            pieces = target.provider.astream(self._request, result)
            try:
                first = await abounded(self._request.timeout, pieces.__anext__())
                break
            except StopAsyncIteration:
                self._result = result
                self._first_piece(None)
                self._settle()
                raise
            except Exception as exc:
                import asyncio  # here, not at the top: only async code gets here, and `import models` stays light

                try:
                    delay = service.retry_delay(target, exc, attempt, prepared, self._start, self._observed)
                    await asyncio.sleep(delay)
                except BaseException as final:  # counted by `fail`, or cancelled while waiting to retry
                    self._abandoned(final)
                    raise
                attempt += 1
            except BaseException as exc:  # cancelled before the first piece: settled as `acall` settles it
                self._abandoned(exc)
                raise
        self._result, self._pieces = result, pieces
        self._first_piece(first)
        return first

    @property
    def response(self) -> Response:
        """The full `Response`, once the stream has been read to the end (or closed)."""
        if self._response is None:
            raise RuntimeError("read the stream to the end (async for) or `await stream.aclose()` first")
        return self._response

    async def aclose(self) -> None:
        """Stop early: close the HTTP response and record what was received."""
        pieces, self._pieces = self._pieces, None
        if pieces is not None:
            aclose = getattr(pieces, "aclose", None)
            if aclose is not None:
                await aclose()
        self._settle(closed_early=True)

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __del__(self) -> None:
        # Cannot await here: asyncio's async-generator hooks close the provider's generator
        # (and its HTTP response); the bookkeeping is synchronous and happens now.
        if getattr(self, "_pieces", None) is not None:
            self._pieces = None
            self._settle(closed_early=True)
