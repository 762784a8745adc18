"""How values show in a notebook or a REPL: IPython's `_repr_pretty_` and `_repr_html_`.

The pretty printer is driven through IPython's protocol (`_repr_pretty_(p, cycle)` with only
`p.text` used), here with a printer that records the text; the real IPython printer is checked
too when IPython is installed (it is not a dependency).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from models import Capability, ModelInfo, ModelsAPI, Price, Response, Usage


class TextPrinter:
    """The part of IPython's `RepresentationPrinter` that `_repr_pretty_` may use."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def text(self, obj: str) -> None:
        self.parts.append(obj)


def pretty(obj: Any, cycle: bool = False) -> str:
    printer = TextPrinter()
    obj._repr_pretty_(printer, cycle)
    return "".join(printer.parts)


@pytest.fixture
def priced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"mock/echo": {"input": 2, "output": 12}}')


def _fixed(r: Response, latency: float = 0.25) -> Response:
    """The same answer with a known latency, so its display is exact."""
    return Response(r.text, r.model, r.provider, r.usage, r.finish_reason, latency)


def _th(text: str) -> str:
    return f'<th style="text-align:left">{text}</th>'


def _td(text: str, align: str = "left") -> str:
    return f'<td style="text-align:{align}">{text}</td>'


def test_a_response_shows_text_model_usage_cost_finish_reason_and_latency(api: ModelsAPI, priced: None) -> None:
    r = _fixed(api("mock/echo", "Hello from one line of Python", system="Be brief.", max_tokens=4))
    assert pretty(r) == (
        "Response\n"
        "  text           Hello from one line\n"
        "  model          mock/echo\n"
        "  usage          8 in, 4 out\n"
        "  cost           $0.00006400\n"
        "  finish_reason  length\n"
        "  latency        0.250 s"
    )
    rows = [
        ("text", "Hello from one line"),
        ("model", "mock/echo"),
        ("usage", "8 in, 4 out"),
        ("cost", "$0.00006400"),
        ("finish_reason", "length"),
        ("latency", "0.250 s"),
    ]
    body = "".join(f"<tr>{_th(k)}{_td(v)}</tr>" for k, v in rows)
    assert r._repr_html_() == f'<table><caption style="text-align:left">Response</caption><tbody>{body}</tbody></table>'


def test_html_is_escaped_so_an_answer_cannot_inject_markup(api: ModelsAPI, priced: None) -> None:
    r = api("mock/echo", "<script>alert('x')</script> & <b>bold</b>")
    html = r._repr_html_()
    assert "<script>" not in html and "<b>" not in html
    assert _td("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;") in html
    assert "  text           <script>alert('x')</script> & <b>bold</b>\n" in pretty(r)  # text is text


def test_a_long_answer_is_clipped_and_raw_data_is_never_shown() -> None:
    blob = "iVBORw0KGgo" + "A" * 5000  # base64 of an image, as a raw SDK object might carry it
    text = "line one\nline two " + "x" * 400
    r = Response(text, "openai/gpt-5.6-luna", "openai", Usage(10, 5, cost=None), None, 1.5, raw={"b64_json": blob})
    shown = pretty(r)
    assert shown.startswith("Response\n  text           line one\n                 line two xxx")
    assert f"{'x' * 282}… (118 more characters)\n  model          openai/gpt-5.6-luna\n" in shown
    assert "  cost           unpriced\n  finish_reason  none\n  latency        1.500 s" in shown
    html = r._repr_html_()
    assert _td("line one<br>line two " + "x" * 282 + "… (118 more characters)") in html
    for out in (shown, html, repr(r)):
        assert "iVBORw0KGgo" not in out and len(out) < 1200


def test_a_fallback_response_lists_the_models_tried_first() -> None:
    from models import Attempt

    attempts = (Attempt("anthropic/claude-sonnet-5-5", "server"), Attempt("openai/gpt-5.6-sol", "rate_limit"))
    r = Response("hi", "google/gemini-3.8-flash", "google", Usage(1, 1, cost=0.0), "stop", 0.1, attempts=attempts)
    assert pretty(r).endswith(
        "  latency        0.100 s\n"
        "  attempts       anthropic/claude-sonnet-5-5 (server)\n"
        "                 openai/gpt-5.6-sol (rate_limit)"
    )
    assert _td("anthropic/claude-sonnet-5-5 (server)<br>openai/gpt-5.6-sol (rate_limit)") in r._repr_html_()


def test_usage_shows_every_count_cost_and_price_source() -> None:
    usage = Usage(1200, 340, cached_input_tokens=1000, cache_write_tokens=100, reasoning_tokens=40, cost=0.0123)
    assert pretty(usage) == (
        "Usage\n"
        "  input_tokens           1,200\n"
        "  cached_input_tokens    1,000\n"
        "  cache_write_tokens     100\n"
        "  cache_write_1h_tokens  0\n"
        "  output_tokens          340\n"
        "  reasoning_tokens       40\n"
        "  total_tokens           1,540\n"
        "  cost                   $0.01230000\n"
        "  price_source           none"
    )
    r = Response("ok", "openai/gpt-5.6-sol", "openai", usage, "stop", 2.0)
    assert "  usage          1,200 in (1,000 cached, 100 cache write), 340 out (40 reasoning)\n" in pretty(r)


def _price() -> Price:
    tier = Price(Decimal("0.40"), Decimal("1.80"), Decimal("0.04"), Decimal("0.50"), Decimal("0.50"))
    return Price(
        Decimal("0.20"),
        Decimal("1.20"),
        Decimal("0.02"),
        Decimal("0.25"),
        Decimal("0.25"),
        tiers=((272_000, tier),),
        since="2026-07-30",
        checked="2026-11-24",
        source="https://developers.openai.com/api/docs/pricing",
    )


def test_a_price_shows_its_rates_a_column_per_tier_and_where_they_come_from() -> None:
    assert pretty(_price()) == (
        "Price (USD per 1M tokens)\n"
        "default since 2026-07-30, checked 2026-11-24: https://developers.openai.com/api/docs/pricing\n"
        "                  base  above 272,000 input tokens\n"
        "  input           0.20                        0.40\n"
        "  output          1.20                        1.80\n"
        "  cached_input    0.02                        0.04\n"
        "  cache_write     0.25                        0.50\n"
        "  cache_write_1h  0.25                        0.50"
    )
    flat = Price(Decimal("3"), Decimal("15"), Decimal("0.30"), Decimal("3.75"), Decimal("6"), origin="override")
    assert pretty(flat) == (
        "Price (USD per 1M tokens)\n"
        "override\n"
        "  input              3\n"
        "  output            15\n"
        "  cached_input    0.30\n"
        "  cache_write     3.75\n"
        "  cache_write_1h     6"
    )
    html = _price()._repr_html_()
    assert html.startswith(
        '<table><caption style="text-align:left">Price (USD per 1M tokens)<br>default since 2026-07-30, '
        "checked 2026-11-24: https://developers.openai.com/api/docs/pricing</caption><thead><tr>"
        '<th style="text-align:left"></th><th style="text-align:right">base</th>'
        '<th style="text-align:right">above 272,000 input tokens</th></tr></thead><tbody><tr>'
        f"{_th('input')}{_td('0.20', 'right')}{_td('0.40', 'right')}</tr>"
    )


def _row(name: str, **fields: Any) -> ModelInfo:
    return ModelInfo(f"openai/{name}", "openai", name, **fields)


def test_a_model_shows_identity_lifecycle_limits_capabilities_and_price() -> None:
    info = _row(
        "gpt-4o",
        aliases=("gpt-4o-2024-08-06",),
        context_window=128_000,
        max_output=16_384,
        display_name="GPT-4o",
        release_date="2024-05-13",
        status="deprecated",
        sunset="2027-01-14",
        replacement="openai/gpt-5.6-luna",
        capabilities=frozenset({Capability.TEXT_INPUT, Capability.STREAMING, Capability.LARGE_CONTEXT}),
        price=_price(),
    )
    assert pretty(info) == (
        "ModelInfo\n"
        "  id              openai/gpt-4o\n"
        "  display_name    GPT-4o\n"
        "  status          deprecated\n"
        "  sunset          2027-01-14\n"
        "  replacement     openai/gpt-5.6-luna\n"
        "  context_window  128,000 tokens\n"
        "  max_output      16,384 tokens\n"
        "  capabilities    large_context, streaming, text_input\n"
        "  release_date    2024-05-13\n"
        "  aliases         gpt-4o-2024-08-06\n"
        "  price           $0.20 in, $1.20 out per 1M tokens"
    )
    unknown = _row("my-finetune", known=False)
    assert pretty(unknown) == (
        "ModelInfo\n  id      openai/my-finetune\n  status  active\n  known   no: not in the catalog, sent as written"
    )


def test_list_is_still_a_list_and_shows_as_a_table(api: ModelsAPI) -> None:
    found = api.list(provider="anthropic")
    assert isinstance(found, list) and found == list(found) and isinstance(found[0], ModelInfo)
    assert len(found) == len([m for m in api.list(status=None) if m.provider == "anthropic" and m.status == "active"])
    table = pretty(found).splitlines()
    assert table[:2] == [
        f"{len(found)} models (prices in USD per 1M tokens)",
        "  model                        status    context  max output  input  cached input  output",
    ]
    assert "  anthropic/claude-haiku-5-5   active  1,000,000     128,000   0.10          0.01    0.50" in table
    assert [line.split()[0] for line in table[2:]] == [m.id for m in found]
    first_two = pretty(found[:2]).splitlines()  # a slice is a table too
    assert first_two[0] == "2 models (prices in USD per 1M tokens)"
    assert [line.split() for line in first_two[1:]] == [line.split() for line in table[1:4]]

    two = type(found)([_row("a", context_window=8_192, price=_price()), _row("b-<i>", status="retired")])
    assert pretty(two) == (
        "2 models (prices in USD per 1M tokens)\n"
        "  model         status   context  max output  input  cached input  output\n"
        "  openai/a      active     8,192           -   0.20          0.02    1.20\n"
        "  openai/b-<i>  retired        -           -      -             -       -"
    )
    html = two._repr_html_()
    assert "<th " in html and "<i>" not in html
    assert f"<tr>{_th('openai/b-&lt;i&gt;')}{_td('retired')}{_td('-', 'right')}" in html
    assert pretty(two, cycle=True) == "ModelList(...)"


def test_usage_is_still_a_dict_and_shows_a_row_per_model_and_a_total(
    api: ModelsAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert pretty(api.usage()) == (
        "Usage by model: no calls yet\n"
        "  model  requests  errors  input  cached input  cache write  output  reasoning  cost"
    )
    monkeypatch.setenv("MODELS_COSTS_JSON", '{"mock/echo": {"input": 2, "output": 12}}')
    api("mock/echo", "one two three")
    api("mock/echo", "four")
    with pytest.warns(UserWarning, match="has no price"):
        api("mock/other", "five six")
    usage = api.usage()
    assert isinstance(usage, dict) and usage == dict(usage) and set(usage) == {"mock/echo", "mock/other"}
    assert usage["mock/echo"].requests == 2
    assert pretty(usage) == (
        "Usage by model\n"
        "  model       requests  errors  input  cached input  cache write  output  reasoning"
        "                      cost\n"
        "  mock/echo          2       0      4             0            0       4          0"
        "               $0.00005600\n"
        "  mock/other         1       0      2             0            0       2          0"
        "  $0.00000000 + 1 unpriced\n"
        "  total              3       0      6             0            0       6          0"
        "  $0.00005600 + 1 unpriced"
    )
    html = usage._repr_html_()
    assert html.startswith('<table><caption style="text-align:left">Usage by model</caption><thead><tr>')
    assert f"<tr>{_th('total')}{_td('3', 'right')}{_td('0', 'right')}{_td('6', 'right')}" in html


def test_ipython_pretty_prints_the_tables(api: ModelsAPI, priced: None) -> None:
    lib = pytest.importorskip("IPython.lib.pretty")
    r = _fixed(api("mock/echo", "hi"))
    for obj in (r, r.usage, _price(), api.info("gpt-5.6-luna"), api.list(provider="google"), api.usage()):
        assert lib.pretty(obj) == pretty(obj)
