"""Startup: `from models import models` and the first answer, in fresh interpreters.

    .venv/bin/python benchmarks/bench_startup.py [runs]

Medians of `runs` (default 9) fresh processes each: import time over a bare interpreter,
modules loaded and peak RSS; and "first answer" (import, client, one call to the loopback
fake, which runs in its own process) for the raw OpenAI SDK and for `models`.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from tests.fake_llm import FakeLLM
with FakeLLM() as fake:
    print(fake.url, flush=True)
    sys.stdin.read()
"""
FIRST_RAW = """
import openai
client = openai.OpenAI(api_key="sk-bench", base_url="{url}/v1", max_retries=0)
client.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
"""
FIRST_OURS = """
import warnings; warnings.simplefilter("ignore")
from models import models
models.configure("openai", api_key="sk-bench", base_url="{url}/v1")
models("gpt-4o", "hi")
"""


def _run_ms(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
    return (time.perf_counter() - start) * 1000


def _medians_ms(codes: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time of each snippet in a fresh interpreter, rounds interleaved so that a
    busy moment on this shared machine hits every snippet alike."""
    times: dict[str, list[float]] = {label: [] for label in codes}
    for _ in range(runs):
        for label, code in codes.items():
            times[label].append(_run_ms(code))
    return {label: statistics.median(values) for label, values in times.items()}


def main(runs: int = 9) -> None:
    # A wheel installed by pip ships compiled bytecode, as the SDKs in site-packages do; an
    # editable checkout (and PYTHONDONTWRITEBYTECODE) would otherwise recompile us every run.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "models")], check=True)
    rows = {
        "(bare interpreter)": "pass",
        "from models import models": "from models import models",
        "import openai": "import openai",
        "import anthropic": "import anthropic",
        "from google import genai": "from google import genai",
    }
    medians = _medians_ms(rows, runs)
    bare = medians["(bare interpreter)"]
    print(f"{'import (fresh interpreter)':<28}{'median ms':>10}{'over bare':>11}")
    for label, ms in medians.items():
        print(f"{label:<28}{ms:>10.0f}{ms - bare:>11.0f}")
    probe = (
        "import json, resource, sys; from models import models; "
        "print(json.dumps([len(sys.modules), [m for m in ('openai', 'anthropic', 'google.genai', "
        "'prometheus_client', 'asyncio', 'httpx2') if m in sys.modules], "
        "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    modules, loaded, rss_kb = json.loads(out.stdout)
    print(f"`import models`: {modules} modules in sys.modules, SDKs loaded: {loaded}, peak RSS {rss_kb // 1024} MB")

    server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        first = _medians_ms({"raw": FIRST_RAW.format(url=url), "ours": FIRST_OURS.format(url=url)}, runs)
        raw, ours = first["raw"], first["ours"]
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.wait(10)
    print(
        f"\nfirst answer (import + client + 1 call)  raw openai {raw:.0f} ms   models {ours:.0f} ms   "
        f"ratio {ours / raw:.3f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 9)
