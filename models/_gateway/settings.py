"""How one gateway runs: `GatewaySettings`, from `models serve`'s options or the environment."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_BODY", "GatewaySettings"]

DEFAULT_MAX_BODY = 20 * 1024 * 1024  # bytes: a few inline images; MODELS_GATEWAY_MAX_BODY or --max-body


@dataclass(frozen=True)
class GatewaySettings:
    """How one gateway runs, from `models serve`'s options or the environment."""

    keys_file: str | None = None  # MODELS_GATEWAY_KEYS_FILE, --keys
    keys: str | None = None  # MODELS_GATEWAY_KEYS (the keys as text)
    redis_url: str | None = None  # MODELS_REDIS_URL, --redis
    max_body: int = DEFAULT_MAX_BODY
    recent_calls: int = 200  # kept in memory for the page and /api/calls
    no_auth: bool = False  # MODELS_GATEWAY_NO_AUTH=1, --no-auth: serve without keys (every client trusted)
