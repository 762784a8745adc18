"""Rows: a Bedrock call and stream through `models` against raw boto3 `converse` / `converse_stream`
(issue 15), on the same loopback fake, which serves Converse and its event-stream framing.

The raw side is what a boto3 user writes: one client, built once, its retries off as ours are (the
service retries), its other settings boto3's defaults. Ours is a binding and `models(...)`; its
clients skip botocore's per-call check of the request against the API's shapes (ours are built by
the provider, and a caller's keywords are checked once, when bound), which is a part of what is
measured. Dummy credentials: the fake checks no signature, but every request is SigV4-signed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import bench_overhead  # noqa: F401  (its sections, call and stream, come first)
import measure
from harness import Fakes, at_most, row

NAME = "anthropic.claude-sonnet-4-6-v1:0"
MODEL = "bedrock/" + NAME
MESSAGES = [{"role": "user", "content": [{"text": "hello"}]}]
_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIDBENCH",
    "AWS_SECRET_ACCESS_KEY": "bench-secret",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _ours(url: str) -> Any:
    from prometheus_client import CollectorRegistry

    from models import ModelsAPI

    os.environ.update(_ENV)
    api = ModelsAPI(registry=CollectorRegistry())
    api.configure("bedrock", base_url=url)
    return api


def _raw(url: str) -> Any:
    import boto3
    from botocore.config import Config

    os.environ.update(_ENV)
    config = Config(retries={"total_max_attempts": 1})
    session = boto3.session.Session(region_name="us-east-1")
    return session.client("bedrock-runtime", endpoint_url=url, config=config)


def _raw_call(client: Any) -> Callable[[], Any]:
    return lambda: client.converse(modelId=NAME, messages=MESSAGES)


def _raw_stream(client: Any) -> Callable[[], Iterable[str]]:
    """A raw stream yielding the text pieces only, as ours does."""
    return lambda: (
        event["contentBlockDelta"]["delta"]["text"]
        for event in client.converse_stream(modelId=NAME, messages=MESSAGES)["stream"]
        if "contentBlockDelta" in event and "text" in event["contentBlockDelta"]["delta"]
    )


def _call(fakes: Fakes) -> measure.Sides:
    api = _ours(fakes.url)
    return {
        "raw": _raw_call(_raw(fakes.url)),
        "binding": partial(api.bind(MODEL), "hello"),
        "models()": partial(api, MODEL, "hello"),
    }


def _stream(fakes: Fakes) -> measure.Sides:
    bound = _ours(fakes.url).bind(MODEL)
    return {"raw": _raw_stream(_raw(fakes.url)), "ours": partial(bound.stream, "hello")}


row("call", "bedrock", {"binding": at_most(1.00), "models()": at_most(1.02)})(_call)
row("stream", "bedrock", {"first piece": at_most(1.02)})(_stream)
