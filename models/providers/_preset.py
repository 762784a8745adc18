"""`Preset`: one OpenAI-compatible service as data, apart so that the provider map (`_registry.py`)
and the class that serves presets (`_compatible.py`) both read it without importing each other."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Preset"]


class Preset(NamedTuple):
    """One OpenAI-compatible service: where it answers, the one variable holding its key, and what it
    rejects. Its base URL is overridden by `<NAME>_BASE_URL` or `models.configure(name, base_url=)`."""

    label: str  # the service's name in error messages
    base_url: str | None  # None: the caller must give one (a vLLM server has no usual address)
    key_env: str | None = None  # the only variable its key is read from; None: it takes no key
    key_required: bool = True  # False: a key is sent when set, and the call goes without one otherwise
    local: bool = False  # runs on the caller's hardware: its models cost 0 unless an override prices them
    # (model-name prefix, parameters its models reject: dropped with a warning); "" matches every model
    drops: tuple[tuple[str, frozenset[str]], ...] = ()
    stream_usage: bool = True  # takes `stream_options: {"include_usage": true}` (else reports usage unasked)
    renames: tuple[tuple[str, str], ...] = ()  # (our parameter, the service's name for it)
    url_env: bool = True  # `<NAME>_BASE_URL` overrides `base_url` (not for an endpoint registered in code)
