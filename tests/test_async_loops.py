"""One `asyncio.run` after another (a script, a notebook cell): each loop gets its own async
client, and the client of a loop that has closed is dropped without a word on the next one."""

from __future__ import annotations

import asyncio
import gc
import logging
import time

import pytest

from models import ModelsAPI

from .conftest import MODELS, PROVIDERS
from .fake_llm import FakeLLM

RUNS = 50


@pytest.mark.parametrize("provider", PROVIDERS)
def test_sequential_asyncio_runs_print_nothing_and_leave_at_most_one_pool(
    provider: str, wired: ModelsAPI, fake: FakeLLM, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    model = MODELS[provider]
    gc.collect()
    before = fake.open_connections()
    with caplog.at_level(logging.WARNING):
        texts = [asyncio.run(wired.acall(model, f"run {i}")).text for i in range(RUNS)]
        gc.collect()  # a task scheduled on a later loop reports "never retrieved" when collected
    assert texts == [f"echo: run {i}" for i in range(RUNS)]
    assert len(fake.requests) == RUNS
    assert [record.getMessage() for record in caplog.records] == []
    err = capfd.readouterr().err
    for sign in ("Traceback", "never retrieved", "Event loop is closed", "Exception ignored"):
        assert sign not in err
    # A dead loop's pool is released when the next loop's client is made: only the last
    # loop's connection can still be open (the server sees the others closed).
    deadline = time.monotonic() + 5
    while fake.open_connections() > before + 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.open_connections() <= before + 1
