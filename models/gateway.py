"""The gateway's public entry points (`pip install 'models[gateway]'`): `create_app` for your own
ASGI server, `serve` for what `models serve` runs (SPEC §14)."""

from __future__ import annotations

from ._gateway.app import create_app
from ._gateway.server import serve
from ._gateway.settings import GatewaySettings

__all__ = ["GatewaySettings", "create_app", "serve"]
