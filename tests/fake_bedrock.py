"""The Bedrock part of tests/fake_llm.py: Converse, ConverseStream and InvokeModel as botocore talks to them.

Paths `POST /model/{modelId}/converse` and `/converse-stream` (the id URL-encoded, as botocore sends
it), and `/invoke` for the embedding models (`render_invoke`); errors as the restJson1 protocol sends
them (a JSON `{"message": ...}` body, the error's name in the `x-amzn-ErrorType` header, the request id
in `x-amzn-RequestId`); streams in the AWS event-stream binary framing (`frame`), in-stream errors as
`exception` messages. `check` refuses what the real API refuses with a 400 ValidationException (its own
messages where they are known). Reply and Fault are read by attribute, so this module needs nothing
from fake_llm.py (which imports it); its vectors and tokens are tests/fake_embeddings.py's.
"""

from __future__ import annotations

import json
import re
import struct
import uuid
import zlib
from typing import Any

from .fake_embeddings import fake_tokens, fake_vector

PATH = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")
STREAM_TYPE = "application/vnd.amazon.eventstream"
REQUEST_ID = "x-amzn-RequestId"
SECRET_HEADERS = ("authorization", "x-amz-security-token")  # what an echoing server shows of the credentials

_STOP = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "content_filtered"}
_CODES = {  # status -> the error Bedrock answers it with, for a Fault that names none
    400: "ValidationException",
    401: "UnrecognizedClientException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}
_KINDS = {  # Fault kind -> (status, error, message), the service's own wording
    "rate_limit": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "auth": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "invalid_key": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "context_window": (400, "ValidationException", "Input is too long for requested model."),
    "server": (500, "InternalServerException", "The system encountered an unexpected error during processing."),
    "overloaded": (503, "ServiceUnavailableException", "Bedrock is unable to process your request."),
}


def error(fault: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body and headers of `fault` as Bedrock sends an error (`Fault.code` names the error)."""
    status, code, message = _resolve(fault)
    return (
        status,
        {"message": message},
        {"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"},
    )


def _resolve(fault: Any) -> tuple[int, str, str]:
    status, code, message = fault.status or 500, fault.code, fault.message
    if fault.kind in _KINDS:
        status, kind_code, kind_message = _KINDS[fault.kind]
        code = code or kind_code
        message = kind_message if message == "fault" else message
    return (
        status,
        code or _CODES.get(status, "InternalServerException" if status >= 500 else "ValidationException"),
        message,
    )


def exception_frame(fault: Any) -> bytes:
    """The in-stream error event for `fault`: an `exception` message named like the stream's union
    member (`throttlingException`, `modelStreamErrorException`, ...)."""
    _, code, message = _resolve(fault)
    headers = {":exception-type": code[:1].lower() + code[1:], ":content-type": "application/json"}
    return frame({**headers, ":message-type": "exception"}, {"message": message})


def frame(headers: dict[str, str], payload: Any) -> bytes:
    """One event-stream message: prelude (total length, headers length, their CRC32), headers (string
    values, type 7), the JSON payload, and the CRC32 of everything before it."""
    head = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 12 + len(head) + len(body) + 4, len(head))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + head + body
    return message + struct.pack(">I", zlib.crc32(message))


def _event(name: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, {**payload, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"[: len(name)]})  # the API pads events


def _split(text: str, n: int) -> list[str]:
    n = max(1, min(n, len(text)))
    size, extra = divmod(len(text), n)
    bounds = [i * size + min(i, extra) for i in range(n + 1)]
    return [text[bounds[i] : bounds[i + 1]] for i in range(n)]


def render(r: Any, text: str) -> tuple[dict[str, Any], list[bytes], list[bytes], list[bytes]]:
    """The Converse body and the ConverseStream events (preamble, one per text piece, the rest) of a Reply.

    Usage as Bedrock reports it: `inputTokens` without the cache reads and writes, which come apart
    (https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html); text first, then a
    `toolUse` block per call. Streamed: text deltas (no start event for a text block), then per call
    a `contentBlockStart` with its id and name and its input as JSON fragments, then `messageStop`
    and the `metadata` event with the usage.
    """
    usage = r.raw_usage
    if usage is None:
        usage = {
            "inputTokens": r.input_tokens - r.cached_input_tokens - r.cache_write_tokens,
            "outputTokens": r.output_tokens,
            "totalTokens": r.input_tokens + r.output_tokens,
        }
        if r.cached_input_tokens or r.cache_write_tokens:
            usage.update(cacheReadInputTokens=r.cached_input_tokens, cacheWriteInputTokens=r.cache_write_tokens)
    stop = "guardrail_intervened" if r.blocked else _STOP.get(r.finish_reason, r.finish_reason)
    if r.blocked:  # a guardrail answers with its own message
        text = r.text or ""
    has_text = bool(text) or not r.tool_calls
    content: list[dict[str, Any]] = [{"text": text}] if has_text else []
    content += [{"toolUse": {"toolUseId": i, "name": n, "input": a}} for i, n, a in r.tool_calls]
    body = {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop,
        "usage": usage,
        "metrics": {"latencyMs": 12},
    }
    pre = [_event("messageStart", {"role": "assistant"})]
    pieces = [
        _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": p}}) for p in _split(text, r.chunks)
    ]
    post = [_event("contentBlockStop", {"contentBlockIndex": 0})] if has_text else []
    if not has_text:
        pieces = []
    for index, (call_id, name, arguments) in enumerate(r.tool_calls, start=len(content) - len(r.tool_calls)):
        post.append(
            _event(
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": call_id, "name": name}}},
            )
        )
        for piece in _split(json.dumps(arguments), r.chunks):
            post.append(
                _event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
            )
        post.append(_event("contentBlockStop", {"contentBlockIndex": index}))
    post.append(_event("messageStop", {"stopReason": stop}))
    post.append(_event("metadata", {"usage": usage, "metrics": {"latencyMs": 12}}))
    return body, pre, pieces, post


def request_id() -> str:
    return str(uuid.uuid4())


# What the API refuses with a 400 ValidationException. Messages are the service's own where known
# (from reports of its errors): the alternating roles, a blank text field, duplicate document names,
# more than five documents, the toolConfig a conversation with tool blocks needs, the closed objects
# of an output schema; the others are ours.
_NAME = re.compile(r"[A-Za-z0-9()\[\]\- ]+")  # DocumentBlock.name: alphanumerics, single spaces, -, (), []
_IMAGE_MAX, _DOCUMENT_MAX = 3_932_160, 4_718_592  # 3.75 MB and 4.5 MB (of 2**20 bytes) per file
_MAGIC = {"png": b"\x89PNG", "jpeg": b"\xff\xd8\xff", "gif": b"GIF8", "pdf": b"%PDF-"}


def check(body: dict[str, Any]) -> str | None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "The messages field is required and must contain at least one message."
    if messages[0].get("role") != "user":
        return (
            "A conversation must start with a user message. Try again with a conversation that starts with a "
            "user message."
        )
    names: set[str] = set()
    documents = 0
    uses: set[str] = set()
    for i, message in enumerate(messages):
        role = message.get("role")
        if i and role == messages[i - 1].get("role"):
            return (
                "A conversation must alternate between user and assistant roles. Make sure the conversation "
                "alternates between user and assistant roles and try again."
            )
        content = message.get("content")
        if not isinstance(content, list) or not content:
            return (
                f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to "
                "the content field and try again."
            )
        answered = {b["toolResult"].get("toolUseId") for b in content if "toolResult" in b}
        if (uses or answered) and answered != uses:
            return (
                f"Expected toolResult blocks at messages.{i}.content for the following Ids: {', '.join(sorted(uses))}, "
                f"but found: {', '.join(sorted(map(str, answered)))}"
            )
        uses = {b["toolUse"].get("toolUseId") for b in content if "toolUse" in b}
        for j, block in enumerate(content):
            where = f"messages.{i}.content.{j}"
            problem = _block(block, where, role, names)
            if problem is not None:
                return problem
            documents += "document" in block
        if documents > 5:
            return "You can't include more than 5 documents in a request."
    tool_blocks = any("toolUse" in b or "toolResult" in b for m in messages for b in m.get("content") or ())
    if tool_blocks and "toolConfig" not in body:
        return "The toolConfig field must be defined when using toolUse and toolResult content blocks."
    for block in body.get("system") or ():
        if "text" in block and not str(block["text"]).strip():
            return (
                "The text field in the SystemContentBlock object is blank. Add text to the text field, and try again."
            )
    return _check_output(body.get("outputConfig"))


def _block(block: dict[str, Any], where: str, role: Any, names: set[str]) -> str | None:
    if "text" in block and not str(block["text"]).strip():
        return (
            f"The text field in the ContentBlock object at {where} is blank. Add text to the text field, and try again."
        )
    kind = "image" if "image" in block else "document" if "document" in block else None
    if kind is None:
        result = block.get("toolResult")
        inner = result.get("content") if isinstance(result, dict) else None
        for k, part in enumerate(inner if isinstance(inner, list) else ()):
            if "image" in part or "document" in part:
                problem = _file(part, f"{where}.toolResult.content.{k}", names)
                if problem is not None:
                    return problem
        return None
    if role != "user":
        return f"The {kind} at {where} is in a message of role {role}: images and documents go only in user messages."
    return _file(block, where, names)


def _file(block: dict[str, Any], where: str, names: set[str]) -> str | None:
    import base64
    import binascii

    kind = "image" if "image" in block else "document"
    file = block[kind]
    data = (file.get("source") or {}).get("bytes")
    try:
        content = base64.b64decode(data or "", validate=True)
    except (binascii.Error, ValueError):
        return f"Invalid base64 in {where}.{kind}.source.bytes."
    if not content:
        return f"The {kind} at {where} is empty."
    if len(content) > (_IMAGE_MAX if kind == "image" else _DOCUMENT_MAX):
        return f"The {kind} at {where} is {len(content)} bytes, over the maximum size."
    fmt = file.get("format")
    if fmt in _MAGIC and not content.startswith(_MAGIC[fmt]):
        return f"The {kind} at {where} is not a valid {fmt}."
    if kind == "document":
        name = file.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or "  " in name or len(name) > 200:
            return (
                f"The name field at {where}.document is not valid: it can only contain alphanumeric characters, "
                "whitespace characters (no more than one in a row), hyphens, parentheses and square brackets."
            )
        if name in names:
            return "Messages can't contain duplicate document names. Rename the document and retry your request."
        names.add(name)
    return None


def _check_output(config: Any) -> str | None:
    """Structured outputs: the schema is JSON text, and every object in it closed."""
    if not isinstance(config, dict):
        return None
    schema = (((config.get("textFormat") or {}).get("structure") or {}).get("jsonSchema") or {}).get("schema")
    try:
        parsed = json.loads(schema)
    except (TypeError, ValueError):
        return "outputConfig.textFormat.structure.jsonSchema.schema must be a JSON string."
    return _open_object(parsed)


def _open_object(node: Any) -> str | None:
    if isinstance(node, list):
        return next((p for p in map(_open_object, node) if p is not None), None)
    if not isinstance(node, dict):
        return None
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        return "output_config.format.schema: For 'object' type, 'additionalProperties' must be explicitly set to false"
    return next((p for p in map(_open_object, node.values()) if p is not None), None)


# InvokeModel for the embedding models: Titan Text Embeddings V2 (one `inputText`, `dimensions` 256, 512
# or 1024, default 1024; `inputTextTokenCount` in the body) and Cohere Embed v3 (1 to 96 `texts`, a
# required `input_type`; 1024 dimensions; no usage in the body). Both set the billed tokens in the
# X-Amzn-Bedrock-Input-Token-Count header; a Reply's empty raw_usage leaves the header out. Refusals are
# 400 ValidationExceptions worded as Bedrock's JSON-schema check words them ("Malformed input request:
# #/...: ..., please reformat your input and try again.").
TOKENS_HEADER = "X-Amzn-Bedrock-Input-Token-Count"
COHERE_MOST = 96
_TITAN_SIZES = (256, 512, 1024)
_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
_TRUNCATE = ("NONE", "START", "END")


def _malformed(problem: str) -> str:
    return f"Malformed input request: {problem}, please reformat your input and try again."


def render_invoke(
    model: str, body: dict[str, Any], usage: dict[str, Any] | None
) -> tuple[str | None, Any, dict[str, str]]:
    """The refusal (a ValidationException's message), or None with the body and headers of the answer."""
    if "titan-embed-text" in model:
        text, size = body.get("inputText"), body.get("dimensions", 1024)
        if not isinstance(text, str):
            found = "JSONArray" if isinstance(text, list) else type(text).__name__
            return _malformed(f"#/inputText: expected type: String, found: {found}"), None, {}
        if not text:
            return _malformed("#/inputText: expected minLength: 1, actual: 0"), None, {}
        if size not in _TITAN_SIZES:
            return _malformed(f"#/dimensions: {size} is not a valid enum value"), None, {}
        tokens = fake_tokens(text)
        answer: Any = {"embedding": fake_vector(text, size), "inputTextTokenCount": tokens}
        answer["embeddingsByType"] = {"float": answer["embedding"]}
    elif "cohere.embed-" in model:
        texts = body.get("texts")
        if "input_type" not in body:
            return _malformed("#: required key [input_type] not found"), None, {}
        if body["input_type"] not in _INPUT_TYPES:
            return _malformed(f"#/input_type: {body['input_type']} is not a valid enum value"), None, {}
        if body.get("truncate", "NONE") not in _TRUNCATE:
            return _malformed(f"#/truncate: {body['truncate']} is not a valid enum value"), None, {}
        if not isinstance(texts, list) or not all(isinstance(t, str) and t for t in texts):
            return _malformed("#/texts: expected type: JSONArray of non-empty strings"), None, {}
        if len(texts) > COHERE_MOST:
            return _malformed(f"#/texts: expected maximum item count: {COHERE_MOST}, found: {len(texts)}"), None, {}
        tokens = sum(fake_tokens(t) for t in texts)
        answer = {
            "embeddings": [fake_vector(t, 1024) for t in texts],
            "id": str(uuid.uuid4()),
            "response_type": "embeddings_floats",
            "texts": texts,
        }
    else:
        return "The provided model identifier is invalid.", None, {}
    return None, answer, {} if usage == {} else {TOKENS_HEADER: str(tokens)}
