"""OpenTelemetry tracing (SPEC §13): one span per call, stream and embedding, named and attributed
per the GenAI semantic conventions, checked attribute by attribute on the SDK's in-memory exporter,
over the real SDKs against the wire fake (and `mock`). The tracer provider is passed to
`instrument`; the global one is set only in subprocesses."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from models import Attachment, AuthenticationError, ModelsAPI, RateLimitError
from models.providers._mock import MockProvider

from .conftest import MODELS
from .fake_llm import FakeLLM, Fault, Reply

ROOT = Path(__file__).resolve().parent.parent
EXPORTER = InMemorySpanExporter()
PROVIDER = TracerProvider()
PROVIDER.add_span_processor(SimpleSpanProcessor(EXPORTER))
TRACER = PROVIDER.get_tracer("tests")


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture
def traced(wired: ModelsAPI, spans: InMemorySpanExporter) -> ModelsAPI:
    """`wired` with tracing on the test provider, content off."""
    wired.instrument(PROVIDER)
    return wired


def one(exporter: InMemorySpanExporter) -> ReadableSpan:
    [span] = exporter.get_finished_spans()
    return span


def base(provider: str, model: str, operation: str = "chat") -> dict[str, Any]:
    return {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider, "gen_ai.request.model": model}


# --- ok: every attribute, per provider ----------------------------------------------------------------


def test_openai_call_has_the_request_response_usage_and_cost(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=1200, output_tokens=300, cached_input_tokens=1000, reasoning_tokens=0))
    r = traced(
        MODELS["openai"], "hi", temperature=0.25, max_tokens=50, top_p=0.5, stop=["END"], seed=7,
        frequency_penalty=0.5, presence_penalty=1, n=1,
    )  # fmt: skip
    span = one(EXPORTER)
    assert (span.name, span.kind, span.status.status_code) == ("chat gpt-4o", SpanKind.CLIENT, StatusCode.UNSET)
    assert r.usage.cost == 0.00475  # 200 x $2.50 + 1000 x $1.25 + 300 x $10 per 1M
    assert dict(span.attributes or {}) == {
        **base("openai", "gpt-4o"),
        "gen_ai.request.temperature": 0.25,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.top_p": 0.5,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.request.seed": 7,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 1.0,  # a double, though given as an int; n=1 is left out
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.response.id": r.raw.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1200,  # cached ones included, as the conventions say
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 1000,
        "models.cost_usd": 0.00475,
    }
    assert r.raw.id.startswith("chatcmpl-")


def test_anthropic_call_counts_cache_reads_and_writes_in_its_input(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=100, output_tokens=20, cached_input_tokens=40, cache_write_tokens=50))
    with pytest.warns(UserWarning, match="does not accept 'temperature'"):
        r = traced(MODELS["anthropic"], "hi", stop="STOP", temperature=0)
    span = one(EXPORTER)
    assert span.name == "chat claude-sonnet-4-6"
    assert dict(span.attributes or {}) == {
        **base("anthropic", "claude-sonnet-4-6"),
        "gen_ai.request.stop_sequences": ("STOP",),  # what was sent: not the temperature the model refuses
        "gen_ai.request.max_tokens": 4096,  # the default the Messages API needs, as sent
        "gen_ai.response.model": "claude-sonnet-4-6",
        "gen_ai.response.id": r.raw.id,
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 100,  # Anthropic's own input_tokens is 10: the uncached rest
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_read.input_tokens": 40,
        "gen_ai.usage.cache_write.input_tokens": 50,
        "models.cost_usd": r.usage.cost,
    }
    assert r.usage.cost == 0.0005295  # 10 x $3 + 40 x $0.30 + 50 x $3.75 + 20 x $15 per 1M
    assert r.raw.usage.input_tokens == 10


def test_gemini_call_reads_its_parameters_from_the_generation_config(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(input_tokens=12, output_tokens=30, reasoning_tokens=8, finish_reason="length"))
    r = traced(MODELS["google"], "hi", max_tokens=30, top_k=3.0, stop=["x", "y"], seed=1)
    span = one(EXPORTER)
    assert span.name == "chat gemini-2.5-flash"
    assert dict(span.attributes or {}) == {
        **base("gcp.gemini", "gemini-2.5-flash"),
        "gen_ai.request.max_tokens": 30,
        "gen_ai.request.top_k": 3,  # an int, as the conventions type it, though the SDK takes a float
        "gen_ai.request.stop_sequences": ("x", "y"),
        "gen_ai.request.seed": 1,
        "gen_ai.response.model": "gemini-2.5-flash",
        "gen_ai.response.id": r.raw.response_id,
        "gen_ai.response.finish_reasons": ("length",),
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 30,  # reasoning included
        "gen_ai.usage.reasoning.output_tokens": 8,
        "models.cost_usd": r.usage.cost,
    }
    assert r.usage.cost == pytest.approx(0.0000786)  # 12 x $0.30 + 30 x $2.50 per 1M


def test_mock_call_without_a_price_has_no_cost_attribute(api: ModelsAPI, spans: InMemorySpanExporter) -> None:
    api.instrument(PROVIDER)
    with pytest.warns(UserWarning, match="no price"):
        api("mock/echo", "hello there")
    assert dict(one(spans).attributes or {}) == {
        **base("mock", "echo"),
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 2,
        "gen_ai.usage.output_tokens": 2,
    }
    api.register_model("mock/priced", price={"input": 1.0, "output": 2.0})
    spans.clear()
    api("mock/priced", "hello there")
    assert one(spans).attributes["models.cost_usd"] == 0.000006  # type: ignore[index]


def test_bedrock_reads_its_parameters_from_the_inference_config(
    bedrock: ModelsAPI, fake: FakeLLM, spans: InMemorySpanExporter
) -> None:
    bedrock.instrument(PROVIDER)
    fake.set_reply(Reply(input_tokens=1200, output_tokens=300, cached_input_tokens=200, cache_write_tokens=100))
    r = bedrock("bedrock/anthropic.claude-sonnet-4-6-v1:0", "hi", max_tokens=64, temperature=0.2, top_p=0.9, stop="END")
    assert fake.requests[0].body["inferenceConfig"] == {
        "maxTokens": 64, "temperature": 0.2, "topP": 0.9, "stopSequences": ["END"],
    }  # fmt: skip
    span = one(spans)
    assert span.name == "chat anthropic.claude-sonnet-4-6-v1:0"
    assert dict(span.attributes or {}) == {
        **base("aws.bedrock", "anthropic.claude-sonnet-4-6-v1:0"),
        "gen_ai.request.max_tokens": 64,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ("END",),
        "gen_ai.response.id": span.attributes["gen_ai.response.id"],  # type: ignore[index]  # the request id
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 1200,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 200,
        "gen_ai.usage.cache_write.input_tokens": 100,
        "models.cost_usd": 0.0083985,
    }
    assert r.usage.cost == 0.0083985
    assert span.attributes["gen_ai.response.id"]  # type: ignore[index]


@pytest.mark.parametrize("provider", ["openai", "anthropic", "google"])
def test_a_structured_output_request_says_its_output_type(traced: ModelsAPI, fake: FakeLLM, provider: str) -> None:
    fake.set_reply(Reply(text='{"name": "Paris"}'))
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    r = traced(MODELS[provider], "Largest city in France?", response_format=schema)
    assert r.parsed == {"name": "Paris"}
    assert one(EXPORTER).attributes["gen_ai.output.type"] == "json"  # type: ignore[index]


@pytest.mark.filterwarnings("ignore")  # unpriced models
@pytest.mark.parametrize(
    ("name", "provider"),
    [("xai", "x_ai"), ("mistral", "mistral_ai"), ("groq", "groq"), ("deepseek", "deepseek"), ("together", "together")],
)
def test_compatible_services_get_the_conventions_provider_names(
    api: ModelsAPI, fake: FakeLLM, spans: InMemorySpanExporter, name: str, provider: str
) -> None:
    api.configure(name, api_key="k", base_url=fake.openai_base_url)
    api.instrument(PROVIDER)
    api(f"{name}/some-model", "hi")
    assert one(spans).attributes["gen_ai.provider.name"] == provider  # type: ignore[index]


# --- errors ------------------------------------------------------------------------------------------


def test_a_rate_limit_after_its_retries_is_one_error_span(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.rate_limit(), Fault.rate_limit(), Fault.rate_limit())
    with pytest.raises(RateLimitError) as caught:
        traced(MODELS["openai"], "hi", max_retries=2)
    span = one(EXPORTER)  # retries are not spans of their own, nor errors of this one
    assert len(fake.requests) == 3
    assert dict(span.attributes or {}) == {**base("openai", "gpt-4o"), "error.type": "models.errors.RateLimitError"}
    assert (span.status.status_code, span.status.description) == (StatusCode.ERROR, str(caught.value))
    assert "429" in str(caught.value) or "rate" in str(caught.value).lower()
    assert span.events == ()  # the exception is the caller's to log, not recorded twice


def test_an_error_that_a_retry_got_past_is_not_recorded(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server())
    traced(MODELS["openai"], "hi", max_retries=1)
    span = one(EXPORTER)
    assert len(fake.requests) == 2
    assert (span.status.status_code, "error.type" in (span.attributes or {})) == (StatusCode.UNSET, False)


def test_a_401_names_the_authentication_error_and_never_the_key(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError):
        traced(MODELS["anthropic"], "hi")
    span = one(EXPORTER)
    assert span.attributes["error.type"] == "models.errors.AuthenticationError"  # type: ignore[index]
    assert span.status.status_code == StatusCode.ERROR
    assert "sk-ant-" not in json.dumps(dict(span.attributes or {})) + (span.status.description or "")


def test_a_cancelled_acall_ends_its_span_as_an_error_and_restores_the_context(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(delay=0.5))

    async def main() -> None:
        with TRACER.start_as_current_span("parent") as parent:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(traced.acall(MODELS["openai"], "hi"), 0.05)
            assert trace.get_current_span() is parent

    asyncio.run(main())
    call = next(s for s in EXPORTER.get_finished_spans() if s.name == "chat gpt-4o")
    assert call.attributes["error.type"] == "asyncio.exceptions.CancelledError"  # type: ignore[index]
    assert (call.status.status_code, call.status.description) == (StatusCode.ERROR, None)


# --- streams -----------------------------------------------------------------------------------------


def test_a_stream_is_one_span_from_request_to_last_piece(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="one two three", input_tokens=9, output_tokens=3))
    stream = traced.stream(MODELS["openai"], "hi", temperature=1)
    assert EXPORTER.get_finished_spans() == ()  # open while the caller reads
    assert "".join(stream) == "one two three"
    span = one(EXPORTER)
    assert trace.get_current_span() is trace.INVALID_SPAN  # a stream's span is never made current
    assert (span.name, span.status.status_code) == ("chat gpt-4o", StatusCode.UNSET)
    assert dict(span.attributes or {}) == {
        **base("openai", "gpt-4o"),
        "gen_ai.request.stream": True,
        "gen_ai.request.temperature": 1.0,
        "gen_ai.response.model": "gpt-4o",
        "gen_ai.response.id": span.attributes["gen_ai.response.id"],  # type: ignore[index]
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 9,
        "gen_ai.usage.output_tokens": 3,
        "models.cost_usd": 0.0000525,  # 9 x $2.50 + 3 x $10 per 1M
    }
    assert stream.response.usage.cost == 0.0000525
    assert str(span.attributes["gen_ai.response.id"]).startswith("chatcmpl-")  # type: ignore[index]


def test_an_async_stream_closed_early_reports_error_as_its_finish_and_no_usage(
    traced: ModelsAPI, fake: FakeLLM
) -> None:
    fake.set_reply(Reply(text="one two three four", chunks=4))

    async def main() -> str:
        stream = traced.astream(MODELS["anthropic"], "hi")
        async for piece in stream:
            await stream.aclose()
            return piece
        raise AssertionError("no piece")

    assert asyncio.run(main()) == "one t"
    span = one(EXPORTER)
    assert span.status.status_code == StatusCode.UNSET  # the caller stopped it: not a failure
    assert dict(span.attributes or {}) == {
        **base("anthropic", "claude-sonnet-4-6"),
        "gen_ai.request.stream": True,
        "gen_ai.request.max_tokens": 4096,
        "gen_ai.response.model": "claude-sonnet-4-6",
        "gen_ai.response.id": span.attributes["gen_ai.response.id"],  # type: ignore[index]
        "gen_ai.response.finish_reasons": ("error",),  # ended before its last event, as the conventions say
    }  # no usage: a partial count would be a wrong one, and the cost is unknown
    assert str(span.attributes["gen_ai.response.id"]).startswith("msg_")  # type: ignore[index]


def test_a_sync_stream_closed_early_and_an_async_one_read_to_its_end(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="one two three four", chunks=4, input_tokens=7, output_tokens=4))
    with traced.stream(MODELS["google"], "hi") as stream:
        assert next(stream) == "one t"
    closed = one(EXPORTER)
    assert closed.attributes["gen_ai.response.finish_reasons"] == ("error",)  # type: ignore[index]
    assert "gen_ai.usage.input_tokens" not in (closed.attributes or {})
    EXPORTER.clear()

    async def main() -> str:
        return "".join([piece async for piece in traced.astream(MODELS["google"], "hi")])

    assert asyncio.run(main()) == "one two three four"
    read = one(EXPORTER)
    assert {
        k: v for k, v in (read.attributes or {}).items() if k.startswith(("gen_ai.usage", "gen_ai.response.f"))
    } == {
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": 7,
        "gen_ai.usage.output_tokens": 4,
    }
    assert read.attributes["gen_ai.request.stream"] is True  # type: ignore[index]


def test_a_stream_failing_midway_is_an_error_span(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault(stream_error=True, kind="server"))
    with pytest.raises(Exception) as caught:
        "".join(traced.stream(MODELS["openai"], "hi", max_retries=0))
    span = one(EXPORTER)
    assert span.attributes["error.type"] == f"{type(caught.value).__module__}.{type(caught.value).__qualname__}"  # type: ignore[index]
    assert span.attributes["error.type"] == "models.errors.ServerError"  # type: ignore[index]
    assert span.status.status_code == StatusCode.ERROR


# --- embeddings --------------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True], ids=["embed", "aembed"])
def test_embeddings_have_their_own_span(traced: ModelsAPI, fake: FakeLLM, asynchronous: bool) -> None:
    texts = ["first text", "the second text"]
    if asynchronous:
        e = asyncio.run(traced.aembed("text-embedding-3-small", texts, dimensions=64, encoding_format="float"))
    else:
        e = traced.embed("text-embedding-3-small", texts, dimensions=64, encoding_format="float")
    span = one(EXPORTER)
    assert (span.name, span.kind) == ("embeddings text-embedding-3-small", SpanKind.CLIENT)
    assert dict(span.attributes or {}) == {
        **base("openai", "text-embedding-3-small", "embeddings"),
        "gen_ai.embeddings.dimension.count": 64,
        "gen_ai.request.encoding_formats": ("float",),
        "gen_ai.usage.input_tokens": 5,
        "models.cost_usd": 0.0000001,
    }
    assert e.usage.cost == 0.0000001


# --- fallbacks ---------------------------------------------------------------------------------------


def test_a_fallback_chain_has_one_span_per_model_tried(traced: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server(), Fault.rate_limit())
    r = traced(MODELS["anthropic"], "hi", fallbacks=[MODELS["openai"], MODELS["google"]], max_retries=0)
    assert r.model == MODELS["google"]
    got = [(s.name, s.attributes.get("error.type"), s.status.status_code) for s in EXPORTER.get_finished_spans()]  # type: ignore[union-attr]
    assert got == [
        ("chat claude-sonnet-4-6", "models.errors.ServerError", StatusCode.ERROR),
        ("chat gpt-4o", "models.errors.RateLimitError", StatusCode.ERROR),
        ("chat gemini-2.5-flash", None, StatusCode.UNSET),
    ]


# --- context -----------------------------------------------------------------------------------------


class SpyProvider(MockProvider):
    """The mock, noting the span current while it answers (where an HTTP client's span would
    start), with the prompt it answers."""

    seen: ClassVar[list[tuple[int, str]]] = []

    def _note(self, request: Any) -> None:
        self.seen.append((trace.get_current_span().get_span_context().span_id, request.messages[-1]["content"]))

    def complete(self, request: Any) -> Any:
        self._note(request)
        return super().complete(request)

    async def acomplete(self, request: Any) -> Any:
        await asyncio.sleep(0.01)  # across an await, while the other task runs
        self._note(request)
        return super().complete(request)


@pytest.fixture
def spy(api: ModelsAPI, spans: InMemorySpanExporter) -> ModelsAPI:
    api.register_provider("spy", SpyProvider)
    SpyProvider.seen = []
    api.instrument(PROVIDER)
    return api


def test_a_call_is_the_current_span_while_it_runs_and_a_child_of_the_callers(spy: ModelsAPI) -> None:
    with TRACER.start_as_current_span("parent") as parent:
        with pytest.warns(UserWarning):
            spy("spy/x", "hi")
        assert trace.get_current_span() is parent  # detached again
    call, outer = EXPORTER.get_finished_spans()
    assert outer.name == "parent" and call.name == "chat x"
    assert call.parent is not None and call.parent.span_id == parent.get_span_context().span_id
    assert call.context.trace_id == parent.get_span_context().trace_id
    assert SpyProvider.seen == [(call.context.span_id, "hi")]


def test_acall_keeps_its_span_across_awaits_and_concurrent_calls_their_own_parents(spy: ModelsAPI) -> None:
    parents: dict[str, int] = {}

    async def one_call(prompt: str) -> None:
        with TRACER.start_as_current_span(f"task {prompt}") as parent:
            parents[prompt] = parent.get_span_context().span_id
            await spy.acall("spy/x", prompt)
            assert trace.get_current_span() is parent

    async def main() -> None:
        await asyncio.gather(one_call("a"), one_call("b"))

    with pytest.warns(UserWarning):
        asyncio.run(main())
    calls = {s.context.span_id: s for s in EXPORTER.get_finished_spans() if s.name == "chat x"}
    assert len(calls) == 2 and sorted(prompt for _, prompt in SpyProvider.seen) == ["a", "b"]
    for span_id, prompt in SpyProvider.seen:  # the span current inside each call, after its await
        call = calls[span_id]  # is that call's own span,
        assert call.parent is not None and call.parent.span_id == parents[prompt]  # a child of its task's span


def test_uninstrument_stops_the_spans(spy: ModelsAPI) -> None:
    spy.uninstrument()
    with pytest.warns(UserWarning):
        spy("spy/x", "hi")
    assert EXPORTER.get_finished_spans() == ()


# --- content -----------------------------------------------------------------------------------------


def test_content_is_left_out_by_default(traced: ModelsAPI, fake: FakeLLM) -> None:
    traced(MODELS["openai"], "a secret prompt", system="a secret system")
    attributes = json.dumps(dict(one(EXPORTER).attributes or {}))
    assert "secret" not in attributes and "echo" not in attributes


def test_content_when_opted_in_follows_the_conventions_json_shape(wired: ModelsAPI, fake: FakeLLM) -> None:
    EXPORTER.clear()
    tracing = wired.instrument(PROVIDER, content=True)
    assert tracing.content is True
    fake.set_reply(
        Reply(text="Let me look.", tool_calls=(("call_2", "weather", {"city": "Oslo"}),), finish_reason="tool_calls")
    )
    prompt = [
        {"role": "user", "content": [
            {"type": "text", "text": "Weather here?"},
            {"type": "attachment", "attachment": Attachment(url="https://example.com/oslo.png")},
        ]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "where", "arguments": "{}"}},
        ]},
        {"role": "tool", "tool_call_id": "call_1", "content": "Oslo"},
    ]  # fmt: skip
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]
    wired(MODELS["openai"], prompt, system="Be brief.", tools=tools)
    attributes = one(EXPORTER).attributes or {}
    assert json.loads(str(attributes["gen_ai.system_instructions"])) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(str(attributes["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [
            {"type": "text", "content": "Weather here?"},
            {"type": "uri", "modality": "image", "mime_type": "image/png", "uri": "https://example.com/oslo.png"},
        ]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "where", "arguments": {}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "Oslo"}]},
    ]  # fmt: skip
    assert json.loads(str(attributes["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [
            {"type": "text", "content": "Let me look."},
            {"type": "tool_call", "id": "call_2", "name": "weather", "arguments": {"city": "Oslo"}},
        ]},
    ]  # fmt: skip
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)


def test_an_inline_attachment_is_described_never_sent_as_bytes(api: ModelsAPI, spans: InMemorySpanExporter) -> None:
    api.instrument(PROVIDER, content=True)
    png = b"\x89PNG\r\n\x1a\n" + b"SECRETBYTES" * 100
    image = Attachment(data=png, name="p.png")
    prompt = [
        {"role": "user", "content": [{"type": "text", "text": "what"}, {"type": "attachment", "attachment": image}]}
    ]
    with pytest.warns(UserWarning):
        api("mock/echo", prompt)
    [message] = json.loads(str(one(spans).attributes["gen_ai.input.messages"]))  # type: ignore[index]
    assert message["parts"][1] == {"type": "attachment", "modality": "image", "mime_type": "image/png", "name": "p.png"}
    assert "SECRETBYTES" not in str(one(spans).attributes)


@pytest.mark.parametrize(("value", "on"), [("true", True), ("SPAN_ONLY", True), ("event_only", False), ("", False)])
def test_the_capture_variable_opts_in(monkeypatch: pytest.MonkeyPatch, value: str, on: bool) -> None:
    from models._observe.tracing import Tracing

    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    assert Tracing(PROVIDER).content is on
    assert Tracing(PROVIDER, content=False).content is False  # the argument wins


# --- the environment, the import, the extra ----------------------------------------------------------


def _python(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MODELS_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_models_otel_1_traces_on_the_global_provider() -> None:
    code = """
import json, warnings
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter(); provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter)); trace.set_tracer_provider(provider)
from models import models
warnings.simplefilter("ignore")
models("mock/echo", "hi there")
print(json.dumps([[s.name, dict(s.attributes)] for s in exporter.get_finished_spans()]))
"""
    assert json.loads(_python(code, MODELS_OTEL="1")) == [
        ["chat echo", {
            **base("mock", "echo"), "gen_ai.response.finish_reasons": ["stop"],
            "gen_ai.usage.input_tokens": 2, "gen_ai.usage.output_tokens": 2,
        }],
    ]  # fmt: skip


def test_a_process_that_never_instruments_imports_no_opentelemetry() -> None:
    code = """
import sys, warnings
from models import models
warnings.simplefilter("ignore")
models("mock/echo", "hi")
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""
    assert _python(code).strip() == "[]"


def test_instrument_without_opentelemetry_names_the_extra() -> None:
    code = """
import sys
sys.modules["opentelemetry"] = None  # as if not installed: its import fails
from models import ConfigurationError
from models import models
try:
    models.instrument()
except ConfigurationError as error:
    print(type(error).__name__, error)
"""
    assert _python(code).strip() == (
        "ConfigurationError Tracing needs OpenTelemetry, which is not installed: pip install 'models[otel]'."
    )
