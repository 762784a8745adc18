"""Proves tests/fake_llm.py is protocol-exact by driving the real SDKs against it.

Every assertion is on what the official client parsed or raised, so a wire-format slip in the
fake (a missing field, a wrong SSE separator, a wrong status) fails here rather than silently
in the library's own tests. Retries are off everywhere so one request maps to one queue item.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from .fake_llm import FakeLLM, Fault, Recorded, Reply

KEY = "sk-test-SECRET"
PROMPT = "hello world"
TEXT = "The quick brown fox"  # 19 chars: 4 pieces of 5, 5, 5, 4
PIECES = ["The q", "uick ", "brown", " fox"]
RICH = Reply(
    text=TEXT,
    input_tokens=20,
    output_tokens=8,
    cached_input_tokens=5,
    cache_write_tokens=3,
    reasoning_tokens=2,
    chunks=4,
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(fake: FakeLLM) -> None:
    fake.reset()


class Clients:
    """The three real sync SDK clients pointed at the fake, retries off."""

    def __init__(self, fake: FakeLLM, timeout: float = 10.0) -> None:
        self.openai = openai.OpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0, timeout=timeout)
        self.anthropic = anthropic.Anthropic(
            api_key=KEY, base_url=fake.anthropic_base_url, max_retries=0, timeout=timeout
        )
        options = genai_types.HttpOptions(base_url=fake.google_base_url, timeout=int(timeout * 1000))
        self.google = genai.Client(api_key=KEY, http_options=options)

    def close(self) -> None:
        self.openai.close()
        self.anthropic.close()
        self.google.close()

    def ask(self, provider: str) -> Any:
        """One plain call with the same user prompt, whatever the provider."""
        if provider == "openai":
            return self.openai.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": PROMPT}])
        if provider == "anthropic":
            return self.anthropic.messages.create(
                model="claude-test", max_tokens=64, messages=[{"role": "user", "content": PROMPT}]
            )
        return self.google.models.generate_content(model="gemini-test", contents=PROMPT)

    def stream_text(self, provider: str, got: list[str]) -> None:
        """Stream one call, appending each text piece to `got` as it arrives (so a mid-stream error keeps them)."""
        if provider == "openai":
            for chunk in self.openai.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": PROMPT}], stream=True
            ):
                got.extend(c.delta.content for c in chunk.choices if c.delta.content is not None)
        elif provider == "anthropic":
            for event in self.anthropic.messages.create(
                model="claude-test", max_tokens=64, messages=[{"role": "user", "content": PROMPT}], stream=True
            ):
                if event.type == "content_block_delta" and event.delta.type == "text_delta":
                    got.append(event.delta.text)
        else:
            for response in self.google.models.generate_content_stream(model="gemini-test", contents=PROMPT):
                got.append(response.text or "")


@pytest.fixture(scope="module")
def clients(fake: FakeLLM) -> Iterator[Clients]:
    """Module-wide: building a client costs ~50-90 ms (an SSL context each), too much per test."""
    made = Clients(fake)
    yield made
    made.close()


@pytest.fixture(scope="module")
def slow_clients(fake: FakeLLM) -> Iterator[Clients]:
    made = Clients(fake, timeout=0.2)
    yield made
    made.close()


def wait_until(check: Callable[[], bool], timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- plain calls --------------------------------------------------------------------------------


def test_openai_plain_call_parses_exactly(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(
        Reply(
            text="Hi!",
            input_tokens=100,
            output_tokens=40,
            cached_input_tokens=30,
            reasoning_tokens=12,
            finish_reason="length",
        )
    )
    raw = clients.openai.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": PROMPT}], temperature=0.5
    )
    completion = raw.parse()
    assert raw.headers["x-request-id"].startswith("req_")
    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", "Hi!", "length")
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (100, 40, 140)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 30
    assert usage.completion_tokens_details is not None and usage.completion_tokens_details.reasoning_tokens == 12


def test_openai_records_request_and_echoes_last_user_message(fake: FakeLLM, clients: Clients) -> None:
    messages: Any = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second "}, {"type": "text", "text": "part"}]},
    ]
    completion = clients.openai.chat.completions.create(model="gpt-test", messages=messages, temperature=0.5)
    assert completion.choices[0].message.content == "echo: second part"
    assert completion.choices[0].finish_reason == "stop"
    (req,) = fake.requests
    assert (req.provider, req.method, req.path, req.model, req.stream) == (
        "openai",
        "POST",
        "/v1/chat/completions",
        "gpt-test",
        False,
    )
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert req.headers["content-type"] == "application/json"
    assert req.body["temperature"] == 0.5
    assert req.body["messages"] == messages


def test_openai_raw_usage_and_blocked(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Reply(raw_usage={"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}), Reply(blocked=True))
    usage = clients.ask("openai").usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (7, 3, 10)
    assert usage.prompt_tokens_details is None and usage.completion_tokens_details is None
    blocked = clients.ask("openai").choices[0]
    assert (blocked.finish_reason, blocked.message.content) == ("content_filter", "")


def test_anthropic_plain_call_parses_exactly(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(
        Reply(
            text="Hi!",
            input_tokens=100,
            output_tokens=40,
            cached_input_tokens=30,
            cache_write_tokens=20,
            finish_reason="length",
        )
    )
    raw = clients.anthropic.messages.with_raw_response.create(
        model="claude-test", max_tokens=64, system="be brief", messages=[{"role": "user", "content": PROMPT}]
    )
    message = raw.parse()
    assert raw.headers["request-id"].startswith("req_")
    assert (message.type, message.role, message.model) == ("message", "assistant", "claude-test")
    assert message.id.startswith("msg_")
    assert [(b.type, getattr(b, "text", None)) for b in message.content] == [("text", "Hi!")]
    assert (message.stop_reason, message.stop_sequence) == ("max_tokens", None)
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (50, 40)  # wire input excludes cache reads and writes
    assert (usage.cache_read_input_tokens, usage.cache_creation_input_tokens) == (30, 20)
    (req,) = fake.requests
    assert (req.provider, req.path, req.model, req.stream) == ("anthropic", "/v1/messages", "claude-test", False)
    # anthropic 2.x sends api_key as a Bearer token, not the x-api-key header of 0.x
    assert req.headers["authorization"] == f"Bearer {KEY}"
    assert "x-api-key" not in req.headers
    assert req.headers["anthropic-version"]
    assert (req.body["max_tokens"], req.body["system"]) == (64, "be brief")


@pytest.mark.parametrize(
    ("finish", "stop_reason"),
    [("stop", "end_turn"), ("length", "max_tokens"), ("content_filter", "refusal"), ("tool_calls", "tool_use")],
)
def test_anthropic_stop_reasons(fake: FakeLLM, clients: Clients, finish: str, stop_reason: str) -> None:
    fake.enqueue(Reply(finish_reason=finish))
    assert clients.ask("anthropic").stop_reason == stop_reason


def test_anthropic_raw_usage_blocked_and_echo(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Reply(raw_usage={"input_tokens": 3, "output_tokens": 2}), Reply(blocked=True))
    usage = clients.ask("anthropic").usage
    assert (usage.input_tokens, usage.output_tokens, usage.cache_read_input_tokens) == (3, 2, None)
    blocked = clients.ask("anthropic")
    assert (blocked.stop_reason, blocked.content) == ("refusal", [])
    echoed = clients.anthropic.messages.create(
        model="claude-test",
        max_tokens=8,
        messages=[{"role": "user", "content": [{"type": "text", "text": "block text"}]}],
    )
    assert echoed.content[0].text == "echo: block text"  # type: ignore[union-attr]


def test_google_plain_call_parses_exactly(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(
        Reply(
            text="Hi!",
            input_tokens=100,
            output_tokens=40,
            cached_input_tokens=30,
            reasoning_tokens=12,
            finish_reason="length",
        )
    )
    config = genai_types.GenerateContentConfig(temperature=0.5)
    response = clients.google.models.generate_content(model="gemini-test", contents=PROMPT, config=config)
    assert response.text == "Hi!"
    assert response.model_version == "gemini-test"
    assert response.response_id
    candidate = response.candidates[0]  # type: ignore[index]
    assert candidate.finish_reason == genai_types.FinishReason.MAX_TOKENS
    assert candidate.content.role == "model"  # type: ignore[union-attr]
    usage = response.usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (100, 28, 140)
    assert (usage.cached_content_token_count, usage.thoughts_token_count) == (30, 12)
    (req,) = fake.requests
    # This SDK version defaults to api_version "v1" (older ones used v1beta); the fake accepts any.
    assert (req.provider, req.path, req.model, req.stream) == (
        "google",
        "/v1/models/gemini-test:generateContent",
        "gemini-test",
        False,
    )
    assert req.headers["x-goog-api-key"] == KEY
    assert req.body["contents"] == [{"role": "user", "parts": [{"text": PROMPT}]}]
    assert req.body["generationConfig"] == {"temperature": 0.5}


def test_google_zero_counts_are_omitted_raw_usage_and_blocked(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(
        Reply(),
        Reply(raw_usage={"promptTokenCount": 4, "totalTokenCount": 4}),
        Reply(blocked=True, input_tokens=9, output_tokens=0),
    )
    plain = clients.ask("google")
    assert plain.text == f"echo: {PROMPT}"
    assert plain.usage_metadata.cached_content_token_count is None
    assert plain.usage_metadata.thoughts_token_count is None
    raw = clients.ask("google").usage_metadata
    assert (raw.prompt_token_count, raw.candidates_token_count, raw.total_token_count) == (4, None, 4)
    blocked = clients.ask("google")
    assert blocked.candidates is None
    assert blocked.prompt_feedback.block_reason == genai_types.BlockedReason.SAFETY
    assert blocked.usage_metadata.prompt_token_count == 9


@pytest.mark.parametrize(
    ("finish", "expected"), [("stop", "STOP"), ("content_filter", "SAFETY"), ("tool_calls", "STOP")]
)
def test_google_finish_reasons(fake: FakeLLM, clients: Clients, finish: str, expected: str) -> None:
    fake.enqueue(Reply(finish_reason=finish))
    assert clients.ask("google").candidates[0].finish_reason == genai_types.FinishReason(expected)


# --- faults -------------------------------------------------------------------------------------


def _status(err: Exception) -> int:
    return int(getattr(err, "code" if isinstance(err, genai_errors.APIError) else "status_code"))


def _error_code(err: Exception) -> str | None:
    """The provider's machine code: openai error.code, anthropic error.type, google error.status."""
    google, oai = isinstance(err, genai_errors.APIError), isinstance(err, openai.APIError)
    value = getattr(err, "status" if google else "code" if oai else "type")
    return None if value is None else str(value)


FAULTS: list[tuple[str, Callable[[], Fault], type[Exception], int, str | None]] = [
    ("openai", Fault.rate_limit, openai.RateLimitError, 429, "rate_limit_exceeded"),
    ("openai", Fault.auth, openai.AuthenticationError, 401, "invalid_api_key"),
    ("openai", Fault.context_window, openai.BadRequestError, 400, "context_length_exceeded"),
    ("openai", Fault.server, openai.InternalServerError, 500, None),
    ("openai", Fault.overloaded, openai.InternalServerError, 503, None),
    ("openai", Fault.invalid_key_400, openai.AuthenticationError, 401, "invalid_api_key"),
    ("anthropic", Fault.rate_limit, anthropic.RateLimitError, 429, "rate_limit_error"),
    ("anthropic", Fault.auth, anthropic.AuthenticationError, 401, "authentication_error"),
    ("anthropic", Fault.context_window, anthropic.BadRequestError, 400, "invalid_request_error"),
    ("anthropic", Fault.server, anthropic.InternalServerError, 500, "api_error"),
    ("anthropic", Fault.overloaded, anthropic.OverloadedError, 529, "overloaded_error"),
    ("anthropic", Fault.invalid_key_400, anthropic.AuthenticationError, 401, "authentication_error"),
    ("google", Fault.rate_limit, genai_errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
    ("google", Fault.auth, genai_errors.ClientError, 401, "UNAUTHENTICATED"),
    ("google", Fault.context_window, genai_errors.ClientError, 400, "INVALID_ARGUMENT"),
    ("google", Fault.server, genai_errors.ServerError, 500, "INTERNAL"),
    ("google", Fault.overloaded, genai_errors.ServerError, 503, "UNAVAILABLE"),
    ("google", Fault.invalid_key_400, genai_errors.ClientError, 400, "INVALID_ARGUMENT"),
]


@pytest.mark.parametrize(
    ("provider", "make", "exc_type", "status", "code"), FAULTS, ids=[f"{p}-{m.__name__}" for p, m, *_ in FAULTS]
)
def test_fault_helpers_raise_the_sdk_exception(
    fake: FakeLLM,
    clients: Clients,
    provider: str,
    make: Callable[[], Fault],
    exc_type: type[Exception],
    status: int,
    code: str | None,
) -> None:
    fake.enqueue(make())
    with pytest.raises(exc_type) as info:
        clients.ask(provider)
    assert type(info.value) is exc_type
    assert (_status(info.value), _error_code(info.value)) == (status, code)
    assert fake.requests[-1].provider == provider
    assert clients.ask(provider)  # the fault was consumed; the next call succeeds


def test_error_bodies_and_context_window_messages(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Fault.context_window(), Fault.context_window(), Fault.context_window())
    with pytest.raises(openai.BadRequestError) as oai:
        clients.ask("openai")
    body = oai.value.body
    assert isinstance(body, dict)
    assert body == {
        "message": body["message"],
        "type": "invalid_request_error",
        "param": None,
        "code": "context_length_exceeded",
    }
    with pytest.raises(anthropic.BadRequestError) as ant:
        clients.ask("anthropic")
    assert ant.value.api_message == "prompt is too long: 250000 tokens > 200000 maximum"
    assert ant.value.request_id is not None and ant.value.request_id.startswith("req_")
    assert ant.value.body == {
        "type": "error",
        "request_id": ant.value.request_id,
        "error": {"type": "invalid_request_error", "message": ant.value.api_message},
    }
    with pytest.raises(genai_errors.ClientError) as goo:
        clients.ask("google")
    assert goo.value.message == (
        "The input token count (250000) exceeds the maximum number of tokens allowed (1048576)."
    )


def test_retry_after_is_visible_on_the_sdk_exception(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Fault.rate_limit("7"), Fault.rate_limit("7"), Fault.rate_limit("7"))
    for provider in ("openai", "anthropic"):
        with pytest.raises((openai.RateLimitError, anthropic.RateLimitError)) as info:
            clients.ask(provider)
        assert isinstance(info.value, (openai.RateLimitError, anthropic.RateLimitError))
        assert info.value.response.headers["retry-after"] == "7"
    with pytest.raises(genai_errors.ClientError) as goo:
        clients.ask("google")
    assert isinstance(goo.value.response, httpx2.Response)
    assert goo.value.response.headers["retry-after"] == "7"
    assert goo.value.details["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    ]


def test_rate_limit_without_retry_after(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Fault.rate_limit(None), Fault.rate_limit(None))
    with pytest.raises(openai.RateLimitError) as oai:
        clients.ask("openai")
    assert "retry-after" not in oai.value.response.headers
    with pytest.raises(genai_errors.ClientError) as goo:
        clients.ask("google")
    assert "details" not in goo.value.details["error"]


def test_google_invalid_key_400_carries_error_info(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Fault.invalid_key_400())
    with pytest.raises(genai_errors.ClientError) as info:
        clients.ask("google")
    (detail,) = info.value.details["error"]["details"]
    assert (detail["@type"], detail["reason"], detail["domain"]) == (
        "type.googleapis.com/google.rpc.ErrorInfo",
        "API_KEY_INVALID",
        "googleapis.com",
    )


def test_custom_fault_status_message_code_and_headers(fake: FakeLLM, clients: Clients) -> None:
    custom = Fault(status=403, message="nope", code="custom_code", headers={"x-extra": "1"})
    fake.enqueue(custom, custom, custom)
    with pytest.raises(openai.PermissionDeniedError) as oai:
        clients.ask("openai")
    assert (oai.value.message, oai.value.code, oai.value.type) == (
        "Error code: 403 - nope",
        "custom_code",
        "permission_error",
    )
    assert oai.value.response.headers["x-extra"] == "1"
    with pytest.raises(anthropic.PermissionDeniedError) as ant:
        clients.ask("anthropic")
    assert (ant.value.api_message, ant.value.type) == ("nope", "custom_code")
    with pytest.raises(genai_errors.ClientError) as goo:
        clients.ask("google")
    assert (goo.value.code, goo.value.message, goo.value.status) == (403, "nope", "custom_code")


RESETS = [
    ("openai", openai.APIConnectionError),
    ("anthropic", anthropic.APIConnectionError),
    ("google", httpx2.ReadError),
]


@pytest.mark.parametrize(("provider", "exc_type"), RESETS)
def test_reset_raises_the_connection_error(
    fake: FakeLLM, clients: Clients, provider: str, exc_type: type[Exception]
) -> None:
    fake.enqueue(Fault(reset=True))
    with pytest.raises(exc_type) as info:
        clients.ask(provider)
    assert type(info.value) is exc_type
    assert clients.ask(provider)  # the pool recovers on a fresh connection


TIMEOUTS = [
    ("openai", openai.APITimeoutError),
    ("anthropic", anthropic.APITimeoutError),
    ("google", httpx2.ReadTimeout),
]


@pytest.mark.parametrize(("provider", "exc_type"), TIMEOUTS)
def test_slow_fault_raises_the_timeout_error(
    fake: FakeLLM, slow_clients: Clients, provider: str, exc_type: type[Exception]
) -> None:
    fake.enqueue(Fault(delay=0.6))
    with pytest.raises(exc_type) as info:
        slow_clients.ask(provider)
    assert type(info.value) is exc_type


def test_delay_only_fault_then_answers_normally(fake: FakeLLM, clients: Clients) -> None:
    fake.set_reply(Reply(text="late"))
    fake.enqueue(Fault(delay=0.05))
    started = time.monotonic()
    assert clients.ask("openai").choices[0].message.content == "late"
    assert time.monotonic() - started >= 0.05


# --- streaming ----------------------------------------------------------------------------------


def test_openai_stream_pieces_and_usage(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(RICH, RICH)
    chunks = list(
        clients.openai.chat.completions.create(
            model="gpt-test",
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert [c.object for c in chunks] == ["chat.completion.chunk"] * 5
    assert len({c.id for c in chunks}) == 1
    assert [c.choices[0].delta.content for c in chunks[:4]] == PIECES
    assert [c.choices[0].delta.role for c in chunks[:4]] == ["assistant", None, None, None]
    assert [c.choices[0].finish_reason for c in chunks[:4]] == [None, None, None, "stop"]
    assert [c.usage for c in chunks[:4]] == [None] * 4
    final = chunks[4]
    assert final.choices == []
    assert final.usage is not None
    assert (final.usage.prompt_tokens, final.usage.completion_tokens, final.usage.total_tokens) == (20, 8, 28)
    assert final.usage.prompt_tokens_details.cached_tokens == 5  # type: ignore[union-attr]
    assert final.usage.completion_tokens_details.reasoning_tokens == 2  # type: ignore[union-attr]
    assert fake.requests[-1].stream is True
    assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    plain = list(
        clients.openai.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": PROMPT}], stream=True
        )
    )
    assert len(plain) == 4 and all(c.usage is None for c in plain)


def test_anthropic_stream_events_and_usage(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(RICH)
    events = list(
        clients.anthropic.messages.create(
            model="claude-test", max_tokens=64, messages=[{"role": "user", "content": PROMPT}], stream=True
        )
    )
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0].message  # type: ignore[union-attr]
    assert (start.model, start.usage.input_tokens, start.usage.output_tokens) == ("claude-test", 12, 1)
    assert (start.usage.cache_read_input_tokens, start.usage.cache_creation_input_tokens) == (5, 3)
    assert [e.delta.text for e in events[2:6]] == PIECES  # type: ignore[union-attr]
    delta = events[7]
    assert (delta.delta.stop_reason, delta.usage.output_tokens) == ("end_turn", 8)  # type: ignore[union-attr]


def test_anthropic_stream_helper_accumulates(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(RICH)
    with clients.anthropic.messages.stream(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": PROMPT}]
    ) as stream:
        assert list(stream.text_stream) == PIECES
        final = stream.get_final_message()
    assert final.content[0].text == TEXT  # type: ignore[union-attr]
    assert (final.stop_reason, final.usage.input_tokens, final.usage.output_tokens) == ("end_turn", 12, 8)


def test_google_stream_chunks_and_final_usage(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(RICH)
    chunks = list(clients.google.models.generate_content_stream(model="gemini-test", contents=PROMPT))
    assert [c.text for c in chunks] == PIECES
    reasons = [c.candidates[0].finish_reason if c.candidates else "missing" for c in chunks]
    assert reasons == [None, None, None, genai_types.FinishReason.STOP]
    early = chunks[0].usage_metadata
    assert (early.prompt_token_count, early.candidates_token_count) == (20, None)  # type: ignore[union-attr]
    last = chunks[-1].usage_metadata
    assert last is not None
    assert (last.prompt_token_count, last.candidates_token_count, last.total_token_count) == (20, 6, 28)
    assert (last.cached_content_token_count, last.thoughts_token_count) == (5, 2)
    req = fake.requests[-1]
    assert (req.path, req.query, req.model, req.stream) == (
        "/v1/models/gemini-test:streamGenerateContent",
        {"alt": "sse"},
        "gemini-test",
        True,
    )


def test_google_blocked_stream(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Reply(blocked=True))
    (only,) = clients.google.models.generate_content_stream(model="gemini-test", contents=PROMPT)
    assert only.candidates is None
    assert only.prompt_feedback.block_reason == genai_types.BlockedReason.SAFETY  # type: ignore[union-attr]


def test_stream_short_text_uses_fewer_pieces(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Reply(text="ab", chunks=5))
    got: list[str] = []
    clients.stream_text("openai", got)
    assert got == ["a", "b"]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_stream_echo_joins_to_text(fake: FakeLLM, clients: Clients, provider: str) -> None:
    got: list[str] = []
    clients.stream_text(provider, got)
    assert len(got) == 3
    assert "".join(got) == f"echo: {PROMPT}"


DROPS = [
    ("openai", openai.APIConnectionError),
    ("anthropic", httpx2.RemoteProtocolError),
    ("google", httpx2.RemoteProtocolError),
]


def raised_mid_stream(fake: FakeLLM, clients: Clients, provider: str, fault: Fault, exc_type: type[Exception]) -> Any:
    """Stream RICH through the SDK with `fault`: the SDK's exception (exactly `exc_type`), after
    the pieces the fault let through have reached the caller."""
    fake.set_reply(RICH)
    fake.enqueue(fault)
    got: list[str] = []
    with pytest.raises(exc_type) as info:
        clients.stream_text(provider, got)
    assert type(info.value) is exc_type
    assert got == PIECES[: fault.drop_after_chunks or 1]
    return info.value


@pytest.mark.parametrize(("provider", "exc_type"), DROPS)
def test_drop_after_chunks_raises_during_iteration(
    fake: FakeLLM, clients: Clients, provider: str, exc_type: type[Exception]
) -> None:
    raised_mid_stream(fake, clients, provider, Fault(drop_after_chunks=2), exc_type)


PLAIN_DROPS = [
    ("openai", openai.APIConnectionError),
    ("anthropic", anthropic.APIConnectionError),
    ("google", httpx2.RemoteProtocolError),
]


@pytest.mark.parametrize(("provider", "exc_type"), PLAIN_DROPS)
def test_drop_on_a_plain_call_cuts_the_body(
    fake: FakeLLM, clients: Clients, provider: str, exc_type: type[Exception]
) -> None:
    fake.enqueue(Fault(drop_after_chunks=0))
    with pytest.raises(exc_type) as info:
        clients.ask(provider)
    assert type(info.value) is exc_type


STREAM_ERRORS: list[tuple[str, type[Exception], Callable[[Any], Any], Any]] = [
    (
        "openai",
        openai.APIError,
        lambda e: (e.message, e.body["type"]),
        ("The engine is currently overloaded, please try again later.", "server_error"),
    ),
    (
        "anthropic",
        anthropic.APIStatusError,
        lambda e: (e.status_code, e.type, e.api_message),
        (200, "overloaded_error", "Overloaded"),
    ),
    ("google", genai_errors.ServerError, lambda e: (e.code, e.status), (503, "UNAVAILABLE")),
]


@pytest.mark.parametrize(("provider", "exc_type", "view", "expected"), STREAM_ERRORS)
def test_stream_error_raises_the_sdk_in_stream_error(
    fake: FakeLLM, clients: Clients, provider: str, exc_type: type[Exception], view: Callable[[Any], Any], expected: Any
) -> None:
    assert view(raised_mid_stream(fake, clients, provider, Fault(stream_error=True), exc_type)) == expected


TTFT = [("openai", openai.APITimeoutError), ("anthropic", httpx2.ReadTimeout), ("google", httpx2.ReadTimeout)]


@pytest.mark.parametrize(("provider", "exc_type"), TTFT)
def test_first_chunk_delay_times_out_mid_stream(
    fake: FakeLLM, slow_clients: Clients, provider: str, exc_type: type[Exception]
) -> None:
    fake.enqueue(Reply(first_chunk_delay=0.6))
    with pytest.raises(exc_type) as info:
        slow_clients.stream_text(provider, [])
    assert type(info.value) is exc_type


# --- raw bodies, comments, bad frames and clean early ends ------------------------------------

HTML = b"<html><body>Sign in to continue</body></html>"


def test_body_is_sent_verbatim_with_its_status_and_content_type(fake: FakeLLM, clients: Clients) -> None:
    fake.enqueue(Fault(body=HTML, content_type="text/html"), Fault(body=b"not json"))
    raw = clients.openai.chat.completions.with_raw_response.create(
        model="gpt-test", messages=[{"role": "user", "content": PROMPT}]
    )
    response = raw.http_response
    assert (response.status_code, response.headers["content-type"], response.content) == (200, "text/html", HTML)
    assert raw.parse() == HTML.decode()  # the SDK hands a non-JSON body back as text, no error
    raw = clients.anthropic.messages.with_raw_response.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": PROMPT}]
    )
    assert (raw.http_response.headers["content-type"], raw.http_response.content) == ("application/json", b"not json")
    fake.enqueue(Fault(body=HTML, content_type="text/html"))
    with pytest.raises(json.JSONDecodeError):  # google-genai parses it and fails with json's own error
        clients.ask("google")


def test_body_with_an_error_status_is_the_sdks_status_error(fake: FakeLLM, clients: Clients) -> None:
    page = Fault(status=502, body=b"<html>Bad gateway</html>", content_type="text/html")
    fake.enqueue(page, page, page)
    with pytest.raises(openai.InternalServerError) as oai:
        clients.ask("openai")
    with pytest.raises(anthropic.InternalServerError) as ant:
        clients.ask("anthropic")
    with pytest.raises(genai_errors.ServerError) as goo:
        clients.ask("google")
    assert (oai.value.status_code, ant.value.status_code, goo.value.code) == (502, 502, 502)
    assert oai.value.response.text == "<html>Bad gateway</html>"


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_body_answers_a_stream_request_as_a_plain_body(fake: FakeLLM, clients: Clients, provider: str) -> None:
    fake.enqueue(Fault(body=HTML, content_type="text/html"))
    got: list[str] = []
    if provider == "google":
        with pytest.raises(genai_errors.UnknownApiResponseError, match="Sign in"):
            clients.stream_text(provider, got)
    else:
        clients.stream_text(provider, got)  # the SDKs see no event in it: an empty stream, no error
    assert got == [] and fake.requests[-1].stream


def test_sse_comments_reach_the_sdks(fake: FakeLLM, clients: Clients) -> None:
    fake.set_reply(RICH)
    fake.enqueue(Fault(sse_comment=True), Fault(sse_comment=True), Fault(sse_comment=True))
    for provider in ("openai", "anthropic"):
        got: list[str] = []
        clients.stream_text(provider, got)  # their decoders skip comment lines, as SSE says
        assert got == PIECES
    with pytest.raises(genai_errors.UnknownApiResponseError, match="Raw response: : keep-alive"):
        clients.stream_text("google", [])  # google-genai parses it as JSON (see models/providers/_gemini_sse.py)


def test_sse_comment_precedes_every_event(fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="ab", chunks=2))
    fake.enqueue(Fault(sse_comment=True))
    body = json.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "a"}]}).encode()
    request = urllib.request.Request(fake.openai_base_url + "/chat/completions", data=body)
    with urllib.request.urlopen(request, timeout=5) as raw:
        text = raw.read().decode()
    events = [e for e in text.split("\n\n") if e]
    assert [e.startswith(": keep-alive") for e in events] == [True, False] * 3  # 2 pieces and [DONE]
    assert events[-1] == "data: [DONE]"


BAD_FRAMES = [
    ("openai", b"data: {not json\n\n", json.JSONDecodeError),
    ("anthropic", b"event: content_block_delta\ndata: {not json\n\n", json.JSONDecodeError),
    ("google", b"data: {not json\r\n\r\n", genai_errors.UnknownApiResponseError),
]


@pytest.mark.parametrize(("provider", "frame", "exc_type"), BAD_FRAMES)
def test_inject_sends_a_frame_after_the_first_piece(
    fake: FakeLLM, clients: Clients, provider: str, frame: bytes, exc_type: type[Exception]
) -> None:
    raised_mid_stream(fake, clients, provider, Fault(inject=frame), exc_type)


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
@pytest.mark.parametrize("pieces", [0, 1, 3])
def test_end_after_chunks_ends_the_stream_cleanly_without_its_closing_events(
    fake: FakeLLM, clients: Clients, provider: str, pieces: int
) -> None:
    fake.set_reply(RICH)
    fake.enqueue(Fault(end_after_chunks=pieces))
    got: list[str] = []
    clients.stream_text(provider, got)  # no error: the SDKs take a clean end for the end
    assert got == PIECES[:pieces]


def test_end_after_chunks_closes_the_chunked_body_properly(fake: FakeLLM) -> None:
    fake.set_reply(RICH)
    fake.enqueue(Fault(end_after_chunks=2))
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "messages": []}
    request = urllib.request.Request(fake.openai_base_url + "/chat/completions", data=json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=5) as raw:  # a clean chunked end: read() returns, no error
        text = raw.read().decode()
    assert text.count("data: ") == 2 and "[DONE]" not in text and '"usage": {' not in text


# --- async clients ------------------------------------------------------------------------------


def test_async_openai_plain_and_stream(fake: FakeLLM) -> None:
    async def run() -> tuple[str | None, list[str]]:
        async with openai.AsyncOpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0) as client:
            plain = await client.chat.completions.create(model="gpt-test", messages=[{"role": "user", "content": "a"}])
            stream = await client.chat.completions.create(
                model="gpt-test", messages=[{"role": "user", "content": "a"}], stream=True
            )
            pieces = [c.choices[0].delta.content or "" async for c in stream]
            return plain.choices[0].message.content, pieces

    fake.enqueue(Reply(text="async plain"), RICH)
    assert asyncio.run(run()) == ("async plain", PIECES)


def test_async_anthropic_plain_and_stream(fake: FakeLLM) -> None:
    async def run() -> tuple[int, list[str], int]:
        async with anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.anthropic_base_url, max_retries=0) as client:
            plain = await client.messages.create(
                model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "a"}]
            )
            async with client.messages.stream(
                model="claude-test", max_tokens=8, messages=[{"role": "user", "content": "a"}]
            ) as stream:
                pieces = [t async for t in stream.text_stream]
                final = await stream.get_final_message()
            return plain.usage.input_tokens, pieces, final.usage.output_tokens

    fake.enqueue(Reply(input_tokens=33), RICH)
    assert asyncio.run(run()) == (33, PIECES, 8)


def test_async_google_plain_and_stream(fake: FakeLLM) -> None:
    async def run() -> tuple[str | None, list[str], int | None]:
        options = genai_types.HttpOptions(base_url=fake.google_base_url)
        client = genai.Client(api_key=KEY, http_options=options).aio
        try:
            plain = await client.models.generate_content(model="gemini-test", contents="a")
            chunks = [c async for c in await client.models.generate_content_stream(model="gemini-test", contents="a")]
        finally:
            await client.aclose()
        usage = chunks[-1].usage_metadata
        assert usage is not None
        return plain.text, [c.text or "" for c in chunks], usage.total_token_count

    fake.enqueue(Reply(text="async plain"), RICH)
    assert asyncio.run(run()) == ("async plain", PIECES, 28)


def test_two_hundred_concurrent_async_calls(fake: FakeLLM) -> None:
    async def run() -> list[str]:
        async with (
            openai.AsyncOpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0) as oai,
            anthropic.AsyncAnthropic(api_key=KEY, base_url=fake.anthropic_base_url, max_retries=0) as ant,
        ):
            goo = genai.Client(api_key=KEY, http_options=genai_types.HttpOptions(base_url=fake.google_base_url)).aio

            async def one(i: int) -> str:
                if i % 3 == 0:
                    r = await oai.chat.completions.create(model="m", messages=[{"role": "user", "content": str(i)}])
                    return r.choices[0].message.content or ""
                if i % 3 == 1:
                    m = await ant.messages.create(
                        model="m", max_tokens=8, messages=[{"role": "user", "content": str(i)}]
                    )
                    return m.content[0].text  # type: ignore[union-attr]
                return (await goo.models.generate_content(model="m", contents=str(i))).text or ""

            try:
                return await asyncio.gather(*(one(i) for i in range(200)))
            finally:
                await goo.aclose()

    assert asyncio.run(run()) == [f"echo: {i}" for i in range(200)]
    assert len(fake.requests) == 200


# --- the fake's own API -------------------------------------------------------------------------


def test_queue_is_fifo_across_providers_then_default(fake: FakeLLM, clients: Clients) -> None:
    fake.set_reply(Reply(text="default"))
    fake.enqueue(Reply(text="one"), Fault.server(), Reply(text="three"))
    assert clients.ask("openai").choices[0].message.content == "one"
    with pytest.raises(anthropic.InternalServerError):
        clients.ask("anthropic")
    assert clients.ask("google").text == "three"
    assert clients.ask("openai").choices[0].message.content == "default"
    assert [r.provider for r in fake.requests] == ["openai", "anthropic", "google", "openai"]


def test_reset_clears_queue_requests_and_default(fake: FakeLLM, clients: Clients) -> None:
    fake.set_reply(Reply(text="x"))
    fake.enqueue(Fault.server(), Fault.server())
    with pytest.raises(genai_errors.ServerError):
        clients.ask("google")
    fake.reset()
    assert fake.requests == []
    assert clients.ask("openai").choices[0].message.content == f"echo: {PROMPT}"


def test_unknown_path_is_a_json_404_and_keeps_the_queue(fake: FakeLLM, clients: Clients) -> None:
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(fake.url + "/nope", timeout=5)
    assert info.value.code == 404
    assert json.loads(info.value.read())["error"]["code"] == 404
    fake.enqueue(Reply(text="kept"))
    with (
        openai.OpenAI(api_key=KEY, base_url=fake.openai_base_url, max_retries=0) as client,
        pytest.raises(openai.NotFoundError),
    ):
        client.completions.create(model="m", prompt="a")  # the legacy Completions API: not served
    assert [(r.provider, r.path) for r in fake.requests] == [("unknown", "/nope"), ("unknown", "/v1/completions")]
    assert clients.ask("openai").choices[0].message.content == "kept"


def test_keep_alive_reuses_one_connection_and_close_is_seen() -> None:
    with FakeLLM() as server:  # its own server: the shared clients keep idle connections on the shared one
        made = Clients(server)
        for provider in ("openai", "openai", "openai"):
            made.ask(provider)
        assert server.open_connections() == 1  # Content-Length framing let the pool reuse the connection
        made.close()
        assert wait_until(lambda: server.open_connections() == 0)


def test_early_closed_stream_closes_its_connection() -> None:
    with FakeLLM() as server, openai.OpenAI(api_key=KEY, base_url=server.openai_base_url, max_retries=0) as client:
        server.set_reply(Reply(text="x" * 50, chunks=50))
        stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a"}], stream=True)
        next(iter(stream))
        assert server.open_connections() == 1
        stream.close()
        assert wait_until(lambda: server.open_connections() == 0)


def test_stop_is_prompt_with_idle_and_busy_connections() -> None:
    server = FakeLLM().start()
    made = Clients(server, timeout=5)
    made.ask("openai")  # leaves an idle keep-alive connection
    server.enqueue(Fault(delay=30))
    errors: list[BaseException] = []

    def busy() -> None:
        try:
            made.ask("anthropic")
        except BaseException as exc:  # the stop cuts it; which error it is does not matter here
            errors.append(exc)

    import threading

    thread = threading.Thread(target=busy)
    thread.start()
    assert wait_until(lambda: len(server.requests) == 2)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
    thread.join(timeout=5)
    assert errors and isinstance(errors[0], anthropic.APIConnectionError)
    made.close()


def test_recorded_is_frozen() -> None:
    rec = Recorded("openai", "POST", "/v1/chat/completions", {}, {}, {}, "m", False)
    with pytest.raises(AttributeError):
        rec.model = "other"  # type: ignore[misc]
