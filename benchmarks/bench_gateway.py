"""The gateway's throughput and added latency (issue 18): `wrk` against the upstream fake directly, and
against `models serve` (1 and 2 workers) in front of the same fake, in one run.

    .venv/bin/python benchmarks/bench_gateway.py                 # 64 clients, 10 s per measurement
    .venv/bin/python benchmarks/bench_gateway.py --quick         # 1 s each (the smoke run of the tests)

Why it is built this way:
- the load comes from `wrk` (C, Debian's package): a Python client would spend more CPU than the
  gateway it measures, on the same two cores;
- the upstream is a wire fake of OpenAI's Chat Completions written as a bare ASGI app on uvicorn (an
  answer is one prepared body), so it costs the cores as little as an upstream can and the gateway is
  what is measured; the gateway calls it through the real openai SDK, as it calls OpenAI;
- "direct" is what a client calling the fake itself gets; the gateway's added latency is its median
  (and 99th percentile) minus direct's with one client at a time, where no queueing hides it;
- the gateway runs as `models serve` does in production: a gateway key (no budget or limits: the
  bare path; tests/test_gateway_redis.py covers the stores), uvicorn with httptools and uvloop.

Everything runs on this machine's cores together (client, gateway workers, upstream), so the absolute
numbers are this machine's; the report prints the load average and the core count beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-gateway-key-0123456789"
BODY = {"model": "openai/gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}

UPSTREAM = r"""
import json
answer = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "echo: hi", "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
}).encode()
headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": answer})
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(url: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError as error:
            if getattr(error, "code", None):  # any HTTP answer: it is listening
                return
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered at {url} within {seconds} s")


def _wrk(url: str, script: Path, connections: int, seconds: float) -> dict[str, float]:
    """Requests/s and latency percentiles (ms) of one wrk run; errors are fatal (a refused or failed
    request would make the gateway look faster than it is)."""
    threads = min(2, connections)
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for name, value, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        result[f"p{name}"] = float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    return result


def _measure(url: str, script: Path, seconds: float) -> dict[str, float]:
    """64 clients at once (throughput), then one at a time (latency without queueing)."""
    loaded = _wrk(url, script, 64, seconds)
    single = _wrk(url, script, 1, seconds)
    return {**loaded, "one_p50": single["p50"], "one_p99": single["p99"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s per measurement (a smoke run)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per measurement (default 10)")
    args = parser.parse_args()
    seconds = 1 if args.quick else args.seconds
    if shutil.which("wrk") is None:
        sys.exit("bench_gateway needs wrk: apt-get install wrk")
    python = sys.executable
    work = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    (work / "upstream.py").write_text(UPSTREAM)
    (work / "keys.json").write_text(json.dumps([{"name": "bench", "key": KEY}]))
    script = work / "post.lua"
    script.write_text(WRK_SCRIPT.format(body=json.dumps(BODY), key=KEY))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        upstream = _port()
        processes.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "uvicorn",
                    "--app-dir",
                    str(work),
                    "upstream:app",
                    "--port",
                    str(upstream),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                stdout=subprocess.DEVNULL,
            )
        )
        base = f"http://127.0.0.1:{upstream}"
        _wait(base + "/")
        rows = {"direct (the fake)": _measure(base + "/v1/chat/completions", script, seconds)}
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-upstream-secret",
            "OPENAI_BASE_URL": base + "/v1",
            "PYTHONPATH": str(ROOT),
        }
        for workers in (1, 2):
            port = _port()
            gateway = subprocess.Popen(
                [
                    python,
                    "-m",
                    "models",
                    "serve",
                    "--port",
                    str(port),
                    "--workers",
                    str(workers),
                    "--keys",
                    str(work / "keys.json"),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            processes.append(gateway)
            url = f"http://127.0.0.1:{port}"
            _wait(url + "/healthz")
            time.sleep(1.0 if workers > 1 else 0.2)  # every worker up
            rows[f"gateway, {workers} worker{'s' if workers > 1 else ''}"] = _measure(
                url + "/v1/chat/completions", script, seconds
            )
            gateway.terminate()
            gateway.wait(timeout=30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    direct = rows["direct (the fake)"]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"64 clients for {seconds:g} s, then 1 client; {os.cpu_count()} cores shared by wrk, the gateway and "
        f"the fake; load average {load:.1f}\n"
    )
    print("| path | requests/s (64 clients) | p50 / p99 ms (64) | p50 / p99 ms (1 client) | added p50 / p99 ms |")
    print("|---|---|---|---|---|")
    for name, row in rows.items():
        added = (
            ""
            if row is direct
            else f"{row['one_p50'] - direct['one_p50']:+.2f} / {row['one_p99'] - direct['one_p99']:+.2f}"
        )
        print(
            f"| {name} | {row['rps']:.0f} | {row['p50']:.1f} / {row['p99']:.1f} | "
            f"{row['one_p50']:.2f} / {row['one_p99']:.2f} | {added} |"
        )


if __name__ == "__main__":
    main()
