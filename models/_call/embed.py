"""`models.embed` (SPEC §12): texts to vectors with the same pricing, metrics, usage totals, budgets,
rate limits, hooks, errors and retries as a call.

The inputs are checked before anything is sent, split into batches no larger than the provider takes
(`Provider.embed_limits`: texts per request, and tokens, bounded by each text's UTF-8 bytes, which no
tokenizer exceeds), sent one after another (`embed`) or at most `CONCURRENCY` at once (`aembed`), each
batch with its own retries, and put back in order. One failing batch fails the call. The call counts
once in metrics and usage, with the batches' tokens summed. A budget reserves the texts' bytes (each
at most the model's window) before sending; rate limits take a request per batch. A failed call's
budgets and limits keep what its answered batches billed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .._catalog.info import Capability
from .._embeddings import Embeddings
from .._observe.observed import Observed
from .._types import Completion
from ..errors import InvalidRequestError, UnsupportedCapabilityError
from ..providers._base import DEFAULT_TIMEOUT, Embedded, EmbedRequest
from ..providers._deadline import abounded, bounded
from .budget import Hold, active_budgets, hold_input, scoped_budgets
from .params import check_nested, check_params, unknown_keywords
from .service import DEFAULT_MAX_RETRIES
from .target import Prepared, Target

if TYPE_CHECKING:
    from .limits import Limit
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
    """The call's keywords checked (`dimensions`, `timeout`, `max_retries`, and what the provider's
    embedding call takes), without `timeout` and `max_retries`."""
    info, provider = target.info, target.provider
    if info.known and Capability.EMBEDDINGS not in info.capabilities:
        raise UnsupportedCapabilityError(info.id, "embeddings", "models.embed needs an embedding model")
    accepted = provider.accepted_embed_keywords
    if accepted is not None:
        who = f"{info.id}'s embedding call"
        unknown = [name for name in params if name not in _OWN and name not in accepted]
        if unknown:
            raise InvalidRequestError(unknown_keywords(unknown, who, _OWN | accepted), model=info.id)
        check_nested(provider, params, accepted, who, info.id)
    check_params(info, params)  # timeout and max_retries, as a call's
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


def _batches(texts: list[str], sizes: list[int], most: int, tokens: int | None) -> list[list[str]]:
    """Consecutive runs of `texts` of at most `most` texts and `tokens` tokens (bounded by `sizes`)."""
    if tokens is None:
        return [texts[i : i + most] for i in range(0, len(texts), most)]
    batches: list[list[str]] = []
    batch: list[str] = []
    size = 0
    for text, n in zip(texts, sizes):
        if batch and (len(batch) == most or size + n > tokens):
            batches.append(batch)
            batch, size = [], 0
        batch.append(text)
        size += n
    batches.append(batch)
    return batches


class _Plan:
    """One embed call, checked: its texts and their UTF-8 sizes, batches, options, timeout and retries."""

    __slots__ = ("batches", "options", "prepared", "sizes", "texts")

    def __init__(self, service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]) -> None:
        info = target.info
        try:
            self.texts = _texts(inputs, info.id)
            self.options = _options(target, params)
        except (InvalidRequestError, TypeError) as error:
            service._refused(target, error, "embeddings")
            raise
        timeout, retries = params.get("timeout"), params.get("max_retries")
        self.prepared = Prepared(
            self.options,
            DEFAULT_TIMEOUT if timeout is None else float(timeout),
            DEFAULT_MAX_RETRIES if retries is None else retries,
        )
        self.sizes = [len(text) if text.isascii() else len(text.encode()) for text in self.texts]
        most, tokens = target.provider.embed_limits(info)
        self.batches = _batches(self.texts, self.sizes, most, tokens)

    def _budget(self, service: ModelService, target: Target) -> tuple[Hold | None, tuple[Limit, ...]]:
        """The budget reservation, if a budget is in force, and the rate limits that apply. A token covers
        at least one UTF-8 byte in every tokenizer, so a text's bytes bound its tokens, and so does the
        model's window (its most tokens per text): a longer text is refused, not billed."""
        if not (service.budget is not None or service.limits.table or scoped_budgets()):
            return None, ()
        info = target.info
        budgets = active_budgets(service.budget)
        hold = None
        if budgets:
            window = info.context_window
            bound = sum(self.sizes) if window is None else sum(min(n, window) for n in self.sizes)
            hold = hold_input(budgets, target.price, info.id, bound)
        return hold, service.limits.for_model(info.id, info.provider)

    def _estimate(self) -> int:
        """The tokens rate limits take before sending, estimated as a call's prompt is."""
        return sum(map(len, self.texts)) // 4 + 1

    def hold(self, service: ModelService, target: Target) -> Hold | None:
        """Reserve the call in its budgets, and a request per batch and its tokens in its rate limits."""
        hold, limits = self._budget(service, target)
        if not limits:
            return hold
        return service.take_limits(target, hold, limits, self._estimate(), self.prepared.timeout, len(self.batches))

    async def ahold(self, service: ModelService, target: Target) -> Hold | None:
        """`hold`, waiting for rate-limit capacity without blocking the event loop."""
        hold, limits = self._budget(service, target)
        if not limits:
            return hold
        return await service.atake_limits(
            target, hold, limits, self._estimate(), self.prepared.timeout, len(self.batches)
        )


def embed(service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]) -> Embeddings:
    """`models.embed`: every batch in turn, each with its retries."""
    plan = _Plan(service, target, inputs, params)
    hold = plan.hold(service, target)
    provider, prepared = target.provider, plan.prepared
    start = service.start(target)
    observed = _observe(service, target, plan, current=True)
    done: list[Embedded] = []
    try:
        for batch in plan.batches:
            request = EmbedRequest(target.info, batch, plan.options, prepared.timeout)
            attempt = 0
            while True:
                try:
                    done.append(bounded(request.timeout, provider.embed, request))
                    break
                except Exception as exc:
                    time.sleep(service.retry_delay(target, exc, attempt, prepared, start, observed))
                    attempt += 1
    except BaseException as exc:
        _failed(target, done, hold)
        if observed is not None:
            observed.abandoned(exc, start)
        raise
    return _finish(service, target, done, time.perf_counter() - start, hold, observed)


async def aembed(service: ModelService, target: Target, inputs: object, params: Mapping[str, Any]) -> Embeddings:
    """`models.aembed`: the batches at most `CONCURRENCY` at once; the first failure cancels the rest."""
    import asyncio

    plan = _Plan(service, target, inputs, params)
    hold = await plan.ahold(service, target)
    provider, prepared = target.provider, plan.prepared
    start = service.start(target)
    observed = _observe(service, target, plan, current=False)  # batches fail in tasks of their own
    gate = asyncio.Semaphore(CONCURRENCY)
    done: dict[int, Embedded] = {}  # by batch, as they finish
    failed: list[BaseException] = []  # the final error, counted once however many batches fail with it

    async def one(number: int, batch: list[str]) -> None:
        request = EmbedRequest(target.info, batch, plan.options, prepared.timeout)
        async with gate:
            attempt = 0
            while True:
                try:
                    done[number] = await abounded(request.timeout, provider.aembed(request))
                    return
                except Exception as exc:
                    if failed:
                        raise
                    try:
                        delay = service.retry_delay(target, exc, attempt, prepared, start, observed)
                    except BaseException as final:
                        failed.append(final)
                        raise
                    await asyncio.sleep(delay)
                    attempt += 1

    tasks = [asyncio.ensure_future(one(number, batch)) for number, batch in enumerate(plan.batches)]
    try:
        await asyncio.gather(*tasks)
    except BaseException as exc:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        _failed(target, list(done.values()), hold)
        if observed is not None:
            observed.abandoned(exc, start)
        raise
    answers = [done[number] for number in range(len(tasks))]
    return _finish(service, target, answers, time.perf_counter() - start, hold, observed)


def _observe(service: ModelService, target: Target, plan: _Plan, current: bool) -> Observed | None:
    """The observers' view of an embed call (only made when the service has observers)."""
    if not service.observers:
        return None
    return Observed(service.observers, "embeddings", target.info, plan.texts, None, plan.options, current=current)


def _failed(target: Target, done: list[Embedded], hold: Hold | None) -> None:
    """A failed call (counted by `retry_delay`, or cancelled): in-flight down, and the budgets and
    rate limits charged for the batches that were answered, which the provider bills, the rest given back."""
    target.metrics.end()
    if hold is not None:
        tokens = sum(part.input_tokens or 0 for part in done)
        price = target.price
        hold.settle(0 if price is None else price.cost_units(tokens, 0), tokens)


def _finish(
    service: ModelService,
    target: Target,
    done: list[Embedded],
    latency: float,
    hold: Hold | None,
    observed: Observed | None,
) -> Embeddings:
    """The batches' vectors in order, priced and recorded once as one call: unpriced (cost None, never
    0) when a batch's answer did not say how many tokens it billed."""
    vectors: list[list[float]] = []
    tokens = 0
    reported = True  # a batch without usage makes the call's cost unknown (None, with a warning), never 0
    for part in done:
        vectors.extend(part.vectors)
        if part.input_tokens is None:
            reported = False
        else:
            tokens += part.input_tokens
    completion = Completion("", input_tokens=tokens, usage_reported=reported)
    usage = service.account(target, completion, latency, hold, observed=observed)
    info = target.info
    return Embeddings(vectors, info.id, info.provider, usage, latency, tuple(part.raw for part in done))
