"""`models serve`: the gateway on uvicorn, one or several worker processes."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import replace

from .settings import GatewaySettings

__all__ = ["serve"]

APP = "models._gateway.app:create_app_from_env"
"""What every worker imports and calls (uvicorn's `factory=True`): the app, built from the environment."""


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    keys_file: str | None = None,
    redis_url: str | None = None,
    max_body: int | None = None,
    no_auth: bool = False,
) -> None:
    """Serve the gateway until interrupted. The options win over the environment (`GatewaySettings.from_env`)
    and reach the workers as environment variables. With several workers, prometheus-client's multiprocess
    mode shares `/metrics` through `PROMETHEUS_MULTIPROC_DIR` (a fresh temporary directory when unset,
    removed at exit). The key configuration is read once here first, so a mistake in it stops the server
    before any worker starts; what is printed names the keys, never their secrets."""
    import uvicorn

    from .._facade.api import ModelsAPI
    from .gate import Gatekeeper

    settings = GatewaySettings.from_env()
    settings = replace(
        settings,
        keys_file=keys_file or settings.keys_file,
        redis_url=redis_url or settings.redis_url,
        max_body=max_body or settings.max_body,
        no_auth=no_auth or settings.no_auth,
    )
    os.environ.update(settings.to_env())
    names = Gatekeeper(ModelsAPI(), settings).key_names
    metrics_dir = None
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="models-gateway-metrics-")
    print(
        f"models gateway: http://{host}:{port}/v1 ({workers} worker{'s' if workers > 1 else ''}); "
        f"keys: {', '.join(names) or 'none'}",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level="info")
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
