"""Gateway keys, budgets, rate limits and metrics, tested on the gatekeeper itself (one worker's
memory store) with real calls through the library to the wire fake for the usage they settle."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

import pytest
from prometheus_client import CollectorRegistry

from models import ConfigurationError, ModelsAPI
from models._gateway.gate import Admission, Gatekeeper, GatewayError
from models._gateway.keys import GatewayKey
from models._gateway.metrics import MAX_MODEL_LABELS, GatewayMetrics
from models._gateway.settings import GatewaySettings
from models._types import Usage

T = TypeVar("T")
ALICE = "alice-secret-0123456789"
BOB = "bob-secret-0123456789ab"
HI = [{"role": "user", "content": "hi"}]
# "hi" with max_tokens=10 on gpt-4o ($2.50 in, $10 out per 1M): (8 * 3 framing + 2 bytes) * 2.5 + 10 * 10
RESERVE_HI = (26 * 250 + 10 * 1000) * 10**7  # = $0.000165 in 1e-15 USD
COST_10_5 = (10 * 250 + 5 * 1000) * 10**7  # the fake's default usage, 10 in and 5 out: $0.000075


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def gate(api: ModelsAPI, *keys: dict[str, Any], **settings: Any) -> Gatekeeper:
    return Gatekeeper(api, GatewaySettings(keys=json.dumps(list(keys)), **settings))


def refused(coroutine: Awaitable[Any]) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        run(coroutine)
    return caught.value


# -- configuration ---------------------------------------------------------------------------------
def test_a_full_key_is_parsed_exactly(api: ModelsAPI) -> None:
    hashed = hashlib.sha256(BOB.encode()).hexdigest()
    g = gate(
        api,
        {
            "name": "alice",
            "key": ALICE,
            "budget_usd": "0.10",
            "budget_period": "day",
            "rpm": 60,
            "tpm": 1000,
            "models": ["gpt-4o", "anthropic/*"],
            "admin": True,
        },
        {"name": "bob", "key_sha256": hashed.upper()},
    )
    alice, bob = g.keys
    assert alice == GatewayKey(
        "alice",
        hashlib.sha256(ALICE.encode()).digest(),
        10**14,
        "day",
        60,
        1000,
        frozenset({"openai/gpt-4o"}),
        frozenset({"anthropic"}),
        True,
    )
    assert bob == GatewayKey("bob", bytes.fromhex(hashed))
    assert g.key_names == ("alice", "bob")
    assert ALICE not in repr(g.keys) and hashed not in repr(g.keys).lower()
    assert alice.allows("anthropic/claude-sonnet-4-6", "anthropic") and not alice.allows("openai/gpt-5", "openai")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"key": ALICE}, "MODELS_GATEWAY_KEYS, key 0: name must be 1 to 64 letters"),
        ({"name": "a b", "key": ALICE}, "key 0: name must be"),
        ({"name": "alice"}, "key 'alice': give its secret as key or its SHA-256 as key_sha256"),
        ({"name": "alice", "key": ALICE, "key_sha256": "0" * 64}, "(one of them)"),
        ({"name": "alice", "key": "short-secret"}, "key must be a string of at least 16 characters"),
        ({"name": "alice", "key_sha256": "xyz"}, "key_sha256 must be 64 hexadecimal digits"),
        ({"name": "alice", "key": ALICE, "budget": 1}, "unknown field 'budget' (did you mean 'budget_usd'?)"),
        ({"name": "alice", "key": ALICE, "budget_usd": -1}, "budget_usd must be from 0 to 1e+15, not -1"),
        ({"name": "alice", "key": ALICE, "budget_usd": "lots"}, "budget_usd must be a number of USD, not 'lots'"),
        ({"name": "alice", "key": ALICE, "budget_usd": True}, "budget_usd must be a number of USD, not bool"),
        ({"name": "alice", "key": ALICE, "budget_usd": "1e-16"}, "has more than 15 decimal places"),
        ({"name": "alice", "key": ALICE, "budget_usd": 1, "budget_period": "week"}, "budget_period must be 'day'"),
        ({"name": "alice", "key": ALICE, "budget_period": "day"}, "budget_period is set without budget_usd"),
        ({"name": "alice", "key": ALICE, "rpm": 0}, "rpm must be a whole number from 1 to 100,000,000, not 0"),
        ({"name": "alice", "key": ALICE, "tpm": 1.5}, "tpm must be a whole number"),
        ({"name": "alice", "key": ALICE, "models": "gpt-4o"}, "models must be a list of model ids or 'provider/*'"),
        ({"name": "alice", "key": ALICE, "models": ["gpt-4o", "gtp-4o"]}, "models entry 'gtp-4o' names no model"),
        ({"name": "alice", "key": ALICE, "models": ["nosuch/*"]}, "models entry 'nosuch/*' names no model"),
        ({"name": "alice", "key": ALICE, "admin": "yes"}, "admin must be true or false, not 'yes'"),
        ("alice", "key 0 must be an object with a name and a key, not str"),
    ],
)
def test_each_mistake_names_the_key_and_field_and_never_the_secret(api: ModelsAPI, entry: Any, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        gate(api, entry)
    assert message in str(caught.value)
    assert ALICE not in str(caught.value) and "short-secret" not in str(caught.value)


def test_names_and_secrets_are_unique(api: ModelsAPI) -> None:
    with pytest.raises(ConfigurationError, match="key 'a': the name is used twice"):
        gate(api, {"name": "a", "key": ALICE}, {"name": "a", "key": BOB})
    with pytest.raises(ConfigurationError, match="key 'b': its secret is another key's too") as caught:
        gate(api, {"name": "a", "key": ALICE}, {"name": "b", "key_sha256": hashlib.sha256(ALICE.encode()).hexdigest()})
    assert ALICE not in str(caught.value)


def test_the_keys_text_and_file(api: ModelsAPI, tmp_path: Any) -> None:
    with pytest.raises(
        ConfigurationError, match=r"MODELS_GATEWAY_KEYS is not valid JSON \(JSONDecodeError at line 1, column 2\)"
    ):
        Gatekeeper(api, GatewaySettings(keys=f"[{ALICE}]"))
    with pytest.raises(ConfigurationError, match="must be a non-empty list of keys"):
        Gatekeeper(api, GatewaySettings(keys="[]"))
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"keys": [{"name": "alice", "key": ALICE}]}))
    assert Gatekeeper(api, GatewaySettings(keys_file=str(path))).key_names == ("alice",)
    with pytest.raises(ConfigurationError, match="Both MODELS_GATEWAY_KEYS and a keys file"):
        Gatekeeper(api, GatewaySettings(keys_file=str(path), keys="[]"))
    with pytest.raises(ConfigurationError, match=f"Cannot read the keys file {tmp_path / 'none.json'}: No such file"):
        Gatekeeper(api, GatewaySettings(keys_file=str(tmp_path / "none.json")))


def test_no_keys_refuses_to_start_unless_no_auth(api: ModelsAPI) -> None:
    with pytest.raises(
        ConfigurationError, match=r"No gateway keys: set MODELS_GATEWAY_KEYS .* or serve without keys with --no-auth"
    ):
        Gatekeeper(api, GatewaySettings())
    with pytest.raises(ConfigurationError, match="configured and so is --no-auth"):
        gate(api, {"name": "alice", "key": ALICE}, no_auth=True)
    open_gate = Gatekeeper(api, GatewaySettings(no_auth=True))
    admission = run(open_gate.admit(None, "gpt-4o"))
    assert (admission.key, admission.model, open_gate.key_names) == ("anonymous", "openai/gpt-4o", ("anonymous",))
    assert run(open_gate.authenticate(None, admin=True)) == "anonymous"
    run(open_gate.settle(admission, Usage(10, 5, cost=0.000075)))  # counted in /api/usage too
    assert run(open_gate.usage())["keys"]["anonymous"]["requests"] == 1


# -- who may call what -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "You didn't provide an API key."),
        ("", "You didn't provide an API key."),
        (f"Basic {ALICE}", "You didn't provide an API key."),
        ("Bearer ", "You didn't provide an API key."),
        ("Bearer alice-secret-0123456780", "Incorrect API key provided."),
    ],
)
def test_401_without_a_valid_key(api: ModelsAPI, authorization: str | None, message: str) -> None:
    error = refused(gate(api, {"name": "alice", "key": ALICE}).admit(authorization, "gpt-4o"))
    assert (error.status, error.type, error.code, error.key, error.model) == (
        401,
        "invalid_request_error",
        "invalid_api_key",
        "unauthenticated",
        "other",
    )
    assert error.message.startswith(message) and "alice-secret" not in error.message


def test_403_for_a_model_the_key_may_not_call(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "models": ["gpt-4o", "anthropic/*"]})
    assert run(g.admit(f"bearer {ALICE}", "gpt-4o")).model == "openai/gpt-4o"  # an alias, resolved
    assert run(g.admit(f"Bearer {ALICE}", "claude-sonnet-4-6")).model == "anthropic/claude-sonnet-4-6"
    error = refused(g.admit(f"Bearer {ALICE}", "gpt-5"))
    assert (error.status, error.code, error.param, error.key, error.model) == (
        403,
        "model_not_allowed",
        "model",
        "alice",
        "openai/gpt-5",
    )
    assert error.message == (
        "The key 'alice' may not call openai/gpt-5. Ask the gateway's operator to add it to the key's models."
    )


def test_admin_keys_only_read_usage(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "admin": True}, {"name": "bob", "key": BOB})
    assert run(g.authenticate(f"Bearer {ALICE}", admin=True)) == "alice"
    assert run(g.authenticate(f"Bearer {BOB}")) == "bob"
    error = refused(g.authenticate(f"Bearer {BOB}", admin=True))
    assert (error.status, error.code, error.key) == (403, "admin_required", "bob")
    assert error.message == "The key 'bob' is not an admin key; usage and recent calls need one (\"admin\": true)."


# -- budgets ---------------------------------------------------------------------------------------
def test_a_budget_admits_exactly_what_fits_and_charges_the_exact_cost(wired: ModelsAPI) -> None:
    # $0.0003 holds a reservation of $0.000165 after one call ($0.000075) and after two ($0.00015), not three
    g = gate(wired, {"name": "alice", "key": ALICE, "budget_usd": "0.0003"})
    auth = f"Bearer {ALICE}"

    async def calls() -> GatewayError:
        for _ in range(2):
            admission = await g.admit(auth, "gpt-4o", prompt=HI, max_tokens=10)
            assert admission.reserved is not None and admission.reserved.units == RESERVE_HI
            response = await wired.acall("gpt-4o", HI, max_tokens=10)
            await g.settle(admission, response.usage)
        try:
            await g.admit(auth, "gpt-4o", prompt=HI, max_tokens=10)
        except GatewayError as error:
            return error
        raise AssertionError("a third request was admitted")

    error = run(calls())
    assert (error.status, error.type, error.code, error.key) == (
        429,
        "insufficient_quota",
        "insufficient_quota",
        "alice",
    )
    assert error.message == (
        "The key 'alice' is over its budget: $0.000150 spent and $0.000000 reserved by requests in flight, of "
        "$0.000300; this request may cost up to $0.000165 (its prompt and max_tokens of openai/gpt-4o). Nothing was "
        "sent. Lower max_tokens, or ask the gateway's operator to raise the budget."
    )
    report = run(g.usage())["keys"]["alice"]
    assert report == {
        "budget_usd": 0.0003,
        "budget_period": None,
        "spent_usd": 2 * COST_10_5 / 10**15,
        "reserved_usd": 0.0,
        "requests": 2,
        "errors": 0,
        "input_tokens": 20,
        "output_tokens": 10,
        "cached_input_tokens": 0,
        "cost_usd": 2 * COST_10_5 / 10**15,
        "models": {
            "openai/gpt-4o": {
                "requests": 2,
                "errors": 0,
                "input_tokens": 20,
                "output_tokens": 10,
                "cached_input_tokens": 0,
                "cost_usd": 2 * COST_10_5 / 10**15,
            }
        },
    }
    # a smaller request still fits: what is left is $0.00015, and "hi" with max_tokens=5 reserves $0.000115
    assert run(g.admit(auth, "gpt-4o", prompt=HI, max_tokens=5)).reserved.units == (26 * 250 + 5 * 1000) * 10**7  # type: ignore[union-attr]


def test_requests_in_flight_hold_their_reservation_and_a_failure_releases_it(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "budget_usd": "0.0003", "budget_period": "month"})
    auth = f"Bearer {ALICE}"
    first = run(g.admit(auth, "gpt-4o", prompt=HI, max_tokens=10))
    error = refused(g.admit(auth, "gpt-4o", prompt=HI, max_tokens=10))  # 2 x $0.000165 > $0.0003
    assert "$0.000000 spent and $0.000165 reserved by requests in flight, of $0.000300 per month (UTC)" in error.message
    run(g.settle(first, None))
    report = run(g.usage())["keys"]["alice"]
    assert (report["spent_usd"], report["reserved_usd"], report["requests"], report["errors"]) == (0.0, 0.0, 0, 1)
    assert report["models"] == {
        "openai/gpt-4o": {
            "requests": 0,
            "errors": 1,
            "input_tokens": 0,
            "output_tokens": 0,
            "cached_input_tokens": 0,
            "cost_usd": 0.0,
        }
    }
    assert run(g.admit(auth, "gpt-4o", prompt=HI, max_tokens=10)).reserved.units == RESERVE_HI  # type: ignore[union-attr]


def test_an_embedding_reserves_its_texts_bytes_at_the_input_price(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "budget_usd": 1})
    admission = run(g.admit(f"Bearer {ALICE}", "text-embedding-3-small", inputs=["hello", "héllo"]))
    assert admission.reserved is not None and admission.reserved.units == (5 + 6) * 2 * 10**7  # $0.02 per 1M


def test_a_budget_refuses_an_unpriced_model_and_an_unbounded_request(api: ModelsAPI) -> None:
    api.register_model("openai/house-model", context_window=1000, max_output=100)  # no price
    api.register_model("openai/no-max", context_window=1000, price={"input": 1, "output": 2})  # no max output
    g = gate(api, {"name": "alice", "key": ALICE, "budget_usd": 1}, {"name": "bob", "key": BOB})
    error = refused(g.admit(f"Bearer {ALICE}", "openai/house-model", prompt=HI))
    assert (error.status, error.code, error.param) == (403, "model_not_priced", "model")
    assert error.message.startswith("openai/house-model has no price, so the key 'alice', which has a budget, may not")
    error = refused(g.admit(f"Bearer {ALICE}", "openai/no-max", prompt=HI))
    assert (error.status, error.code, error.param) == (400, "unbounded_cost", "max_tokens")
    assert error.message.endswith("openai/no-max's maximum output is unknown. Pass max_tokens.")
    assert run(g.admit(f"Bearer {ALICE}", "openai/no-max", prompt=HI, max_tokens=10)).reserved.units == (  # type: ignore[union-attr]
        (26 * 1 + 10 * 2) * 10**9
    )
    assert run(g.admit(f"Bearer {BOB}", "openai/house-model", prompt=HI)).model == "openai/house-model"  # no budget


def test_tools_and_other_fields_count_towards_the_reservation(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "budget_usd": 1})
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    admission = run(g.admit(f"Bearer {ALICE}", "gpt-4o", prompt=HI, max_tokens=10, options={"tools": tools, "n": 2}))
    structured = len(json.dumps(tools)) + 1024  # the library's allowance for a tool prompt
    assert admission.reserved.units == ((26 + structured) * 250 + 20 * 1000) * 10**7  # type: ignore[union-attr]


# -- rate limits -----------------------------------------------------------------------------------
def test_requests_per_minute(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "rpm": 2})
    run(g.admit(f"Bearer {ALICE}", "gpt-4o"))
    run(g.admit(f"Bearer {ALICE}", "gpt-4o"))
    error = refused(g.admit(f"Bearer {ALICE}", "gpt-4o"))
    assert (error.status, error.type, error.code, error.headers) == (
        429,
        "requests",
        "rate_limit_exceeded",
        {"Retry-After": "30"},
    )
    assert error.message == (
        "Rate limit reached for the key 'alice' on requests per minute: limit 2. Please try again in 30s."
    )


def test_tokens_per_minute_take_the_estimate_then_the_actual(wired: ModelsAPI) -> None:
    g = gate(wired, {"name": "alice", "key": ALICE, "tpm": 100})
    auth = f"Bearer {ALICE}"

    async def flow() -> None:
        first = await g.admit(auth, "gpt-4o", prompt=HI, max_tokens=50)  # "hi" // 4 + 1 + 50 = 51 tokens
        assert first.reserved is not None and first.reserved.tokens == 51
        with pytest.raises(GatewayError) as caught:  # 49 left
            await g.admit(auth, "gpt-4o", prompt=HI, max_tokens=50)
        assert (caught.value.type, caught.value.headers) == (
            "tokens",
            {"Retry-After": "2"},
        )  # 2 tokens at 100/min: 1.2 s
        await g.settle(first, (await wired.acall("gpt-4o", HI, max_tokens=50)).usage)  # 15 used: 36 given back
        await g.admit(auth, "gpt-4o", prompt=HI, max_tokens=50)

    run(flow())


def test_a_refused_budget_gives_the_tokens_back(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "tpm": 100, "budget_usd": "0.0001"})
    for _ in range(3):  # each would take 51 of 100 tokens if a refusal kept them
        assert refused(g.admit(f"Bearer {ALICE}", "gpt-4o", prompt=HI, max_tokens=50)).type == "insufficient_quota"


# -- metrics ---------------------------------------------------------------------------------------
def test_metrics_exact_with_bounded_labels(wired: ModelsAPI) -> None:
    registry = CollectorRegistry()
    metrics = GatewayMetrics(("alice", "bob"), registry)
    usage = run(wired.acall("gpt-4o", HI, max_tokens=10)).usage
    for _ in range(3):
        metrics.record("alice", "openai/gpt-4o", "ok", usage, 0.2, False)
    metrics.record("mallory", "openai/gpt-4o", "invalid_request_error", None, 0.001, False)
    for n in range(MAX_MODEL_LABELS + 5):
        metrics.record("bob", f"openai/m{n}", "ok", Usage(1, 1, cost=None), 0.01, True)

    def value(name: str, **labels: str) -> float | None:
        return registry.get_sample_value(name, labels)

    assert value("models_gateway_requests_total", key="alice", model="openai/gpt-4o", status="ok") == 3
    assert value("models_gateway_tokens_total", key="alice", model="openai/gpt-4o", type="input") == 30
    assert value("models_gateway_tokens_total", key="alice", model="openai/gpt-4o", type="output") == 15
    assert value("models_gateway_cost_usd_total", key="alice", model="openai/gpt-4o") == 3 * COST_10_5 / 10**15
    assert value("models_gateway_request_duration_seconds_count", key="alice") == 3
    assert value("models_gateway_request_duration_seconds_bucket", key="alice", le="0.25") == 3
    assert (
        value(
            "models_gateway_requests_total",
            key="unauthenticated",
            model="openai/gpt-4o",
            status="invalid_request_error",
        )
        == 1
    )
    assert (
        value("models_gateway_requests_total", key="bob", model="other", status="ok") == 6
    )  # 99 distinct, then "other"
    assert value("models_gateway_requests_total", key="bob", model="openai/m98", status="ok") == 1
    assert value("models_gateway_cost_usd_total", key="bob", model="openai/m0") is None  # unknown cost: not 0
    text, content_type = metrics.render()
    assert content_type.startswith("text/plain") and b'models_gateway_requests_total{key="mallory"' not in text
    assert GatewayMetrics(("carol",), registry)._families is metrics._families  # made once per registry


def test_settle_after_a_stream_without_usage_keeps_the_reservation(api: ModelsAPI) -> None:
    g = gate(api, {"name": "alice", "key": ALICE, "budget_usd": 1})
    admission = run(g.admit(f"Bearer {ALICE}", "gpt-4o", prompt=HI, max_tokens=10))
    run(g.settle(admission, Usage(3, 0, cost=None, price_source="default")))  # priced, usage unknown
    assert run(g.usage())["keys"]["alice"]["spent_usd"] == RESERVE_HI / 10**15
    assert isinstance(admission, Admission)
