"""Gateway keys from `MODELS_GATEWAY_KEYS` or a file: who may call, which models, what budget and rate.

A key is a JSON object: `name`, its secret as `key` or as
`key_sha256` (so the file need not hold secrets), and optionally `budget_usd` with `budget_period`
("day" or "month", UTC; absent: the budget is for all time), `rpm`, `tpm`, `models` (canonical ids,
aliases, `provider/*`, or `*`; absent: every model) and `admin` (may read `/api/usage` and the page's
data). Every mistake is a `ConfigurationError` naming the source, the key (by name or index) and
the field; a secret is never echoed.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._costs import COST_SCALE, parse_usd
from ..errors import ConfigurationError

__all__ = ["MAX_BUDGET_USD", "MIN_SECRET", "PERIODS", "GatewayKey", "digest", "parse_keys", "read_keys"]

MIN_SECRET = 16  # characters: a key that guards paid models must not be guessable
MAX_BUDGET_USD = 10**15  # far more money than there is; keeps each half of a Redis amount exact in Lua
PERIODS = ("day", "month")
_FIELDS = ("name", "key", "key_sha256", "budget_usd", "budget_period", "rpm", "tpm", "models", "admin")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")  # a metric label value and a Redis key part
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class GatewayKey:
    """One configured key. `digest` is the SHA-256 of its secret; `budget_units` is exact (1e-15 USD);
    `models` holds canonical ids and provider names (`provider/*`), None for every model."""

    name: str
    digest: bytes = field(repr=False)
    budget_units: int | None = None
    period: str | None = None
    rpm: int | None = None
    tpm: int | None = None
    models: frozenset[str] | None = None
    providers: frozenset[str] = frozenset()
    admin: bool = False

    def allows(self, model: str, provider: str) -> bool:
        """Whether this key may call the canonical `model` of `provider`."""
        return self.models is None or model in self.models or provider in self.providers


def digest(secret: str) -> bytes:
    """The SHA-256 of a secret, what keys are compared by (`hmac.compare_digest`)."""
    return hashlib.sha256(secret.encode()).digest()


Resolve = Callable[[str], str]
"""A model id (or alias) to its canonical id; raises for one that names no model."""


def read_keys(text: str | None, path: str | None, resolve: Resolve, provider: Resolve) -> tuple[GatewayKey, ...]:
    """The keys from `MODELS_GATEWAY_KEYS` (`text`) or the JSON file at `path`; both given is a mistake,
    as one would silently hide the other."""
    if text is not None and path is not None:
        raise ConfigurationError(
            "Both MODELS_GATEWAY_KEYS and a keys file (MODELS_GATEWAY_KEYS_FILE or --keys) are set: keep one."
        )
    if path is not None:
        source = f"the keys file {path}"
        try:
            with open(path, "rb") as file:
                raw = file.read()
        except OSError as exc:
            raise ConfigurationError(f"Cannot read {source}: {exc.strerror or exc}.") from None
        data = _json(raw, source)
        return parse_keys(data, source, resolve, provider)
    if text is None:
        return ()
    return parse_keys(_json(text, "MODELS_GATEWAY_KEYS"), "MODELS_GATEWAY_KEYS", resolve, provider)


def _json(raw: str | bytes, source: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:  # not the text itself: it may hold secrets
        raise ConfigurationError(f"{source} is not valid JSON ({type(exc).__name__} at {_where(exc)}).") from None


def _where(exc: ValueError) -> str:
    line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
    return f"line {line}, column {column}" if line is not None else "its start"


def parse_keys(data: Any, source: str, resolve: Resolve, provider: Resolve) -> tuple[GatewayKey, ...]:
    """The keys in `data` (a list of objects, or an object with a `keys` list), checked."""
    if isinstance(data, Mapping) and set(data) == {"keys"}:
        data = data["keys"]
    if not isinstance(data, list) or not data:
        raise ConfigurationError(
            f'{source} must be a non-empty list of keys like [{{"name": "alice", "key": "<secret>"}}], '
            f"not {type(data).__name__ if data else 'an empty one'}."
        )
    keys: list[GatewayKey] = []
    names: set[str] = set()
    digests: set[bytes] = set()
    for index, entry in enumerate(data):
        key = _key(entry, f"{source}, key {index}", resolve, provider)
        where = f"{source}, key {key.name!r}"
        if key.name in names:
            raise ConfigurationError(f"{where}: the name is used twice; each key needs its own.")
        if key.digest in digests:
            raise ConfigurationError(f"{where}: its secret is another key's too; each key needs its own.")
        names.add(key.name)
        digests.add(key.digest)
        keys.append(key)
    return tuple(keys)


def _key(entry: Any, where: str, resolve: Resolve, provider: Resolve) -> GatewayKey:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where} must be an object with a name and a key, not {type(entry).__name__}.")
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigurationError(
            f"{where}: name must be 1 to 64 letters, digits or _.@- (it is a metric label), not {_brief(name)}."
        )
    where = f"{where.rsplit(', key ', 1)[0]}, key {name!r}"
    for unknown in set(entry) - set(_FIELDS):
        close = difflib.get_close_matches(str(unknown), _FIELDS, 1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; the fields are {', '.join(_FIELDS)}"
        raise ConfigurationError(f"{where}: unknown field {str(unknown)!r}{hint}.")
    return GatewayKey(
        name,
        _digest(entry, where),
        *_budget(entry, where),
        _rate(entry, "rpm", where),
        _rate(entry, "tpm", where),
        *_models(entry.get("models"), where, resolve, provider),
        _flag(entry.get("admin", False), where),
    )


def _digest(entry: Mapping[str, Any], where: str) -> bytes:
    secret, hashed = entry.get("key"), entry.get("key_sha256")
    if (secret is None) == (hashed is None):
        raise ConfigurationError(f"{where}: give its secret as key or its SHA-256 as key_sha256 (one of them).")
    if secret is not None:
        if not isinstance(secret, str) or len(secret) < MIN_SECRET or secret != secret.strip():
            raise ConfigurationError(
                f"{where}: key must be a string of at least {MIN_SECRET} characters without surrounding spaces "
                "(the value is not shown)."
            )
        return digest(secret)
    if not isinstance(hashed, str) or not _HEX.fullmatch(hashed.lower()):
        raise ConfigurationError(
            f'{where}: key_sha256 must be 64 hexadecimal digits (python -c "import hashlib; '
            "print(hashlib.sha256(b'<secret>').hexdigest())\")."
        )
    return bytes.fromhex(hashed)


def _budget(entry: Mapping[str, Any], where: str) -> tuple[int | None, str | None]:
    usd, period = entry.get("budget_usd"), entry.get("budget_period")
    if period is not None and period not in PERIODS:
        raise ConfigurationError(f"{where}: budget_period must be 'day' or 'month' (UTC), not {_brief(period)}.")
    if usd is None:
        if period is not None:
            raise ConfigurationError(f"{where}: budget_period is set without budget_usd.")
        return None, None
    try:
        amount = parse_usd(usd, "budget_usd")  # a string like "5.10" is exact; 5.10 as a number is not
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"{where}: {exc}.") from None
    if not amount.is_finite() or not 0 <= amount <= MAX_BUDGET_USD:
        raise ConfigurationError(f"{where}: budget_usd must be from 0 to {MAX_BUDGET_USD:.0e}, not {usd!r:.40}.")
    units = amount * COST_SCALE
    if units != units.to_integral_value():
        raise ConfigurationError(f"{where}: budget_usd {usd!r:.40} has more than 15 decimal places.")
    return int(units), period


def _rate(entry: Mapping[str, Any], name: str, where: str) -> int | None:
    value = entry.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10**8:
        raise ConfigurationError(f"{where}: {name} must be a whole number from 1 to 100,000,000, not {_brief(value)}.")
    return value


def _models(
    value: Any, where: str, resolve: Resolve, provider: Resolve
) -> tuple[frozenset[str] | None, frozenset[str]]:
    """The allowed canonical ids and providers; every entry must name a model or a provider."""
    if value is None:
        return None, frozenset()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"{where}: models must be a list of model ids or 'provider/*', not {_brief(value)}.")
    if "*" in value:
        return None, frozenset()
    ids: set[str] = set()
    providers: set[str] = set()
    for item in value:
        try:
            if item.endswith("/*"):
                providers.add(provider(item[:-2]))
            else:
                ids.add(resolve(item))
        except Exception as exc:  # ModelNotFoundError and friends: their message has the suggestions
            raise ConfigurationError(f"{where}: models entry {item!r} names no model: {exc}") from None
    return frozenset(ids), frozenset(providers)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(f"{where}: admin must be true or false, not {_brief(value)}.")
    return value


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:37]}..."
