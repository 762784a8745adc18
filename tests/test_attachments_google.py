"""Gemini attachments (SPEC §10): `inline_data` and `file_data` parts, through the real google-genai SDK.

The first half proves the wire fake's checks of Gemini parts against the SDK: well-formed parts pass,
malformed ones get the API's own 400 as the SDK's `ClientError`. The second half drives the library:
the exact parts each file becomes (the SDK puts the bytes on the wire as URL-safe base64, which must
decode to the file), URLs Gemini fetches and those the call downloads, the size limits, and usage.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from models import Attachment, InvalidRequestError, ModelsAPI

from . import media
from .conftest import KEYS, sample
from .fake_llm import FakeLLM, Fault, Reply

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


def _b64(data: bytes) -> str:
    """Base64 as a caller writes it in an OpenAI part (the standard alphabet)."""
    return base64.b64encode(data).decode()


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


# --- the library --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "make", "mime"), KINDS)
def test_each_kind_from_a_path_goes_inline_by_gemini_s_name_for_it(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path, name: str, make: Callable[[], bytes], mime: str
) -> None:
    data = make()
    path = tmp_path / name
    path.write_bytes(data)
    r = wired(MODEL, "Describe this", attachments=[path])
    assert r.text == "echo: Describe this"
    (request,) = fake.requests
    assert (request.path, request.body) == (
        f"/v1/models/{NAME}:generateContent",
        {"contents": [_user({"text": "Describe this"}, _inline(mime, data))]},
    )
    assert base64.urlsafe_b64decode(request.body["contents"][0]["parts"][1]["inlineData"]["data"]) == data


def test_bytes_attachments_and_openai_parts_in_message_lists(wired: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    png, mp3, pdf, webp, jpeg, wav = media.png(), media.mp3(), media.pdf(), media.webp(), media.jpeg(), media.wav()
    wav_path = tmp_path / "clip.wav"
    wav_path.write_bytes(wav)
    turns = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{_b64(png)}"}},
                {"type": "input_audio", "input_audio": {"data": _b64(mp3), "format": "mp3"}},
                {
                    "type": "file",
                    "file": {"filename": "r.pdf", "file_data": f"data:application/pdf;base64,{_b64(pdf)}"},
                },
                {"type": "attachment", "attachment": Attachment(data=webp)},
            ],
        },
        {"role": "assistant", "content": "Seen."},
        {"role": "user", "content": "And these?"},
    ]
    r = wired(MODEL, turns, attachments=[jpeg, Attachment(path=wav_path, media_type="audio/x-wav")])
    assert r.text == "echo: And these?"
    assert fake.requests[0].body == {
        "contents": [
            _user(
                {"text": "Look"},
                _inline("image/png", png),
                _inline("audio/mp3", mp3),
                _inline("application/pdf", pdf),
                _inline("image/webp", webp),
            ),
            {"role": "model", "parts": [{"text": "Seen."}]},
            _user({"text": "And these?"}, _inline("image/jpeg", jpeg), _inline("audio/wav", wav)),
        ],
        "systemInstruction": {"parts": [{"text": "Be brief."}], "role": "user"},
        "generationConfig": {},  # the SDK's, for a config holding only the system instruction
    }


class _Files(BaseHTTPRequestHandler):
    """Serves `files` (path -> body) and records each path asked for."""

    files: ClassVar[dict[str, bytes]] = {}
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        body = self.files[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent."""


@pytest.fixture
def files() -> Iterator[tuple[str, type[_Files]]]:
    """A local HTTP server of files (Gemini never sees it: what it cannot fetch, the call downloads)."""
    handler = type("Files", (_Files,), {"files": {}, "asked": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_urls_gemini_fetches_go_as_file_data_and_the_rest_are_downloaded(
    wired: ModelsAPI, fake: FakeLLM, files: tuple[str, type[_Files]]
) -> None:
    base, handler = files
    wav = media.wav()
    handler.files["/clip.wav"] = wav
    image = {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}
    turns = [{"role": "user", "content": [{"type": "text", "text": "Look"}, image]}]
    wired(MODEL, turns, attachments=["https://example.com/report.pdf", f"{base}/clip.wav"])
    assert fake.requests[0].body["contents"] == [
        _user(
            {"text": "Look"},
            _url("https://example.com/cat.jpg", "image/jpeg"),  # Gemini fetches images and PDFs itself
            _url("https://example.com/report.pdf", "application/pdf"),
            _inline("audio/wav", wav),  # not audio: downloaded, sent inline
        )
    ]
    assert handler.asked == ["/clip.wav"]  # and nothing from example.com (no internet here)


def test_a_url_of_unknown_type_is_downloaded_and_its_type_read_from_its_bytes(
    wired: ModelsAPI, fake: FakeLLM, files: tuple[str, type[_Files]]
) -> None:
    base, handler = files
    handler.files["/picture"] = media.png()
    wired(MODEL, "Look", attachments=[f"{base}/picture"])
    assert fake.requests[0].body["contents"] == [_user({"text": "Look"}, _inline("image/png", media.png()))]
    assert handler.asked == ["/picture"]


def _refused(api: ModelsAPI) -> float | None:
    return sample(api, "models_requests_total", provider="google", model=MODEL, status="invalid_request")


def test_what_gemini_cannot_take_is_refused_before_sending(
    wired: ModelsAPI, fake: FakeLLM, files: tuple[str, type[_Files]]
) -> None:
    gif = media.gif()
    base, handler = files
    handler.files["/anim.gif"] = gif
    cases = [
        (
            {"attachments": [gif]},
            f"Gemini does not take image/gif (attachment ({len(gif):,} bytes of data)); it takes PNG, JPEG, WEBP, PDF, "
            "WAV and MP3: convert the file to one of them.",
        ),
        (
            {"attachments": [f"{base}/anim.gif"]},
            f"Gemini does not take image/gif (attachment '{base}/anim.gif'); it takes PNG, JPEG, WEBP, PDF, "
            "WAV and MP3: convert the file to one of them.",
        ),
    ]
    for n, (params, message) in enumerate(cases, 1):
        with pytest.raises(InvalidRequestError) as caught:
            wired(MODEL, "Describe this", **params)
        assert (caught.value.message, caught.value.provider, caught.value.model) == (message, "google", MODEL)
        assert _refused(wired) == n
    odd = [{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}]
    with pytest.raises(InvalidRequestError) as caught:
        wired(MODEL, odd)
    assert caught.value.message == (
        "Gemini takes text and file parts (text, image_url, input_audio, file, attachment), not a 'input_text' part."
    )
    assert fake.requests == [] and _refused(wired) == 3


def _sparse(path: Path, head: bytes, size: int) -> Path:
    """A file of `size` bytes that starts with `head` (the rest a hole: no time or disk to write it)."""
    with open(path, "wb") as file:
        file.write(head)
        file.truncate(size)
    return path


def test_a_file_over_the_documented_inline_limit_is_refused_naming_it(
    wired: ModelsAPI, fake: FakeLLM, tmp_path: Path
) -> None:
    pdf = _sparse(tmp_path / "big.pdf", media.pdf(), 50 * 2**20 + 1)  # PDFs: 50 MB (Google's MB: 2**20 bytes)
    png = _sparse(tmp_path / "big.png", media.png(), 100 * 2**20 + 1)  # everything else: 100 MB
    for n, (path, size, most, mime) in enumerate(
        [(pdf, "52,428,801", "52,428,800", "application/pdf"), (png, "104,857,601", "104,857,600", "image/png")], 1
    ):
        with pytest.raises(InvalidRequestError) as caught:
            wired(MODEL, "Summarise", attachments=[path])
        assert caught.value.message == (
            f"Attachment '{path}' is {size} bytes; {MODEL} takes at most {most} bytes of {mime} in one file "
            "inline. Send a smaller file."
        )
        assert _refused(wired) == n
    assert fake.requests == []


# promptTokenCount counts every input token, images and audio included; promptTokensDetails breaks
# it down by modality (https://ai.google.dev/api/generate-content#UsageMetadata).
USAGE = {
    "promptTokenCount": 298,
    "candidatesTokenCount": 7,
    "totalTokenCount": 305,
    "promptTokensDetails": [
        {"modality": "TEXT", "tokenCount": 8},
        {"modality": "IMAGE", "tokenCount": 258},
        {"modality": "AUDIO", "tokenCount": 32},
    ],
}
COST = 0.0000326  # (298 x $0.10 + 7 x $0.40) / 1M


def test_image_and_audio_tokens_are_input_tokens_priced_exactly(wired: ModelsAPI, fake: FakeLLM) -> None:
    fake.set_reply(Reply(text="A red square and a second of silence.", raw_usage=USAGE))
    r = wired(MODEL, "Describe these", attachments=[media.png(), media.wav(seconds=1.0)])
    assert (r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (298, 7, COST)
    assert sample(wired, "models_tokens_total", provider="google", model=MODEL, type="input") == 298
    assert sample(wired, "models_tokens_total", provider="google", model=MODEL, type="output") == 7
    assert sample(wired, "models_cost_usd_total", provider="google", model=MODEL) == COST


def test_stream_acall_and_astream_send_the_same_parts(wired: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(media.pdf())
    contents = [
        _user({"text": "Summarise"}, _inline("application/pdf", media.pdf()), _inline("audio/mp3", media.mp3()))
    ]
    files = [path, media.mp3()]
    fake.set_reply(Reply(text="Hello there", raw_usage=USAGE))

    s = wired.stream(MODEL, "Summarise", attachments=files)
    assert "".join(s) == "Hello there"
    r = asyncio.run(wired.acall(MODEL, "Summarise", attachments=files))
    assert r.text == "Hello there"

    async def astream() -> tuple[str, Any]:
        stream = wired.astream(MODEL, "Summarise", attachments=files)
        return "".join([piece async for piece in stream]), stream.response

    text, last = asyncio.run(astream())
    assert text == "Hello there"
    for response in (s.response, r, last):
        assert (response.usage.input_tokens, response.usage.output_tokens, response.usage.cost) == (298, 7, COST)
    assert [(q.path, q.body["contents"]) for q in fake.requests] == [
        (f"/v1/models/{NAME}:streamGenerateContent", contents),
        (f"/v1/models/{NAME}:generateContent", contents),
        (f"/v1/models/{NAME}:streamGenerateContent", contents),
    ]


def test_the_translation_hands_the_sdk_the_files_own_bytes(api: ModelsAPI, tmp_path: Path) -> None:
    """No copy and no base64 of ours: the SDK encodes the bytes once, as it sends them."""
    from models.providers._google import _contents

    path = tmp_path / "report.pdf"
    path.write_bytes(media.pdf(size=1_000_000))
    service = api._service
    target = service.target(MODEL)
    request = service.request(target, "Summarise", None, service.prepare(target, {"attachments": [path]}))
    loaded = request.messages[0]["content"][1]["attachment"]
    contents = _contents(request)
    assert isinstance(contents, list) and contents[0]["parts"][1]["inline_data"]["data"] is loaded.data()
    assert loaded._b64 is None  # never encoded by us


def test_a_retry_sends_the_same_bytes_again(wired: ModelsAPI, fake: FakeLLM, tmp_path: Path) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(media.png())
    fake.enqueue(Fault.server())
    assert wired(MODEL, "Describe this", attachments=[path]).text == "echo: Describe this"
    first, second = fake.requests
    assert (
        first.body == second.body == {"contents": [_user({"text": "Describe this"}, _inline("image/png", media.png()))]}
    )
