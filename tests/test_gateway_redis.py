"""Budgets, usage and rate limits shared through a real `redis-server` (started on a free local port):
the Redis store's arithmetic, exact beyond what a Lua double holds; gatekeepers of several workers
sharing one budget under concurrency; and TWO gateway worker processes (`models serve --workers 2`)
under many concurrent requests with nothing overspent."""

from __future__ import annotations

import asyncio
import json
import re
import time
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
UNITS = (26 * 250 + 10 * 1000) * 10**7  # $0.000165
UNIT = 60 * 10**6  # a bucket's units per request (limit_stores.UNIT)


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
            first, before = await store.reserve("big:all", limit, 60 * S + 999_999_999_999_999)
            assert first is not None and before == (0, 0)
            refused, before = await store.reserve("big:all", limit, 40 * S + 2)  # 1e-15 USD too much
            assert refused is None and before == (0, 60 * S + 999_999_999_999_999)
            second, _ = await store.reserve("big:all", limit, 39 * S + 2)  # exactly the limit
            assert second is not None
            assert await store.balance("big:all") == (0, limit)
            await store.settle("big:all", first, 60 * S + 999_999_999_999_998, "big", "openai/gpt-4o", (7, 3, 1))
            await store.settle("big:all", second, 3, "big", "openai/gpt-4o", None)
            assert await store.balance("big:all") == (61 * S + 1, 0)
            assert (await store.totals())["big"] == {"openai/gpt-4o": [1, 1, 7, 3, 1, 61 * S + 1]}
        finally:
            await store.aclose()

    run(flow())


def test_a_reservation_nobody_settles_lapses_after_its_lease(redis_url: str) -> None:
    async def flow() -> None:
        store = RedisSpend(redis_url, lease=0.05)
        try:
            assert (await store.reserve("lease:all", 10, 10))[0] is not None  # its worker "dies"
            assert (await store.reserve("lease:all", 10, 1))[0] is None
            await asyncio.sleep(0.1)
            ticket, before = await store.reserve("lease:all", 10, 10)
            assert ticket is not None and before == (0, 0)
        finally:
            await store.aclose()

    run(flow())


def test_gatekeepers_of_several_workers_share_one_budget_under_concurrency(
    redis_url: str, wired: ModelsAPI, fake: FakeLLM
) -> None:
    keys = json.dumps([{"name": "shared", "key": ALICE, "budget_usd": "0.00165", "rpm": 100}])
    settings = GatewaySettings(keys=keys, redis_url=redis_url)

    async def flow() -> tuple[int, int, float, dict[str, Any]]:
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
            started = time.perf_counter()
            admitted = sum(await asyncio.gather(*(one(n) for n in range(40))))
            report = (await gates[1].usage())["keys"]["shared"]
            _, _, level, _ = await gates[0].store.rate("shared", 100, None, 0, 0, "peek")
            return admitted, level, time.perf_counter() - started, report
        finally:
            for gate in gates:
                await gate.aclose()

    fake.set_reply(REPLY)
    admitted, level, elapsed, report = run(flow())
    assert admitted == 10
    assert (report["spent_usd"], report["reserved_usd"], report["requests"], report["cost_usd"]) == (
        10 * UNITS / S,
        0.0,
        10,
        10 * UNITS / S,
    )
    # 40 requests taken from the shared bucket of 100 (which refills 100 per minute meanwhile)
    assert 60 * UNIT <= level <= 60 * UNIT + int(elapsed * 10**6 + 1) * 100


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
        fake.set_reply(REPLY)
        env = {
            "MODELS_GATEWAY_KEYS": json.dumps(keys),
            "MODELS_REDIS_URL": redis_url,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        }
        with GatewayProcess(fake, workers=2, env=env, log=log) as gateway:
            yield gateway, metrics_dir, log


def test_two_workers_share_one_redis_budget_and_overspend_nothing(workers: tuple[GatewayProcess, Path, Path]) -> None:
    gateway, metrics_dir, log = workers

    async def burst() -> list[int]:
        client = gateway.async_client(ALICE)

        async def one() -> int:
            try:
                await client.chat.completions.create(model="gpt-4o", messages=HI, max_tokens=10)
                return 200
            except openai.RateLimitError as error:
                assert error.response.json()["error"]["code"] == "insufficient_quota"
                return 429

        try:
            return await asyncio.gather(*(one() for _ in range(64)))
        finally:
            await client.close()

    started = time.perf_counter()
    statuses = run(burst())
    elapsed = time.perf_counter() - started
    assert (statuses.count(200), statuses.count(429)) == (10, 54), elapsed
    usage = json.loads(_get(gateway, "/api/usage", ADMIN))["keys"]["team"]
    assert (usage["spent_usd"], usage["reserved_usd"], usage["requests"], usage["errors"]) == (
        10 * UNITS / S,
        0.0,
        10,
        0,
    )
    assert usage["models"]["openai/gpt-4o"]["input_tokens"] == 260
    metrics = _get(gateway, "/metrics")
    assert _sample(metrics, 'models_gateway_requests_total{key="team",model="openai/gpt-4o",status="ok"}') == 10
    assert (
        _sample(metrics, 'models_gateway_requests_total{key="team",model="openai/gpt-4o",status="insufficient_quota"}')
        == 54
    )
    assert _sample(metrics, 'models_gateway_cost_usd_total{key="team",model="openai/gpt-4o"}') == pytest.approx(
        10 * UNITS / S, rel=1e-12
    )  # each worker's file holds a float sum
    assert _sample(metrics, 'models_requests_total{model="openai/gpt-4o",provider="openai",status="ok"}') == 10
    workers_seen = {re.sub(r"\D", "", p.name) for p in metrics_dir.glob("counter_*.db")}
    assert len(workers_seen) == 2, workers_seen  # both workers answered and wrote their samples
    secrets = (ALICE, ADMIN, *KEYS.values())
    assert not any(secret in metrics for secret in secrets)
    assert not any(secret in log.read_text() for secret in secrets)


def _get(gateway: GatewayProcess, path: str, key: str | None = None) -> str:
    request = urllib.request.Request(gateway.url + path, headers={"Authorization": f"Bearer {key}"} if key else {})
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=10) as answer:
        return str(answer.read().decode())


def _sample(text: str, series: str) -> float:
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} is not in /metrics")
