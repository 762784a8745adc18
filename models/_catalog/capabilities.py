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

__all__ = ["check_messages", "check_options", "check_streaming", "has_capability_data"]

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
    response_format = options.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if options.get("response_schema") or options.get("response_json_schema"):
        kind = "json_schema"
    if not isinstance(kind, str):  # an unhashable "type" must not break the lookup; the provider will say
        return
    need = {"json_schema": Capability.STRUCTURED_OUTPUT, "json_object": Capability.JSON_MODE}.get(kind)
    if need is not None and need not in model.capabilities:
        raise UnsupportedCapabilityError(model.id, need.value, f"response format {kind!r}")


def check_streaming(model: ModelInfo) -> None:
    """Raise `UnsupportedCapabilityError` for a stream to a model that cannot stream."""
    if has_capability_data(model) and Capability.STREAMING not in model.capabilities:
        raise UnsupportedCapabilityError(model.id, Capability.STREAMING.value, "a stream; call it without streaming")
