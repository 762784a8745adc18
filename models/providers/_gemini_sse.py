"""Server-sent-event comment lines taken out of Gemini streams before google-genai reads them.

google-genai (3.x) parses every stream line that is not `data: ...` as JSON, so a comment line
(`: keep-alive`, legal SSE that proxies and gateways send) ends the stream with its
`UnknownApiResponseError`. Its client takes httpx keyword arguments (`client_args`), so a
response hook wraps the body of each `text/event-stream` response in `CommentFilter`: the bytes
pass unchanged (a chunk without a comment is returned as it came), only comment lines are cut.
Imported by the provider once the SDK (and so httpx2) is loaded. Under aiohttp, which
google-genai prefers for async calls when it is installed, the hook does not apply.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2

__all__ = ["ASYNC_CLIENT_ARGS", "CLIENT_ARGS", "CommentFilter"]

_EOL = re.compile(rb"\r\n|\r|\n")  # the three line ends SSE allows


class CommentFilter:
    """Removes lines starting with ':' from a byte stream, whatever its chunking."""

    __slots__ = ("at_start", "in_comment", "skip_lf")

    def __init__(self) -> None:
        self.at_start = True  # the next byte begins a line
        self.in_comment = False  # inside a comment line that began in an earlier chunk
        self.skip_lf = False  # a comment ended with the chunk's last byte, a CR: a LF next belongs to it

    def feed(self, chunk: bytes) -> bytes:
        if self.skip_lf:
            self.skip_lf = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        starts_comment = self.in_comment or (self.at_start and chunk[:1] == b":")
        if not starts_comment and b"\n:" not in chunk and b"\r:" not in chunk:  # the usual chunk: no comment
            if chunk:
                self.at_start = chunk[-1:] in (b"\n", b"\r")
            return chunk
        kept: list[bytes] = []
        pos, size = 0, len(chunk)
        while pos < size:
            comment = self.in_comment or (self.at_start and chunk[pos : pos + 1] == b":")
            end = _EOL.search(chunk, pos)
            if end is None:
                self.in_comment, self.at_start = comment, False
                if not comment:
                    kept.append(chunk[pos:])
                break
            if comment:
                self.in_comment = False
                self.skip_lf = end.group() == b"\r" and end.end() == size
            else:
                kept.append(chunk[pos : end.end()])
            self.at_start = True
            pos = end.end()
        return b"".join(kept)


class _Filtered(httpx2.SyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        chunks, comments = iter(self._inner), CommentFilter()
        try:
            for chunk in chunks:
                kept = comments.feed(chunk)
                if kept:
                    yield kept
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def close(self) -> None:
        self._inner.close()


class _AsyncFiltered(httpx2.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks, comments = self._inner.__aiter__(), CommentFilter()
        try:
            async for chunk in chunks:
                kept = comments.feed(chunk)
                if kept:
                    yield kept
        finally:  # close the inner iterator now, in order, not at the event loop's shutdown
            aclose = getattr(chunks, "aclose", None)
            if aclose is not None:
                await aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()


def _is_event_stream(response: httpx2.Response) -> bool:
    return response.headers.get("content-type", "").lower().startswith("text/event-stream")


def _filter(response: httpx2.Response) -> None:
    if _is_event_stream(response):
        response.stream = _Filtered(response.stream)


async def _afilter(response: httpx2.Response) -> None:
    if _is_event_stream(response):
        response.stream = _AsyncFiltered(response.stream)


CLIENT_ARGS: dict[str, Any] = {"event_hooks": {"response": [_filter]}}
"""`HttpOptions.client_args` / `async_client_args` that install the filter."""
ASYNC_CLIENT_ARGS: dict[str, Any] = {"event_hooks": {"response": [_afilter]}}
