"""`models serve`: the gateway (SPEC §14), which needs the `gateway` extra (Starlette, uvicorn)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["run"]

MISSING = "models: models serve needs starlette and uvicorn: pip install 'models[gateway]'"


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; without the extra, one line naming the install and exit 1."""
    try:
        # Imported here, though the gateway imports them itself, so that a missing one is found before
        # anything starts (the gateway imports Starlette only in the app, after saying where it listens).
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401

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
        no_auth=args.no_auth,
    )
    return 0
