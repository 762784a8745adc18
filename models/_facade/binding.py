"""`ModelBinding` (a model resolved once, for hot loops) and the keyword handling every call form shares."""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~4 ms; mypy reads either
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from .._call.resilience import Plan
    from .._call.service import ModelService
    from .._call.stream import AsyncStream, Stream
    from .._call.target import Prepared, Target
    from .._embeddings import Embeddings
    from .._types import Response

__all__ = ["ModelBinding", "collect", "fallback_ids"]

_SECRET_NAMES = frozenset(
    {
        "key",
        "token",
        "secret",
        "password",
        "authorization",
        "headers",
        "extra_headers",
        "default_headers",
        "extra_query",
    }
)
_SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password")


def _is_secret(name: str) -> bool:
    """Parameters whose values a repr must not show (keys, tokens, headers that may carry them)."""
    name = name.lower()
    return name in _SECRET_NAMES or name.endswith(_SECRET_SUFFIXES)


def embed_params(kwargs: dict[str, Any], dimensions: Any, timeout: Any, max_retries: Any) -> dict[str, Any]:
    """The keywords of an `embed` call, the unset ones left out."""
    for name, value in (("dimensions", dimensions), ("timeout", timeout), ("max_retries", max_retries)):
        if value is not None:
            kwargs[name] = value
    return kwargs


def fallback_ids(fallbacks: Sequence[str] | None) -> tuple[str, ...]:
    if fallbacks is None:
        return ()
    if not isinstance(fallbacks, (list, tuple)) or not all(isinstance(m, str) for m in fallbacks):
        raise TypeError(f"fallbacks must be a list of model ids, like ['gpt-5', 'gemini-2.5-pro'], not {fallbacks!r}")
    return tuple(fallbacks)


def collect(
    kwargs: dict[str, Any],
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
    stop: str | list[str] | None,
    seed: int | None,
    timeout: float | None,
    max_retries: int | None,
) -> dict[str, Any]:
    """The given (non-None) parameters, added to the `**kwargs` dict Python already built.

    Plain `if`s: this runs on every call, so it builds nothing it does not return.
    """
    if temperature is not None:
        kwargs["temperature"] = temperature
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    if top_p is not None:
        kwargs["top_p"] = top_p
    if stop is not None:
        kwargs["stop"] = stop
    if seed is not None:
        kwargs["seed"] = seed
    if timeout is not None:
        kwargs["timeout"] = timeout
    if max_retries is not None:
        kwargs["max_retries"] = max_retries
    return kwargs


class ModelBinding:
    """A model with parameters resolved and translated once: `gpt = models.bind("gpt-4o")`.

    Immutable; call-time parameters win over bound ones. Bound `fallbacks` are resolved
    once too. Pickles by model id and parameters, and re-resolves on the default `models`
    instance after unpickling.
    """

    __slots__ = ("_fallbacks", "_model", "_params", "_plan", "_prepared", "_service", "_system", "_target")
    _service: ModelService
    _fallbacks: tuple[str, ...]
    _model: str
    _params: dict[str, Any]
    _plan: Plan
    _prepared: Prepared
    _system: str | None
    _target: Target

    def __init__(
        self,
        service: ModelService,
        model: str,
        system: str | None,
        params: dict[str, Any],
        fallbacks: tuple[str, ...] = (),
    ) -> None:
        targets = map(service.target, (model, *fallbacks))
        plan = tuple((target, service.prepare(target, params, call=False)) for target in targets)
        setattr_ = object.__setattr__
        setattr_(self, "_service", service)
        setattr_(self, "_model", model)
        setattr_(self, "_system", system)
        setattr_(self, "_params", dict(params))
        setattr_(self, "_fallbacks", fallbacks)
        setattr_(self, "_plan", plan)
        setattr_(self, "_target", plan[0][0])
        setattr_(self, "_prepared", plan[0][1])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("ModelBinding is immutable; use models.bind(...) for other parameters")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("ModelBinding is immutable")

    @property
    def model(self) -> str:
        """The canonical `provider/name` this binding calls."""
        return self._target.info.id

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """The canonical ids of the bound fallbacks, in order."""
        return tuple(target.info.id for target, _ in self._plan[1:])

    @property
    def params(self) -> Mapping[str, Any]:
        return dict(self._params)

    def __repr__(self) -> str:
        shown = [repr(self.model)]
        if self._system is not None:
            shown.append(f"system={self._system!r}")
        for name, value in self._params.items():
            if name == "attachments":  # files, not their bytes
                value = self._prepared.attachments
            shown.append(f"{name}={'***' if _is_secret(name) else repr(value)}")
        if self._fallbacks:
            shown.append(f"fallbacks={list(self.fallbacks)!r}")
        return f"ModelBinding({', '.join(shown)})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebind, (self._model, self._system, self._params, self._fallbacks))

    def __call__(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """Call the bound model; parameters given here win over the bound ones."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        if fallbacks is None and len(self._plan) == 1:  # the hot path: no plan to walk
            prepared = self._prepare(params)
            if not prepared.run_tools:
                return self._service.call(self._target, prompt, system, prepared)
        from .._call.tool_loop import call_plan

        return call_plan(self._service, self._plan_for(params, fallbacks), prompt, system)

    def stream(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Stream:
        """`models.stream(...)` on the bound model."""
        from .._call.tool_loop import stream_for

        plan = self._plan_for(
            collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries), fallbacks
        )
        return stream_for(self._service, plan, prompt, self._system if system is None else system)

    async def acall(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Response:
        """`models.acall(...)` on the bound model."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        if fallbacks is None and len(self._plan) == 1:
            prepared = self._prepare(params)
            if not prepared.run_tools:
                return await self._service.acall(self._target, prompt, system, prepared)
        from .._call.tool_loop import acall_plan

        return await acall_plan(self._service, self._plan_for(params, fallbacks), prompt, system)

    def astream(
        self,
        prompt: str | list[dict[str, Any]],
        *,
        system: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        stop: str | list[str] | None = None,
        seed: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncStream:
        """`models.astream(...)` on the bound model."""
        from .._call.tool_loop import astream_for

        plan = self._plan_for(
            collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries), fallbacks
        )
        return astream_for(self._service, plan, prompt, self._system if system is None else system)

    def embed(
        self,
        inputs: str | Sequence[str],
        *,
        dimensions: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> Embeddings:
        """Embed `inputs` with the bound model (`models.embed` without `model`); bound keywords apply."""
        from .._call.embed import embed

        params = {**self._params, **embed_params(kwargs, dimensions, timeout, max_retries)}
        return embed(self._service, self._target, inputs, params)

    async def aembed(
        self,
        inputs: str | Sequence[str],
        *,
        dimensions: int | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> Embeddings:
        """`embed` on the provider's asyncio client."""
        from .._call.embed import aembed

        params = {**self._params, **embed_params(kwargs, dimensions, timeout, max_retries)}
        return await aembed(self._service, self._target, inputs, params)

    def _prepare(self, params: dict[str, Any]) -> Prepared:
        """The bound options, or bound and call-time ones merged (call-time wins)."""
        if not params:
            return self._prepared
        return self._service.prepare(self._target, {**self._params, **params})

    def _plan_for(self, params: dict[str, Any], fallbacks: Sequence[str] | None) -> Plan:
        """The bound plan, or one for call-time parameters or fallbacks."""
        if not params and fallbacks is None:
            return self._plan
        merged = {**self._params, **params}
        models = (self._model, *(self._fallbacks if fallbacks is None else fallback_ids(fallbacks)))
        from .._call.resilience import plan

        return plan(self._service, models, merged)


def _rebind(model: str, system: str | None, params: dict[str, Any], fallbacks: tuple[str, ...] = ()) -> ModelBinding:
    # The default instance lives in the package, which imports this module: importing it here would
    # be a cycle. A module's package is always imported before the module, so it is there to read.
    import sys

    binding: ModelBinding = sys.modules["models"].models.bind(
        model, system=system, fallbacks=list(fallbacks) or None, **params
    )
    return binding
