"""Rows: startup in fresh interpreters: import time over a bare interpreter, and the first answer.

"First answer" is import, client and one call to the loopback fake, raw OpenAI SDK vs `models`.
The run compiles our bytecode first, as a pip-installed wheel ships it (the SDKs in site-packages
have theirs); an editable checkout under PYTHONDONTWRITEBYTECODE would recompile us every run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import measure
from harness import ROOT, Fakes, at_most, note, row, section

IMPORTS = {
    "models": "from models import models",
    "openai": "import openai",
    "anthropic": "import anthropic",
    "google-genai": "from google import genai",
}
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
PROBE = (
    "import json, resource, sys; from models import models; "
    "print(json.dumps([len(sys.modules), [m for m in ('openai', 'anthropic', 'google.genai', "
    "'prometheus_client', 'asyncio', 'httpx2') if m in sys.modules], "
    "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))"
)


def _import(name: str, fakes: Fakes) -> dict[str, str]:
    if name == "models":
        out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True)
        modules, loaded, rss_kb = json.loads(out.stdout)
        note(f"{modules} modules in sys.modules, of the heavy ones loaded: {loaded}, peak RSS {rss_kb // 1024} MB")
    return {"raw": "pass", "ours": IMPORTS[name]}


def _first(fakes: Fakes) -> dict[str, str]:
    return {"raw": FIRST_RAW.format(url=fakes.url), "ours": FIRST_OURS.format(url=fakes.url)}


section(
    "import", "import in a fresh interpreter, over a bare one", "ms", measure.interpreters, True, ("bare", "import")
)
section(
    "first", "first answer: a fresh interpreter that imports, builds a client, calls once", "ms", measure.interpreters
)

for name in IMPORTS:
    row("import", name, {"ours": at_most(50.0)} if name == "models" else {})(
        lambda fakes, name=name: _import(name, fakes)
    )
row("first", "openai", {"ours": at_most(1.05)})(_first)
