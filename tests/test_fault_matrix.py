"""The fault matrix: every provider, call form and fault on the wire, through the real SDKs.

Each cell asserts the exact outcome: the error class (or a success with the exact text, tokens
and cost), one count in `models_requests_total` under its kind and none under any other, the
retries, the in-flight gauge back at 0, the usage totals, the pieces that reached the caller
before a stream failed, and nothing left for the event loop's shutdown to report (async forms).
An error that is not a `ModelsError` fails its cell: no raw exception escapes. 21 faults x 3
providers x 4 forms = 252 cells. Bindings run the same path as these forms
(tests/test_binding_usage_metrics.py), so they are not repeated here.

The tests after the matrix cover what a cell cannot: unknown usage (cost None, unpriced,
budgets), every Retry-After value, a `map_error` that raises, and the comment filter's chunking.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import pytest

from models import (
    AuthenticationError,
    BadResponseError,
    Completion,
    ContextWindowExceededError,
    InvalidRequestError,
    ModelsAPI,
    ModelsError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from models.providers import Provider, Request
from models.providers._common import retry_after_from_headers
from models.providers._gemini_sse import CommentFilter

from .conftest import MODELS, PROVIDERS, sample
from .fake_llm import FakeLLM, Fault, Reply

TEXT = "echo: hi"  # the fake's answer to "hi": 10 input and 5 output tokens, in 3 pieces
PIECES = ["ech", "o: ", "hi"]
RETRIES = 1  # max_retries of every cell: a retried fault is sent twice
FORMS = ["call", "acall", "stream", "astream"]
HTML = b"<!DOCTYPE html><html><body>Sign in to continue</body></html>"
BAD_FRAME = {  # a server-sent event whose data is not JSON, as each provider frames its events
    "openai": b"data: {not json\n\n",
    "anthropic": b"event: content_block_delta\ndata: {not json\n\n",
    "google": b"data: {not json\r\n\r\n",
}
_UNCHECKED = object()  # Case.retry_after of faults that give none to check


class Expect(NamedTuple):
    """One form's outcome: an error class (None: success), retried or not, pieces before it."""

    error: type[ProviderError] | None = None
    retried: bool = False
    pieces: int = 0


OK = Expect()


class Case(NamedTuple):
    name: str
    fault: Callable[[str], Fault]  # per provider
    plain: Expect  # call, acall
    stream: Expect  # stream, astream
    retry_after: object = _UNCHECKED
    timeout: float | None = None


def _same(expect: Expect) -> tuple[Expect, Expect]:
    return expect, expect


CASES = [
    Case("401", lambda p: Fault.auth(), *_same(Expect(AuthenticationError))),
    Case("400-invalid-key", lambda p: Fault.invalid_key_400(), *_same(Expect(AuthenticationError))),
    Case("429-seconds", lambda p: Fault.rate_limit("0"), *_same(Expect(RateLimitError, True)), retry_after=0.0),
    Case(
        "429-http-date",
        lambda p: Fault.rate_limit("Wed, 21 Oct 2015 07:28:00 GMT"),  # in the past: retry now
        *_same(Expect(RateLimitError, True)),
        retry_after=0.0,
    ),
    Case(
        "429-impossible-date",
        lambda p: Fault.rate_limit("Mon, 32 Jan 2030 00:00:00 GMT"),
        *_same(Expect(RateLimitError, True)),
        retry_after=None,
    ),
    Case("429-garbage", lambda p: Fault.rate_limit("soon"), *_same(Expect(RateLimitError, True)), retry_after=None),
    Case("429-nan", lambda p: Fault.rate_limit("nan"), *_same(Expect(RateLimitError, True)), retry_after=None),
    Case("400-context-window", lambda p: Fault.context_window(), *_same(Expect(ContextWindowExceededError))),
    Case("500", lambda p: Fault.server(), *_same(Expect(ServerError, True))),
    Case("overloaded-529-503", lambda p: Fault.overloaded(), *_same(Expect(ServerError, True))),
    Case(
        "502-html-page",
        lambda p: Fault(status=502, body=b"<html>Bad gateway</html>", content_type="text/html"),
        *_same(Expect(ServerError, True)),
    ),
    Case("connection-reset", lambda p: Fault(reset=True), *_same(Expect(ProviderConnectionError, True))),
    Case("timeout", lambda p: Fault(delay=1.0), *_same(Expect(ProviderTimeoutError, True)), timeout=0.1),
    Case("200-not-json", lambda p: Fault(body=b"not json"), *_same(Expect(BadResponseError))),
    Case("200-html", lambda p: Fault(body=HTML, content_type="text/html"), *_same(Expect(BadResponseError))),
    Case("sse-bad-frame", lambda p: Fault(inject=BAD_FRAME[p]), OK, Expect(BadResponseError, pieces=1)),
    Case(
        "sse-ends-before-closing-event",
        lambda p: Fault(end_after_chunks=1),
        OK,
        Expect(ProviderConnectionError, pieces=1),  # raised after the piece; never retried once text is out
    ),
    Case(
        "sse-ends-before-first-piece",
        lambda p: Fault(end_after_chunks=0),
        OK,
        Expect(ProviderConnectionError, True),  # nothing reached the caller: retried
    ),
    Case(
        "cut-mid-body",
        lambda p: Fault(drop_after_chunks=1),  # a stream after one piece; half of a plain body
        Expect(ProviderConnectionError, True),
        Expect(ProviderConnectionError, pieces=1),
    ),
    Case(
        "in-stream-error-event",
        lambda p: Fault(stream_error=True),  # a plain call gets the same error as an overloaded status
        Expect(ServerError, True),
        Expect(ServerError, pieces=1),
    ),
    Case("sse-comments", lambda p: Fault(sse_comment=True), OK, OK),
]


class Outcome(NamedTuple):
    pieces: list[str]
    response: Any
    error: BaseException | None
    loop_errors: list[str]  # what the event loop's exception handler received


def run(api: ModelsAPI, form: str, model: str, **params: Any) -> Outcome:
    """One call in `form`, read to its end; an error is caught where the caller would see it."""
    pieces: list[str] = []
    loop_errors: list[str] = []

    async def main() -> Any:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: loop_errors.append(context["message"]))
        if form == "acall":
            return await api.acall(model, "hi", **params)
        s = api.astream(model, "hi", **params)
        async for piece in s:
            pieces.append(piece)
        return s.response

    try:
        if form == "call":
            response = api(model, "hi", **params)
        elif form == "stream":
            s = api.stream(model, "hi", **params)
            for piece in s:
                pieces.append(piece)
            response = s.response
        else:  # the error leaves asyncio.run alive, as a caller's would: the loop shuts down meanwhile
            # Earlier tests' SDK clients, collected while this loop runs, would schedule their close
            # on it and fail there ("Event loop is closed"): a cross-loop issue of its own, kept out.
            gc.collect()
            response = asyncio.run(main())
    except Exception as error:
        return Outcome(pieces, None, error, loop_errors)
    return Outcome(pieces, response, None, loop_errors)


def counts(api: ModelsAPI, family: str, label: str, provider: str) -> dict[str, float]:
    """Every nonzero sample of a counter family for one model, by its extra label."""
    found: dict[str, float] = {}
    for metric in api.registry.collect():
        if metric.name != family:
            continue
        for s in metric.samples:
            if s.name == family + "_total" and s.labels["model"] == MODELS[provider] and s.value:
                found[s.labels[label]] = s.value
    return found


CELLS = [(provider, form, case) for case in CASES for provider in PROVIDERS for form in FORMS]


@pytest.mark.parametrize(("provider", "form", "case"), CELLS, ids=[f"{c.name}-{p}-{f}" for p, f, c in CELLS])
def test_fault_matrix(
    wired: ModelsAPI, fake: FakeLLM, caplog: pytest.LogCaptureFixture, provider: str, form: str, case: Case
) -> None:
    caplog.set_level(logging.DEBUG)  # httpcore then awaits while closing: races at the loop's shutdown show
    model, streams = MODELS[provider], form.endswith("stream")
    expect = case.stream if streams else case.plain
    fault = case.fault(provider)
    fake.enqueue(*[fault] * (RETRIES + 1))
    params: dict[str, Any] = {"max_retries": RETRIES}
    if case.timeout is not None:
        params["timeout"] = case.timeout
    outcome = run(wired, form, model, **params)

    labels = {"provider": provider, "model": model}
    if expect.error is None:
        assert outcome.error is None, repr(outcome.error)
        r = outcome.response
        assert (r.text, r.usage.input_tokens, r.usage.output_tokens, r.finish_reason) == (TEXT, 10, 5, "stop")
        assert r.usage.cost == wired.cost(model, 10, 5)
        assert counts(wired, "models_requests", "status", provider) == {"ok": 1}
        assert sample(wired, "models_unpriced_requests_total", **labels) == 0
        assert len(fake.requests) == 1
        if streams:
            assert outcome.pieces == PIECES
    else:
        error = outcome.error
        assert isinstance(error, ModelsError), repr(error)  # no raw exception
        assert type(error) is expect.error, repr(error)
        assert (error.provider, error.model) == (provider, model)
        assert counts(wired, "models_requests", "status", provider) == {error.kind: 1}
        assert counts(wired, "models_retries", "reason", provider) == ({error.kind: RETRIES} if expect.retried else {})
        assert len(fake.requests) == (RETRIES + 1 if expect.retried else 1)
        assert wired.usage()[model].errors == 1 and wired.usage()[model].requests == 0
        if case.retry_after is not _UNCHECKED:
            assert error.retry_after == case.retry_after
        if streams:
            assert outcome.pieces == PIECES[: expect.pieces]
    assert sample(wired, "models_in_flight_requests", **labels) == 0
    assert outcome.loop_errors == []  # e.g. "aclose(): asynchronous generator is already running"


# -- unknown usage: cost None, counted as unpriced, budgets keep the estimate ------------------

EARLY_TOKENS = {"openai": (0, 0), "anthropic": (1200, 1), "google": (1200, 0)}  # reported before the close


@pytest.mark.parametrize("form", ["stream", "astream"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_closed_before_its_usage_has_an_unknown_cost(
    wired: ModelsAPI, fake: FakeLLM, provider: str, form: str
) -> None:
    fake.set_reply(Reply(text=TEXT * 40, chunks=200, input_tokens=1200, output_tokens=300))
    model = MODELS[provider]

    async def first_piece_then_close() -> Any:
        async with wired.astream(model, "hi") as s:
            async for _ in s:
                break
        return s.response

    with pytest.warns(UserWarning, match=f"A stream of {model} was closed before the provider reported its usage"):
        if form == "stream":
            with wired.stream(model, "hi") as s:
                next(s)
            response = s.response
        else:
            response = asyncio.run(first_piece_then_close())
    usage = response.usage
    assert (usage.cost, (usage.input_tokens, usage.output_tokens), usage.price_source) == (
        None,
        EARLY_TOKENS[provider],
        "default",
    )
    labels = {"provider": provider, "model": model}
    assert sample(wired, "models_requests_total", status="ok", **labels) == 1
    assert sample(wired, "models_unpriced_requests_total", **labels) == 1
    assert sample(wired, "models_cost_usd_total", **labels) == 0
    totals = wired.usage()[model]
    assert (totals.requests, totals.unpriced_requests, totals.cost) == (1, 1, 0.0)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_read_to_its_end_is_priced(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.set_reply(Reply(text=TEXT, input_tokens=1200, output_tokens=300))
    with wired.stream(MODELS[provider], "hi") as s:
        pieces = list(s)
        assert pieces  # the last piece came before the usage: closing now must not lose it
    assert s.response.usage.cost == wired.cost(MODELS[provider], 1200, 300)
    assert sample(wired, "models_unpriced_requests_total", provider=provider, model=MODELS[provider]) == 0


NO_USAGE = {
    "openai": b'{"choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}]}',
    "anthropic": b'{"type": "message", "content": [{"type": "text", "text": "hi"}], "stop_reason": "end_turn"}',
    "google": b'{"candidates": [{"content": {"role": "model", "parts": [{"text": "hi"}]}, "finishReason": "STOP"}]}',
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_without_usage_has_an_unknown_cost(wired: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.enqueue(Fault(body=NO_USAGE[provider]))
    model = MODELS[provider]
    with pytest.warns(UserWarning, match=f"{model} answered without reporting its usage, so usage.cost is None"):
        r = wired(model, "hi")
    assert (r.text, r.usage.cost, r.usage.input_tokens, r.usage.output_tokens) == ("hi", None, 0, 0)
    assert sample(wired, "models_unpriced_requests_total", provider=provider, model=model) == 1
    assert wired.usage()[model].unpriced_requests == 1


def test_a_budget_keeps_the_estimate_of_a_call_whose_usage_is_unknown(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text=TEXT * 40, chunks=200, input_tokens=1200, output_tokens=300))
    # the call's reserve, the most it can cost: "hi" is 2 bytes, plus 8 framing tokens for each of its
    # 1 message, the system slot and the request (26 input tokens), and max_tokens
    estimate = wired.cost("gpt-4o", 26, 64)
    assert estimate
    with wired.budget(usd=1) as budget:
        with wired.stream("gpt-4o", "hi", max_tokens=64) as s:
            next(s)
        assert budget.spent == estimate  # not 0: the call was billed, its cost is unknown
        fake.enqueue(Fault(drop_after_chunks=1))  # cut after text reached the caller: billed too
        with pytest.raises(ProviderConnectionError):
            list(wired.stream("gpt-4o", "hi", max_tokens=64))
        assert budget.spent == 2 * estimate
        fake.enqueue(Fault.server())  # failed before any text: nothing to keep
        with pytest.raises(ServerError):
            wired("gpt-4o", "hi", max_tokens=64, max_retries=0)
        assert budget.spent == 2 * estimate and budget.remaining == 1 - 2 * estimate


# -- Retry-After, map_error, the comment filter -------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "0.5"}, 0.5),
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "soon", "retry-after": "2"}, 2.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 -0000"}, 0.0),
        ({"retry-after": "Mon, 32 Jan 2030 00:00:00 GMT"}, None),
        ({"retry-after": "Mon, 31 Feb 2030 25:61:00 GMT"}, None),
        ({"retry-after": "Mon, 01 Jan 99999 00:00:00 GMT"}, None),
        ({"retry-after": "Mon, 1"}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, None),
        ({"retry-after": "1e999"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"retry-after": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_any_retry_after_value_is_advice_or_none(headers: dict[str, str] | None, seconds: float | None) -> None:
    assert retry_after_from_headers(headers) == seconds


def test_a_future_http_date_is_the_seconds_until_then() -> None:
    import email.utils
    import time

    in_30s = email.utils.formatdate(time.time() + 30, usegmt=True)
    waited = retry_after_from_headers({"retry-after": in_30s})
    assert waited is not None and 28 <= waited <= 30


class _StatusError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class _BuggyMapping(Provider):
    """A provider whose `map_error` itself raises, as a mapping bug would."""

    statuses: ClassVar[list[int]] = []  # what each attempt fails with, set by the test

    def complete(self, request: Request) -> Completion:
        if self.statuses:
            raise _StatusError(self.statuses.pop(0))
        return Completion("fine", input_tokens=1, output_tokens=1)

    def map_error(self, error: BaseException, model: Any) -> ProviderError | None:
        raise ValueError("day is out of range for month")


@pytest.mark.parametrize(
    ("status", "error_class", "retried"),
    [(429, RateLimitError, True), (503, ServerError, True), (400, InvalidRequestError, False)],
)
def test_a_map_error_that_raises_still_gives_a_counted_provider_error(
    api: ModelsAPI, caplog: pytest.LogCaptureFixture, status: int, error_class: type, retried: bool
) -> None:
    api.register_provider("buggy", _BuggyMapping)
    _BuggyMapping.statuses = [status, status]
    with caplog.at_level(logging.ERROR, logger="models"), pytest.raises(ModelsError) as caught:
        api("buggy/x", "hi", max_retries=1)
    error = caught.value
    assert type(error) is error_class and isinstance(error.__cause__, _StatusError)
    assert (error.provider, error.model, error.status_code) == ("buggy", "buggy/x", status)
    assert "raised _StatusError, and mapping it failed (ValueError; logged)" in str(error)
    assert _BuggyMapping.statuses == ([] if retried else [status])
    labels = {"provider": "buggy", "model": "buggy/x"}
    assert sample(api, "models_requests_total", status=error.kind, **labels) == 1
    assert sample(api, "models_retries_total", reason=error.kind, **labels) == (1 if retried else None)
    assert sample(api, "models_in_flight_requests", **labels) == 0
    failures = [r for r in caplog.records if "map_error failed on _StatusError" in r.getMessage()]
    assert len(failures) == (2 if retried else 1) and failures[0].exc_info is not None
    assert failures[0].exc_info[0] is ValueError


SSE = (
    b": keep-alive\n\n"
    b'data: {"a": 1}\r\n'
    b": in the middle of an event\r\n"
    b'data: {"b": ":2"}\r\n\r\n'
    b":\n"
    b'data: {"c": 3}\r'
    b": after a lone CR\r"
    b"\r"
    b"data: [DONE]\n\n"
)
WITHOUT_COMMENTS = b'\ndata: {"a": 1}\r\ndata: {"b": ":2"}\r\n\r\ndata: {"c": 3}\r\rdata: [DONE]\n\n'


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, len(SSE)])
def test_the_comment_filter_cuts_only_comment_lines_whatever_the_chunking(size: int) -> None:
    for offset in range(size):  # every alignment of the chunk boundaries
        chunks = [SSE[:offset]] + [SSE[i : i + size] for i in range(offset, len(SSE), size)]
        comments = CommentFilter()
        assert b"".join(comments.feed(chunk) for chunk in chunks) == WITHOUT_COMMENTS, (size, offset)


def test_a_chunk_without_comments_passes_unchanged() -> None:
    chunk = b'data: {"text": "a: b"}\r\n\r\n'
    assert CommentFilter().feed(chunk) is chunk


# -- the event loop's shutdown ------------------------------------------------------------------


def test_a_gemini_astream_error_leaves_no_generator_for_the_loop_shutdown(
    wired: ModelsAPI, fake: FakeLLM, caplog: pytest.LogCaptureFixture
) -> None:
    """google-genai raises an in-stream error with its own iterators over the response still
    suspended; the caller keeps the error (and so, through its traceback, those iterators) while
    the loop shuts down, whose concurrent closing of them raced ("aclose(): asynchronous
    generator is already running") once closing awaits, as httpcore's does with DEBUG logging on."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []

    async def main() -> BaseException:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: seen.append(context["message"]))
        s = wired.astream(MODELS["google"], "hi")
        assert await s.__anext__() == PIECES[0]
        with pytest.raises(ServerError) as caught:
            async for _ in s:
                pass
        return caught.value

    for _ in range(5):
        fake.enqueue(Fault(stream_error=True))
        kept = asyncio.run(main())
        assert type(kept) is ServerError and seen == []
