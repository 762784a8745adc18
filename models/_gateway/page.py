"""The web page at `/` and its JSON endpoints `/api/calls` and `/api/spend`.

The page is three static files (HTML, CSS, a small script; no build step, nothing from a CDN)
that draw everything from the gateway's JSON API with the key the user types in: the catalog
(`/v1/models`), the totals (`/api/usage`), the recent calls and the spend per minute (this
worker's `History`). The JSON endpoints need an admin key (as `/api/usage`: 401, 403);
the page itself holds no data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .failures import error_response
from .gate import GatewayError

if TYPE_CHECKING:
    from .state import GatewayState

__all__ = ["routes"]

STATIC = Path(__file__).parent / "static"

# The page runs only its own script and style, talks only to its own origin, and cannot be framed.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
_NO_STORE = {"Cache-Control": "no-store"}  # usage data: never kept by a browser or a proxy


def routes(state: GatewayState) -> list[Any]:
    """Starlette routes for `/` (the page), `/static/*`, `/api/calls` and `/api/spend`."""
    page = (STATIC / "index.html").read_bytes()  # once: every `/` is the same bytes
    history = state.history
    gate = state.gate

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)

    async def calls(request: Request) -> Response:
        try:
            await gate.authenticate(request.headers.get("authorization"), admin=True)
            limit = _limit(request.query_params.get("limit"), history.size)
        except GatewayError as error:
            return error_response(error)
        return JSONResponse({"object": "list", "data": history.recent(limit)}, headers=_NO_STORE)

    async def spend(request: Request) -> Response:
        try:
            await gate.authenticate(request.headers.get("authorization"), admin=True)
        except GatewayError as error:
            return error_response(error)
        return JSONResponse(history.spend(), headers=_NO_STORE)

    return [
        Route("/", index, methods=["GET"]),
        Route("/api/calls", calls, methods=["GET"]),
        Route("/api/spend", spend, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def _limit(text: str | None, size: int) -> int:
    """`?limit=`: how many recent calls, 1 to the history's size (default 50)."""
    if text is None:
        return min(50, size)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= size:
        raise GatewayError(400, f"limit must be a whole number from 1 to {size}, not {text[:20]!r}", param="limit")
    return int(text)
