"""AWS Bedrock through the Converse and ConverseStream APIs (`boto3`, the optional extra `models[bedrock]`)."""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import AsyncIterator, Generator, Mapping
from typing import TYPE_CHECKING, Any

from .._catalog.info import ModelInfo
from .._fork import fork_safe_lock
from .._types import Completion
from ..errors import (
    AuthenticationError,
    ConfigurationError,
    ContextWindowExceededError,
    InvalidRequestError,
    MissingAPIKeyError,
    MissingSettingError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
    ServerError,
)
from . import _bedrock_embed
from ._base import Embedded, EmbedRequest, Provider, Request
from ._bedrock_content import Blocks, declare_output, declare_tools, read, turns
from ._common import (
    bad_response,
    error_for_status,
    import_sdk,
    redact,
    retry_after_from_headers,
    stream_ended,
    text_of,
)

if TYPE_CHECKING:
    from .._content.output import OutputFormat
    from .._content.tools import Toolset

_INSTALL = "'models[bedrock]'"
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "content_filtered": "content_filter",
    "guardrail_intervened": "content_filter",
}
_INFERENCE = {"max_tokens": "maxTokens", "temperature": "temperature", "top_p": "topP", "stop": "stopSequences"}
_SET_BY_CALL = frozenset({"modelId", "messages", "system"})  # Converse's members a call fills in itself
# Per file, from the Message type's restrictions ("Each image's size ... must be no more than 3.75 MB",
# "Each document's size must be no more than 4.5 MB": https://docs.aws.amazon.com/bedrock/latest/APIReference/
# API_runtime_Message.html), in MB of 2**20 bytes: 3.75 of them is the raw size of a 5 MB base64 image,
# the limit of the Claude models behind it. Audio has none documented. Converse fetches no URL (only
# S3 locations, which an Attachment is not): every file goes inline.
_IMAGE_LIMIT = 3_932_160
_DOCUMENT_LIMIT = 4_718_592
_CLIENTS_KEPT = 8  # clients per distinct timeout (botocore sets timeouts per client); the oldest goes first
_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK")
_NAMED = ", ".join(_CREDENTIALS)
_ERRORS: dict[str, type[ProviderError]] = {  # botocore's Error.Code (an in-stream one capitalised) -> ours
    "ThrottlingException": RateLimitError,
    "ServiceQuotaExceededException": RateLimitError,
    "ValidationException": InvalidRequestError,
    "ResourceNotFoundException": InvalidRequestError,
    "AccessDeniedException": AuthenticationError,
    "UnrecognizedClientException": AuthenticationError,
    "ExpiredTokenException": AuthenticationError,
    "InvalidSignatureException": AuthenticationError,
    "ModelTimeoutException": ProviderTimeoutError,
    "InternalServerException": ServerError,
    "ServiceUnavailableException": ServerError,
    "ModelNotReadyException": ServerError,
    "ModelErrorException": ServerError,
    "ModelStreamErrorException": ServerError,
}
# Bedrock has no error code for a prompt over the model's window: a ValidationException whose text
# says so ("Input is too long for requested model.", or the model's own "prompt is too long: N tokens
# > M maximum") is the only signal.
_TOO_LONG = ("input is too long", "prompt is too long", "maximum context length")


class _Clients:
    """One boto3 session's `bedrock-runtime` clients, one per timeout: botocore takes connect and read
    timeouts per client, not per call, so a call with a new timeout builds a client from the session
    (~3 ms; the service model is loaded once), and the `_CLIENTS_KEPT` latest are kept. Their own
    retries are off (the service retries: one layer), and so is botocore's check of each request
    against the API's shapes: the requests are built here, and a caller's keywords are checked
    once, when they are translated."""

    __slots__ = ("_by_timeout", "_credentials", "_endpoint", "_lock", "_region", "_session", "_token")

    def __init__(self, session: Any, region: str, endpoint: str | None, credentials: Any, token: str | None) -> None:
        self._session, self._region, self._endpoint = session, region, endpoint
        self._credentials, self._token = credentials, token
        self._by_timeout: dict[float, Any] = {}
        self._lock = fork_safe_lock()

    def get(self, timeout: float) -> Any:
        client = self._by_timeout.get(timeout)
        return client if client is not None else self._new(timeout)

    def _new(self, timeout: float) -> Any:
        config_class = import_sdk("botocore.config", "boto3", _INSTALL).Config
        with self._lock:
            client = self._by_timeout.get(timeout)
            if client is None:
                if len(self._by_timeout) >= _CLIENTS_KEPT:
                    del self._by_timeout[next(iter(self._by_timeout))]
                config = config_class(
                    connect_timeout=timeout,
                    read_timeout=timeout,
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    parameter_validation=False,
                    max_pool_connections=100,
                )
                client = self._session.client(
                    "bedrock-runtime", region_name=self._region, endpoint_url=self._endpoint, config=config
                )
                self._by_timeout[timeout] = client
        return client

    def secrets(self) -> list[str]:
        """What must never be shown: the secret key, the session token (on the wire in a header), the
        Bedrock API key. Read now: refreshed credentials have new ones."""
        found = [self._token] if self._token else []
        if self._credentials is not None:
            frozen = self._credentials.get_frozen_credentials()
            found += [s for s in (frozen.secret_key, frozen.token) if s]
        return found


def _kwargs(request: Request) -> dict[str, Any]:
    """Keyword arguments of `converse` / `converse_stream`."""
    messages = request.messages
    converse, own = turns(messages, request.model.id)
    kwargs = {**request.options, "modelId": request.model.name, "messages": converse}
    if request.system is not None:
        kwargs["system"] = [{"text": request.system}]
    if own:  # the caller's own blocks: checked against Converse's shapes, as botocore would have
        _check(kwargs, request.model)
    if len(messages) > 1 and "toolConfig" not in kwargs and any(m["role"] == "tool" for m in messages):
        raise InvalidRequestError(
            "Bedrock's Converse needs the tools declared when the conversation holds tool calls and results: "
            "pass the tools= the conversation used (tool_choice='none' cannot be sent: Converse has no such choice).",
            provider="bedrock",
            model=request.model.id,
        )
    return kwargs


def _counts(usage: Any, result: Completion) -> None:
    """A Converse usage object into `result`. Its inputTokens excludes cache reads and writes ("total
    input tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens",
    https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html); ours counts every prompt token."""
    cached = usage.get("cacheReadInputTokens") or 0
    written = usage.get("cacheWriteInputTokens") or 0
    result.input_tokens = (usage.get("inputTokens") or 0) + cached + written
    result.output_tokens = usage.get("outputTokens") or 0
    result.cached_input_tokens, result.cache_write_tokens = cached, written
    details = usage.get("cacheDetails")
    if details:  # 5-minute and 1-hour writes are priced apart
        result.cache_write_1h_tokens = sum(d.get("inputTokens") or 0 for d in details if d.get("ttl") == "1h")
    result.usage_reported = True


def _finish(result: Completion, reason: Any) -> None:
    """The normalised finish reason; calls finish by `tool_calls` even where the API says end_turn."""
    finish = _FINISH.get(reason)
    result.finish_reason = "tool_calls" if result.tool_calls and finish in (None, "stop") else finish


def _completion(response: Any, model: ModelInfo) -> Completion:
    """Our result from `converse`'s response (a dict: boto3 has parsed it), kept as `raw`."""
    message = (response.get("output") or {}).get("message")
    if not isinstance(message, dict):
        raise bad_response("Bedrock answered a Converse request without an output message.", model=model.id)
    text, calls = read(message.get("content") or ())
    result = Completion(text, raw=response, usage_reported=False, tool_calls=calls)
    result.response_id = text_of((response.get("ResponseMetadata") or {}).get("RequestId"))
    usage = response.get("usage")
    if usage is not None:
        _counts(usage, result)
    _finish(result, response.get("stopReason"))
    return result


def _apply(event: dict[str, Any], result: Completion, blocks: Blocks) -> str | None:
    """Record one ConverseStream event (botocore has parsed it: `{name: body}`); return its text, if any."""
    body = event.get("contentBlockDelta")
    if body is not None:
        delta = body.get("delta") or {}
        text: str | None = delta.get("text")
        if text is None:
            blocks.add(body.get("contentBlockIndex"), delta)
        return text
    if "contentBlockStart" in event:
        body = event["contentBlockStart"]
        blocks.start(body.get("contentBlockIndex"), body.get("start") or {})
    elif "contentBlockStop" in event:
        blocks.stop(event["contentBlockStop"].get("contentBlockIndex"), result)
    elif "messageStop" in event:
        _finish(result, event["messageStop"].get("stopReason"))
    elif "metadata" in event:
        usage = event["metadata"].get("usage")
        if usage is not None:
            _counts(usage, result)
    return None


@functools.cache
def _input_shape() -> Any:
    """Converse's input shape, from botocore's service model (loaded once per process)."""
    botocore = import_sdk("botocore.session", "boto3", _INSTALL)
    return botocore.get_session().get_service_model("bedrock-runtime").operation_model("Converse").input_shape


class BedrockProvider(Provider):
    """Bedrock's Converse API via boto3: the AWS credential chain (no key variable), `AWS_REGION`, and
    `BEDROCK_ENDPOINT_URL` (or `configure("bedrock", base_url=...)`) for another endpoint;
    `configure("bedrock", region=..., profile=...)` choose them in code.

    boto3 has no asyncio client: `acall` runs the call in a worker thread (the `Provider` default), and
    `astream` each wait for the next piece, so an event loop is never blocked.
    """

    base_url_env = "BEDROCK_ENDPOINT_URL"
    client_options = frozenset({"region", "profile"})  # before AWS_REGION and AWS_PROFILE
    unsupported = frozenset({"seed"})

    def create_client(self, api_key: str | None, base_url: str | None) -> _Clients:
        """The session's clients, after checking, before anything is sent, that there is a region and
        credentials (the chain: environment, profile, SSO, container or instance role; or a Bedrock API key)."""
        if api_key:
            raise ConfigurationError(
                "Bedrock takes no api_key: boto3 signs with your AWS credentials (AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK."
            )
        boto3 = import_sdk("boto3", "boto3", _INSTALL)
        exceptions = import_sdk("botocore.exceptions", "boto3", _INSTALL)
        options = self.settings.options
        try:
            session = boto3.session.Session(profile_name=options.get("profile"))
        except exceptions.ProfileNotFound as exc:
            where = "configure('bedrock', profile=...)" if options.get("profile") else "AWS_PROFILE"
            raise ConfigurationError(f"{where} names a profile that does not exist: {exc}") from None
        region = (
            options.get("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or session.region_name
        )
        if not region:
            raise MissingSettingError(
                "No AWS region for provider 'bedrock': set AWS_REGION (e.g. us-east-1), call "
                "models.configure('bedrock', region=...), or give your AWS profile a region."
            )
        token = os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or None
        credentials = session.get_credentials()
        if credentials is None and token is None:
            missing = MissingAPIKeyError(self.name, _CREDENTIALS)  # so fallbacks pass Bedrock over, as a missing key
            missing.args = (
                "No AWS credentials for provider 'bedrock': set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
                "AWS_PROFILE (a profile of ~/.aws/config), or a Bedrock API key in AWS_BEARER_TOKEN_BEDROCK.",
            )
            raise missing
        return _Clients(session, region, base_url, credentials, token)

    def keywords(self) -> frozenset[str]:
        """Converse's own request members (`inferenceConfig`, `additionalModelRequestFields`,
        `performanceConfig`, `guardrailConfig`, ...), less those every call fills in."""
        return frozenset(_input_shape().members) - _SET_BY_CALL

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        """Common parameters into `inferenceConfig`; the rest as Converse's members, checked here against
        its shapes (the clients skip that check per call)."""
        options: dict[str, Any] = {}
        inference: dict[str, Any] = {}
        for name, value in params.items():
            key = _INFERENCE.get(name)
            if key is None:
                options[name] = value
            elif name == "stop":
                inference[key] = [value] if isinstance(value, str) else list(value)
            else:
                inference[key] = value
        if inference:
            options["inferenceConfig"] = {**(options.get("inferenceConfig") or {}), **inference}
        if options:
            _check({**options, "modelId": "m", "messages": []}, model)
        return options

    def tool_options(self, model: ModelInfo, tools: Toolset) -> dict[str, Any]:
        options = declare_tools(tools)
        if any(tool.native is not None for tool in tools.tools):  # Converse's own tools, as the caller gave them
            _check({**options, "modelId": "m", "messages": []}, model)
        return options

    def output_options(self, model: ModelInfo, output: OutputFormat) -> dict[str, Any]:
        return declare_output(output)

    def fetches_url(self, media_type: str | None) -> bool:
        """Never: Converse fetches S3 locations only, so an http(s) file is downloaded and sent inline."""
        return False

    def inline_limit(self, media_type: str | None) -> int | None:
        """3.75 MB per image, 4.5 MB per document (see `_IMAGE_LIMIT`); audio has no documented limit."""
        if media_type is None or media_type.startswith("image/"):
            return _IMAGE_LIMIT
        return _DOCUMENT_LIMIT if media_type == "application/pdf" else None

    def complete(self, request: Request) -> Completion:
        response = self.client().get(request.timeout).converse(**_kwargs(request))
        return _completion(response, request.model)

    def embed(self, request: EmbedRequest) -> Embedded:
        """Titan or Cohere embeddings through `invoke_model` (`_bedrock_embed`); `aembed` is the default thread."""
        return _bedrock_embed.embed(self.client().get(request.timeout), request)

    def embed_limits(self, model: ModelInfo) -> tuple[int, int | None]:
        return _bedrock_embed.embed_limits(model)

    def embed_keywords(self) -> frozenset[str]:
        return _bedrock_embed.EMBED_KEYWORDS

    def stream(self, request: Request, result: Completion) -> Generator[str, None, None]:
        result.usage_reported = False  # until the metadata event
        blocks = Blocks()
        events = self.client().get(request.timeout).converse_stream(**_kwargs(request))["stream"]
        stopped = ended = False
        try:
            for event in events:
                stopped = stopped or "messageStop" in event  # read on to the metadata and the body's end
                piece = _apply(event, result, blocks)
                if piece:
                    yield piece
            ended = True
        finally:
            if not ended:  # closed early or failed: close the response (a whole one goes back to the pool)
                events.close()
        if not stopped:
            raise stream_ended("Bedrock", "messageStop")

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        """`stream`, each next piece awaited in a worker thread (boto3 has no asyncio client)."""
        import asyncio  # here, not at the top: only async code gets here, and `import models` stays light

        pieces = self.stream(request, result)
        try:
            while True:
                piece = await asyncio.to_thread(next, pieces, None)
                if piece is None:
                    return
                yield piece
        finally:
            with contextlib.suppress(ValueError):  # cancelled while a thread reads it: closed when that read ends
                pieces.close()

    def scrub_error(self, error: BaseException) -> None:
        """Take the AWS secrets (secret key, session token, Bedrock API key) out of `error` in place,
        and out of the exceptions botocore was handling when it raised it: it wraps urllib3's without
        `raise ... from`, and their frames hold the signed request's headers. Such an implicit context
        is followed only while it was raised inside the SDK's stack; beyond is the caller's own."""
        secrets = self._secrets()
        if not secrets:
            return
        from ._common import scrub_exception

        links, current = [error], error
        while True:
            cause = current.__cause__
            follow = cause if cause is not None else current.__context__
            if follow is None or any(follow is seen for seen in links):
                break
            if cause is None and not _inside_sdk(follow):
                break
            links.append(follow)
            current = follow
        for link in links:
            for secret in secrets:
                scrub_exception(link, secret)

    def _secrets(self) -> list[str]:
        clients = self._client
        return clients.secrets() if isinstance(clients, _Clients) else []

    def _redact(self, text: str) -> str:
        for secret in self._secrets():
            text = redact(text, secret)
        return redact(text, None)

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        exceptions = sys.modules.get("botocore.exceptions")
        if exceptions is None:  # boto3 was never imported, so this is not its error
            return super().map_error(error, model)
        where: dict[str, Any] = {"provider": self.name, "model": model.id}
        if isinstance(error, exceptions.ClientError):  # an HTTP error, or an in-stream exception event
            return self._service_error(error, model, where)
        if isinstance(error, (exceptions.ReadTimeoutError, exceptions.ConnectTimeoutError)):  # before their bases
            return ProviderTimeoutError(f"Bedrock did not answer in time ({type(error).__name__}).", **where)
        if isinstance(error, (exceptions.ConnectionError, exceptions.HTTPClientError)):
            return ProviderConnectionError(f"The connection to Bedrock failed: {self._redact(str(error))}", **where)
        if isinstance(error, (exceptions.NoCredentialsError, exceptions.NoAuthTokenError)):
            return AuthenticationError(f"Bedrock: {error} (check {_NAMED}).", **where)
        urllib3 = sys.modules.get("urllib3.exceptions")  # a stream's body, read by urllib3 itself
        if urllib3 is not None and isinstance(error, urllib3.TimeoutError):
            return ProviderTimeoutError(f"Bedrock did not answer in time ({type(error).__name__}).", **where)
        if urllib3 is not None and isinstance(error, urllib3.HTTPError):
            return ProviderConnectionError(f"The connection to Bedrock failed ({type(error).__name__}).", **where)
        eventstream, parsers = sys.modules.get("botocore.eventstream"), sys.modules.get("botocore.parsers")
        if (eventstream is not None and isinstance(error, eventstream.ParserError)) or (
            parsers is not None and isinstance(error, parsers.ResponseParserError)
        ):
            return bad_response(f"Bedrock answered with a body botocore cannot read ({type(error).__name__}).", **where)
        if isinstance(error, exceptions.BotoCoreError):
            return ProviderError(f"boto3 error: {self._redact(str(error))}", **where)
        return super().map_error(error, model)

    def _service_error(self, error: Any, model: ModelInfo, where: dict[str, Any]) -> ProviderError:
        """A `ClientError` by its Error.Code; an in-stream event names it in camelCase and has no status."""
        detail = error.response.get("Error") or {}
        code = str(detail.get("Code") or "")
        code = code[:1].upper() + code[1:]
        message = self._redact(str(detail.get("Message") or error))
        meta = error.response.get("ResponseMetadata") or {}
        status = meta.get("HTTPStatusCode")
        where.update(
            status_code=status,
            request_id=meta.get("RequestId"),
            retry_after=retry_after_from_headers(meta.get("HTTPHeaders")),
        )
        error_class = _ERRORS.get(code) or error_for_status(status)
        during = "" if status is not None else " during the stream"
        if code == "ValidationException" and any(words in message.lower() for words in _TOO_LONG):
            return ContextWindowExceededError(f"Prompt too long for {model.id}: {message}", **where)
        if error_class is AuthenticationError:
            return AuthenticationError(
                f"Bedrock refused the request ({code}): {message} Check the AWS credentials ({_NAMED}), the IAM "
                f"permissions and the model access of {model.name} in this region.",
                **where,
            )
        return error_class(f"Bedrock error{during} ({code or status}): {message}", **where)


_SDK_MODULES = ("botocore", "boto3", "urllib3", "http.client", "socket", "ssl")


def _inside_sdk(error: BaseException) -> bool:
    """Whether every frame `error` went through belongs to boto3's stack (or the stdlib under it)."""
    tb = error.__traceback__
    if tb is None:
        return False
    while tb is not None:
        if not str(tb.tb_frame.f_globals.get("__name__", "")).startswith(_SDK_MODULES):
            return False
        tb = tb.tb_next
    return True


def _check(params: dict[str, Any], model: ModelInfo) -> None:
    """What the caller gave (keywords, once per translation; blocks and tools of Converse's own) against
    Converse's shapes, naming what is wrong: the clients skip botocore's check of every request."""
    validate = import_sdk("botocore.validate", "boto3", _INSTALL)
    report = validate.ParamValidator().validate(params, _input_shape())
    if report.has_errors():
        raise InvalidRequestError(
            f"Bedrock's Converse does not take this as given: {report.generate_report()}",
            provider="bedrock",
            model=model.id,
        )
