"""The plain-call hot path: OpenAI and Anthropic answers parsed from the HTTP body by us (via the
SDKs' `with_raw_response`), the SDK's typed object built only when `Response.raw` is read, and
Gemini's request built in the cheapest form the SDK accepts. Sync and async alike, against the
wire fake; the few bodies the fake cannot send are checked on the parser directly."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import anthropic
import openai
import pytest

from models import (
    AuthenticationError,
    BadResponseError,
    ContextWindowExceededError,
    ModelsAPI,
    ProviderError,
    RateLimitError,
    Response,
    ServerError,
)
from models._types import Completion, Lazy
from models.providers import _anthropic, _openai

from .conftest import KEYS
from .fake_llm import FakeLLM, Fault, Reply

MODELS = {"openai": "openai/gpt-4o", "anthropic": "anthropic/claude-sonnet-4-6"}
PROVIDERS = sorted(MODELS)
FORMS = ["call", "acall"]


def call(api: ModelsAPI, form: str, model: str, prompt: Any = "hi", **params: Any) -> Response:
    """One plain call, sync or async."""
    if form == "call":
        return api(model, prompt, **params)
    return asyncio.run(api.acall(model, prompt, **params))


def counts(r: Response) -> tuple[int, ...]:
    u = r.usage
    return (
        u.input_tokens,
        u.output_tokens,
        u.cached_input_tokens,
        u.cache_write_tokens,
        u.reasoning_tokens,
        u.cache_write_1h_tokens,
    )


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_text_finish_reason_and_counts(wired: ModelsAPI, fake: FakeLLM, provider: str, form: str) -> None:
    anthropic_ = provider == "anthropic"
    fake.set_reply(
        Reply(
            input_tokens=1200,
            output_tokens=300,
            cached_input_tokens=200,
            cache_write_tokens=100 if anthropic_ else 0,
            reasoning_tokens=0 if anthropic_ else 50,
        )
    )
    r = call(wired, form, MODELS[provider], "hello there")
    assert (r.text, r.finish_reason) == ("echo: hello there", "stop")
    assert counts(r) == (1200, 300, 200, 100 if anthropic_ else 0, 0 if anthropic_ else 50, 0)
    assert r.usage.cost is not None and r.usage.cost > 0


# (provider, usage object sent verbatim, expected: input, output, cached, cache write, reasoning, 1-hour write)
USAGE = [
    (
        "openai",
        {
            "prompt_tokens": 90,
            "completion_tokens": 33,
            "total_tokens": 123,
            "prompt_tokens_details": {"cached_tokens": 64},
            "completion_tokens_details": {"reasoning_tokens": 20},
        },
        (90, 33, 64, 0, 20, 0),
    ),
    ("openai", {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}, (7, 3, 0, 0, 0, 0)),
    (
        "openai",
        {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": None,
            "completion_tokens_details": None,
        },
        (7, 3, 0, 0, 0, 0),
    ),
    (
        "openai",
        {
            "prompt_tokens": 7,
            "completion_tokens": 3,
            "total_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": None, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": None},
        },
        (7, 3, 0, 0, 0, 0),
    ),
    # Anthropic's input_tokens excludes cache reads and writes; ours includes them
    (
        "anthropic",
        {"input_tokens": 50, "output_tokens": 7, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 25},
        (175, 7, 100, 25, 0, 0),
    ),
    (
        "anthropic",
        {
            "input_tokens": 1_000,
            "output_tokens": 200,
            "cache_read_input_tokens": 4_000,
            "cache_creation_input_tokens": 5_000,
            "cache_creation": {"ephemeral_5m_input_tokens": 2_000, "ephemeral_1h_input_tokens": 3_000},
        },
        (10_000, 200, 4_000, 5_000, 0, 3_000),
    ),
    (
        "anthropic",
        {
            "input_tokens": 50,
            "output_tokens": 7,
            "cache_read_input_tokens": None,
            "cache_creation_input_tokens": None,
            "cache_creation": None,
        },
        (50, 7, 0, 0, 0, 0),
    ),
    (
        "anthropic",
        {
            "input_tokens": 50,
            "output_tokens": 7,
            "cache_creation_input_tokens": 25,
            "cache_creation": {"ephemeral_5m_input_tokens": 25, "ephemeral_1h_input_tokens": None},
        },
        (75, 7, 0, 25, 0, 0),
    ),
    ("anthropic", {"input_tokens": 50, "output_tokens": 7}, (50, 7, 0, 0, 0, 0)),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("provider", "wire_usage", "expected"), USAGE)
def test_usage_variants_are_counted_as_before(
    wired: ModelsAPI, fake: FakeLLM, provider: str, wire_usage: dict[str, Any], expected: tuple[int, ...], form: str
) -> None:
    fake.set_reply(Reply(raw_usage=wire_usage))
    r = call(wired, form, MODELS[provider])
    assert counts(r) == expected
    # the typed object carries the wire's usage, nulls and absent fields as the SDK leaves them
    dumped = r.raw.usage.model_dump()
    assert {k: dumped[k] for k in wire_usage if not isinstance(wire_usage[k], dict)} == {
        k: v for k, v in wire_usage.items() if not isinstance(v, dict)
    }


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("neutral", ["stop", "length", "tool_calls", "content_filter"])
def test_finish_reasons(wired: ModelsAPI, fake: FakeLLM, provider: str, neutral: str, form: str) -> None:
    fake.set_reply(Reply(text="partial", finish_reason=neutral))
    r = call(wired, form, MODELS[provider])
    assert (r.text, r.finish_reason) == ("partial", neutral)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refusal_is_an_empty_content_filter_answer(wired: ModelsAPI, fake: FakeLLM, provider: str, form: str) -> None:
    fake.set_reply(Reply(blocked=True))  # openai: finish_reason content_filter; anthropic: no content, "refusal"
    r = call(wired, form, MODELS[provider])
    assert (r.text, r.finish_reason) == ("", "content_filter")


def _sdk_answer(fake: FakeLLM, provider: str) -> Any:
    """What the SDK itself returns for the same scripted reply, for comparing values."""
    if provider == "openai":
        client = openai.OpenAI(api_key=KEYS["openai"], base_url=fake.openai_base_url, max_retries=0)
        messages: Any = [{"role": "user", "content": "hi"}]
        return client.chat.completions.create(model="gpt-4o", messages=messages)
    sdk = anthropic.Anthropic(api_key=KEYS["anthropic"], base_url=fake.anthropic_base_url, max_retries=0)
    return sdk.messages.create(model="claude-sonnet-4-6", max_tokens=4096, messages=[{"role": "user", "content": "hi"}])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
def test_raw_is_the_sdk_object_built_on_first_read(wired: ModelsAPI, fake: FakeLLM, provider: str, form: str) -> None:
    fake.set_reply(Reply(input_tokens=30, output_tokens=4, cached_input_tokens=10, reasoning_tokens=2))
    r = call(wired, form, MODELS[provider])
    assert isinstance(r._raw, Lazy)  # not built by the call
    raw = r.raw
    expected_type = openai.types.chat.ChatCompletion if provider == "openai" else anthropic.types.Message
    assert type(raw) is expected_type
    assert r.raw is raw and r._raw is raw  # built once, then kept
    assert raw._request_id.startswith("req_")
    reference = _sdk_answer(fake, provider)
    assert type(reference) is expected_type
    # equal to the SDK's own object but for the per-response id and timestamp
    assert raw.model_dump(exclude={"id", "created"}) == reference.model_dump(exclude={"id", "created"})
    if provider == "anthropic":
        assert raw._workspace_id == reference._workspace_id


# (fault, our class, the SDK's class by provider)
FAULTS = [
    (Fault.rate_limit, RateLimitError, {"openai": openai.RateLimitError, "anthropic": anthropic.RateLimitError}),
    (
        Fault.auth,
        AuthenticationError,
        {"openai": openai.AuthenticationError, "anthropic": anthropic.AuthenticationError},
    ),
    (Fault.server, ServerError, {"openai": openai.InternalServerError, "anthropic": anthropic.InternalServerError}),
    (
        Fault.context_window,
        ContextWindowExceededError,
        {"openai": openai.BadRequestError, "anthropic": anthropic.BadRequestError},
    ),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("fault", "error_class", "sdk_classes"), FAULTS)
def test_errors_still_come_from_the_sdk(
    wired: ModelsAPI,
    fake: FakeLLM,
    provider: str,
    form: str,
    fault: Any,
    error_class: type[ProviderError],
    sdk_classes: dict[str, type[BaseException]],
) -> None:
    fake.enqueue(fault())
    with pytest.raises(error_class) as caught:
        call(wired, form, MODELS[provider], max_retries=0)
    assert type(caught.value.__cause__) is sdk_classes[provider]
    assert caught.value.provider == provider and caught.value.status_code is not None
    assert (caught.value.request_id or "").startswith("req_")
    assert len(fake.requests) == 1


def _stub(content: bytes) -> Any:
    """The parts of a `with_raw_response` result the parsers read, for bodies the fake never sends."""
    return SimpleNamespace(request_id="req_stub", workspace_id=None, http_response=SimpleNamespace(content=content))


@pytest.mark.parametrize(
    ("body", "text", "finish", "tokens"),
    [
        (b'{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}]}', "x", "stop", (0, 0, 0, 0)),
        (
            b'{"choices": [{"message": {"content": "x"}, "finish_reason": "stop"}], "usage": null}',
            "x",
            "stop",
            (0,) * 4,
        ),
        (b'{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 0}}', "", None, (3, 0, 0, 0)),
        (
            b'{"choices": [{"message": {"content": null, "tool_calls": []}, "finish_reason": "tool_calls"}]}',
            "",
            "tool_calls",
            (0,) * 4,
        ),
        (
            b'{"choices": [{"message": {"content": "x"}, "finish_reason": "function_call"}]}',
            "x",
            "tool_calls",
            (0,) * 4,
        ),
        (b'{"choices": [{"message": {"content": "x"}, "finish_reason": "something new"}]}', "x", None, (0,) * 4),
    ],
)
def test_openai_bodies_the_fake_cannot_send(
    wired: ModelsAPI, body: bytes, text: str, finish: str | None, tokens: tuple[int, ...]
) -> None:
    result = _openai._completion(_stub(body), "openai", wired.resolve("gpt-4o"))
    assert (result.text, result.finish_reason) == (text, finish)
    assert (result.input_tokens, result.output_tokens, result.cached_input_tokens, result.reasoning_tokens) == tokens
    assert isinstance(result.raw, Lazy)
    typed = result.raw.build()
    assert type(typed) is openai.types.chat.ChatCompletion and typed._request_id == "req_stub"


@pytest.mark.parametrize(
    ("body", "text", "finish", "tokens"),
    [
        (b'{"content": [], "stop_reason": "end_turn"}', "", "stop", (0, 0, 0, 0)),
        (b'{"content": null, "stop_reason": null, "usage": null}', "", None, (0, 0, 0, 0)),
        (
            b'{"content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "a"},'
            b' {"type": "tool_use", "id": "t", "name": "f", "input": {}}, {"type": "text", "text": "b"}],'
            b' "stop_reason": "tool_use", "usage": {"input_tokens": 4, "output_tokens": 2}}',
            "ab",
            "tool_calls",
            (4, 2, 0, 0),
        ),
        (b'{"content": [{"type": "text", "text": "x"}], "stop_reason": "pause_turn"}', "x", None, (0, 0, 0, 0)),
    ],
)
def test_anthropic_bodies_the_fake_cannot_send(
    wired: ModelsAPI, body: bytes, text: str, finish: str | None, tokens: tuple[int, ...]
) -> None:
    result = _anthropic._completion(_stub(body), "anthropic", wired.resolve("claude-sonnet-4-6"))
    assert (result.text, result.finish_reason) == (text, finish)
    assert (result.input_tokens, result.output_tokens, result.cached_input_tokens, result.cache_write_tokens) == tokens
    assert isinstance(result.raw, Lazy)
    typed = result.raw.build()
    assert type(typed) is anthropic.types.Message
    assert (typed._request_id, typed._workspace_id) == ("req_stub", None)


@pytest.mark.parametrize("parser", [_openai._completion, _anthropic._completion])
@pytest.mark.parametrize(
    ("content", "match"), [(b"<html>bad gateway</html>", "not JSON"), (b"[1, 2]", "not an object")]
)
def test_a_body_that_is_not_a_json_object_is_a_bad_response(
    wired: ModelsAPI, parser: Any, content: bytes, match: str
) -> None:
    with pytest.raises(BadResponseError, match=match) as caught:
        parser(_stub(content), "p", wired.resolve("gpt-4o"))
    assert type(caught.value) is BadResponseError and not caught.value.retryable
    assert caught.value.kind == "bad_response"
    assert caught.value.request_id == "req_stub"


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    "prompt",
    [
        "hello",
        [{"role": "user", "content": "hello"}],
        [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
    ],
)
def test_google_sends_one_body_for_a_lone_user_turn(wired: ModelsAPI, fake: FakeLLM, prompt: Any, form: str) -> None:
    """A lone plain-text turn is handed to the SDK as a string (cheaper for it); the wire body is the same."""
    r = call(wired, form, "google/gemini-2.5-flash", prompt)
    assert r.text == "echo: hello"
    assert fake.requests[-1].body["contents"] == [{"role": "user", "parts": [{"text": "hello"}]}]


@pytest.mark.parametrize("form", FORMS)
def test_google_multi_turn_keeps_its_roles(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    prompt = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
    ]
    call(wired, form, "google/gemini-2.5-flash", prompt, system="Be brief.")
    body = fake.requests[-1].body
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "a"}]},
        {"role": "model", "parts": [{"text": "b"}]},
        {"role": "user", "parts": [{"text": "c"}]},
    ]
    assert body["systemInstruction"]["parts"] == [{"text": "Be brief."}]


def test_server_sent_events_are_decoded_as_the_format_says() -> None:
    from models.providers._common import sse_events

    lines = [": keep-alive", "event: a", "data: one", "data:two", "", "", 'data: {"x": 1}', "", "data: tail"]
    assert list(sse_events(lines)) == [("a", "one\ntwo"), (None, '{"x": 1}'), (None, "tail")]


def test_in_stream_error_chunks_raise_the_sdks_own_errors() -> None:
    import httpx2

    response = httpx2.Response(200, request=httpx2.Request("POST", "http://127.0.0.1/v1/x"))
    with pytest.raises(openai.APIError) as caught:
        _openai._apply_chunk(
            '{"error": {"message": "boom", "type": "server_error"}}',
            Completion(""),
            response,
            _openai._Assembly(),
            "OpenAI",
        )
    assert (caught.value.message, caught.value.type) == ("boom", "server_error")
    body = '{"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}'
    with pytest.raises(anthropic.APIStatusError) as raised:
        _anthropic._apply_event("error", body, Completion(""), response, _anthropic.Blocks())
    assert (raised.value.status_code, raised.value.type) == (200, "overloaded_error")
    assert _anthropic._apply_event("ping", "{}", Completion(""), response, _anthropic.Blocks()) is None
