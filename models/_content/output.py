"""Structured output (SPEC §9): `OutputFormat`, what `response_format=` becomes, and the parsing
of an answer into `Response.parsed`.

Every provider gets the same wire schema, always an object: a type whose schema is not one
(`list[City]`, `int`) is wrapped as `{"result": ...}` (OpenAI and Anthropic want an object at the
root) and unwrapped when parsed. Types are converted once and remembered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .._display import brief
from .._fork import fork_safe_lock
from ..errors import InvalidRequestError, StructuredOutputError
from .schema import strict_schema, tidy

__all__ = ["OutputFormat", "output_format", "parse_output"]

_UNSET: Any = object()
_CACHE_SIZE = 256
_WRAP = "result"


class OutputFormat:
    """What a call's answer must be: `schema` (the wire schema, an object; None for `"json"`,
    any JSON object) and how to turn the text into `Response.parsed`."""

    __slots__ = ("_adapter", "_source", "_strict", "_validator", "_wrapped", "name", "schema")

    def __init__(
        self, name: str, schema: dict[str, Any] | None, adapter: Any = None, wrapped: bool = False, source: Any = None
    ) -> None:
        self.name = name
        self.schema = schema
        self._adapter = adapter  # a pydantic TypeAdapter, or None for a JSON Schema dict / "json"
        self._wrapped = wrapped
        self._strict: Any = _UNSET
        self._validator: Any = None  # jsonschema's, built on first parse of a dict schema
        self._source = source

    def strict_schema(self) -> dict[str, Any] | None:
        """The wire schema in OpenAI's strict form, or None when it has none; worked out once."""
        if self._strict is _UNSET:
            self._strict = None if self.schema is None else strict_schema(self.schema)
        result: dict[str, Any] | None = self._strict
        return result

    def to_openai(self) -> dict[str, Any]:
        """Chat Completions' `response_format`: `json_schema`, strict when the schema has a strict
        form, or `json_object` for "json"."""
        if self.schema is None:
            return {"type": "json_object"}
        strict = self.strict_schema()
        schema = strict if strict is not None else self.schema
        return {
            "type": "json_schema",
            "json_schema": {"name": self.name, "schema": schema, "strict": strict is not None},
        }

    def parse(self, text: str) -> Any:
        """The validated value of an answer; `ValueError` saying why it is not one."""
        adapter = self._adapter
        if adapter is not None and not self._wrapped:
            from pydantic import ValidationError

            try:
                return adapter.validate_json(text)
            except ValidationError as exc:
                raise ValueError(_pydantic_reason(exc)) from exc
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"the answer is not JSON ({exc})") from exc
        if self._wrapped:
            if not isinstance(value, dict) or _WRAP not in value:
                raise ValueError(f"the answer is not an object with a {_WRAP!r} field")
            value = value[_WRAP]
        if adapter is not None:
            from pydantic import ValidationError

            try:
                return adapter.validate_python(value)
            except ValidationError as exc:
                raise ValueError(_pydantic_reason(exc)) from exc
        if self.schema is None:
            if not isinstance(value, dict):
                raise ValueError(f"the answer is JSON but not an object: {brief(value)}")
            return value
        self._check(value)
        return value

    def _check(self, value: Any) -> None:
        """Validate against a JSON Schema dict with `jsonschema` (the reference validator)."""
        validator = self._validator
        if validator is None:
            from jsonschema.validators import validator_for

            schema: dict[str, Any] = self._source if isinstance(self._source, dict) else self.schema or {}
            validator = self._validator = validator_for(schema)(schema)
        error = next(iter(validator.iter_errors(value)), None)
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "the answer"
            raise ValueError(f"{where}: {error.message}")

    def __repr__(self) -> str:
        return f"OutputFormat({self.name!r})"


def _pydantic_reason(exc: Any) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(map(str, error.get("loc") or ())) or "the answer"
        problems.append(f"{where}: {error.get('msg')}")
    more = exc.error_count() - len(problems)
    return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")


def _name(text: str) -> str:
    """A schema name OpenAI accepts (letters, digits, '_' and '-', at most 64)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:64] or "response"


def _wrap(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema.pop("$defs", None)
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {_WRAP: schema},
        "required": [_WRAP],
        "additionalProperties": False,
    }
    if defs:
        wrapped["$defs"] = defs
    return wrapped


def _is_object(schema: Mapping[str, Any]) -> bool:
    return schema.get("type") == "object" and "anyOf" not in schema and "oneOf" not in schema


def _from_dict(spec: Mapping[str, Any], model: str) -> OutputFormat:
    """An OpenAI `response_format` dict (`json_object`, `json_schema`) or a JSON Schema dict."""
    kind = spec.get("type")
    if kind == "json_object":
        return OutputFormat("json", None)
    if kind == "json_schema" and isinstance(spec.get("json_schema"), Mapping):
        inner = spec["json_schema"]
        schema = inner.get("schema")
        if not isinstance(schema, Mapping):
            raise InvalidRequestError("response_format['json_schema'] has no 'schema' dict.", model=model)
        name = inner.get("name")
        return _from_schema(dict(schema), name if isinstance(name, str) else None, model)
    if not isinstance(kind, (str, list)) and not any(k in spec for k in ("properties", "$ref", "anyOf", "items")):
        raise InvalidRequestError(
            f"response_format={brief(spec, 80)} is not a JSON Schema: give a pydantic model, a type like "
            "list[City], a JSON Schema dict with a 'type', or 'json'.",
            model=model,
        )
    return _from_schema(dict(spec), None, model)


def _from_schema(schema: dict[str, Any], name: str | None, model: str) -> OutputFormat:
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        where = "/".join(map(str, exc.absolute_path)) or "the schema"
        raise InvalidRequestError(
            f"response_format is not a valid JSON Schema ({where}: {exc.message}).", model=model
        ) from None
    title = schema.get("title")
    label = _name(name or (title if isinstance(title, str) else "response"))
    wire = tidy(schema)
    wrapped = not _is_object(wire)
    return OutputFormat(label, _wrap(wire) if wrapped else wire, wrapped=wrapped, source=schema)


def _type_name(tp: Any) -> str:
    """A short name for a type: `City`, `list_City`, `dict_str_int`, `Optional_City` (no module path)."""
    import types
    import typing

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is None:
        return str(getattr(tp, "__name__", None) or repr(tp))
    union = origin in (typing.Union, types.UnionType)
    head = ("Optional" if type(None) in args else "Union") if union else getattr(origin, "__name__", None)
    parts = [_type_name(a) for a in args if a is not type(None)]
    return "_".join([str(head or "type"), *parts])


def _from_type(tp: Any, model: str) -> OutputFormat:
    from pydantic import TypeAdapter

    try:
        adapter = TypeAdapter(tp)
        schema = tidy(adapter.json_schema())
    except Exception as exc:
        raise InvalidRequestError(
            f"response_format={brief(tp)} is not a type pydantic can describe ({type(exc).__name__}): give a "
            "pydantic model, a type like list[City], a TypedDict or dataclass, a JSON Schema dict, or 'json'.",
            model=model,
        ) from exc
    name = _name(_type_name(tp))
    wrapped = not _is_object(schema)
    return OutputFormat(name, _wrap(schema) if wrapped else schema, adapter, wrapped)


_formats: dict[Any, OutputFormat] = {}
_lock = fork_safe_lock()


def output_format(value: object, model: str) -> OutputFormat | None:
    """The `OutputFormat` of `response_format=` (None when not given); types are converted once."""
    if value is None or isinstance(value, OutputFormat):
        return value
    if isinstance(value, str):
        if value == "json":
            return OutputFormat("json", None)
        raise InvalidRequestError(
            f"response_format={value!r}: the only string it takes is 'json' (any JSON object); give a pydantic "
            "model, a type like list[City], or a JSON Schema dict for a shape.",
            model=model,
        )
    if isinstance(value, Mapping):
        return _from_dict(value, model)
    try:
        found = _formats.get(value)
    except TypeError:
        found = None
    if found is not None:
        return found
    if isinstance(value, (int, float, bool, bytes, list, tuple, set)):
        raise InvalidRequestError(
            f"response_format={brief(value)} is not a type or a schema: give a pydantic model, a type like "
            "list[City], a JSON Schema dict, or 'json'.",
            model=model,
        )
    found = _from_type(value, model)
    with _lock:
        if len(_formats) >= _CACHE_SIZE:
            del _formats[next(iter(_formats))]
        _formats[value] = found
    return found


def parse_output(output: OutputFormat, response: Any) -> Any:
    """`Response.parsed` for an answer, or `StructuredOutputError` with its text and response."""
    try:
        return output.parse(response.text)
    except ValueError as exc:
        reason = str(exc)
    hint = ""
    if response.finish_reason == "length":
        hint = " The answer was cut off at max_tokens: raise max_tokens."
    elif response.finish_reason == "content_filter":
        hint = " The model refused or was filtered (see .text)."
    raise StructuredOutputError(
        f"The answer of {response.model} does not fit {output.name}: {reason}.{hint}", response.text, response
    )
