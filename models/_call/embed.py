"""`models.embed` (SPEC §12): texts to vectors with the same pricing, metrics, usage totals, budgets,
rate limits, hooks, errors and retries as a call.

The inputs are checked before anything is sent, split into batches no larger than the provider takes
(`Provider.embed_limits`: texts per request, and tokens, bounded by each text's UTF-8 bytes, which no
tokenizer exceeds), sent one after another (`embed`) or at most `CONCURRENCY` at once (`aembed`), each
batch with its own retries, and put back in order. One failing batch fails the call. The call counts
once in metrics and usage, with the batches' tokens summed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._catalog.info import Capability
from .._embeddings import Embeddings
from .._types import Completion
from ..errors import InvalidRequestError, UnsupportedCapabilityError
from ..providers._base import DEFAULT_TIMEOUT, Embedded, EmbedRequest, Request
from ..providers._deadline import abounded, bounded
from .budget import Hold
from .params import check_nested, unknown_keywords
from .target import Prepared, Target

if TYPE_CHECKING:
    from .service import ModelService

__all__ = ["CONCURRENCY", "aembed", "embed"]

CONCURRENCY = 4
"""Batches `aembed` has in flight at once."""

_OWN = frozenset({"dimensions", "timeout", "max_retries"})


def _texts(inputs: object, model: str) -> list[str]:
    """The inputs as a list of non-empty strings (a lone string is one input), or a clear error."""
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"inputs must be a list of strings to embed with {model}, not {type(inputs).__name__}")
    if not inputs:
        raise InvalidRequestError(f"Nothing to embed: inputs is empty. Pass a list of strings to embed with {model}.")
    for i, text in enumerate(inputs):
        if not isinstance(text, str):
            raise TypeError(f"inputs[{i}] is a {type(text).__name__}; every input to embed must be a str")
        if not text.strip():
            raise InvalidRequestError(
                f"inputs[{i}] is empty or only whitespace; the providers refuse empty texts. Drop it, or embed a "
                "placeholder of your own."
            )
    return list(inputs)


def _options(target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
    """The call's keywords checked (`dimensions`, and what the provider's embedding call takes)."""
    info, provider = target.info, target.provider
    if info.known and Capability.EMBEDDINGS not in info.capabilities:
        raise UnsupportedCapabilityError(info.id, "embeddings", "models.embed needs an embedding model")
    accepted = provider.embed_keywords()
    if accepted is not None:
        who = f"{info.id}'s embedding call"
        unknown = [name for name in params if name not in _OWN and name not in accepted]
        if unknown:
            raise InvalidRequestError(unknown_keywords(unknown, who, _OWN | frozenset(accepted)), model=info.id)
        check_nested(provider, params, frozenset(accepted), who, info.id)
    options = {k: v for k, v in params.items() if k not in ("timeout", "max_retries")}
    dimensions = options.get("dimensions")
    if dimensions is None:
        options.pop("dimensions", None)
    elif isinstance(dimensions, bool) or not isinstance(dimensions, int) or dimensions < 1:
        raise InvalidRequestError(f"dimensions must be a positive int, not {dimensions!r}", model=info.id)
    elif info.dimensions is not None and dimensions > info.dimensions:
        raise InvalidRequestError(
            f"{info.id} makes vectors of at most {info.dimensions} dimensions; dimensions={dimensions} asks for more.",
            model=info.id,
        )
    return options


def _batches(texts: list[str], most: int, tokens: int | None) -> list[list[str]]:
    """Consecutive runs of `texts` of at most `most` texts and `tokens` tokens (bounded by UTF-8 bytes)."""
    if tokens is None:
        return [texts[i : i + most] for i in range(0, len(texts), most)]
    batches: list[list[str]] = []
    batch: list[str] = []
    size = 0
    for text in texts:
        n = len(text.encode())
        if batch and (len(batch) == most or size + n > tokens):
            batches.append(batch)
            batch, size = [], 0
        batch.append(text)
        size += n
    batches.append(batch)
    return batches


def _prepare(
    service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]
) -> tuple[list[list[str]], dict[str, Any], Prepared]:
    info = target.info
    try:
        texts = _texts(inputs, info.id)
        options = _options(target, params)
    except (InvalidRequestError, TypeError) as error:
        service._refused(target, error)
        raise
    timeout = params.get("timeout")
    retries = params.get("max_retries")
    prepared = Prepared(
        options,
        DEFAULT_TIMEOUT if timeout is None else float(timeout),
        service_retries(retries),
    )
    most, tokens = target.provider.embed_limits(info)
    return _batches(texts, most, tokens), options, prepared


def service_retries(value: object) -> int:
    from .service import DEFAULT_MAX_RETRIES

    if value is None:
        return DEFAULT_MAX_RETRIES
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"max_retries must be an int >= 0, not {value!r}")
    return value


def _budget_request(target: Target, batches: list[list[str]], prepared: Prepared) -> Request:
    """The inputs as a request, for the budget's bound and the rate limits' token estimate."""
    messages: list[Any] = [{"role": "user", "content": text} for batch in batches for text in batch]
    return Request(target.info, messages, None, {}, prepared.timeout)


def embed(service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]) -> Embeddings:
    """`models.embed`: every batch in turn, each with its retries."""
    batches, options, prepared = _prepare(service, target, inputs, params)
    holds = service.budget is not None or service.limits.table or _scoped()
    hold = service.hold(target, _budget_request(target, batches, prepared), prepared) if holds else None
    provider = target.provider
    start = service.start(target)
    done: list[Embedded] = []
    try:
        for batch in batches:
            request = EmbedRequest(target.info, batch, options, prepared.timeout)
            attempt = 0
            while True:
                try:
                    done.append(bounded(request.timeout, provider.embed, request))
                    break
                except Exception as exc:
                    time.sleep(service.retry_delay(target, exc, attempt, prepared, start))
                    attempt += 1
    except BaseException:
        target.metrics.end()
        if hold is not None:
            hold.release()
        raise
    return _finish(service, target, done, time.perf_counter() - start, hold)


async def aembed(service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]) -> Embeddings:
    """`models.aembed`: the batches at most `CONCURRENCY` at once; the first failure cancels the rest."""
    import asyncio

    batches, options, prepared = _prepare(service, target, inputs, params)
    holds = service.budget is not None or service.limits.table or _scoped()
    hold = await service.ahold(target, _budget_request(target, batches, prepared), prepared) if holds else None
    provider = target.provider
    start = service.start(target)
    gate = asyncio.Semaphore(CONCURRENCY)
    failed: list[BaseException] = []  # the final error, counted once however many batches fail with it

    async def one(batch: list[str]) -> Embedded:
        request = EmbedRequest(target.info, batch, options, prepared.timeout)
        async with gate:
            attempt = 0
            while True:
                try:
                    return await abounded(request.timeout, provider.aembed(request))
                except Exception as exc:
                    if failed:
                        raise
                    try:
                        delay = service.retry_delay(target, exc, attempt, prepared, start)
                    except BaseException as final:
                        failed.append(final)
                        raise
                    await asyncio.sleep(delay)
                    attempt += 1

    tasks = [asyncio.ensure_future(one(batch)) for batch in batches]
    try:
        done = list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        target.metrics.end()
        if hold is not None:
            hold.release()
        raise
    return _finish(service, target, done, time.perf_counter() - start, hold)


def _scoped() -> bool:
    from .budget import scoped_budgets

    return bool(scoped_budgets())


def _finish(
    service: ModelService, target: Target, done: list[Embedded], latency: float, hold: Hold | None
) -> Embeddings:
    vectors: list[list[float]] = []
    tokens = 0
    reported = True  # a batch without usage makes the call's cost unknown (None, with a warning), never 0
    for part in done:
        vectors.extend(part.vectors)
        if part.input_tokens is None:
            reported = False
        else:
            tokens += part.input_tokens
    usage = service.account(target, Completion("", input_tokens=tokens, usage_reported=reported), latency, hold)
    info = target.info
    return Embeddings(vectors, info.id, info.provider, usage, latency, tuple(part.raw for part in done))
