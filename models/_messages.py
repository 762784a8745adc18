"""Prompt validation: one normal form (system text + user/assistant turns) for every provider."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidRequestError

__all__ = ["Message", "normalize", "text_of"]

Message = dict[str, Any]
"""`{"role": "user" | "assistant", "content": str | list of OpenAI-style parts}`."""

_ROLES = ("system", "user", "assistant")


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
                f"prompt[{i}] must be a dict with 'role' and 'content', got {message!r:.80}", model=model
            )
        role, content = message["role"], message["content"]
        if role not in _ROLES:
            raise InvalidRequestError(f"prompt[{i}] has role {role!r}; use one of {', '.join(_ROLES)}.", model=model)
        if not isinstance(content, (str, list)):
            raise InvalidRequestError(
                f"prompt[{i}]['content'] must be a str or a list of parts, not {type(content).__name__}",
                model=model,
            )
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
                    raise InvalidRequestError(
                        f"prompt[{i}]['content'][{j}] must be a dict with a 'type' (e.g. {{'type': 'text', "
                        f"'text': ...}}), got {part!r:.60}",
                        model=model,
                    )
        if role == "system":
            systems.append(text_of(content))
        else:
            turns.append({"role": role, "content": content})
    if not turns:
        raise InvalidRequestError("The prompt has no user or assistant message.", model=model)
    return "\n\n".join(systems) or None, turns


def text_of(content: str | list[Any]) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping) and part.get("type") == "text")
