"""Chat Completions' content, apart from `_openai.py` (which stays requests, answers and errors): our
turns as the API takes them, files (SPEC §10) as its `image_url`, `input_audio` and `file` parts, and
tool calls without another provider's data."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequestError

__all__ = ["FETCHED", "INLINE_LIMITS", "sendable"]


def sendable(messages: list[Any]) -> list[Any]:
    """The turns as Chat Completions takes them: files as its own parts (`with_files`), and tool
    calls without the provider data they may carry for another API (Gemini's thought signature in
    `extra_content`, after a fallback): OpenAI refuses message keys it does not know."""
    out = None
    for i, message in enumerate(messages):
        content = message["content"]
        if type(content) is list:
            for part in content:  # a loop, not any(generator): this runs for every list of parts
                if part["type"] == "attachment":
                    out = out or list(messages)
                    out[i] = message = with_files(message)
                    break
        calls = message.get("tool_calls")
        if calls and any("extra_content" in call for call in calls):
            out = out or list(messages)
            out[i] = {**message, "tool_calls": [{k: v for k, v in c.items() if k != "extra_content"} for c in calls]}
    return out or messages


# Files in the prompt (SPEC §10) as Chat Completions takes them, from OpenAI's docs:
# - Images (PNG, JPEG, non-animated GIF, WEBP) in `image_url`, by http(s) URL (OpenAI fetches it) or
#   data: URL. "Request size: Up to 512 MB total payload per request", "Image count: Up to 1,500
#   images per request", no limit per image: https://developers.openai.com/api/docs/guides/images-vision
#   ("Image input requirements"). One inline image is at most what fits that payload as base64.
# - PDFs, the only files Chat Completions takes, in `file` parts: inline as `file_data` (a data: URL)
#   with a `filename`, or a `file_id`; never by URL ("External file URL (file_url) ... Chat
#   Completions: Not supported"). "Each file must be under 50 MB. The combined limit across all
#   files in the request is 50 MB.": https://developers.openai.com/api/docs/guides/file-inputs
# - Audio in `input_audio`: base64 `data` and `format` "wav" or "mp3", no URL form, for the audio
#   models (gpt-audio, gpt-4o-audio-preview, ...): https://developers.openai.com/api/docs/guides/audio
#   documents no size limit.
# MB are decimal: OpenAI writes no MiB there.
FETCHED = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
INLINE_LIMITS = {"application/pdf": 50_000_000, **dict.fromkeys(FETCHED, 512_000_000 * 3 // 4)}


def with_files(message: dict[str, Any]) -> dict[str, Any]:
    """A turn's `{"type": "attachment"}` parts as `image_url`, `input_audio` and `file` parts: an
    image the provider fetches by its URL, anything else inline (its base64 encoded once per call,
    however many attempts send it). Chat Completions takes files in user turns only."""
    parts = []
    for part in message["content"]:
        if part["type"] != "attachment":
            parts.append(part)
            continue
        file = part["attachment"]
        if message["role"] != "user":
            raise InvalidRequestError(
                f"Attachment {file.describe()} is in a turn of role {message['role']!r}; OpenAI's Chat Completions "
                "takes images, audio and PDFs in user turns only. Move it to a user message."
            )
        if file.kind == "image":
            image = {"url": file.url if file.url is not None else file.data_url()}
            if file.detail is not None:
                image["detail"] = file.detail
            parts.append({"type": "image_url", "image_url": image})
        elif file.kind == "audio":
            audio = {"data": file.base64(), "format": "wav" if file.media_type == "audio/wav" else "mp3"}
            parts.append({"type": "input_audio", "input_audio": audio})
        else:
            parts.append({"type": "file", "file": {"filename": file.name, "file_data": file.data_url()}})
    return {**message, "content": parts}
