"""Images, documents and audio in a prompt (SPEC §10): `Attachment`, what the parts of a
message become, and what a call reads before sending.

A prompt's files are read when the call is made (`loaded`), once per call however many
attempts it takes: its bytes read once, base64-encoded at most once (`base64`), the media type
taken from the caller or sniffed from the first bytes (magic numbers, not the file name). Every
provider translates the same `{"type": "attachment", "attachment": Attachment}` part.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import Any

from .._display import brief
from ..errors import InvalidRequestError

__all__ = ["MEDIA_TYPES", "Attachment", "attachment_of", "attachment_of_part", "join", "kind_of", "load", "sniff"]

MEDIA_TYPES = {
    "image/png": "image",
    "image/jpeg": "image",
    "image/gif": "image",
    "image/webp": "image",
    "application/pdf": "document",
    "audio/wav": "audio",
    "audio/mpeg": "audio",
}
"""The media types every provider is asked to take, and their kind (the capability they need)."""
_ALIASES = {"image/jpg": "image/jpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/mp3": "audio/mpeg"}
_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}  # OpenAI's input_audio "format"
_SNIFF_BYTES = 16


def sniff(head: bytes) -> str | None:
    """The media type the first bytes of a file say it has (magic numbers), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio frame's sync bits
    return None


def kind_of(media_type: str) -> str | None:
    """ "image", "document" or "audio" for a media type we send; None for any other."""
    return MEDIA_TYPES.get(media_type)


class Attachment:
    """A file for the prompt: exactly one of `path=` (a `str` or `Path`), `url=` (http or https)
    or `data=` (bytes), and optionally its `media_type` (else read from its first bytes).

    `repr` shows where it comes from and its size, never its content.
    """

    __slots__ = (
        "_b64",
        "_data",
        "_durl",
        "_from",
        "_hint",
        "_media_type",
        "_owned",
        "_size",
        "detail",
        "name",
        "path",
        "url",
    )

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        url: str | None = None,
        data: bytes | None = None,
        media_type: str | None = None,
        *,
        name: str | None = None,
        detail: str | None = None,
    ) -> None:
        given = [x for x in (path, url, data) if x is not None]
        if len(given) != 1:
            raise TypeError("Attachment takes exactly one of path=, url= or data=")
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"Attachment data must be bytes, not {type(data).__name__}")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            raise InvalidRequestError(f"Attachment url must be an http(s) URL, not {brief(url)}")
        if media_type is not None:
            if not isinstance(media_type, str):
                raise TypeError(f"media_type must be a str, not {type(media_type).__name__}")
            media_type = _ALIASES.get(media_type.lower(), media_type.lower())
        self.path = None if path is None else Path(path)
        self.url = url
        self._data = None if data is None else bytes(data)
        self._size = None if self._data is None else len(self._data)
        self._b64: str | None = None
        self._durl: str | None = None  # the data: URL, when a provider sends one
        self._owned = False  # a copy made for one call (`loaded`): it may drop a form it no longer needs
        self._media_type = media_type
        self._hint: str | None = None  # the kind a part's type says (an image_url), when the URL does not
        self._from: str | None = None  # the URL a downloaded copy came from, for messages
        self.detail = detail  # OpenAI's image detail ("low", "high", "auto"); other providers have none
        self.name = name or (self.path.name if self.path else url.rsplit("/", 1)[-1] if url else "attachment")

    @classmethod
    def from_base64(cls, text: str, media_type: str | None, name: str | None = None) -> Attachment:
        """An attachment from base64 text (a `data:` URL's, an `input_audio` part's), decoded once
        here so a bad one fails before sending; the text is kept and sent as it came."""
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidRequestError(f"An attachment's base64 data is not valid base64 ({exc}).") from None
        attachment = cls(data=data, media_type=media_type, name=name)
        attachment._b64 = text
        return attachment

    @property
    def media_type(self) -> str | None:
        """The given media type, else the one the content's first bytes say; for a URL not yet
        downloaded, the one its file name suggests (None if it suggests none of ours)."""
        if self._media_type is None:
            if self.url is not None:
                return _guess(self.url)
            self._media_type = sniff(self._head())
        return self._media_type

    @property
    def data_given(self) -> bool:
        """Whether the content came as bytes (not a path or a URL)."""
        return self.path is None and self.url is None and self._from is None

    @property
    def kind(self) -> str | None:
        """ "image", "document" or "audio" (what the model must take); for a URL of unknown type,
        what its part said (an `image_url` is an image)."""
        media_type = self.media_type
        return self._hint if media_type is None else kind_of(media_type)

    @property
    def size(self) -> int | None:
        """Bytes of the content: the file's size on disk, the data's length; None for a URL."""
        if self._size is not None:
            return self._size
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size
        except OSError:  # reading it says why, naming it
            return None

    def _head(self) -> bytes:
        if self._data is not None:
            return self._data[:_SNIFF_BYTES]
        if self._b64 is not None or self._durl is not None:
            return base64.b64decode(self.base64()[:24])
        assert self.path is not None
        try:
            with open(self.path, "rb") as file:
                return file.read(_SNIFF_BYTES)
        except OSError as exc:
            raise InvalidRequestError(f"Attachment {str(self.path)!r} cannot be read: {exc.strerror or exc}.") from None

    def data(self) -> bytes:
        """The content, read from the file now (each call reads its own; see `loaded`)."""
        if self._data is not None:
            return self._data
        if self.path is not None:
            return self.path.read_bytes()
        if self._b64 is not None or self._durl is not None:
            return base64.b64decode(self.base64())
        raise ValueError("a URL attachment has no data until it is downloaded (loaded(download=True))")

    def base64(self) -> str:
        """The content as base64 text, encoded once per loaded attachment. A call's own copy then
        lets its bytes go: a provider that sends base64 never needs both (a 20 MB file held twice)."""
        encoded = self._b64
        if encoded is None:
            if self._durl is not None:
                return self._durl.partition(",")[2]
            encoded = self._b64 = base64.b64encode(self.data()).decode("ascii")
            if self._owned:
                self._data = None
        return encoded

    def data_url(self) -> str:
        """`data:<type>;base64,<data>`, built once per loaded attachment; it replaces the bare base64."""
        url = self._durl
        if url is None:
            url = self._durl = f"data:{self.media_type};base64,{self.base64()}"
            if self._owned:
                self._b64 = None
        return url

    def loaded(self, model: str, download: bool = False, timeout: float = 60.0) -> Attachment:
        """This attachment for one call: a file read into memory (once), its media type known and
        one we send; a URL as it is, or downloaded when the provider cannot fetch it. Raises
        `InvalidRequestError` naming the file for anything missing, unreadable or of another type."""
        if self.url is not None and not download:
            if self._media_type is not None and kind_of(self._media_type) is None:
                raise self._unknown(self._media_type, model)
            return self  # the provider fetches it
        if self.url is not None:
            data = _download(self.url, timeout, model)
        elif self.path is not None:
            try:
                data = self.path.read_bytes()
            except OSError as exc:
                raise InvalidRequestError(
                    f"Attachment {str(self.path)!r} cannot be read: {exc.strerror or exc}.", model=model
                ) from None
        else:  # a copy of the attachment, not of the bytes: this call's encodings stay its own
            data = self._data if self._data is not None else self.data()
        loaded = Attachment(data=data, media_type=self._media_type, name=self.name, detail=self.detail)
        loaded._b64, loaded._owned = self._b64, True
        loaded.path = self.path  # for messages; a downloaded URL is data now (its type read from it)
        loaded._from = self.url
        return loaded._checked(model)

    def _checked(self, model: str) -> Attachment:
        media_type = self.media_type
        if media_type is None or kind_of(media_type) is None:
            raise self._unknown(media_type, model)
        found = sniff(self._head())
        if found is not None and found != media_type:  # the API would refuse it with a 400
            raise InvalidRequestError(
                f"Attachment {self._where()} is given as {media_type}, but its content is {found}: give "
                f"media_type={found!r} or leave it out.",
                model=model,
            )
        return self

    def _unknown(self, media_type: str | None, model: str) -> InvalidRequestError:
        what = f"is {media_type}" if media_type else "has a media type its content does not show"
        return InvalidRequestError(
            f"Attachment {self._where()} {what}; the types every provider is asked to take are "
            f"{', '.join(MEDIA_TYPES)} (give media_type= if it is one of them).",
            model=model,
        )

    def _where(self) -> str:
        if self.path is not None:
            return repr(str(self.path))
        if self.url is not None or self._from is not None:
            return repr(self.url or self._from)
        return f"({self._size or 0:,} bytes of data)"

    def describe(self) -> str:
        """Where it comes from and its size, for error messages."""
        size = self.size
        return self._where() + (f" ({size:,} bytes)" if size is not None and self.path is not None else "")

    def __repr__(self) -> str:
        where = f"path={str(self.path)!r}" if self.path is not None else f"url={self.url!r}" if self.url else "data=..."
        size = f", {self._size:,} bytes" if self._size is not None else ""
        return f"Attachment({where}, media_type={self._media_type!r}{size})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attachment):
            return NotImplemented
        return (self.path, self.url, self._data, self._media_type) == (
            other.path,
            other.url,
            other._data,
            other._media_type,
        )

    __hash__ = None  # type: ignore[assignment]


def _download(url: str, timeout: float, model: str) -> bytes:
    """A URL's content, for a provider that takes files only inline."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:  # http(s) only, checked above
            return bytes(answer.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise InvalidRequestError(f"Attachment {url!r} could not be downloaded: {exc}.", model=model) from None


def attachment_of(item: Any, model: str) -> Attachment:
    """An `Attachment` for one entry of `attachments=`: a path, an http(s) URL, bytes, or one."""
    if isinstance(item, Attachment):
        return item
    if isinstance(item, (bytes, bytearray, memoryview)):
        return Attachment(data=bytes(item))
    if isinstance(item, str) and item.startswith(("http://", "https://")):
        return Attachment(url=item)
    if isinstance(item, (str, os.PathLike)):
        path = Path(item)
        if not path.is_file():
            raise InvalidRequestError(
                f"Attachment {str(path)!r} is not a file (no such file, or a folder).", model=model
            )
        return Attachment(path=path)
    raise TypeError(f"attachments= takes paths, http(s) URLs, bytes or models.Attachment, not {brief(item)}")


def attachment_of_part(part: Any, model: str) -> Attachment | None:
    """The `Attachment` an OpenAI-style content part carries (`image_url`, `input_audio`, `file`,
    or our own `attachment`), or None for a part of another type."""
    kind = part.get("type")
    if kind == "attachment":
        item = part.get("attachment")
        return item if isinstance(item, Attachment) else attachment_of(item, model)
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            raise InvalidRequestError(f"An image_url part needs {{'url': ...}}, got {brief(part, 80)}", model=model)
        attachment = _from_url(url, model)
        attachment._hint = "image"
        detail = image.get("detail") if isinstance(image, dict) else None
        attachment.detail = detail if isinstance(detail, str) else None  # OpenAI's: it changes the image's tokens
        return attachment
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        data, fmt = audio.get("data"), audio.get("format")
        if not isinstance(data, str) or fmt not in _FORMATS:
            raise InvalidRequestError(
                f"An input_audio part needs {{'data': base64 text, 'format': 'wav' or 'mp3'}}, got {brief(part, 80)}",
                model=model,
            )
        return Attachment.from_base64(data, _FORMATS[fmt])
    if kind == "file":
        file = part.get("file") or {}
        data = file.get("file_data")
        if not isinstance(data, str):
            raise InvalidRequestError(
                f"A file part needs {{'file_data': a data: URL or base64 text}} (file_id is OpenAI's alone), "
                f"got {brief(part, 80)}",
                model=model,
            )
        name = file.get("filename") if isinstance(file.get("filename"), str) else None
        if data.startswith("data:"):
            attachment = _from_url(data, model)
            attachment.name = name or attachment.name
            return attachment
        return Attachment.from_base64(data, None, name)
    return None


def _from_url(url: str, model: str) -> Attachment:
    """A `data:` URL decoded, or an http(s) URL kept as one."""
    if url.startswith("data:"):
        head, _, payload = url.partition(",")
        if not head.endswith(";base64"):
            raise InvalidRequestError("A data: URL must be base64 (data:<type>;base64,<data>).", model=model)
        return Attachment.from_base64(payload, head[5:-7] or None)
    return Attachment(url=url)  # raises for anything but http(s)


def join(messages: list[dict[str, Any]], extra: tuple[Attachment, ...], model: str) -> list[dict[str, Any]]:
    """The turns with `attachments=` joined to the last user turn (a copy of it; the rest as they are)."""
    index = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if index is None:
        raise InvalidRequestError("attachments= joins the last user message, and the prompt has none.", model=model)
    turn = messages[index]
    content = turn["content"]
    parts = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
    parts += [{"type": "attachment", "attachment": a} for a in extra]
    return [*messages[:index], {**turn, "content": parts}, *messages[index + 1 :]]


def load(messages: list[dict[str, Any]], fetches: Any, limit: Any, model: str, timeout: float) -> list[dict[str, Any]]:
    """The turns of one call with every attachment loaded: each file read once, a URL downloaded
    only where the provider cannot fetch it (`fetches(media_type)`), and each inlined file checked
    against the provider's size limit (`limit(media_type)`: bytes, or None). Turns without
    attachments stay the caller's own objects."""
    out = None
    for i, message in enumerate(messages):
        content = message["content"]
        if type(content) is not list or not any(p.get("type") == "attachment" for p in content):
            continue
        parts = [_loaded(p, fetches, limit, model, timeout) if p.get("type") == "attachment" else p for p in content]
        out = out or list(messages)
        out[i] = {**message, "content": parts}
    return out or messages


def _loaded(part: dict[str, Any], fetches: Any, limit: Any, model: str, timeout: float) -> dict[str, Any]:
    attachment: Attachment = part["attachment"]
    download = attachment.url is not None and not fetches(attachment.media_type)
    if attachment.path is not None:  # too big on disk: refused before it is read
        _fits(attachment, attachment.size or 0, limit(attachment.media_type), model)
    loaded = attachment.loaded(model, download=download, timeout=timeout)
    if download or attachment.data_given:
        _fits(attachment, loaded.size or 0, limit(loaded.media_type), model)
    return {"type": "attachment", "attachment": loaded}


def _fits(attachment: Attachment, size: int, most: int | None, model: str) -> None:
    if most is not None and size > most:
        raise InvalidRequestError(
            f"Attachment {attachment._where()} is {size:,} bytes; {model} takes at most {most:,} bytes "
            f"of {attachment.media_type} in one file inline. Send a smaller file.",
            model=model,
        )


def _guess(url: str) -> str | None:
    """The media type a URL's file name suggests, if it is one we send."""
    import mimetypes

    guessed = mimetypes.guess_type(url.split("?", 1)[0])[0]
    guessed = _ALIASES.get(guessed or "", guessed)
    return guessed if guessed in MEDIA_TYPES else None
