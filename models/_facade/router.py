"""`Router`: pick the model for each call from a set of candidates, by a strategy.

Per call, the candidates that lack a required capability or whose context window cannot
hold the prompt's estimated size (characters / 4, plus `max_tokens` or 1,024 output
tokens) are dropped; the rest are ranked by the strategy and the call walks that ranking
as a fallback chain (models in cooldown are passed over). Strategies:

- `cost`: cheapest for the estimated tokens at today's prices (tiers included); unpriced last.
- `latency`: lowest average latency (an EWMA of successful calls); models not yet measured
  come first, so each gets measured.
- `quality`: highest quality tier (the catalog's 1 to 5, or `quality={"id": n}`); ties by cost.
- `balanced`: `w_quality * tier / 5 + w_cost * (1 - c)`, where `c` places the model's
  estimated cost between the cheapest (0) and dearest (1) candidate on a log scale
  (unpriced: 1); default weights 0.5 and 0.5.
- `round_robin`: the candidates in turn, one step further each call.
- `manual`: the order given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._call.budget import _OUTPUT_LIMITS
from .._call.resilience import plan as chain_plan
from .._call.tool_loop import acall_plan, call_plan
from .._catalog.info import Capability
from .._content.messages import normalize, text_of
from .._costs import COST_SCALE
from .._fork import fork_safe_lock
from .binding import collect, fallback_ids

if TYPE_CHECKING:
    from .._call.resilience import Plan
    from .._call.service import ModelService
    from .._call.stream import AsyncStream, Stream
    from .._call.target import Target
    from .._observe.health import ModelHealth
    from .._types import Response

__all__ = ["STRATEGIES", "RouteChoice", "Router"]

STRATEGIES = ("cost", "latency", "quality", "balanced", "round_robin", "manual")
DEFAULT_OUTPUT_TOKENS = 1024
"""Output tokens assumed for ranking and size checks when a call sets no `max_tokens`."""


class RouteChoice:
    """One candidate in `Router.explain`: its rank (None when excluded), score and why."""

    __slots__ = ("eligible", "model", "rank", "reason", "score")

    def __init__(self, model: str, rank: int | None, score: float | None, reason: str) -> None:
        self.model = model
        self.rank = rank
        self.score = score
        self.eligible = rank is not None
        self.reason = reason

    def __repr__(self) -> str:
        where = f"#{self.rank}" if self.rank is not None else "excluded"
        return f"RouteChoice({self.model!r}, {where}, score={self.score!r}, {self.reason!r})"


def _needs(params: Mapping[str, Any]) -> frozenset[Capability]:
    """What this call's tools and response format need of a model (SPEC §8, §9): a candidate the
    catalog says lacks it is passed over, as `prepare` would refuse it."""
    needs = set()
    if params.get("tools"):
        needs.add(Capability.FUNCTION_CALLING)
    output = params.get("response_format")
    is_json = output == "json" or (isinstance(output, Mapping) and output.get("type") == "json_object")
    if output is not None and not is_json:
        needs.add(Capability.STRUCTURED_OUTPUT)
    return frozenset(needs)


class Router:
    """Callable like a binding (`router(prompt)`, `.stream`, `.acall`, `.astream`); see the module doc."""

    def __init__(
        self,
        service: ModelService,
        candidates: Sequence[str] | None,
        strategy: str,
        *,
        capabilities: Iterable[Capability | str] = (),
        provider: str | None = None,
        quality: Mapping[str, int] | None = None,
        weights: tuple[float, float] = (0.5, 0.5),
        fallback: bool = True,
        system: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        if len(weights) != 2 or any(not isinstance(w, (int, float)) or w < 0 for w in weights) or not sum(weights):
            raise ValueError(f"weights must be two numbers >= 0 (quality, cost), not both 0: {weights!r}")
        self._service = service
        self._capabilities = frozenset(Capability(c) for c in capabilities)
        if candidates is None:  # every active, priced catalog model with the capabilities
            from .._catalog.queries import select

            name = None if provider is None else service.models.provider_name(provider)
            listed = select(
                service.models.catalog, service.prices.lookup, name, None, self._capabilities, None, "active"
            )
            # embedding models answer no calls (`models.embed` is theirs)
            candidates = [m.id for m in listed if m.price is not None and Capability.EMBEDDINGS not in m.capabilities]
        elif isinstance(candidates, str):
            raise TypeError("candidates must be a list of model ids, not one string")
        self._targets = tuple(service.target(m) for m in candidates)
        if not self._targets:
            raise ValueError("a router needs at least one candidate model")
        self.strategy = strategy
        self._quality = {service.models.resolve(k).id: v for k, v in (quality or {}).items()}
        self._weights = (float(weights[0]), float(weights[1]))
        self._fallback = fallback
        self._system = system
        self._params = dict(params or {})
        self._turn = 0  # round_robin's next start
        self._lock = fork_safe_lock()
        service.health()  # routers rank by health: start recording it

    @property
    def models(self) -> tuple[str, ...]:
        return tuple(t.info.id for t in self._targets)

    def __repr__(self) -> str:
        return f"Router({list(self.models)!r}, strategy={self.strategy!r})"

    # -- ranking --------------------------------------------------------------------------
    def explain(
        self, prompt: str | list[dict[str, Any]], *, system: str | None = None, **params: Any
    ) -> list[RouteChoice]:
        """The candidates for this prompt, ranked, and the excluded ones, each with the reason."""
        ranked, excluded = self._rank(prompt, system, {**self._params, **params}, advance=False)
        return [*(RouteChoice(t.info.id, i + 1, score, why) for i, (t, score, why) in enumerate(ranked)), *excluded]

    def health(self) -> dict[str, ModelHealth]:
        """Each candidate's circuit-breaker state, recent error rate and average latency."""
        return self._service.health().snapshot(self.models)

    def _rank(
        self, prompt: object, system: str | None, params: Mapping[str, Any], *, advance: bool = True
    ) -> tuple[list[tuple[Target, float | None, str]], list[RouteChoice]]:
        system, messages = normalize(prompt, self._system if system is None else system, "router")
        input_tokens = (len(system or "") + sum(len(text_of(m["content"])) for m in messages)) // 4 + 1
        output = next((params[k] for k in _OUTPUT_LIMITS if isinstance(params.get(k), int)), DEFAULT_OUTPUT_TOKENS)
        health = self._service.health()
        eligible: list[Target] = []
        excluded: list[RouteChoice] = []
        needs = _needs(params)
        for target in self._targets:
            info = target.info
            missing = sorted(c.value for c in self._capabilities - info.capabilities)
            if not missing and needs and Capability.TEXT_INPUT in info.capabilities:  # only models with data
                missing = sorted(c.value for c in needs - info.capabilities)
            if target.embeds:
                excluded.append(RouteChoice(info.id, None, None, "an embedding model: it answers no calls"))
            elif missing:
                excluded.append(RouteChoice(info.id, None, None, f"lacks {', '.join(missing)}"))
            elif info.context_window is not None and input_tokens + output > info.context_window:
                excluded.append(
                    RouteChoice(
                        info.id, None, None, f"~{input_tokens + output} tokens exceed its {info.context_window}"
                    )
                )
            else:
                eligible.append(target)
        costs = {t.info.id: _cost(t, input_tokens, output) for t in eligible}
        ranked = self._order(eligible, costs, health.latency, advance)
        cooling = {t.info.id: wait for t, _, _ in ranked if (wait := health.cooling(t.info.id))}
        if cooling:
            ranked = [
                (t, s, f"{why}; cooling down ({cooling[t.info.id]:.0f} s left), passed over")
                if t.info.id in cooling
                else (t, s, why)
                for t, s, why in ranked
            ]
        return ranked, excluded

    def _order(
        self, targets: list[Target], costs: dict[str, float | None], latency: Any, advance: bool
    ) -> list[tuple[Target, float | None, str]]:
        strategy = self.strategy
        if strategy == "manual":
            return [(t, None, "manual order") for t in targets]
        if strategy == "round_robin":
            if not targets:
                return []
            with self._lock:
                start = self._turn % len(targets)
                self._turn += advance
            return [(t, None, "round robin") for t in targets[start:] + targets[:start]]
        if strategy == "cost":
            scored = [(t, costs[t.info.id]) for t in targets]
            scored.sort(key=lambda ts: math.inf if ts[1] is None else ts[1])
            return [(t, c, "unpriced" if c is None else f"~${c:.6f} for this prompt") for t, c in scored]
        if strategy == "latency":
            seen = [(t, latency(t.info.id)) for t in targets]
            fresh = [(t, None, "not measured yet: explored first") for t, s in seen if s is None]
            timed = sorted(((t, s) for t, s in seen if s is not None), key=lambda ts: ts[1])
            return [*fresh, *((t, s, f"average {s * 1000:.1f} ms") for t, s in timed)]
        tiers = {t.info.id: self._quality.get(t.info.id, t.info.quality_tier or 0) for t in targets}
        if strategy == "quality":
            order = sorted(targets, key=lambda t: (-tiers[t.info.id], _or_inf(costs[t.info.id])))
            return [(t, float(tiers[t.info.id]), f"quality tier {tiers[t.info.id]}") for t in order]
        # balanced
        priced = [c for c in costs.values() if c]
        low, high = (math.log(min(priced)), math.log(max(priced))) if priced else (0.0, 0.0)
        wq, wc = self._weights
        scores = {}
        for t in targets:
            cost = costs[t.info.id]
            place = 1.0 if not cost else (math.log(cost) - low) / (high - low) if high > low else 0.0
            scores[t.info.id] = (wq * tiers[t.info.id] / 5 + wc * (1 - place)) / (wq + wc)
        order = sorted(targets, key=lambda t: -scores[t.info.id])
        return [
            (t, round(scores[t.info.id], 6), f"quality {tiers[t.info.id]}/5, cost {_usd(costs[t.info.id])}")
            for t in order
        ]

    def _plan(
        self, prompt: object, system: str | None, params: dict[str, Any], fallbacks: Sequence[str] | None
    ) -> Plan:
        merged = {**self._params, **params}
        ranked, excluded = self._rank(prompt, system, merged)
        if not ranked:
            from ..errors import ModelNotFoundError

            reasons = "; ".join(f"{c.model}: {c.reason}" for c in excluded)
            raise ModelNotFoundError(f"a router candidate that fits this call ({reasons})")
        targets = [t for t, _, _ in ranked] if self._fallback else [ranked[0][0]]
        service = self._service
        plan = tuple((t, service.prepare(t, merged)) for t in targets)
        return plan + chain_plan(self._service, fallback_ids(fallbacks), merged)

    # -- the call forms, as on a binding --------------------------------------------------
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
        """Call the best candidate for this prompt; on failure, the next (when `fallback`)."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        return call_plan(self._service, self._plan(prompt, system, params, fallbacks), prompt, system)

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
        """Stream from the best candidate; the next is tried only before the first piece."""
        from .._call.tool_loop import stream_for

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        return stream_for(self._service, self._plan(prompt, system, params, fallbacks), prompt, system)

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
        """`router(...)` for asyncio."""
        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        return await acall_plan(self._service, self._plan(prompt, system, params, fallbacks), prompt, system)

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
        """`router.stream(...)` for asyncio."""
        from .._call.tool_loop import astream_for

        params = collect(kwargs, temperature, max_tokens, top_p, stop, seed, timeout, max_retries)
        system = self._system if system is None else system
        return astream_for(self._service, self._plan(prompt, system, params, fallbacks), prompt, system)


def _cost(target: Target, input_tokens: int, output_tokens: int) -> float | None:
    price = target.price
    return None if price is None else price.cost_units(input_tokens, output_tokens) / COST_SCALE


def _or_inf(value: float | None) -> float:
    return math.inf if value is None else value


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"~${value:.6f}"
