"""Bedrock's content (SPEC §8-§10): tools, structured output and attachments as Converse blocks.

`models` driven through boto3 to the wire fake, whose checks refuse what Converse refuses (alternating
roles, blank text, document names, tool blocks without toolConfig, open objects in an output schema);
the reading of reasoning blocks, which the fake does not send, on botocore-shaped dicts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from models import Attachment, InvalidRequestError, ModelsAPI, StructuredOutputError, ToolCall
from models._types import Completion
from models.providers._bedrock_content import Blocks, read

from . import media
from .conftest import sample
from .fake_llm import FakeLLM, Reply

MODEL = "bedrock/anthropic.claude-sonnet-4-6-v1:0"
LABELS = {"provider": "bedrock", "model": MODEL}
WEATHER = ("tooluse_A", "get_weather", {"city": "Paris", "unit": "c"})
TIME = ("tooluse_B", "get_time", {"zone": "Europe/Paris"})
IMAGE_LIMIT, DOCUMENT_LIMIT = 3_932_160, 4_718_592


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Current weather in a city."""
    return f"18 {unit}"


def get_time(zone: str) -> str:
    """The local time in an IANA time zone."""
    return "12:00"


WEATHER_SPEC = {
    "toolSpec": {
        "name": "get_weather",
        "inputSchema": {
            "json": {
                "properties": {
                    "city": {"type": "string"},
                    "unit": {"default": "c", "enum": ["c", "f"], "type": "string"},
                },
                "required": ["city"],
                "type": "object",
            }
        },
        "description": "Current weather in a city.",
    }
}


class City(BaseModel):
    name: str
    population: int


class Country(BaseModel):
    name: str
    capital: City


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- tools -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "wire"),
    [
        (None, None),
        ("auto", {"auto": {}}),
        ("required", {"any": {}}),
        ("get_weather", {"tool": {"name": "get_weather"}}),
    ],
)
def test_tools_and_tool_choice_on_the_wire(bedrock: ModelsAPI, fake: FakeLLM, choice: str | None, wire: Any) -> None:
    bedrock(MODEL, "Weather?", tools=[get_weather], tool_choice=choice)
    config = fake.requests[-1].body["toolConfig"]
    assert config == {"tools": [WEATHER_SPEC], **({"toolChoice": wire} if wire else {})}


def test_tool_choice_none_sends_no_tools(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    bedrock(MODEL, "Weather?", tools=[get_weather], tool_choice="none")
    assert "toolConfig" not in fake.requests[-1].body


@pytest.mark.parametrize("form", ["call", "acall", "stream", "astream"])
def test_tool_calls_are_read_in_every_call_form(bedrock: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.set_reply(Reply(text="Checking.", tool_calls=(WEATHER, TIME), finish_reason="tool_calls", chunks=3))
    if form == "call":
        r = bedrock(MODEL, "Weather and time?", tools=[get_weather, get_time])
    elif form == "acall":
        r = asyncio.run(bedrock.acall(MODEL, "Weather and time?", tools=[get_weather, get_time]))
    elif form == "stream":
        s = bedrock.stream(MODEL, "Weather and time?", tools=[get_weather, get_time])
        assert "".join(s) == "Checking."
        r = s.response
    else:

        async def read_all() -> Any:
            s = bedrock.astream(MODEL, "Weather and time?", tools=[get_weather, get_time])
            assert "".join([p async for p in s]) == "Checking."
            return s.response

        r = asyncio.run(read_all())
    assert (r.text, r.finish_reason) == ("Checking.", "tool_calls")
    assert r.tool_calls == (
        ToolCall("tooluse_A", "get_weather", {"city": "Paris", "unit": "c"}),
        ToolCall("tooluse_B", "get_time", {"zone": "Europe/Paris"}),
    )
    assert r.message == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "tooluse_A",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"}'},
            },
            {
                "id": "tooluse_B",
                "type": "function",
                "function": {"name": "get_time", "arguments": '{"zone": "Europe/Paris"}'},
            },
        ],
    }


def test_run_tools_sends_the_calls_and_results_back_as_converse_blocks(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(
        Reply(text="", tool_calls=(WEATHER, TIME), finish_reason="tool_calls", input_tokens=100, output_tokens=20),
        Reply(text="18 C at 12:00.", input_tokens=150, output_tokens=10),
    )
    r = bedrock(MODEL, "Weather and time?", tools=[get_weather, get_time], run_tools=True)
    assert (r.text, len(r.steps), r.usage.input_tokens, r.usage.output_tokens) == ("18 C at 12:00.", 2, 250, 30)
    assert r.usage.cost == (250 * 3.3 + 30 * 16.5) / 1e6
    assert fake.requests[-1].body["messages"] == [
        {"role": "user", "content": [{"text": "Weather and time?"}]},
        {
            "role": "assistant",
            "content": [
                {"toolUse": {"toolUseId": "tooluse_A", "name": "get_weather", "input": {"city": "Paris", "unit": "c"}}},
                {"toolUse": {"toolUseId": "tooluse_B", "name": "get_time", "input": {"zone": "Europe/Paris"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tooluse_A", "content": [{"text": "18 c"}]}},
                {"toolResult": {"toolUseId": "tooluse_B", "content": [{"text": "12:00"}]}},
            ],
        },
    ]
    assert sample(bedrock, "models_requests_total", status="ok", **LABELS) == 2


def test_a_user_turn_after_the_results_joins_their_message(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Let me look.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "t1", "content": "-3 c"},
        {"role": "user", "content": "And in Fahrenheit?"},
    ]
    bedrock(MODEL, history, tools=[get_weather])
    assert fake.requests[-1].body["messages"][1:] == [
        {
            "role": "assistant",
            "content": [
                {"text": "Let me look."},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Oslo"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "t1", "content": [{"text": "-3 c"}]}},
                {"text": "And in Fahrenheit?"},
            ],
        },
    ]
    with pytest.raises(InvalidRequestError, match="pass the tools= the conversation used"):
        bedrock(MODEL, history)  # Converse refuses tool blocks without toolConfig: said before sending
    with pytest.raises(InvalidRequestError, match="tool_choice='none' cannot be sent"):
        bedrock(MODEL, history, tools=[get_weather], tool_choice="none")
    assert len(fake.requests) == 1


def test_reasoning_goes_back_with_its_tool_calls(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    thinking = [
        {"reasoningText": {"text": "Use the tool.", "signature": "sig=="}},
        {"redactedContent": _b64(b"\x01\x02")},
    ]
    call = {
        "id": "t1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": "{}"},
        "extra_content": {"bedrock": {"reasoning": thinking}},
    }
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Looking.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "t1", "content": "18 c"},
    ]
    bedrock(MODEL, history, tools=[get_weather])
    assert fake.requests[-1].body["messages"][1]["content"] == [
        {"reasoningContent": {"reasoningText": {"text": "Use the tool.", "signature": "sig=="}}},
        {"reasoningContent": {"redactedContent": _b64(b"\x01\x02")}},  # boto3 sends the bytes as base64
        {"text": "Looking."},
        {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {}}},
    ]


def test_reasoning_blocks_are_kept_with_the_call_after_them_whole_or_streamed() -> None:
    # what botocore parses: a redacted block's blob is bytes
    blocks = [
        {"reasoningContent": {"reasoningText": {"text": "Think.", "signature": "s1"}}},
        {"reasoningContent": {"redactedContent": b"\x01\x02"}},
        {"text": "On it."},
        {"toolUse": {"toolUseId": "t1", "name": "f", "input": {"a": 1}}},
        {"toolUse": {"toolUseId": "t2", "name": "g", "input": {}}},
    ]
    kept = [{"reasoningText": {"text": "Think.", "signature": "s1"}}, {"redactedContent": "AQI="}]
    text, calls = read(blocks)
    assert text == "On it."
    assert calls == [ToolCall("t1", "f", {"a": 1}, extra={"bedrock": {"reasoning": kept}}), ToolCall("t2", "g", {})]
    assembly, result = Blocks(), Completion("")
    assembly.add(0, {"reasoningContent": {"text": "Thi"}})
    assembly.add(0, {"reasoningContent": {"text": "nk."}})
    assembly.add(0, {"reasoningContent": {"signature": "s1"}})
    assembly.stop(0, result)
    assembly.add(1, {"reasoningContent": {"redactedContent": b"\x01\x02"}})
    assembly.stop(1, result)
    assembly.start(2, {"toolUse": {"toolUseId": "t1", "name": "f"}})
    assembly.add(2, {"toolUse": {"input": '{"a"'}})
    assembly.add(2, {"toolUse": {"input": ": 1}"}})
    assembly.stop(2, result)
    assert result.tool_calls == [ToolCall("t1", "f", {"a": 1}, extra={"bedrock": {"reasoning": kept}})]


def test_converse_blocks_and_tools_of_its_own_pass_as_type_and_value(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    cache = {"type": "cachePoint", "cachePoint": {"type": "default"}}
    prompt = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "A long document..."}, cache, {"type": "text", "text": "Q?"}],
        }
    ]
    bedrock(MODEL, prompt, tools=[get_weather, cache])
    body = fake.requests[-1].body
    assert body["messages"][0]["content"] == [
        {"text": "A long document..."},
        {"cachePoint": {"type": "default"}},
        {"text": "Q?"},
    ]
    assert body["toolConfig"]["tools"] == [WEATHER_SPEC, {"cachePoint": {"type": "default"}}]
    with pytest.raises(InvalidRequestError, match=r"\{'type': kind, kind: value\}"):
        bedrock(MODEL, [{"role": "user", "content": [{"type": "cachePoint"}]}])
    bad = {"type": "cachePoint", "cachePoint": "default"}  # checked as botocore would: its check is off per call
    with pytest.raises(
        InvalidRequestError, match=re.escape("Invalid type for parameter messages[0].content[0].cachePoint")
    ):
        bedrock(MODEL, [{"role": "user", "content": [bad]}])
    with pytest.raises(
        InvalidRequestError, match=re.escape("Invalid type for parameter toolConfig.tools[0].cachePoint")
    ):
        bedrock(MODEL, "hi", tools=[bad])
    assert len(fake.requests) == 1


# -- structured output -------------------------------------------------------------------------


def _schema(request: Any) -> dict[str, Any]:
    text_format = request.body["outputConfig"]["textFormat"]
    assert text_format["type"] == "json_schema"
    schema: dict[str, Any] = json.loads(text_format["structure"]["jsonSchema"]["schema"])
    return schema


@pytest.mark.parametrize("form", ["call", "stream"])
def test_response_format_sends_the_closed_schema_and_parses(bedrock: ModelsAPI, fake: FakeLLM, form: str) -> None:
    fake.set_reply(Reply(text='{"name": "France", "capital": {"name": "Paris", "population": 2102650}}'))
    if form == "call":
        r = bedrock(MODEL, "France?", response_format=Country)
    else:
        s = bedrock.stream(MODEL, "France?", response_format=Country)
        "".join(s)
        r = s.response
    assert r.parsed == Country(name="France", capital=City(name="Paris", population=2102650))
    request = fake.requests[-1]
    assert request.body["outputConfig"]["textFormat"]["structure"]["jsonSchema"]["name"] == "Country"
    assert _schema(request) == {
        "$defs": {
            "City": {
                "properties": {"name": {"type": "string"}, "population": {"type": "integer"}},
                "required": ["name", "population"],
                "type": "object",
                "additionalProperties": False,
            }
        },
        "properties": {"name": {"type": "string"}, "capital": {"$ref": "#/$defs/City"}},
        "required": ["name", "capital"],
        "type": "object",
        "title": "Country",
        "additionalProperties": False,
    }


def test_response_format_list_dict_schema_and_json(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(text='{"result": [{"name": "Paris", "population": 1}]}'))
    assert bedrock(MODEL, "Cities?", response_format=list[City]).parsed == [City(name="Paris", population=1)]
    assert _schema(fake.requests[-1])["properties"]["result"]["type"] == "array"
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fake.enqueue(Reply(text='{"ok": true}'))
    assert bedrock(MODEL, "Fine?", response_format=schema).parsed == {"ok": True}
    assert _schema(fake.requests[-1]) == {**schema, "additionalProperties": False}
    fake.enqueue(Reply(text='{"any": ["thing"]}'))
    assert bedrock(MODEL, "JSON please", response_format="json").parsed == {"any": ["thing"]}
    assert "outputConfig" not in fake.requests[-1].body  # Converse has no JSON mode: parsed all the same
    fake.enqueue(Reply(text="not json"))
    with pytest.raises(StructuredOutputError) as caught:
        bedrock(MODEL, "Fine?", response_format=schema)
    assert caught.value.response.usage.cost == (10 * 3.3 + 5 * 16.5) / 1e6


class Tree(BaseModel):
    name: str
    children: list[Tree]


def test_what_a_closed_schema_cannot_express_is_refused_before_sending(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    with pytest.raises(InvalidRequestError, match=r"scores is a map \(an object with open additionalProperties\)"):
        bedrock(
            MODEL,
            "?",
            response_format={
                "type": "object",
                "properties": {"scores": {"type": "object", "additionalProperties": {"type": "integer"}}},
            },
        )
    with pytest.raises(InvalidRequestError, match="refers back to 'Tree' \\(a recursive type\\)"):
        bedrock(MODEL, "?", response_format=Tree)
    assert fake.requests == []


# -- attachments -------------------------------------------------------------------------------


def test_images_pdfs_and_audio_become_their_blocks(bedrock: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    report = tmp_path / "Q3 report (final).v2.pdf"
    report.write_bytes(media.pdf("Q3"))
    files = [
        media.png(),
        media.jpeg(),
        media.gif(),
        media.webp(),
        report,
        Attachment(data=media.pdf(), name="report.pdf"),
    ]
    bedrock(MODEL, "Describe these", attachments=[*files, Attachment(path=report)])
    content = fake.requests[-1].body["messages"][0]["content"]
    assert content == [
        {"text": "Describe these"},
        {"image": {"format": "png", "source": {"bytes": _b64(media.png())}}},
        {"image": {"format": "jpeg", "source": {"bytes": _b64(media.jpeg())}}},
        {"image": {"format": "gif", "source": {"bytes": _b64(media.gif())}}},
        {"image": {"format": "webp", "source": {"bytes": _b64(media.webp())}}},
        # a name Converse allows (no dots), each used once in the request
        {"document": {"format": "pdf", "name": "Q3 report (final)-v2", "source": {"bytes": _b64(media.pdf("Q3"))}}},
        {"document": {"format": "pdf", "name": "report", "source": {"bytes": _b64(media.pdf())}}},
        {"document": {"format": "pdf", "name": "Q3 report (final)-v2-2", "source": {"bytes": _b64(media.pdf("Q3"))}}},
    ]
    bedrock(MODEL, "Transcribe", attachments=[media.wav(), media.mp3()])
    assert fake.requests[-1].body["messages"][0]["content"][1:] == [
        {"audio": {"format": "wav", "source": {"bytes": _b64(media.wav())}}},
        {"audio": {"format": "mp3", "source": {"bytes": _b64(media.mp3())}}},
    ]


@pytest.fixture
def files() -> Iterator[str]:
    """A local web server: /cat (a PNG) and /report (a PDF), under paths that show no type."""
    bodies = {"/cat": media.png(), "/report": media.pdf()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = bodies[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_urls_are_downloaded_and_sent_inline(bedrock: ModelsAPI, fake: FakeLLM, files: str) -> None:
    part = {"type": "image_url", "image_url": {"url": f"{files}/cat"}}
    bedrock(
        MODEL, [{"role": "user", "content": [{"type": "text", "text": "What?"}, part]}], attachments=[f"{files}/report"]
    )
    assert fake.requests[-1].body["messages"][0]["content"] == [
        {"text": "What?"},
        {"image": {"format": "png", "source": {"bytes": _b64(media.png())}}},
        {"document": {"format": "pdf", "name": "report", "source": {"bytes": _b64(media.pdf())}}},
    ]


def test_files_over_the_inline_limits_are_refused_naming_size_and_limit(
    bedrock: ModelsAPI, fake: FakeLLM, tmp_path: Path
) -> None:
    png = media.png()
    fits = png + bytes(IMAGE_LIMIT - len(png))
    bedrock(MODEL, "Describe", attachments=[fits])  # exactly 3.75 MB: sent
    big = tmp_path / "big.png"
    big.write_bytes(fits + b"\0")
    with pytest.raises(
        InvalidRequestError, match=f"is 3,932,161 bytes; {MODEL} takes at most 3,932,160 bytes of image/png"
    ):
        bedrock(MODEL, "Describe", attachments=[big])
    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(media.pdf(size=DOCUMENT_LIMIT))
    with pytest.raises(InvalidRequestError, match="takes at most 4,718,592 bytes of application/pdf"):
        bedrock(MODEL, "Summarise", attachments=[pdf])
    assert len(fake.requests) == 1
    assert sample(bedrock, "models_requests_total", status="invalid_request", **LABELS) == 2


def test_tool_results_carry_images_and_pdfs(bedrock: ModelsAPI, fake: FakeLLM) -> None:
    call = {"id": "t1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
    result = [
        {"type": "text", "text": "The chart:"},
        {"type": "attachment", "attachment": Attachment(data=media.png())},
    ]
    history = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "t1", "content": result},
    ]
    bedrock(MODEL, history, tools=[get_weather])
    assert fake.requests[-1].body["messages"][2] == {
        "role": "user",
        "content": [
            {
                "toolResult": {
                    "toolUseId": "t1",
                    "content": [
                        {"text": "The chart:"},
                        {"image": {"format": "png", "source": {"bytes": _b64(media.png())}}},
                    ],
                }
            }
        ],
    }
    audio = [{"type": "attachment", "attachment": Attachment(data=media.wav())}]
    with pytest.raises(InvalidRequestError, match="takes no audio/wav in a tool result"):
        bedrock(MODEL, [*history[:2], {"role": "tool", "tool_call_id": "t1", "content": audio}], tools=[get_weather])
    assert len(fake.requests) == 1
