"""Fallbacks, circuit breakers and client-side rate limits, against the wire fake."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

from models import AuthenticationError, ContextWindowExceededError, ModelsAPI, RateLimitError, ServerError
from models._call.limits import Limits

from .conftest import MODELS, sample
from .fake_llm import FakeLLM, Fault, Reply

FORMS = ["call", "stream", "acall", "astream"]
CHAIN = [MODELS["anthropic"], MODELS["openai"], MODELS["google"]]


def run(target: Any, form: str, *args: Any, **params: Any) -> Any:
    """One call in the given form, read to the end; returns its `Response`."""
    if form == "call":
        return target(*args, **params)
    if form == "stream":
        stream = target.stream(*args, **params)
        "".join(stream)
        return stream.response
    if form == "acall":
        return asyncio.run(target.acall(*args, **params))

    async def read() -> Any:
        stream = target.astream(*args, **params)
        "".join([piece async for piece in stream])
        return stream.response

    return asyncio.run(read())


class Clock:
    """Simulated time: sleeping advances it, so waits are exact and tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.mark.parametrize("form", FORMS)
def test_fallbacks_move_on_in_order_and_count_each_attempt(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault.server(), Fault.rate_limit())
    r = run(wired, form, CHAIN[0], "hi", fallbacks=CHAIN[1:], max_retries=0)
    assert (r.model, r.text) == (CHAIN[2], "echo: hi")
    assert [(a.model, a.error_kind) for a in r.attempts] == [(CHAIN[0], "server"), (CHAIN[1], "rate_limit")]
    assert [type(a.error) for a in r.attempts] == [ServerError, RateLimitError]
    assert [req.provider for req in fake.requests] == ["anthropic", "openai", "google"]
    for model, status in zip(CHAIN, ("server", "rate_limit", "ok")):
        labels = {"provider": model.split("/")[0], "model": model}
        assert sample(wired, "models_requests_total", status=status, **labels) == 1
    anthropic, openai = ({"provider": m.split("/")[0], "model": m} for m in CHAIN[:2])
    assert sample(wired, "models_fallbacks_total", reason="server", **anthropic) == 1
    assert sample(wired, "models_fallbacks_total", reason="rate_limit", **openai) == 1
    assert wired.usage()[CHAIN[2]].requests == 1


def test_each_model_retries_before_falling_back(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server(), Fault.server())
    r = wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2], max_retries=1)
    assert r.model == CHAIN[1]
    assert [req.provider for req in fake.requests] == ["anthropic", "anthropic", "openai"]


@pytest.mark.parametrize("form", FORMS)
def test_no_fallback_on_authentication_errors(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault.auth())
    with pytest.raises(AuthenticationError) as caught:
        run(wired, form, CHAIN[0], "hi", fallbacks=CHAIN[1:])
    assert len(fake.requests) == 1
    assert [(a.model, a.error_kind) for a in caught.value.attempts] == [(CHAIN[0], "authentication")]


def test_context_window_moves_to_a_larger_window_only(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.context_window())
    # gpt-4o-mini has gpt-4o's 128K window, so it is passed over; gemini-2.5-flash has 1M
    r = wired("openai/gpt-4o", "hi", fallbacks=["openai/gpt-4o-mini", MODELS["google"]])
    assert r.model == MODELS["google"]
    assert [(a.model, a.error_kind) for a in r.attempts] == [
        ("openai/gpt-4o", "context_window"),
        ("openai/gpt-4o-mini", "context_window"),
    ]
    assert isinstance(r.attempts[0].error, ContextWindowExceededError) and r.attempts[1].error is None
    assert [req.model for req in fake.requests] == ["gpt-4o", "gemini-2.5-flash"]


def test_when_every_model_fails_the_last_error_is_raised_with_all_attempts(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server(), Fault.server(), Fault.rate_limit())
    with pytest.raises(RateLimitError) as caught:
        wired(CHAIN[0], "hi", fallbacks=CHAIN[1:], max_retries=0)
    assert [a.error_kind for a in caught.value.attempts] == ["server", "server", "rate_limit"]
    google = {"provider": "google", "model": CHAIN[2]}
    assert sample(wired, "models_fallbacks_total", reason="rate_limit", **google) is None  # nothing after it


@pytest.mark.parametrize("form", ["stream", "astream"])
def test_a_stream_falls_back_only_before_its_first_piece(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.enqueue(Fault(stream_error=True, kind="server"))
    with pytest.raises(ServerError):
        run(wired, form, CHAIN[1], "hi", fallbacks=CHAIN[2:], max_retries=0)
    assert [req.provider for req in fake.requests] == ["openai"]  # a piece had arrived: no fallback


def test_a_binding_holds_its_fallbacks(wired: ModelsAPI, fake: FakeLLM) -> None:
    bound = wired.bind(CHAIN[0], max_tokens=50, fallbacks=CHAIN[1:])
    assert bound.fallbacks == tuple(CHAIN[1:])
    assert repr(bound) == f"ModelBinding({CHAIN[0]!r}, max_tokens=50, fallbacks={CHAIN[1:]!r})"
    fake.enqueue(Fault.server(), Fault.server())
    r = bound("hi", max_retries=0)
    assert r.model == CHAIN[2]
    assert fake.requests[-1].body["generationConfig"]["maxOutputTokens"] == 50  # translated for each model
    fake.enqueue(Fault.server())
    assert bound("hi", max_retries=0, fallbacks=[CHAIN[1]]).model == CHAIN[1]  # call-time fallbacks win
    copy = pickle.loads(pickle.dumps(bound))
    assert (copy.model, copy.fallbacks, copy.params) == (bound.model, bound.fallbacks, bound.params)


def test_fallbacks_must_be_a_list_of_ids(wired: ModelsAPI) -> None:
    with pytest.raises(TypeError, match="fallbacks must be a list of model ids"):
        wired(CHAIN[0], "hi", fallbacks=CHAIN[1])  # type: ignore[arg-type]


def test_which_errors_fall_back_is_configurable(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired.configure_resilience(fallback_on=["server"])
    fake.enqueue(Fault.rate_limit())
    with pytest.raises(RateLimitError):
        wired(CHAIN[0], "hi", fallbacks=CHAIN[1:], max_retries=0)
    with pytest.raises(ValueError, match="fallback_on takes error kinds"):
        wired.configure_resilience(fallback_on=["oops"])


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"failure_threshold": "x"}, TypeError, "failure_threshold must be an int >= 1, not 'x'"),
        ({"failure_threshold": 0}, ValueError, "failure_threshold must be an int >= 1, not 0"),
        ({"cooldown": "30"}, TypeError, "cooldown must be a number of seconds > 0, not '30'"),
        ({"cooldown": -1}, ValueError, "cooldown must be a number of seconds > 0, not -1"),
        ({"max_cooldown": None}, TypeError, "max_cooldown must be a number of seconds > 0, not None"),
        ({"window": float("nan")}, ValueError, "window must be a number of seconds > 0, not nan"),
    ],
)
def test_configure_resilience_checks_the_breaker_settings_before_changing_anything(
    wired: ModelsAPI, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    health = wired._service.health(failure_threshold=7)
    with pytest.raises(error) as caught:
        wired.configure_resilience(fallback_on=["server"], **kwargs)
    assert (type(caught.value), str(caught.value)) == (error, message)
    # neither half applied: the fallback kinds and the breakers are the ones from before
    assert wired._service.fallback_on == frozenset({"rate_limit", "timeout", "connection", "server"})
    assert wired._service.health() is health


def test_limit_checks_its_rates(wired: ModelsAPI) -> None:
    with pytest.raises(TypeError) as caught:
        wired.limit("gpt-4o", rpm="5")  # type: ignore[arg-type]
    assert str(caught.value) == "rpm must be an int or None, not '5'"
    with pytest.raises(ValueError, match=r"^tpm must be >= 1, not 0$"):
        wired.limit("gpt-4o", tpm=0)
    assert wired._service.limits.for_model("openai/gpt-4o", "openai") == ()


def test_cooldown_skips_a_failing_model_then_a_probe_brings_it_back(wired: ModelsAPI, fake: FakeLLM) -> None:
    clock = Clock()
    wired._service.health(failure_threshold=2, cooldown=30.0, clock=clock)
    fake.enqueue(Fault.server(), Reply(), Fault.server())  # one queue for all: anthropic fails, openai answers
    for _ in range(2):
        assert wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2], max_retries=0).model == CHAIN[1]
    state = wired.health()[CHAIN[0]]
    assert (state.state, state.consecutive_failures, state.retry_in, state.error_rate) == ("open", 2, 30.0, 1.0)
    fake.requests.clear()
    r = wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2])
    assert [(a.model, a.error_kind) for a in r.attempts] == [(CHAIN[0], "cooldown")]
    assert [req.provider for req in fake.requests] == ["openai"]  # the open model was not called
    clock.now += 30.0  # half-open: one probe goes through, succeeds, and closes the breaker
    assert wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2]).model == CHAIN[0]
    assert wired.health()[CHAIN[0]].state == "closed"


def test_every_model_cooling_down_raises_with_the_wait(wired: ModelsAPI, fake: FakeLLM) -> None:
    clock = Clock()
    wired._service.health(failure_threshold=1, cooldown=10.0, clock=clock)
    fake.enqueue(Fault.server(), Fault.server())
    with pytest.raises(ServerError):
        wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2], max_retries=0)
    clock.now += 4.0
    with pytest.raises(ServerError, match="No model could be tried") as caught:
        wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2])
    assert caught.value.retry_after == 6.0
    assert [a.error_kind for a in caught.value.attempts] == ["cooldown", "cooldown"]


def _limited(api: ModelsAPI) -> Clock:
    clock = Clock()
    api._service.limits = Limits(clock=clock, sleep=clock.sleep, asleep=clock.asleep)
    return clock


@pytest.mark.parametrize("form", FORMS)
def test_a_non_blocking_limit_raises_before_sending(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    _limited(wired)
    wired.limit("gpt-4o", rpm=2, block=False)
    run(wired, form, "gpt-4o", "hi")
    run(wired, form, "gpt-4o", "hi")
    with pytest.raises(RateLimitError, match=r"client-side limit for openai/gpt-4o reached \(rpm=2\)") as caught:
        run(wired, form, "gpt-4o", "hi")
    assert caught.value.retry_after == 30.0
    assert len(fake.requests) == 2
    labels = {"provider": "openai", "model": "openai/gpt-4o"}
    assert sample(wired, "models_requests_total", status="rate_limit", **labels) == 1
    assert sample(wired, "models_in_flight_requests", **labels) == 0


@pytest.mark.parametrize("form", ["call", "acall"])
def test_a_blocking_limit_waits_exactly_for_capacity(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    clock = _limited(wired)
    wired.limit("openai", rpm=60)  # the whole provider: one request a second
    for _ in range(61):
        run(wired, form, "gpt-4o-mini" if _ % 2 else "gpt-4o", "hi")
    assert clock.slept == [1.0]
    assert len(fake.requests) == 61


def test_tokens_per_minute_are_settled_with_the_actual_usage(wired: ModelsAPI, fake: FakeLLM) -> None:
    _limited(wired)
    limit = wired.limit("openai/gpt-4o", tpm=1000)
    assert limit is not None
    fake.set_reply(Reply(input_tokens=12, output_tokens=30))
    wired("gpt-4o", "hi", max_tokens=100)
    assert limit.remaining().tokens == 1000 - 42  # reserved ~101, settled to the 42 used
    with pytest.raises(RateLimitError, match="tpm=1000") as caught:
        wired("gpt-4o", "hi", max_tokens=5000)
    assert caught.value.retryable is False  # more than the bucket holds: waiting cannot help
    assert wired.limit("openai/gpt-4o") is None  # neither rate: removed


def test_a_limited_model_falls_back(wired: ModelsAPI, fake: FakeLLM) -> None:
    _limited(wired)
    assert wired.health() == {}  # recording starts here
    wired.limit(CHAIN[0], rpm=1, block=False)
    wired(CHAIN[0], "hi")
    r = wired(CHAIN[0], "hi", fallbacks=CHAIN[1:2])
    assert (r.model, [a.error_kind for a in r.attempts]) == (CHAIN[1], ["rate_limit"])
    health = wired.health()[CHAIN[0]]
    assert (health.requests, health.consecutive_failures) == (1, 0)  # our own limit says nothing of its health


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Three offline models with prices (USD per 1M: input/output) from overrides."""
    for name, (inp, out) in {"CHEAP": (1, 2), "MID": (3, 6), "DEAR": (10, 20)}.items():
        monkeypatch.setenv(f"MODELS_COST_MOCK_{name}_INPUT", str(inp))
        monkeypatch.setenv(f"MODELS_COST_MOCK_{name}_OUTPUT", str(out))
    return ["mock/dear", "mock/cheap", "mock/mid"]


QUALITY = {"mock/dear": 5, "mock/mid": 4, "mock/cheap": 2}


def test_cost_strategy_picks_the_cheapest_for_the_estimated_tokens(api: ModelsAPI, priced: list[str]) -> None:
    router = api.router(priced, "cost")
    # "hi" is 1 estimated input token; no max_tokens: 1,024 output tokens
    assert [(c.model, c.score) for c in router.explain("hi")] == [
        ("mock/cheap", 0.002049),
        ("mock/mid", 0.006147),
        ("mock/dear", 0.02049),
    ]
    assert router("hi").model == "mock/cheap"
    assert router.explain("hi", max_tokens=10)[0].score == (1 * 1 + 10 * 2) / 1e6


def test_quality_strategy_with_user_tiers(api: ModelsAPI, priced: list[str]) -> None:
    router = api.router(priced, "quality", quality=QUALITY)
    assert [(c.model, c.score) for c in router.explain("hi")] == [
        ("mock/dear", 5.0),
        ("mock/mid", 4.0),
        ("mock/cheap", 2.0),
    ]
    assert router("hi").model == "mock/dear"


def test_balanced_strategy_is_the_documented_score(api: ModelsAPI, priced: list[str]) -> None:
    import math

    router = api.router(priced, "balanced", quality=QUALITY)
    # costs are 1x, 3x and 10x the cheapest: log places 0, log(3)/log(10), 1
    mid = 0.5 * 4 / 5 + 0.5 * (1 - math.log(3) / math.log(10))
    assert [(c.model, c.score) for c in router.explain("hi")] == [
        ("mock/cheap", 0.7),
        ("mock/mid", round(mid, 6)),
        ("mock/dear", 0.5),
    ]
    weighted = api.router(priced, "balanced", quality=QUALITY, weights=(1.0, 0.0))  # quality only
    assert weighted.explain("hi")[0].model == "mock/dear"


def test_round_robin_and_manual(api: ModelsAPI, priced: list[str]) -> None:
    router = api.router(priced, "round_robin")
    assert [router("hi").model for _ in range(4)] == ["mock/dear", "mock/cheap", "mock/mid", "mock/dear"]
    assert api.router(priced, "manual")("hi").model == "mock/dear"
    with pytest.raises(ValueError, match="strategy must be one of"):
        api.router(priced, "fastest")


def test_latency_strategy_explores_then_prefers_the_fastest(wired: ModelsAPI, fake: FakeLLM) -> None:
    router = wired.router(CHAIN, "latency")
    assert [c.reason for c in router.explain("hi")] == ["not measured yet: explored first"] * 3
    fake.enqueue(Fault(delay=0.3))  # the first model answers slowly
    assert [router("hi").model for _ in range(3)] == CHAIN  # each unmeasured model in turn
    ranking = router.explain("hi")
    assert ranking[-1].model == CHAIN[0] and ranking[-1].score is not None and ranking[-1].score >= 0.3
    assert router("hi").model != CHAIN[0]
    assert set(router.health()) == set(CHAIN)


def test_a_router_falls_back_down_its_ranking(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Fault.server())
    r = wired.router(CHAIN, "manual", max_retries=0)("hi")
    assert (r.model, [a.model for a in r.attempts]) == (CHAIN[1], [CHAIN[0]])
    fake.enqueue(Fault.server())
    with pytest.raises(ServerError):
        wired.router(CHAIN, "manual", fallback=False, max_retries=0)("hi")


def test_capabilities_and_prompt_size_filter_candidates(wired: ModelsAPI, fake: FakeLLM) -> None:
    router = wired.router(["openai/gpt-4o", "mock/echo", MODELS["google"]], "manual", capabilities=["image_input"])
    big = "word " * 120_000  # ~150K tokens: more than gpt-4o's 128K window
    choices = router.explain(big)
    assert [(c.model, c.eligible) for c in choices] == [
        (MODELS["google"], True),
        ("openai/gpt-4o", False),
        ("mock/echo", False),
    ]
    assert choices[1].reason == "~151025 tokens exceed its 128000"  # 600,000 chars / 4 + 1 + 1,024
    assert choices[2].reason.startswith("lacks ") and "image_input" in choices[2].reason
    assert router(big).model == MODELS["google"]


def test_a_router_over_the_catalog(api: ModelsAPI) -> None:
    router = api.router(provider="google", capabilities=["image_input"], strategy="cost")
    listed = {m.id for m in api.list(provider="google", capability="image_input") if m.price is not None}
    assert set(router.models) == listed and len(listed) >= 3


def test_a_router_passes_over_a_model_in_cooldown(wired: ModelsAPI, fake: FakeLLM) -> None:
    clock = Clock()
    wired._service.health(failure_threshold=1, cooldown=20.0, clock=clock)
    router = wired.router(CHAIN, "manual", max_retries=0)
    fake.enqueue(Fault.server())
    assert router("hi").model == CHAIN[1]  # the first failed once: its breaker opens
    assert router.explain("hi")[0].reason == "manual order; cooling down (20 s left), passed over"
    fake.requests.clear()
    r = router("hi")
    assert (r.model, [(a.model, a.error_kind) for a in r.attempts]) == (CHAIN[1], [(CHAIN[0], "cooldown")])
    assert [req.provider for req in fake.requests] == ["openai"]
    assert router.health()[CHAIN[0]].state == "open"
