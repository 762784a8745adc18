"""`timeout` as a deadline: a plain attempt must be complete within it; a stream's first piece
must arrive within it, and each next piece within it of being asked for.

The SDKs hand the timeout to httpx2, which applies it to each connect, read and write on its
own, so a server trickling a few bytes at a time could hold a call as long as it liked.
`bounded` / `abounded` run one attempt (or one wait for a stream piece) with its deadline in a
`ContextVar` (so per thread and per asyncio task); `guard` gives an SDK's httpx2 client a
network backend that ends every socket operation by that deadline and then raises the
transport's own timeout error, which the SDK reports as an ordinary timeout. The clock starts
at the first socket operation: importing the SDK and building its client on first use are not
the server's time. No thread and no timer: a `ContextVar` set and reset per attempt, a clock
read per socket operation.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from time import monotonic
from typing import Any, TypeVar

__all__ = ["abounded", "bounded", "guard"]

_A = TypeVar("_A")
_R = TypeVar("_R")


# The deadline in force: None outside an attempt; -timeout until the attempt's first socket
# operation; then the monotonic time by which everything must be done.
_CURRENT: ContextVar[float | None] = ContextVar("models_deadline", default=None)


def bounded(timeout: float, fn: Callable[[_A], _R], arg: _A) -> _R:
    """`fn(arg)`, every socket operation of a guarded client in it ending `timeout` s after the first began."""
    token = _CURRENT.set(-timeout)
    try:
        return fn(arg)
    finally:
        _CURRENT.reset(token)


async def abounded(timeout: float, awaitable: Awaitable[_R]) -> _R:
    """`await awaitable` under `bounded`'s rule (the `ContextVar` follows the task)."""
    token = _CURRENT.set(-timeout)
    try:
        return await awaitable
    finally:
        _CURRENT.reset(token)


def guard(http_client: Any) -> None:
    """Make the connection pools of an httpx2 `Client` or `AsyncClient` honour `bounded`'s deadline.

    httpx2's transports take no network backend, so the one their httpcore2 pool was built with
    is wrapped in place (the pool hands it to every connection it opens, through proxies too).
    """
    httpcore = sys.modules.get("httpcore2")
    if http_client is None or httpcore is None:
        return
    for transport in (getattr(http_client, "_transport", None), *getattr(http_client, "_mounts", {}).values()):
        pool: Any = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, (_Backend, _AsyncBackend)):
            wrapper = _AsyncBackend if isinstance(backend, httpcore.AsyncNetworkBackend) else _Backend
            pool._network_backend = wrapper(backend)


def _left(timeout: float | None, error: str) -> float | None:
    """The timeout for one socket operation: `timeout`, or less when the deadline is nearer."""
    deadline = _CURRENT.get()
    if deadline is None:
        return timeout
    now = monotonic()
    if deadline < 0:  # the attempt's first socket operation: its clock starts now
        deadline = now - deadline
        _CURRENT.set(deadline)  # in the attempt's own context, which `bounded` restores
    left = deadline - now
    if left <= 0:
        raise getattr(sys.modules["httpcore2"], error)("No complete answer within the timeout.")
    return left if timeout is None or left < timeout else timeout


class _Stream:
    """An httpcore2 network stream whose reads, writes and TLS handshake end by the deadline."""

    __slots__ = ("_stream",)

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, _left(timeout, "ReadTimeout"))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, "WriteTimeout"))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> _Stream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _left(timeout, "ConnectTimeout")))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend:
    """An httpcore2 network backend whose connections are `_Stream`s."""

    __slots__ = ("_backend",)

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _Stream:
        timeout = _left(timeout, "ConnectTimeout")
        return _Stream(self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> _Stream:
        return _Stream(self._backend.connect_unix_socket(path, _left(timeout, "ConnectTimeout"), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _AsyncStream:
    """`_Stream` for an httpcore2 async network stream."""

    __slots__ = ("_stream",)

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = await self._stream.read(max_bytes, _left(timeout, "ReadTimeout"))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._stream.write(buffer, _left(timeout, "WriteTimeout"))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _AsyncStream:
        timeout = _left(timeout, "ConnectTimeout")
        return _AsyncStream(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _AsyncBackend:
    """`_Backend` for an httpcore2 async network backend."""

    __slots__ = ("_backend",)

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _AsyncStream:
        timeout = _left(timeout, "ConnectTimeout")
        return _AsyncStream(await self._backend.connect_tcp(host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> _AsyncStream:
        timeout = _left(timeout, "ConnectTimeout")
        return _AsyncStream(await self._backend.connect_unix_socket(path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)
