"""Keywords a call passes beyond the common parameters: checked against what the provider's SDK
takes before anything is sent, so a typo is a clear `InvalidRequestError`, never the SDK's raw
`TypeError` or pydantic `ValidationError`."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from models import InvalidRequestError, ModelsAPI
from models.providers import Completion, Provider, Request

from .conftest import MODELS, PROVIDERS, sample
from .fake_llm import FakeLLM

ALL = {**MODELS, "mock": "mock/echo"}


def _labels(model: str) -> dict[str, str]:
    return {"provider": model.split("/")[0], "model": model}


@pytest.mark.parametrize("provider", [*PROVIDERS, "mock"])
def test_a_misspelt_keyword_fails_before_sending_naming_the_close_one(
    wired: ModelsAPI, fake: FakeLLM, provider: str
) -> None:
    model = ALL[provider]
    with pytest.raises(InvalidRequestError) as caught:
        wired(model, "hi", temprature=0.1)
    assert str(caught.value).startswith(
        f"{provider} does not take the keyword 'temprature' (did you mean 'temperature'?)."
    )
    assert caught.value.model == model
    assert fake.requests == []
    # counted once, as the provider's own 400 would have been; not as "other"
    assert sample(wired, "models_requests_total", status="invalid_request", **_labels(model)) == 1
    assert sample(wired, "models_requests_total", status="other", **_labels(model)) is None
    assert wired.usage()[model].errors == 1


def test_every_call_form_checks_keywords_and_a_bind_is_not_a_request(wired: ModelsAPI, fake: FakeLLM) -> None:
    model = MODELS["openai"]
    with pytest.raises(InvalidRequestError, match="'max_token' \\(did you mean 'max_tokens'"):
        wired.bind(model, max_token=5)
    assert sample(wired, "models_requests_total", status="invalid_request", **_labels(model)) is None
    bound = wired.bind(model)
    forms = [
        lambda: bound("hi", max_token=5),
        lambda: wired.stream(model, "hi", max_token=5),
        lambda: bound.stream("hi", max_token=5),
        lambda: asyncio.run(wired.acall(model, "hi", max_token=5)),
        lambda: asyncio.run(bound.acall("hi", max_token=5)),
        lambda: wired.astream(model, "hi", max_token=5),
        lambda: wired("mock/echo", "hi", fallbacks=[model], max_token=5),  # mock takes none of them either
        lambda: wired.router([model], "manual")("hi", max_token=5),
    ]
    for form in forms:
        with pytest.raises(InvalidRequestError, match="'max_token'"):
            form()
    assert fake.requests == []
    assert sample(wired, "models_requests_total", status="invalid_request", **_labels(model)) == len(forms) - 1


def test_keywords_the_sdk_takes_reach_it(wired: ModelsAPI, fake: FakeLLM) -> None:
    wired(MODELS["openai"], "hi", presence_penalty=0.5, extra_body={"custom": 1}, extra_headers={"x-a": "b"})
    sent = fake.requests[-1]
    assert (sent.body["presence_penalty"], sent.body["custom"], sent.headers["x-a"]) == (0.5, 1, "b")
    wired(MODELS["anthropic"], "hi", metadata={"user_id": "u1"}, extra_body={"custom": 2}, extra_query={"q": "1"})
    sent = fake.requests[-1]
    assert (sent.body["metadata"], sent.body["custom"], sent.query["q"]) == ({"user_id": "u1"}, 2, "1")
    # Gemini: fields of GenerateContentConfig, snake_case or camelCase, and `config` itself
    wired(MODELS["google"], "hi", top_k=5, candidateCount=1, config={"presence_penalty": 0.25})
    assert fake.requests[-1].body["generationConfig"] == {"topK": 5, "candidateCount": 1, "presencePenalty": 0.25}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"temprature": 0.1}, "google does not take the config field 'temprature' (did you mean 'temperature'?)."),
        (
            {"maxOutputToken": 5},
            "google does not take the config field 'maxOutputToken' (did you mean 'maxOutputTokens'",
        ),
        (
            {"top_k": 2, "zzz": 1, "config": {}},
            "google does not take the config fields 'zzz', 'config' (did you mean 'tool_config' or 'speechConfig' "
            "or 'image_config'?). (google/gemini-2.5-flash)",
        ),
    ],
)
def test_a_misspelt_field_in_gemini_config_fails_before_sending(
    wired: ModelsAPI, fake: FakeLLM, config: dict[str, Any], message: str
) -> None:
    model = MODELS["google"]
    for form in (lambda: wired(model, "hi", config=config), lambda: wired.stream(model, "hi", config=config)):
        with pytest.raises(InvalidRequestError) as caught:
            form()
        assert str(caught.value).startswith(message)
        assert caught.value.model == model
    assert fake.requests == []
    # counted once per call, as the provider's own 400 would have been; never the SDK's ValidationError as "other"
    assert sample(wired, "models_requests_total", status="invalid_request", **_labels(model)) == 2
    assert sample(wired, "models_requests_total", status="other", **_labels(model)) is None
    with pytest.raises(InvalidRequestError, match="config field"):
        wired.bind(model, config=config)  # a bind is not a request
    assert sample(wired, "models_requests_total", status="invalid_request", **_labels(model)) == 2


def test_gemini_config_as_its_sdk_object_or_a_dict_of_either_spelling_reaches_it(
    wired: ModelsAPI, fake: FakeLLM
) -> None:
    from google.genai import types

    wired(MODELS["google"], "hi", config=types.GenerateContentConfig(top_k=3, max_output_tokens=9))
    assert fake.requests[-1].body["generationConfig"] == {"topK": 3, "maxOutputTokens": 9}
    wired(MODELS["google"], "hi", config={"topP": 0.5, "candidate_count": 1})
    assert fake.requests[-1].body["generationConfig"] == {"topP": 0.5, "candidateCount": 1}


def test_keywords_a_call_fills_in_itself_say_so(wired: ModelsAPI) -> None:
    with pytest.raises(InvalidRequestError, match=r"'stream' \(use models\.stream\(\.\.\.\) to stream\)"):
        wired(MODELS["openai"], "hi", stream=True)
    with pytest.raises(InvalidRequestError, match=r"'messages' \(the messages are the prompt"):
        wired(MODELS["anthropic"], "hi", messages=[])


def test_an_unknown_keyword_without_a_close_one_points_to_extra_body(wired: ModelsAPI) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        wired(MODELS["openai"], "hi", guided_json={}, zzz=1)
    assert str(caught.value) == (
        "openai does not take the keywords 'guided_json', 'zzz'. "
        "Send fields its SDK does not know with extra_body={...}. (openai/gpt-4o)"
    )


def test_mock_takes_only_the_common_parameters(api: ModelsAPI) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        api("mock/echo", "hi", reasoning_effort="low")
    assert str(caught.value) == (
        "mock does not take the keyword 'reasoning_effort'. "
        "It takes max_retries, max_tokens, seed, stop, temperature, timeout, top_p. (mock/echo)"
    )


class Anything(Provider):
    """A custom provider that declares no keywords: it takes any."""

    seen: dict[str, Any] = {}  # noqa: RUF012  # the last call's options, for the test

    def complete(self, request: Request) -> Completion:
        Anything.seen = dict(request.options)
        return Completion("ok", input_tokens=1, output_tokens=1, finish_reason="stop")


class Declared(Anything):
    def keywords(self) -> list[str]:
        return ["colour"]


def test_custom_providers_take_any_keyword_unless_they_declare_theirs(api: ModelsAPI) -> None:
    api.register_provider("anything", Anything)
    api("anything/x", "hi", temprature=0.1, whatever=[1])
    assert Anything.seen == {"temprature": 0.1, "whatever": [1]}
    api.register_provider("declared", Declared)
    api("declared/x", "hi", colour="red", temperature=0.5)
    assert Declared.seen == {"colour": "red", "temperature": 0.5}
    with pytest.raises(
        InvalidRequestError, match=r"declared does not take the keyword 'color' \(did you mean 'colour'"
    ):
        api("declared/x", "hi", color="red")
