"""OpenAI (Chat Completions) images, PDFs and audio (SPEC §10), end to end over the wire fake.

First the fake itself, proved against the real `openai` SDK: well-formed `image_url`, `input_audio`
and `file` parts pass, and malformed ones get the API's 400 (`openai.BadRequestError`).

Then `models` through the SDK to the fake: the exact parts each media type becomes from a path,
bytes, an `Attachment` and OpenAI's own parts; image URLs passed as URLs, a PDF URL downloaded
(from a local server) and inlined; the size limit refused before sending; usage and cost from the
reported tokens; streams and acall; a retry sends the same body without reading the file again.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

from models import Attachment, InvalidRequestError, ModelsAPI, UnsupportedCapabilityError
from models._content.attachments import MEDIA_TYPES
from models.providers._openai import OpenAIProvider, _kwargs

from . import media
from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply

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
    "You uploaded an unsupported image. Please make sure your image is below 20 MB in size and is of one the "
    "following formats: ['png', 'jpeg', 'gif', 'webp']."
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
        f"Invalid type for '{_AT}.image_url': expected an object, but got a string instead.",
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


# --- models through the SDK to the fake --------------------------------------------------------------

AUDIO_MODEL = "openai/gpt-audio"  # not in the catalog (no OpenAI row takes audio): unchecked, sent as is
MEDIA = {  # what each test file is: how it is made, its media type, its file name, the model that takes it
    "png": (media.png, "image/png", "cat.png", "gpt-4o"),
    "jpeg": (media.jpeg, "image/jpeg", "cat.jpg", "gpt-4o"),
    "gif": (media.gif, "image/gif", "cat.gif", "gpt-4o"),
    "webp": (media.webp, "image/webp", "cat.webp", "gpt-4o"),
    "pdf": (media.pdf, "application/pdf", "report.pdf", "gpt-4o"),
    "wav": (media.wav, "audio/wav", "voice.wav", AUDIO_MODEL),
    "mp3": (media.mp3, "audio/mpeg", "voice.mp3", AUDIO_MODEL),
}


def sent_part(data: bytes, media_type: str, filename: str) -> dict[str, Any]:
    """The part Chat Completions gets for a file: an image's data: URL, a PDF's file part, audio's base64."""
    if media_type.startswith("image/"):
        return image_part(data, media_type)
    if media_type.startswith("audio/"):
        return audio_part(data, "wav" if media_type == "audio/wav" else "mp3")
    return file_part(data, filename)


def sent(fake: FakeLLM, *parts: dict[str, Any], text: str = "Look") -> list[dict[str, Any]]:
    """The messages of the last request, checked to be one user turn of `text` and then `parts`."""
    messages: list[dict[str, Any]] = fake.requests[-1].body["messages"]
    assert messages == [{"role": "user", "content": [{"type": "text", "text": text}, *parts]}]
    return messages


@pytest.mark.parametrize("name", list(MEDIA))
def test_each_media_type_goes_as_its_part_from_every_form(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path, name: str
) -> None:
    make, media_type, filename, model = MEDIA[name]
    data = make()
    path = tmp_path / filename
    path.write_bytes(data)
    named, unnamed = sent_part(data, media_type, filename), sent_part(data, media_type, "attachment")
    forms = [
        ({"attachments": [path]}, named),
        ({"attachments": [str(path)]}, named),
        ({"attachments": [data]}, unnamed),
        ({"attachments": [Attachment(data=data, media_type=media_type)]}, unnamed),
        ({"attachments": [Attachment(path=path)]}, named),
    ]
    for params, part in forms:
        assert wired(model, "Look", **params).text == "echo: Look"
        sent(fake, part)
    for part in (named, {"type": "attachment", "attachment": Attachment(path=path)}):  # in a message list
        assert wired(model, user(part)).text == "echo: Look"
        sent(fake, named)  # OpenAI's own part goes as it came: its base64 is not decoded and encoded again
    assert len(fake.requests) == 7


def test_a_pdf_given_as_bare_base64_goes_as_a_data_url(wired: ModelsAPI, fake: FakeLLM) -> None:
    bare = {"type": "file", "file": {"filename": "report.pdf", "file_data": b64(media.pdf())}}
    wired("gpt-4o", user(bare))
    sent(fake, file_part(media.pdf()))


@pytest.fixture
def files() -> Iterator[tuple[str, list[str]]]:
    """A local web server of a PDF and images, and the paths it was asked for."""
    served = {"/report.pdf": media.pdf("Served"), "/cat.png": media.png()}
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = served.get(self.path)
            if body is None:
                return self.send_error(404)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", asked
    server.shutdown()
    server.server_close()


def test_image_urls_go_as_urls_and_a_pdf_url_is_downloaded(
    wired: ModelsAPI, fake: FakeLLM, files: tuple[str, list[str]]
) -> None:
    base, asked = files
    wired("gpt-4o", "Look", attachments=[f"{base}/cat.png", f"{base}/report.pdf"])
    url = {"type": "image_url", "image_url": {"url": f"{base}/cat.png"}}
    sent(fake, url, file_part(media.pdf("Served"), "report.pdf"))
    assert asked == ["/report.pdf"]  # OpenAI fetches the image itself; Chat Completions takes no PDF by URL
    gone = rf"Attachment '{base}/gone\.pdf' could not be downloaded: HTTP Error 404"
    with pytest.raises(InvalidRequestError, match=gone):
        wired("gpt-4o", "Look", attachments=[f"{base}/gone.pdf"])
    assert len(fake.requests) == 1 and asked == ["/report.pdf", "/gone.pdf"]


def test_a_file_over_the_documented_limit_is_refused_before_sending(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path
) -> None:
    path = tmp_path / "big.pdf"
    with open(path, "wb") as file:  # a sparse file: a PDF's first bytes, then zeros to 50,000,001 bytes
        file.write(media.pdf())
        file.truncate(50_000_001)
    with pytest.raises(InvalidRequestError) as caught:
        wired("gpt-4o", "Summarise", attachments=[path])
    assert str(caught.value) == (
        f"Attachment '{path}' is 50,000,001 bytes; openai/gpt-4o takes at most 50,000,000 "
        "bytes of application/pdf in one file inline. Send a smaller file. (openai/gpt-4o)"
    )
    assert fake.requests == []
    refused = sample(wired, "models_requests_total", provider="openai", model="openai/gpt-4o", status="invalid_request")
    assert refused == 1
    provider = OpenAIProvider("openai")
    types = [*MEDIA_TYPES, None]
    assert [provider.inline_limit(t) for t in types] == [384_000_000] * 4 + [50_000_000, None, None, None]
    assert [provider.fetches_url(t) for t in types] == [True] * 4 + [False] * 4


def test_usage_and_cost_are_the_reported_tokens(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.enqueue(Reply(input_tokens=1_105, output_tokens=12, cached_input_tokens=0))
    r = wired("gpt-4o", "Look", attachments=[media.png(512, 512), media.pdf()])
    assert (r.usage.input_tokens, r.usage.output_tokens) == (1_105, 12)
    assert r.usage.cost == (1_105 * 2.5 + 12 * 10) / 1e6
    assert sample(wired, "models_tokens_total", provider="openai", model="openai/gpt-4o", type="input") == 1_105
    fake.enqueue(Reply(input_tokens=2_000, output_tokens=40))
    r = wired(AUDIO_MODEL, "Transcribe", attachments=[media.wav(2.0)])
    assert (r.usage.input_tokens, r.usage.output_tokens) == (2_000, 40)
    assert r.usage.cost == (2_000 * 2.5 + 40 * 10) / 1e6  # gpt-audio's text token rates (genai-prices)


def test_streams_and_acall_send_the_same_parts(wired: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(media.png())
    files = [path, media.pdf()]
    parts = (image_part(media.png()), file_part(media.pdf(), "attachment"))
    fake.set_reply(Reply(text="A red square.", input_tokens=300, output_tokens=4))
    assert wired("gpt-4o", "Look", attachments=files).text == "A red square."
    stream = wired.stream("gpt-4o", "Look", attachments=files)
    assert "".join(stream) == "A red square." and stream.response.usage.input_tokens == 300
    assert asyncio.run(wired.acall("gpt-4o", "Look", attachments=files)).text == "A red square."

    async def astream() -> tuple[str, Any]:
        stream = wired.astream("gpt-4o", "Look", attachments=files)
        return "".join([piece async for piece in stream]), stream.response

    text, response = asyncio.run(astream())
    assert text == "A red square." and response.usage.cost == (300 * 2.5 + 4 * 10) / 1e6
    assert [r.stream for r in fake.requests] == [False, True, False, True]
    assert all(r.body["messages"] == sent(fake, *parts) for r in fake.requests)


def test_a_retry_sends_the_same_body_without_reading_the_file_again(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path
) -> None:
    """The file is replaced while the first attempt waits for its 500: the retry still sends what the
    call read, so it did not read the file again (and the base64 the loaded attachment keeps is
    what both attempts send). The next call reads the new file."""
    path = tmp_path / "report.pdf"
    path.write_bytes(media.pdf("First"))
    fake.enqueue(Fault(status=500, delay=0.5))
    took: list[float] = []

    def replace_once_sent() -> None:
        deadline = time.monotonic() + 10
        while not fake.requests and time.monotonic() < deadline:
            time.sleep(0.002)
        seen = time.monotonic()
        path.write_bytes(media.pdf("Second"))
        took.append(time.monotonic() - seen)

    replacer = threading.Thread(target=replace_once_sent)
    replacer.start()
    assert wired("gpt-4o", "Summarise", attachments=[path]).text == "echo: Summarise"
    replacer.join()
    assert took[0] < 0.4  # replaced while the fake still held the first attempt: before the retry
    first, retry = fake.requests
    assert retry.body == first.body
    sent(fake, file_part(media.pdf("First")), text="Summarise")
    assert sample(wired, "models_retries_total", provider="openai", model="openai/gpt-4o", reason="server") == 1
    wired("gpt-4o", "Summarise", attachments=[path])
    sent(fake, file_part(media.pdf("Second")), text="Summarise")


def test_files_outside_user_turns_are_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    png = media.png()
    turns = [
        {"role": "user", "content": "Draw"},
        {"role": "assistant", "content": [{"type": "attachment", "attachment": Attachment(data=png)}]},
        {"role": "user", "content": "Again"},
    ]
    with pytest.raises(InvalidRequestError) as caught:
        wired("gpt-4o", turns)
    assert str(caught.value) == (
        f"Attachment ({len(png):,} bytes of data) is in a turn of role 'assistant'; OpenAI's Chat Completions "
        "takes images, audio and PDFs in user turns only. Move it to a user message. (openai/gpt-4o)"
    )
    with pytest.raises(UnsupportedCapabilityError, match=r"openai/gpt-4o does not support audio_input"):
        wired("gpt-4o", "Transcribe", attachments=[media.wav()])
    assert fake.requests == []


def test_turns_without_files_are_sent_as_they_are(wired: ModelsAPI) -> None:
    service = wired._service
    target = service.target("gpt-4o")
    for prompt in (
        "hi",
        [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}, {"role": "user", "content": "so"}],
    ):
        request = service.request(target, prompt, None, service.prepare(target, {}))
        assert _kwargs(request)["extra_body"]["messages"] is request.messages  # not copied, not rebuilt


def test_an_image_parts_detail_is_kept(wired: ModelsAPI, fake: FakeLLM) -> None:
    # `detail` changes what an image costs ("low" is a flat 85 tokens on gpt-4o): it must reach OpenAI.
    part = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}}
    wired("gpt-4o", [{"role": "user", "content": [{"type": "text", "text": "What is it?"}, part]}])
    assert fake.requests[-1].body["messages"][0]["content"][1] == part
    wired("gpt-4o", "What is it?", attachments=[Attachment(data=media.png(), detail="high")])
    sent = fake.requests[-1].body["messages"][0]["content"][1]["image_url"]
    assert sent["detail"] == "high" and sent["url"].startswith("data:image/png;base64,")
