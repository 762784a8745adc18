"""Cost overrides from the environment (SPEC §4), parsed into exact decimals.

`MODELS_COSTS_JSON` and `MODELS_COST_<MODEL>_<FIELD>` are read when the price book asks
(at the first price lookup and at `reload_costs()`), never at import. Every bad value
raises `InvalidCostOverrideError` naming the variable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from .errors import InvalidCostOverrideError

__all__ = ["FIELDS", "Overrides", "env_name", "read_overrides"]

FIELDS = ("input", "output", "cached_input", "cache_write", "cache_write_1h")
# Longest first: CACHED_INPUT ends in _INPUT and CACHE_WRITE_1H starts like CACHE_WRITE.
_FIELDS_LONGEST_FIRST = ("cache_write_1h", "cached_input", "cache_write", "input", "output")

Overrides = dict[str, dict[str, tuple[int, Decimal]]]
"""`env_name` key → field → (rank, value): a per-field variable (rank 2) beats the JSON (rank 1)."""


def env_name(model_id: str) -> str:
    """The MODEL part of `MODELS_COST_<MODEL>_<FIELD>` for an id (SPEC §4)."""
    return re.sub(r"[^A-Z0-9]+", "_", model_id.upper())


def _number(value: object, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        raise InvalidCostOverrideError(where, f"expected a number of USD per 1M tokens, got {value!r}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidCostOverrideError(where, f"expected a number of USD per 1M tokens, got {value!r}") from None
    if not number.is_finite() or number < 0:
        raise InvalidCostOverrideError(where, f"a price must be a finite number >= 0, got {value!r}")
    return number


def read_overrides(environ: Mapping[str, str]) -> Overrides:
    """Parse both override forms into key → field → (rank, value), keys in `env_name` form.

    A per-field variable (rank 2) wins over `MODELS_COSTS_JSON` (rank 1).
    """
    found: Overrides = {}

    def put(key: str, fld: str, rank: int, value: Decimal) -> None:
        slot = found.setdefault(key, {})
        if fld not in slot or slot[fld][0] <= rank:
            slot[fld] = (rank, value)

    raw = environ.get("MODELS_COSTS_JSON")
    if raw and raw.strip():
        try:
            table = json.loads(raw, parse_float=Decimal)
        except ValueError as exc:
            raise InvalidCostOverrideError("MODELS_COSTS_JSON", f"not valid JSON ({exc})") from None
        if not isinstance(table, dict):
            raise InvalidCostOverrideError(
                "MODELS_COSTS_JSON", 'expected an object like {"openai/gpt-4o": {"input": 2.5}}'
            )
        for model_id, rates in table.items():
            where = f"MODELS_COSTS_JSON[{model_id!r}]"
            if not isinstance(rates, dict) or not rates:
                raise InvalidCostOverrideError(where, f"expected an object with some of {', '.join(FIELDS)}")
            for fld, value in rates.items():
                if fld not in FIELDS:
                    raise InvalidCostOverrideError(where, f"unknown field {fld!r}; use {', '.join(FIELDS)}")
                put(env_name(model_id), fld, 1, _number(value, where))
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
        put(rest[: -len(fld) - 1], fld, 2, _number(value, var))
    return found
