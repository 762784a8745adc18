"""When to try again: exponential back-off with full jitter, and the server's Retry-After."""

from __future__ import annotations

import random

from ..errors import ProviderError

__all__ = ["MAX_RETRY_AFTER", "delay_before_retry"]

#: A server asking for a longer wait than this gets its error raised instead of a silent sleep.
MAX_RETRY_AFTER = 60.0


def delay_before_retry(error: ProviderError, attempt: int, initial: float, maximum: float) -> float | None:
    """Seconds to sleep before attempt `attempt + 1`, or None when the error should be raised."""
    if error.retry_after is not None:
        return error.retry_after if 0 <= error.retry_after <= MAX_RETRY_AFTER else None
    return random.uniform(0, min(maximum, initial * 2**attempt))
