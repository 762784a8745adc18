"""`run_tools=True` (SPEC §8): call, run the tools the model asks for, send the results, repeat.

Each round is a whole call of its own (retries, fallbacks, budget, metrics, `track()`), so every
round is counted where every call is; the `Response` returned is the last round's, with `usage`
summed over all rounds and `steps` listing each. A tool that raises, a tool the model made up
and arguments that do not fit a function's signature become error results the model reads. The
loop stops when an answer has no tool calls, when the model calls a tool that has no Python
function (the caller answers it), or after `max_tool_rounds` rounds.
"""

from __future__ import annotations

import inspect
import math
import time
from typing import TYPE_CHECKING, Any

from .._content.tools import Toolset
from .._types import Response, ToolCall, Usage, as_text
from .resilience import acall_chain, call_chain
from .stream import AsyncStream, Stream

if TYPE_CHECKING:
    from .resilience import Plan
    from .service import ModelService

__all__ = [
    "AsyncToolStream",
    "ToolStream",
    "acall_plan",
    "arun_loop",
    "astream_for",
    "call_plan",
    "run_loop",
    "stream_for",
]


def _turns(prompt: object) -> list[Any]:
    """The conversation as a list the loop can extend (the caller's own list is not changed)."""
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)  # type: ignore[call-overload]


def _runnable(response: Response, tools: Toolset) -> bool:
    """Whether the loop goes on: the answer calls tools, and every one it names that exists has a function."""
    calls = response.tool_calls
    if not calls:
        return False
    return all(tools.by_name[c.name].fn is not None for c in calls if c.name in tools.by_name)


def _problem(tools: Toolset, call: ToolCall) -> tuple[Any, tuple[Any, ...], dict[str, Any]] | str:
    """The function and arguments for `call`, or the error text the model gets instead."""
    tool = tools.by_name.get(call.name)
    if tool is None:
        return f"Error: there is no tool named {call.name!r}. The tools are: {', '.join(tools.by_name)}."
    if call.raw_arguments is not None:
        return f"Error: the arguments of {call.name} are not a JSON object: {call.raw_arguments[:200]}"
    try:
        args, kwargs = tool.prepare_call(call.arguments)
    except Exception as exc:  # pydantic's ValidationError: says which argument and why
        return f"Error: invalid arguments for {call.name}: {exc}"
    return tool.fn, args, kwargs


def _failed(call: ToolCall, exc: BaseException) -> str:
    return f"Error: {call.name} raised {type(exc).__name__}: {exc}"


def run_call(tools: Toolset, call: ToolCall) -> dict[str, Any]:
    """Run one call (an async function in a loop of its own) and give its `tool` turn."""
    found = _problem(tools, call)
    if isinstance(found, str):
        return call.result(found)
    fn, args, kwargs = found
    try:
        value = fn(*args, **kwargs)
        if inspect.isawaitable(value):
            value = _await(value)
    except Exception as exc:
        return call.result(_failed(call, exc))
    return call.result(as_text(value))


async def _awaited(value: Any) -> Any:
    return await value


def _await(value: Any) -> Any:
    """An async tool's result in a sync call: in a loop of its own, or, when this thread already
    runs one (a sync call from a notebook cell or async code), in a worker thread's loop."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_awaited(value))
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, _awaited(value)).result()


async def arun_call(tools: Toolset, call: ToolCall) -> dict[str, Any]:
    """Run one call: an async function awaited, a plain one in a worker thread (it may block)."""
    import asyncio

    found = _problem(tools, call)
    if isinstance(found, str):
        return call.result(found)
    fn, args, kwargs = found
    try:
        if inspect.iscoroutinefunction(fn):
            value = await fn(*args, **kwargs)
        else:
            value = await asyncio.to_thread(fn, *args, **kwargs)
            if inspect.isawaitable(value):
                value = await value
    except Exception as exc:
        return call.result(_failed(call, exc))
    return call.result(as_text(value))


def combine(steps: list[Response], latency: float) -> Response:
    """The last round's `Response`, with usage summed over every round and `steps` set."""
    last = steps[-1]
    if len(steps) == 1:
        return last._replace(steps=tuple(steps), latency=latency)
    usages = [s.usage for s in steps]
    costs = [u.cost for u in usages]
    cost = None if any(c is None for c in costs) else round(math.fsum(c for c in costs if c is not None), 15)
    usage = Usage(
        sum(u.input_tokens for u in usages),
        sum(u.output_tokens for u in usages),
        sum(u.cached_input_tokens for u in usages),
        sum(u.cache_write_tokens for u in usages),
        sum(u.reasoning_tokens for u in usages),
        cost,
        sum(u.cache_write_1h_tokens for u in usages),
        last.usage.price_source,
        last.usage.price,
    )
    attempts = tuple(a for s in steps for a in s.attempts)
    return last._replace(usage=usage, steps=tuple(steps), latency=latency, attempts=attempts)


def call_plan(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:
    """A call along `plan` (its model, then fallbacks): one round, or the loop when it runs tools."""
    if plan[0][1].run_tools:
        return run_loop(service, plan, prompt, system)
    return call_chain(service, plan, prompt, system)


async def acall_plan(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:
    """`call_plan` for asyncio."""
    if plan[0][1].run_tools:
        return await arun_loop(service, plan, prompt, system)
    return await acall_chain(service, plan, prompt, system)


def run_loop(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:

    prepared = plan[0][1]
    tools = prepared.tools
    assert tools is not None  # `prepare` refuses run_tools without tools
    turns, steps, start = _turns(prompt), [], time.perf_counter()
    for _ in range(prepared.max_tool_rounds):
        response = call_chain(service, plan, turns, system)
        steps.append(response)
        if not _runnable(response, tools):
            break
        turns += [response.message, *(run_call(tools, call) for call in response.tool_calls)]
    return combine(steps, time.perf_counter() - start)


async def arun_loop(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Response:
    """`run_loop` for asyncio: a round's calls run concurrently."""
    import asyncio

    prepared = plan[0][1]
    tools = prepared.tools
    assert tools is not None
    turns, steps, start = _turns(prompt), [], time.perf_counter()
    for _ in range(prepared.max_tool_rounds):
        response = await acall_chain(service, plan, turns, system)
        steps.append(response)
        if not _runnable(response, tools):
            break
        results = await asyncio.gather(*(arun_call(tools, call) for call in response.tool_calls))
        turns += [response.message, *results]
    return combine(steps, time.perf_counter() - start)


class _Rounds:
    """The loop's state inside a stream: the conversation so far and each round's `Response`."""

    __slots__ = ("done", "plan", "round", "start", "steps", "turns")

    def __init__(self, plan: Plan, turns: list[Any]) -> None:
        self.plan = plan
        self.turns = turns
        self.steps: list[Response] = []
        self.round = 1
        self.done = False
        self.start = time.perf_counter()

    def next(self, response: Response | None, tools: Toolset | None, max_rounds: int) -> Response | None:
        """After a round: its `Response` if the loop goes on (run its tools), else None (the last
        round's response, combined, is then in `final`)."""
        if response is None or self.done:
            return None
        self.steps.append(response)
        if tools is None or self.round >= max_rounds or not _runnable(response, tools):
            self.done = True
            return None
        self.round += 1
        return response

    def final(self) -> Response:
        return combine(self.steps, time.perf_counter() - self.start)


class ToolStream(Stream):
    """`models.stream(..., run_tools=True)`: the text of every round, in order; `.response` is the
    last round's, with usage over all rounds and `steps`. Each round is a stream of its own."""

    __slots__ = ("_rounds",)

    def __init__(self, service: ModelService, plan: Plan, prompt: object, system: str | None) -> None:
        turns = _turns(prompt)
        super().__init__(service, plan, turns, system)
        self._rounds = _Rounds(plan, turns)

    def __next__(self) -> str:
        rounds = self._rounds
        while True:
            try:
                return super().__next__()
            except StopIteration:
                response = rounds.next(self._response, self._prepared.tools, self._prepared.max_tool_rounds)
                if response is None:
                    if rounds.done and rounds.steps and self._response is rounds.steps[-1]:
                        self._response = rounds.final()
                    raise
                tools = self._prepared.tools
                assert tools is not None
                rounds.turns += [response.message, *(run_call(tools, call) for call in response.tool_calls)]
                Stream.__init__(self, self._service, rounds.plan, rounds.turns, self._system)

    def close(self) -> None:
        """Stop early: close this round's response and record every round so far."""
        super().close()
        rounds = self._rounds
        if not rounds.done and self._response is not None:
            rounds.next(self._response, None, 0)
            self._response = rounds.final()


class AsyncToolStream(AsyncStream):
    """`models.astream(..., run_tools=True)`: `ToolStream` for asyncio; a round's calls run concurrently."""

    __slots__ = ("_rounds",)

    def __init__(self, service: ModelService, plan: Plan, prompt: object, system: str | None) -> None:
        turns = _turns(prompt)
        super().__init__(service, plan, turns, system)
        self._rounds = _Rounds(plan, turns)

    async def __anext__(self) -> str:
        import asyncio

        rounds = self._rounds
        while True:
            try:
                return await super().__anext__()
            except StopAsyncIteration:
                response = rounds.next(self._response, self._prepared.tools, self._prepared.max_tool_rounds)
                if response is None:
                    if rounds.done and rounds.steps and self._response is rounds.steps[-1]:
                        self._response = rounds.final()
                    raise
                tools = self._prepared.tools
                assert tools is not None
                results = await asyncio.gather(*(arun_call(tools, call) for call in response.tool_calls))
                rounds.turns += [response.message, *results]
                AsyncStream.__init__(self, self._service, rounds.plan, rounds.turns, self._system)

    async def aclose(self) -> None:
        """Stop early: close this round's response and record every round so far."""
        await super().aclose()
        rounds = self._rounds
        if not rounds.done and self._response is not None:
            rounds.next(self._response, None, 0)
            self._response = rounds.final()


def stream_for(service: ModelService, plan: Plan, prompt: object, system: str | None) -> Stream:
    """The stream of a call: a `ToolStream` when it runs tools."""
    cls = ToolStream if plan[0][1].run_tools else Stream
    return cls(service, plan, prompt, system)


def astream_for(service: ModelService, plan: Plan, prompt: object, system: str | None) -> AsyncStream:
    """The async stream of a call: an `AsyncToolStream` when it runs tools."""
    cls = AsyncToolStream if plan[0][1].run_tools else AsyncStream
    return cls(service, plan, prompt, system)
