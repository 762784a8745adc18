"""Prompt validation: one normal form (system text + user/assistant/tool turns) for every provider.

The normal form is OpenAI's chat format, checked: an assistant turn may carry `tool_calls`
(arguments as a JSON string) and a `tool` turn answers one of them by `tool_call_id`. Each
provider translates it to its own shape; `calls_of` and `tool_names` are the shared readings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .._display import brief
from ..errors import InvalidRequestError

__all__ = ["FILE_PARTS", "MAX_PART_DEPTH", "Message", "calls_of", "normalize", "text_of", "tool_names"]

Message = dict[str, Any]
"""`{"role": "user" | "assistant" | "tool", "content": str | list of OpenAI-style parts | None, ...}`."""


_ROLES = ("system", "user", "assistant", "tool")
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
    called: dict[str, str] = {}  # tool call ids made so far -> their tool's name
    for i, message in enumerate(prompt):
        if not isinstance(message, Mapping) or "role" not in message:
            raise InvalidRequestError(
                f"prompt[{i}] must be a dict with 'role' and 'content', got {brief(message, 80)}", model=model
            )
        role = message["role"]
        if not isinstance(role, str) or role not in _ROLES:
            raise InvalidRequestError(
                f"prompt[{i}] has role {brief(role)}; use one of {', '.join(_ROLES)}.", model=model
            )
        calls = message.get("tool_calls") if role == "assistant" else None
        if "content" not in message and not calls:
            raise InvalidRequestError(
                f"prompt[{i}] must be a dict with 'role' and 'content', got {brief(message, 80)}", model=model
            )
        content = message.get("content")
        if not isinstance(content, (str, list)) and not (content is None and calls):
            raise InvalidRequestError(
                f"prompt[{i}]['content'] must be a str or a list of parts, not {type(content).__name__}",
                model=model,
            )
        if isinstance(content, list):
            for j, part in enumerate(content):
                problem = _part_problem(part)
                if problem is not None:
                    raise InvalidRequestError(f"prompt[{i}]['content'][{j}] {problem}", model=model)
            if any(part["type"] in FILE_PARTS for part in content):
                content = _with_attachments(content, model)
        if role == "system":
            systems.append(text_of(content or ""))
        elif role == "tool":
            turns.append(_tool_turn(message, content, called, i, model))
        elif calls:
            turns.append({"role": role, "content": content, "tool_calls": _calls(calls, called, i, model)})
        else:
            turns.append({"role": role, "content": content})
    if not any(turn["role"] != "tool" for turn in turns):
        raise InvalidRequestError("The prompt has no user or assistant message.", model=model)
    return "\n\n".join(systems) or None, turns


FILE_PARTS = frozenset({"image_url", "input_audio", "file", "attachment"})
"""Content parts that carry a file: each becomes `{"type": "attachment", "attachment": Attachment}`."""


def _with_attachments(content: list[Any], model: str) -> list[Any]:
    """A content list with every file part (OpenAI's `image_url`, `input_audio`, `file`, and ours)
    as one `attachment` part, which every provider translates."""
    from .attachments import attachment_of_part

    out = []
    for part in content:
        attachment = attachment_of_part(part, model) if part["type"] in FILE_PARTS else None
        out.append(part if attachment is None else {"type": "attachment", "attachment": attachment})
    return out


def _calls(calls: object, called: dict[str, str], i: int, model: str) -> list[dict[str, Any]]:
    """An assistant turn's `tool_calls`, checked, in OpenAI's shape (dict arguments become JSON text)."""
    if not isinstance(calls, list):
        raise InvalidRequestError(f"prompt[{i}]['tool_calls'] must be a list, not {type(calls).__name__}", model=model)
    out = []
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        name = function.get("name") if isinstance(function, Mapping) else None
        if not isinstance(name, str) or not isinstance(call.get("id"), str):
            raise InvalidRequestError(
                f"prompt[{i}]['tool_calls'][{j}] must be {{'id': str, 'type': 'function', 'function': "
                f"{{'name': str, 'arguments': str}}}} (what r.message holds), got {brief(call, 80)}",
                model=model,
            )
        assert isinstance(function, Mapping) and isinstance(call, Mapping)
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):
            arguments = json.dumps(arguments, ensure_ascii=False)
        elif arguments is None:
            arguments = "{}"
        elif not isinstance(arguments, str):
            raise InvalidRequestError(
                f"prompt[{i}]['tool_calls'][{j}]['function']['arguments'] must be a JSON string or a dict, "
                f"not {type(arguments).__name__}",
                model=model,
            )
        normal: dict[str, Any] = {
            "id": call["id"],
            "type": "function",
            "function": {"name": name, "arguments": arguments},
        }
        if isinstance(call.get("extra_content"), Mapping):
            normal["extra_content"] = call["extra_content"]
        called[call["id"]] = name
        out.append(normal)
    return out


def _tool_turn(message: Mapping[str, Any], content: Any, called: dict[str, str], i: int, model: str) -> Message:
    """A `tool` turn, checked: it answers a call an earlier assistant turn made."""
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str):
        raise InvalidRequestError(
            f"prompt[{i}] is a tool turn without a 'tool_call_id' (use r.tool_calls[k].result(value) to make one).",
            model=model,
        )
    if call_id not in called:
        raise InvalidRequestError(
            f"prompt[{i}] answers tool call {call_id!r}, which no earlier assistant turn made "
            "(append r.message before the results).",
            model=model,
        )
    if isinstance(content, list) and any(part["type"] == "attachment" for part in content):
        return {
            "role": "tool",
            "tool_call_id": call_id,
            "content": content,
        }  # files: each provider says if it takes them
    return {"role": "tool", "tool_call_id": call_id, "content": text_of(content) if content is not None else ""}


def calls_of(message: Message) -> list[Any]:
    """The `ToolCall`s of a normalised assistant turn (none for any other turn)."""
    from .tools import ToolCall

    calls = []
    for call in message.get("tool_calls") or ():
        function = call["function"]
        calls.append(ToolCall.from_json(call["id"], function["name"], function["arguments"], call.get("extra_content")))
    return calls


def tool_names(messages: list[Message]) -> dict[str, str]:
    """Tool call id -> tool name, for every call the assistant turns made (Gemini answers by name)."""
    return {
        call["id"]: call["function"]["name"]
        for message in messages
        if message["role"] == "assistant"
        for call in message.get("tool_calls") or ()
    }


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


def text_of(content: str | list[Any] | None) -> str:
    """The text of a message's content: the string itself, or its text parts joined."""
    if isinstance(content, str):
        return content
    if content is None:  # an assistant turn of tool calls only
        return ""
    return "".join(part.get("text", "") for part in content if isinstance(part, Mapping) and part.get("type") == "text")
