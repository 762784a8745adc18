"""Budgets, usage and rate limits shared through a real `redis-server` (started on a free local port):
the Redis store's arithmetic, exact beyond what a Lua double holds; gatekeepers of several workers
sharing one budget under concurrency; and TWO gateway worker processes (`models serve --workers 2`)
under many concurrent requests with nothing overspent."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import openai
import pytest

from models import LimitStoreError, ModelsAPI
from models._gateway.gate import Gatekeeper, GatewayError
from models._gateway.settings import GatewaySettings
from models._gateway.spend_redis import RedisSpend

from .conftest import KEYS
from .fake_llm import FakeLLM, Reply
from .gateway_server import GatewayProcess, free_port
from .test_limits_redis import _start_redis, _stop_redis

T = TypeVar("T")
S = 10**15  # 1e-15 USD per USD
ALICE = "alice-secret-0123456789"
ADMIN = "admin-secret-0123456789"
HI = [{"role": "user", "content": "hi"}]
REPLY = Reply(input_tokens=26, output_tokens=10)  # exactly the reservation of "hi", max_tokens=10 on gpt-4o
SLOW = Reply(input_tokens=26, output_tokens=10, first_chunk_delay=0.05)
UNITS = (26 * 250 + 10 * 1000) * 10**7  # $0.000165


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    server, url = _start_redis()
    try:
        yield url
    finally:
        _stop_redis(server)


def run(coroutine: Awaitable[T]) -> T:
    async def main() -> T:
        return await coroutine

    return asyncio.run(main())


def test_amounts_stay_exact_past_what_a_lua_double_holds(redis_url: str) -> None:
    async def flow() -> None:
        store = RedisSpend(redis_url)
        try:
            limit = 100 * S + 1  # $100.000000000000001: 2**53 is about $9
            first = await store.admit("big", None, "big:all", limit, 60 * S + 999_999_999_999_999)
            assert first.ok and first.ticket is not None and (first.spent, first.reserved) == (0, 0)
            refused = await store.admit("big", None, "big:all", limit, 40 * S + 2)  # 1e-15 USD too much
            assert refused == (False, None, 0, 0, 0, 60 * S + 999_999_999_999_999)
            second = await store.admit("big", None, "big:all", limit, 39 * S + 2)  # exactly the limit
            assert second.ok
            assert await store.balance("big:all") == (0, limit)
            await store.settle("big:all", first.ticket, 60 * S + 999_999_999_999_998, "big", "openai/gpt-4o", (7, 3, 1))
            await store.settle("big:all", second.ticket, 3, "big", "openai/gpt-4o", None)
            assert await store.balance("big:all") == (61 * S + 1, 0)
            assert (await store.totals())["big"] == {"openai/gpt-4o": [1, 1, 7, 3, 1, 61 * S + 1]}
        finally:
            await store.aclose()

    run(flow())


def test_a_refusal_takes_nothing_and_settling_corrects_the_tokens(redis_url: str) -> None:
    async def flow() -> None:
        store = RedisSpend(redis_url)
        try:
            rate = (None, 100, 60)
            held = await store.admit("both", rate, "both:all", 10, 10)
            assert held.ok
            refused = await store.admit("both", (None, 100, 30), "both:all", 10, 1)  # over budget: no tokens taken
            assert refused == (False, None, 0, 0, 0, 10)
            limited = await store.admit("both", (None, 100, 41), None, 0, 0)  # 40 tokens left
            assert (limited.ok, limited.which) == (False, 2) and 0 < limited.wait <= 600_000  # 1 token at 100/min
            assert (await store.admit("both", (None, 100, 40), None, 0, 0)).ok
            await store.settle("both:all", held.ticket, 7, "both", "openai/gpt-4o", (5, 5, 0), (None, 100, 10 - 60))
            assert (await store.admit("both", (None, 100, 50), None, 0, 0)).ok  # the 50 given back
        finally:
            await store.aclose()

    run(flow())


def test_a_reservation_nobody_settles_lapses_after_its_lease(redis_url: str) -> None:
    async def flow() -> None:
        store = RedisSpend(redis_url, lease=0.05)
        try:
            assert (await store.admit("lease", None, "lease:all", 10, 10)).ok  # its worker "dies"
            assert not (await store.admit("lease", None, "lease:all", 10, 1)).ok
            await asyncio.sleep(0.1)
            again = await store.admit("lease", None, "lease:all", 10, 10)
            assert again.ok and (again.spent, again.reserved) == (0, 0)
        finally:
            await store.aclose()

    run(flow())


def test_a_periods_budget_is_kept_for_its_period_and_an_all_time_one_for_good(redis_url: str) -> None:
    import redis

    async def flow() -> None:
        store = RedisSpend(redis_url)
        try:
            for account in ("ttl:2026-12-03", "ttl:2026-12", "ttl:all"):
                verdict = await store.admit("ttl", None, account, 10, 1)
                await store.settle(account, verdict.ticket, 1, "ttl", "openai/gpt-4o", (1, 1, 0))
        finally:
            await store.aclose()

    run(flow())
    with redis.Redis.from_url(redis_url) as client:
        ttls = [client.ttl(f"models:gateway:budget:ttl:{period}") for period in ("2026-12-03", "2026-12", "all")]
        assert ttls[0] in (3 * 86400, 3 * 86400 - 1) and ttls[1] in (62 * 86400, 62 * 86400 - 1) and ttls[2] == -1
        assert client.ttl("models:gateway:usage:ttl") == -1


def test_rate_limits_are_shared_by_the_workers(redis_url: str, api: ModelsAPI) -> None:
    settings = GatewaySettings(keys=json.dumps([{"name": "rated", "key": ALICE, "rpm": 3}]), redis_url=redis_url)

    async def flow() -> GatewayError:
        gates = [Gatekeeper(api, settings), Gatekeeper(api, settings)]
        try:
            for n in range(3):
                await gates[n % 2].admit(f"Bearer {ALICE}", "gpt-4o")
            try:
                await gates[1].admit(f"Bearer {ALICE}", "gpt-4o")
            except GatewayError as error:
                return error
            raise AssertionError("a fourth request in the minute was admitted")
        finally:
            for gate in gates:
                await gate.aclose()

    error = run(flow())
    assert (error.status, error.type, error.headers) == (429, "requests", {"Retry-After": "20"})


def test_gatekeepers_of_several_workers_share_one_budget_under_concurrency(
    redis_url: str, wired: ModelsAPI, fake: FakeLLM
) -> None:
    keys = json.dumps([{"name": "shared", "key": ALICE, "budget_usd": "0.00165", "rpm": 1000}])
    settings = GatewaySettings(keys=keys, redis_url=redis_url)

    async def flow() -> tuple[int, dict[str, Any]]:
        gates = [Gatekeeper(wired, settings), Gatekeeper(wired, settings)]  # two workers' gatekeepers

        async def one(n: int) -> bool:
            gate = gates[n % 2]
            try:
                admission = await gate.admit(f"Bearer {ALICE}", "gpt-4o", prompt=HI, max_tokens=10)
            except GatewayError as error:
                assert error.code == "insufficient_quota"
                return False
            await asyncio.sleep(0.001)
            await gate.settle(admission, (await wired.acall("gpt-4o", HI, max_tokens=10)).usage)
            return True

        try:
            admitted = sum(await asyncio.gather(*(one(n) for n in range(40))))
            return admitted, (await gates[1].usage())["keys"]["shared"]
        finally:
            for gate in gates:
                await gate.aclose()

    fake.set_reply(REPLY)
    admitted, report = run(flow())
    assert admitted == 10
    assert (report["spent_usd"], report["reserved_usd"], report["requests"], report["cost_usd"]) == (
        10 * UNITS / S,
        0.0,
        10,
        10 * UNITS / S,
    )


def test_redis_down_refuses_with_503_and_no_secret(wired: ModelsAPI) -> None:
    url = f"redis://:hunter2-redis-password@127.0.0.1:{free_port()}/0"
    gate = Gatekeeper(
        wired, GatewaySettings(keys=json.dumps([{"name": "a", "key": ALICE, "budget_usd": 1}]), redis_url=url)
    )
    with pytest.raises(GatewayError) as caught:
        run(gate.admit(f"Bearer {ALICE}", "gpt-4o", prompt=HI, max_tokens=10))
    assert (caught.value.status, caught.value.code) == (503, "store_unavailable")
    assert "hunter2" not in caught.value.message and "hunter2" not in repr(gate.store)
    with pytest.raises(LimitStoreError, match=r"redis://:\*\*\*@127\.0\.0\.1"):
        run(gate.store.totals())


# -- two worker processes --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workers(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, Path, Path]]:
    keys = [
        {"name": "admin", "key": ADMIN, "admin": True},
        {"name": "team", "key": ALICE, "budget_usd": "0.00165", "budget_period": "day"},  # 10 requests
    ]
    base = tmp_path_factory.mktemp("two-workers")
    metrics_dir, log = base / "metrics", base / "gateway.log"
    metrics_dir.mkdir()
    with FakeLLM() as fake:
        fake.set_reply(SLOW)
        env = {
            "MODELS_GATEWAY_KEYS": json.dumps(keys),
            "MODELS_REDIS_URL": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        with GatewayProcess(fake, workers=2, env=env, log=log) as gateway:
            yield gateway, metrics_dir, log


def test_two_workers_share_one_redis_budget_and_overspend_nothing(workers: tuple[GatewayProcess, Path, Path]) -> None:
    """64 streams, a few ms apart so that each connection is a worker's to accept, each held open 50 ms
    upstream so that both workers hold reservations at once: exactly the 10 that fit are answered."""
    gateway, metrics_dir, log = workers

    async def burst() -> list[int]:
        client = gateway.async_client(ALICE)

        async def one(n: int) -> int:
            await asyncio.sleep(n * 0.003)
            try:
                stream = await client.chat.completions.create(
                    model="gpt-4o", messages=HI, max_tokens=10, stream=True, stream_options={"include_usage": True}
                )
                chunks = [chunk async for chunk in stream]
                assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 36
                return 200
            except openai.RateLimitError as error:
                assert error.response.json()["error"]["code"] == "insufficient_quota"
                return 429

        try:
            return await asyncio.gather(*(one(n) for n in range(64)))
        finally:
            await client.close()

    statuses = run(burst())
    assert (statuses.count(200), statuses.count(429)) == (10, 54)
    usage = json.loads(_get(gateway, "/api/usage", ADMIN))["keys"]["team"]
    assert (usage["spent_usd"], usage["reserved_usd"], usage["requests"], usage["errors"]) == (
        10 * UNITS / S,
        0.0,
        10,
        0,
    )
    assert usage["models"]["openai/gpt-4o"]["input_tokens"] == 260
    # each worker's own samples, from its file: both answered, and what they answered adds up
    ok = 'models_gateway_requests_total{key="team",model="openai/gpt-4o",status="ok"}'
    refused = 'models_gateway_requests_total{key="team",model="openai/gpt-4o",status="insufficient_quota"}'
    per_worker = [_file_samples(path) for path in sorted(metrics_dir.glob("counter_*.db"))]
    answered = [worker.get(ok, 0) + worker.get(refused, 0) for worker in per_worker]
    assert len(answered) == 2 and all(answered) and sum(answered) == 64, answered
    metrics = _get(gateway, "/metrics")  # whichever worker answers serves the sum over both
    assert _sample(metrics, ok) == 10 and _sample(metrics, refused) == 54
    assert _sample(metrics, 'models_gateway_cost_usd_total{key="team",model="openai/gpt-4o"}') == pytest.approx(
        10 * UNITS / S, rel=1e-12
    )  # each worker's file holds a float sum
    assert _sample(metrics, 'models_requests_total{model="openai/gpt-4o",provider="openai",status="ok"}') == 10
    secrets = (ALICE, ADMIN, *KEYS.values())
    assert not any(secret in metrics for secret in secrets)
    assert not any(secret in log.read_text() for secret in secrets)


def _file_samples(path: Path) -> dict[str, float]:
    """One worker's counter samples, from its prometheus-client multiprocess file."""
    from prometheus_client.mmap_dict import MmapedDict

    samples = {}
    for key, value, _, _ in MmapedDict.read_all_values_from_file(str(path)):
        _, name, labels, _ = json.loads(key)
        samples[name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"] = value
    return samples


def _get(gateway: GatewayProcess, path: str, key: str | None = None) -> str:
    request = urllib.request.Request(gateway.url + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
        return str(answer.read().decode())


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} is not in /metrics")
