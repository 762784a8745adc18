"""Per-model health: breaker states, probes, cooldowns, error rate, EWMA latency, threads."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from models._observe.health import MAX_MODELS, Health, ModelHealth

M = "openai/gpt-5"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **kwargs: Any) -> Health:
    return Health(clock=clock, **kwargs)


def fail(health: Health, times: int, model: str = M) -> None:
    for _ in range(times):
        health.record(model, False)


def open_breaker(health: Health, model: str = M) -> None:
    fail(health, 3, model)
    assert health.get(model).state == "open"


def test_unseen_model_is_closed_with_zeros(clock: Clock) -> None:
    health = make(clock)
    assert health.allow(M) is True
    assert health.latency(M) is None
    assert health.get(M) == ModelHealth(M, "closed", 0, 0.0, 0, None, 0.0)
    assert health.snapshot() == {}  # asking about a model does not create it


def test_opens_exactly_at_the_threshold(clock: Clock) -> None:
    health = make(clock, failure_threshold=3)
    fail(health, 2)
    assert health.get(M).state == "closed"
    assert health.get(M).consecutive_failures == 2
    assert health.allow(M) is True
    fail(health, 1)
    assert health.get(M).state == "open"
    assert health.get(M).consecutive_failures == 3
    assert health.allow(M) is False


def test_a_success_resets_the_consecutive_failures(clock: Clock) -> None:
    health = make(clock, failure_threshold=3)
    fail(health, 2)
    health.record(M, True, 0.5)
    assert health.get(M).consecutive_failures == 0
    fail(health, 2)
    assert health.get(M).state == "closed"
    fail(health, 1)
    assert health.get(M).state == "open"


def test_retry_in_is_exact_while_open(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    assert health.get(M).retry_in == 30.0
    clock.advance(12.5)
    assert health.get(M).retry_in == 17.5
    assert health.allow(M) is False
    clock.advance(17.5)
    view = health.get(M)  # cooldown over: reported half-open before anyone asks
    assert (view.state, view.retry_in) == ("half_open", 0.0)


def test_half_open_lets_exactly_one_probe_through(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(30.0)
    assert health.allow(M) is True
    assert health.allow(M) is False
    assert health.allow(M) is False
    assert health.get(M).state == "half_open"
    assert health.get(M).retry_in == 0.0


def test_probe_success_closes(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(30.0)
    assert health.allow(M) is True
    health.record(M, True, 1.0)
    view = health.get(M)
    assert (view.state, view.consecutive_failures, view.retry_in) == ("closed", 0, 0.0)
    assert health.allow(M) is True
    assert health.allow(M) is True


def test_probe_failure_reopens_with_doubled_cooldown_up_to_the_cap(clock: Clock) -> None:
    health = make(clock, cooldown=10.0, max_cooldown=50.0)
    open_breaker(health)
    for expected in (20.0, 40.0, 50.0, 50.0):
        clock.advance(health.get(M).retry_in)
        assert health.allow(M) is True
        health.record(M, False)
        view = health.get(M)
        assert (view.state, view.retry_in) == ("open", expected)
        clock.advance(expected - 0.5)
        assert health.allow(M) is False
        clock.advance(0.5)
    assert health.get(M).consecutive_failures == 7


def test_a_close_resets_the_cooldown_to_base(clock: Clock) -> None:
    health = make(clock, cooldown=10.0, max_cooldown=300.0)
    open_breaker(health)
    clock.advance(10.0)
    assert health.allow(M)
    health.record(M, False)
    assert health.get(M).retry_in == 20.0
    clock.advance(20.0)
    assert health.allow(M)
    health.record(M, True)
    assert health.get(M).state == "closed"
    open_breaker(health)
    assert health.get(M).retry_in == 10.0


def test_release_frees_the_probe_without_an_outcome(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(30.0)
    assert health.allow(M) is True
    health.release(M)
    view = health.get(M)
    assert (view.state, view.consecutive_failures, view.requests) == ("half_open", 3, 3)
    assert health.allow(M) is True
    assert health.allow(M) is False


def test_release_outside_half_open_changes_nothing(clock: Clock) -> None:
    health = make(clock)
    health.release("never/seen")
    assert health.snapshot() == {}
    fail(health, 1)
    before = health.get(M)
    health.release(M)
    assert health.get(M) == before
    fail(health, 2)
    health.release(M)
    assert health.get(M).state == "open"
    assert health.allow(M) is False


def test_a_stale_probe_lets_another_through(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(30.0)
    assert health.allow(M) is True  # this probe is never settled
    clock.advance(29.5)
    assert health.allow(M) is False
    clock.advance(0.5)  # outstanding for a full cooldown
    assert health.allow(M) is True
    assert health.allow(M) is False


def test_late_outcomes_while_open_leave_the_breaker_open(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(10.0)
    fail(health, 1)  # a call sent before the opening fails late: no longer cooldown
    assert health.get(M).retry_in == 20.0
    health.record(M, True, 2.0)  # nor does a late success close it
    view = health.get(M)
    assert (view.state, view.consecutive_failures, view.requests, view.latency) == ("open", 0, 5, 2.0)
    assert health.allow(M) is False


def test_error_rate_is_exact_over_the_window(clock: Clock) -> None:
    health = make(clock, window=60.0, failure_threshold=100)
    health.record(M, True)  # t = 0
    clock.advance(10.0)
    fail(health, 1)  # t = 10
    clock.advance(10.0)
    fail(health, 2)  # t = 20
    health.record(M, True)
    view = health.get(M)
    assert (view.requests, view.error_rate) == (5, 0.6)
    clock.advance(40.0)  # t = 60: the first outcome expires exactly now
    view = health.get(M)
    assert (view.requests, view.error_rate) == (4, 0.75)
    clock.advance(9.75)
    assert health.get(M).requests == 4
    clock.advance(0.25)  # t = 70
    assert (health.get(M).requests, health.get(M).error_rate) == (3, 2 / 3)
    clock.advance(10.0)  # t = 80: all gone
    view = health.get(M)
    assert (view.requests, view.error_rate) == (0, 0.0)
    assert view.consecutive_failures == 0  # the count is not windowed; the last outcome succeeded


def test_max_samples_keeps_only_the_newest_outcomes(clock: Clock) -> None:
    health = make(clock, max_samples=4, failure_threshold=100)
    fail(health, 6)
    health.record(M, True)
    health.record(M, True)
    view = health.get(M)
    assert (view.requests, view.error_rate) == (4, 0.5)


def test_ewma_latency_is_exact(clock: Clock) -> None:
    health = make(clock, alpha=0.5)
    assert health.latency(M) is None
    health.record(M, True, 1.0)  # the first observation sets it
    assert health.latency(M) == 1.0
    health.record(M, True, 2.0)
    assert health.latency(M) == 1.5
    health.record(M, True, 0.5)
    assert health.latency(M) == 1.0
    health.record(M, False, 100.0)  # failures do not count
    health.record(M, True)  # nor does a success without a timing
    assert health.latency(M) == 1.0
    assert health.get(M).latency == 1.0


def test_default_alpha_weighs_the_new_value(clock: Clock) -> None:
    health = make(clock)
    health.record(M, True, 2.0)
    health.record(M, True, 4.0)
    assert health.latency(M) == 2.0 + 0.3 * (4.0 - 2.0)


def test_latency_stays_none_after_failures_only(clock: Clock) -> None:
    health = make(clock)
    health.record(M, False, 1.0)
    assert health.latency(M) is None
    assert health.get(M).latency is None


def test_snapshot_get_and_reset(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    health.record("a/one", True, 0.25)
    open_breaker(health, "b/two")
    clock.advance(5.0)
    everything = health.snapshot()
    assert list(everything) == ["a/one", "b/two"]
    assert everything["a/one"] == ModelHealth("a/one", "closed", 0, 0.0, 1, 0.25, 0.0)
    assert everything["b/two"] == ModelHealth("b/two", "open", 3, 1.0, 3, None, 25.0)
    assert health.get("b/two") == everything["b/two"]
    chosen = health.snapshot(m for m in ("b/two", "c/new"))
    assert chosen == {"b/two": everything["b/two"], "c/new": ModelHealth("c/new", "closed", 0, 0.0, 0, None, 0.0)}
    health.reset("b/two")
    assert health.get("b/two") == ModelHealth("b/two", "closed", 0, 0.0, 0, None, 0.0)
    assert health.allow("b/two") is True
    assert list(health.snapshot()) == ["a/one"]
    health.reset()
    assert health.snapshot() == {}
    assert health.latency("a/one") is None


def test_model_health_is_immutable_comparable_and_readable() -> None:
    view = ModelHealth(M, "open", 3, 0.75, 4, 1.23456789, 12.5)
    with pytest.raises(AttributeError, match="immutable"):
        view.state = "closed"
    with pytest.raises(AttributeError, match="immutable"):
        del view.model
    assert not hasattr(view, "__dict__")
    assert view == ModelHealth(M, "open", 3, 0.75, 4, 1.23456789, 12.5)
    assert view != ModelHealth(M, "open", 3, 0.75, 4, 1.23456789, 12.0)
    assert hash(view) == hash(ModelHealth(M, "open", 3, 0.75, 4, 1.23456789, 12.5))
    assert repr(view) == (
        "ModelHealth(model='openai/gpt-5', state='open', consecutive_failures=3, error_rate=0.75, "
        "requests=4, latency=1.2346, retry_in=12.5)"
    )
    assert "latency=None" in repr(ModelHealth(M, "closed", 0, 0.0, 0, None, 0.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"failure_threshold": 0}, ValueError, "failure_threshold must be an int >= 1, not 0"),
        ({"failure_threshold": 2.5}, TypeError, "failure_threshold must be an int >= 1, not 2.5"),
        ({"failure_threshold": True}, TypeError, "failure_threshold must be an int >= 1, not True"),
        ({"failure_threshold": "x"}, TypeError, "failure_threshold must be an int >= 1, not 'x'"),
        ({"cooldown": 0}, ValueError, "cooldown must be a number of seconds > 0, not 0"),
        ({"cooldown": -1.0}, ValueError, "cooldown must be a number of seconds > 0, not -1.0"),
        ({"cooldown": float("nan")}, ValueError, "cooldown must be a number of seconds > 0, not nan"),
        ({"cooldown": "30"}, TypeError, "cooldown must be a number of seconds > 0, not '30'"),
        ({"cooldown": True}, TypeError, "cooldown must be a number of seconds > 0, not True"),
        ({"max_cooldown": 0.0}, ValueError, "max_cooldown must be a number of seconds > 0, not 0.0"),
        ({"max_cooldown": None}, TypeError, "max_cooldown must be a number of seconds > 0, not None"),
        (
            {"cooldown": 60.0, "max_cooldown": 30.0},
            ValueError,
            "max_cooldown (30.0) must not be less than cooldown (60.0)",
        ),
        ({"window": 0.0}, ValueError, "window must be a number of seconds > 0, not 0.0"),
        ({"window": [60]}, TypeError, "window must be a number of seconds > 0, not [60]"),
        ({"alpha": 0.0}, ValueError, "alpha must be a number in (0, 1], not 0.0"),
        ({"alpha": 1.5}, ValueError, "alpha must be a number in (0, 1], not 1.5"),
        ({"alpha": float("nan")}, ValueError, "alpha must be a number in (0, 1], not nan"),
        ({"alpha": "0.3"}, TypeError, "alpha must be a number in (0, 1], not '0.3'"),
        ({"max_samples": 0}, ValueError, "max_samples must be an int >= 1, not 0"),
        ({"max_samples": 10.0}, TypeError, "max_samples must be an int >= 1, not 10.0"),
    ],
)
def test_invalid_arguments_name_the_argument_and_the_valid_values(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        Health(**kwargs)
    assert (type(caught.value), str(caught.value)) == (error, message)


def test_boundary_arguments_are_accepted() -> None:
    health = Health(failure_threshold=1, cooldown=5, max_cooldown=5, alpha=1.0, max_samples=1)
    health.record(M, True, 3.0)
    health.record(M, True, 1.0)
    assert health.latency(M) == 1.0  # alpha 1: the last value
    health.record(M, False)
    assert health.get(M).state == "open"  # one failure is enough
    assert health.get(M).requests == 1


def test_threads_recording_keep_exact_counts(clock: Clock) -> None:
    health = make(clock, failure_threshold=10**9, max_samples=10_000)
    start = threading.Barrier(8)

    def work(index: int) -> None:
        start.wait()
        for i in range(1000):
            health.record(M, i % 2 == 0, 1.0)
            health.record(f"thread/{index}", False)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    view = health.get(M)
    assert (view.requests, view.error_rate, view.latency) == (8000, 0.5, 1.0)
    for n in range(8):
        assert health.get(f"thread/{n}").consecutive_failures == 1000


def test_only_one_of_many_concurrent_half_open_callers_probes(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    open_breaker(health)
    clock.advance(30.0)
    callers = 32
    start = threading.Barrier(callers)
    answers: list[bool] = []

    def ask() -> None:
        start.wait()
        answers.append(health.allow(M))

    threads = [threading.Thread(target=ask) for _ in range(callers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [False] * (callers - 1) + [True]


def test_a_fork_while_the_lock_is_held_leaves_the_child_working() -> None:
    import os

    health = Health()
    with health._lock:  # another thread holds it at the moment of the fork
        pid = os.fork()
        if pid == 0:  # the child: its lock is fresh
            health.record("m", True, 0.5)
            os._exit(0 if health.get("m").latency == 0.5 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_cooling_is_the_wait_of_an_open_breaker_only() -> None:
    clock = Clock()
    health = Health(failure_threshold=1, cooldown=10.0, clock=clock)
    assert health.cooling("m") == 0.0
    health.record("m", False)
    clock.now += 4.0
    assert health.cooling("m") == 6.0
    clock.now += 6.0
    assert health.cooling("m") == 0.0  # due: the next allow() is the probe


def fill(health: Health, clock: Clock, count: int = MAX_MODELS) -> None:
    """`count` models m0, m1, ..., each recorded one second after the last."""
    for i in range(count):
        clock.advance(1)
        health.record(f"m{i}", True, 0.5)


def test_at_most_max_models_are_kept_dropping_the_least_recently_recorded(clock: Clock) -> None:
    assert MAX_MODELS == 1024
    health = make(clock)
    fill(health, clock)
    assert len(health.snapshot()) == 1024
    clock.advance(1)
    health.record("m0", True)  # now the most recent: m1 is the least
    health.record("new", False)
    models = health.snapshot()
    assert len(models) == 1024
    assert "m1" not in models and "m0" in models and "m2" in models
    assert models["new"].requests == 1
    health.record("newer", True)
    assert len(health.snapshot()) == 1024
    assert "m2" not in health.snapshot()
    assert health.latency("m1") is None  # dropped: unmeasured again, closed with zeros
    assert health.get("m1") == ModelHealth("m1", "closed", 0, 0.0, 0, None, 0.0)


def test_an_open_or_half_open_breaker_is_never_dropped(clock: Clock) -> None:
    health = make(clock, cooldown=30.0)
    fill(health, clock)
    open_breaker(health, "m1")
    clock.advance(31)
    assert health.allow("m1") is True  # half-open, its probe out
    open_breaker(health, "m0")
    for i in range(2, MAX_MODELS):
        health.record(f"m{i}", True)  # m0 (open) and m1 (half-open) are now the least recently recorded
    health.record("new", True)
    models = health.snapshot()
    assert len(models) == 1024
    assert (models["m0"].state, models["m1"].state) == ("open", "half_open")
    assert "m2" not in models and "m3" in models and "new" in models


def test_while_every_kept_breaker_is_open_a_new_model_is_not_tracked(clock: Clock) -> None:
    health = make(clock, failure_threshold=1)
    for i in range(MAX_MODELS):
        health.record(f"m{i}", False)
    health.record("new", False)
    assert len(health.snapshot()) == 1024
    assert "new" not in health.snapshot()
    assert health.allow("new") is True  # untracked: never in cooldown
    assert health.get("new") == ModelHealth("new", "closed", 0, 0.0, 0, None, 0.0)
    clock.advance(31)
    assert health.allow("m5") is True
    health.record("m5", True)  # m5's probe succeeds: closed, so it can make room
    health.record("new", False)
    models = health.snapshot()
    assert len(models) == 1024 and "m5" not in models and models["new"].state == "open"
