"""The main job, offline: one-line calls, a bound hot loop, a stream, the cost table, the metrics.

Runs on the `mock` provider (no key, no network), priced here like gpt-5.6-terra so the
dollar figures mean something. Swap "mock/echo" for "gpt-5.6-terra" and set OPENAI_API_KEY
to do the same against the real API.
"""

import os

# The mock provider has no default price; give it gpt-5.6-terra's (USD per 1M tokens).
os.environ.setdefault("MODELS_COSTS_JSON", '{"mock/echo": {"input": 2.00, "output": 12.00}}')

from prometheus_client import generate_latest

from models import models

r = models("mock/echo", "Hello from one line of Python")
print(f"one line  -> {r.text!r}  ({r.usage.input_tokens} in, {r.usage.output_tokens} out, ${r.usage.cost:.8f})")

echo = models.bind("mock/echo", max_tokens=5)  # resolved once: provider, price, metric children
replies = [
    echo("a bound model in a hot loop pays nothing extra"),  # cut to max_tokens=5 words
    echo("call-time values win over bound ones", max_tokens=3),
    echo("third call"),
]
print(f"bound     -> {echo!r} answered:")
for reply in replies:
    print(f"             {reply.text!r} ({reply.finish_reason}, ${reply.usage.cost:.8f})")

s = models.stream("mock/echo", "streamed to you word by word")
pieces = list(s)
print(f"stream    -> {len(pieces)} pieces, then .response: ${s.response.usage.cost:.8f}")

with models.track() as t:
    models("mock/echo", [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "tracked"}])
print(f"track()   -> {t.requests} call, ${t.cost:.8f}")

print("\nusage since start")
print(f"{'model':<12}{'requests':>9}{'input':>8}{'output':>8}{'cost USD':>14}")
for model, u in models.usage().items():
    print(f"{model:<12}{u.requests:>9}{u.input_tokens:>8}{u.output_tokens:>8}{u.cost:>14.8f}")

print("\nPrometheus exposition (excerpt)")
for line in generate_latest().decode().splitlines():
    if line.startswith(("models_requests_total", "models_tokens_total", "models_cost_usd_total")):
        print(line)
