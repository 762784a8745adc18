"""`SimpleModelRegistry` and custom providers: registration, build-once, locking, fork, missing SDKs."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any, ClassVar

import pytest

from models import (
    Completion,
    ModelsAPI,
    Provider,
    ProviderNotFoundError,
    ProviderTimeoutError,
    RateLimitError,
)
from models.providers import Request

from .conftest import sample
from .fake_llm import FakeLLM


class Scripted(Provider):
    """A custom provider: answers in upper case after raising whatever `script` holds."""

    script: ClassVar[list[BaseException]] = []

    def complete(self, request: Request) -> Completion:
        if self.script:
            raise self.script.pop(0)
        text = str(request.messages[-1]["content"]).upper()
        return Completion(text, input_tokens=4, output_tokens=2, finish_reason="stop")


def test_custom_provider_gets_costs_metrics_usage_and_retries(api: ModelsAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"shout/loud": {"input": 1, "output": 3}}')
    api.register_provider("shout", Scripted)
    Scripted.script = [RateLimitError("slow down", retry_after=0.0), TimeoutError("took too long")]
    r = api("shout/loud", "hi")
    assert (r.text, r.model, r.provider, r.usage.cost) == ("HI", "shout/loud", "shout", (4 + 6) / 1e6)
    labels = {"provider": "shout", "model": "shout/loud"}
    assert sample(api, "models_requests_total", status="ok", **labels) == 1
    assert sample(api, "models_retries_total", reason="rate_limit", **labels) == 1
    assert sample(api, "models_retries_total", reason="timeout", **labels) == 1
    Scripted.script = [TimeoutError("stuck")]
    with pytest.raises(ProviderTimeoutError) as caught:
        api("shout/loud", "hi", max_retries=0)
    assert isinstance(caught.value.__cause__, TimeoutError)
    assert caught.value.provider == "shout"


def test_unknown_exception_from_a_provider_propagates_unchanged_and_is_counted(api: ModelsAPI) -> None:
    api.register_provider("shout", Scripted)
    Scripted.script = [KeyError("bug in the provider")]
    with pytest.raises(KeyError):
        api("shout/x", "hi")
    assert sample(api, "models_requests_total", provider="shout", model="shout/x", status="other") == 1


def test_registering_over_a_name_replaces_it_and_drops_the_instance(api: ModelsAPI) -> None:
    Scripted.script = []
    before = api._service.models.provider("mock")
    api.register_provider("mock", Scripted)
    assert api("mock/echo", "hi").text == "HI"
    assert api._service.models.provider("mock") is not before


def test_bad_registrations_are_refused(api: ModelsAPI) -> None:
    with pytest.raises(TypeError, match=r"not a subclass of models\.providers\.Provider"):
        api.register_provider("x", dict)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="lower-case word"):
        api.register_provider("Has/Slash", Scripted)
    with pytest.raises(ProviderNotFoundError):
        api.configure("nowhere", api_key="k")


class Slow(Scripted):
    built = 0
    entered = threading.Event()
    release = threading.Event()

    def __init__(self, *args: Any) -> None:
        Slow.built += 1
        Slow.entered.set()
        Slow.release.wait(5)
        super().__init__(*args)


def test_provider_is_built_once_and_the_lock_is_free_meanwhile(api: ModelsAPI) -> None:
    Slow.built, Scripted.script = 0, []
    Slow.entered.clear()
    Slow.release.clear()
    api.register_provider("slow", Slow)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(api("slow/x", "hi").text)) for _ in range(16)]
    for t in threads:
        t.start()
    assert Slow.entered.wait(5)
    # while "slow" is being constructed, another provider resolves and answers
    assert api("mock/echo", "still responsive").text == "still responsive"
    assert not results
    Slow.release.set()
    for t in threads:
        t.join(10)
    assert results == ["HI"] * 16 and Slow.built == 1


def test_failed_construction_is_not_cached(api: ModelsAPI) -> None:
    class Broken(Scripted):
        attempts = 0

        def __init__(self, *args: Any) -> None:
            Broken.attempts += 1
            if Broken.attempts == 1:
                raise RuntimeError("first build fails")
            super().__init__(*args)

    api.register_provider("broken", Broken)
    with pytest.raises(RuntimeError):
        api("broken/x", "hi")
    Scripted.script = []
    assert api("broken/x", "hi").text == "HI"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork_rebuilds_sdk_clients_in_the_child(wired: ModelsAPI, fake: FakeLLM) -> None:
    gpt = wired.bind("gpt-4o")
    assert gpt("parent").text == "echo: parent"
    provider = wired._service.models.provider("openai")
    parent_client = provider.client()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: the client must be gone, then rebuilt and working
        ok = provider._client is None and gpt("child").text == "echo: child"
        ok = ok and provider.client() is not parent_client
        os.write(write, b"1" if ok else b"0")
        os._exit(0)
    os.close(write)
    assert os.read(read, 1) == b"1"
    os.waitpid(pid, 0)
    assert provider.client() is parent_client
    assert [r.body["messages"][-1]["content"] for r in fake.requests] == ["parent", "child"]


def test_missing_sdk_names_the_pip_install() -> None:
    code = (
        "import sys; sys.modules['anthropic'] = None\n"
        "from models import ModelsAPI, ConfigurationError\n"
        "api = ModelsAPI()\n"
        "api.configure('anthropic', api_key='k')\n"
        "try:\n"
        "    api('claude-sonnet-4-6', 'hi')\n"
        "except ConfigurationError as e:\n"
        "    print(e)\n"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "The 'anthropic' package is needed for this provider: pip install anthropic"


def test_configure_key_wins_over_environment_and_is_never_shown(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-0000000000")
    api.configure("openai", api_key="sk-from-code-1111111111", base_url=fake.openai_base_url)
    api("gpt-4o", "hi")
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-from-code-1111111111"
    settings = api._service.models._settings["openai"]
    assert "sk-from-code" not in repr(settings) and "sk-from-code" not in repr(api)
