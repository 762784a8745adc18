"""The gateway's failures in OpenAI's shape: each library error class → its status, type and code
(the table in models/_gateway/failures.py), bad input → OpenAI's 400s, never a 500 with a traceback,
and the provider keys never in a body or a header. One gateway for the module, on the wire fake."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import openai
import pytest

from models import Completion, Provider, ProviderTimeoutError
from models._gateway.settings import GatewaySettings
from models.providers._base import Request

from .conftest import KEYS
from .fake_llm import FakeLLM, Fault, Reply
from .gateway_server import GatewayServer

pytest.importorskip("starlette")

MAX_BODY = 4096
CHAT = [{"role": "user", "content": "hi"}]


class Broken(Provider):
    """A custom provider: `broken/timeout` times out (the library's deadline takes seconds to reach through
    the fake); any other model has a bug, an exception the library passes on unchanged (not a `ModelsError`)."""

    def complete(self, request: Request) -> Completion:
        if request.model.name == "timeout":
            raise ProviderTimeoutError("no answer in 0.05 s", model=request.model.id)
        raise RuntimeError("bug in a custom provider, holding sk-INTERNAL-DETAIL")


@pytest.fixture(scope="module")
def gateway(fake_server: FakeLLM) -> Iterator[GatewayServer]:
    with GatewayServer(fake_server, GatewaySettings(max_body=MAX_BODY, no_auth=True)) as server:
        server.api.register_provider("broken", Broken)
        yield server


def post(gateway: GatewayServer, path: str, body: Any, **options: Any) -> tuple[int, dict[str, Any], httpx.Response]:
    """POST `body` (JSON unless bytes); the status, the `error` object, the answer. Every answer is checked
    to carry no provider key, in its body or its headers."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer = httpx.post(
        gateway.base_url + path, content=content, headers={"content-type": "application/json"}, **options
    )
    shown = answer.text + repr(sorted(answer.headers.items()))
    assert not [name for name, secret in KEYS.items() if secret in shown]
    assert answer.headers["content-type"] == "application/json"
    return answer.status_code, answer.json()["error"], answer


def chat(gateway: GatewayServer, **fields: Any) -> tuple[int, dict[str, Any], httpx.Response]:
    return post(gateway, "/chat/completions", {"model": "gpt-4o", "messages": CHAT, **fields})


# -- the library's errors --------------------------------------------------------------------------


def test_context_window(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Fault.context_window())
    status, error, _ = chat(gateway)
    assert (status, error["type"], error["code"], error["param"]) == (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        None,
    )
    assert error["message"].startswith("Prompt too long for openai/gpt-4o: This model's maximum context length is")


def test_content_filter(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Reply(blocked=True))
    status, error, _ = chat(gateway, model="google/gemini-2.5-flash")
    assert (status, error["type"], error["code"]) == (400, "invalid_request_error", "content_filter")


def test_unsupported_capability(gateway: GatewayServer, fake: FakeLLM) -> None:
    status, error, _ = post(gateway, "/embeddings", {"model": "gpt-4o", "input": "x"})
    assert (status, error["type"], error["code"]) == (400, "invalid_request_error", "unsupported_capability")
    assert error["message"].startswith("openai/gpt-4o does not support embeddings")
    assert fake.requests == []  # refused before sending


def test_provider_bad_request(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Fault(status=400, message="Invalid value for 'temperature'."))
    status, error, _ = chat(gateway, temperature=1.5)
    assert (status, error["type"], error["code"]) == (400, "invalid_request_error", None)
    assert error["message"].startswith("OpenAI error: Invalid value for 'temperature'. (openai/gpt-4o, HTTP 400, ")


def test_library_bad_message(gateway: GatewayServer, fake: FakeLLM) -> None:
    status, error, _ = chat(gateway, messages=[{"role": "wizard", "content": "hi"}])
    assert (status, error["type"], error["code"]) == (400, "invalid_request_error", None)
    assert error["message"] == "prompt[0] has role 'wizard'; use one of system, user, assistant, tool. (openai/gpt-4o)"
    assert fake.requests == []


def test_parameter_the_provider_does_not_take(gateway: GatewayServer, fake: FakeLLM) -> None:
    status, error, _ = chat(gateway, model="claude-sonnet-4-6", logit_bias={"1": 2})
    assert (status, error["type"]) == (400, "invalid_request_error")
    assert "logit_bias" in error["message"]
    assert fake.requests == []


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("gpt4o", "Unknown model 'gpt4o'. Did you mean 'gpt-4o', "),
        ("nosuch/model", "Unknown provider 'nosuch'."),
    ],
)
def test_model_not_found(gateway: GatewayServer, model: str, message: str) -> None:
    status, error, _ = chat(gateway, model=model)
    assert (status, error["type"], error["code"], error["param"]) == (
        404,
        "invalid_request_error",
        "model_not_found",
        "model",
    )
    assert error["message"].startswith(message)
    with pytest.raises(openai.NotFoundError) as raised:
        gateway.client().models.retrieve(model)
    assert raised.value.status_code == 404 and raised.value.code == "model_not_found"


def test_rate_limit_after_retries(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(*[Fault.rate_limit("0.1")] * 3)  # the first try and the library's two retries
    status, error, answer = chat(gateway)
    assert (status, error["type"], error["code"]) == (429, "rate_limit_error", "rate_limit_exceeded")
    assert (answer.headers["retry-after"], answer.headers["retry-after-ms"]) == ("1", "100")
    assert len(fake.requests) == 3


def test_library_budget(gateway: GatewayServer, fake: FakeLLM) -> None:
    gateway.api.set_budget("0.0001")
    try:
        status, error, _ = chat(gateway, max_tokens=1000)  # reserves up to 1000 x $10/1M = $0.01
    finally:
        gateway.api.set_budget(None)
    assert (status, error["type"], error["code"]) == (429, "insufficient_quota", "insufficient_quota")
    assert error["message"].startswith("Budget of $0.000100 has $0.000100 left")
    assert fake.requests == []


@pytest.mark.parametrize("fault", [Fault.auth(), Fault(status=401, echo_key=True), Fault(status=403, echo_key=True)])
def test_provider_refuses_the_gateways_key(gateway: GatewayServer, fake: FakeLLM, fault: Fault) -> None:
    """Not a 401: the client's key was fine. The provider's words are not passed on (they may quote its key)."""
    fake.enqueue(fault)
    status, error, _ = chat(gateway)
    assert (status, error) == (
        502,
        {
            "message": "The provider 'openai' refused the gateway's credentials; the gateway's operator must fix them.",
            "type": "server_error",
            "param": None,
            "code": "upstream_authentication",
        },
    )


def test_provider_not_configured(gateway: GatewayServer, fake: FakeLLM, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    status, error, _ = chat(gateway, model="mistral/mistral-large-latest")
    assert (status, error) == (
        503,
        {
            "message": "The gateway is not configured for this model's provider.",
            "type": "server_error",
            "param": None,
            "code": "provider_not_configured",
        },
    )


@pytest.mark.parametrize(
    ("faults", "start"),
    [
        ([Fault.server()] * 3, "OpenAI error: The server had an error while processing your request. (openai/gpt-4o, "),
        ([Fault(reset=True)] * 3, "Could not reach OpenAI: Connection error. (openai/gpt-4o)"),
        ([Fault(status=200, body=b"<html>proxy</html>", content_type="text/html")], ""),
    ],
    ids=["server", "connection", "bad_response"],
)
def test_upstream_failures(gateway: GatewayServer, fake: FakeLLM, faults: list[Fault], start: str) -> None:
    fake.enqueue(*faults)
    status, error, _ = chat(gateway)
    assert (status, error["type"], error["code"]) == (502, "server_error", "upstream_error")
    assert error["message"].startswith(start)
    assert len(fake.requests) == len(faults)


def test_upstream_timeout(gateway: GatewayServer) -> None:
    status, error, _ = chat(gateway, model="broken/timeout")
    assert (status, error) == (
        504,
        {
            "message": "no answer in 0.05 s (broken/timeout)",
            "type": "server_error",
            "param": None,
            "code": "upstream_timeout",
        },
    )


def test_structured_output_that_does_not_parse(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text="not json"))
    schema = {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "object"}}}
    status, error, _ = chat(gateway, response_format=schema)
    assert (status, error["type"], error["code"]) == (502, "server_error", "invalid_structured_output")


def test_unexpected_error_is_a_500_without_details(gateway: GatewayServer, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "models.gateway"):
        status, error, _ = chat(gateway, model="broken/thing")
    assert (status, error) == (
        500,
        {
            "message": "The gateway failed unexpectedly; the error is in its log.",
            "type": "server_error",
            "param": None,
            "code": None,
        },
    )
    assert [r.exc_info[0] for r in caplog.records if r.exc_info] == [RuntimeError]


def test_sdk_raises_the_matching_classes(gateway: GatewayServer, fake: FakeLLM) -> None:
    client = gateway.client()
    fake.enqueue(Fault.context_window())
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="gpt-4o", messages=CHAT)  # type: ignore[arg-type]
    assert bad.value.code == "context_length_exceeded"
    fake.enqueue(*[Fault.rate_limit("0")] * 3)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=CHAT)  # type: ignore[arg-type]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt4o", messages=CHAT)  # type: ignore[arg-type]


# -- streams ---------------------------------------------------------------------------------------


def test_stream_fails_before_its_first_piece_with_a_status(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(*[Fault.server()] * 3)
    with pytest.raises(openai.InternalServerError) as raised:
        gateway.client().chat.completions.create(model="gpt-4o", messages=CHAT, stream=True)  # type: ignore[arg-type]
    assert raised.value.status_code == 502 and raised.value.code == "upstream_error"


def test_stream_error_midway_is_an_error_event(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Fault(stream_error=True))
    stream = gateway.client().chat.completions.create(model="gpt-4o", messages=CHAT, stream=True)  # type: ignore[arg-type]
    pieces = []
    with pytest.raises(openai.APIError) as raised:
        for chunk in stream:
            pieces.append(chunk.choices[0].delta.content)
    assert pieces == ["ech"]  # the first piece arrived before the provider's error event
    assert raised.value.body == {
        "message": raised.value.message,
        "type": "server_error",
        "param": None,
        "code": "upstream_error",
    }


def test_stream_structured_output_that_does_not_parse(gateway: GatewayServer, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text="not json"))
    schema = {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "object"}}}
    body = {"model": "gpt-4o", "messages": CHAT, "stream": True, "response_format": schema}
    raw = httpx.post(gateway.base_url + "/chat/completions", json=body).text
    last = json.loads(raw.split("\n\n")[-2].removeprefix("data: "))
    assert (last["error"]["type"], last["error"]["code"]) == ("server_error", "invalid_structured_output")


# -- bad input: OpenAI's 400s ----------------------------------------------------------------------


def test_malformed_json(gateway: GatewayServer, fake: FakeLLM) -> None:
    for body in (b'{"model": "gpt-4o", "messages": [', b"\xff\xfe", b""):
        status, error, _ = post(gateway, "/chat/completions", body)
        assert (status, error["type"], error["code"], error["param"]) == (400, "invalid_request_error", None, None)
        assert error["message"].startswith("We could not parse the JSON body of your request.")
    status, error, _ = post(gateway, "/embeddings", [1, 2])
    assert (status, error["message"]) == (400, "The request body must be a JSON object, not an array.")
    assert fake.requests == []


def test_unknown_field(gateway: GatewayServer) -> None:
    status, error, _ = chat(gateway, temprature=0.5)
    assert (status, error) == (
        400,
        {
            "message": "Unrecognized request argument supplied: temprature",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        },
    )
    with pytest.raises(openai.BadRequestError, match="Unrecognized request argument supplied: foo"):
        gateway.client().embeddings.create(model="text-embedding-3-small", input="x", extra_body={"foo": 1})


@pytest.mark.parametrize(
    ("path", "field", "value", "expected", "got"),
    [
        ("/chat/completions", "model", 4, "a string", "an integer"),
        ("/chat/completions", "messages", "hi", "an array", "a string"),
        ("/chat/completions", "temperature", "hot", "a decimal", "a string"),
        ("/chat/completions", "top_p", True, "a decimal", "a boolean"),
        ("/chat/completions", "max_tokens", 1.5, "an integer", "a decimal"),
        ("/chat/completions", "max_completion_tokens", "9", "an integer", "a string"),
        ("/chat/completions", "stream", "yes", "a boolean", "a string"),
        ("/chat/completions", "stop", [1], "a string or an array of strings", "an array"),
        ("/chat/completions", "seed", {}, "an integer", "an object"),
        ("/chat/completions", "tools", {}, "an array", "an object"),
        ("/chat/completions", "tool_choice", 1, "a string or an object", "an integer"),
        ("/chat/completions", "response_format", "json", "an object", "a string"),
        ("/chat/completions", "stream_options", [], "an object", "an array"),
        ("/embeddings", "input", 7, "a string or an array of strings", "an integer"),
        ("/embeddings", "dimensions", "8", "an integer", "a string"),
        ("/embeddings", "encoding_format", 1, "a string", "an integer"),
    ],
)
def test_wrong_types(gateway: GatewayServer, path: str, field: str, value: Any, expected: str, got: str) -> None:
    body: dict[str, Any] = (
        {"model": "gpt-4o", "messages": CHAT}
        if path == "/chat/completions"
        else {"model": "text-embedding-3-small", "input": "x"}
    )
    status, error, _ = post(gateway, path, {**body, field: value})
    assert (status, error) == (
        400,
        {
            "message": f"Invalid type for '{field}': expected {expected}, but got {got} instead.",
            "type": "invalid_request_error",
            "param": field,
            "code": "invalid_type",
        },
    )


@pytest.mark.parametrize(
    ("path", "body", "missing"),
    [
        ("/chat/completions", {"messages": CHAT}, "model"),
        ("/chat/completions", {"model": "gpt-4o"}, "messages"),
        ("/chat/completions", {"model": None, "messages": CHAT}, "model"),
        ("/chat/completions", {"model": " ", "messages": CHAT}, "model"),
        ("/embeddings", {"input": "x"}, "model"),
        ("/embeddings", {"model": "text-embedding-3-small"}, "input"),
    ],
)
def test_missing_fields(gateway: GatewayServer, path: str, body: dict[str, Any], missing: str) -> None:
    status, error, _ = post(gateway, path, body)
    assert (status, error) == (
        400,
        {
            "message": f"Missing required parameter: '{missing}'.",
            "type": "invalid_request_error",
            "param": missing,
            "code": "missing_required_parameter",
        },
    )


@pytest.mark.parametrize(
    ("fields", "param", "code", "message"),
    [
        ({"messages": []}, "messages", "empty_array", "Invalid 'messages': empty array."),
        ({"n": 2}, "n", "unsupported_parameter", "'n' is not supported by this gateway (one choice per request)."),
        ({"logprobs": True}, "logprobs", "unsupported_parameter", "'logprobs' is not supported by this gateway."),
        ({"audio": {}}, "audio", "unsupported_parameter", "'audio' is not supported by this gateway."),
        ({"tool_choice": {"type": "x"}}, "tool_choice", "invalid_value", "Invalid 'tool_choice'"),
        ({"stream_options": {"include_usage": 1}}, "stream_options.include_usage", "invalid_type", "Invalid type"),
    ],
)
def test_bad_values(gateway: GatewayServer, fields: dict[str, Any], param: str, code: str, message: str) -> None:
    status, error, _ = chat(gateway, **fields)
    assert (status, error["type"], error["param"], error["code"]) == (400, "invalid_request_error", param, code)
    assert error["message"].startswith(message)


def test_token_array_inputs(gateway: GatewayServer) -> None:
    status, error, _ = post(gateway, "/embeddings", {"model": "text-embedding-3-small", "input": [[1, 2, 3]]})
    assert (status, error["param"], error["code"]) == (400, "input", "invalid_value")
    status, error, _ = post(
        gateway, "/embeddings", {"model": "text-embedding-3-small", "input": "x", "encoding_format": "int8"}
    )
    assert (status, error["param"], error["code"]) == (400, "encoding_format", "invalid_value")


def test_oversized_body(gateway: GatewayServer, fake: FakeLLM) -> None:
    big = "x" * MAX_BODY
    status, error, _ = chat(gateway, messages=[{"role": "user", "content": big}])
    assert (status, error) == (
        400,
        {
            "message": f"The request body is larger than this gateway's limit of {MAX_BODY} bytes "
            "(MODELS_GATEWAY_MAX_BODY or `models serve --max-body` raise it).",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        },
    )
    # Without a Content-Length (chunked): counted as it arrives.
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": big}]}).encode()
    answer = httpx.post(gateway.base_url + "/chat/completions", content=iter([body[:100], body[100:]]))
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "request_too_large")
    assert fake.requests == []
    # Just under the limit is fine.
    status = httpx.post(gateway.base_url + "/chat/completions", json={"model": "gpt-4o", "messages": CHAT}).status_code
    assert status == 200


def test_unknown_route_and_method(gateway: GatewayServer) -> None:
    answer = httpx.post(gateway.base_url + "/completions", json={})
    assert (answer.status_code, answer.json()["error"]["message"]) == (404, "Invalid URL (POST /v1/completions)")
    answer = httpx.get(gateway.base_url + "/chat/completions")
    assert (answer.status_code, answer.json()["error"]["type"]) == (405, "invalid_request_error")


@pytest.mark.parametrize(
    ("body", "status", "start"),
    [
        ({"max_tokens": -1}, 400, "max_tokens must be at least 1, not -1 (openai/gpt-4o)"),
        ({"temperature": 9}, 400, "temperature must be between 0 and 2, not 9 (openai/gpt-4o)"),
        ({"messages": ["hi"]}, 400, "prompt[0] must be a dict with 'role' and 'content', got 'hi'"),
        ({"messages": [{"role": "user", "content": 5}]}, 400, "prompt[0]['content'] must be a str or a list of parts"),
        ({"messages": [{"role": "system", "content": "s"}]}, 400, "The prompt has no user or assistant message."),
        ({"tools": [1]}, 400, "tools= takes functions, pydantic model classes, OpenAI-format dicts or models.Tool"),
        ({"tool_choice": "required"}, 400, "tool_choice='required' needs tools: pass tools=[...]."),
        ({"response_format": {}}, 400, "response_format={} is not a JSON Schema"),
        ({"response_format": {"type": "json_schema"}}, 400, "response_format is not a valid JSON Schema"),
        ({"model": "text-embedding-3-small"}, 400, "openai/text-embedding-3-small does not support text_output"),
        ({"stream": True, "max_tokens": 0}, 400, "max_tokens must be at least 1, not 0 (openai/gpt-4o)"),
    ],
)
def test_bad_input_the_library_refuses(
    gateway: GatewayServer, fake: FakeLLM, body: dict[str, Any], status: int, start: str
) -> None:
    """What the gateway passes on unchecked (contents, ranges, tools, schemas) the library refuses before
    sending: still OpenAI's 400, streams included, never a 500."""
    got, error, _ = chat(gateway, **body)
    assert (got, error["type"]) == (status, "invalid_request_error")
    assert error["message"].startswith(start)
    assert fake.requests == []
