"""`os.fork()` while other threads are in the middle of calls: every lock the call path takes
may be held at that instant, and a child must still make its own calls."""

from __future__ import annotations

import os
import threading
import time
import warnings

import pytest

from models import ModelsAPI

from .conftest import MODELS, PROVIDERS
from .fake_llm import FakeLLM

FORKS = 20
CHILD_TIMEOUT = 10.0  # seconds; a healthy child exits in well under one


def _child(api: ModelsAPI) -> None:
    """Runs in the forked child: one call per path (mock, each SDK, a stream, usage) and exit."""
    code = 1
    try:
        before = api.usage()["mock/echo"].requests  # what the parent's threads had counted at the fork
        assert api("mock/echo", "child call").text == "child call"
        for provider in PROVIDERS:
            assert api(MODELS[provider], "child").text == "echo: child"
        assert "".join(api.stream("mock/echo", "a b")) == "a b"
        assert api.usage()["mock/echo"].requests == before + 2
        with api.track() as t, api.budget(usd=1):
            api("mock/echo", "tracked")
        assert t.requests == 1
        code = 0
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    """The child's exit code, or None when it did not exit in time (it is killed then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    return None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_threads_call_every_child_calls(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired.on_response(lambda event: None)
    wired.on_error(lambda event: None)
    wired.health()  # from now on every call records its outcome under the health lock
    wired.limit("mock", rpm=10**9, tpm=10**12)  # and takes a rate-limit reservation
    wired.set_budget(10**6)
    # Every module a call imports lazily is imported before the threads start: a fork while
    # another thread imports a module leaves that module's import lock held in the child
    # (a CPython limitation, whatever the library).
    wired("mock/echo", "warm")
    "".join(wired.stream("mock/echo", "warm"))
    for provider in PROVIDERS:
        wired(MODELS[provider], "warm")  # the parent's SDK clients (and their pools) exist
    stop = threading.Event()

    def hammer(model: str, stream: bool) -> None:
        while not stop.is_set():
            if stream:
                "".join(wired.stream(model, "a b c"))
            else:
                wired(model, "a b c")
            wired.usage()

    threads = [threading.Thread(target=hammer, args=("mock/echo", i % 2 == 1), daemon=True) for i in range(4)]
    threads += [threading.Thread(target=hammer, args=(MODELS[p], False), daemon=True) for p in PROVIDERS]
    for t in threads:
        t.start()
    outcomes = []
    try:
        for _ in range(FORKS):
            time.sleep(0.02)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running (3.12+)
                pid = os.fork()
            if pid == 0:
                _child(wired)
            outcomes.append(_wait(pid, CHILD_TIMEOUT))
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert outcomes == [0] * FORKS  # None: the child hung (a lock held at fork), 1: it failed
