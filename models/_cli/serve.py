"""`models serve`: the gateway (SPEC §14), which needs the `gateway` extra (Starlette, uvicorn)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["run"]

MISSING = "models: models serve needs starlette and uvicorn: pip install 'models[gateway]'"


def run(args: argparse.Namespace) -> int:
    try:
        from .._gateway.server import serve
    except ImportError:
        print(MISSING, file=sys.stderr)
        return 1
    serve(
        host=args.host,
        port=args.port,
        workers=args.workers,
        keys_file=args.keys,
        redis_url=args.redis,
        max_body=args.max_body,
    )
    return 0
