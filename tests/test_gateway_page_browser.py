"""The gateway's web page in a real headless browser (Debian's Chromium, driven by Playwright), against
the gateway on 127.0.0.1 whose models are answered by the wire fake: it loads, lists the catalog as
`models.list()` filters it, and after calls through the gateway shows their exact cost.

Skips with the reason where Chromium, Playwright or the gateway's extra is missing. One browser and
one gateway for the module.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from models._gateway.settings import GatewaySettings

from .fake_llm import Reply

pytest.importorskip("starlette", reason="the gateway's extra is not installed (pip install 'models[gateway]')")
pytest.importorskip("uvicorn", reason="the gateway's extra is not installed (pip install 'models[gateway]')")
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright; no browser download needed)"
)
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

from .gateway_server import GatewayServer  # noqa: E402 (after the skips: it needs the gateway's extra)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from .fake_llm import FakeLLM

ADMIN = "page-test-admin-secret-0123456789"
# Chromium as CI runs it: no sandbox (containers), nothing fetched from the network (the machine is offline)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def gateway(fake_server: FakeLLM) -> Iterator[GatewayServer]:
    settings = GatewaySettings(keys=f'[{{"name": "admin", "key": "{ADMIN}", "admin": true}}]')
    with GatewayServer(fake_server, settings) as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, gateway: GatewayServer) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage) on the page, the admin key entered, the catalog loaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # every console error counts but a refusal the page expects: no key yet (401), a key that is no admin's (403)
    expected = ("the server responded with a status of 401", "the server responded with a status of 403")
    tab.on("console", lambda m: m.type == "error" and not any(e in m.text for e in expected) and errors.append(m.text))
    tab.goto(gateway.url + "/")
    tab.get_by_label("Gateway key").fill(ADMIN)
    tab.get_by_role("button", name="Use key").click()
    sync_api.expect(tab.locator("#model-count")).to_contain_text("Showing")
    yield tab
    context.close()
    assert errors == []  # no script error, no failed request (a 404 for a file, a refused call)


def model_ids(page: Page) -> list[str]:
    return page.locator("#models-table tbody td.id").evaluate_all("cells => cells.map(c => c.firstChild.data)")


def usd(x: float) -> str:
    """The page's way to show dollars (under $1: six significant digits, at least two decimals)."""
    text = format(Decimal(f"{x:.6g}"), "f")
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def test_catalog_filters_as_models_list(page: Page, gateway: GatewayServer) -> None:
    """Every filter shows exactly the models `models.list()` gives for it, in the same order."""
    api = gateway.api
    everything = api.list(status=None)
    active = [m.id for m in api.list()]
    assert model_ids(page) == active
    assert page.locator("#model-count").text_content() == f"Showing {len(active)} of {len(everything)} models"

    page.get_by_label("Capability").select_option("embeddings")
    embedders = [m.id for m in api.list(capability="embeddings")]
    assert model_ids(page) == embedders and 2 <= len(embedders) < len(active)
    assert page.locator("#models-table tbody tr").count() == len(embedders)

    page.get_by_label("Capability").select_option("")
    page.get_by_label("Max input price").fill("0.15")
    cheap = [m.id for m in api.list(max_input_price=0.15)]
    assert model_ids(page) == cheap and 2 <= len(cheap) < len(active)

    page.get_by_label("Max input price").fill("")
    page.get_by_label("Include deprecated and retired").check()
    assert model_ids(page) == [m.id for m in everything]
    page.get_by_label("Include deprecated and retired").uncheck()

    page.get_by_label("Search").fill("claude sonnet")  # every word must match
    sonnets = [m for m in active if "claude" in m and "sonnet" in m]
    assert model_ids(page) == sonnets and 1 <= len(sonnets) < len([m for m in active if "claude" in m])
    assert page.locator("#model-count").text_content() == f"Showing {len(sonnets)} of {len(everything)} models"
    page.get_by_label("Search").fill("no-such-model-anywhere")
    assert page.locator("#models-table tbody").text_content() == "No model matches these filters."


def test_spend_and_calls_after_calls_through_the_gateway(
    page: Page, gateway: GatewayServer, fake_server: FakeLLM, tmp_path: Path
) -> None:
    """Three calls through the gateway (the real openai SDK): the page shows each one and what they cost,
    exactly as the library prices them."""
    fake_server.reset()
    client = gateway.client(ADMIN)
    calls: list[tuple[str, int, int, bool]] = [
        ("openai/gpt-5.4", 1200, 300, False),
        ("anthropic/claude-sonnet-4-6", 1000, 200, True),
        ("google/gemini-2.5-flash", 2000, 500, False),
    ]
    for model, tokens_in, tokens_out, stream in calls:
        fake_server.set_reply(Reply(input_tokens=tokens_in, output_tokens=tokens_out))
        if stream:
            chunks = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "hi"}],
                stream=True,
                stream_options={"include_usage": True},
            )
            assert [c.usage.completion_tokens for c in chunks if c.usage] == [tokens_out]
        else:
            answer = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
            assert answer.usage is not None and answer.usage.completion_tokens == tokens_out
    costs = [gateway.api.cost(model, tokens_in, tokens_out) for model, tokens_in, tokens_out, _ in calls]
    assert all(c is not None and c > 0 for c in costs)

    page.get_by_role("button", name="Refresh").click()
    rows = page.locator("#calls-table tbody tr")
    sync_api.expect(rows).to_have_count(3)
    shown = rows.evaluate_all("rows => rows.map(r => [...r.cells].slice(1).map(c => c.textContent))")
    recorded = gateway.state.history.recent(3)
    key = recorded[0]["key"]
    assert shown == [
        [key, model + (" (stream)" if stream else ""), "ok", f"{tokens_in:,}", f"{tokens_out:,}", usd(cost), latency]
        for (model, tokens_in, tokens_out, stream), cost, latency in zip(
            reversed(calls), reversed(costs), (f"{c['latency_ms']:,g} ms" for c in recorded)
        )
    ]
    # the chart: one coloured series per key and model, its legend with the exact spend of each
    legend = page.locator("#legend li").evaluate_all("items => items.map(i => i.textContent)")
    assert legend == sorted(f"{key} · {model}{usd(cost)}" for (model, *_), cost in zip(calls, costs))
    assert page.locator("#chart svg rect").count() == 3

    page.screenshot(path=tmp_path / "gateway-page.png", full_page=True)
    assert (tmp_path / "gateway-page.png").stat().st_size > 10_000


def test_keyboard_sorting_and_the_key_kept_out_of_the_page(page: Page, gateway: GatewayServer) -> None:
    """Column headers sort by keyboard (and say so to a screen reader); the key lives in the tab's
    sessionStorage, never in the page, and "Forget key" drops it."""
    assert ADMIN not in page.content()
    assert page.evaluate("sessionStorage.getItem('models-gateway-key')") == ADMIN

    active = gateway.api.list()
    header = page.locator("#models-table th[data-sort=output]")
    page.get_by_role("button", name="Output $/1M").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    priced = [m for m in active if m.price is not None]
    unpriced = [m.id for m in active if m.price is None]  # unknown prices last, either way
    assert model_ids(page) == [m.id for m in sorted(priced, key=lambda m: m.price.output)] + unpriced  # type: ignore[union-attr]
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "descending"
    assert model_ids(page) == [m.id for m in sorted(priced, key=lambda m: -m.price.output)] + unpriced  # type: ignore[union-attr]

    page.get_by_label("Search").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "cap"

    page.get_by_role("button", name="Forget key").click()
    sync_api.expect(page.get_by_label("Gateway key")).to_be_focused()
    assert page.evaluate("sessionStorage.getItem('models-gateway-key')") is None
    assert page.locator("#spend-note").text_content() == "Enter a gateway key to see spend and recent calls."
    assert page.locator("#calls").is_hidden()
