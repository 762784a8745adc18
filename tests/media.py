"""Real media files, made by the tests themselves: images through Pillow, a PDF, WAV and MP3 by hand.

Each returns the bytes of a small valid file; `size=` pads a PDF (inside a stream object, so it
stays a valid PDF) to test size limits and the cost of large files.
"""

from __future__ import annotations

import io
import struct
import wave


def _image(kind: str, width: int = 8, height: int = 8) -> bytes:
    from PIL import Image

    picture = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    picture.save(out, format=kind)
    return out.getvalue()


def png(width: int = 8, height: int = 8) -> bytes:
    return _image("PNG", width, height)


def jpeg(width: int = 8, height: int = 8) -> bytes:
    return _image("JPEG", width, height)


def gif(width: int = 8, height: int = 8) -> bytes:
    return _image("GIF", width, height)


def webp(width: int = 8, height: int = 8) -> bytes:
    return _image("WEBP", width, height)


def pdf(text: str = "Hello", size: int = 0) -> bytes:
    """A one-page PDF saying `text`, with a correct cross-reference table; `size` pads it with a
    stream of that many bytes (a real object the reader skips), for large-file tests."""
    content = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if size:
        objects.append(b"<< /Length %d >>\nstream\n" % size + b"\0" * size + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def wav(seconds: float = 0.1, rate: int = 8000) -> bytes:
    """Mono 16-bit PCM silence."""
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


def mp3(frames: int = 4) -> bytes:
    """MPEG-1 Layer III frames of silence (128 kbit/s, 44.1 kHz, 417 bytes each) after an ID3v2 tag."""
    header = struct.pack(">I", 0xFFFB9004)  # sync, MPEG-1, layer III, no CRC, 128 kbit/s, 44.1 kHz
    frame = header + b"\0" * (417 - 4)
    tag = b"ID3\x04\x00\x00" + bytes(4)  # an empty ID3v2.4 tag
    return tag + frame * frames
