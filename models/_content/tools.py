"""Tools (SPEC §8): `Tool` from a function, a pydantic model or a dict; `ToolCall`; `Toolset`,
the checked list a call sends.

A function's JSON Schema comes from pydantic (a model built from its signature), once per
function: `tool_of` keeps what it built, so a call that passes the same functions again does a
dict lookup, and a binding builds nothing per call.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._display import brief
from .._fork import fork_safe_lock
from .._types import ToolCall
from ..errors import InvalidRequestError
from .schema import strict_schema, tidy

__all__ = ["CHOICES", "Tool", "ToolCall", "Toolset", "tool_of", "toolset"]

CHOICES = ("auto", "required", "none")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")
"""What every provider takes as a tool name (OpenAI's and Anthropic's rule, within Gemini's)."""
_UNSET: Any = object()
_CACHE_SIZE = 512  # tools remembered by the object they came from; past it, the oldest is rebuilt when used


class Tool:
    """A tool the model may call: `Tool(name, description, parameters, fn=None)`.

    `parameters` is the JSON Schema of the arguments (an object). With `fn`, `run_tools=True`
    calls it; a tool made from a function checks the arguments against its signature first.
    Without `parameters`, they come from `fn`'s signature.
    """

    __slots__ = ("_fn", "_model", "_native", "_positional", "_strict", "description", "name", "parameters")
    name: str
    description: str
    parameters: dict[str, Any]

    def __init__(
        self,
        name: str,
        description: str = "",
        parameters: Mapping[str, Any] | None = None,
        fn: Callable[..., Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise InvalidRequestError(
                f"Tool name {brief(name)} is not valid: use 1-64 letters, digits, '_' or '-', "
                "starting with a letter or '_'."
            )
        if not isinstance(description, str):
            raise TypeError(f"Tool description must be a str, not {type(description).__name__}")
        if fn is not None and not callable(fn):
            raise TypeError(f"Tool fn must be callable, not {type(fn).__name__}")
        self._model: Any = None
        self._positional: tuple[str, ...] = ()
        if parameters is None:
            if fn is not None:
                built: Tool = _from_function(fn)
                parameters, self._model, self._positional = built.parameters, built._model, built._positional
                description = description or built.description
            else:
                parameters = {"type": "object", "properties": {}}
        if isinstance(parameters, Mapping) and ("type" not in parameters or "properties" not in parameters):
            parameters = {"type": "object", "properties": {}, **parameters}  # what every API wants spelt out
        if not isinstance(parameters, Mapping) or parameters.get("type") != "object":
            raise InvalidRequestError(
                f"The parameters of tool {name!r} must be a JSON Schema object "
                f'({{"type": "object", "properties": {{...}}}}), not {brief(parameters)}'
            )
        self.name = name
        self.description = description
        self.parameters = dict(parameters)
        self._fn = fn
        self._strict: Any = _UNSET
        self._native: dict[str, Any] | None = None

    @property
    def fn(self) -> Callable[..., Any] | None:
        return self._fn

    @property
    def native(self) -> dict[str, Any] | None:
        """A provider's own tool, given as its dict with a `type` other than "function" (Anthropic's
        `{"type": "web_search_20250305", "name": "web_search"}`): sent to the provider as it is."""
        return self._native

    def strict_parameters(self) -> dict[str, Any] | None:
        """`parameters` in OpenAI's strict form (`strict_schema`), or None; worked out once."""
        if self._strict is _UNSET:
            self._strict = strict_schema(self.parameters)
        result: dict[str, Any] | None = self._strict
        return result

    def to_openai(self) -> dict[str, Any]:
        """This tool as OpenAI's `{"type": "function", "function": {...}}` dict."""
        function: dict[str, Any] = {"name": self.name, "parameters": self.parameters}
        if self.description:
            function["description"] = self.description
        return {"type": "function", "function": function}

    def prepare_call(self, arguments: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The positional and keyword arguments for `fn`, validated against its signature when it
        came from one (pydantic's error when they do not fit)."""
        if self._model is None:
            return (), dict(arguments)
        validated = self._model.model_validate(arguments)
        values = {field.alias or name: getattr(validated, name) for name, field in type(validated).model_fields.items()}
        positional = tuple(values.pop(name) for name in self._positional)
        return positional, values

    def __repr__(self) -> str:
        return f"Tool({self.name!r}, {brief(self.description, 40)}, fn={getattr(self._fn, '__name__', None)})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tool):
            return NotImplemented
        return (self.name, self.description, self.parameters, self._fn) == (
            other.name,
            other.description,
            other.parameters,
            other._fn,
        )

    __hash__ = None  # type: ignore[assignment]


_DOC_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns|Return|Raises|Yields|Examples?|Notes?):\s*$|^\s*:(param|returns?|raises)\b"
)
_GOOGLE_ARG = re.compile(r"^\s+(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_ARG = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """A function's description (its docstring up to the first section) and its parameters'
    descriptions, from a Google-style `Args:` section or Sphinx `:param name:` lines."""
    doc = inspect.getdoc(fn) or ""
    lines = doc.splitlines()
    head: list[str] = []
    params: dict[str, str] = {}
    in_args = False
    current: str | None = None
    for line in lines:
        section = _DOC_SECTION.match(line)
        if section is not None or params or in_args:
            sphinx = _SPHINX_ARG.match(line)
            if sphinx:
                current = sphinx.group(1)
                params[current] = sphinx.group(2).strip()
                continue
            if section is not None and section.group(1):
                in_args = section.group(1) in ("Args", "Arguments", "Parameters", "Params")
                current = None
                continue
            google = _GOOGLE_ARG.match(line) if in_args else None
            if google:
                current = google.group(1).lstrip("*")
                params[current] = google.group(2).strip()
            elif current is not None and line.strip() and line.startswith((" ", "\t")):
                params[current] += " " + line.strip()
            elif not line.strip():
                current = None
            continue
        head.append(line)
    return "\n".join(head).strip(), params


def _from_function(fn: Callable[..., Any]) -> Tool:
    """A `Tool` for `fn`: name, docstring and a pydantic model of its parameters (whose JSON
    Schema the model sees, and which checks the arguments before `fn` runs)."""
    import typing

    from pydantic import ConfigDict, Field, create_model

    name = getattr(fn, "__name__", None) or type(fn).__name__
    try:
        signature = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError) as exc:
        raise InvalidRequestError(f"Tool {name!r}: its signature cannot be read ({exc}).") from exc
    description, docs = _docstring(fn)
    fields: dict[str, Any] = {}
    positional: list[str] = []
    for index, (param, p) in enumerate(signature.parameters.items()):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise InvalidRequestError(
                f"Tool {name!r} takes *{'*' if p.kind is p.VAR_KEYWORD else ''}{param}: a model can only fill "
                "named parameters, so give it explicit ones (or pass models.Tool(name, description, parameters, fn))."
            )
        if p.kind is p.POSITIONAL_ONLY:
            positional.append(param)
        default = ... if p.default is p.empty else p.default
        fields[f"f{index}"] = (hints.get(param, Any), Field(default, alias=param, description=docs.get(param)))
    try:
        model = create_model(
            f"{name}_arguments", __config__=ConfigDict(arbitrary_types_allowed=False, populate_by_name=False), **fields
        )
        parameters = tidy(model.model_json_schema(by_alias=True))
    except Exception as exc:  # pydantic's schema errors: a type it cannot describe as JSON
        raise InvalidRequestError(
            f"Tool {name!r}: pydantic cannot describe its parameters as JSON Schema ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0]}). Annotate them with JSON-able types (str, int, float, bool, "
            "Literal, lists, dicts, pydantic models)."
        ) from exc
    parameters.pop("title", None)
    tool = Tool(name if _NAME.fullmatch(name) else re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64], description, parameters)
    tool._fn, tool._model, tool._positional = fn, model, tuple(positional)
    return tool


def _from_model(cls: type[Any]) -> Tool:
    """A `Tool` for a pydantic model class: its fields are the arguments; nothing to run."""
    try:
        parameters = tidy(cls.model_json_schema())
    except Exception as exc:
        raise InvalidRequestError(f"Tool {cls.__name__!r}: pydantic cannot describe it ({exc}).") from exc
    parameters.pop("title", None)
    description = inspect.cleandoc(cls.__doc__) if cls.__doc__ else ""
    tool = Tool(cls.__name__, description, parameters)
    tool._model = cls
    return tool


def _from_dict(spec: Mapping[str, Any]) -> Tool:
    """A `Tool` for an OpenAI-format dict (`{"type": "function", "function": {...}}`), or the
    bare function dict, or Anthropic's `{"name", "description", "input_schema"}`."""
    kind = spec.get("type")
    if kind is not None and kind != "function":  # a provider's own tool (Anthropic's web search, ...)
        name = spec.get("name")
        tool = Tool(name if isinstance(name, str) else re.sub(r"[^A-Za-z0-9_-]", "_", str(kind))[:64])
        tool._native = dict(spec)
        return tool
    function = spec.get("function") if kind == "function" else spec
    if not isinstance(function, Mapping) or "name" not in function:
        raise InvalidRequestError(
            f"A tool dict must be OpenAI's {{'type': 'function', 'function': {{'name', 'description', "
            f"'parameters'}}}}, not {brief(spec, 80)}"
        )
    parameters = function.get("parameters", function.get("input_schema"))
    return Tool(function["name"], function.get("description") or "", parameters)


_tools: dict[Any, Tool] = {}
_lock = fork_safe_lock()


def tool_of(item: Any) -> Tool:
    """The `Tool` for one entry of `tools=`; functions and classes are converted once."""
    if isinstance(item, Tool):
        return item
    if isinstance(item, Mapping):
        return _from_dict(item)
    try:
        tool = _tools.get(item)
    except TypeError:  # unhashable
        tool = None
    if tool is not None:
        return tool
    if isinstance(item, type) and hasattr(item, "model_json_schema"):
        tool = _from_model(item)
    elif callable(item) and not isinstance(item, type):
        tool = _from_function(item)
    else:
        raise InvalidRequestError(
            f"tools= takes functions, pydantic model classes, OpenAI-format dicts or models.Tool, not {brief(item)}"
        )
    with _lock:
        if len(_tools) >= _CACHE_SIZE:
            del _tools[next(iter(_tools))]
        _tools[item] = tool
    return tool


class Toolset:
    """The tools of one call, checked: unique names, a valid `tool_choice`."""

    __slots__ = ("by_name", "choice", "tools")

    def __init__(self, tools: tuple[Tool, ...], choice: str | None) -> None:
        self.tools = tools
        self.choice = choice
        self.by_name = {tool.name: tool for tool in tools}

    def to_openai(self, strict: bool = True) -> dict[str, Any]:
        """`tools` and `tool_choice` as Chat Completions takes them; with `strict`, each tool whose
        schema has a strict form is sent strict (the model's arguments then always fit it)."""
        tools = []
        for tool in self.tools:
            if tool.native is not None:
                tools.append(tool.native)
                continue
            spec = tool.to_openai()
            parameters = tool.strict_parameters() if strict else None
            if parameters is not None:
                spec["function"] = {**spec["function"], "parameters": parameters, "strict": True}
            tools.append(spec)
        options: dict[str, Any] = {"tools": tools}
        choice = self.choice
        if choice is not None:
            options["tool_choice"] = choice if choice in CHOICES else {"type": "function", "function": {"name": choice}}
        return options

    def __repr__(self) -> str:
        return f"Toolset({[t.name for t in self.tools]}, choice={self.choice!r})"


def toolset(tools: object, choice: object, run: bool, model: str) -> Toolset | None:
    """The checked `Toolset` of `tools=` and `tool_choice=`, or None without tools; raises
    `InvalidRequestError` naming the fix for anything a provider would refuse (or we could not run)."""
    if tools is None or (isinstance(tools, (list, tuple)) and not tools):
        if choice not in (None, "none", "auto"):
            raise InvalidRequestError(f"tool_choice={choice!r} needs tools: pass tools=[...].", model=model)
        if run:
            raise InvalidRequestError("run_tools=True needs tools: pass tools=[your_function, ...].", model=model)
        return None
    if not isinstance(tools, Sequence) or isinstance(tools, (str, bytes)):
        raise TypeError(f"tools must be a list, like tools=[get_weather], not {type(tools).__name__}")
    built = tuple(tool_of(item) for item in tools)
    names: dict[str, int] = {}
    for tool in built:
        names[tool.name] = names.get(tool.name, 0) + 1
    twice = sorted(name for name, n in names.items() if n > 1)
    if twice:
        raise InvalidRequestError(
            f"Two tools are named {', '.join(map(repr, twice))}: names must be unique (rename one, or pass "
            "models.Tool(name=...)).",
            model=model,
        )
    if choice is not None and (not isinstance(choice, str) or (choice not in CHOICES and choice not in names)):
        raise InvalidRequestError(
            f"tool_choice={choice!r} is neither {', '.join(map(repr, CHOICES))} nor a tool's name "
            f"({', '.join(map(repr, names))}).",
            model=model,
        )
    if run and not any(tool.fn is not None for tool in built):
        raise InvalidRequestError(
            "run_tools=True has nothing to run: none of the tools is a Python function. Pass functions "
            "(or models.Tool(..., fn=...)), or leave run_tools off and answer r.tool_calls yourself.",
            model=model,
        )
    return Toolset(built, choice)
