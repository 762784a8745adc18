"""Gemini attachments (SPEC §10): `inline_data` and `file_data` parts, through the real google-genai SDK.

The first half proves the wire fake's checks of Gemini parts against the SDK: well-formed parts pass,
malformed ones get the API's own 400 as the SDK's `ClientError`. The second half drives the library:
the exact parts each file becomes (the SDK puts the bytes on the wire as URL-safe base64, which must
decode to the file), URLs Gemini fetches and those the call downloads, the size limits, and usage.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from . import media
from .conftest import KEYS
from .fake_llm import FakeLLM, Reply

MODEL = "google/gemini-2.5-flash-lite"  # $0.10 in, $0.40 out per 1M tokens; takes images, PDFs and audio
NAME = "gemini-2.5-flash-lite"
# Each file kind we send, and the media type Gemini's docs name it by (MP3 is "audio/mp3").
KINDS = [
    ("cat.png", media.png, "image/png"),
    ("cat.jpg", media.jpeg, "image/jpeg"),
    ("cat.webp", media.webp, "image/webp"),
    ("report.pdf", media.pdf, "application/pdf"),
    ("hello.wav", media.wav, "audio/wav"),
    ("hello.mp3", media.mp3, "audio/mp3"),
]


def _inline(mime: str, data: bytes) -> dict[str, Any]:
    """An inline part as google-genai sends it: `inlineData` holding `mime_type`, the bytes URL-safe base64."""
    return {"inlineData": {"data": base64.urlsafe_b64encode(data).decode(), "mime_type": mime}}


def _url(uri: str, mime: str) -> dict[str, Any]:
    return {"fileData": {"file_uri": uri, "mime_type": mime}}


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "parts": list(parts)}


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[genai.Client]:
    made = genai.Client(
        api_key=KEYS["google"], http_options=genai_types.HttpOptions(base_url=fake_server.google_base_url)
    )
    yield made
    made.close()


# --- the fake, driven by the real SDK -----------------------------------------------------------


@pytest.mark.parametrize(("name", "make", "mime"), KINDS)
def test_the_fake_takes_each_documented_inline_type(
    fake: FakeLLM, client: genai.Client, name: str, make: Callable[[], bytes], mime: str
) -> None:
    data = make()
    part = genai_types.Part.from_bytes(data=data, mime_type=mime)
    response = client.models.generate_content(model="gemini-test", contents=["Describe this", part])
    assert response.text == "echo: Describe this"
    (request,) = fake.requests
    assert request.body["contents"] == [_user({"text": "Describe this"}, _inline(mime, data))]
    sent = request.body["contents"][0]["parts"][1]["inlineData"]["data"]
    assert base64.urlsafe_b64decode(sent) == data


def test_the_fake_takes_urls_gemini_fetches_and_either_spelling_and_alphabet(
    fake: FakeLLM, client: genai.Client
) -> None:
    png = media.png()
    pdf = genai_types.Part.from_uri(file_uri="https://example.com/report.pdf", mime_type="application/pdf")
    client.models.generate_content(model="gemini-test", contents=[pdf])
    # camelCase inside the blob, the standard alphabet without padding: protobuf's JSON takes both
    raw = [_user({"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode().rstrip("=")}})]
    response = client.models.generate_content(
        model="gemini-test", contents="x", config={"http_options": {"extra_body": {"contents": raw}}}
    )
    assert response.text == "echo: "
    assert [r.body["contents"] for r in fake.requests] == [
        [_user(_url("https://example.com/report.pdf", "application/pdf"))],
        raw,
    ]


_BAD_B64 = (
    "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"iVBOR@@w\""
)
_NO_DATA = (
    "* GenerateContentRequest.contents[0].parts[1].data: required oneof field 'data' must have one initialized field\n"
)
MALFORMED = {  # a second part after a text one: the API names parts by index
    "bad base64": ({"inlineData": {"mimeType": "image/png", "data": "iVBOR@@w"}}, _BAD_B64),
    "mixed alphabets": (
        {"inlineData": {"mimeType": "image/png", "data": "ab-/"}},
        "Invalid value at 'contents[0].parts[1].inline_data.data' (TYPE_BYTES), Base64 decoding failed for \"ab-/\"",
    ),
    "gif": ({"inlineData": {"mimeType": "image/gif", "data": "R0lGOA=="}}, "Unsupported MIME type: image/gif"),
    "image/jpg": ({"inlineData": {"mimeType": "image/jpg", "data": "/9j/"}}, "Unsupported MIME type: image/jpg"),
    "no mime type": ({"inlineData": {"data": "AAAA"}}, "Unsupported MIME type: "),
    "no data": ({"inlineData": {"mimeType": "image/png"}}, "Request contains an invalid argument."),
    "empty part": ({}, _NO_DATA),
    "two kinds of data": (
        {"text": "a", "inlineData": {"mimeType": "image/png", "data": "AAAA"}},
        "Invalid value at 'contents[0].parts[1]' (oneof), oneof field 'data' is already set. Cannot set 'inlineData'",
    ),
    "url without uri": ({"fileData": {"mimeType": "application/pdf"}}, "Request contains an invalid argument."),
    "audio url": (
        {"fileData": {"fileUri": "https://example.com/a.wav", "mimeType": "audio/wav"}},
        "Unsupported MIME type: audio/wav",
    ),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_the_fake_refuses_a_malformed_part_with_the_apis_400(fake: FakeLLM, client: genai.Client, case: str) -> None:
    part, message = MALFORMED[case]
    fake.enqueue(Reply(text="never sent"))  # the check comes first, whatever is scripted
    raw = {"contents": [_user({"text": "Look"}, part)]}
    with pytest.raises(genai_errors.ClientError) as caught:
        client.models.generate_content(model="gemini-test", contents="x", config={"http_options": {"extra_body": raw}})
    assert (caught.value.code, caught.value.status, caught.value.message) == (400, "INVALID_ARGUMENT", message)
    assert fake.requests[0].body["contents"] == raw["contents"]


def test_the_sdks_own_parts_are_checked_too(fake: FakeLLM, client: genai.Client) -> None:
    gif = genai_types.Part.from_bytes(data=media.gif(), mime_type="image/gif")
    untyped = genai_types.Part(inline_data=genai_types.Blob(data=media.png()))
    for part, message in [(gif, "Unsupported MIME type: image/gif"), (untyped, "Unsupported MIME type: ")]:
        with pytest.raises(genai_errors.ClientError) as caught:
            client.models.generate_content(model="gemini-test", contents=["Look", part])
        assert (caught.value.code, caught.value.message) == (400, message)
