"""Proves the Bedrock part of the wire fake (tests/fake_bedrock.py) against the real boto3.

Every assertion is on what botocore parsed, raised or signed: the Converse body, the ConverseStream
events decoded from the AWS event-stream framing (prelude and message CRCs checked by botocore), the
errors by their `x-amzn-ErrorType`, an in-stream exception event, the checks that answer a 400
ValidationException, and the SigV4 signature of each request. botocore's retries are off, so one
request maps to one queue item.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError

from . import media
from .conftest import AWS
from .fake_llm import FakeLLM, Fault, Reply

MODEL = "anthropic.claude-sonnet-4-6-v1:0"
ASK = [{"role": "user", "content": [{"text": "hello world"}]}]
CALL = ("tooluse_1", "get_weather", {"city": "Paris"})


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[Any]:
    session = boto3.session.Session(
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=AWS["AWS_SESSION_TOKEN"],
        region_name="us-east-1",
    )
    config = Config(retries={"total_max_attempts": 1}, read_timeout=10, connect_timeout=10)
    made = session.client("bedrock-runtime", endpoint_url=fake_server.url, config=config)
    yield made
    made.close()


def _events(client: Any, **kwargs: Any) -> list[dict[str, Any]]:
    return list(client.converse_stream(modelId=MODEL, messages=ASK, **kwargs)["stream"])


def test_converse_body_as_boto3_parses_it(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(Reply(text="Hi there", input_tokens=20, output_tokens=8, cached_input_tokens=5, cache_write_tokens=3))
    response = client.converse(modelId=MODEL, messages=ASK)
    assert response["output"] == {"message": {"role": "assistant", "content": [{"text": "Hi there"}]}}
    assert response["stopReason"] == "end_turn"
    # inputTokens leaves out the cache reads and writes, as Bedrock reports it
    assert response["usage"] == {
        "inputTokens": 12,
        "outputTokens": 8,
        "totalTokens": 28,
        "cacheReadInputTokens": 5,
        "cacheWriteInputTokens": 3,
    }
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert response["ResponseMetadata"]["RequestId"].startswith("req_")  # from x-amzn-RequestId
    recorded = fake.requests[-1]
    assert (recorded.provider, recorded.method, recorded.path, recorded.model, recorded.stream) == (
        "bedrock",
        "POST",
        "/model/anthropic.claude-sonnet-4-6-v1%3A0/converse",
        MODEL,
        False,
    )
    assert recorded.body == {"messages": ASK}


def test_finish_reasons_and_tool_use_blocks(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(
        Reply(text="", finish_reason="length"),
        Reply(text="Checking.", tool_calls=(CALL,), finish_reason="tool_calls"),
        Reply(blocked=True),
    )
    assert client.converse(modelId=MODEL, messages=ASK)["stopReason"] == "max_tokens"
    response = client.converse(modelId=MODEL, messages=ASK)
    assert response["stopReason"] == "tool_use"
    assert response["output"]["message"]["content"] == [
        {"text": "Checking."},
        {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
    ]
    assert client.converse(modelId=MODEL, messages=ASK)["stopReason"] == "guardrail_intervened"


def test_converse_stream_events_decode_with_their_checksums(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(Reply(text="The quick brown fox", chunks=4, cached_input_tokens=4))
    events = _events(client)
    assert events == [
        {"messageStart": {"role": "assistant"}},
        *[
            {"contentBlockDelta": {"delta": {"text": p}, "contentBlockIndex": 0}}
            for p in ["The q", "uick ", "brown", " fox"]
        ],
        {"contentBlockStop": {"contentBlockIndex": 0}},
        {"messageStop": {"stopReason": "end_turn"}},
        {
            "metadata": {
                "usage": {
                    "inputTokens": 6,
                    "outputTokens": 5,
                    "totalTokens": 15,
                    "cacheReadInputTokens": 4,
                    "cacheWriteInputTokens": 0,
                },
                "metrics": {"latencyMs": 12},
            }
        },
    ]
    recorded = fake.requests[-1]
    assert (recorded.path, recorded.stream) == ("/model/anthropic.claude-sonnet-4-6-v1%3A0/converse-stream", True)


def test_streamed_tool_use_is_a_started_block_of_input_fragments(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(Reply(text="", tool_calls=(CALL,), finish_reason="tool_calls", chunks=2))
    events = _events(client)
    assert events[1:5] == [
        {
            "contentBlockStart": {
                "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}},
                "contentBlockIndex": 0,
            }
        },
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": '}}, "contentBlockIndex": 0}},
        {"contentBlockDelta": {"delta": {"toolUse": {"input": '"Paris"}'}}, "contentBlockIndex": 0}},
        {"contentBlockStop": {"contentBlockIndex": 0}},
    ]
    assert events[5] == {"messageStop": {"stopReason": "tool_use"}}


@pytest.mark.parametrize(
    ("fault", "code", "status", "message"),
    [
        (Fault.rate_limit(), "ThrottlingException", 429, "Too many requests, please wait before trying again."),
        (Fault.auth(), "UnrecognizedClientException", 403, "The security token included in the request is invalid."),
        (Fault.context_window(), "ValidationException", 400, "Input is too long for requested model."),
        (
            Fault.server(),
            "InternalServerException",
            500,
            "The system encountered an unexpected error during processing.",
        ),
        (Fault.overloaded(), "ServiceUnavailableException", 503, "Bedrock is unable to process your request."),
        (
            Fault(status=424, code="ModelErrorException", message="model failed"),
            "ModelErrorException",
            424,
            "model failed",
        ),
        (Fault(status=404), "ResourceNotFoundException", 404, "fault"),
        (Fault(status=408), "ModelTimeoutException", 408, "fault"),
    ],
)
def test_errors_by_their_name_and_status(
    fake: FakeLLM, client: Any, fault: Fault, code: str, status: int, message: str
) -> None:
    fake.enqueue(fault)
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, messages=ASK)
    error = caught.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"]) == (code, message)
    assert error["ResponseMetadata"]["HTTPStatusCode"] == status
    # botocore's modeled exception class, found by the header's name (UnrecognizedClientException is not modeled)
    assert type(caught.value) is getattr(client.exceptions, code, ClientError)
    assert error["ResponseMetadata"]["RequestId"].startswith("req_")


def test_in_stream_exception_event(fake: FakeLLM, client: Any) -> None:
    fake.enqueue(Fault(stream_error=True, code="ModelStreamErrorException", message="the model broke"))
    stream = client.converse_stream(modelId=MODEL, messages=ASK)["stream"]
    got = []
    with pytest.raises(EventStreamError) as caught:
        for event in stream:
            got.append(event)
    assert got == [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockDelta": {"delta": {"text": "echo: "}, "contentBlockIndex": 0}},
    ]
    assert caught.value.response["Error"] == {"Code": "modelStreamErrorException", "Message": "the model broke"}


def test_requests_are_sigv4_signed_with_the_session_token(fake: FakeLLM, client: Any) -> None:
    client.converse(modelId=MODEL, messages=ASK)
    recorded = fake.requests[-1]
    headers = recorded.headers
    authorization = headers["authorization"]
    scope = f"Credential={AWS['AWS_ACCESS_KEY_ID']}/{headers['x-amz-date'][:8]}/us-east-1/bedrock/aws4_request"
    assert authorization.startswith(f"AWS4-HMAC-SHA256 {scope}, SignedHeaders=")
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert headers["x-amz-security-token"] == AWS["AWS_SESSION_TOKEN"]
    # The signature is the one SigV4 computes from the secret key for this very request.
    credentials = botocore.credentials.Credentials(
        AWS["AWS_ACCESS_KEY_ID"], AWS["AWS_SECRET_ACCESS_KEY"], AWS["AWS_SESSION_TOKEN"]
    )
    request = botocore.awsrequest.AWSRequest(
        "POST",
        fake.url + recorded.path,
        data=json.dumps(recorded.body).encode(),
        headers={k: headers[k] for k in signed},
    )
    request.context["timestamp"] = headers["x-amz-date"]
    signer = botocore.auth.SigV4Auth(credentials, "bedrock", "us-east-1")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    assert authorization.endswith(f"Signature={signature}")
    assert AWS["AWS_SECRET_ACCESS_KEY"] not in json.dumps(recorded.headers)


def _refused(fake: FakeLLM, client: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        client.converse(modelId=MODEL, **kwargs)
    error = caught.value.response
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ValidationException", 400)
    message: str = error["Error"]["Message"]
    return message


def _document(name: str, data: bytes = b"") -> dict[str, Any]:
    return {"document": {"format": "pdf", "name": name, "source": {"bytes": data or media.pdf()}}}


def test_fake_refuses_what_converse_refuses(fake: FakeLLM, client: Any) -> None:
    user = {"role": "user", "content": [{"text": "hi"}]}
    assistant = {"role": "assistant", "content": [{"text": "hello"}]}
    assert "alternate between user and assistant" in _refused(fake, client, messages=[user, user])
    assert "must start with a user message" in _refused(fake, client, messages=[assistant, user])
    blank = [{"role": "user", "content": [{"text": "  "}]}]
    assert _refused(fake, client, messages=blank) == (
        "The text field in the ContentBlock object at messages.0.content.0 is blank. "
        "Add text to the text field, and try again."
    )
    twice = [{"role": "user", "content": [{"text": "Read"}, _document("report"), _document("report")]}]
    assert _refused(fake, client, messages=twice).startswith("Messages can't contain duplicate document names.")
    dotted = [{"role": "user", "content": [{"text": "Read"}, _document("report.pdf")]}]
    assert "can only contain alphanumeric characters" in _refused(fake, client, messages=dotted)
    six = [{"role": "user", "content": [{"text": "Read"}, *[_document(f"d{i}") for i in range(6)]]}]
    assert _refused(fake, client, messages=six) == "You can't include more than 5 documents in a request."
    image = {"image": {"format": "png", "source": {"bytes": media.jpeg()}}}
    assert "not a valid png" in _refused(fake, client, messages=[{"role": "user", "content": [{"text": "a"}, image]}])
    use = {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "1"}]}}
    calls = [user, {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    assert _refused(fake, client, messages=calls) == (
        "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    )
    tools = {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}
    unanswered = [user, {"role": "assistant", "content": [use]}, user]
    assert "Expected toolResult blocks at messages.2.content for the following Ids: t1" in _refused(
        fake, client, messages=unanswered, toolConfig=tools
    )
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    output = {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": {"schema": json.dumps(schema)}}}}
    assert "'additionalProperties' must be explicitly set to false" in _refused(
        fake, client, messages=[user], outputConfig=output
    )
    assert [r.provider for r in fake.requests] == ["bedrock"] * 10


def test_fake_takes_well_formed_files_and_tool_rounds(fake: FakeLLM, client: Any) -> None:
    image = {"image": {"format": "png", "source": {"bytes": media.png()}}}
    files = [{"role": "user", "content": [{"text": "Look"}, image, _document("report (1) [draft]")]}]
    assert client.converse(modelId=MODEL, messages=files)["stopReason"] == "end_turn"
    sent = fake.requests[-1].body["messages"][0]["content"][1]["image"]
    assert base64.b64decode(sent["source"]["bytes"]) == media.png()  # boto3 sends the bytes as base64
    use = {"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}
    result = {"toolResult": {"toolUseId": "t1", "content": [{"text": "1"}, image]}}
    calls = [ASK[0], {"role": "assistant", "content": [use]}, {"role": "user", "content": [result]}]
    tools = {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]}
    assert client.converse(modelId=MODEL, messages=calls, toolConfig=tools)["stopReason"] == "end_turn"
