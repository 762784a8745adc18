"""`RedisSpend`: budgets, usage totals and rate-limit buckets in Redis, shared by every worker and host.

Each operation is one Lua script, so a reservation is checked and taken atomically however many
workers reserve at once, and `redis.asyncio` keeps the event loop free while it runs. Lua numbers
are doubles, exact only below 2**53, and an amount in 1e-15 USD passes that at $9; so every amount
is kept as two exact halves, whole dollars and the 1e-15 USD below one (`d`, `f`), with the carry
done in the script. A reservation whose worker died is given back after `lease` seconds (on the
server's clock), so a crash cannot hold a budget forever.
"""

from __future__ import annotations

import os
from typing import Any

from .._call.limit_stores import Outcome
from .._call.limits_redis import _LUA as _BUCKETS  # the library's token buckets, the same rule
from .._call.limits_redis import redacted
from .._costs import COST_SCALE
from ..errors import ConfigurationError, LimitStoreError
from .spend import COUNTS, Balance, SpendStore, Totals

__all__ = ["RedisSpend"]

_PREFIX = "models:gateway:"
_TIMEOUT = 5.0  # seconds for a connect or a reply: an unreachable Redis refuses requests, it does not hang them
_LEASE = 3600  # seconds a reservation is held for a request that never settles (its worker died)
_KEPT = {2: 3 * 86400, 1: 62 * 86400}  # seconds a day's ("2026-12-03") or a month's ("2026-12") account is kept

_COMMON = """
local S = 1000000000000000
local function add(key, a, b, d, f)
  local v = redis.call('HMGET', key, a, b)
  d = (tonumber(v[1]) or 0) + d
  f = (tonumber(v[2]) or 0) + f
  if f >= S then f = f - S; d = d + 1 elseif f < 0 then f = f + S; d = d - 1 end
  redis.call('HSET', key, a, string.format('%.0f', d), b, string.format('%.0f', f))
end
local function release(account, lease, ticket)
  local held = redis.call('HGET', account, 't:' .. ticket)
  if held then
    local d, f = string.match(held, '(%d+):(%d+)')
    add(account, 'rd', 'rf', -tonumber(d), -tonumber(f))
    redis.call('HDEL', account, 't:' .. ticket)
  end
  redis.call('ZREM', lease, ticket)
end
local function keep(ttl)
  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl); redis.call('EXPIRE', KEYS[2], ttl) end
end
"""

# KEYS: account, lease. ARGV: limit d, f; units d, f; ticket; lease ms; ttl s (0: none).
_RESERVE = (
    _COMMON
    + """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, old in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do release(KEYS[1], KEYS[2], old) end
local v = redis.call('HMGET', KEYS[1], 'sd', 'sf', 'rd', 'rf')
local sd, sf, rd, rf = tonumber(v[1]) or 0, tonumber(v[2]) or 0, tonumber(v[3]) or 0, tonumber(v[4]) or 0
local d, f = sd + rd + tonumber(ARGV[3]), sf + rf + tonumber(ARGV[4])
while f >= S do f = f - S; d = d + 1 end
local ld, lf = tonumber(ARGV[1]), tonumber(ARGV[2])
if d > ld or (d == ld and f > lf) then return {0, sd, sf, rd, rf} end
add(KEYS[1], 'rd', 'rf', tonumber(ARGV[3]), tonumber(ARGV[4]))
redis.call('HSET', KEYS[1], 't:' .. ARGV[5], ARGV[3] .. ':' .. ARGV[4])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5])
keep(tonumber(ARGV[7]))
return {1, sd, sf, rd, rf}
"""
)

# KEYS: account, lease, usage. ARGV: has account (1/0); ticket ('' none); units d, f; model; ok (1/0);
# input, output, cached input tokens; ttl s.
_SETTLE = (
    _COMMON
    + """
local d, f = tonumber(ARGV[3]), tonumber(ARGV[4])
if ARGV[1] == '1' then
  if ARGV[2] ~= '' then release(KEYS[1], KEYS[2], ARGV[2]) end
  add(KEYS[1], 'sd', 'sf', d, f)
  keep(tonumber(ARGV[10]))
end
local m = ARGV[5] .. '|'
if ARGV[6] == '1' then
  redis.call('HINCRBY', KEYS[3], m .. 'requests', 1)
  redis.call('HINCRBY', KEYS[3], m .. 'input_tokens', ARGV[7])
  redis.call('HINCRBY', KEYS[3], m .. 'output_tokens', ARGV[8])
  redis.call('HINCRBY', KEYS[3], m .. 'cached_input_tokens', ARGV[9])
else
  redis.call('HINCRBY', KEYS[3], m .. 'errors', 1)
end
add(KEYS[3], m .. 'cost_d', m .. 'cost_f', d, f)
return 1
"""
)


class RedisSpend(SpendStore):
    """The store in Redis at `url` (`MODELS_REDIS_URL`), under `models:gateway:*`."""

    def __init__(self, url: str, lease: float = _LEASE) -> None:
        try:
            import redis.asyncio
        except ImportError as exc:
            raise ConfigurationError(
                f"MODELS_REDIS_URL={redacted(url)!r} needs the redis package: pip install 'models[gateway]'"
            ) from exc
        self.url = url
        self._lease_ms = round(lease * 1000)
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT, decode_responses=True
        )
        self._reserve = self._client.register_script(_RESERVE)
        self._settle = self._client.register_script(_SETTLE)
        self._buckets = self._client.register_script(_BUCKETS)
        self._errors = redis.RedisError

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except (self._errors, OSError) as exc:  # a clear error, not a redis traceback from inside a request
            raise LimitStoreError(
                f"The gateway's store {redacted(self.url)} failed ({type(exc).__name__}: {exc}). "
                "Check that Redis is up."
            ) from exc

    async def reserve(self, account: str, limit: int, units: int) -> tuple[str | None, Balance]:
        ticket = os.urandom(8).hex()
        reply = await self._run(
            self._reserve,
            [f"{_PREFIX}budget:{account}", f"{_PREFIX}lease:{account}"],
            [*divmod(limit, COST_SCALE), *divmod(units, COST_SCALE), ticket, self._lease_ms, _ttl(account)],
        )
        ok, sd, sf, rd, rf = (int(value) for value in reply)
        return (ticket if ok else None), (sd * COST_SCALE + sf, rd * COST_SCALE + rf)

    async def settle(
        self,
        account: str | None,
        ticket: str | None,
        units: int,
        key: str,
        model: str,
        tokens: tuple[int, int, int] | None,
    ) -> None:
        name = account or "-"
        await self._run(
            self._settle,
            [f"{_PREFIX}budget:{name}", f"{_PREFIX}lease:{name}", f"{_PREFIX}usage:{key}"],
            [
                "0" if account is None else "1",
                ticket or "",
                *divmod(units, COST_SCALE),
                model,
                "0" if tokens is None else "1",
                *(tokens or (0, 0, 0)),
                0 if account is None else _ttl(account),
            ],
        )

    async def balance(self, account: str) -> Balance:
        try:
            sd, sf, rd, rf = await self._client.hmget(f"{_PREFIX}budget:{account}", ["sd", "sf", "rd", "rf"])
        except (self._errors, OSError) as exc:
            raise LimitStoreError(f"The gateway's store {redacted(self.url)} failed ({type(exc).__name__}).") from exc
        return int(sd or 0) * COST_SCALE + int(sf or 0), int(rd or 0) * COST_SCALE + int(rf or 0)

    async def totals(self) -> Totals:
        totals: Totals = {}
        start = len(f"{_PREFIX}usage:")
        try:
            async for name in self._client.scan_iter(match=f"{_PREFIX}usage:*", count=100):
                fields = await self._client.hgetall(name)
                rows = totals[str(name)[start:]] = {}
                for field, value in fields.items():
                    model, what = str(field).rsplit("|", 1)
                    row = rows.setdefault(model, [0] * len(COUNTS))
                    if what == "cost_d":
                        row[5] += int(value) * COST_SCALE
                    elif what == "cost_f":
                        row[5] += int(value)
                    else:
                        row[COUNTS.index(what)] = int(value)
        except (self._errors, OSError) as exc:
            raise LimitStoreError(f"The gateway's store {redacted(self.url)} failed ({type(exc).__name__}).") from exc
        return totals

    async def rate(self, key: str, rpm: int | None, tpm: int | None, requests: int, tokens: int, mode: str) -> Outcome:
        reply = await self._run(self._buckets, [f"{_PREFIX}rate:{key}"], [rpm or 0, tpm or 0, requests, tokens, mode])
        wait, which, rpm_level, tpm_level = (int(value) for value in reply)
        return wait, which, rpm_level, tpm_level

    async def aclose(self) -> None:
        await self._client.aclose()

    def __repr__(self) -> str:
        return redacted(self.url)


def _ttl(account: str) -> int:
    """Seconds to keep `account` ("name:2026-12-03", "name:2026-12", "name:all": kept for good)."""
    return _KEPT.get(account.rsplit(":", 1)[1].count("-"), 0)
