"""Validation of a call's keyword arguments (SPEC §1), before anything is sent.

Wrong Python types raise `TypeError`; values no provider accepts, and keywords the
provider's SDK does not take, raise `InvalidRequestError` naming the parameter and what
would be right. Runs once per binding, and per call only when the call passes parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .._catalog.info import ModelInfo
from .._display import brief
from ..errors import InvalidRequestError
from ..providers._base import SET_BY_CALL, Provider

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._content.attachments import Attachment
    from .._content.output import OutputFormat
    from .._content.tools import Toolset

__all__ = ["COMMON", "FEATURES", "Features", "check_keywords", "check_params", "features"]

COMMON = frozenset({"temperature", "max_tokens", "top_p", "stop", "seed", "timeout", "max_retries"})
"""The common parameters (SPEC §1): every provider takes them (or drops them with a warning)."""
FEATURES = frozenset({"tools", "tool_choice", "response_format", "run_tools", "max_tool_rounds", "attachments"})
"""Keywords the library handles itself (SPEC §8-10), whatever the provider: each translates them."""

_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    if not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a finite number, not {value!r}")
    return float(value)


def _whole(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def check_params(model: ModelInfo, params: Mapping[str, Any]) -> None:
    """Raise for a common parameter of the wrong type or outside what any provider accepts."""
    for name, (low, high) in _RANGES.items():
        if name in params and not low <= _number(name, params[name]) <= high:
            raise InvalidRequestError(
                f"{name} must be between {low:g} and {high:g}, not {params[name]!r}", model=model.id
            )
    if "max_tokens" in params:
        limit = _whole("max_tokens", params["max_tokens"])
        if limit < 1:
            raise InvalidRequestError(f"max_tokens must be at least 1, not {limit}", model=model.id)
        if model.max_output is not None and limit > model.max_output:
            raise InvalidRequestError(
                f"max_tokens={limit} is more than {model.id} can write ({model.max_output}); lower it",
                model=model.id,
            )
    if "seed" in params:
        _whole("seed", params["seed"])
    if "stop" in params:
        stop = params["stop"]
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, (list, tuple)) or not all(isinstance(item, str) for item in stops):
            raise TypeError(f"stop must be a str or a list of str, not {brief(stop)}")
        if not all(stops):
            raise InvalidRequestError("stop sequences must not be empty", model=model.id)
    if "timeout" in params and _number("timeout", params["timeout"]) <= 0:
        raise InvalidRequestError(f"timeout must be more than 0 seconds, not {params['timeout']!r}", model=model.id)
    if "max_retries" in params and _whole("max_retries", params["max_retries"]) < 0:
        raise InvalidRequestError(f"max_retries must be 0 or more, not {params['max_retries']!r}", model=model.id)


def check_keywords(model: ModelInfo, provider: Provider, params: Mapping[str, Any]) -> None:
    """Raise `InvalidRequestError` for a keyword the provider does not take, or a key of its
    `Provider.nested_keywords` dict (Gemini's `config`) that is not one, naming the close valid
    ones; a provider that declares no keywords (`Provider.keywords`) takes any."""
    if not params:  # the common case costs nothing, and never loads the SDK to ask it
        return
    accepted = provider.accepted_keywords
    if accepted is None:
        return
    unknown = [name for name in params if name not in COMMON and name not in FEATURES and name not in accepted]
    if unknown:
        raise InvalidRequestError(unknown_keywords(unknown, provider.name, accepted | COMMON), model=model.id)
    check_nested(provider, params, accepted, provider.name, model.id)


def check_nested(provider: Provider, params: Mapping[str, Any], accepted: frozenset[str], who: str, model: str) -> None:
    """Raise `InvalidRequestError` for a key of the provider's `nested_keywords` dict (Gemini's
    `config`) that is not in `accepted`; the SDK would check it only when sending."""
    nested = provider.nested_keywords
    inner = params.get(nested) if nested is not None else None
    if isinstance(inner, Mapping):
        unknown = [name for name in inner if name == nested or name not in accepted]
        if unknown:
            message = unknown_keywords(unknown, who, accepted - {nested}, f"{nested} field")
            raise InvalidRequestError(message, model=model)


Features = tuple["Toolset | None", "OutputFormat | None", bool, int, "tuple[Attachment, ...]"]


def features(model: ModelInfo, params: Mapping[str, Any]) -> Features:
    """The tools, output format, `run_tools` and `max_tool_rounds` of a call, checked (and the
    model's capabilities for them) before anything is sent."""
    from .._catalog.capabilities import check_output
    from .._content.output import output_format
    from .._content.tools import toolset
    from .target import DEFAULT_TOOL_ROUNDS

    run = params.get("run_tools", False)
    if not isinstance(run, bool):
        raise TypeError(f"run_tools must be True or False, not {brief(run)}")
    rounds = params.get("max_tool_rounds", DEFAULT_TOOL_ROUNDS)
    if _whole("max_tool_rounds", rounds) < 1:
        raise InvalidRequestError(f"max_tool_rounds must be at least 1, not {rounds!r}", model=model.id)
    tools = toolset(params.get("tools"), params.get("tool_choice"), run, model.id)
    output = output_format(params.get("response_format"), model.id)
    check_output(model, output)
    return tools, output, run, rounds, _attachments(params.get("attachments"), model.id)


def _attachments(items: object, model: str) -> tuple[Attachment, ...]:
    """`attachments=` as `Attachment`s (a path must name a file now; it is read per call)."""
    if items is None:
        return ()
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"attachments must be a list, like attachments=['cat.jpg'], not {type(items).__name__}")
    from .._content.attachments import attachment_of

    return tuple(attachment_of(item, model) for item in items)


def unknown_keywords(names: list[Any], provider: str, valid: frozenset[str], noun: str = "keyword") -> str:
    """The message for keywords `provider` does not take: each with its close valid spellings."""
    import difflib  # only a mistake gets here

    problems = []
    for name in names:
        if name in SET_BY_CALL:
            problems.append(f"{name!r} ({SET_BY_CALL[name]})")
            continue
        close = difflib.get_close_matches(name, sorted(valid), n=3, cutoff=0.6) if isinstance(name, str) else []
        problems.append(f"{name!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
    what = noun if len(names) == 1 else f"{noun}s"
    message = f"{provider} does not take the {what} {', '.join(problems)}."
    if len(valid) <= len(COMMON):
        message += f" It takes {', '.join(sorted(valid))}."
    elif "extra_body" in valid:
        message += " Send fields its SDK does not know with extra_body={...}."
    return message
