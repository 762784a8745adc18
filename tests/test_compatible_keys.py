"""A key goes only to the host it belongs to (issue 15): each preset sends its own key and nothing of
OpenAI's (key, organization, project, OPENAI_CUSTOM_HEADERS, base URL), keyless endpoints no
Authorization header at all, in every call form; and bad input is refused before anything is sent."""

from __future__ import annotations

import asyncio

import pytest

from models import ConfigurationError, MissingAPIKeyError, ModelsAPI, ProviderNotFoundError

from .compatible import KEY_ENV, KEYS, NAMES, STREAM_USAGE, model, path, wire
from .conftest import KEYS as SDK_KEYS
from .fake_llm import FakeLLM, Recorded, Reply

_OPENAI_ENV = {
    "OPENAI_API_KEY": SDK_KEYS["openai"],
    "OPENAI_ORG_ID": "org-SECRET-ORG",
    "OPENAI_PROJECT_ID": "proj_SECRET-PROJECT",
    "OPENAI_CUSTOM_HEADERS": "X-Team: SECRET-TEAM\nAuthorization: Bearer sk-SECRET-CUSTOM",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/openai-only",  # used, a request would fail to connect
}


@pytest.fixture(autouse=True)
def everything_set(monkeypatch: pytest.MonkeyPatch, fake: FakeLLM) -> None:
    """Every preset on the fake with its own key, and OpenAI's variables set, all distinct."""
    wire(monkeypatch, fake)
    for variable, value in _OPENAI_ENV.items():
        monkeypatch.setenv(variable, value)


def secrets_in(request: Recorded) -> dict[str, str]:
    """The request's headers that carry any key or OpenAI setting."""
    secrets = [*KEYS.values(), *_OPENAI_ENV.values(), "SECRET"]
    return {name: value for name, value in request.headers.items() if any(s in value for s in secrets)}


def every_form(api: ModelsAPI, model_id: str) -> None:
    """A call, an async call, a stream and an async stream of `model_id`."""
    assert api(model_id, "a").text == "echo: a"
    assert "".join(api.stream(model_id, "b")) == "echo: b"

    async def both() -> str:
        await api.acall(model_id, "c")
        return "".join([piece async for piece in api.astream(model_id, "d")])

    assert asyncio.run(both()) == "echo: d"


@pytest.mark.parametrize("name", NAMES)
def test_each_preset_sends_only_its_own_key(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    fake.set_reply(Reply(stream_usage=STREAM_USAGE.get(name, "asked")))
    every_form(api, model(name))
    assert len(fake.requests) == 4
    for request in fake.requests:
        assert request.path == path(name)
        own = {"authorization": f"Bearer {KEYS[name]}"} if name in KEYS else {}
        assert secrets_in(request) == own
        assert not {"openai-organization", "openai-project", "x-team"} & set(request.headers)
    if name not in KEYS:
        assert all("authorization" not in request.headers for request in fake.requests)


def test_keyless_vllm_sends_no_authorization(api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLLM_API_KEY")
    every_form(api, model("vllm"))
    assert [secrets_in(request) for request in fake.requests] == [{}] * 4
    assert all("authorization" not in request.headers for request in fake.requests)


def test_ollama_needs_no_key_at_all(api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    wire(monkeypatch, fake, keys=False)
    for variable in _OPENAI_ENV:
        monkeypatch.delenv(variable)
    assert api(model("ollama"), "hi").text == "echo: hi"
    assert "authorization" not in fake.requests[0].headers


def test_openai_keeps_its_own_settings(api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    """The presets' isolation takes nothing from OpenAI itself."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake.openai_base_url)
    api("openai/gpt-4o", "hi")
    headers = fake.requests[0].headers
    assert (headers["openai-organization"], headers["openai-project"], headers["x-team"]) == (
        "org-SECRET-ORG",
        "proj_SECRET-PROJECT",
        "SECRET-TEAM",
    )
    assert headers["authorization"] == "Bearer sk-SECRET-CUSTOM"  # the SDK's choice: the custom line wins


def test_a_registered_endpoint_gets_no_key_unless_given_one(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.register_openai_compatible("mine", fake.url + "/mine/v1")
    every_form(api, "mine/some-model")
    assert [(r.path, r.model, secrets_in(r)) for r in fake.requests] == [
        ("/mine/v1/chat/completions", "some-model", {})
    ] * 4
    assert all("authorization" not in request.headers for request in fake.requests)

    fake.requests.clear()
    api.register_openai_compatible("mine", fake.url + "/mine/v1", api_key_env="MINE_KEY")
    with pytest.raises(MissingAPIKeyError, match=r"set MINE_KEY, or call models.configure\('mine', api_key=\.\.\.\)"):
        api("mine/some-model", "hi")
    assert fake.requests == []
    monkeypatch.setenv("MINE_KEY", "mine-SECRET-KEY")
    every_form(api, "mine/some-model")
    assert [secrets_in(r) for r in fake.requests] == [{"authorization": "Bearer mine-SECRET-KEY"}] * 4


@pytest.mark.parametrize("name", ["groq", "ollama", "vllm"])
def test_configure_wins_over_the_environment(api: ModelsAPI, fake: FakeLLM, name: str) -> None:
    api.configure(name, api_key="configured-SECRET-KEY", base_url=fake.url + "/configured")
    api(model(name), "hi")
    [request] = fake.requests
    assert (request.path, secrets_in(request)) == (
        "/configured/chat/completions",
        {"authorization": "Bearer configured-SECRET-KEY"},
    )


def test_configure_headers_for_openrouter(api: ModelsAPI, fake: FakeLLM) -> None:
    """OpenRouter's attribution headers (https://openrouter.ai/docs/community/openai-sdk)."""
    api.configure("openrouter", headers={"HTTP-Referer": "https://example.com", "X-Title": "My app"})
    api(model("openrouter"), "hi")
    headers = fake.requests[0].headers
    assert (headers["http-referer"], headers["x-title"]) == ("https://example.com", "My app")
    assert secrets_in(fake.requests[0]) == {"authorization": f"Bearer {KEYS['openrouter']}"}
    with pytest.raises(
        TypeError, match="configure\\('groq'\\) got unknown option\\(s\\) api_version; groq takes only headers"
    ):
        api.configure("groq", api_version="2024-10-21")


# --- bad input: a clear error naming the fix, and nothing sent -------------------------------------------------


@pytest.mark.parametrize(
    ("written", "suggested"),
    [("groqq/llama-3.3-70b-versatile", "groq"), ("mistrl/mistral-large-latest", "mistral"), ("olama/x", "ollama")],
)
def test_unknown_preset_suggests_the_close_one(api: ModelsAPI, fake: FakeLLM, written: str, suggested: str) -> None:
    with pytest.raises(ProviderNotFoundError) as caught:
        api(written, "hi")
    assert caught.value.suggestions == [suggested]
    assert f"Did you mean '{suggested}'?" in str(caught.value)
    assert "register_openai_compatible(name, base_url)" in str(caught.value)
    assert fake.requests == []


@pytest.mark.parametrize("name", sorted(n for n in NAMES if KEY_ENV[n] and n != "vllm"))
def test_a_preset_without_its_key_names_the_variable(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv(KEY_ENV[name] or "")
    with pytest.raises(MissingAPIKeyError) as caught:
        api(model(name), "hi")
    assert caught.value.env_vars == (KEY_ENV[name],)
    assert str(caught.value) == (
        f"No API key for provider {name!r}: set {KEY_ENV[name]}, or call models.configure({name!r}, api_key=...)."
    )
    assert "OPENAI_API_KEY" not in str(caught.value)
    assert fake.requests == []
    # in a fallback chain the model is passed over as not configured
    r = api(model(name), "hi", fallbacks=[model("ollama")])
    assert (r.model, [(a.model, a.error_kind) for a in r.attempts]) == (
        model("ollama"),
        [(model(name), "not_configured")],
    )
    assert [q.path for q in fake.requests] == [path("ollama")]


def test_vllm_without_its_base_url_names_the_variable(
    api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VLLM_BASE_URL")
    with pytest.raises(ConfigurationError) as caught:
        api(model("vllm"), "hi")
    assert str(caught.value) == (
        "vLLM has no base URL: set VLLM_BASE_URL (for example http://localhost:8000/v1) or call "
        "models.configure('vllm', base_url=...)"
    )
    assert fake.requests == []


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("My LLM", "http://localhost:8000/v1"), {}, ValueError, "provider name must be a non-empty lower-case word"),
        (("a/b", "http://localhost:8000/v1"), {}, ValueError, "without '/' or ':', not 'a/b'"),
        (("", "http://localhost:8000/v1"), {}, ValueError, "provider name must be"),
        (("mine", "localhost:8000/v1"), {}, ValueError, "base_url must be an http(s) URL like"),
        (("mine", None), {}, ValueError, "base_url must be an http(s) URL"),
        (
            ("mine", "http://localhost:8000/v1", "my-key"),
            {},
            ValueError,
            "api_key_env must name an environment variable",
        ),
        (("mine", "http://localhost:8000/v1"), {"local": "yes"}, TypeError, "local must be True or False, not str"),
    ],
)
def test_register_openai_compatible_checks_its_arguments(
    api: ModelsAPI, args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        api.register_openai_compatible(*args, **kwargs)  # type: ignore[arg-type]
    assert message in str(caught.value)
    assert "'mine'" not in repr(api)  # nothing registered


def test_registering_over_a_preset_replaces_it(api: ModelsAPI, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    assert api(model("groq"), "hi").text == "echo: hi"
    # GROQ_BASE_URL stays set: a base URL registered in code is not overridden by the preset's variable
    api.register_openai_compatible("groq", fake.url + "/my-groq-proxy/v1")
    api(model("groq"), "hi")
    assert [(r.path, secrets_in(r)) for r in fake.requests] == [
        (path("groq"), {"authorization": f"Bearer {KEYS['groq']}"}),
        ("/my-groq-proxy/v1/chat/completions", {}),  # no key given, so none: not even Groq's
    ]
