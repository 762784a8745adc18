"""`timeout` bounds a whole attempt, not each read: a server that trickles its answer fails the
attempt at its timeout, in every call form; a stream gets `timeout` for its first piece and then
again for each next one, so a long stream whose pieces keep coming succeeds."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import anthropic  # noqa: F401  imported up front, so no test's time includes an SDK's import
import google.genai  # noqa: F401
import openai  # noqa: F401
import pytest
from prometheus_client import CollectorRegistry

from models import ModelsAPI, ProviderTimeoutError
from models.providers._openai import OpenAIProvider

from .conftest import KEYS, MODELS, PROVIDERS, sample
from .fake_llm import FakeLLM, Fault, Reply
from .test_errors import FORMS, invoke


def _wired(fake: FakeLLM) -> ModelsAPI:
    """A fresh instance on the fake (own registry, so each form's metrics stand alone)."""
    api = ModelsAPI(registry=CollectorRegistry(), retry_initial_delay=0.001, retry_max_delay=0.002)
    for provider in PROVIDERS:
        api.configure(provider, api_key=KEYS[provider], base_url=getattr(fake, f"{provider}_base_url"))
    return api


def _timed(job: Callable[[], Any]) -> tuple[Any, float]:
    """The job's result (or the exception it raised) and its seconds."""
    start = time.perf_counter()
    try:
        outcome = job()
    except Exception as exc:
        outcome = exc
    return outcome, time.perf_counter() - start


def _concurrently(*jobs: Callable[[], Any]) -> list[tuple[Any, float]]:
    """Run the jobs side by side (each form in its own thread; the async ones in their own loop)."""
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(_timed, jobs))


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_trickling_server_cannot_hold_an_attempt_past_its_timeout(fake: FakeLLM, provider: str) -> None:
    # 64 bytes every 0.25 s: every read gets data well within 0.6 s, so only a deadline per
    # attempt ends one; streams fail for want of a first piece within it. The four forms run
    # at once, each on its own instance (so its metrics stand alone), to keep the test short.
    fake.enqueue(*[Fault(trickle=0.25)] * 3 * len(FORMS))
    apis = [_wired(fake) for _ in FORMS]
    jobs = [partial(invoke, api, form, MODELS[provider], timeout=0.6, max_retries=2) for api, form in zip(apis, FORMS)]
    labels = {"provider": provider, "model": MODELS[provider]}
    for form, api, (error, elapsed) in zip(FORMS, apis, _concurrently(*jobs)):
        assert isinstance(error, ProviderTimeoutError), (form, error)
        assert 3 * 0.6 <= elapsed < 3.0, (form, elapsed)  # three attempts of 0.6 s, back-off ~0
        assert sample(api, "models_retries_total", reason="timeout", **labels) == 2, form
        assert sample(api, "models_requests_total", status="timeout", **labels) == 1, form
        assert sample(api, "models_in_flight_requests", **labels) == 0, form
    assert len(fake.requests) == 3 * len(FORMS)


def test_a_stream_may_outlast_its_timeout_while_each_piece_arrives_within_it(fake: FakeLLM) -> None:
    # 64 bytes every 0.03 s: each piece (the first one too: Anthropic's preamble is ~10 writes)
    # arrives within 0.6 s of the one before, the whole stream takes about twice that.
    text = "abcdefghijklmnop"
    cases = [(provider, form) for provider in PROVIDERS for form in ("stream", "astream")]
    fake.set_reply(Reply(text=text, chunks=8))
    fake.enqueue(*[Fault(trickle=0.03)] * len(cases))
    apis = [_wired(fake) for _ in cases]
    jobs = [partial(invoke, api, form, MODELS[p], timeout=0.6, max_retries=0) for api, (p, form) in zip(apis, cases)]
    for case, api, (answer, elapsed) in zip(cases, apis, _concurrently(*jobs)):
        assert answer == text, (case, answer)
        assert elapsed > 0.6, (case, elapsed)  # longer than one timeout in all
        labels = {"provider": case[0], "model": MODELS[case[0]]}
        assert sample(api, "models_requests_total", status="ok", **labels) == 1, case
    assert len(fake.requests) == len(cases)


def test_a_trickled_answer_that_is_complete_in_time_is_read_whole(fake: FakeLLM) -> None:
    # Many small reads, each through the guarded transport, well within the deadline.
    cases = [(provider, form) for provider in PROVIDERS for form in FORMS]
    fake.set_reply(Reply(text="all of it", chunks=3))
    fake.enqueue(*[Fault(trickle=0.005)] * len(cases))
    apis = [_wired(fake) for _ in cases]
    jobs = [partial(invoke, api, form, MODELS[p], timeout=5, max_retries=0) for api, (p, form) in zip(apis, cases)]
    for case, (answer, _) in zip(cases, _concurrently(*jobs)):
        assert str(answer) == "all of it", (case, answer)
    assert len(fake.requests) == len(cases)


class _SlowToBuild(OpenAIProvider):
    """OpenAI whose clients take longer to build than the calls' timeout, as an SDK's first import can."""

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        time.sleep(0.3)
        return super().create_client(api_key, base_url)

    def create_async_client(self, api_key: str | None, base_url: str | None) -> Any:
        time.sleep(0.3)
        return super().create_async_client(api_key, base_url)


@pytest.mark.parametrize("form", FORMS)
def test_building_the_client_is_not_the_servers_time(wired: ModelsAPI, fake: FakeLLM, form: str) -> None:
    """The clock starts when the request goes out: a first call on a cold client still gets its timeout."""
    wired.register_provider("slow", _SlowToBuild)
    wired.configure("slow", api_key=KEYS["openai"], base_url=fake.openai_base_url)
    fake.set_reply(Reply(text="fine"))
    assert str(invoke(wired, form, "slow/gpt-4o", timeout=0.3, max_retries=0)) == "fine"
    assert len(fake.requests) == 1
