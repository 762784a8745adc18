"""JSON Schema work every provider shares: tidying what pydantic emits, OpenAI's strict form,
and a value valid against a schema (what `mock` answers with).

Pure functions on plain dicts; nothing here imports pydantic.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["sample", "strict_schema", "tidy"]

_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SUBSCHEMA = ("items", "additionalProperties", "not", "if", "then", "else", "contains")


def tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` without the `title`s pydantic puts on every property and definition: tokens the
    model pays for and no provider uses (the root keeps its own; a property called "title" is a
    key of `properties`, not a keyword, and stays)."""
    out: dict[str, Any] = _untitled(schema)
    if "title" in schema and isinstance(schema["title"], str):
        out["title"] = schema["title"]
    return out


def _untitled(node: Any) -> Any:
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, dict):
            out[key] = {name: _untitled(sub) for name, sub in value.items()}
        elif key in ("enum", "const", "default", "examples", "required"):
            out[key] = value  # values, not schemas
        else:
            out[key] = _untitled(value)
    return out


def strict_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """`schema` in the form OpenAI's strict mode requires, or None when it cannot take that form.

    Strict mode wants every object closed (`additionalProperties: false`) with every property
    required (an optional one stays nullable through its `anyOf`), no `default`s, and no keywords
    beside a `$ref`. A map (`dict[str, X]`: an object with open `additionalProperties`) has no
    strict form, so the caller sends the schema unstrict instead.
    """
    defs = schema.get("$defs") or {}
    try:
        strict: dict[str, Any] = _strict(copy.deepcopy(schema), defs, 0)
        return strict
    except _NotStrict:
        return None


class _NotStrict(Exception):
    pass


def _strict(node: Any, defs: dict[str, Any], depth: int) -> Any:
    if not isinstance(node, dict):
        return node
    if depth > 64:  # deeper than any real schema (or recursive through inlined refs)
        raise _NotStrict
    ref = node.get("$ref")
    if isinstance(ref, str) and len(node) > 1:  # siblings of a $ref: inline the definition under them
        target = defs.get(ref.rsplit("/", 1)[-1]) if ref.startswith("#/$defs/") else None
        if target is None:
            raise _NotStrict
        node = {**copy.deepcopy(target), **{k: v for k, v in node.items() if k != "$ref"}}
    node.pop("default", None)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], dict):
        rest = {k: v for k, v in node.items() if k != "allOf"}
        node = {**_strict(all_of[0], defs, depth + 1), **rest}
    if node.get("type") == "object" or "properties" in node:
        extra = node.get("additionalProperties")
        if extra not in (None, False):
            raise _NotStrict
        properties = node.get("properties") or {}
        node["properties"] = {name: _strict(sub, defs, depth + 1) for name, sub in properties.items()}
        node["required"] = list(properties)
        node["additionalProperties"] = False
    for key in ("$defs", "definitions"):
        if isinstance(node.get(key), dict):
            node[key] = {name: _strict(sub, defs, depth + 1) for name, sub in node[key].items()}
    for key in _SUBSCHEMA_LISTS:
        if isinstance(node.get(key), list):
            node[key] = [_strict(sub, defs, depth + 1) for sub in node[key]]
    for key in _SUBSCHEMA:
        if isinstance(node.get(key), dict):
            node[key] = _strict(node[key], defs, depth + 1)
    return node


_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def sample(schema: dict[str, Any], name: str = "value") -> Any:
    """A value valid against `schema`, the same every time: the first choice of every `anyOf`
    and `enum` that is not null, every property, one item per array (or `minItems`), the
    property's own name as a string, the smallest number allowed."""
    return _sample(schema, schema.get("$defs") or schema.get("definitions") or {}, name, 0)


def _sample(node: Any, defs: dict[str, Any], name: str, depth: int) -> Any:
    if not isinstance(node, dict) or depth > 32:
        return None
    ref = node.get("$ref")
    if isinstance(ref, str):
        return _sample(defs.get(ref.rsplit("/", 1)[-1], {}), defs, name, depth + 1)
    if "const" in node:
        return node["const"]
    if isinstance(node.get("enum"), list) and node["enum"]:
        return next((v for v in node["enum"] if v is not None), node["enum"][0])
    for key in ("anyOf", "oneOf"):
        options = node.get(key)
        if isinstance(options, list) and options:
            usable = [o for o in options if not (isinstance(o, dict) and o.get("type") == "null")]
            return _sample((usable or options)[0], defs, name, depth + 1)
    all_of = node.get("allOf")
    if isinstance(all_of, list) and all_of:
        merged: dict[str, Any] = {}
        for part in all_of:
            merged.update(part if isinstance(part, dict) else {})
        return _sample({**merged, **{k: v for k, v in node.items() if k != "allOf"}}, defs, name, depth + 1)
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        kind = "object" if "properties" in node else "array" if "items" in node else "string"
    if kind == "object":
        properties = node.get("properties") or {}
        return {key: _sample(sub, defs, key, depth + 1) for key, sub in properties.items()}
    if kind == "array":
        count = max(int(node.get("minItems") or 0), 1)
        if node.get("maxItems") == 0:
            count = 0
        return [_sample(node.get("items") or {}, defs, name, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(node, kind)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(node, name)


def _number(node: dict[str, Any], kind: str) -> int | float:
    low = node.get("minimum")
    if low is None and node.get("exclusiveMinimum") is not None:
        low = node["exclusiveMinimum"] + 1
    high = node.get("maximum")
    if high is None and node.get("exclusiveMaximum") is not None:
        high = node["exclusiveMaximum"] - 1
    value = low if low is not None else 0 if high is None or high >= 0 else high
    return int(value) if kind == "integer" else float(value)


def _string(node: dict[str, Any], name: str) -> str:
    value = _FORMATS.get(str(node.get("format")), name)
    low = node.get("minLength")
    if isinstance(low, int) and len(value) < low:
        value += "x" * (low - len(value))
    high = node.get("maxLength")
    if isinstance(high, int) and len(value) > high:
        value = value[:high]
    return value
