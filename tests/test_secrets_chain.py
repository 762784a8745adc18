"""A server that echoes the key in its error, and an SDK whose frames hold it: the key must not
appear in our error, in the SDK exception kept as its `__cause__`, nor in anything that prints
them — `traceback`, `logging.exception`, a formatter that shows every frame's locals."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from models import ModelsAPI, ProviderError
from models.providers import Completion, Provider, Request

from .conftest import KEYS, MODELS, PROVIDERS
from .fake_llm import FakeLLM, Fault

_ECHO = Fault(status=400, echo_key=True)
_AUTH = replace(Fault.auth(), echo_key=True)
_IN_STREAM = Fault(stream_error=True, echo_key=True)
_RESET = Fault(reset=True)  # nothing echoed: the SDK's own frames and request objects hold the key
_STATUS = {"openai": "BadRequestError", "anthropic": "BadRequestError", "google": "ClientError"}
_AUTH_ERROR = {"openai": "AuthenticationError", "anthropic": "AuthenticationError", "google": "ClientError"}
_STREAM_ERROR = {"openai": "APIError", "anthropic": "APIStatusError", "google": "ServerError"}
_TRANSPORT = {"openai": "APIConnectionError", "anthropic": "APIConnectionError", "google": "ReadError"}
# case -> how the call is made, what the fake does, the SDK exception class kept as the cause
_CASES: dict[str, tuple[str, Fault, dict[str, str]]] = {
    "400": ("call", _ECHO, _STATUS),
    "401 async": ("acall", _AUTH, _AUTH_ERROR),
    "in-stream": ("stream", _IN_STREAM, _STREAM_ERROR),
    "in-stream async": ("astream", _IN_STREAM, _STREAM_ERROR),
    "reset": ("call", _RESET, _TRANSPORT),
    "reset async": ("acall", _RESET, _TRANSPORT),
}


def _failure(call: Callable[[], object]) -> BaseException:
    """The exception `call` raises, caught in a frame that holds no key."""
    try:
        call()
    except Exception as err:
        return err
    raise AssertionError("the call did not fail")


def _call(api: ModelsAPI, how: str, model: str) -> Callable[[], object]:
    async def astream() -> str:
        return "".join([piece async for piece in api.astream(model, "hi", max_retries=0)])

    forms: dict[str, Callable[[], object]] = {
        "call": lambda: api(model, "hi", max_retries=0),
        "acall": lambda: asyncio.run(api.acall(model, "hi", max_retries=0)),
        "stream": lambda: "".join(api.stream(model, "hi", max_retries=0)),
        "astream": lambda: asyncio.run(astream()),
    }
    return forms[how]


def _printed(err: BaseException) -> dict[str, str]:
    """Every way the error is commonly printed."""
    out = io.StringIO()
    logger = logging.getLogger("tests.secrets")
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        logger.error("the call failed", exc_info=err)  # what logging.exception() writes
    finally:
        logger.removeHandler(handler)
    return {
        "str": f"{err} {err!r} {err.__cause__} {err.__cause__!r}",
        "format_exception": "".join(traceback.format_exception(err)),
        "logging": out.getvalue(),
        "capture_locals": "".join(traceback.TracebackException.from_exception(err, capture_locals=True).format()),
    }


def _chain(err: BaseException) -> list[BaseException]:
    chain = []
    current: BaseException | None = err
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


@pytest.mark.parametrize("case", list(_CASES))
@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_key_is_nowhere_in_the_error_or_its_cause(
    provider: str, case: str, wired: ModelsAPI, fake: FakeLLM
) -> None:
    how, fault, cause_class = _CASES[case]
    secret = KEYS[provider]
    fake.enqueue(fault)
    err = _failure(_call(wired, how, MODELS[provider]))
    assert isinstance(err, ProviderError)
    assert type(err.__cause__).__name__ == cause_class[provider]  # still the SDK's own exception
    assert [name for name, value in fake.requests[-1].headers.items() if secret in value] == [
        "x-goog-api-key" if provider == "google" else "authorization"
    ]
    if fault.echo_key:  # the fake sent it back in the error; the cause now says what it said, the key masked
        assert "Key sent: " in str(err.__cause__) and "***" in str(err.__cause__)
    printed = _printed(err)
    assert err.__cause__ is not None and type(err.__cause__).__name__ in printed["format_exception"]
    assert {form: secret in text for form, text in printed.items()} == dict.fromkeys(printed, False)
    assert {form: "SECRET" in text for form, text in printed.items()} == dict.fromkeys(printed, False)  # nor a part
    for link in _chain(err):  # httpx requests and responses anywhere in the chain
        for message in (vars(link).get("request"), vars(link).get("_request"), vars(link).get("response")):
            headers: Any = getattr(message, "headers", {})
            assert not [value for value in headers.values() if secret in value]


class Fussy(Provider):
    """A backend whose client cannot be built: the key is a local of every frame on the way."""

    key_env = ("FUSSY_API_KEY",)

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        settings = {"api_key": api_key, "base_url": base_url}
        raise ValueError(f"this SDK rejects the settings for {base_url}: {sorted(settings)}")

    def complete(self, request: Request) -> Completion:
        self.client()
        raise AssertionError("unreachable")


def test_an_error_building_the_client_keeps_no_frame_with_the_key(api: ModelsAPI) -> None:
    api.register_provider("fussy", Fussy)
    api.configure("fussy", api_key=KEYS["openai"], base_url="http://nowhere.invalid")
    err = _failure(lambda: api("fussy/model", "hi"))
    assert type(err) is ValueError  # an unknown exception propagates unchanged, as it was
    printed = _printed(err)
    assert "this SDK rejects the settings for http://nowhere.invalid" in printed["capture_locals"]
    assert "SECRET" not in "".join(printed.values())


def test_a_sdk_that_fails_before_sending_keeps_no_frame_with_the_key(api: ModelsAPI) -> None:
    # google-genai builds the request (its headers hold the key) and then fails on the URL.
    api.configure("google", api_key=KEYS["google"], base_url="http://[::1")
    err = _failure(lambda: api(MODELS["google"], "hi", max_retries=0))
    assert type(err) is ValueError and "Invalid IPv6 URL" in str(err)
    frames = [frame.name for frame in traceback.extract_tb(err.__traceback__)]
    assert "_build_request" in frames  # the stack still prints; only the locals are gone
    assert "SECRET" not in "".join(_printed(err).values())


def test_the_callers_own_exception_in_the_context_is_left_alone(wired: ModelsAPI, fake: FakeLLM) -> None:
    def theirs() -> None:
        password = "the caller's own local"
        raise KeyError(password)

    try:
        theirs()
    except KeyError as own:
        fake.enqueue(_ECHO)
        err = _failure(lambda: wired(MODELS["openai"], "hi", max_retries=0))
        assert own in _chain(err)  # Python chained it implicitly; it is not the SDK's
        assert own.__traceback__ is not None and own.__traceback__.tb_next is not None
        assert own.__traceback__.tb_next.tb_frame.f_locals == {"password": "the caller's own local"}
    assert sys.exc_info() == (None, None, None)


def test_a_short_key_is_taken_out_as_a_token_not_out_of_words() -> None:
    from models.providers._common import redact

    assert redact("The package needs k, got: k", "k") == "The package needs ***, got: ***"
