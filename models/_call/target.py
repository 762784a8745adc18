"""`Target` (one model resolved once: provider, price, metric counters, usage totals) and
`Prepared` (a call's options translated for its provider): what a binding holds and a call reads,
so the call does no resolution, price lookup or label lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._catalog.capabilities import has_capability_data
from .._catalog.info import Capability, ModelInfo
from .._costs import Price
from .._observe.metrics import ModelMetrics
from .._observe.usage import _Totals
from ..providers._base import Provider

if TYPE_CHECKING:  # loaded by the first call that passes tools, a response_format or attachments
    from .._content.attachments import Attachment
    from .._content.output import OutputFormat
    from .._content.tools import Toolset

__all__ = ["DEFAULT_TOOL_ROUNDS", "Prepared", "Target"]

DEFAULT_TOOL_ROUNDS = 8
"""Rounds `run_tools=True` makes at most, until `max_tool_rounds=` says otherwise."""


class Prepared:
    """Call options translated for one provider: SDK keyword arguments, timeout, retries, and the
    tools, output format and attachments (SPEC §8-10) the service needs around the answer."""

    __slots__ = ("attachments", "max_retries", "max_tool_rounds", "options", "output", "run_tools", "timeout", "tools")

    def __init__(
        self,
        options: dict[str, Any],
        timeout: float,
        max_retries: int,
        tools: Toolset | None = None,
        output: OutputFormat | None = None,
        run_tools: bool = False,
        max_tool_rounds: int = DEFAULT_TOOL_ROUNDS,
        attachments: tuple[Attachment, ...] = (),
    ) -> None:
        self.options = options
        self.timeout = timeout
        self.max_retries = max_retries
        self.tools = tools
        self.output = output
        self.run_tools = run_tools
        self.max_tool_rounds = max_tool_rounds
        self.attachments = attachments  # `attachments=`: joined to the last user turn of each call


class Target:
    """One resolved model and everything a call to it needs, looked up once."""

    __slots__ = (
        "checks_parts",
        "default",
        "embeds",
        "info",
        "metrics",
        "price",
        "price_generation",
        "price_until",
        "provider",
        "totals",
        "unsupported",
        "warned",
    )

    def __init__(
        self,
        info: ModelInfo,
        provider: Provider,
        price: tuple[Price | None, float | None],
        generation: int,
        metrics: ModelMetrics,
        totals: _Totals,
    ) -> None:
        self.info = info
        self.provider = provider
        self.price, self.price_until = price  # the row in force, and when (epoch s) a scheduled one replaces it
        self.price_generation = generation
        self.metrics = metrics
        self.totals = totals
        self.unsupported = provider.unsupported_for(info)
        self.checks_parts = has_capability_data(info)  # decided once: prompt parts are checked per call
        # an embedding model: `models.embed` only, a call to it is refused before sending
        self.embeds = Capability.EMBEDDINGS in info.capabilities and Capability.TEXT_OUTPUT not in info.capabilities
        self.default: Prepared | None = None  # the options of a call that passes no parameters
        self.warned: set[str] = set()  # why its cost was None, once said: a call checks here, not the warned set
