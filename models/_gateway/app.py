"""The gateway's ASGI app: OpenAI's routes over one `ModelsAPI` per worker (SPEC §14).

Every model request goes the same way: the body read within `max_body`, checked (`wire.py`),
admitted by the gatekeeper (key, model, budget, rate), sent through the library, settled with
what it cost, recorded (metrics, history), answered in OpenAI's shape; every failure on the way
is OpenAI's error JSON (`failures.py`), never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import page
from .failures import error_for, error_response, spent
from .gate import Admission, Gatekeeper, GatewayError
from .history import History
from .metrics import GatewayMetrics
from .settings import GatewaySettings
from .state import GatewayState
from .wire import (
    ChatRequest,
    chat_chunk,
    chat_completion,
    completion_id,
    dumps,
    embedding_list,
    model_object,
    parse_chat,
    parse_embeddings,
    parse_json,
    usage_object,
)

if TYPE_CHECKING:
    from .._call.stream import AsyncStream
    from .._facade.api import ModelsAPI
    from .._types import Usage

__all__ = ["create_app", "create_app_from_env", "read_body"]

_JSON = "application/json"
_DONE = b"data: [DONE]\n\n"


def create_app(*, api: ModelsAPI | None = None, settings: GatewaySettings | None = None) -> Starlette:
    """The gateway as a Starlette app: `api` (default a new `ModelsAPI`) calls the models, `settings`
    (default from the environment, `GatewaySettings.from_env`) say how; its state is on
    `app.state.gateway`, and its lifespan closes the gatekeeper."""
    if api is None:
        from .._facade.api import ModelsAPI

        api = ModelsAPI()
    if settings is None:
        settings = GatewaySettings.from_env()
    gate = Gatekeeper(api, settings)
    state = GatewayState(
        api, gate, GatewayMetrics(gate.key_names, api.registry), History(settings.recent_calls), settings
    )
    handlers = _Handlers(state)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gate.aclose()

    routes = [
        Route("/v1/chat/completions", handlers.chat, methods=["POST"]),
        Route("/v1/embeddings", handlers.embeddings, methods=["POST"]),
        Route("/v1/models", handlers.models, methods=["GET"]),
        Route("/v1/models/{model:path}", handlers.model, methods=["GET"]),
        Route("/healthz", handlers.health, methods=["GET"]),
        Route("/metrics", handlers.metrics, methods=["GET"]),
        Route("/api/usage", handlers.usage, methods=["GET"]),
        *page.routes(state),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
    )
    app.state.gateway = state
    return app


def create_app_from_env() -> Starlette:
    """`create_app()` with everything from the environment: what each uvicorn worker runs (`serve`)."""
    return create_app()


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no such route, wrong method) in OpenAI's shape."""
    assert isinstance(exc, HTTPException)  # the only class this handler is registered for
    status = exc.status_code
    message = f"Invalid URL ({request.method} {request.url.path})" if status in (404, 405) else exc.detail
    return error_response(GatewayError(status, message, headers=dict(exc.headers or {})))  # 405: Allow


async def _unexpected(request: Request, exc: Exception) -> Response:
    return error_response(error_for(exc))


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with a 400 as soon as it is known to exceed `limit` bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> GatewayError:
    return GatewayError(
        400,
        f"The request body is larger than this gateway's limit of {limit} bytes "
        "(MODELS_GATEWAY_MAX_BODY or `models serve --max-body` raise it).",
        code="request_too_large",
    )


class _Handlers:
    """The routes' endpoints, bound to one worker's state."""

    def __init__(self, state: GatewayState) -> None:
        self.state = state
        self.api = state.api
        self.limit = state.settings.max_body

    async def _finish(
        self,
        admission: Admission,
        model: str,
        error: GatewayError | None,
        usage: Usage | None,
        started: float,
        stream: bool,
    ) -> None:
        """Settle what the call cost with the gatekeeper, then count it (metrics, history)."""
        await self.state.gate.settle(admission, usage)
        self.state.record(
            admission, model, "ok" if error is None else error.type, usage, time.perf_counter() - started, stream
        )

    def _refused(self, error: GatewayError, started: float) -> Response:
        """The gatekeeper's refusal, counted under the key it names ("unauthenticated" when none)."""
        refused = Admission(error.key, error.model)
        self.state.record(refused, error.model, error.type, None, time.perf_counter() - started, False)
        return error_response(error)

    async def chat(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            call = parse_chat(parse_json(await read_body(request, self.limit)))
        except Exception as exc:
            return error_response(error_for(exc))
        try:
            admission = await self.state.gate.admit(
                request.headers.get("authorization"),
                call.model,
                prompt=call.messages,
                max_tokens=call.max_tokens,
                options=call.params,
            )
        except GatewayError as refusal:
            return self._refused(refusal, started)
        except Exception as exc:  # the model names none (404)
            return error_response(error_for(exc))
        if call.stream:
            return await self._stream(admission, call, started)
        try:
            response = await self.api.acall(admission.model, call.messages, **call.params)
        except Exception as exc:
            error = error_for(exc)
            usage = spent(exc)
            await self._finish(admission, admission.model, error, usage, started, False)
            return error_response(error)
        await self._finish(admission, response.model, None, response.usage, started, False)
        return Response(dumps(chat_completion(response)), media_type=_JSON)

    async def _stream(self, admission: Admission, call: ChatRequest, started: float) -> Response:
        """Open the stream before answering, so that a failure before the first piece (a bad request, the
        provider's 429) is an HTTP error the SDK raises as such; later failures are an `error` event."""
        try:
            stream = self.api.astream(admission.model, call.messages, **call.params)
            first: str | None = await stream.__anext__()
        except StopAsyncIteration:  # an answer without text (only tool calls, or empty)
            first = None
        except Exception as exc:
            error = error_for(exc)
            await self._finish(admission, admission.model, error, None, started, True)
            return error_response(error)
        relay = _Relay(admission, stream, started)
        return _EventStream(self._events(relay, call, first), partial(self._close, relay))

    async def _events(self, relay: _Relay, call: ChatRequest, first: str | None) -> AsyncIterator[bytes]:
        """The stream as OpenAI sends it: a first delta with the role, the text, the tool calls, the finish
        reason, the usage chunk when asked for, `[DONE]`; a failure midway, an `error` event."""
        stream = relay.stream
        head: dict[str, Any] = {
            "id": completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": stream.model,
            "system_fingerprint": None,
        }
        if call.include_usage:
            head["usage"] = None
        try:
            yield chat_chunk(head, {"role": "assistant", "content": first or "", "refusal": None})
            if first is not None:
                async for piece in stream:
                    yield chat_chunk(head, {"content": piece})
            response = stream.response
            for index, tool_call in enumerate(response.tool_calls):
                yield chat_chunk(head, {"tool_calls": [{"index": index, **tool_call.to_openai()}]})
            relay.done, relay.usage = True, response.usage
            yield chat_chunk(head, {}, response.finish_reason or "stop")
            if call.include_usage:
                yield b"data: " + dumps({**head, "choices": [], "usage": usage_object(response.usage)}) + b"\n\n"
            yield _DONE
        except Exception as exc:
            error = relay.error = error_for(exc)
            relay.done, relay.usage = True, spent(exc)
            body = {"error": {"message": error.message, "type": error.type, "param": error.param, "code": error.code}}
            yield b"data: " + dumps(body) + b"\n\n"
        await self._close(relay)  # before the body's end: a client that read it all finds the call counted

    async def _close(self, relay: _Relay) -> None:
        """Once per stream, at its end or after the response however it ended: a stream the client left
        (or never read) is closed, which records what was received (its cost unknown); then the call is
        settled and recorded."""
        if relay.closed:
            return
        relay.closed = True
        stream = relay.stream
        with anyio.CancelScope(shield=True):  # in a cancelled task (the client left) every await would raise
            if not relay.done:
                await stream.aclose()
                relay.usage = stream.response.usage
            await self._finish(relay.admission, stream.model, relay.error, relay.usage, relay.started, True)

    async def embeddings(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            call = parse_embeddings(parse_json(await read_body(request, self.limit)))
        except Exception as exc:
            return error_response(error_for(exc))
        try:
            authorization = request.headers.get("authorization")
            admission = await self.state.gate.admit(authorization, call.model, inputs=call.inputs)
        except GatewayError as refusal:
            return self._refused(refusal, started)
        except Exception as exc:  # the model names none (404)
            return error_response(error_for(exc))
        try:
            result = await self.api.aembed(admission.model, call.inputs, **call.params)
        except Exception as exc:
            error = error_for(exc)
            await self._finish(admission, admission.model, error, None, started, False)
            return error_response(error)
        await self._finish(admission, result.model, None, result.usage, started, False)
        return Response(dumps(embedding_list(result, call.base64)), media_type=_JSON)

    async def models(self, request: Request) -> Response:
        """The catalog as the key sees it: only the models it may call."""
        try:
            allows = await self.state.gate.permits(request.headers.get("authorization"))
        except GatewayError as error:
            return error_response(error)
        listed = (info for info in self.api.list(status=None) if allows(info.id, info.provider))
        data = [model_object(info, _created(info.release_date)) for info in listed]
        return Response(dumps({"object": "list", "data": data}), media_type=_JSON)

    async def model(self, request: Request) -> Response:
        """One catalog row. An id only its provider prefix resolves (`openai/gpt-4x`) may still be called,
        but is not in the catalog: 404, as `/v1/models` does not list it either."""
        try:
            allows = await self.state.gate.permits(request.headers.get("authorization"))
            info = self.api.info(request.path_params["model"])
        except Exception as exc:
            return error_response(error_for(exc))
        if info.known and not allows(info.id, info.provider):  # as OpenAI answers for a model you have no access to
            message = f"The model {info.id!r} does not exist or your key may not call it."
            return error_response(GatewayError(404, message, code="model_not_found", param="model"))
        if not info.known:
            message = f"The model {info.id!r} is not in this gateway's catalog (GET /v1/models lists it)."
            return error_response(GatewayError(404, message, code="model_not_found", param="model"))
        return Response(dumps(model_object(info, _created(info.release_date))), media_type=_JSON)

    async def health(self, request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type=_JSON)

    async def metrics(self, request: Request) -> Response:
        body, content_type = await run_in_threadpool(self.state.metrics.render)  # multiprocess mode reads files
        return Response(body, media_type=content_type)

    async def usage(self, request: Request) -> Response:
        try:
            await self.state.gate.authenticate(request.headers.get("authorization"), admin=True)
            usage = await self.state.gate.usage()
        except Exception as exc:
            return error_response(error_for(exc))
        return Response(dumps(usage), media_type=_JSON)


class _Relay:
    """One streamed answer's bookkeeping, shared by its events and what runs after them."""

    __slots__ = ("admission", "closed", "done", "error", "started", "stream", "usage")

    def __init__(self, admission: Admission, stream: AsyncStream, started: float) -> None:
        self.admission = admission
        self.stream = stream
        self.started = started
        self.done = False  # read to its end, or failed
        self.closed = False  # settled and recorded
        self.error: GatewayError | None = None
        self.usage: Usage | None = None


class _EventStream(StreamingResponse):
    """Server-sent events, then `on_close` whatever happened: sent in full, cut by the client (Starlette
    cancels the events at their await), or never started (the client left before the first one, when
    the events' own `finally` would never run)."""

    def __init__(self, events: AsyncIterator[bytes], on_close: Callable[[], Awaitable[None]]) -> None:
        super().__init__(events, media_type="text/event-stream", headers={"cache-control": "no-cache"})
        self.on_close = on_close

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.on_close()


def _created(released: str | None) -> int:
    """OpenAI's `created` (Unix seconds) from the catalog's release date; 0 when unknown."""
    if not released:
        return 0
    try:
        day = date.fromisoformat(released)
    except ValueError:
        return 0
    return int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp())
