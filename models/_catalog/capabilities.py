"""What a call needs of a model, checked against the catalog before anything is sent.

Only catalog models with capability data (every such row lists `text_input`) are checked;
a model the catalog does not know is given the benefit of the doubt (its provider will say).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._content.messages import Message
from ..errors import UnsupportedCapabilityError
from .info import Capability, ModelInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._content.output import OutputFormat

__all__ = ["check_messages", "check_options", "check_output", "check_streaming", "has_capability_data"]

# content part types (OpenAI, Anthropic and Gemini spellings) → the input capability they need
_PARTS = {
    "image_url": Capability.IMAGE_INPUT,
    "input_image": Capability.IMAGE_INPUT,
    "image": Capability.IMAGE_INPUT,
    "input_audio": Capability.AUDIO_INPUT,
    "audio": Capability.AUDIO_INPUT,
    "file": Capability.DOCUMENT_INPUT,
    "input_file": Capability.DOCUMENT_INPUT,
    "document": Capability.DOCUMENT_INPUT,
    "video": Capability.VIDEO_INPUT,
    "video_url": Capability.VIDEO_INPUT,
}
_KINDS = {"image": Capability.IMAGE_INPUT, "document": Capability.DOCUMENT_INPUT, "audio": Capability.AUDIO_INPUT}
_TOOLS = ("tools", "functions", "tool_choice")


def has_capability_data(model: ModelInfo) -> bool:
    """Whether the catalog says what `model` can do (context-size flags alone do not count)."""
    return Capability.TEXT_INPUT in model.capabilities


def check_messages(model: ModelInfo, messages: list[Message]) -> None:
    """Raise `UnsupportedCapabilityError` for a content part the model cannot take."""
    for message in messages:
        content = message["content"]
        if type(content) is not list:
            continue
        for part in content:
            if isinstance(part, Mapping) and part.get("type") == "attachment":  # a file: its kind decides
                kind = getattr(part["attachment"], "kind", None)
                need = _KINDS.get(kind or "")
                if need is not None and need not in model.capabilities:
                    what = f"{kind} attachment {part['attachment'].describe()}"
                    raise UnsupportedCapabilityError(model.id, need.value, what)
                continue
            need = _PARTS.get(part.get("type", "")) if isinstance(part, Mapping) else None
            if need is not None and need not in model.capabilities:
                raise UnsupportedCapabilityError(model.id, need.value, f"a {part['type']!r} part in the prompt")


def check_options(model: ModelInfo, options: Mapping[str, Any]) -> None:
    """Raise `UnsupportedCapabilityError` for tools or an output format the model cannot honour."""
    if not has_capability_data(model):
        return
    for name in _TOOLS:
        if options.get(name) and Capability.FUNCTION_CALLING not in model.capabilities:
            raise UnsupportedCapabilityError(model.id, Capability.FUNCTION_CALLING.value, f"{name}=")
    if options.get("response_schema") or options.get("response_json_schema"):  # Gemini's own spelling
        check_output(model, "json_schema")


def check_output(model: ModelInfo, output: OutputFormat | str | None) -> None:
    """Raise `UnsupportedCapabilityError` for an output format the model cannot honour: a schema
    needs structured output; "json" (any object) JSON mode or structured output."""
    if output is None or not has_capability_data(model):
        return
    caps = model.capabilities
    schema = output == "json_schema" if isinstance(output, str) else output.schema is not None
    if schema and Capability.STRUCTURED_OUTPUT not in caps:
        raise UnsupportedCapabilityError(model.id, Capability.STRUCTURED_OUTPUT.value, "response_format with a schema")
    if not schema and Capability.JSON_MODE not in caps and Capability.STRUCTURED_OUTPUT not in caps:
        raise UnsupportedCapabilityError(model.id, Capability.JSON_MODE.value, "response_format='json'")


def check_streaming(model: ModelInfo) -> None:
    """Raise `UnsupportedCapabilityError` for a stream to a model that cannot stream."""
    if has_capability_data(model) and Capability.STREAMING not in model.capabilities:
        raise UnsupportedCapabilityError(model.id, Capability.STREAMING.value, "a stream; call it without streaming")
