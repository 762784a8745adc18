"""The gateway's public entry points (`pip install 'models[gateway]'`): `create_app` for your own
ASGI server, `serve` for what `models serve` runs.

STUB: the gateway-core helper fills it (contract in /work/contract18.md).
"""
