"""What tracing adds to a bound call (issue 17): the same call on a provider that answers at once,
without tracing ("raw"), with `instrument()` on OpenTelemetry's no-op tracer (the API alone, no SDK
configured: spans are not recorded), and on the SDK's `TracerProvider` recording every span into a
`SimpleSpanProcessor` whose exporter drops them (the span's own cost, no export I/O), content off
and on. Each side is its own `ModelsAPI`, so only the tracing differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import measure
from bench_overhead import instant_api
from harness import Fakes, row, section


def _instant_call(tracer_provider: Any = None, traced: bool = False, content: bool = False) -> Any:
    """A bound call of `instant/echo`, a provider that returns a ready, priced answer at once."""
    api = instant_api()
    if traced:
        api.instrument(tracer_provider, content=content)
    return partial(api.bind("instant/echo", temperature=0.5, max_tokens=100), "hello")


def _sdk() -> Any:
    """The SDK's provider, every span recorded and handed to an exporter that drops it."""
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(Drop()))
    return provider


def _tracing(fakes: Fakes) -> measure.Sides:
    from opentelemetry.trace import NoOpTracerProvider

    sdk = _sdk()
    return {
        "raw": _instant_call(),
        "no-op": _instant_call(NoOpTracerProvider(), traced=True),
        "sdk": _instant_call(sdk, traced=True),
        "sdk+content": _instant_call(sdk, traced=True, content=True),
    }


section(
    "tracing",
    "a bound call on a provider that answers at once: tracing on against off (best of runs)",
    "µs",
    measure.floor,
    True,
    ("off", "on"),
)
row("tracing", "instant")(_tracing)
