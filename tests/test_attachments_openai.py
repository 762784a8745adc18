"""OpenAI (Chat Completions) images, PDFs and audio (SPEC §10), end to end over the wire fake.

First the fake itself, proved against the real `openai` SDK: well-formed `image_url`, `input_audio`
and `file` parts pass, and malformed ones get the API's 400 (`openai.BadRequestError`).

Then `models` through the SDK to the fake: the exact parts each media type becomes from a path,
bytes, an `Attachment` and OpenAI's own parts; image URLs passed as URLs, a PDF URL downloaded
(from a local server) and inlined; the size limit refused before sending; usage and cost from the
reported tokens; streams and acall; a retry sends the same body without reading the file again.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from . import media
from .fake_llm import FakeLLM

KEY = "sk-test-SECRET"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_part(data: bytes, media_type: str = "image/png", **extra: Any) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{b64(data)}", **extra}}


def audio_part(data: bytes, fmt: str, prefix: str = "") -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": prefix + b64(data), "format": fmt}}


def file_part(data: bytes, filename: str = "report.pdf", media_type: str = "application/pdf") -> dict[str, Any]:
    return {"type": "file", "file": {"filename": filename, "file_data": f"data:{media_type};base64,{b64(data)}"}}


def user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": "Look"}, *parts]}]


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key=KEY, base_url=fake_server.openai_base_url, max_retries=0, timeout=10) as made:
        yield made


# --- the fake against the real SDK ----------------------------------------------------------------


def test_the_fake_takes_every_well_formed_file_part(fake: FakeLLM, client: openai.OpenAI) -> None:
    parts = [
        image_part(media.png()),
        image_part(media.jpeg(), "image/jpeg", detail="low"),
        image_part(media.gif(), "image/gif", detail="original"),
        image_part(media.webp(), "image/webp"),
        image_part(media.jpeg(), "image/png"),  # the API reads the bytes, not the declared type
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "high"}},
        audio_part(media.wav(), "wav"),
        audio_part(media.mp3(), "mp3"),
        file_part(media.pdf()),
        file_part(media.pdf(), filename="no-extension"),
        {"type": "file", "file": {"file_id": "file-abc123"}},
    ]
    messages = [*user(*parts), {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]}]
    completion = client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    assert completion.choices[0].message.content == "echo: Look"
    assert fake.requests[-1].body["messages"] == messages


def _refusal(name: str, messages: list[dict[str, Any]], message: str) -> Any:
    return pytest.param(messages, message, id=name)


_EXPECT_IMAGE = (
    "Expected a base64-encoded data URL with an image MIME type (e.g. 'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), "
    "but got"
)
_EXPECT_PDF = (
    "Expected a base64-encoded data URL with an application/pdf MIME type "
    "(e.g. 'data:application/pdf;base64,SGVsbG8sIFdvcmxkIQ=='), but got"
)
_UNSUPPORTED_IMAGE = (
    "You uploaded an unsupported image. Please make sure your image has of one the following formats: "
    "['png', 'jpeg', 'gif', 'webp']."
)
_AT = "messages[0].content[1]"
_MALFORMED = [
    _refusal(
        "image: base64 that is not",
        user({"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}),
        f"Invalid image URL: '{_AT}.image_url.url'. {_EXPECT_IMAGE} invalid base64-encoded bytes.",
    ),
    _refusal(
        "image: empty base64",
        user({"type": "image_url", "image_url": {"url": "data:image/png;base64,"}}),
        f"Invalid image URL: '{_AT}.image_url.url'. {_EXPECT_IMAGE} empty base64-encoded bytes.",
    ),
    _refusal(
        "image: a media type not allowed",
        user(image_part(media.png(), "image/bmp")),
        f"Invalid image URL: '{_AT}.image_url.url'. {_EXPECT_IMAGE} unsupported MIME type 'image/bmp'.",
    ),
    _refusal(
        "image: a PDF's bytes",
        user(image_part(media.pdf())),
        _UNSUPPORTED_IMAGE,
    ),
    _refusal(
        "image: neither URL nor data URL",
        user({"type": "image_url", "image_url": {"url": "cat.png"}}),
        f"Invalid image URL: '{_AT}.image_url.url'. {_EXPECT_IMAGE} a value without the 'data:' prefix.",
    ),
    _refusal(
        "image: a data URL that is not base64",
        user({"type": "image_url", "image_url": {"url": "data:image/png,rawbytes"}}),
        f"Invalid image URL: '{_AT}.image_url.url'. {_EXPECT_IMAGE} a data URL that is not base64-encoded.",
    ),
    _refusal(
        "image: a string, not an object",
        user({"type": "image_url", "image_url": "https://example.com/cat.png"}),
        f"Invalid type for '{_AT}.image_url': expected an object, but got str instead.",
    ),
    _refusal(
        "image: no url",
        user({"type": "image_url", "image_url": {"detail": "low"}}),
        f"Missing required parameter: '{_AT}.image_url.url'.",
    ),
    _refusal(
        "image: a detail not allowed",
        user(image_part(media.png(), detail="max")),
        "Invalid value: 'max'. Supported values are: 'auto', 'low', 'high', and 'original'.",
    ),
    _refusal(
        "audio: no data",
        user({"type": "input_audio", "input_audio": {"format": "wav"}}),
        f"Missing required parameter: '{_AT}.input_audio.data'.",
    ),
    _refusal(
        "audio: no format",
        user({"type": "input_audio", "input_audio": {"data": b64(media.wav())}}),
        f"Missing required parameter: '{_AT}.input_audio.format'.",
    ),
    _refusal(
        "audio: a format not allowed",
        user({"type": "input_audio", "input_audio": {"data": b64(media.wav()), "format": "flac"}}),
        "Invalid value: 'flac'. Supported values are: 'wav' and 'mp3'.",
    ),
    _refusal(
        "audio: base64 that is not",
        user({"type": "input_audio", "input_audio": {"data": "not base64!", "format": "wav"}}),
        f"Invalid '{_AT}.input_audio.data': expected base64-encoded audio, but got invalid base64.",
    ),
    _refusal(
        "audio: a data URL, not bare base64",
        user(audio_part(media.wav(), "wav", prefix="data:audio/wav;base64,")),
        f"Invalid '{_AT}.input_audio.data': expected base64-encoded audio, but got invalid base64.",
    ),
    _refusal(
        "audio: mp3 bytes said to be wav",
        user(audio_part(media.mp3(), "wav")),
        f"The audio in '{_AT}.input_audio.data' could not be decoded as wav.",
    ),
    _refusal(
        "file: no filename",
        user({"type": "file", "file": {"file_data": f"data:application/pdf;base64,{b64(media.pdf())}"}}),
        f"Missing required parameter: '{_AT}.file.filename'.",
    ),
    _refusal(
        "file: neither file_data nor file_id",
        user({"type": "file", "file": {"filename": "report.pdf"}}),
        f"Missing required parameter: '{_AT}.file.file_data'.",
    ),
    _refusal(
        "file: bare base64, not a data URL",
        user({"type": "file", "file": {"filename": "report.pdf", "file_data": b64(media.pdf())}}),
        f"Invalid file data: '{_AT}.file.file_data'. {_EXPECT_PDF} a value without the 'data:' prefix.",
    ),
    _refusal(
        "file: a media type not allowed",
        user(file_part(b"Hello", "notes.txt", "text/plain")),
        f"Invalid file data: '{_AT}.file.file_data'. {_EXPECT_PDF} unsupported MIME type 'text/plain'.",
    ),
    _refusal(
        "file: not a PDF's bytes",
        user(file_part(media.png())),
        f"Invalid file data: '{_AT}.file.file_data'. The file is not a valid PDF.",
    ),
    _refusal(
        "file: base64 that is not",
        user({"type": "file", "file": {"filename": "r.pdf", "file_data": "data:application/pdf;base64,%%%"}}),
        f"Invalid file data: '{_AT}.file.file_data'. {_EXPECT_PDF} invalid base64-encoded bytes.",
    ),
    _refusal(
        "a part type the API does not know",
        user({"type": "attachment", "attachment": "cat.png"}),
        "Invalid value: 'attachment'. Supported values are: 'text', 'image_url', 'input_audio', and 'file'.",
    ),
    _refusal(
        "an image in an assistant turn",
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [image_part(media.png())]}],
        "Invalid value: 'image_url'. Supported values are: 'text' and 'refusal'.",
    ),
    _refusal(
        "an image in a system turn",
        [{"role": "system", "content": [image_part(media.png())]}, {"role": "user", "content": "hi"}],
        "Invalid value: 'image_url'. Supported values are: 'text'.",
    ),
    _refusal(
        "a text part without text",
        [{"role": "user", "content": [{"type": "text"}]}],
        "Missing required parameter: 'messages[0].content[0].text'.",
    ),
]


@pytest.mark.parametrize(("messages", "message"), _MALFORMED)
def test_the_fake_refuses_malformed_parts_as_the_api_does(
    fake: FakeLLM, client: openai.OpenAI, messages: list[dict[str, Any]], message: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=messages)  # type: ignore[arg-type]
    assert caught.value.status_code == 400
    assert caught.value.body == {"message": message, "type": "invalid_request_error", "param": None, "code": None}
    assert len(fake.requests) == 1


def test_a_tool_result_takes_text_parts_only(fake: FakeLLM, client: openai.OpenAI) -> None:
    """Chat Completions' tool message takes a string or text parts (the SDK's
    ChatCompletionToolMessageParam): a tool cannot answer with an image there."""
    call = {"id": "call_1", "type": "function", "function": {"name": "snap", "arguments": "{}"}}
    turns = [{"role": "user", "content": "Snap"}, {"role": "assistant", "content": None, "tool_calls": [call]}]
    text = {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "done"}]}
    assert client.chat.completions.create(model="gpt-4o", messages=[*turns, text]).choices  # type: ignore[list-item]
    image = {**text, "content": [image_part(media.png())]}
    with pytest.raises(openai.BadRequestError, match=r"Invalid value: 'image_url'\. Supported values are: 'text'\."):
        client.chat.completions.create(model="gpt-4o", messages=[*turns, image])  # type: ignore[list-item]
