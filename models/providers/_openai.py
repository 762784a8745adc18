"""OpenAI through the Chat Completions API (what OpenAI-compatible servers speak too)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from .._catalog import ModelInfo
from .._messages import Message
from .._types import Completion
from ..errors import (
    AuthenticationError,
    ContentFilterError,
    ContextWindowExceededError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeoutError,
    RateLimitError,
)
from ._base import Provider
from ._common import body_error, error_for_status, import_sdk, redact, retry_after_from_headers

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
}
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")
_REASONING_DROPS = frozenset({"temperature", "top_p"})


def _is_reasoning(model: ModelInfo) -> bool:
    if model.known:
        return model.reasoning
    return model.name.lower().startswith(_REASONING_PREFIXES)


class OpenAIProvider(Provider):
    """Chat Completions via the `openai` SDK, its own retries off (the service retries)."""

    key_env = ("OPENAI_API_KEY",)
    base_url_env = "OPENAI_BASE_URL"

    def create_client(self, api_key: str | None, base_url: str | None) -> Any:
        openai = import_sdk("openai", "openai")
        return openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0)

    def unsupported_for(self, model: ModelInfo) -> frozenset[str]:
        # o-series and gpt-5 reasoning models reject sampling parameters.
        return _REASONING_DROPS if _is_reasoning(model) else frozenset()

    def translate(self, model: ModelInfo, params: Mapping[str, Any]) -> dict[str, Any]:
        options = dict(params)
        if "max_tokens" in options and _is_reasoning(model):
            options["max_completion_tokens"] = options.pop("max_tokens")
        return options

    def complete(
        self,
        model: ModelInfo,
        messages: list[Message],
        system: str | None,
        options: Mapping[str, Any],
        timeout: float,
    ) -> Completion:
        if system is not None:
            messages = [{"role": "system", "content": system}, *messages]
        response = self.client().chat.completions.create(
            model=model.name, messages=messages, timeout=timeout, **options
        )
        choice = response.choices[0] if response.choices else None
        usage = response.usage
        cached = reasoning = 0
        if usage is not None:
            details = usage.prompt_tokens_details
            cached = (details.cached_tokens or 0) if details is not None else 0
            out_details = usage.completion_tokens_details
            reasoning = (out_details.reasoning_tokens or 0) if out_details is not None else 0
        return Completion(
            (choice.message.content or "") if choice is not None else "",
            input_tokens=usage.prompt_tokens if usage is not None else 0,
            output_tokens=usage.completion_tokens if usage is not None else 0,
            cached_input_tokens=cached,
            reasoning_tokens=reasoning,
            finish_reason=_FINISH.get(choice.finish_reason) if choice is not None else None,
            raw=response,
        )

    def map_error(self, error: BaseException, model: ModelInfo) -> ProviderError | None:
        openai = sys.modules.get("openai")
        if openai is None:  # the SDK was never imported, so this is not its error
            return super().map_error(error, model)
        where: dict[str, Any] = {"provider": self.name, "model": model.id}
        if isinstance(error, openai.APITimeoutError):  # before APIConnectionError: it subclasses it
            return ProviderTimeoutError(f"OpenAI did not answer in time: {error.message}", **where)
        if isinstance(error, openai.APIConnectionError):
            return ProviderConnectionError(f"Could not reach OpenAI: {error.message}", **where)
        if isinstance(error, openai.APIStatusError):
            detail = body_error(error.body)
            code = error.code or detail.get("code")
            message = redact(str(detail.get("message") or error.message), self._secret)
            where.update(
                status_code=error.status_code,
                request_id=error.request_id,
                retry_after=retry_after_from_headers(error.response.headers),
            )
            if code == "context_length_exceeded":
                return ContextWindowExceededError(f"Prompt too long for {model.id}: {message}", **where)
            if code in ("content_filter", "content_policy_violation"):
                return ContentFilterError(f"OpenAI refused the prompt: {message}", **where)
            if code == "invalid_api_key" or error.status_code in (401, 403):
                return AuthenticationError(f"OpenAI rejected the key (check OPENAI_API_KEY): {message}", **where)
            if code == "insufficient_quota":  # a 429 that waiting will not fix
                return RateLimitError(f"OpenAI quota exhausted: {message}", retryable=False, **where)
            return error_for_status(error.status_code)(f"OpenAI error: {message}", **where)
        if isinstance(error, openai.OpenAIError):
            return ProviderError(f"OpenAI SDK error: {redact(str(error), self._secret)}", **where)
        return super().map_error(error, model)
