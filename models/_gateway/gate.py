"""Gateway keys at work: who may call, which models, within what budget and rate (SPEC §14).

`Gatekeeper.admit` runs before a request is sent: the key (401), the model (403), the key's rate
limits (429, with `Retry-After`), then its budget (429 `insufficient_quota`), reserving the most the
request can cost by the library's own bound (`input_bound`, `output_bound`, `Price.max_cost_units`).
`settle` turns the reservation into the exact cost once the call is done, or releases it. Budgets,
usage totals and buckets live in a `SpendStore`: this worker's memory, or Redis when
`MODELS_REDIS_URL` is set, so that every worker and host shares them.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._call.budget import estimate_tokens, input_bound, output_bound
from .._call.limit_stores import US
from .._costs import COST_SCALE
from ..errors import ConfigurationError, LimitStoreError
from ..providers._base import Request
from .keys import GatewayKey, digest, read_keys
from .spend import COUNTS, MemorySpend, SpendStore, Verdict, cost_units

if TYPE_CHECKING:
    from .._catalog.info import ModelInfo
    from .._facade.api import ModelsAPI
    from .._types import Usage
    from .settings import GatewaySettings

__all__ = ["ANONYMOUS", "UNAUTHENTICATED", "Admission", "Gatekeeper", "GatewayError"]

ANONYMOUS = "anonymous"  # the one key of a gateway serving without keys (`--no-auth`)
UNAUTHENTICATED = "unauthenticated"  # the key label of a request refused for its key
_log = logging.getLogger("models.gateway")


class GatewayError(Exception):
    """A request refused by the gateway, answered in OpenAI's error shape with `status`.

    `key` and `model` are the labels to count it under: the key's name once known (else
    "unauthenticated") and the canonical model once resolved (else "other")."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        key: str = UNAUTHENTICATED,
        model: str = "other",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}
        self.key = key
        self.model = model


class Admission:
    """One admitted request: the key's name (never its secret), the canonical model, what was reserved."""

    __slots__ = ("key", "model", "reserved")

    def __init__(self, key: str, model: str, reserved: Hold | None = None) -> None:
        self.key = key
        self.model = model
        self.reserved = reserved


class Hold:
    """What `admit` took for a request: `units` in `account` (None: no budget) under `ticket`, and
    `tokens` from the key's tokens-per-minute bucket (0: no such limit); `label` is the model as the
    usage totals count it (the library's metric label: beyond 100 ids outside the catalog, "other",
    so that clients cannot grow the totals without bound by making model names up)."""

    __slots__ = ("account", "label", "ticket", "tokens", "units")

    def __init__(
        self, label: str, account: str | None = None, ticket: str | None = None, units: int = 0, tokens: int = 0
    ) -> None:
        self.label = label
        self.account = account
        self.ticket = ticket
        self.units = units
        self.tokens = tokens


class Gatekeeper:
    """Checks a request's key, model, budget and rate limits; settles what the call cost.

    Without keys configured it refuses to start, unless `settings.no_auth` lets every request in as
    the key "anonymous" (no budget, no limits)."""

    def __init__(self, api: ModelsAPI, settings: GatewaySettings) -> None:
        self.api = api
        self.settings = settings
        service = api._service
        self._service = service
        keys = read_keys(
            settings.keys, settings.keys_file, lambda m: service.models.resolve(m).id, service.models.provider_name
        )
        if settings.no_auth and keys:
            raise ConfigurationError(
                "Gateway keys are configured and so is --no-auth (MODELS_GATEWAY_NO_AUTH): keep one."
            )
        if not keys and not settings.no_auth:
            raise ConfigurationError(
                "No gateway keys: set MODELS_GATEWAY_KEYS (a JSON list like "
                '[{"name": "alice", "key": "<a secret of 16+ characters>"}]) or MODELS_GATEWAY_KEYS_FILE (--keys), '
                "or serve without keys with --no-auth (MODELS_GATEWAY_NO_AUTH=1) where every client is trusted."
            )
        self.keys: tuple[GatewayKey, ...] = keys or (GatewayKey(ANONYMOUS, b"", admin=True),)
        self.key_names: tuple[str, ...] = tuple(key.name for key in self.keys)
        self._named = {key.name: key for key in self.keys}
        self.store: SpendStore
        if settings.redis_url:
            from .spend_redis import RedisSpend

            self.store = RedisSpend(settings.redis_url)
        else:
            self.store = MemorySpend()

    # -- who -------------------------------------------------------------------------------
    def _key(self, authorization: str | None) -> GatewayKey:
        """The key an `Authorization: Bearer <secret>` header presents, or `GatewayError` 401."""
        if self.settings.no_auth:
            return self.keys[0]
        scheme, _, secret = (authorization or "").strip().partition(" ")
        if not secret.strip() or scheme.lower() != "bearer":
            raise GatewayError(
                401,
                "You didn't provide an API key. Send your gateway key in an Authorization header "
                "(Authorization: Bearer <key>; the openai SDK's api_key does this).",
                code="invalid_api_key",
            )
        presented = digest(secret.strip())
        found = None
        for key in self.keys:  # every key compared, in constant time each: no early exit to time
            if hmac.compare_digest(key.digest, presented):
                found = key
        if found is None:
            raise GatewayError(
                401, "Incorrect API key provided. Ask the gateway's operator for a key.", code="invalid_api_key"
            )
        return found

    async def authenticate(self, authorization: str | None, *, admin: bool = False) -> str:
        """The name of the key in `authorization` ("Bearer <secret>"), or `GatewayError` (401 no/bad key,
        403 `admin` asked of a key that is not: `/api/usage`, `/api/calls`, the page's data)."""
        key = self._key(authorization)
        if admin and not key.admin:
            raise GatewayError(
                403,
                f'The key {key.name!r} is not an admin key; usage and recent calls need one ("admin": true).',
                code="admin_required",
                key=key.name,
            )
        return key.name

    async def permits(self, authorization: str | None) -> Callable[[str, str], bool]:
        """What the key in `authorization` may call, as `allows(model_id, provider)` (`/v1/models` lists
        only those), or `GatewayError` 401 for no or a bad key."""
        return self._key(authorization).allows

    # -- before a request ------------------------------------------------------------------
    async def admit(
        self,
        authorization: str | None,
        model: str,
        *,
        prompt: Sequence[Any] | None = None,
        inputs: Sequence[str] | None = None,
        max_tokens: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Admission:
        """The request's admission, or `GatewayError` (401 no/bad key, 403 model not allowed, 429 over
        budget or rate limit) before anything is sent. `prompt` is a chat request's messages (OpenAI's
        shape), `inputs` an embedding request's texts; `options` the request's other fields (tools,
        response_format, n: they count towards its size). An unknown model raises the library's
        `ModelNotFoundError`."""
        key = self._key(authorization)
        info = self._service.target(model).info
        if not key.allows(info.id, info.provider):
            raise GatewayError(
                403,
                f"The key {key.name!r} may not call {info.id}. "
                "Ask the gateway's operator to add it to the key's models.",
                code="model_not_allowed",
                param="model",
                key=key.name,
                model=info.id,
            )
        if key.rpm is None and key.tpm is None and key.budget_units is None:
            return Admission(key.name, info.id, Hold(self._service._model_label(info)))
        request = _request(info, prompt, inputs, max_tokens, options)
        units = 0 if key.budget_units is None else self._bound(key, info, request, inputs)  # before any store
        rate = None
        if key.rpm is not None or key.tpm is not None:
            estimate = sum(len(text) // 4 + 1 for text in inputs) if inputs is not None else estimate_tokens(request)
            rate = (key.rpm, key.tpm, 0 if key.tpm is None else min(estimate, key.tpm))  # at most the whole bucket
        account = None if key.budget_units is None else f"{key.name}:{_period(key.period)}"
        try:
            verdict = await self.store.admit(key.name, rate, account, key.budget_units or 0, units)
        except LimitStoreError as exc:
            _log.error("models gateway: %s", exc)
            raise GatewayError(
                503,
                "The gateway's budget store is unavailable; try again shortly.",
                "api_error",
                "store_unavailable",
                key=key.name,
                model=info.id,
            ) from None
        if not verdict.ok:
            raise self._refusal(key, info.id, verdict, units, inputs is not None)
        hold = Hold(self._service._model_label(info), account, verdict.ticket, units, 0 if rate is None else rate[2])
        return Admission(key.name, info.id, hold)

    def _refusal(self, key: GatewayKey, model: str, verdict: Verdict, units: int, embeds: bool) -> GatewayError:
        """429: over a rate limit (with `Retry-After`), else over budget (`insufficient_quota`)."""
        if verdict.wait:
            seconds = -(-verdict.wait // US)
            what, limit = ("requests", key.rpm) if verdict.which == 1 else ("tokens", key.tpm)
            return GatewayError(
                429,
                f"Rate limit reached for the key {key.name!r} on {what} per minute: limit {limit:,}. "
                f"Please try again in {seconds}s.",
                what,
                "rate_limit_exceeded",
                headers={"Retry-After": str(seconds)},
                key=key.name,
                model=model,
            )
        basis, fix = (
            ("its texts", "Send fewer or shorter texts")
            if embeds
            else ("its prompt and max_tokens", "Lower max_tokens")
        )
        return GatewayError(
            429,
            f"The key {key.name!r} is over its budget: ${_usd(verdict.spent)} spent and ${_usd(verdict.reserved)} "
            f"reserved by requests in flight, of ${_usd(key.budget_units or 0)}{_per(key.period)}; this request may "
            f"cost up to ${_usd(units)} ({basis} for {model}). Nothing was sent. {fix}, or ask the gateway's "
            "operator to raise the budget.",
            "insufficient_quota",
            "insufficient_quota",
            key=key.name,
            model=model,
        )

    def _bound(self, key: GatewayKey, info: ModelInfo, request: Request, inputs: Sequence[str] | None) -> int:
        """The most the request can cost in 1e-15 USD, or `GatewayError`: a model with no price can cost
        anything, so a key with a budget may not call it; nor send a request nothing bounds."""
        price = self._service.prices.current(info)[0]
        if price is None:
            raise GatewayError(
                403,
                f"{info.id} has no price, so the key {key.name!r}, which has a budget, may not call it. Ask the "
                "gateway's operator to price it (MODELS_COSTS_JSON) or to use a key without a budget.",
                code="model_not_priced",
                param="model",
                key=key.name,
                model=info.id,
            )
        if inputs is not None:  # a text's UTF-8 bytes bound its tokens, and so does the model's window
            window = info.context_window
            sizes = (len(text.encode()) for text in inputs)
            return price.max_cost_units(sum(sizes) if window is None else sum(min(n, window) for n in sizes), 0)
        try:
            most_in = input_bound(request)
        except (AttributeError, TypeError, KeyError):  # a malformed prompt: the call refuses it, the window bounds it
            most_in = info.context_window
        most_out = output_bound(request)
        if most_in is None or most_out is None:
            raise GatewayError(
                400,
                f"The key {key.name!r} has a budget and this request has no upper bound on its cost: "
                + (
                    f"{info.id}'s maximum output is unknown. Pass max_tokens."
                    if most_out is None
                    else f"its prompt has a part that is not text and {info.id}'s context window is unknown."
                ),
                code="unbounded_cost",
                param="max_tokens" if most_out is None else "messages",
                key=key.name,
                model=info.id,
            )
        return price.max_cost_units(most_in, most_out)

    # -- after a request -------------------------------------------------------------------
    async def settle(self, admission: Admission, usage: Usage | None) -> None:
        """Charge what the call cost (`usage` None: it failed, release what was reserved). Never raises:
        the call has happened; a store that fails is logged, and its reservation lapses after its lease."""
        hold = admission.reserved
        if hold is None:
            return
        if usage is None:
            units, tokens = 0, None
        else:
            # priced but the usage is unknown (a stream cut short): it keeps what it reserved
            exact = cost_units(usage)
            units = exact if exact is not None else hold.units if usage.price_source != "none" else 0
            tokens = (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
        rate = None
        key = self._named.get(admission.key)
        if hold.tokens and key is not None:  # the tokens used, for the tokens-per-minute bucket
            rate = (key.rpm, key.tpm, (0 if tokens is None else tokens[0] + tokens[1]) - hold.tokens)
        try:
            await self.store.settle(hold.account, hold.ticket, units, admission.key, hold.label, tokens, rate)
        except Exception:
            _log.exception(
                "models gateway: settling a request of the key %r to %s failed", admission.key, admission.model
            )

    # -- reports ---------------------------------------------------------------------------
    async def usage(self) -> dict[str, Any]:
        """Spend and tokens per key and model, for `/api/usage`: shared by every worker with Redis.
        Amounts are USD, each turned once from exact integer units; `spent_usd` and `reserved_usd`
        are the budget's current period (a day or month, UTC, or all time)."""
        totals = await self.store.totals()
        keys: dict[str, Any] = {}
        for key in self.keys:
            rows = totals.get(key.name, {})
            entry: dict[str, Any] = {"budget_usd": None, "budget_period": key.period}
            if key.budget_units is not None:
                spent, reserved = await self.store.balance(f"{key.name}:{_period(key.period)}")
                entry.update(
                    budget_usd=key.budget_units / COST_SCALE,
                    spent_usd=spent / COST_SCALE,
                    reserved_usd=reserved / COST_SCALE,
                )
            entry.update(_report([sum(column) for column in zip(*rows.values())] if rows else [0] * len(COUNTS)))
            entry["models"] = {model: _report(row) for model, row in sorted(rows.items())}
            keys[key.name] = entry
        return {"keys": keys}

    async def aclose(self) -> None:
        """Close connections (Redis) at shutdown."""
        await self.store.aclose()


def _report(row: list[int]) -> dict[str, Any]:
    report: dict[str, Any] = dict(zip(COUNTS[:5], row[:5]))
    report["cost_usd"] = row[5] / COST_SCALE
    return report


def _request(
    info: ModelInfo,
    prompt: Sequence[Any] | None,
    inputs: Sequence[str] | None,
    max_tokens: int | None,
    options: Mapping[str, Any] | None,
) -> Request:
    """The request as the library's bounds read it: every message with a `content`, options with max_tokens."""
    messages: list[Any] = [
        m if not isinstance(m, Mapping) or "content" in m else {**m, "content": None} for m in prompt or ()
    ]
    fields = dict(options or {})
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    return Request(info, messages, None, fields, 0.0)


def _period(period: str | None) -> str:
    """The budget's current period: "2026-12-03" (a day), "2026-12" (a month) or "all", UTC."""
    if period is None:
        return "all"
    today = _dt.datetime.now(_dt.timezone.utc).date()
    return today.isoformat() if period == "day" else today.isoformat()[:7]


def _per(period: str | None) -> str:
    return "" if period is None else f" per {period} (UTC)"


def _usd(units: int) -> str:
    """Exact USD, to the millionth at least: "0.000150", "0.00000032" (never a tiny amount shown as 0)."""
    whole, fraction = divmod(units, COST_SCALE)
    return f"{whole}.{str(fraction).zfill(15).rstrip('0').ljust(6, '0')}"
