"""The `Provider` interface: what a backend implements, and all it has to implement.

The service around a provider adds pricing, metrics, usage totals, retries and error
normalisation, so a provider only turns one request into one `Completion` (one attempt,
no retries of its own) and says how its SDK's exceptions map onto `models.errors`.
"""

from __future__ import annotations

import functools
import os
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from .._content.messages import Message
from .._fork import fork_safe_lock
from .._types import Completion
from ..errors import MissingAPIKeyError, ProviderConnectionError, ProviderError, ProviderTimeoutError

if TYPE_CHECKING:
    import asyncio

    from .._catalog.info import ModelInfo
    from .._content.output import OutputFormat
    from .._content.tools import Toolset
__all__ = [
    "DEFAULT_TIMEOUT",
    "SET_BY_CALL",
    "EmbedRequest",
    "Embedded",
    "Provider",
    "ProviderSettings",
    "Request",
    "copy_counts",
    "keywords_of",
]

DEFAULT_TIMEOUT = 600.0
"""Seconds per attempt when the caller gives none (Anthropic's SDK refuses long requests without one)."""


class Request:
    """One call as a provider sees it: built once per call by the service, reused by its retries.

    `messages` holds only user/assistant turns (system text is in `system`); `options` is
    what `Provider.translate` returned; `timeout` is seconds for one attempt.
    """

    __slots__ = ("messages", "model", "options", "system", "timeout")

    def __init__(
        self,
        model: ModelInfo,
        messages: list[Message],
        system: str | None,
        options: Mapping[str, Any],
        timeout: float,
    ) -> None:
        self.model = model
        self.messages = messages
        self.system = system
        self.options = options
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Request({self.model.id!r}, {len(self.messages)} messages, timeout={self.timeout})"


class EmbedRequest:
    """One batch of texts to embed as a provider sees it (SPEC §12): at most `Provider.embed_limits`
    texts, `options` the call's keywords (`dimensions` and the provider's own), `timeout` per attempt."""

    __slots__ = ("inputs", "model", "options", "timeout")

    def __init__(self, model: ModelInfo, inputs: list[str], options: Mapping[str, Any], timeout: float) -> None:
        self.model = model
        self.inputs = inputs
        self.options = options
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"EmbedRequest({self.model.id!r}, {len(self.inputs)} inputs, timeout={self.timeout})"


class Embedded:
    """What `Provider.embed` returns: one vector per input of its batch, in order, the input tokens
    the provider billed (None when its answer does not say: the call's cost is then unknown, not 0),
    and its answer (`raw`, or a `Lazy` that builds it)."""

    __slots__ = ("input_tokens", "raw", "vectors")

    def __init__(self, vectors: list[list[float]], input_tokens: int | None, raw: Any = None) -> None:
        self.vectors = vectors
        self.input_tokens = input_tokens
        self.raw = raw


class ProviderSettings:
    """Key, base URL and client options for one provider: set in code by `configure`, else read
    from the environment. `options` are the provider's own (`Provider.client_options`)."""

    __slots__ = ("api_key", "base_url", "options")

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        self.api_key = api_key
        self.base_url = base_url
        self.options: dict[str, Any] = {}

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return f"ProviderSettings(api_key={key}, base_url={self.base_url!r}, options={sorted(self.options)})"


class Provider:
    """Base class of every provider; subclass it and `models.register_provider(name, cls)`.

    Override `complete` (required) and, when your backend has its own exception types,
    `map_error`. `stream`, `acomplete` and `astream` have working defaults built on
    `complete` (one piece; a worker thread for async); override them for real streaming
    and native async. Override `create_client` / `create_async_client` to build SDK
    clients: built lazily, rebuilt after `configure()` and in a child after `fork`; the
    async one once per event loop, since connection pools belong to the loop that made them.
    """

    #: Environment variables holding the key, first one set wins; empty means no key needed.
    key_env: ClassVar[tuple[str, ...]] = ()
    #: Environment variable holding the base URL, if the backend has one.
    base_url_env: ClassVar[str | None] = None
    #: Options `models.configure(name, **options)` takes for this provider's client (`settings.options`).
    client_options: ClassVar[frozenset[str]] = frozenset()
    #: Common parameters (SPEC §1) this provider cannot send; dropped with a warning.
    unsupported: ClassVar[frozenset[str]] = frozenset()
    #: A keyword whose dict holds more of the keywords `keywords()` names (Gemini's `config`):
    #: its keys are checked against them too. Any other value (the SDK's own object) is not.
    nested_keywords: ClassVar[str | None] = None

    def __init__(self, name: str, settings: ProviderSettings | None = None) -> None:
        self.name = name
        self.settings = settings or ProviderSettings()
        self._client: Any = None
        self._client_lock = fork_safe_lock()
        self._secret: str | None = None  # the key in use, kept only to redact it from error text
        self._async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()
        _LIVE.add(self)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    # -- what a subclass implements ----------------------------------------------------
    def complete(self, request: Request) -> Completion:
        """Send one request (one attempt, no retries) and return its normalised result."""
        raise NotImplementedError

    def stream(self, request: Request, result: Completion) -> Iterator[str]:
        """Yield the answer's text pieces as they arrive, filling `result`'s token counts and
        finish reason as the backend reports them (its text is set by the service).

        Closing the generator early must close the HTTP response. The default yields the
        whole answer of `complete` as one piece.
        """
        copy_counts(self.complete(request), result)
        if result.text:
            yield result.text

    async def acomplete(self, request: Request) -> Completion:
        """`complete` for asyncio; the default runs `complete` in a worker thread."""
        import asyncio  # here, not at the top: only async code gets here, and `import models` stays light

        return await asyncio.to_thread(self.complete, request)

    async def astream(self, request: Request, result: Completion) -> AsyncIterator[str]:
        """`stream` for asyncio; the default yields the whole answer of `acomplete` as one piece."""
        copy_counts(await self.acomplete(request), result)
        if result.text:
            yield result.text

    def embed(self, request: EmbedRequest) -> Embedded:
        """Embed one batch of texts (one attempt). The default: this provider makes no embeddings."""
        from ..errors import UnsupportedCapabilityError

        raise UnsupportedCapabilityError(request.model.id, "embeddings", f"the {self.name} provider has no embeddings")

    async def aembed(self, request: EmbedRequest) -> Embedded:
        """`embed` for asyncio; the default runs `embed` in a worker thread."""
        import asyncio

        return await asyncio.to_thread(self.embed, request)

    def embed_limits(self, model: ModelInfo) -> tuple[int, int | None]:
        """The most texts, and tokens (None: no limit), one embedding request may carry; the service
        splits larger inputs into batches of at most this."""
        return 2048, None

    def embed_keywords(self) -> Collection[str] | None:
        """The keywords `models.embed` may pass besides `dimensions`, `timeout` and `max_retries`
        (None: any); others raise `InvalidRequestError` before sending."""
        return None

    @functools.cached_property
    def accepted_embed_keywords(self) -> frozenset[str] | None:
        """`embed_keywords()`, asked once: every embed call is checked against it."""
        names = self.embed_keywords()
        return None if names is None else frozenset(names)

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        """Turn the caller's parameters into this backend's keyword arguments.

        Called once per binding (and per call only when call-time parameters are given).
        The default passes everything through; common parameters in `unsupported` have
        already been dropped by the service.
        """
        return dict(params)

    def tool_options(self, model: ModelInfo, tools: Toolset) -> dict[str, Any]:
        """The SDK keyword arguments that offer `tools` (and `tool_choice`) to `model` (SPEC §8).

        Called with `translate`, once per binding; the result joins its options. The default is
        Chat Completions' shape (what OpenAI-compatible backends take); a provider whose answers
        carry tool calls fills `Completion.tool_calls`.
        """
        return tools.to_openai()

    def output_options(self, model: ModelInfo, output: OutputFormat) -> dict[str, Any]:
        """The SDK keyword arguments that ask `model` for answers in `output`'s shape (SPEC §9);
        the service parses and validates the answer. The default is Chat Completions' `response_format`."""
        return {"response_format": output.to_openai()}

    def fetches_url(self, media_type: str | None) -> bool:
        """Whether the backend fetches an http(s) attachment of this type itself (None: a URL whose
        type is unknown); if not, the call downloads it and sends it inline. Default: images only,
        as Chat Completions' `image_url` does."""
        return media_type is not None and media_type.startswith("image/")

    def inline_limit(self, media_type: str | None) -> int | None:
        """The most bytes one inline attachment of this type may have (the backend's documented
        limit), or None for no limit; a larger file is refused before sending."""
        return None

    def keywords(self) -> Collection[str] | None:
        """The keyword arguments a call may pass besides the common parameters (SPEC §1), or None
        to take any. Any other keyword raises `InvalidRequestError` before anything is sent.

        The default is None: a custom provider takes whatever its backend does until it says
        otherwise. Asked once per provider instance, when a call first passes a keyword.
        """
        return None

    @functools.cached_property
    def accepted_keywords(self) -> frozenset[str] | None:
        """`keywords()`, asked once: the service checks every call's keywords against it."""
        names = self.keywords()
        return None if names is None else frozenset(names)

    def unsupported_for(self, model: ModelInfo) -> frozenset[str]:
        """Common parameters `model` rejects; the service drops them with a warning."""
        return self.unsupported

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        """Our error for a backend exception, or None to let it propagate unchanged.

        Built-in `TimeoutError` and `ConnectionError` map to their provider errors.
        """
        if isinstance(error, ProviderError):
            return error
        if isinstance(error, TimeoutError):
            return ProviderTimeoutError(str(error) or "timed out", provider=self.name, model=model.id)
        if isinstance(error, ConnectionError):
            return ProviderConnectionError(str(error) or "connection failed", provider=self.name, model=model.id)
        return None

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        """Build the backend's client; called once, lazily. The default needs none."""
        return None

    def create_async_client(self, api_key: str | None, base_url: str | None) -> Any:
        """Build the backend's asyncio client; called once per event loop. The default needs none.

        Once its loop has closed the client is dropped, from whatever loop runs then: it must
        not close itself on that loop when collected (its sockets belong to the dead one).
        """
        return None

    # -- machinery -----------------------------------------------------------------------
    def client(self) -> Any:
        """The backend client, built on first use under this provider's own lock."""
        client = self._client
        if client is None:
            with self._client_lock:
                client = self._client
                if client is None:
                    client = self._client = self._new_client(self.create_client)
        return client

    def async_client(self) -> Any:
        """The asyncio client of the running event loop, built on first use in that loop."""
        import asyncio  # here, not at the top: only async code gets here, and `import models` stays light

        loop = asyncio.get_running_loop()
        client = self._async_clients.get(loop)
        if client is None:
            with self._client_lock:
                client = self._async_clients.get(loop)
                if client is None:
                    # A client holds its loop, so the weak key alone would never let go: drop closed loops.
                    # Their sockets close as the garbage collector frees the dead loop's transports.
                    for closed in [old for old in self._async_clients if old.is_closed()]:
                        del self._async_clients[closed]
                    client = self._async_clients[loop] = self._new_client(self.create_async_client)
        return client

    def _new_client(self, create: Callable[[str | None, str | None], Any]) -> Any:
        """A client from `create`. The key is kept only to redact it from errors, and no frame an
        error from `create` passed through keeps it as a local (the SDK's constructor has it)."""
        self._secret = self._api_key()
        try:
            return create(self._secret, self._base_url())
        except BaseException as exc:
            self.scrub_error(exc)
            raise

    def scrub_error(self, error: BaseException) -> None:
        """Take this provider's key out of `error` and what it was raised from, in place
        (`scrub_exception`); the service does it to every exception a call raises. Without a
        key there is nothing to hide, and the frames keep their locals for debugging."""
        if self._secret is None:
            return
        from ._common import scrub_exception  # here, not at the top: only a failure gets here

        scrub_exception(error, self._secret)

    def reset(self) -> None:
        """Forget the clients (after `configure`); the next call builds new ones."""
        self._client = None
        self._async_clients = weakref.WeakKeyDictionary()

    def _api_key(self) -> str | None:
        if self.settings.api_key or not self.key_env:
            return self.settings.api_key
        for var in self.key_env:
            value = os.environ.get(var)
            if value:
                return value
        raise MissingAPIKeyError(self.name, self.key_env)

    def _base_url(self) -> str | None:
        if self.settings.base_url or self.base_url_env is None:
            return self.settings.base_url
        return os.environ.get(self.base_url_env) or None


_LIVE: weakref.WeakSet[Provider] = weakref.WeakSet()
_INHERITED: list[object] = []
"""In a forked child, the parent's SDK clients: kept alive and never used. Collecting one would
close its connection pool, taking a lock a parent thread may have held at the fork (the
child hangs) and closing sockets the parent still reads."""


def _after_fork_in_child() -> None:
    """Every provider, a binding's included, builds its own clients in the child: sockets are never shared."""
    for provider in list(_LIVE):
        _INHERITED.append((provider._client, provider._async_clients))
        provider.reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def copy_counts(source: Completion, target: Completion) -> None:
    """Copy text, token counts, finish reason and raw object from one result into another."""
    for name in Completion.__slots__:
        setattr(target, name, getattr(source, name))


SET_BY_CALL = {
    "model": "the model is the call's first argument",
    "messages": "the messages are the prompt, the call's second argument",
    "stream": "use models.stream(...) to stream",
}
"""Keywords every call fills in itself, with the fix for passing one (the service's keyword check says it)."""


def keywords_of(method: Callable[..., Any]) -> frozenset[str] | None:
    """The keywords an SDK method takes, less those every call fills in itself (model,
    messages, stream); None when it takes `**kwargs`, so anything."""
    import inspect  # once per provider, when a call first passes a keyword

    parameters = inspect.signature(method).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters) - {"self", *SET_BY_CALL}
