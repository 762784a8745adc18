"""The gateway on a free 127.0.0.1 port, its models answered by the wire fake, for tests.

In this process (a thread running uvicorn on its own event loop; `state`, `api` and the registry
are inspectable)::

    with FakeLLM() as fake, GatewayServer(fake, GatewaySettings(keys=...)) as gw:
        client = gw.client("the-gateway-key")          # the real openai SDK, max_retries=0
        client.chat.completions.create(model="gpt-4o", messages=[...])
        gw.state.gate, gw.api.registry                  # the worker's state

In subprocesses, several workers (`models._gateway.server.serve`, as `models serve` runs it;
the environment carries the settings and points every provider at the fake)::

    with GatewayProcess(fake, workers=2, env={"MODELS_GATEWAY_KEYS": ..., "MODELS_REDIS_URL": ...}) as gw:
        gw.client(key)...

Both start in `__enter__` (or `start()`) and stop in `__exit__` (or `stop()`); give them a module-
scoped fixture, as starting one takes ~0.1 s (thread) or ~1-2 s (processes).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry

from models import ModelsAPI
from models._gateway.settings import GatewaySettings

from .conftest import KEYS

if TYPE_CHECKING:
    import openai

    from models._gateway.state import GatewayState

    from .fake_llm import FakeLLM

__all__ = ["GatewayProcess", "GatewayServer", "free_port", "wired_api"]

_READY = 20.0  # seconds a gateway may take to start
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy from the env


def free_port() -> int:
    """A port free on 127.0.0.1 now (for a subprocess, which must bind it itself)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wired_api(fake: FakeLLM) -> ModelsAPI:
    """A `ModelsAPI` on its own metrics registry, its three SDK providers at `fake` with the dummy keys
    of tests/conftest.py, near-zero retry back-off."""
    api = ModelsAPI(registry=CollectorRegistry(), retry_initial_delay=0.001, retry_max_delay=0.002)
    api.configure("openai", api_key=KEYS["openai"], base_url=fake.openai_base_url)
    api.configure("anthropic", api_key=KEYS["anthropic"], base_url=fake.anthropic_base_url)
    api.configure("google", api_key=KEYS["google"], base_url=fake.google_base_url)
    return api


class _Endpoint:
    url = ""

    @property
    def base_url(self) -> str:
        """What the openai SDK takes as `base_url`."""
        return self.url + "/v1"

    def client(self, key: str = "test-key", **options: Any) -> openai.OpenAI:
        """The real openai SDK pointed at the gateway, without the SDK's own retries (a test sees every answer)."""
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=key, **{"max_retries": 0, **options})

    def async_client(self, key: str = "test-key", **options: Any) -> openai.AsyncOpenAI:
        import openai

        return openai.AsyncOpenAI(base_url=self.base_url, api_key=key, **{"max_retries": 0, **options})

    def wait_ready(self, alive: Any = None) -> None:
        deadline = time.monotonic() + _READY
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise RuntimeError("the gateway stopped while starting")
            try:
                with _direct.open(self.url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"the gateway at {self.url} did not answer /healthz within {_READY} s")


class GatewayServer(_Endpoint):
    """`create_app(api=, settings=)` served by uvicorn in a thread, on a free 127.0.0.1 port.

    `api` defaults to `wired_api(fake)`; `settings` to `GatewaySettings(no_auth=True)` (no keys: every
    request is the key "anonymous")."""

    def __init__(self, fake: FakeLLM, settings: GatewaySettings | None = None, *, api: ModelsAPI | None = None) -> None:
        from models.gateway import create_app

        self.api = api if api is not None else wired_api(fake)
        self.app = create_app(
            api=self.api, settings=settings if settings is not None else GatewaySettings(no_auth=True)
        )
        self.state: GatewayState = self.app.state.gateway
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> GatewayServer:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(self.app, lifespan="on", log_level="warning", access_log=False)
        self._server = server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(server.serve(sockets=[sock])), name="gateway", daemon=True
        )
        self._thread.start()
        self.wait_ready(self._thread.is_alive)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> GatewayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class GatewayProcess(_Endpoint):
    """`models serve` (`models._gateway.server.serve`) in a subprocess with `workers` workers, its
    providers at `fake` through the environment (keys and base URLs), plus `env`. Its output goes to
    `log` (a file, for a failing test to show)."""

    def __init__(self, fake: FakeLLM, *, workers: int = 1, env: dict[str, str] | None = None, log: Path | None = None):
        self.fake = fake
        self.workers = workers
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("MODELS_", "OPENAI_", "ANTHROPIC_", "GEMINI_", "GOOGLE_"))
            },
            "OPENAI_API_KEY": KEYS["openai"],
            "OPENAI_BASE_URL": fake.openai_base_url,
            "ANTHROPIC_API_KEY": KEYS["anthropic"],
            "ANTHROPIC_BASE_URL": fake.anthropic_base_url,
            "GEMINI_API_KEY": KEYS["google"],
            "GOOGLE_GEMINI_BASE_URL": fake.google_base_url,
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
            **(env or {}),
        }
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> GatewayProcess:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        code = f"from models._gateway.server import serve; serve(port={port}, workers={self.workers})"
        out = open(self.log, "wb") if self.log is not None else subprocess.DEVNULL  # noqa: SIM115 (kept by Popen)
        self._process = subprocess.Popen(
            [sys.executable, "-c", code], env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        process = self._process
        try:
            self.wait_ready(lambda: process.poll() is None)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()  # uvicorn's supervisor stops its workers on SIGTERM
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
