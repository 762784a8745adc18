"""The Messages API's content for `_anthropic`: our turns as its blocks, its blocks (whole or
streamed) as text and tool calls, and tools and output schemas as it declares them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._content.messages import Message, calls_of
from .._content.tools import ToolCall
from ..errors import InvalidRequestError
from ._common import field

if TYPE_CHECKING:
    from .._content.attachments import Attachment
    from .._content.output import OutputFormat
    from .._content.tools import Tool, Toolset
    from .._types import Completion

__all__ = ["Blocks", "declare_output", "declare_tools", "read", "turns"]

_CHOICE = {"auto": "auto", "required": "any", "none": "none"}  # tool_choice types; a tool's name is "tool"
_THINKING = ("thinking", "redacted_thinking")  # blocks a tool round must send back as they came
_GROWS = {
    "thinking_delta": "thinking",
    "signature_delta": "signature",
}  # a thinking block's deltas: the key each extends
_TYPED = frozenset({"type", "anyOf", "oneOf", "allOf", "enum", "const"})  # what a schema needs besides a $ref
_BLOCKS = frozenset({"image", "document"})  # the kinds of attachment the Messages API has a block for (no audio)


def declare_tools(tools: Toolset) -> dict[str, Any]:
    """`tools` as `{"name", "description", "input_schema"}` and the choice as `tool_choice`'s
    `{"type": "auto" | "any" | "none"}` or `{"type": "tool", "name": ...}`."""
    options: dict[str, Any] = {"tools": [_tool(tool) for tool in tools.tools]}
    choice = tools.choice
    if choice is not None:
        kind = _CHOICE.get(choice, "tool")
        options["tool_choice"] = {"type": kind, "name": choice} if kind == "tool" else {"type": kind}
    return options


def declare_output(output: OutputFormat) -> dict[str, Any]:
    """Structured outputs: `output_config={"format": {"type": "json_schema", "schema": ...}}`.

    "json" (any JSON object) sends nothing: the API has no such mode (a schema must close
    every object, so `{"type": "object"}` would allow only `{}`); the prompt asks for JSON,
    as OpenAI's JSON mode requires too, and the answer is parsed all the same.
    """
    if output.schema is None:
        return {}
    return {"output_config": {"format": {"type": "json_schema", "schema": _output_schema(output.schema)}}}


def _tool(tool: Tool) -> dict[str, Any]:
    """One tool as the Messages API declares it (no description when it has none); a server
    tool (`{"type": "web_search_20250305", ...}`) as the caller gave it."""
    if tool.native is not None:
        return tool.native
    spec: dict[str, Any] = {"name": tool.name, "input_schema": tool.parameters}
    if tool.description:
        spec["description"] = tool.description
    return spec


def _output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` as structured outputs take it, by the SDK's own `transform_schema`: every object
    closed (`additionalProperties: false`), keywords the API lacks (`minimum`, `maxLength`, ...)
    moved into descriptions; the answer is still checked against them when parsed.

    What it cannot express raises `InvalidRequestError` before sending, naming the place: a map
    (`dict[str, X]`) would be closed into `{}`, a recursive type is refused by the API, and a
    value of any type has no schema at all.
    """
    problem = _inexpressible(schema, schema.get("$defs") or {}, "", ())
    if problem is not None:
        raise InvalidRequestError(
            f"Anthropic's structured outputs cannot express this response_format: {problem}. Give that "
            "part fixed fields (a pydantic model), or use response_format='json' and validate it yourself."
        )
    import anthropic

    return anthropic.transform_schema(schema)


def _inexpressible(node: Any, defs: Mapping[str, Any], where: str, refs: tuple[str, ...]) -> str | None:
    """What in `node` (at path `where`) structured outputs cannot express; None when they can."""
    if not isinstance(node, dict):
        return None
    at = where or "the schema"
    ref = node.get("$ref")
    if isinstance(ref, str):
        name = ref.rsplit("/", 1)[-1]
        if name in refs:
            return f"{at} refers back to {name!r} (a recursive type)"
        return _inexpressible(defs.get(name), defs, where, (*refs, name))
    if node.get("additionalProperties", False) is not False:
        return f"{at} is a map (an object with open additionalProperties)"
    if not _TYPED.intersection(node):
        return f"{at} may be any value (it has no type)"
    subs = [(f"{where}.{key}" if where else key, sub) for key, sub in (node.get("properties") or {}).items()]
    subs += [(where, sub) for key in ("anyOf", "oneOf", "allOf") for sub in node.get(key) or ()]
    subs.append((where, node.get("items")))
    for path, sub in subs:
        problem = _inexpressible(sub, defs, path, refs)
        if problem is not None:
            return problem
    return None


def _content(content: str | list[Any]) -> str | list[Any]:
    """OpenAI-style text parts become Anthropic text blocks, attachments image or document blocks;
    other blocks (the caller's own Anthropic blocks) pass through."""
    if isinstance(content, str):
        return content
    # text parts inline (most turns hold nothing else); a function call only for the others
    return [
        {"type": "text", "text": part.get("text", "")} if part.get("type") == "text" else _other(part)
        for part in content
    ]


def _other(part: Any) -> Any:
    """An attachment part as its block; any other part as it is."""
    return _file(part["attachment"]) if part.get("type") == "attachment" else part


def _file(attachment: Attachment) -> dict[str, Any]:
    """An attachment as an `image` or `document` (PDF) block: a URL source where the API fetches it
    (`AnthropicProvider.fetches_url`), else its base64 (encoded once per call, retries reuse it).

    The Messages API has no audio block: audio that gets here (a model without capability data,
    or a row that claims audio) is refused before anything is sent.
    """
    kind = attachment.kind
    if kind not in _BLOCKS:
        raise InvalidRequestError(
            f"Anthropic's Messages API takes no {kind}: attachment {attachment.describe()} is "
            f"{attachment.media_type}. Send it to a model that takes {kind} ({kind}_input), or leave it out."
        )
    if attachment.url is not None:
        return {"type": kind, "source": {"type": "url", "url": attachment.url}}
    source = {"type": "base64", "media_type": attachment.media_type, "data": attachment.base64()}
    return {"type": kind, "source": source}


def turns(messages: list[Message]) -> list[dict[str, Any]]:
    """Our turns in the Messages API's shape: an assistant turn's tool calls become `tool_use`
    blocks after its text; consecutive `tool` turns become one user turn of `tool_result` blocks,
    which also takes the content of a user turn right after them (results first, as the API wants).
    A result's content may hold images and PDFs too, as `tool_result` blocks allow."""
    out: list[dict[str, Any]] = []
    results: list[Any] | None = None  # the blocks of the user turn answering the last tool calls
    for m in messages:
        role = m["role"]
        if role == "tool":
            block = {"type": "tool_result", "tool_use_id": m["tool_call_id"], "content": _content(m["content"])}
            if results is None:
                results = [block]
                out.append({"role": "user", "content": results})
            else:
                results.append(block)
            continue
        if results is not None and role == "user":
            content = m["content"]
            if content:
                results.extend([{"type": "text", "text": content}] if isinstance(content, str) else _content(content))
        elif "tool_calls" in m:
            out.append({"role": "assistant", "content": _uses(m)})
        else:
            out.append({"role": role, "content": _content(m["content"])})
        results = None
    return out


def _uses(message: Message) -> list[Any]:
    """An assistant turn that calls tools as content blocks: its text, then a `tool_use` per call,
    each after the thinking that came before it (kept in the call's `extra`, sent back verbatim:
    with thinking on, the API refuses a tool round whose thinking is missing or moved)."""
    content = message["content"]
    text: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) and content else []
    if isinstance(content, list):
        text = list(_content(content))
    blocks: list[Any] = []
    for call in calls_of(message):
        blocks += _thoughts(call.extra)
        if text:  # the text goes after the first call's thinking: a turn with thinking starts with it
            blocks += text
            text = []
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": call.arguments})
    return blocks


def _thoughts(extra: Mapping[str, Any] | None) -> list[Any]:
    """The thinking blocks a call's `extra` carries ({"anthropic": {"thinking": [...]}}), or none."""
    ours = extra.get("anthropic") if extra else None
    thinking = ours.get("thinking") if isinstance(ours, Mapping) else None
    return thinking if isinstance(thinking, list) else []


def _with_thoughts(thoughts: list[Any] | None) -> dict[str, Any] | None:
    """The `extra` of a call the model made after thinking `thoughts` (None when it did not)."""
    return {"anthropic": {"thinking": thoughts}} if thoughts else None


def read(blocks: Any) -> tuple[str, list[ToolCall]]:
    """The text and the tool calls of a message's content blocks (a `tool_use` input is a dict);
    thinking blocks go with the call that follows them (see `_uses`)."""
    text, calls, thoughts = "", [], None  # the list becomes Completion.tool_calls, which would be a new [] anyway
    for block in blocks:
        kind = field(block, "type")
        if kind == "text":
            text += field(block, "text") or ""
        elif kind == "tool_use":
            arguments = field(block, "input")
            arguments = arguments if isinstance(arguments, dict) else {}
            calls.append(ToolCall(field(block, "id"), field(block, "name"), arguments, extra=_with_thoughts(thoughts)))
            thoughts = None
        elif kind in _THINKING:
            thoughts = [*(thoughts or ()), block]
    return text, calls


class Blocks:
    """A stream's content blocks being assembled: open `tool_use` and thinking blocks by index (a
    call's input as JSON fragments), and the thinking closed since the last call, which goes with the next."""

    __slots__ = ("open", "thoughts")

    def __init__(self) -> None:
        self.open: dict[Any, dict[str, Any]] = {}
        self.thoughts: list[Any] | None = None

    def start(self, index: Any, block: dict[str, Any]) -> None:
        kind = block.get("type")
        if kind == "tool_use":
            self.open[index] = {"type": kind, "id": block.get("id"), "name": block.get("name"), "input": []}
        elif kind in _THINKING:
            self.open[index] = dict(block)

    def add(self, index: Any, delta: dict[str, Any], kind: Any) -> None:
        block = self.open.get(index)
        if block is None:
            return
        if kind == "input_json_delta":
            block["input"].append(delta.get("partial_json") or "")
        elif kind in _GROWS:
            key = _GROWS[kind]
            block[key] = (block.get(key) or "") + (delta.get(key) or "")

    def stop(self, index: Any, result: Completion) -> None:
        block = self.open.pop(index, None)
        if block is None:
            return
        if block["type"] != "tool_use":
            self.thoughts = [*(self.thoughts or ()), block]
            return
        extra = _with_thoughts(self.thoughts)
        self.thoughts = None
        call = ToolCall.from_json(block["id"], block["name"], "".join(block["input"]), extra)
        result.tool_calls = [*result.tool_calls, call]
