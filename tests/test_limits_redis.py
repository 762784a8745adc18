"""Rate limits shared through a real `redis-server`, started by the tests on a free local port.

Redis's clock runs in real time, so each wait is checked against bounds read from the
server's own `TIME` around the operation: exact up to the time the test itself took.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from models import ConfigurationError, LimitStoreError, ModelsAPI
from models._call.limits import Limit, Limits, Reservation
from models._call.limits_redis import RedisStore
from models.errors import RateLimitError

from .conftest import sample
from .fake_llm import FakeLLM, Fault

if TYPE_CHECKING:
    import redis

KEY = "openai/gpt-5"


def _start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A fresh `redis-server` on a free local port, answering pings; skips without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    pytest.importorskip("redis", reason="the redis package is not installed (pip install 'models[redis]')")
    import redis

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with redis.Redis(host="127.0.0.1", port=port) as client:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    server.kill()
                    raise
                time.sleep(0.02)
    return server, f"redis://127.0.0.1:{port}/0"


def _stop_redis(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGCONT)  # a stopped server cannot act on SIGTERM
        server.terminate()
    server.wait(10)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    server, url = _start_redis()
    try:
        yield url
    finally:
        _stop_redis(server)


@pytest.fixture
def own_redis() -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """A server of this test's own, to kill (SIGKILL) or stop (SIGSTOP) mid-test."""
    server, url = _start_redis()
    try:
        yield server, url
    finally:
        _stop_redis(server)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    import redis

    with redis.Redis.from_url(redis_url) as connection:
        connection.flushdb()
        yield connection


def _now(client: redis.Redis) -> float:
    seconds, micros = client.time()
    return int(seconds) + int(micros) / 1_000_000


def test_the_lua_bucket_takes_exactly_its_capacity_then_reports_the_wait(client: redis.Redis, redis_url: str) -> None:
    gpt = Limits().set(KEY, rpm=30, block=False, store=redis_url)  # one request per 2 s
    assert gpt is not None
    before = _now(client)
    taken = 0
    with pytest.raises(RateLimitError) as caught:
        for _ in range(40):
            gpt.acquire()
            taken += 1
    elapsed = _now(client) - before
    assert elapsed < 1.0  # so refill cannot have added a whole request
    assert taken == 30
    error = caught.value
    assert error.retry_after is not None
    assert 2.0 - elapsed <= error.retry_after <= 2.0
    assert error.message.startswith("client-side limit for openai/gpt-5 reached (rpm=30): capacity in ")
    assert (error.provider, error.model) == ("openai", KEY)
    remaining = gpt.remaining()
    assert remaining.tokens is None
    assert remaining.requests is not None
    assert 0.0 <= remaining.requests <= elapsed / 2


def test_buckets_live_under_a_namespaced_key_that_expires_once_full_again(client: redis.Redis, redis_url: str) -> None:
    gpt = Limits().set(KEY, rpm=30, tpm=6000, store=redis_url)
    assert gpt is not None
    gpt.acquire(3000)  # the tpm bucket needs 30 s to refill, the rpm bucket 2 s
    assert client.keys("*") == [b"models:limit:openai/gpt-5"]
    assert sorted(client.hkeys("models:limit:openai/gpt-5")) == [b"l1", b"l2", b"r1", b"r2", b"s1", b"s2"]
    assert client.hmget("models:limit:openai/gpt-5", "r1", "r2") == [b"30", b"6000"]  # the rates written at
    assert 30_000 < client.pttl("models:limit:openai/gpt-5") <= 31_000  # 30 s to full, plus a second


def test_tpm_settle_and_all_or_nothing_through_redis(client: redis.Redis, redis_url: str) -> None:
    gpt = Limits().set(KEY, rpm=30, tpm=60, block=False, store=redis_url)  # 1 token per second
    assert gpt is not None
    before = _now(client)
    reservation = gpt.acquire(50)
    with pytest.raises(RateLimitError, match=r"\(tpm=60\)"):
        gpt.acquire(20)
    reservation.settle(80)  # 30 tokens more than reserved: a debt
    remaining = gpt.remaining()
    elapsed = _now(client) - before
    assert remaining.requests is not None
    assert remaining.tokens is not None
    assert 29.0 <= remaining.requests <= 29.0 + elapsed / 2  # the refused call took no request
    assert -20.0 <= remaining.tokens <= -20.0 + elapsed
    reservation.settle(10)  # the actual count was lower after all: refund 70
    assert 50.0 <= (gpt.remaining().tokens or 0.0) <= 50.0 + (_now(client) - before)


def test_a_rate_changed_on_redis_is_rescaled_by_the_script(client: redis.Redis, redis_url: str) -> None:
    limits = Limits()
    slow = limits.set(KEY, rpm=5, block=False, store=redis_url)
    assert slow is not None
    before = _now(client)
    for _ in range(5):
        slow.acquire()
    assert limits.set(KEY) is None  # removed: the shared bucket stays for other processes...
    fast = limits.set(KEY, rpm=120, block=False, store=redis_url)
    assert fast is not None
    for _ in range(6):
        fast.acquire()  # ...but raised to 120, the added 115 are free at once: no RateLimitError
    requests = fast.remaining().requests
    elapsed = _now(client) - before
    assert requests is not None
    assert 109.0 <= requests <= 109.0 + 2 * elapsed  # 120 - 5 - 6, plus the refill meanwhile
    slower = limits.set(KEY, rpm=60, block=False, store=redis_url)  # lowered: the fraction left
    assert slower is not None
    requests = slower.remaining().requests
    elapsed = _now(client) - before
    assert requests is not None
    assert 54.5 <= requests <= 54.5 + elapsed  # 109 of 120 left, so 54.5 of 60


def test_a_memory_limit_and_a_redis_limit_roll_back_together(client: redis.Redis, redis_url: str) -> None:
    limits = Limits()
    provider = limits.set("openai", rpm=1000, tpm=100_000)  # in this process
    model = limits.set(KEY, rpm=30, block=False, store=redis_url)
    assert provider is not None
    assert model is not None
    both = limits.for_model(KEY, "openai")
    for _ in range(30):
        limits.acquire_all(both, 1000)
    with pytest.raises(RateLimitError, match="client-side limit for openai/gpt-5 reached"):
        limits.acquire_all(both, 1000)
    requests, tokens = provider.remaining()
    assert requests is not None
    assert tokens is not None
    assert 970.0 <= requests < 971.0  # 30 taken, the refused call's share given back
    assert 70_000.0 <= tokens < 70_000.0 + 100_000 / 60  # less than a second of refill


def test_async_acquire_and_settle_on_redis(client: redis.Redis, redis_url: str) -> None:
    gpt = Limits().set(KEY, rpm=30, tpm=60_000, block=False, store=redis_url)
    assert gpt is not None

    async def main() -> int:
        results = await asyncio.gather(*(gpt.aacquire(1000) for _ in range(40)), return_exceptions=True)
        reservations = [result for result in results if isinstance(result, Reservation)]
        assert sum(isinstance(result, RateLimitError) for result in results) == 40 - len(reservations)
        await reservations[0].asettle(0)
        return len(reservations)

    before = _now(client)
    assert asyncio.run(main()) == 30
    tokens = gpt.remaining().tokens
    assert tokens is not None
    assert 31_000.0 <= tokens <= 31_000.0 + 1000 * (_now(client) - before)


def _worker(url: str, attempts: int, barrier: threading.Barrier) -> tuple[int, float]:
    """In a fresh process: how many block=False acquisitions succeed, and how long they took."""
    gpt = Limits().set(KEY, rpm=30, block=False, store=url)
    assert gpt is not None
    gpt.store.apply("warm-up", 1, None, 0, 0, "peek")  # connect and load the script before the race
    barrier.wait()  # a manager's proxy of a threading.Barrier, shared by both processes
    started, taken = time.monotonic(), 0
    for _ in range(attempts):
        try:
            gpt.acquire()
            taken += 1
        except RateLimitError:
            pass
    return taken, time.monotonic() - started


def test_two_processes_together_get_exactly_the_capacity(client: redis.Redis, redis_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            results = pool.starmap(_worker, [(redis_url, 40, barrier)] * 2)
    assert all(elapsed < 1.0 for _, elapsed in results)  # refill cannot have added a whole request
    assert sum(taken for taken, _ in results) == 30


def _reserve_and_settle(url: str, tokens: int, actual: int) -> None:
    limit = Limit(KEY, tpm=60, store=RedisStore(url))
    limit.acquire(tokens).settle(actual)


def test_a_debt_settled_in_another_process_delays_this_one(client: redis.Redis, redis_url: str) -> None:
    gpt = Limits().set(KEY, tpm=60, block=False, store=redis_url)  # 1 token per second
    assert gpt is not None
    before = _now(client)
    child = multiprocessing.get_context("spawn").Process(target=_reserve_and_settle, args=(redis_url, 50, 80))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    with pytest.raises(RateLimitError) as caught:
        gpt.acquire(1)
    elapsed = _now(client) - before
    assert caught.value.retry_after is not None
    assert 21.0 - elapsed <= caught.value.retry_after <= 21.0  # 20 tokens of debt, then 1


def _calls_through_models(url: str, model: str, attempts: int, barrier: threading.Barrier) -> int:
    """In a fresh process: calls through `models.limit(..., store=redis)`; how many were let through."""
    import warnings

    from models import ModelsAPI

    warnings.simplefilter("ignore")  # the mock model is unpriced
    api = ModelsAPI()
    api.limit(model, rpm=30, block=False, store=url)
    api.limit("mock/warm-up", rpm=30, store=url)
    api("mock/warm-up", "hi")  # connects and loads the script, outside the shared limit
    barrier.wait()  # both processes start together: refill (1 request per 2 s) adds nothing whole
    done = 0
    for _ in range(attempts):
        try:
            api(model, "hi")
            done += 1
        except RateLimitError:
            pass
    return done


def test_models_limit_shared_by_two_processes_through_redis(client: redis.Redis, redis_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    model = "mock/shared-limit"
    with context.Manager() as manager:
        barrier = manager.Barrier(2)
        with context.Pool(2) as pool:
            done = pool.starmap(_calls_through_models, [(redis_url, model, 25, barrier)] * 2)
    assert sum(done) == 30  # rpm=30 across both processes, whatever their split


def test_an_unreachable_store_is_a_clear_error() -> None:
    from models import ConfigurationError, ModelsAPI

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = ModelsAPI()
    api.limit("mock/echo", rpm=10, store=f"redis://:s3cret@127.0.0.1:{port}/0")
    with pytest.raises(ConfigurationError, match=r"rate-limit store redis://:\*\*\*@127\.0\.0\.1") as caught:
        api("mock/echo", "hi")
    assert "s3cret" not in str(caught.value)


# --- a store that dies or hangs ------------------------------------------------------------------

GPT = {"provider": "openai", "model": "openai/gpt-4o"}


def _kill(server: subprocess.Popen[bytes]) -> None:
    server.kill()
    server.wait(10)


def test_a_dead_store_refuses_the_call_once_and_gives_the_budget_back(
    wired: ModelsAPI, fake: FakeLLM, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    server, url = own_redis
    wired.limit("gpt-4o", rpm=100, store=url)
    wired("gpt-4o", "hi")
    _kill(server)
    with wired.budget(usd=1) as budget:
        with pytest.raises(
            LimitStoreError, match=r"rate-limit store redis://127\.0\.0\.1:\d+/0 failed within "
        ) as caught:
            wired("gpt-4o", "hi")
        assert isinstance(caught.value, ConfigurationError)  # what it was before it had a class of its own
        with pytest.raises(LimitStoreError):
            asyncio.run(wired.acall("gpt-4o", "hi"))
        assert (budget.spent, budget.remaining) == (0.0, 1.0)  # both reservations given back
    assert len(fake.requests) == 1
    assert sample(wired, "models_requests_total", status="ok", **GPT) == 1
    assert sample(wired, "models_requests_total", status="other", **GPT) == 2  # once per call
    assert sample(wired, "models_in_flight_requests", **GPT) == 0
    assert wired.usage()["openai/gpt-4o"].errors == 2


def test_a_dead_store_moves_a_call_with_fallbacks_to_the_next_model(
    wired: ModelsAPI, fake: FakeLLM, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    server, url = own_redis
    wired.limit("gpt-4o", rpm=100, store=url)
    _kill(server)
    response = wired("gpt-4o", "hi", fallbacks=["claude-sonnet-4-6"])
    assert response.model == "anthropic/claude-sonnet-4-6"
    assert [(a.model, a.error_kind) for a in response.attempts] == [("openai/gpt-4o", "other")]
    assert isinstance(response.attempts[0].error, LimitStoreError)
    assert [request.provider for request in fake.requests] == ["anthropic"]
    assert sample(wired, "models_requests_total", status="other", **GPT) == 1
    assert sample(wired, "models_fallbacks_total", reason="other", **GPT) == 1
    claude = {"provider": "anthropic", "model": "anthropic/claude-sonnet-4-6"}
    assert sample(wired, "models_requests_total", status="ok", **claude) == 1
    assert "openai/gpt-4o" not in wired.health()  # no failure recorded against the model: not its fault


@pytest.mark.parametrize("fault", ["killed", "stopped"])
def test_a_store_failing_during_the_request_loses_no_answer(
    wired: ModelsAPI,
    fake: FakeLLM,
    own_redis: tuple[subprocess.Popen[bytes], str],
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    server, url = own_redis
    wired.limit("gpt-4o", rpm=100, tpm=100_000, store=url)  # tpm: the actual tokens are settled in Redis
    fake.enqueue(Fault(delay=0.5))
    fail = _kill if fault == "killed" else lambda server: server.send_signal(signal.SIGSTOP)

    def fail_once_sent() -> None:  # the store fails while the request is at the server, not before
        deadline = time.monotonic() + 5
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.005)
        fail(server)

    timer = threading.Thread(target=fail_once_sent)
    timer.start()
    started = time.monotonic()
    with wired.budget(usd=1) as budget:
        response = wired("gpt-4o", "hi", max_tokens=100, timeout=1)
    elapsed = time.monotonic() - started
    timer.join()
    assert (response.text, response.usage.cost) == ("echo: hi", 0.000075)  # 10 x 2.50 + 5 x 10 micro-dollars
    assert budget.spent == 0.000075
    assert elapsed < 0.5 + 1.0 + 0.5  # the answer, then a settle bounded by the call's timeout
    assert sample(wired, "models_requests_total", status="ok", **GPT) == 1
    assert sample(wired, "models_requests_total", status="other", **GPT) is None
    assert sample(wired, "models_settle_failures_total", **GPT) == 1
    failures = [
        r for r in caplog.records if r.getMessage() == "models: settling the rate limits of openai/gpt-4o failed"
    ]
    assert len(failures) == 1 and failures[0].levelno == logging.ERROR
    assert isinstance(failures[0].exc_info and failures[0].exc_info[1], LimitStoreError)


def test_a_hung_store_holds_a_call_no_longer_than_its_timeout(
    wired: ModelsAPI, fake: FakeLLM, own_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    server, url = own_redis
    wired.limit("gpt-4o", rpm=100, store=url)
    wired("gpt-4o", "hi")  # leaves a connection in the pool
    server.send_signal(signal.SIGSTOP)
    with wired.budget(usd=1) as budget:
        started = time.monotonic()
        with pytest.raises(LimitStoreError, match=r"failed within [01]\.\d{3} s \(TimeoutError: Timeout reading"):
            wired("gpt-4o", "hi", timeout=1)
        first = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(LimitStoreError):  # a new connection: the connect succeeds, the read hangs
            wired("gpt-4o", "hi", timeout=0.5)
        second = time.monotonic() - started
        assert budget.remaining == 1.0
    assert 0.95 <= first < 1.4 and 0.45 <= second < 0.9  # not the store's 5 s
    assert len(fake.requests) == 1
    assert sample(wired, "models_requests_total", status="other", **GPT) == 2
