"""Attachments (SPEC §10) as every provider shares them, driven through `mock`: media types from
the content, the checks before sending, files read per call, parts in message lists.

The provider wire shapes are in tests/test_attachments_{openai,anthropic,google}.py.
"""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from models import Attachment, InvalidRequestError, ModelsAPI, ToolCall, UnsupportedCapabilityError
from models._content.attachments import sniff

from . import media
from .conftest import sample
from .fake_llm import FakeLLM

MOCK = "mock/echo"


@pytest.mark.parametrize(
    ("make", "media_type"),
    [
        (media.png, "image/png"),
        (media.jpeg, "image/jpeg"),
        (media.gif, "image/gif"),
        (media.webp, "image/webp"),
        (media.pdf, "application/pdf"),
        (media.wav, "audio/wav"),
        (media.mp3, "audio/mpeg"),
    ],
)
def test_the_media_type_comes_from_the_content(make: object, media_type: str, tmp_path: Path) -> None:
    data = make()  # type: ignore[operator]
    assert sniff(data[:16]) == media_type
    misleading = tmp_path / "photo.txt"  # the name says nothing true
    misleading.write_bytes(data)
    assert Attachment(path=misleading).media_type == media_type
    assert Attachment(data=data).media_type == media_type
    assert Attachment(data=data, media_type="image/JPG").media_type == "image/jpeg"  # the caller's word wins


def test_attachments_join_the_last_user_turn_in_every_call_form(api: ModelsAPI, tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(media.png())
    size = len(media.png())
    expected = f"Describe this [image/png, {size:,} bytes] [application/pdf, {len(media.pdf()):,} bytes]"
    files = [path, media.pdf()]
    assert api(MOCK, "Describe this", attachments=files).text == expected
    assert api.bind(MOCK, attachments=[str(path), Attachment(data=media.pdf())])("Describe this").text == expected
    assert "".join(api.stream(MOCK, "Describe this", attachments=files)) == expected
    assert asyncio.run(api.acall(MOCK, "Describe this", attachments=files)).text == expected

    async def astream() -> str:
        return "".join([p async for p in api.astream(MOCK, "Describe this", attachments=files)])

    assert asyncio.run(astream()) == expected
    turns = [
        {"role": "user", "content": "First"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "Then"},
    ]
    assert api(MOCK, turns, attachments=[path]).text == f"Then [image/png, {size:,} bytes]"


def test_a_file_is_read_by_each_call_not_at_bind_time(api: ModelsAPI, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(media.pdf())
    bound = api.bind(MOCK, attachments=[path])
    assert bound("x").text == f"x [application/pdf, {len(media.pdf()):,} bytes]"
    path.write_bytes(media.pdf(size=1000))
    assert bound("x").text == f"x [application/pdf, {len(media.pdf(size=1000)):,} bytes]"


def test_openai_parts_in_message_lists_become_attachments(api: ModelsAPI) -> None:
    png, wav, pdf = media.png(), media.wav(), media.pdf()
    parts = [
        {"type": "text", "text": "Look"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}},
        {
            "type": "file",
            "file": {"filename": "r.pdf", "file_data": "data:application/pdf;base64," + base64.b64encode(pdf).decode()},
        },
        {"type": "attachment", "attachment": Attachment(data=png)},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
    ]
    r = api(MOCK, [{"role": "user", "content": parts}])
    assert r.text == (
        f"Look [image/png, {len(png):,} bytes] [audio/wav, {len(wav):,} bytes] "
        f"[application/pdf, {len(pdf):,} bytes] [image/png, {len(png):,} bytes] [https://example.com/cat.jpg]"
    )


def _refused(api: ModelsAPI) -> float | None:
    return sample(api, "models_requests_total", provider="mock", model=MOCK, status="invalid_request")


def test_bad_files_are_refused_before_sending_naming_the_file(api: ModelsAPI, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("plain text")
    cases = [
        ({"attachments": [tmp_path / "missing.png"]}, r"Attachment '.*missing.png' is not a file"),
        ({"attachments": [notes]}, r"Attachment '.*notes.txt' has a media type its content does not show; the types"),
        ({"attachments": [Attachment(data=b"text", media_type="text/plain")]}, r"is text/plain; the types every"),
        ({"attachments": [Attachment(path=tmp_path / "gone.pdf")]}, r"Attachment '.*gone.pdf' cannot be read"),
    ]
    for n, (params, message) in enumerate(cases, 1):
        with pytest.raises(InvalidRequestError, match=message):
            api(MOCK, "hi", **params)
        assert _refused(api) == n
    bad = [{"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]
    with pytest.raises(InvalidRequestError, match="not valid base64"):
        api(MOCK, [{"role": "user", "content": bad}])
    audio = [{"type": "input_audio", "input_audio": {"data": "AAAA", "format": "flac"}}]
    with pytest.raises(InvalidRequestError, match="'format': 'wav' or 'mp3'"):
        api(MOCK, [{"role": "user", "content": audio}])
    with pytest.raises(TypeError, match="exactly one of path=, url= or data="):
        Attachment(path="a.png", data=b"x")
    with pytest.raises(InvalidRequestError, match="must be an http\\(s\\) URL"):
        Attachment(url="ftp://example.com/a.png")
    with pytest.raises(TypeError, match=r"attachments= takes paths, http\(s\) URLs, bytes or models\.Attachment"):
        api(MOCK, "hi", attachments=[42])


def test_a_model_that_cannot_take_a_kind_of_file_is_refused_before_reading_it(api: ModelsAPI) -> None:
    with pytest.raises(
        UnsupportedCapabilityError, match=r"claude-sonnet-4-6 does not support audio_input \(audio attachment"
    ):
        api("claude-sonnet-4-6", "Transcribe", attachments=[media.wav()])


def test_reprs_never_show_the_data(api: ModelsAPI) -> None:
    data = media.png()
    shown = repr(Attachment(data=data))
    assert shown == f"Attachment(data=..., media_type=None, {len(data):,} bytes)"
    bound = api.bind(MOCK, attachments=[data])
    assert base64.b64encode(data).decode()[:20] not in repr(bound) and "\\x89PNG" not in repr(bound)
    assert "\\x89PNG" not in repr(bound("x"))


def test_a_declared_type_the_content_contradicts_is_refused(api: ModelsAPI) -> None:
    with pytest.raises(
        InvalidRequestError, match=r"is given as image/jpeg, but its content is image/png: give media_type='image/png'"
    ):
        api(MOCK, "hi", attachments=[Attachment(data=media.png(), media_type="image/jpeg")])


def test_a_tool_result_may_carry_an_image_where_the_provider_takes_one(wired: ModelsAPI, fake: FakeLLM) -> None:
    png = media.png()
    call = ToolCall("call_1", "snapshot", {})
    history = [
        {"role": "user", "content": "What does the camera see?"},
        {"role": "assistant", "content": None, "tool_calls": [call.to_openai()]},
        {
            "role": "tool",
            "tool_call_id": "call_1",
            "content": [
                {"type": "text", "text": "the frame"},
                {"type": "attachment", "attachment": Attachment(data=png)},
            ],
        },
    ]
    encoded = base64.b64encode(png).decode()
    wired("claude-sonnet-4-6", history)
    result = fake.requests[-1].body["messages"][2]["content"][0]
    assert result == {
        "type": "tool_result",
        "tool_use_id": "call_1",
        "content": [
            {"type": "text", "text": "the frame"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": encoded}},
        ],
    }
    wired("gemini-3.8-flash", history)
    answer = fake.requests[-1].body["contents"][2]["parts"][0]["functionResponse"]
    assert answer["response"] == {"result": "the frame"}
    # the SDK writes a function response's parts by field name, as protobuf JSON also takes them
    assert answer["parts"] == [{"inline_data": {"mime_type": "image/png", "data": encoded}}]
    sent = len(fake.requests)
    with pytest.raises(InvalidRequestError, match="in a turn of role 'tool'; OpenAI's Chat Completions takes images"):
        wired("gpt-5.6-sol", history)
    assert len(fake.requests) == sent
    assert wired(MOCK, history).text == f"the frame [image/png, {len(png):,} bytes]"
