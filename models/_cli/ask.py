"""`models ask`: one call on the ready-made `models` instance, streamed to stdout, cost on stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from typing import Any

from .. import models as api
from .output import dollars, log_path, print_json, tokens
from .parser import DEFAULT_MODEL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .._types import Response

__all__ = ["as_json", "run"]


def run(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    params = _params(args, parser)
    prompt = _prompt(args.prompt, parser)
    model = args.model or os.environ.get("MODELS_DEFAULT_MODEL", "").strip() or DEFAULT_MODEL
    log = api.log_to(None if args.no_log else log_path())  # also drops a MODELS_LOG log: --no-log wins
    try:
        if args.json:
            print_json(as_json(api(model, prompt, system=args.system, **params)))
            return 0
        response = _answer(model, prompt, args.system, params, stream=not args.no_stream)
    finally:
        if log is not None:
            log.flush()  # the writer thread is a daemon: commit this call before the process ends
    usage = response.usage
    spent = tokens(usage.input_tokens, usage.output_tokens, usage.cached_input_tokens)
    print(f"{response.model} · {spent} · {dollars(usage.cost)} · {response.latency:.2f} s", file=sys.stderr)
    return 0


def _answer(model: str, prompt: str, system: str | None, params: dict[str, Any], stream: bool) -> Response:
    """The answer on stdout, piece by piece as it arrives when streaming, ending in a newline."""
    out = sys.stdout
    if stream:
        pieces = api.stream(model, prompt, system=system, **params)
        try:
            for piece in pieces:
                out.write(piece)
                out.flush()
        except (BrokenPipeError, KeyboardInterrupt):
            with warnings.catch_warnings():  # the reader left or the user stopped it: no "closed early" notice
                warnings.simplefilter("ignore")
                pieces.close()  # settles the call: logged, its tokens so far counted
            raise
        response = pieces.response
    else:
        response = api(model, prompt, system=system, **params)
        out.write(response.text)
    if response.text and not response.text.endswith("\n"):
        out.write("\n")
    out.flush()
    return response


def _prompt(given: str | None, parser: argparse.ArgumentParser) -> str:
    """PROMPT; stdin when PROMPT is - or absent; both (PROMPT, a blank line, stdin) when stdin is piped."""
    stdin = sys.stdin
    if given is None or given == "-":
        if given is None and (stdin is None or stdin.isatty()):
            parser.error("no prompt: give one (models ask 'Why is the sky blue?') or pipe it on stdin")
        text = stdin.read() if stdin is not None else ""
    elif stdin is not None and not stdin.isatty():
        piped = stdin.read()
        text = f"{given}\n\n{piped}" if piped.strip() else given
    else:
        text = given
    if not text.strip():
        parser.error("the prompt is empty")
    return text


def _params(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """The call's keywords: each -o KEY=VALUE (VALUE as JSON when it parses), the shortcuts, attachments."""
    params: dict[str, Any] = {}
    for option in args.option:
        key, sep, value = option.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            parser.error(f"-o takes KEY=VALUE (e.g. -o top_p=0.9), not {option!r}")
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    if args.attach:
        params["attachments"] = [api.Attachment(path=path) for path in args.attach]
    return params


def as_json(response: Response) -> dict[str, Any]:
    """The whole `Response` as JSON-able data: what `models ask --json` prints."""
    usage = response.usage
    return {
        "text": response.text,
        "model": response.model,
        "provider": response.provider,
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "cached_input_tokens": usage.cached_input_tokens,
            "cache_write_tokens": usage.cache_write_tokens,
            "cache_write_1h_tokens": usage.cache_write_1h_tokens,
            "reasoning_tokens": usage.reasoning_tokens,
            "cost": usage.cost,
            "price_source": usage.price_source,
        },
        "finish_reason": response.finish_reason,
        "latency": response.latency,
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls],
        "parsed": response.parsed,
    }
