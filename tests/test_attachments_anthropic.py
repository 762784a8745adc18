"""Attachments (SPEC §10) on Anthropic's Messages API: image and document blocks.

First the wire fake's checks proved against the real `anthropic` SDK (well-formed blocks answered,
malformed ones refused with the API's 400 and its messages), then `models` driven through that SDK
to the fake: the exact blocks each file becomes, URLs the API fetches, the size limits, usage and cost.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic
import pytest

from models import Attachment, InvalidRequestError, ModelsAPI, UnsupportedCapabilityError
from models.providers._anthropic_content import turns

from . import media
from .conftest import sample
from .fake_llm import FakeLLM, Fault, Reply

KEY = "sk-ant-test-SECRET"
MODEL = "anthropic/claude-sonnet-4-6"
UNKNOWN = "anthropic/claude-future-9"  # no catalog row, so no capability data: parts are not checked
IMAGE_LIMIT = 3_932_160  # bytes whose base64 is exactly 5 MB (5,242,880 characters)
PDF_LIMIT = 25_165_824  # bytes whose base64 is exactly 32 MB
MAKERS = {
    "image/png": media.png,
    "image/jpeg": media.jpeg,
    "image/gif": media.gif,
    "image/webp": media.webp,
    "application/pdf": media.pdf,
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _inline(media_type: str, data: bytes) -> dict[str, Any]:
    """The block the Messages API takes for a file sent inline."""
    block = "document" if media_type == "application/pdf" else "image"
    return {"type": block, "source": {"type": "base64", "media_type": media_type, "data": _b64(data)}}


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "text": text}


# -- the fake, proved against the SDK ----------------------------------------------------------


@pytest.fixture(scope="module")
def client(fake_server: FakeLLM) -> Iterator[anthropic.Anthropic]:
    made = anthropic.Anthropic(api_key=KEY, base_url=fake_server.anthropic_base_url, max_retries=0, timeout=30)
    yield made
    made.close()


def _send(client: anthropic.Anthropic, *blocks: Any) -> Any:
    return client.messages.create(
        model="claude-test", max_tokens=64, messages=[{"role": "user", "content": [_text("Look"), *blocks]}]
    )


def test_fake_takes_well_formed_image_and_document_blocks(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    blocks = [_inline(media_type, make()) for media_type, make in MAKERS.items()]
    blocks += [
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/report.pdf"}},
    ]
    message = _send(client, *blocks)
    assert (message.content[0].text, message.stop_reason) == ("echo: Look", "end_turn")
    assert fake.requests[-1].body["messages"] == [{"role": "user", "content": [_text("Look"), *blocks]}]
    use = {"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}
    result = {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": [_text("done"), _inline("image/png", media.png())],
    }
    client.messages.create(
        model="claude-test",
        max_tokens=64,
        messages=[
            {"role": "user", "content": "Take a screenshot"},
            {"role": "assistant", "content": [use]},
            {"role": "user", "content": [result]},
        ],
    )
    assert fake.requests[-1].body["messages"][2]["content"] == [result]


PNG = _b64(media.png())
_OVER = media.png() + bytes(IMAGE_LIMIT + 1 - len(media.png()))  # base64: 5,242,884 characters
_AT = "messages.0.content.1"


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"type": "image"}, f"{_AT}.image.source: Field required"),
        (
            {"type": "image", "source": {"type": "text", "data": "x"}},
            f"{_AT}.image.source: Input tag 'text' found using 'type' does not match any of the expected tags: "
            "'base64', 'url', 'file'",
        ),
        (
            {"type": "image", "source": {"type": "base64", "data": PNG}},
            f"{_AT}.image.source.base64.media_type: Field required",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png"}},
            f"{_AT}.image.source.base64.data: Field required",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": PNG}},
            f"{_AT}.image.source.base64.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or "
            "'image/webp'",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR@@"}},
            f"{_AT}.image.source.base64: invalid base64 data",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}},
            f"{_AT}.image.source.base64: image cannot be empty",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}},
            f"{_AT}.image.source.base64: The image was specified using the image/jpeg media type, but the image "
            "appears to be a image/png image",
        ),
        (
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": _b64(b"not a picture")}},
            "Could not process image",
        ),
        (
            _inline("image/png", _OVER),
            f"{_AT}.image.source.base64: image exceeds 5 MB maximum: 5242884 bytes > 5242880 bytes",
        ),
        ({"type": "image", "source": {"type": "url"}}, f"{_AT}.image.source.url.url: Field required"),
        (
            {"type": "document", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            f"{_AT}.pdf.source.base64.media_type: Input should be 'application/pdf'",
        ),
        (_inline("application/pdf", media.png()), f"{_AT}.pdf.source.base64.data: The PDF specified was not valid."),
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            f"{_AT}: Input tag 'image_url' found using 'type' does not match any of the expected tags",
        ),
        (
            {"type": "input_audio", "input_audio": {"data": _b64(media.wav()), "format": "wav"}},
            f"{_AT}: Input tag 'input_audio' found using 'type' does not match any of the expected tags",
        ),
        (
            {"type": "tool_result", "tool_use_id": "t1", "content": [_text("x"), {"type": "image"}]},
            f"{_AT}.tool_result.content.1.image.source: Field required",
        ),
    ],
)
def test_fake_refuses_malformed_blocks_as_the_api_does(
    fake: FakeLLM, client: anthropic.Anthropic, block: dict[str, Any], message: str
) -> None:
    fake.enqueue(Reply(text="scripted, but never sent"))
    with pytest.raises(anthropic.BadRequestError) as caught:
        _send(client, block)
    error = caught.value
    assert error.status_code == 400
    assert error.body == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": message},
        "request_id": error.request_id,
    }
    assert error.request_id is not None and error.request_id.startswith("req_")


# -- models through the SDK to the fake ---------------------------------------------------------


def _body(*parts: Any, text: str = "Describe this") -> dict[str, Any]:
    """The whole request body of a call with one user turn: its text, then `parts`."""
    messages = [{"role": "user", "content": [_text(text), *parts]}]
    return {"max_tokens": 4096, "messages": messages, "model": "claude-sonnet-4-6"}


@pytest.mark.parametrize("media_type", list(MAKERS))
def test_every_way_of_giving_a_file_sends_the_same_block(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path, media_type: str
) -> None:
    data = MAKERS[media_type]()
    path = tmp_path / "file.bin"  # the type comes from the content, not the name
    path.write_bytes(data)
    given = [
        path,
        str(path),
        data,
        Attachment(path=path),
        Attachment(data=data),
        Attachment(data=data, media_type=media_type),
    ]
    for item in given:
        r = wired(MODEL, "Describe this", attachments=[item])
        assert r.text == "echo: Describe this"
        assert fake.requests[-1].body == _body(_inline(media_type, data))
    assert len(fake.requests) == len(given)


def test_openai_parts_in_a_message_list_become_blocks_in_their_place(wired: ModelsAPI, fake: FakeLLM) -> None:
    png, jpeg, pdf = media.png(), media.jpeg(), media.pdf()
    parts = [
        _text("First"),
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(png)}"}},
        _text("then"),
        {"type": "file", "file": {"filename": "r.pdf", "file_data": f"data:application/pdf;base64,{_b64(pdf)}"}},
        {"type": "file", "file": {"file_data": _b64(pdf)}},  # bare base64: its type read from the content
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        {"type": "attachment", "attachment": Attachment(data=jpeg)},
    ]
    prompt = [
        {"role": "user", "content": "Hello"},
        {"role": "assistant", "content": "Hi"},
        {"role": "user", "content": parts},
    ]
    r = wired(MODEL, prompt, system="Be brief.")
    assert r.text == "echo: Firstthen"
    assert fake.requests[-1].body == {
        "max_tokens": 4096,
        "messages": [
            {"role": "user", "content": "Hello"},
            {"role": "assistant", "content": "Hi"},
            {
                "role": "user",
                "content": [
                    _text("First"),
                    _inline("image/png", png),
                    _text("then"),
                    _inline("application/pdf", pdf),
                    _inline("application/pdf", pdf),
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
                    _inline("image/jpeg", jpeg),
                ],
            },
        ],
        "model": "claude-sonnet-4-6",
        "system": "Be brief.",
    }


def test_urls_of_images_and_pdfs_are_sent_for_the_api_to_fetch(wired: ModelsAPI, fake: FakeLLM) -> None:
    urls = [
        "https://example.com/cat.jpg",
        "https://example.com/report.pdf?version=2",
        Attachment(url="http://example.com/photo.webp"),
        Attachment(url="https://example.com/scan", media_type="application/pdf"),  # the caller's type decides
    ]
    wired(MODEL, "Describe this", attachments=urls)  # nothing downloaded: example.com is never asked
    assert fake.requests[-1].body == _body(
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/report.pdf?version=2"}},
        {"type": "image", "source": {"type": "url", "url": "http://example.com/photo.webp"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/scan"}},
    )


@pytest.fixture
def files() -> Iterator[str]:
    """A local web server answering every GET with a PNG, under paths that show no type."""
    png = media.png()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_a_url_of_unknown_type_is_downloaded_and_sent_inline(wired: ModelsAPI, fake: FakeLLM, files: str) -> None:
    wired(MODEL, "Describe this", attachments=[f"{files}/download?id=7"])
    assert fake.requests[-1].body == _body(_inline("image/png", media.png()))
    part = {"type": "image_url", "image_url": {"url": f"{files}/avatar"}}
    wired(MODEL, [{"role": "user", "content": [_text("Describe this"), part]}])
    assert fake.requests[-1].body == _body(_inline("image/png", media.png()))


def _refused(api: ModelsAPI) -> float | None:
    return sample(api, "models_requests_total", provider="anthropic", model=MODEL, status="invalid_request")


def test_files_over_the_inline_limits_are_refused_naming_file_size_and_limit(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path
) -> None:
    png = media.png()
    fits = png + bytes(IMAGE_LIMIT - len(png))  # its base64 is exactly the API's 5 MB
    wired(MODEL, "Describe this", attachments=[fits])
    assert fake.requests[-1].body == _body(_inline("image/png", fits))
    big = tmp_path / "big.png"
    big.write_bytes(fits + b"\0")
    message = (
        rf"Attachment '{big}' is 3,932,161 bytes; {MODEL} takes at most 3,932,160 bytes "
        r"of image/png in one file inline\. Send a smaller file\."
    )
    with pytest.raises(InvalidRequestError, match=message):
        wired(MODEL, "Describe this", attachments=[big])
    with pytest.raises(InvalidRequestError, match=message):
        "".join(wired.stream(MODEL, "Describe this", attachments=[big]))
    with pytest.raises(InvalidRequestError, match=message):
        asyncio.run(wired.acall(MODEL, "Describe this", attachments=[big]))
    pdf = tmp_path / "huge.pdf"
    pdf.write_bytes(media.pdf(size=PDF_LIMIT))  # the padding plus the page: over the limit
    size = pdf.stat().st_size
    with pytest.raises(
        InvalidRequestError, match=rf"is {size:,} bytes; {MODEL} takes at most 25,165,824 bytes of application/pdf"
    ):
        wired(MODEL, "Summarise", attachments=[pdf])
    assert len(fake.requests) == 1  # only the image that fits
    assert _refused(wired) == 4


def test_usage_and_cost_come_from_the_reported_tokens_in_every_call_form(wired: ModelsAPI, fake: FakeLLM) -> None:
    png, pdf = media.png(), media.pdf()
    files = [png, Attachment(data=pdf)]
    body = _body(_inline("image/png", png), _inline("application/pdf", pdf))
    cost = (1600 * 3 + 20 * 15) / 1e6  # claude-sonnet-4-6: $3 and $15 per million input and output tokens
    reply = Reply(text="A red square and a page.", input_tokens=1600, output_tokens=20)

    def check(r: Any) -> None:
        assert r.text == "A red square and a page."
        assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (1600, 20, cost)
        assert fake.requests[-1].body == body

    fake.enqueue(reply)
    check(wired(MODEL, "Describe this", attachments=files))
    fake.enqueue(reply)
    check(asyncio.run(wired.acall(MODEL, "Describe this", attachments=files)))
    fake.enqueue(reply)
    stream = wired.stream(MODEL, "Describe this", attachments=files)
    assert "".join(stream) == "A red square and a page."
    body["stream"] = True
    check(stream.response)

    async def astream() -> Any:
        stream = wired.astream(MODEL, "Describe this", attachments=files)
        assert "".join([piece async for piece in stream]) == "A red square and a page."
        return stream.response

    fake.enqueue(reply)
    check(asyncio.run(astream()))
    assert sample(wired, "models_tokens_total", type="input", provider="anthropic", model=MODEL) == 4 * 1600
    totals = wired.usage()[MODEL]
    assert (totals.requests, totals.input_tokens, totals.output_tokens) == (4, 4 * 1600, 4 * 20)
    assert totals.cost == pytest.approx(4 * cost, rel=1e-12)


def test_a_retry_sends_the_same_blocks(wired: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(media.pdf())
    fake.enqueue(Fault.server())
    wired(MODEL, "Summarise", attachments=[path])
    first, second = fake.requests
    assert first.body == second.body == _body(_inline("application/pdf", media.pdf()), text="Summarise")


def test_a_malformed_file_the_api_refuses_is_its_400_with_the_sdk_error_as_cause(
    wired: ModelsAPI, fake: FakeLLM
) -> None:
    # A declared type its content contradicts is refused before sending (tests/test_attachments.py);
    # content that shows no type at all is sent under the caller's word, and the API judges it.
    wrong = Attachment(data=b"not a pdf at all", media_type="application/pdf")
    with pytest.raises(InvalidRequestError, match="The PDF specified was not valid") as caught:
        wired(MODEL, "Describe this", attachments=[wrong])
    assert isinstance(caught.value.__cause__, anthropic.BadRequestError)
    assert caught.value.status_code == 400
    assert len(fake.requests) == 1  # a 400 is not retried


def test_audio_is_refused_before_sending(wired: ModelsAPI, fake: FakeLLM) -> None:
    wav = media.wav()
    message = (
        rf"Anthropic's Messages API takes no audio: attachment \({len(wav):,} bytes of data\) is audio/wav\. "
        r"Send it to a model that takes audio \(audio_input\), or leave it out\."
    )
    with pytest.raises(InvalidRequestError, match=message) as caught:
        wired(UNKNOWN, "Transcribe", attachments=[wav])
    assert caught.value.model == UNKNOWN
    with pytest.raises(InvalidRequestError, match=message):
        "".join(wired.stream(UNKNOWN, "Transcribe", attachments=[wav]))
    with pytest.raises(InvalidRequestError, match=message):
        asyncio.run(wired.acall(UNKNOWN, "Transcribe", attachments=[wav]))
    part = {"type": "input_audio", "input_audio": {"data": _b64(media.mp3()), "format": "mp3"}}
    with pytest.raises(InvalidRequestError, match=r"takes no audio: attachment .* is audio/mpeg\."):
        wired(UNKNOWN, [{"role": "user", "content": [part]}])
    with pytest.raises(UnsupportedCapabilityError, match="does not support audio_input"):  # a known model: its row
        wired(MODEL, [{"role": "user", "content": [part]}])
    assert fake.requests == []


def test_tool_results_carry_images_and_pdfs_as_tool_result_blocks(fake: FakeLLM, client: anthropic.Anthropic) -> None:
    """A tool turn whose content is a list of parts (text and attachments) becomes a `tool_result`
    with text, image and document blocks, which the API takes."""
    png, pdf = media.png(), media.pdf()
    call = {"id": "toolu_1", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}}
    result = [_text("Here it is"), {"type": "attachment", "attachment": Attachment(data=png)}]
    messages = [
        {"role": "user", "content": "Take a screenshot and fetch the report"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "toolu_1", "content": result},
        {"role": "user", "content": [_text("And this"), {"type": "attachment", "attachment": Attachment(data=pdf)}]},
    ]
    sent = turns(messages)
    assert sent[2] == {
        "role": "user",
        "content": [
            {
                "type": "tool_result",
                "tool_use_id": "toolu_1",
                "content": [_text("Here it is"), _inline("image/png", png)],
            },
            _text("And this"),
            _inline("application/pdf", pdf),
        ],
    }
    client.messages.create(model="claude-test", max_tokens=64, messages=sent)  # type: ignore[arg-type]
    assert fake.requests[-1].body["messages"] == sent
