"""The public surface: names, lazy imports, signature parity."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import models as package
from models import ModelBinding, ModelsAPI, Router, models

ROOT = Path(__file__).resolve().parent.parent

SPEC_NAMES = {
    "models",
    "ModelsAPI",
    "ModelBinding",
    "Response",
    "Usage",
    "errors",
    "Provider",
    "ModelsError",
    "ConfigurationError",
    "MissingAPIKeyError",
    "InvalidCostOverrideError",
    "ModelNotFoundError",
    "ProviderNotFoundError",
    "ProviderError",
    "AuthenticationError",
    "RateLimitError",
    "InvalidRequestError",
    "ContextWindowExceededError",
    "ContentFilterError",
    "ProviderTimeoutError",
    "ProviderConnectionError",
    "ServerError",
    # SPEC §8, §9, §10
    "Attachment",
    "Tool",
    "ToolCall",
    "StructuredOutputError",
    # SPEC §12
    "Embeddings",
}


def test_all_is_curated_and_complete() -> None:
    assert set(package.__all__) == SPEC_NAMES | {
        "AsyncStream",
        "BadResponseError",
        "Budget",
        "BudgetExceededError",
        "CallEvent",
        "Capability",
        "Price",
        "UnsupportedCapabilityError",
        "Stream",
        "Completion",
        "ModelInfo",
        "ModelsWarning",
        "Tracker",
        "UsageTotals",
        "Attempt",
        "Limit",
        "LimitStoreError",
        "MissingSettingError",
        "ModelHealth",
        "RouteChoice",
        "Router",
    }
    assert package.__all__ == sorted(package.__all__, key=lambda n: (n[0].islower(), n))
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_errors_reachable_from_the_instance() -> None:
    assert models.errors.RateLimitError is package.RateLimitError
    assert issubclass(package.ProviderTimeoutError, TimeoutError)
    assert issubclass(package.ProviderConnectionError, ConnectionError)
    assert issubclass(package.ContextWindowExceededError, package.InvalidRequestError)
    assert issubclass(package.MissingAPIKeyError, package.ConfigurationError)
    assert issubclass(package.MissingSettingError, package.ConfigurationError)


def test_import_loads_no_sdk_and_reads_no_env() -> None:
    code = (
        "import os, sys\n"
        "class Env(dict):\n"
        "    def get(self, *a): raise SystemExit('env read at import: ' + str(a))\n"
        "    __getitem__ = get\n"
        "os.environ = Env(os.environ)\n"
        "from models import models\n"
        "heavy = ('openai', 'anthropic', 'google.genai', 'httpx2', 'prometheus_client', 'asyncio', 'dataclasses',"
        " 'decimal', 'json', 'models._call', 'models._catalog', 'models._pricing', 'models._observe',"
        " 'models.providers')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # the rest loads on first use (benchmarks/bench_startup.py: ~3 ms)


def test_lazy_public_names_resolve_to_their_classes() -> None:
    import models as package
    from models._types import Response

    assert package.Response is Response
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        package.Nope  # noqa: B018


def _params(function: object, skip: int) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in list(signature.parameters.values())[skip:]]


@pytest.mark.parametrize("form", ["__call__", "stream", "acall", "astream"])
def test_signature_parity_across_call_forms(form: str) -> None:
    call = _params(ModelsAPI.__call__, 2)  # self, model
    assert [p[0] for p in call] == [
        "prompt",
        "system",
        "temperature",
        "max_tokens",
        "top_p",
        "stop",
        "seed",
        "timeout",
        "max_retries",
        "fallbacks",
        "kwargs",
    ]
    assert _params(getattr(ModelsAPI, form), 2) == call
    assert _params(getattr(ModelBinding, form), 1) == call  # self; a binding has no model
    assert _params(getattr(Router, form), 1) == call
    assert _params(ModelsAPI.bind, 2) == [p for p in call if p[0] != "prompt"]
    assert inspect.iscoroutinefunction(getattr(ModelsAPI, form)) == (form == "acall")
    assert inspect.iscoroutinefunction(getattr(ModelBinding, form)) == (form == "acall")
    assert inspect.iscoroutinefunction(getattr(Router, form)) == (form == "acall")
