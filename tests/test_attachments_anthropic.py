"""Attachments (SPEC §10) on Anthropic's Messages API: image and document blocks.

First the wire fake's checks proved against the real `anthropic` SDK (well-formed blocks answered,
malformed ones refused with the API's 400 and its messages), then `models` driven through that SDK
to the fake: the exact blocks each file becomes, URLs the API fetches, the size limits, usage and cost.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from . import media
from .fake_llm import FakeLLM, Reply

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
