"""The command's argparse tree: every subcommand, its options and its `--help` text.

Building it imports only argparse; each subcommand's code is imported when it runs, so
`models --help` stays within a few milliseconds of a bare interpreter. The default call-log path is
read only by `models ask --help` and `models usage --help`, where it is shown.
"""

from __future__ import annotations

import argparse

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: importing typing costs ~2 ms of every `models --help`
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEFAULT_MODEL", "build"]

DEFAULT_MODEL = "gpt-5.6-luna"  # the catalog's replacement for gpt-4o-mini: OpenAI's cheapest active chat model

DESCRIPTION = """\
Call any LLM from the shell and see what it cost.

  models ask "Why is the sky blue?" -m claude-sonnet-4-6
  cat notes.txt | models ask "Summarise" --no-stream
  models list --provider anthropic --capability reasoning
  models info gpt-5.6-luna
  models cost gpt-5.6-sol --input 12000 --output 800
  models usage --since 1w --by day
"""
EXIT_CODES = """\
exit codes: 0 success, 1 a model error (printed as one line), 2 bad usage,
130 interrupted (Ctrl-C), 141 stdout closed early (e.g. `| head`)."""
EPILOG = f"""\
{EXIT_CODES}
Keys come from the environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...).
`models COMMAND --help` for each command."""


def _count(text: str) -> int:
    """A token count: a whole number, 0 or more."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def _port(text: str) -> int:
    value = _count(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port (1-65535): {value}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, with `{log}` replaced by where the call log goes: computed only when
    that help is shown (it imports the call-log module)."""

    def format_help(self) -> str:
        text = super().format_help()
        return text.replace("{log}", log_path_help()) if "{log}" in text else text


def log_path_help() -> str:
    """Where `models ask` logs and `models usage` reads, as the help says it."""
    from .output import log_path

    path = log_path()
    return "nowhere (MODELS_LOG turns it off)" if path is None else str(path)


def _run(module: str) -> Callable[[argparse.Namespace], int]:
    """The handler of a subcommand: its module's `run`, imported only when the subcommand runs."""

    def run(args: argparse.Namespace) -> int:
        from importlib import import_module

        handler = import_module(f".{module}", __package__).run
        return int(handler(args))

    return run


def build() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="models", description=DESCRIPTION, epilog=EPILOG, formatter_class=_Formatter)
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"models {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, description: str, module: str, json: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name, help=summary, description=description, formatter_class=_Formatter, epilog=EXIT_CODES
        )
        sub.set_defaults(run=_run(module), parser=sub)
        if json:
            sub.add_argument("--json", action="store_true", help="print JSON on stdout instead of text")
        return sub

    ask = command(
        "ask",
        "ask a model; streams the answer, then tokens and cost on stderr",
        "Ask a model. The answer streams to stdout; a line with the model, tokens, cost and time goes to\n"
        "stderr. The prompt is PROMPT, or stdin when PROMPT is - or absent; when stdin is piped and PROMPT\n"
        "is given, the prompt is PROMPT, a blank line, then stdin (cat notes.txt | models ask Summarise).\n\n"
        "Every call is logged (time, model, tokens, cost, latency, status, prompt and answer) in\n"
        "{log};\n"
        "MODELS_LOG=path logs elsewhere, MODELS_LOG=0 or --no-log not at all, MODELS_LOG_CONTENT=0\n"
        "leaves prompts and answers out. `models usage` reads it.",
        "ask",
    )
    ask.add_argument("prompt", nargs="?", metavar="PROMPT", help="the prompt; - or absent: read it from stdin")
    ask.add_argument(
        "-m", "--model", help=f"model id, e.g. claude-sonnet-4-6 (default: $MODELS_DEFAULT_MODEL, else {DEFAULT_MODEL})"
    )
    ask.add_argument("-s", "--system", help="system prompt")
    ask.add_argument(
        "-a",
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach a file (image, PDF, audio); repeatable",
    )
    ask.add_argument("--no-stream", action="store_true", help="print the answer when it is complete")
    ask.add_argument(
        "-o",
        "--option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter for the call, e.g. -o top_p=0.9 -o reasoning_effort=low; VALUE is read as JSON when it "
        "parses, else as text; repeatable",
    )
    ask.add_argument("--max-tokens", type=_count, metavar="N", help="most tokens to generate")
    ask.add_argument("--temperature", type=float, metavar="T", help="sampling temperature")
    ask.add_argument("--no-log", action="store_true", help="do not record this call in the call log")

    listing = command(
        "list",
        "list catalog models with today's prices",
        "List the catalog's active models, cheapest input first. Prices are USD per 1M tokens.",
        "catalog",
    )
    listing.add_argument("--provider", metavar="P", help="only this provider's models (openai, anthropic, google, ...)")
    listing.add_argument(
        "--capability",
        metavar="C",
        action="append",
        default=[],
        help="only models with C (e.g. reasoning, image_input, function_calling, embeddings); repeatable",
    )
    listing.add_argument(
        "--max-input-price", type=float, metavar="X", help="only models whose input costs at most X USD per 1M tokens"
    )
    listing.add_argument("--all", action="store_true", help="include deprecated and retired models")

    info = command(
        "info",
        "everything known about one model",
        "Show a model's limits, capabilities, lifecycle and today's price (USD per 1M tokens).",
        "catalog",
    )
    info.add_argument("model", help="model id, e.g. gpt-5.6-sol or anthropic/claude-sonnet-4-6")

    cost = command(
        "cost",
        "what a usage of a model costs",
        "What N input and output tokens cost with "
        "today's price, by the rules of a real call (cached input billed at its own rate).",
        "catalog",
    )
    cost.add_argument("model", help="model id")
    cost.add_argument("--input", type=_count, required=True, metavar="N", help="input tokens (cached included)")
    cost.add_argument("--output", type=_count, required=True, metavar="N", help="output tokens (reasoning included)")
    cost.add_argument("--cached", type=_count, default=0, metavar="N", help="of the input, tokens read from the cache")

    usage = command(
        "usage",
        "totals from the call log",
        "Requests, errors, tokens and cost from the call log, per model, day (local time) or provider, with a\n"
        "total row. The log is {log}.",
        "usage",
    )
    usage.add_argument(
        "--since",
        metavar="WHEN",
        help="only calls since WHEN: 30m, 12h, 1d, 2w ago (units s, m, "
        "h, d, w), or an ISO date or time, local unless it gives an offset (2026-12-01)",
    )
    usage.add_argument(
        "--by", choices=("model", "day", "provider"), default="model", help="group rows by (default: model)"
    )
    usage.add_argument("--log", metavar="FILE", help="read this log file instead")

    serve = command(
        "serve",
        "run the OpenAI-compatible gateway",
        "Serve an OpenAI-compatible API over every provider (POST /v1/chat/completions, /v1/embeddings,\n"
        "GET /v1/models, /metrics, /api/usage, and a page at /). Needs pip install 'models[gateway]'.",
        "serve",
        json=False,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8080, help="port (default: 8080)")
    serve.add_argument("--workers", type=_positive, default=1, metavar="N", help="worker processes (default: 1)")
    serve.add_argument(
        "--keys",
        metavar="FILE",
        help="gateway keys file (default: $MODELS_GATEWAY_KEYS_FILE, or the keys in $MODELS_GATEWAY_KEYS)",
    )
    serve.add_argument(
        "--redis", metavar="URL", help="Redis for limits and budgets shared by workers (default: $MODELS_REDIS_URL)"
    )
    serve.add_argument(
        "--max-body",
        type=_positive,
        metavar="BYTES",
        help="largest request body accepted (default: $MODELS_GATEWAY_MAX_BODY, else the gateway's default)",
    )
    serve.add_argument(
        "--no-auth", action="store_true", help="serve without gateway keys: every client is trusted (a local test)"
    )
    return parser
