"""Cost overrides from the environment (SPEC §4), parsed into exact decimals.

`MODELS_COSTS_JSON` and `MODELS_COST_<MODEL>_<FIELD>` are read when the price book asks
(at the first price lookup and at `reload_costs()`), never at import. Every bad value
raises `InvalidCostOverrideError` naming the variable, and so does a key that names no
model, since an override nobody reads would leave a price silently wrong.

Which keys name a model: a `MODELS_COSTS_JSON` key must resolve as a call's model id would
(`gpt4o` does not; `openai/my-finetune` does, SPEC §2). A variable's MODEL part is mangled
(`OPENAI_GPT_4O`), so it cannot be resolved back; it names a model when it is the mangled
form of a catalog model's id, name or alias, of a `MODELS_COSTS_JSON` key, of a bare name
that resolves by prefix (`GPT_…`, `CLAUDE…`, `GEMINI…`, `O3…`, a fine-tune `FT_<catalog
name>…`), or starts with a registered provider's name and `_` (`OPENAI_MY_FINETUNE`: any
name of a known provider is a model, the catalog need not know it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from decimal import Decimal
from typing import Protocol

from .._costs import FIELDS, MAX_PRICE, parse_usd
from .._display import brief
from ..errors import InvalidCostOverrideError, ModelNotFoundError, ProviderNotFoundError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._catalog.catalog import Catalog
    from .._catalog.info import ModelInfo

__all__ = ["MAX_PRICE", "ModelNames", "Overrides", "env_name", "read_overrides"]

# Longest first: CACHED_INPUT ends in _INPUT and CACHE_WRITE_1H starts like CACHE_WRITE.
_FIELDS_LONGEST_FIRST = ("cache_write_1h", "cached_input", "cache_write", "input", "output")


class ModelNames(Protocol):
    """What pricing asks of the model registry (`SimpleModelRegistry`): a protocol, so that pricing,
    a piece every layer reads, imports no layer."""

    @property
    def catalog(self) -> Catalog: ...

    @property
    def provider_names(self) -> Collection[str]: ...

    @property
    def local_providers(self) -> Collection[str]: ...

    def resolve(self, model: str) -> ModelInfo: ...


Overrides = dict[str, dict[str, tuple[int, Decimal]]]
"""`env_name` key → field → (rank, value): a per-field variable (rank 2) beats the JSON (rank 1)."""


def env_name(model_id: str) -> str:
    """The MODEL part of `MODELS_COST_<MODEL>_<FIELD>` for an id (SPEC §4)."""
    return re.sub(r"[^A-Z0-9]+", "_", model_id.upper())


def _number(value: object, where: str) -> Decimal:
    try:
        number = parse_usd(value, "a price")
    except (TypeError, ValueError):
        raise InvalidCostOverrideError(where, f"expected a number of USD per 1M tokens, got {brief(value)}") from None
    if not number.is_finite() or not 0 <= number <= MAX_PRICE:
        raise InvalidCostOverrideError(
            where, f"a price must be a finite number >= 0 and <= {MAX_PRICE} (USD per 1M tokens), got {brief(value)}"
        )
    return number


def read_overrides(environ: Mapping[str, str], models: ModelNames | None = None) -> Overrides:
    """Parse both override forms into key → field → (rank, value), keys in `env_name` form.

    A per-field variable (rank 2) wins over `MODELS_COSTS_JSON` (rank 1). With `models`, a
    key that names none of its models raises (see the module doc).
    """
    found: Overrides = {}

    def put(key: str, fld: str, rank: int, value: Decimal) -> None:
        slot = found.setdefault(key, {})
        if fld not in slot or slot[fld][0] <= rank:
            slot[fld] = (rank, value)

    raw = environ.get("MODELS_COSTS_JSON")
    json_keys: set[str] = set()
    if raw and raw.strip():
        try:
            table = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise InvalidCostOverrideError("MODELS_COSTS_JSON", f"not valid JSON ({exc})") from None
        except RecursionError:
            raise InvalidCostOverrideError("MODELS_COSTS_JSON", "nested too deeply to be a price table") from None
        if not isinstance(table, dict):
            raise InvalidCostOverrideError(
                "MODELS_COSTS_JSON", 'expected an object like {"openai/gpt-4o": {"input": 2.5}}'
            )
        for model_id, rates in table.items():
            where = f"MODELS_COSTS_JSON[{brief(model_id)}]"
            if not isinstance(rates, dict) or not rates:
                raise InvalidCostOverrideError(where, f"expected an object with some of {', '.join(FIELDS)}")
            if models is not None:
                _check_model_id(model_id, where, models)
            key = env_name(model_id.strip())
            json_keys.add(key)
            for fld, value in rates.items():
                if fld not in FIELDS:
                    raise InvalidCostOverrideError(where, f"unknown field {brief(fld)}; use {', '.join(FIELDS)}")
                put(key, fld, 1, _number(value, where))
    names = None if models is None else _VariableNames(models, json_keys)
    for var, value in environ.items():
        if not var.startswith("MODELS_COST_"):
            continue
        rest = var[len("MODELS_COST_") :]
        fld = next((f for f in _FIELDS_LONGEST_FIRST if rest.endswith("_" + f.upper())), None)
        if fld is None or len(rest) == len(fld) + 1:
            raise InvalidCostOverrideError(
                var,
                "expected MODELS_COST_<MODEL>_<FIELD>, FIELD one of INPUT, OUTPUT, CACHED_INPUT, CACHE_WRITE, "
                "CACHE_WRITE_1H",
            )
        model = rest[: -len(fld) - 1]
        price = _number(value, var)
        if names is not None:
            names.check(model, var, fld)
        put(model, fld, 2, price)
    return found


def _check_model_id(model_id: str, where: str, models: ModelNames) -> None:
    """Raise unless `model_id` resolves as a call's model id would."""
    try:
        models.resolve(model_id)
    except ModelNotFoundError as exc:
        hint = f"; did you mean {', '.join(map(repr, exc.suggestions))}?" if exc.suggestions else ""
        raise InvalidCostOverrideError(
            where, f"{brief(model_id)} names no model{hint} (a model the catalog lacks is 'provider/name')"
        ) from None
    except ProviderNotFoundError as exc:
        known = ", ".join(sorted(models.provider_names))
        raise InvalidCostOverrideError(
            where, f"{brief(model_id)} names no model: no provider {brief(exc.provider)} (known: {known})"
        ) from None


class _VariableNames:
    """Which mangled MODEL parts name a model (see the module doc), computed once per read."""

    def __init__(self, models: ModelNames, json_keys: Collection[str]) -> None:
        from .._catalog.catalog import (
            _PREFIXES,  # the bare-name prefixes resolution uses
            PROVIDER_ALIASES,
        )

        providers = models.provider_names
        catalog: set[str] = set()
        for row in models.catalog.rows:
            for name in (row.name, *row.aliases):
                catalog.update((env_name(name), env_name(f"{row.provider}/{name}")))
        self.catalog = frozenset(catalog)
        fine_tuned = {"FT_" + name for name in catalog}  # ft:<catalog name>[:org:suffix:id]
        self.exact = self.catalog | fine_tuned | set(json_keys)
        prefixes = [env_name(p) + "_" for p in providers]
        prefixes += [env_name(a) + "_" for a, p in PROVIDER_ALIASES.items() if p in providers]
        prefixes += [env_name(p) for p, provider in _PREFIXES if provider in providers]
        prefixes += [name + "_" for name in fine_tuned]
        self.prefixes = tuple(prefixes)

    def check(self, model: str, var: str, fld: str) -> None:
        """Raise unless `model` (a variable's MODEL part) names a model, suggesting close ones."""
        if model in self.exact or any(model.startswith(p) and len(model) > len(p) for p in self.prefixes):
            return
        import difflib  # only a mistake gets here

        close = difflib.get_close_matches(model, sorted(self.catalog), n=3, cutoff=0.6)
        hint = f" Did you mean {' or '.join(f'MODELS_COST_{c}_{fld.upper()}' for c in close)}?" if close else ""
        raise InvalidCostOverrideError(
            var,
            f"{model} names no model: it is no catalog model's id, name or alias (upper-cased, every run of "
            f"other characters as _), and starts with no provider's name.{hint} For a model the catalog lacks, "
            f"use its canonical id: MODELS_COST_<PROVIDER>_<NAME>_{fld.upper()}.",
        )
