"""Rows: a call sending a 20 MB PDF, ours against the raw SDK used as its docs show (issue 14).

Both sides read the file from disk on every call, as a program sending a user's file does. Raw:
- OpenAI (platform.openai.com/docs/guides/pdf-files, Chat Completions, base64-encoded files): the
  bytes, their base64 text and the `data:` URL in a `file` part, all held during the call, as there;
- Anthropic (docs.claude.com/en/docs/build-with-claude/pdf-support, base64 PDF): a `document`
  block whose base64 source is `base64.standard_b64encode(file.read()).decode()`;
- Gemini (ai.google.dev/gemini-api/docs/document-processing, local PDF):
  `types.Part.from_bytes(data=path.read_bytes(), mime_type="application/pdf")`; the SDK encodes.
Ours: `models(model, "Summarise", attachments=[path])`.

"attach" times the calls: wall, and the client's CPU, because the fake's own work on the request
(reading and parsing ~27 MB of JSON, checking the base64) is the same for both sides and dilutes
the wall ratio. "attach-mem" measures a call's peak memory (`measure.peak_memory`). Neither
can show quadratic string building directly; the ratios can: the SDKs build the body in linear
time, so a quadratic step of ours would put a 20 MB call far above them.
"""

from __future__ import annotations

import base64
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import measure
from bench_overhead import MODELS, ours_api, raw_client
from harness import Fakes, at_most, row, section

SIZE = 20 * 1024 * 1024  # bytes of padding: the file is 20.0 MiB and a few hundred bytes
PROMPT = "Summarise"
_FOLDER: list[tempfile.TemporaryDirectory[str]] = []  # kept to the end of the process, then removed


def big_pdf() -> Path:
    """A valid 20 MB PDF (tests/media.py) in a temporary folder, written once per process."""
    if not _FOLDER:
        from tests.media import pdf  # ROOT is on the path of a client process (harness.child)

        _FOLDER.append(tempfile.TemporaryDirectory(prefix="bench-attach-"))
        (Path(_FOLDER[0].name) / "report.pdf").write_bytes(pdf(size=SIZE))
    return Path(_FOLDER[0].name) / "report.pdf"


def _raw(provider: str, client: Any, path: Path) -> Any:
    """One raw call sending the file at `path`, read from disk on every call."""
    model = MODELS[provider]
    if provider == "openai":

        def openai_call() -> Any:
            with open(path, "rb") as file:
                data = file.read()
            base64_string = base64.b64encode(data).decode("utf-8")
            part = {"filename": path.name, "file_data": f"data:application/pdf;base64,{base64_string}"}
            content = [{"type": "file", "file": part}, {"type": "text", "text": PROMPT}]
            return client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": content}], timeout=600
            )

        return openai_call
    if provider == "anthropic":

        def anthropic_call() -> Any:
            with open(path, "rb") as file:
                pdf_data = base64.standard_b64encode(file.read()).decode("utf-8")
            source = {"type": "base64", "media_type": "application/pdf", "data": pdf_data}
            content = [{"type": "document", "source": source}, {"type": "text", "text": PROMPT}]
            return client.messages.create(
                model=model, messages=[{"role": "user", "content": content}], max_tokens=4096, timeout=600
            )

        return anthropic_call
    from google.genai import types

    def google_call() -> Any:
        part = types.Part.from_bytes(data=path.read_bytes(), mime_type="application/pdf")
        return client.models.generate_content(model=model, contents=[part, PROMPT])

    return google_call


def _sides(provider: str, fakes: Fakes) -> measure.Sides:
    path = big_pdf()
    api = ours_api(fakes.url, provider)
    return {
        "raw": _raw(provider, raw_client(fakes.url, provider), path),
        "ours": partial(api, MODELS[provider], PROMPT, attachments=[str(path)]),
    }


section(
    "attach",
    "a call sending a 20 MB PDF, median wall and client-CPU ms of the round's calls",
    "ms",
    measure.big_calls,
)
section(
    "attach-mem",
    "a call sending a 20 MB PDF, peak MB above its start: Python allocations (traced: tracemalloc, "
    "per call) and the process's resident set (its high-water mark, reset per call); one base64 "
    "encoding of the file is 26.7 MB",
    "MB",
    measure.peak_memory,
)

for name in MODELS:
    row("attach", name, {"wall": at_most(1.10), "client CPU": at_most(1.10)})(partial(_sides, name))
    row("attach-mem", name, {"traced": at_most(1.10)})(partial(_sides, name))
