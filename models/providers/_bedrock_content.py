"""Converse's content for `_bedrock`: our turns as its messages of content blocks, its blocks (whole
or streamed) as text and tool calls, and tools and output schemas as `toolConfig` and `outputConfig`.

A Converse block is a dict keyed by its kind (`{"text": ...}`, `{"image": {...}}`, `{"toolUse": {...}}`).
A caller's own block goes in a message as a part `{"type": kind, kind: value}` (a `cachePoint` for
prompt caching, a `guardContent`), and a tool of Converse's own likewise (`{"type": "systemTool",
"systemTool": {...}}`): sent as `{kind: value}`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._content.messages import Message, calls_of
from .._types import ToolCall
from ..errors import InvalidRequestError

if TYPE_CHECKING:
    from .._content.attachments import Attachment
    from .._content.output import OutputFormat
    from .._content.tools import Tool, Toolset
    from .._types import Completion

__all__ = ["Blocks", "declare_output", "declare_tools", "read", "turns"]

# toolChoice for "auto" and "required"; a tool's name is {"tool": {"name": ...}}
_CHOICE: dict[str, dict[str, Any]] = {"auto": {"auto": {}}, "required": {"any": {}}}
_FORMATS = {  # our media types -> (block kind, Converse's format)
    "image/png": ("image", "png"),
    "image/jpeg": ("image", "jpeg"),
    "image/gif": ("image", "gif"),
    "image/webp": ("image", "webp"),
    "application/pdf": ("document", "pdf"),
    "audio/wav": ("audio", "wav"),
    "audio/mpeg": ("audio", "mp3"),
}
_IN_USER = frozenset({"image", "document", "audio"})  # the files a user message may hold
_IN_RESULTS = frozenset({"image", "document"})  # the files a toolResult may hold (ToolResultContentBlock)
# DocumentBlock.name: "alphanumeric characters, whitespace characters (no more than one in a row),
# hyphens, parentheses, square brackets", 1-200 of them, unique in the request ("Messages can't contain
# duplicate document names"): https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9()\[\]\- ]+")
_TYPED = frozenset({"type", "anyOf", "oneOf", "allOf", "enum", "const"})  # what a schema needs besides a $ref


def declare_tools(tools: Toolset) -> dict[str, Any]:
    """`toolConfig`: each tool as a `toolSpec` (its JSON Schema in `inputSchema.json`), the choice as
    `{"auto": {}}`, `{"any": {}}` (required) or `{"tool": {"name"}}`. Converse has no "none": the
    tools are left out, so the model cannot call one."""
    choice = tools.choice
    if choice == "none":
        return {}
    config: dict[str, Any] = {"tools": [_tool(tool) for tool in tools.tools]}
    if choice is not None:
        config["toolChoice"] = _CHOICE.get(choice) or {"tool": {"name": choice}}
    return {"toolConfig": config}


def _tool(tool: Tool) -> dict[str, Any]:
    native = tool.native
    if native is not None:
        return _own(native, "tool")
    spec: dict[str, Any] = {"name": tool.name, "inputSchema": {"json": tool.parameters}}
    if tool.description:
        spec["description"] = tool.description
    return {"toolSpec": spec}


def declare_output(output: OutputFormat) -> dict[str, Any]:
    """Structured outputs: `outputConfig.textFormat` with the schema as JSON text, every object in it
    closed (`additionalProperties: false`, which Bedrock requires of each object). "json" (any object)
    sends nothing: a closed `{"type": "object"}` would allow only `{}`; the answer is parsed all the same.
    """
    if output.schema is None:
        return {}
    schema = _closed(output.schema, output.schema.get("$defs") or {}, "", ())
    structure = {"jsonSchema": {"schema": json.dumps(schema), "name": output.name}}
    return {"outputConfig": {"textFormat": {"type": "json_schema", "structure": structure}}}


def _closed(node: Any, defs: Mapping[str, Any], where: str, refs: tuple[str, ...]) -> Any:
    """`node` with every object closed; what a closed schema cannot express (a map, a recursive type,
    a value of any type) raises `InvalidRequestError` before sending, naming the place."""
    if isinstance(node, list):
        return [_closed(item, defs, where, refs) for item in node]
    if not isinstance(node, dict):
        return node
    at = where or "the schema"
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in refs:
            raise _inexpressible(f"{at} refers back to {name!r} (a recursive type)")
        _closed(defs.get(name), defs, where, (*refs, name))  # checked where it is used; sent once, in $defs
        return node
    if node.get("additionalProperties", False) is not False:
        raise _inexpressible(f"{at} is a map (an object with open additionalProperties)")
    if not _TYPED.intersection(node) and "properties" not in node:
        raise _inexpressible(f"{at} may be any value (it has no type)")
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            out[key] = {
                name: _closed(sub, defs, f"{where}.{name}" if where else name, refs) for name, sub in value.items()
            }
        elif key == "$defs":
            out[key] = _closed_defs(value, defs)
        elif key in ("items", "anyOf", "oneOf", "allOf", "prefixItems"):
            out[key] = _closed(value, defs, where, refs)
        else:
            out[key] = value
    if out.get("type") == "object" or "properties" in out:
        out["additionalProperties"] = False
    return out


def _closed_defs(value: Any, defs: Mapping[str, Any]) -> Any:
    """A schema's `$defs`, each closed (and checked for referring back to itself)."""
    if not isinstance(value, dict):
        return value
    return {name: _closed(sub, defs, f"$defs.{name}", (name,)) for name, sub in value.items()}


def _inexpressible(problem: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Bedrock's structured outputs cannot express this response_format: {problem}. Give that part fixed "
        "fields (a pydantic model), or use response_format='json' and validate it yourself."
    )


def _own(part: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A caller's own Converse block or tool, `{"type": kind, kind: value}`, as Converse takes it: `{kind: value}`."""
    kind = part.get("type")
    if not isinstance(kind, str) or kind not in part:
        raise InvalidRequestError(
            f"Bedrock's Converse takes a {what} of its own as {{'type': kind, kind: value}} (e.g. {{'type': "
            f"'cachePoint', 'cachePoint': {{'type': 'default'}}}}), not one with type {kind!r} and keys {sorted(part)}."
        )
    return {kind: part[kind]}


class _Names:
    """Document names for one request: what Converse allows, each used once; and whether the caller's
    own blocks are in it (boto3's clients do not check them: `turns`' caller does)."""

    __slots__ = ("own", "taken")

    def __init__(self) -> None:
        self.taken: set[str] = set()
        self.own = False

    def new(self, filename: str) -> str:
        stem = filename.rsplit(".", 1)[0] if "." in filename else filename
        base = " ".join(_NOT_IN_NAME.sub("-", stem).split()).strip("-")[:190] or "document"
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}-{n}"
        self.taken.add(name)
        return name


def turns(messages: list[Message], model: str) -> tuple[list[dict[str, Any]], bool]:
    """Our turns as Converse's messages, and whether they hold blocks of the caller's own. Tool calls
    become `toolUse` blocks after the turn's text (each after the reasoning that came with it); a `tool`
    turn becomes a user turn of one `toolResult`. Consecutive turns of one role join into one message
    (Converse wants the roles to alternate), so the results of a round, and a user turn after them,
    make one user message, results first."""
    if len(messages) == 1 and type(messages[0]["content"]) is str:  # the plain prompt, without a loop
        return [{"role": "user", "content": _text(messages[0]["content"])}], False
    out: list[dict[str, Any]] = []
    names = _Names()
    for m in messages:
        role = m["role"]
        if role == "tool":
            role = "user"
            result = {"toolUseId": m["tool_call_id"], "content": _blocks(m["content"], names, model, _IN_RESULTS)}
            blocks = [{"toolResult": result}]
        elif "tool_calls" in m:
            blocks = _uses(m, names, model)
        else:
            blocks = _blocks(m["content"], names, model, _IN_USER if role == "user" else frozenset())
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out, names.own


def _text(text: str) -> list[dict[str, Any]]:
    """A text block, or none for blank text (Converse refuses a blank one)."""
    return [{"text": text}] if text and not text.isspace() else []


def _blocks(content: str | list[Any] | None, names: _Names, model: str, files: frozenset[str]) -> list[dict[str, Any]]:
    """A turn's content as blocks: text, files of the kinds `files` allows, the caller's own blocks."""
    if content is None:
        return []
    if isinstance(content, str):
        return _text(content)
    out: list[dict[str, Any]] = []
    for part in content:
        kind = part["type"]
        if kind == "text":
            out += _text(part["text"])
        elif kind == "attachment":
            out.append(_file(part["attachment"], names, model, files))
        else:
            out.append(_own(part, "content part"))
            names.own = True
    return out


def _file(attachment: Attachment, names: _Names, model: str, allowed: frozenset[str]) -> dict[str, Any]:
    """An attachment as an `image`, `document` (PDF) or `audio` block of its bytes (boto3 encodes them)."""
    kind, fmt = _FORMATS.get(attachment.media_type or "", (attachment.kind, None))
    if fmt is None or kind not in allowed:
        where = "in a tool result" if allowed is _IN_RESULTS else "in a user turn" if allowed else "outside user turns"
        raise InvalidRequestError(
            f"Bedrock's Converse takes no {attachment.media_type} {where}: attachment {attachment.describe()}. "
            "It takes PNG, JPEG, GIF, WEBP images and PDFs in user turns and tool results, WAV and MP3 audio "
            "in user turns.",
            provider="bedrock",
            model=model,
        )
    block: dict[str, Any] = {"format": fmt, "source": {"bytes": attachment.data()}}
    if kind == "document":
        block["name"] = names.new(attachment.name)
    return {kind: block}


def _uses(message: Message, names: _Names, model: str) -> list[dict[str, Any]]:
    """An assistant turn that calls tools: each call's reasoning first (kept in its `extra`, sent back
    as it came: Claude refuses a tool round whose thinking is missing), the text after the first's."""
    text = _blocks(message["content"], names, model, frozenset())
    blocks: list[dict[str, Any]] = []
    for call in calls_of(message):
        blocks += _thoughts(call.extra)
        if text:
            blocks += text
            text = []
        blocks.append({"toolUse": {"toolUseId": call.id, "name": call.name, "input": call.arguments}})
    return blocks


def _thoughts(extra: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The `reasoningContent` blocks a call's `extra` keeps ({"bedrock": {"reasoning": [...]}}); a
    redacted one is kept as base64 text (JSON-safe, like the rest of `r.message`) and sent as bytes."""
    ours = extra.get("bedrock") if extra else None
    kept = ours.get("reasoning") if isinstance(ours, Mapping) else None
    blocks = []
    for item in kept if isinstance(kept, list) else ():
        if isinstance(item, dict) and isinstance(item.get("redactedContent"), str):
            item = {"redactedContent": base64.b64decode(item["redactedContent"])}
        blocks.append({"reasoningContent": item})
    return blocks


def _kept(reasoning: dict[str, Any]) -> dict[str, Any]:
    """A `reasoningContent` block's value as a call's `extra` keeps it (bytes as base64 text)."""
    redacted = reasoning.get("redactedContent")
    if isinstance(redacted, (bytes, bytearray)):
        return {"redactedContent": base64.b64encode(redacted).decode("ascii")}
    return reasoning


def _with(thoughts: list[Any] | None) -> dict[str, Any] | None:
    return {"bedrock": {"reasoning": thoughts}} if thoughts else None


def read(blocks: Any) -> tuple[str, list[ToolCall]]:
    """The text and tool calls of a Converse message's content (a `toolUse` input is a dict); the
    reasoning blocks go with the call that follows them."""
    text, calls, thoughts = "", [], None
    for block in blocks:
        if "text" in block:
            text += block["text"] or ""
        elif "toolUse" in block:
            use = block["toolUse"]
            arguments = use.get("input")
            calls.append(
                ToolCall(
                    use.get("toolUseId"),
                    use.get("name"),
                    arguments if isinstance(arguments, dict) else {},
                    extra=_with(thoughts),
                )
            )
            thoughts = None
        elif "reasoningContent" in block:
            thoughts = [*(thoughts or ()), _kept(block["reasoningContent"])]
    return text, calls


class Blocks:
    """A stream's blocks being assembled by `contentBlockIndex`: a `toolUse` (its input as JSON
    fragments) or reasoning (text and signature deltas), and the reasoning since the last call."""

    __slots__ = ("open", "thoughts")

    def __init__(self) -> None:
        self.open: dict[Any, dict[str, Any]] = {}
        self.thoughts: list[Any] | None = None

    def start(self, index: Any, start: dict[str, Any]) -> None:
        use = start.get("toolUse")
        if use is not None:
            self.open[index] = {"id": use.get("toolUseId"), "name": use.get("name"), "input": []}

    def add(self, index: Any, delta: dict[str, Any]) -> None:
        """A non-text delta: tool input or reasoning (the text deltas are the stream's pieces)."""
        use = delta.get("toolUse")
        if use is not None:
            block = self.open.get(index)
            if block is not None:
                block["input"].append(use.get("input") or "")
            return
        reasoning = delta.get("reasoningContent")
        if reasoning is not None:
            block = self.open.setdefault(index, {"reasoning": {}})
            kept = block.get("reasoning")
            if kept is None:
                return
            if "redactedContent" in reasoning:
                kept["redactedContent"] = reasoning["redactedContent"]
            else:
                text = kept.setdefault("reasoningText", {})
                for key in ("text", "signature"):
                    if reasoning.get(key):
                        text[key] = text.get(key, "") + reasoning[key]

    def stop(self, index: Any, result: Completion) -> None:
        block = self.open.pop(index, None)
        if block is None:
            return
        reasoning = block.get("reasoning")
        if reasoning is not None:
            self.thoughts = [*(self.thoughts or ()), _kept(reasoning)]
            return
        extra, self.thoughts = _with(self.thoughts), None
        call = ToolCall.from_json(block["id"], block["name"], "".join(block["input"]), extra)
        result.tool_calls = [*result.tool_calls, call]
