"""The Redis store of client-side rate limits: buckets shared by every process using one server.

Kept apart from `limits.py` so that limits in this process never import `redis` or parse URLs.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from ..errors import ConfigurationError, LimitStoreError
from .limit_stores import Outcome, Store

__all__ = ["RedisStore", "redacted"]

_DEFAULT_TIMEOUT = 5.0  # seconds an operation may take when the caller has no timeout (the URL may change it)
_SHORTEST = 0.05  # a caller at the end of its timeout still gets a round trip's worth
_DEADLINE: ContextVar[float | None] = ContextVar("models_redis_deadline", default=None)

# The same rule as MemoryStore.apply (and `_rescaled`), run inside Redis so take-or-report is atomic across
# processes, on the server's clock so they agree. Lua numbers are doubles: exact while
# tpm * 60e6 < 2**53 (tpm up to 150 million). TIME before a write needs Redis >= 5.
_LUA = """
local t = redis.call('TIME')
local now, key, mode, unit = t[1] * 1000000 + t[2], KEYS[1], ARGV[5], 60000000
local rates = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local needs = {tonumber(ARGV[3]) * unit, tonumber(ARGV[4]) * unit}
local stored = redis.call('HMGET', key, 'l1', 's1', 'l2', 's2', 'r1', 'r2')
local levels, wait, which = {0, 0}, 0, 0
for i = 1, 2 do
  local rate, level = rates[i], tonumber(stored[2 * i - 1])
  if rate > 0 then
    local full = rate * unit
    if level then
      local was = tonumber(stored[4 + i]) or rate -- the rate the level was written at
      level = math.min(was * unit, level + math.max(0, now - tonumber(stored[2 * i])) * was)
      if rate > was then level = level + (rate - was) * unit -- raised: the added capacity is free
      elseif rate < was then level = math.floor(level * rate / was) end -- lowered: the fraction left
      levels[i] = math.min(full, level)
    else
      levels[i] = full
    end
    local short = needs[i] - levels[i]
    local w = math.floor(short / rate)
    if w * rate < short then w = w + 1 end -- an exact ceiling, however the division rounded
    if w > wait then wait, which = w, i end
  end
end
if mode == 'force' or (mode == 'take' and wait == 0) then
  local ttl = 0
  for i = 1, 2 do
    local rate = rates[i]
    if rate > 0 then
      local level = math.min(rate * unit, levels[i] - needs[i])
      local written, at = string.format('%.0f', level), string.format('%.0f', now)
      redis.call('HSET', key, 'l' .. i, written, 's' .. i, at, 'r' .. i, rate)
      ttl = math.max(ttl, math.ceil((rate * unit - level) / rate / 1000))
    end
  end
  redis.call('PEXPIRE', key, ttl + 1000)
end
return {wait, which, levels[1], levels[2]}
"""


class RedisStore(Store):
    """Buckets in Redis under `models:limit:<key>`, shared by every process using that server.

    A key expires once its buckets would be full again, since a missing key reads as full.
    The async path runs this sync client in a worker thread (`asyncio.to_thread`) rather than
    using `redis.asyncio`: one connection pool per store (which redis-py already makes safe
    across `fork`), no client per event loop to track and close, and the loop never blocks on
    the socket; the thread hop costs tens of microseconds, little next to an LLM call.
    """

    blocking = True

    def __init__(self, url: str) -> None:
        try:
            import redis
        except ImportError as exc:
            raise ConfigurationError(
                f"store={redacted(url)!r} needs the redis package: pip install 'models[redis]'"
            ) from exc
        self.url = url
        # Without timeouts an unreachable server would hang every call; the URL may set others.
        pool = redis.ConnectionPool.from_url(
            url, socket_timeout=_DEFAULT_TIMEOUT, socket_connect_timeout=_DEFAULT_TIMEOUT
        )
        self._longest = float(pool.connection_kwargs.get("socket_timeout") or _DEFAULT_TIMEOUT)
        pool.connection_class = _bounded(pool.connection_class)  # tcp, tls or unix, as the URL chose
        self._script = redis.Redis(connection_pool=pool).register_script(_LUA)
        self._errors = redis.RedisError

    def apply(
        self,
        key: str,
        rpm: int | None,
        tpm: int | None,
        requests: int,
        tokens: int,
        mode: str,
        timeout: float | None = None,
    ) -> Outcome:
        """One run of the script, taking at most `timeout` seconds (connecting included), else
        `LimitStoreError`; redis-py's connections retry nothing unless the URL asks them to."""
        seconds = self._longest if timeout is None else max(min(timeout, self._longest), _SHORTEST)
        deadline = _DEADLINE.set(time.monotonic() + seconds)
        try:
            reply = self._script(keys=[f"models:limit:{key}"], args=[rpm or 0, tpm or 0, requests, tokens, mode])
        except self._errors as exc:  # not a redis traceback from deep inside the call path
            raise LimitStoreError(
                f"The rate-limit store {redacted(self.url)} failed within {seconds:.3f} s ({type(exc).__name__}: "
                f"{exc}). Check that Redis is up, or set the limit without store= to keep it in this process."
            ) from exc
        finally:
            _DEADLINE.reset(deadline)
        wait, which, rpm_level, tpm_level = (int(value) for value in reply)
        return wait, which, rpm_level, tpm_level

    def __repr__(self) -> str:
        return redacted(self.url)


def _bounded(connection_class: Any) -> Any:
    """`connection_class` with its connecting and reading bounded by the running operation's deadline
    (`RedisStore.apply` sets it), so a hung server holds a call no longer than its timeout. Works
    through the connection's socket (`_sock`, its name in every redis-py since 2.x): `read_response`
    takes a timeout only since redis-py 7."""

    class Bounded(connection_class):  # type: ignore[misc]
        def connect(self) -> None:  # redis-py < 6 connects here; later versions go on below
            _connect_within(self)
            super().connect()

        def connect_check_health(self, *args: Any, **kwargs: Any) -> None:
            _connect_within(self)
            super().connect_check_health(*args, **kwargs)

        def read_response(self, *args: Any, **kwargs: Any) -> Any:
            seconds, sock = _seconds_left(), getattr(self, "_sock", None)
            if seconds is not None and sock is not None:
                sock.settimeout(seconds)
            return super().read_response(*args, **kwargs)

    Bounded.__name__ = Bounded.__qualname__ = f"Bounded{connection_class.__name__}"
    return Bounded


def _connect_within(connection: Any) -> None:
    """The connect, then the handshake's reads (AUTH, SELECT, ...), within the deadline."""
    seconds = _seconds_left()
    if seconds is not None:
        connection.socket_connect_timeout = connection.socket_timeout = seconds


def _seconds_left() -> float | None:
    deadline = _DEADLINE.get()
    return None if deadline is None else max(deadline - time.monotonic(), 0.001)


def redacted(url: str) -> str:
    """A store URL safe to print: the password (in the user part or the query) becomes ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rsplit('@', 1)[1]}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = urlencode([(k, "***" if k == "password" else v) for k, v in pairs], safe="*")
    return f"{parts.scheme}://{netloc}{parts.path}{'?' if query else ''}{query}"  # urlunsplit would drop unix:'s //
