"""Rows: a call offering two tools, and a call with a `response_format`, against the raw SDKs doing
the same (issue 13), over the loopback fakes that answer with two tool calls and with a JSON object.

The raw side does what a user of the SDK does to get what ours returns: for tools, the SDK's own
tool dicts built once and the calls' arguments parsed from JSON; for structured output, the
SDK's own parsing helper where it has one (`chat.completions.parse`, `messages.parse`, Gemini's
`response.parsed`). Ours is a binding (tools or format bound once) and `models(...)` passing them
on every call.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any, Literal

import measure
from bench_overhead import MESSAGES, MODELS, ours_api, raw_client
from harness import Fakes, at_most, row
from pydantic import BaseModel


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit}"


def get_time(zone: str) -> str:
    """The local time in an IANA time zone."""
    return "12:00"


class City(BaseModel):
    name: str
    population: int


_WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"], "default": "c"}},
    "required": ["city"],
}
_TIME = {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]}
_SPECS = (
    ("get_weather", "Current weather in a city.", _WEATHER),
    ("get_time", "The local time in an IANA time zone.", _TIME),
)


def _raw_tools(provider: str, client: Any) -> Any:
    """A raw call offering both tools, returning the calls' (name, arguments dict) as ours does."""
    model = MODELS[provider]
    if provider == "openai":
        tools = [{"type": "function", "function": {"name": n, "description": d, "parameters": p}} for n, d, p in _SPECS]

        def openai_call() -> Any:
            message = client.chat.completions.create(model=model, messages=MESSAGES, tools=tools, timeout=600)
            calls = message.choices[0].message.tool_calls
            return [(c.function.name, json.loads(c.function.arguments)) for c in calls]

        return openai_call
    if provider == "anthropic":
        tools = [{"name": n, "description": d, "input_schema": p} for n, d, p in _SPECS]

        def anthropic_call() -> Any:
            message = client.messages.create(model=model, messages=MESSAGES, max_tokens=4096, tools=tools, timeout=600)
            return [(b.name, b.input) for b in message.content if b.type == "tool_use"]

        return anthropic_call
    declarations = [{"name": n, "description": d, "parameters_json_schema": p} for n, d, p in _SPECS]
    config = {"tools": [{"function_declarations": declarations}]}

    def google_call() -> Any:
        response = client.models.generate_content(model=model, contents="hello", config=config)
        return [(c.name, c.args) for c in response.function_calls]

    return google_call


def _raw_structured(provider: str, client: Any) -> Any:
    model = MODELS[provider]
    if provider == "openai":
        return lambda: (
            client.chat.completions.parse(model=model, messages=MESSAGES, response_format=City, timeout=600)
            .choices[0]
            .message.parsed
        )
    if provider == "anthropic":
        return lambda: (
            client.messages.parse(
                model=model, messages=MESSAGES, max_tokens=4096, output_format=City, timeout=600
            ).parsed_output
        )
    config = {"response_mime_type": "application/json", "response_schema": City}
    return lambda: client.models.generate_content(model=model, contents="hello", config=config).parsed


def _tools(provider: str, fakes: Fakes) -> measure.Sides:
    api = ours_api(fakes.tools_url, provider)
    model, tools = MODELS[provider], [get_weather, get_time]
    return {
        "raw": _raw_tools(provider, raw_client(fakes.tools_url, provider)),
        "binding": partial(api.bind(model, tools=tools), "hello"),
        "models()": partial(api, model, "hello", tools=tools),
    }


def _structured(provider: str, fakes: Fakes) -> measure.Sides:
    api = ours_api(fakes.json_url, provider)
    model = MODELS[provider]
    return {
        "raw": _raw_structured(provider, raw_client(fakes.json_url, provider)),
        "binding": partial(api.bind(model, response_format=City), "hello"),
        "models()": partial(api, model, "hello", response_format=City),
    }


for name in MODELS:
    row("call", f"{name} tools", {"binding": at_most(1.00), "models()": at_most(1.02)})(partial(_tools, name))
    row("call", f"{name} structured", {"binding": at_most(1.00), "models()": at_most(1.02)})(partial(_structured, name))
