"""How one gateway runs: `GatewaySettings`, from `models serve`'s options or the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ConfigurationError

__all__ = ["DEFAULT_MAX_BODY", "GatewaySettings"]

DEFAULT_MAX_BODY = 20 * 1024 * 1024  # bytes: a few inline images; MODELS_GATEWAY_MAX_BODY or --max-body


@dataclass(frozen=True)
class GatewaySettings:
    """How one gateway runs, from `models serve`'s options or the environment."""

    keys_file: str | None = None  # MODELS_GATEWAY_KEYS_FILE, --keys
    keys: str | None = None  # MODELS_GATEWAY_KEYS (the keys as text)
    redis_url: str | None = None  # MODELS_REDIS_URL, --redis
    max_body: int = DEFAULT_MAX_BODY  # MODELS_GATEWAY_MAX_BODY, --max-body
    recent_calls: int = 200  # kept in memory for the page and /api/calls; MODELS_GATEWAY_RECENT_CALLS
    no_auth: bool = False  # MODELS_GATEWAY_NO_AUTH=1, --no-auth: serve without keys (every client trusted)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """The settings in `environ` (default `os.environ`): how `serve` hands its options to every
        worker. A number that is not one raises `ConfigurationError` naming the variable."""
        env = os.environ if environ is None else environ
        return cls(
            keys_file=env.get("MODELS_GATEWAY_KEYS_FILE") or None,
            keys=env.get("MODELS_GATEWAY_KEYS") or None,
            redis_url=env.get("MODELS_REDIS_URL") or None,
            max_body=_positive(env, "MODELS_GATEWAY_MAX_BODY", DEFAULT_MAX_BODY),
            recent_calls=_positive(env, "MODELS_GATEWAY_RECENT_CALLS", 200),
            no_auth=env.get("MODELS_GATEWAY_NO_AUTH", "").strip() == "1",
        )

    def to_env(self) -> dict[str, str]:
        """These settings as the variables `from_env` reads (unset ones left out)."""
        env = {"MODELS_GATEWAY_MAX_BODY": str(self.max_body), "MODELS_GATEWAY_RECENT_CALLS": str(self.recent_calls)}
        for name, value in (
            ("MODELS_GATEWAY_KEYS_FILE", self.keys_file),
            ("MODELS_GATEWAY_KEYS", self.keys),
            ("MODELS_REDIS_URL", self.redis_url),
        ):
            if value is not None:
                env[name] = value
        if self.no_auth:
            env["MODELS_GATEWAY_NO_AUTH"] = "1"
        return env


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name}={text!r}: give a whole number greater than 0.")
    return value
