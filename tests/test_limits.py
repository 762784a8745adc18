"""Client-side rate limits on a simulated clock: every wait and level is asserted exactly."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from models._call.limit_stores import MemoryStore, Outcome, Store
from models._call.limits import Limit, Limits, Timing
from models._call.limits_redis import redacted
from models.errors import ConfigurationError, RateLimitError


class SimClock:
    """Monotonic seconds that only move when someone sleeps; records every sleep."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def sim() -> SimClock:
    return SimClock()


@pytest.fixture
def limits(sim: SimClock) -> Limits:
    return Limits(clock=sim, sleep=sim.sleep, asleep=sim.asleep)


def _limit(limits: Limits, key: str, rpm: int | None = None, tpm: int | None = None, **kwargs: object) -> Limit:
    limit = limits.set(key, rpm, tpm, **kwargs)  # type: ignore[arg-type]
    assert limit is not None
    return limit


def _refused(limits: Limits, limit_set: tuple[Limit, ...], tokens: int = 0, **kwargs: object) -> RateLimitError:
    with pytest.raises(RateLimitError) as caught:
        limits.acquire_all(limit_set, tokens, **kwargs)  # type: ignore[arg-type]
    return caught.value


# --- one limit -------------------------------------------------------------------------------


def test_rpm_bucket_starts_full_and_the_next_request_waits_exactly_one_interval(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60, block=False)
    for _ in range(60):
        gpt.acquire()
    assert gpt.remaining() == (0.0, None)
    with pytest.raises(RateLimitError) as caught:
        gpt.acquire()
    error = caught.value
    assert error.retry_after == 1.0
    assert error.retryable is True
    assert (error.provider, error.model, error.status_code) == ("openai", "openai/gpt-5", None)
    assert (
        error.message
        == "client-side limit for openai/gpt-5 reached (rpm=60): capacity in 1.000 s, and block=False, so not waiting"
    )
    assert sim.slept == []


def test_blocking_acquire_sleeps_exactly_until_capacity(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60)
    for _ in range(60):
        gpt.acquire()
    gpt.acquire()
    assert sim.slept == [1.0]
    assert sim.now == 1001.0
    gpt.acquire()
    assert sim.slept == [1.0, 1.0]
    assert gpt.remaining().requests == 0.0


def test_refill_is_continuous_and_capped_at_capacity(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60, block=False)
    for _ in range(60):
        gpt.acquire()
    sim.now += 0.25
    assert gpt.remaining().requests == 0.25
    assert _refused(limits, (gpt,)).retry_after == 0.75
    sim.now += 3600
    assert gpt.remaining().requests == 60.0  # an idle hour refills to capacity, not beyond


def test_tpm_wait_is_exact_and_names_tpm(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", tpm=1000, block=False)
    gpt.acquire(600)
    assert gpt.remaining() == (None, 400.0)
    error = _refused(limits, (gpt,), 500)
    assert error.retry_after == 6.0  # 100 tokens short at 1000/60 tokens per second
    assert error.message.startswith("client-side limit for openai/gpt-5 reached (tpm=1000): capacity in 6.000 s")
    assert gpt.remaining() == (None, 400.0)


def test_both_buckets_of_a_limit_are_taken_together_or_not_at_all(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=10, tpm=1000, block=False)
    gpt.acquire(900)
    error = _refused(limits, (gpt,), 200)
    assert "(tpm=1000)" in error.message
    assert gpt.remaining() == (9.0, 100.0)  # the refused call took no request either


def test_settle_refunds_and_debts_are_exact(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", tpm=1000)
    reservation = gpt.acquire(600)
    reservation.settle(200)
    assert gpt.remaining().tokens == 800.0
    reservation.settle(300)  # settling again adjusts from what was charged, never double-counts
    assert gpt.remaining().tokens == 700.0
    reservation.settle(1500)  # the call used more than the bucket held: a debt
    assert gpt.remaining().tokens == -500.0
    gpt.acquire(100)  # waits for 600 tokens at 1000/60 tokens per second
    assert sim.slept == [36.0]
    assert gpt.remaining().tokens == 0.0


def test_refunds_never_fill_a_bucket_beyond_capacity(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", tpm=1000)
    gpt.settle(-5000)
    assert gpt.remaining().tokens == 1000.0
    gpt.settle(250)
    assert gpt.remaining().tokens == 750.0
    gpt.settle(0)
    assert gpt.remaining().tokens == 750.0


def test_a_debt_delays_even_a_call_that_estimates_no_tokens(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=100, tpm=600, block=False)
    gpt.acquire(0).settle(900)
    assert _refused(limits, (gpt,), 0).retry_after == 30.0  # 300 tokens of debt at 10 tokens per second


def test_a_request_larger_than_tpm_is_refused_at_once_and_not_retryable(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=10, tpm=1000)
    error = _refused(limits, (gpt,), 1001, timeout=None)
    assert error.retryable is False
    assert error.retry_after is None
    assert error.message == (
        "client-side limit for openai/gpt-5 reached (tpm=1000): this call needs 1001 tokens "
        "(prompt estimate + max_tokens); raise tpm via models.limit('openai/gpt-5', tpm=...) or lower max_tokens"
    )
    assert sim.slept == []
    assert gpt.remaining() == (10.0, 1000.0)
    gpt.acquire(1000)  # exactly the capacity fits


def test_a_call_of_several_requests_takes_them_all_or_waits_for_them_all(limits: Limits, sim: SimClock) -> None:
    # an embedding sent in three batches takes three requests; more than rpm can never fit
    emb = _limit(limits, "openai/text-embedding-3-small", rpm=6, tpm=1000)
    limits.acquire_all((emb,), 10, requests=3)
    assert emb.remaining() == (3.0, 990.0)
    limits.acquire_all((emb,), 10, requests=3)
    limits.acquire_all((emb,), 10, requests=3)  # waits until 3 requests have refilled: 30 s at 6 a minute
    assert sim.slept == [30.0]
    assert emb.remaining() == (0.0, 990.0)  # the tokens refilled to capacity meanwhile
    error = _refused(limits, (emb,), 0, requests=7)
    assert (error.retryable, error.retry_after) == (False, None)
    assert error.message == (
        "client-side limit for openai/text-embedding-3-small reached (rpm=6): this call sends 7 requests; "
        "raise rpm via models.limit('openai/text-embedding-3-small', rpm=...) or send fewer at once"
    )
    with pytest.raises(ValueError, match="requests must be >= 1, not 0"):
        limits.acquire_all((emb,), 0, requests=0)


# --- timeouts --------------------------------------------------------------------------------


def test_a_wait_longer_than_the_timeout_raises_without_sleeping(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60)
    for _ in range(60):
        gpt.acquire()
    error = _refused(limits, (gpt,), timeout=0.5)
    assert error.retry_after == 1.0
    assert error.message.endswith("capacity in 1.000 s, beyond the remaining timeout of 0.500 s")
    assert sim.slept == []
    assert _refused(limits, (gpt,), timeout=0).retry_after == 1.0
    gpt.acquire(timeout=1.0)  # a wait equal to the timeout is allowed
    assert sim.slept == [1.0]


def test_the_timeout_counts_from_the_start_of_the_acquisition(sim: SimClock) -> None:
    """A competitor takes the refilled request while we sleep; our second wait must fit what is left."""

    def sleep_while_a_competitor_takes(seconds: float) -> None:
        sim.sleep(seconds)
        gpt.acquire()  # never waits: it finds the request that refilled while we slept

    limits = Limits(clock=sim, sleep=sleep_while_a_competitor_takes)
    gpt = _limit(limits, "openai/gpt-5", rpm=60)
    for _ in range(60):
        gpt.acquire()
    error = _refused(limits, (gpt,), timeout=1.5)
    assert sim.slept == [1.0]  # the competitor woke with us and took that request
    assert error.retry_after == 1.0
    assert error.message.endswith("beyond the remaining timeout of 0.500 s")


# --- several limits ----------------------------------------------------------------------------


def test_for_model_returns_provider_then_model_and_nothing_allocated_when_empty(limits: Limits) -> None:
    assert limits.for_model("openai/gpt-5", "openai") == ()
    assert limits.for_model("openai/gpt-5", "openai") is limits.for_model("anthropic/x", "anthropic")
    model = _limit(limits, "openai/gpt-5", rpm=10)
    assert limits.for_model("openai/gpt-5", "openai") == (model,)
    provider = _limit(limits, "openai", rpm=100)
    assert limits.for_model("openai/gpt-5", "openai") == (provider, model)
    assert limits.for_model("openai/gpt-4o", "openai") == (provider,)
    assert limits.for_model("anthropic/claude-sonnet-4-6", "anthropic") == ()
    assert limits.set("openai/gpt-5") is None  # rpm and tpm both None: removed
    assert limits.for_model("openai/gpt-5", "openai") == (provider,)
    assert limits.get("openai/gpt-5") is None
    assert repr(limits) == "Limits([Limit('openai', rpm=100, tpm=None, block=True, store='memory')])"


def test_provider_and_model_limits_apply_together_and_a_miss_gives_back_what_was_taken(limits: Limits) -> None:
    provider = _limit(limits, "openai", rpm=3, tpm=3000, block=False)
    gpt5 = _limit(limits, "openai/gpt-5", rpm=2, block=False)
    for_gpt5 = limits.for_model("openai/gpt-5", "openai")
    for_gpt4o = limits.for_model("openai/gpt-4o", "openai")
    limits.acquire_all(for_gpt5, 100)
    limits.acquire_all(for_gpt5, 100)
    error = _refused(limits, for_gpt5, 100, model="openai/gpt-5", provider="openai")
    assert error.retry_after == 30.0
    assert "client-side limit for openai/gpt-5 reached (rpm=2)" in error.message
    assert provider.remaining() == (1.0, 2800.0)  # the provider's share was given back exactly
    limits.acquire_all(for_gpt4o, 100)  # another model still gets the provider's last request
    error = _refused(limits, for_gpt4o, 100, model="openai/gpt-4o", provider="openai")
    assert "client-side limit for openai reached (rpm=3)" in error.message
    assert (error.provider, error.model, error.retry_after) == ("openai", "openai/gpt-4o", 20.0)
    assert gpt5.remaining().requests == 0.0


def test_retry_after_is_the_longest_wait_among_the_limits_and_one_sleep_covers_all(
    limits: Limits, sim: SimClock
) -> None:
    provider = _limit(limits, "openai", rpm=60)  # short by 1 s
    model = _limit(limits, "openai/gpt-5", rpm=6)  # short by 10 s
    both = limits.for_model("openai/gpt-5", "openai")
    for _ in range(6):
        limits.acquire_all(both, 0)
    for _ in range(54):
        provider.acquire()
    assert _refused(limits, both, timeout=9.0).retry_after == 10.0
    limits.acquire_all(both, 0)
    assert sim.slept == [10.0]
    assert provider.remaining().requests == 9.0
    assert model.remaining().requests == 0.0


def test_block_false_on_the_limit_that_is_short_raises_while_a_blocking_one_would_wait(
    limits: Limits, sim: SimClock
) -> None:
    provider = _limit(limits, "openai", rpm=60)
    model = _limit(limits, "openai/gpt-5", rpm=600, block=False)
    for _ in range(60):
        provider.acquire()
    limits.acquire_all((provider, model), 0)  # only the blocking provider limit is short: wait
    assert sim.slept == [1.0]
    for _ in range(599):
        model.acquire()
    error = _refused(limits, (provider, model))
    assert "client-side limit for openai/gpt-5 reached (rpm=600)" in error.message
    assert error.retry_after == 1.0  # the provider needs a full second, the model 0.1 s
    assert sim.slept == [1.0]


class _BrokenStore(Store):
    def apply(
        self,
        key: str,
        rpm: int | None,
        tpm: int | None,
        requests: int,
        tokens: int,
        mode: str,
        timeout: float | None = None,
    ) -> Outcome:
        raise OSError("store unreachable")


def test_a_failing_store_gives_back_what_earlier_limits_took(limits: Limits) -> None:
    provider = _limit(limits, "openai", rpm=10, tpm=1000)
    model = _limit(limits, "openai/gpt-5", rpm=10, store=_BrokenStore())
    with pytest.raises(OSError, match="store unreachable"):
        limits.acquire_all((provider, model), 400)
    assert provider.remaining() == (10.0, 1000.0)


def test_settling_a_reservation_adjusts_every_tpm_limit_it_took(limits: Limits) -> None:
    provider = _limit(limits, "openai", tpm=10_000)
    model = _limit(limits, "openai/gpt-5", rpm=5, tpm=2000)
    rpm_only = _limit(limits, "openai/gpt-4o", rpm=5)
    reservation = limits.acquire_all((provider, model, rpm_only), 1500)
    reservation.settle(400)
    assert provider.remaining() == (None, 9600.0)
    assert model.remaining() == (4.0, 1600.0)
    assert rpm_only.remaining() == (4.0, None)


def test_replacing_a_limit_at_the_same_rate_keeps_its_level_so_it_is_never_refilled_by_resetting(
    limits: Limits,
) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60, block=False)
    for _ in range(60):
        gpt.acquire()
    again = _limit(limits, "openai/gpt-5", rpm=60, block=False)
    assert again.remaining().requests == 0.0
    assert _refused(limits, (again,)).retry_after == 1.0


def test_raising_a_rate_frees_the_added_capacity_at_once(limits: Limits, sim: SimClock) -> None:
    for _ in range(5):
        _limit(limits, "openai/gpt-5", rpm=5).acquire()
    faster = _limit(limits, "openai/gpt-5", rpm=120)
    assert faster.remaining().requests == 115.0  # the 5 used in this minute still count
    for _ in range(120):
        faster.acquire()
    assert sim.slept == [0.5] * 5  # 115 at once, then one each half second: 2.5 s, not 60 s


def test_lowering_a_rate_keeps_the_fraction_left_so_it_refills_in_the_same_time(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=120, tpm=1200)
    for _ in range(60):
        gpt.acquire(10)  # half of each bucket
    slower = _limit(limits, "openai/gpt-5", rpm=60, tpm=600)
    assert slower.remaining() == (30.0, 300.0)
    sim.now += 30  # 30 s refilled the 120-rpm bucket's missing half; the 60-rpm one needs the same
    assert slower.remaining() == (60.0, 600.0)


def test_a_rate_change_rescales_a_debt_too(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", tpm=1000, block=False)
    gpt.acquire(600).settle(1200)  # 200 tokens owed
    assert _limit(limits, "openai/gpt-5", tpm=2000).remaining() == (None, 800.0)  # raised: +1000
    # only a call writes the rescaled level: back at 1000 before any call, the debt is as it was
    assert _limit(limits, "openai/gpt-5", tpm=1000).remaining() == (None, -200.0)
    assert _limit(limits, "openai/gpt-5", tpm=500).remaining() == (None, -100.0)  # lowered: half the debt


def test_a_limit_removed_and_set_anew_starts_full(limits: Limits, sim: SimClock) -> None:
    for _ in range(5):
        _limit(limits, "openai/gpt-5", rpm=5).acquire()
    assert limits.set("openai/gpt-5") is None
    anew = _limit(limits, "openai/gpt-5", rpm=120)
    assert anew.remaining().requests == 120.0
    for _ in range(6):
        anew.acquire()
    assert sim.slept == []  # 6 calls at once, not 3 s
    limits.set("openai/gpt-5")
    same = _limit(limits, "openai/gpt-5", rpm=120)
    assert same.remaining().requests == 120.0  # at the same rate as before too


def test_moving_a_limit_to_another_store_leaves_no_bucket_behind(limits: Limits) -> None:
    store = MemoryStore()
    for _ in range(5):
        _limit(limits, "openai/gpt-5", rpm=5).acquire()
    _limit(limits, "openai/gpt-5", rpm=5, store=store)
    assert _limit(limits, "openai/gpt-5", rpm=5).remaining().requests == 5.0  # back in memory: full


def test_a_standalone_limit_has_its_own_store(sim: SimClock) -> None:
    limit = Limit("mock", rpm=2, timing=Timing(sim, sim.sleep))
    limit.acquire()
    limit.acquire()
    limit.acquire()
    assert sim.slept == [30.0]
    assert isinstance(limit.store, MemoryStore)
    assert (limit.key, limit.rpm, limit.tpm, limit.block) == ("mock", 2, None, True)


# --- async -----------------------------------------------------------------------------------


def test_async_acquire_awaits_the_exact_wait(limits: Limits, sim: SimClock) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=60, tpm=600)

    async def main() -> None:
        for _ in range(6):
            reservation = await limits.aacquire_all((gpt,), 100)
        await reservation.asettle(40)
        await gpt.aacquire(100)
        assert sim.slept == [4.0]  # 40 tokens were free; 60 more arrive at 10 per second
        with pytest.raises(RateLimitError) as caught:
            await gpt.aacquire(600, timeout=59.0)
        assert caught.value.retry_after == 60.0

    asyncio.run(main())
    assert sim.slept == [4.0]


def test_async_acquire_with_the_real_clock_leaves_the_event_loop_running() -> None:
    limits = Limits()  # time.monotonic and asyncio.sleep
    gpt = _limit(limits, "openai/gpt-5", tpm=60_000)  # 1000 tokens per second

    async def main() -> tuple[float, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        await gpt.aacquire(60_000)
        started = time.monotonic()
        await gpt.aacquire(20)  # ~20 ms
        elapsed = time.monotonic() - started
        task.cancel()
        return elapsed, ticks

    elapsed, ticks = asyncio.run(main())
    assert 0.019 <= elapsed < 1.0
    assert ticks >= 3  # the ticker ran while we waited


# --- threads and fork ------------------------------------------------------------------------


def test_threads_racing_on_a_frozen_clock_get_exactly_the_capacity() -> None:
    limits = Limits(clock=lambda: 50.0)
    provider = _limit(limits, "openai", rpm=100, block=False)
    model = _limit(limits, "openai/gpt-5", rpm=60, block=False)
    both = limits.for_model("openai/gpt-5", "openai")
    outcomes: list[bool] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        mine = []
        for _ in range(50):
            try:
                limits.acquire_all(both, 0)
                mine.append(True)
            except RateLimitError:
                mine.append(False)
        outcomes.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(True) == 60
    assert outcomes.count(False) == 340
    assert model.remaining().requests == 0.0
    assert provider.remaining().requests == 40.0  # every rollback was exact


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_lock_is_held_can_still_take() -> None:
    store = MemoryStore(lambda: 0.0)
    with store._lock:
        pid = os.fork()
        if pid == 0:  # the child: without a fresh lock this would hang until the alarm
            signal.alarm(5)
            os._exit(0 if store.apply("k", 1, None, 1, 0, "take")[0] == 0 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- arguments, repr, imports ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"key": "", "rpm": 1}, ValueError, "key must not be empty"),
        ({"key": None, "rpm": 1}, TypeError, "key must be a provider name"),
        ({"key": "k", "rpm": 0}, ValueError, "rpm must be >= 1, not 0"),
        ({"key": "k", "rpm": -5}, ValueError, "rpm must be >= 1"),
        ({"key": "k", "rpm": 1.5}, TypeError, "rpm must be an int or None, not 1.5"),
        ({"key": "k", "rpm": True}, TypeError, "rpm must be an int or None, not True"),
        ({"key": "k", "tpm": "10"}, TypeError, "tpm must be an int or None"),
        ({"key": "k", "tpm": 0}, ValueError, "tpm must be >= 1"),
        ({"key": "k", "rpm": 1, "block": "yes"}, TypeError, "block must be True or False"),
        ({"key": "k", "rpm": 1, "store": "http://localhost"}, ValueError, "store must be None, 'memory', a redis://"),
        ({"key": "k", "rpm": 1, "store": 3}, TypeError, "store must be None"),
    ],
)
def test_set_validates_its_arguments(limits: Limits, kwargs: dict[str, object], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        limits.set(**kwargs)  # type: ignore[arg-type]
    assert limits.for_model("k/x", "k") == ()


@pytest.mark.parametrize(
    ("tokens", "timeout", "error", "message"),
    [
        (-1, None, ValueError, "tokens must be >= 0, not -1"),
        (1.5, None, TypeError, "tokens must be an int, not 1.5"),
        (1, -1, ValueError, "timeout must be >= 0 seconds, not -1"),
        (1, math.nan, ValueError, "timeout must be >= 0 seconds, not nan"),
        (1, "1", TypeError, "timeout must be seconds or None"),
        (1, True, TypeError, "timeout must be seconds or None"),
    ],
)
def test_acquire_validates_its_arguments(
    limits: Limits, tokens: object, timeout: object, error: type, message: str
) -> None:
    gpt = _limit(limits, "openai/gpt-5", rpm=1)
    with pytest.raises(error, match=message):
        limits.acquire_all((gpt,), tokens, timeout=timeout)  # type: ignore[arg-type]
    assert gpt.remaining().requests == 1.0


def test_settle_and_limit_validate_their_arguments(limits: Limits) -> None:
    gpt = _limit(limits, "openai/gpt-5", tpm=100)
    reservation = gpt.acquire(10)
    with pytest.raises(ValueError, match="actual_tokens must be >= 0, not -1"):
        reservation.settle(-1)
    with pytest.raises(TypeError, match=r"tokens_delta must be an int, not 2\.0"):
        gpt.settle(2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a limit on 'k' needs rpm or tpm"):
        Limit("k")
    assert gpt.remaining().tokens == 90.0


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://default:hunter2@cache.example.com:6380/1", "rediss://default:***@cache.example.com:6380/1"),
        ("redis://cache:6379/0?password=hunter2&db=2", "redis://cache:6379/0?password=***&db=2"),
        ("redis://cache:6379/0", "redis://cache:6379/0"),
        ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ],
)
def test_store_urls_are_shown_without_passwords(url: str, shown: str) -> None:
    assert redacted(url) == shown


def test_a_redis_limit_repr_hides_the_password_and_connects_to_nothing(limits: Limits) -> None:
    pytest.importorskip("redis", reason="pip install 'models[redis]'")
    url = "redis://user:hunter2@192.0.2.1:6379/0"  # TEST-NET-1: nothing answers there
    limit = _limit(limits, "openai", rpm=100, store=url)
    assert repr(limit) == "Limit('openai', rpm=100, tpm=None, block=True, store='redis://user:***@192.0.2.1:6379/0')"
    assert "hunter2" not in repr(limits)
    assert _limit(limits, "anthropic", rpm=5, store=url).store is limit.store  # one pool per URL


def test_a_missing_redis_package_names_the_extra(limits: Limits, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'models\[redis\]'") as caught:
        limits.set("openai", rpm=1, store="redis://:hunter2@localhost:6379/0")
    assert "hunter2" not in str(caught.value)
    assert limits.get("openai") is None


def test_importing_models_and_limits_imports_neither_asyncio_nor_redis() -> None:
    code = "import sys, models, models._call.limits; print(sorted({'asyncio', 'redis'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
