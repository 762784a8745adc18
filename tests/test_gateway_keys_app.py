"""Gateway keys end to end: the real openai SDK against the gateway (one worker, in a thread), the
wire fake upstream: 401, 403 and 429 as the SDK raises them, budgets exact, `/api/usage` and
`/metrics` exact, and no secret in any answer."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from models._gateway.settings import GatewaySettings

from .conftest import KEYS
from .fake_llm import FakeLLM, Fault, Reply
from .gateway_server import GatewayServer

ADMIN = "admin-secret-0123456789"
ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789ab"
CAROL = "carol-secret-0123456789"
DAVE = "dave-secret-0123456789a"
ERIN = "erin-secret-0123456789a"
CONFIG = [
    {"name": "admin", "key": ADMIN, "admin": True},
    {"name": "alice", "key": ALICE, "budget_usd": "0.00165"},  # 10 requests of $0.000165 (below)
    {"name": "bob", "key": BOB, "models": ["anthropic/*", "gpt-4o-mini"]},
    {"name": "carol", "key": CAROL, "rpm": 2},
    {"name": "dave", "key": DAVE, "budget_usd": "0.0005"},
    {"name": "erin", "key": ERIN, "budget_usd": "0.0000005"},
]
HI = [{"role": "user", "content": "hi"}]
# The fake bills exactly the most "hi" with max_tokens=10 can cost on gpt-4o: (8 * 3 framing + 2 bytes)
# input tokens and 10 output, at $2.50 and $10 per 1M: $0.000165. A budget of N times that admits N.
REPLY = Reply(input_tokens=26, output_tokens=10)
UNITS = (26 * 250 + 10 * 1000) * 10**7  # 1e-15 USD
SECRETS = (ADMIN, ALICE, BOB, CAROL, DAVE, ERIN, *KEYS.values())


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeLLM]:
    with FakeLLM() as fake:
        fake.set_reply(REPLY)
        yield fake


@pytest.fixture(scope="module")
def gw(upstream: FakeLLM) -> Iterator[GatewayServer]:
    with GatewayServer(upstream, GatewaySettings(keys=json.dumps(CONFIG))) as server:
        yield server


def get(gw: GatewayServer, path: str, key: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(gw.url + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def body(error: openai.APIStatusError) -> Any:
    assert not any(secret in error.response.text for secret in SECRETS)
    return error.response.json()


def test_401_without_a_key_or_with_a_wrong_one(gw: GatewayServer) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        gw.client("not-a-key-of-this-gateway").chat.completions.create(model="gpt-4o", messages=HI)
    assert body(caught.value) == {
        "error": {
            "message": "Incorrect API key provided. Ask the gateway's operator for a key.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    status, _, text = get(gw, "/v1/models")
    assert status == 401 and json.loads(text)["error"]["message"].startswith("You didn't provide an API key.")
    with pytest.raises(openai.AuthenticationError):
        gw.client(ALICE[:-1]).embeddings.create(model="text-embedding-3-small", input="hi")


def test_403_for_a_model_outside_the_keys_list(gw: GatewayServer) -> None:
    client = gw.client(BOB)
    assert client.chat.completions.create(model="gpt-4o-mini", messages=HI).model == "openai/gpt-4o-mini"
    with pytest.raises(openai.PermissionDeniedError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HI, stream=True)
    assert body(caught.value) == {
        "error": {
            "message": "The key 'bob' may not call openai/gpt-4o. "
            "Ask the gateway's operator to add it to the key's models.",
            "type": "invalid_request_error",
            "param": "model",
            "code": "model_not_allowed",
        }
    }
    with pytest.raises(openai.NotFoundError) as missing:  # an unknown model is a 404, after the key is checked
        client.chat.completions.create(model="nosuch/model", messages=HI)
    assert body(missing.value)["error"]["code"] == "model_not_found"


def test_models_lists_only_what_the_key_may_call(gw: GatewayServer) -> None:
    every = [info.id for info in gw.api.list(status=None)]
    assert [m.id for m in gw.client(ADMIN).models.list()] == every  # a key without a list sees the catalog
    mine = [m.id for m in gw.client(BOB).models.list()]
    assert mine == [i for i in every if i.startswith("anthropic/") or i == "openai/gpt-4o-mini"]
    assert "openai/gpt-4o-mini" in mine and "openai/gpt-4o" not in mine and len(mine) > 2
    assert gw.client(BOB).models.retrieve("gpt-4o-mini").id == "openai/gpt-4o-mini"
    with pytest.raises(openai.NotFoundError) as hidden:  # as OpenAI answers for a model one has no access to
        gw.client(BOB).models.retrieve("gpt-4o")
    assert body(hidden.value)["error"] == {
        "message": "The model 'openai/gpt-4o' does not exist or your key may not call it.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }
    with pytest.raises(openai.AuthenticationError):
        gw.client("not-a-key-0123456789").models.list()


def test_429_at_the_rate_limit_with_retry_after(gw: GatewayServer) -> None:
    client = gw.client(CAROL)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o", messages=HI)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.response.headers["retry-after"] == "30"
    assert body(caught.value) == {
        "error": {
            "message": "Rate limit reached for the key 'carol' on requests per minute: limit 2. "
            "Please try again in 30s.",
            "type": "requests",
            "param": None,
            "code": "rate_limit_exceeded",
        }
    }


def test_a_budget_admits_exactly_what_fits_then_429_insufficient_quota(gw: GatewayServer) -> None:
    client = gw.client(ALICE)
    answers = []
    for n in range(10):
        if n % 2:
            answers.append(client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10))
        else:  # streams settle the same way
            chunks = list(
                client.chat.completions.create(
                    model="gpt-4o", messages=HI, max_tokens=10, stream=True, stream_options={"include_usage": True}
                )
            )
            assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 36
    assert all(a.usage is not None and a.usage.prompt_tokens == 26 for a in answers)
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
    assert body(caught.value) == {
        "error": {
            "message": "The key 'alice' is over its budget: $0.001650 spent and $0.000000 reserved by requests in "
            "flight, of $0.001650; this request may cost up to $0.000165 (its prompt and max_tokens for "
            "openai/gpt-4o). Nothing was sent. Lower max_tokens, or ask the gateway's operator to raise the budget.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    assert "retry-after" not in caught.value.response.headers  # waiting does not help
    status, _, text = get(gw, "/api/usage", ADMIN)
    alice = json.loads(text)["keys"]["alice"]
    assert status == 200
    assert alice == {
        "budget_usd": 0.00165,
        "budget_period": None,
        "spent_usd": 10 * UNITS / 10**15,
        "reserved_usd": 0.0,
        "requests": 10,
        "errors": 0,
        "input_tokens": 260,
        "output_tokens": 100,
        "cached_input_tokens": 0,
        "cost_usd": 10 * UNITS / 10**15,
        "models": {
            "openai/gpt-4o": {
                "requests": 10,
                "errors": 0,
                "input_tokens": 260,
                "output_tokens": 100,
                "cached_input_tokens": 0,
                "cost_usd": 10 * UNITS / 10**15,
            }
        },
    }
    value = gw.api.registry.get_sample_value
    assert value("models_gateway_requests_total", {"key": "alice", "model": "openai/gpt-4o", "status": "ok"}) == 10
    assert (
        value(
            "models_gateway_requests_total", {"key": "alice", "model": "openai/gpt-4o", "status": "insufficient_quota"}
        )
        == 1
    )
    assert value("models_gateway_cost_usd_total", {"key": "alice", "model": "openai/gpt-4o"}) == 10 * UNITS / 10**15
    assert value("models_gateway_tokens_total", {"key": "alice", "model": "openai/gpt-4o", "type": "input"}) == 260


def test_a_failed_call_releases_its_reservation(gw: GatewayServer, upstream: FakeLLM) -> None:
    client = gw.client(DAVE)  # $0.0005: three requests of $0.000165
    upstream.enqueue(Fault(status=400, message="bad request upstream"))
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
    for _ in range(3):
        client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
    dave = json.loads(get(gw, "/api/usage", ADMIN)[2])["keys"]["dave"]
    assert (dave["requests"], dave["errors"], dave["spent_usd"], dave["reserved_usd"]) == (
        3,
        1,
        3 * UNITS / 10**15,
        0.0,
    )


def test_embeddings_reserve_their_bytes_and_are_charged_their_tokens(gw: GatewayServer) -> None:
    # text-embedding-3-small, $0.02 per 1M: "hello world" reserves 11 bytes ($0.00000022) and costs the
    # fake's 2 tokens ($0.00000004); $0.0000005 admits while spent <= $0.00000028: 8 requests
    client = gw.client(ERIN)
    for _ in range(8):
        assert client.embeddings.create(model="text-embedding-3-small", input=["hello world"]).usage.prompt_tokens == 2
    with pytest.raises(openai.RateLimitError) as caught:
        client.embeddings.create(model="text-embedding-3-small", input=["hello world"])
    assert body(caught.value)["error"]["message"].startswith(
        "The key 'erin' is over its budget: $0.00000032 spent and $0.000000 reserved by requests in flight, of "
        "$0.0000005; this request may cost up to $0.00000022 (its texts for openai/text-embedding-3-small)."
    )
    erin = json.loads(get(gw, "/api/usage", ADMIN)[2])["keys"]["erin"]
    assert (erin["requests"], erin["input_tokens"], erin["spent_usd"], erin["cost_usd"]) == (8, 16, 32e-8, 32e-8)


def test_usage_needs_an_admin_key_and_metrics_are_bounded(gw: GatewayServer) -> None:
    assert get(gw, "/api/usage")[0] == 401
    status, _, text = get(gw, "/api/usage", BOB)
    assert status == 403 and json.loads(text)["error"]["code"] == "admin_required"
    with pytest.raises(openai.AuthenticationError):
        gw.client("mallory-secret-0123456789").chat.completions.create(model="gpt-4o", messages=HI)
    status, headers, metrics = get(gw, "/metrics")
    text = metrics.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    keys = {
        line.split('key="', 1)[1].split('"', 1)[0]
        for line in text.splitlines()
        if line.startswith("models_gateway_") and 'key="' in line
    }
    assert keys <= {"admin", "alice", "bob", "carol", "dave", "erin", "unauthenticated"} and "unauthenticated" in keys
    assert 'models_gateway_requests_total{key="unauthenticated",model="other",status="invalid_request_error"}' in text
    assert "models_requests_total{" in text  # the library's own metrics, on the same registry
    assert not any(secret in text for secret in SECRETS)
    _, _, usage = get(gw, "/api/usage", ADMIN)
    assert not any(secret in usage.decode() for secret in SECRETS)
