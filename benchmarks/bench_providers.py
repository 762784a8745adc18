"""Rows: a call and a stream through an OpenAI-compatible preset (Groq) and through Azure OpenAI,
against the raw openai SDK doing the same over the same loopback fake (issue 15).

The raw side is what a user of the SDK writes for that service: `openai.OpenAI(base_url=...,
api_key=...)` at Groq's path for the preset, `openai.AzureOpenAI(azure_endpoint=..., api_version=...)`
for Azure (the deployment in the path, the key in `api-key`). Ours reads its key and base URL from the
service's own variables (GROQ_API_KEY / GROQ_BASE_URL, AZURE_OPENAI_API_KEY / AZURE_OPENAI_ENDPOINT),
set in the row's fresh client process; the sides are a binding and `models(...)`, as in the OpenAI rows.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import measure
from bench_overhead import MESSAGES
from harness import Fakes, at_most, row

_KEY = "sk-bench"
_API_VERSION = "2024-10-21"
# service -> (our model id, the model name the raw SDK sends)
_SERVICES = {"groq": ("groq/llama-3.3-70b-versatile", "llama-3.3-70b-versatile"), "azure": ("azure/gpt-4o", "gpt-4o")}


def _ours(url: str, service: str) -> Any:
    """A `ModelsAPI` on its own registry, the service pointed at the fake through its own variables."""
    from prometheus_client import CollectorRegistry

    from models import ModelsAPI, ModelsWarning

    warnings.simplefilter("ignore", ModelsWarning)
    if service == "azure":
        os.environ.update(AZURE_OPENAI_API_KEY=_KEY, AZURE_OPENAI_ENDPOINT=url)
    else:
        os.environ.update(GROQ_API_KEY=_KEY, GROQ_BASE_URL=url + "/openai/v1")
    return ModelsAPI(registry=CollectorRegistry())


def _raw_client(url: str, service: str) -> Any:
    import openai

    if service == "azure":
        return openai.AzureOpenAI(api_key=_KEY, azure_endpoint=url, api_version=_API_VERSION, max_retries=0)
    return openai.OpenAI(api_key=_KEY, base_url=url + "/openai/v1", max_retries=0)


def _raw_call(client: Any, name: str) -> Callable[[], Any]:
    return lambda: client.chat.completions.create(model=name, messages=MESSAGES, timeout=600)


def _raw_stream(client: Any, name: str) -> Callable[[], Iterable[str]]:
    """Opens a raw stream that yields the text pieces only, as ours does (Azure's filter-only chunks
    have no choices; the usage chunk has none either)."""
    return lambda: (
        chunk.choices[0].delta.content
        for chunk in client.chat.completions.create(
            model=name, messages=MESSAGES, timeout=600, stream=True, stream_options={"include_usage": True}
        )
        if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content
    )


def _call(service: str, fakes: Fakes) -> measure.Sides:
    model, name = _SERVICES[service]
    api = _ours(fakes.url, service)
    return {
        "raw": _raw_call(_raw_client(fakes.url, service), name),
        "binding": partial(api.bind(model), "hello"),
        "models()": partial(api, model, "hello"),
    }


def _stream(service: str, fakes: Fakes) -> measure.Sides:
    model, name = _SERVICES[service]
    bound = _ours(fakes.url, service).bind(model)
    return {"raw": _raw_stream(_raw_client(fakes.url, service), name), "ours": partial(bound.stream, "hello")}


for service in _SERVICES:
    # issue 15's target, ours / raw <= 1.00, for the one-liner too (the OpenAI rows give it 1.02)
    row("call", service, {"binding": at_most(1.00), "models()": at_most(1.00)})(partial(_call, service))
    row("stream", service, {"first piece": at_most(1.02)})(partial(_stream, service))
