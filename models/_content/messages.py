"""Prompt validation: one normal form (system text + user/assistant turns) for every provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._display import brief
from ..errors import InvalidRequestError

__all__ = ["MAX_PART_DEPTH", "Message", "normalize", "text_of"]

Message = dict[str, Any]
"""`{"role": "user" | "assistant", "content": str | list of OpenAI-style parts}`."""


_ROLES = ("system", "user", "assistant")
MAX_PART_DEPTH = 32
"""How deeply a content part may nest dicts and lists. Real parts nest two or three levels
(`{"type": "image_url", "image_url": {"url": ...}}`); past a few hundred the SDKs' JSON
encoders raise `RecursionError`, so anything this deep is refused with the part named."""


def normalize(prompt: object, system: str | None, model: str) -> tuple[str | None, list[Message]]:
    """Split a prompt into (system text or None, turns); raise `InvalidRequestError` on bad input.

    System messages in a list are joined, after `system=`, with blank lines between.
    """
    if system is not None and not isinstance(system, str):
        raise TypeError(f"system must be a str, not {type(system).__name__}")
    if isinstance(prompt, str):
        if not prompt or prompt.isspace():  # not .strip(): that copies the whole prompt
            raise InvalidRequestError("The prompt is empty: pass some text.", model=model)
        return system or None, [{"role": "user", "content": prompt}]
    if not isinstance(prompt, Sequence) or isinstance(prompt, (bytes, bytearray)):
        raise TypeError(f"prompt must be a str or a list of {{'role', 'content'}} dicts, not {type(prompt).__name__}")
    systems = [system] if system else []
    turns: list[Message] = []
    for i, message in enumerate(prompt):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise InvalidRequestError(
                f"prompt[{i}] must be a dict with 'role' and 'content', got {brief(message, 80)}", model=model
            )
        role, content = message["role"], message["content"]
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequestError(
                f"prompt[{i}] has role {brief(role)}; use one of {', '.join(_ROLES)}.", model=model
            )
        if not isinstance(content, (str, list)):
            raise InvalidRequestError(
                f"prompt[{i}]['content'] must be a str or a list of parts, not {type(content).__name__}",
                model=model,
            )
        if isinstance(content, list):
            for j, part in enumerate(content):
                problem = _part_problem(part)
                if problem is not None:
                    raise InvalidRequestError(f"prompt[{i}]['content'][{j}] {problem}", model=model)
        if role == "system":
            systems.append(text_of(content))
        else:
            turns.append({"role": role, "content": content})
    if not turns:
        raise InvalidRequestError("The prompt has no user or assistant message.", model=model)
    return "\n\n".join(systems) or None, turns


def _part_problem(part: object) -> str | None:
    """What is wrong with a content part, if anything: it must be a dict with a str `type`, a text
    part's `text` a str, and it must not nest too deeply."""
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        return f"must be a dict with a 'type' (e.g. {{'type': 'text', 'text': ...}}), got {brief(part)}"
    if part["type"] == "text":
        if not isinstance(part.get("text"), str):
            got = type(part["text"]).__name__ if "text" in part else "none"
            return f"is a text part, so its 'text' must be a str, not {got}"
        if len(part) == 2:  # just the type and the text: nothing nests
            return None
    if _too_deep(part, MAX_PART_DEPTH):
        return f"nests dicts and lists more than {MAX_PART_DEPTH} levels deep (or contains itself)"
    return None


def _too_deep(part: Mapping[Any, Any], limit: int) -> bool:
    """Whether dicts and lists nest more than `limit` levels below `part`: level by level, each
    container once per level, so neither depth nor a cycle can exhaust the stack. (Concrete
    types, not the ABCs: a JSON encoder only walks these, and `isinstance` on an ABC is slow.)"""
    below: dict[int, Any] = {}
    for value in part.values():
        if isinstance(value, (dict, list, tuple)):
            below[id(value)] = value
    for _ in range(limit):  # `below` holds the containers one level further down each time
        if not below:
            return False  # a flat part, like every text part, stops here at once
        level, below = below.values(), {}
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, (dict, list, tuple)):
                    below[id(child)] = child
    return bool(below)


def text_of(content: str | list[Any]) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping) and part.get("type") == "text")
