"""The gateway's web page in a real headless browser (Debian's Chromium, driven by Playwright), against
the gateway on 127.0.0.1 whose models are answered by the wire fake: it loads, lists the catalog as
`models.list()` filters it, and after calls through the gateway shows their exact cost.

Skips with the reason where Chromium, Playwright or the gateway's extra is missing. One browser and
one gateway for the module.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from models import Capability
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
VIEWER = "page-test-viewer-secret-0123456789"  # a key that may call models but not read usage
KEYS = json.dumps(
    [
        {"name": "admin", "key": ADMIN, "admin": True, "budget_usd": 5, "budget_period": "day"},
        {"name": "viewer", "key": VIEWER},
    ]
)
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
    settings = GatewaySettings(keys=KEYS)
    with GatewayServer(fake_server, settings) as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        except sync_api.Error as exc:  # installed but unable to start here (a library missing, say)
            pytest.skip(f"{CHROMIUM} could not start: {str(exc).splitlines()[0]}")
        yield browser
        browser.close()


@pytest.fixture
def tab(browser: Browser, gateway: GatewayServer) -> Iterator[Page]:
    """A fresh tab (its own sessionStorage) on the page, no key entered yet."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    # every console error counts but a refusal the page expects: no key yet (401), a key that is no admin's (403)
    expected = ("the server responded with a status of 401", "the server responded with a status of 403")
    tab.on("console", lambda m: m.type == "error" and not any(e in m.text for e in expected) and errors.append(m.text))
    tab.goto(gateway.url + "/")
    yield tab
    context.close()
    assert errors == []  # no script error, no failed request (a 404 for a file, a refused call)


def enter(tab: Page, key: str) -> None:
    tab.get_by_label("Gateway key").fill(key)
    tab.get_by_role("button", name="Use key").click()
    sync_api.expect(tab.locator("#model-count")).to_contain_text("Showing")


@pytest.fixture
def page(tab: Page) -> Page:
    """The page with the admin key entered and the catalog loaded."""
    enter(tab, ADMIN)
    return tab


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


def test_spend_and_calls_after_calls_through_the_gateway(tab: Page, fake_server: FakeLLM, tmp_path: Path) -> None:
    """Three calls through a gateway of its own (the real openai SDK): the page shows each one and what
    they cost, exactly as the library prices them, and the key's totals from the gatekeeper's store."""
    with GatewayServer(fake_server, GatewaySettings(keys=KEYS)) as gateway:
        page = tab
        page.goto(gateway.url + "/")
        enter(page, ADMIN)
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
        assert shown == [
            [
                "admin",
                model + (" (stream)" if stream else ""),
                "ok",
                f"{tokens_in:,}",
                f"{tokens_out:,}",
                usd(cost),
                latency,
            ]
            for (model, tokens_in, tokens_out, stream), cost, latency in zip(
                reversed(calls), reversed(costs), (f"{c['latency_ms']:,g} ms" for c in recorded)
            )
        ]
        # the totals, from the gatekeeper's exact store: the key's row, its budget, and each model's row
        total = sum(round(c * 10**15) for c in costs) / 10**15  # in exact units, as the gatekeeper adds
        assert total == 0.01535
        assert page.locator("#total-spend").text_content() == usd(total) == "$0.01535"
        cards = ("#total-requests", "#total-errors", "#total-input", "#total-output")
        assert [page.locator(c).text_content() for c in cards] == ["3", "0", "4,200", "1,000"]
        admin = page.locator("#usage-table tbody", has=page.get_by_role("rowheader", name="admin"))
        assert admin.locator("tr").evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))") == [
            ["admin", usd(total), f"{usd(total)} of $5.00 a day", "3", "0", "4,200", "1,000"],
            *(
                [model, usd(cost), "", "1", "0", f"{tokens_in:,}", f"{tokens_out:,}"]
                for (model, tokens_in, tokens_out, _), cost in sorted(zip(calls, costs))
            ),
        ]
        assert admin.locator("progress").evaluate("p => [p.value, p.max]") == [total, 5]
        # the chart: one coloured series per key and model, its legend with the exact spend of each
        legend = page.locator("#legend li").evaluate_all("items => items.map(i => i.textContent)")
        assert legend == sorted(f"admin · {model}{usd(cost)}" for (model, *_), cost in zip(calls, costs))
        assert page.locator("#chart svg rect").count() == 3

        page.screenshot(path=tmp_path / "gateway-page.png", full_page=True)
        assert (tmp_path / "gateway-page.png").stat().st_size > 10_000


def test_keyboard_sorting_and_the_key_kept_out_of_the_page(page: Page, gateway: GatewayServer) -> None:
    """Column headers sort by keyboard (and say so to a screen reader); the key lives in the tab's
    sessionStorage, never in the page, and "Forget key" drops it."""
    assert ADMIN not in page.content()
    assert page.evaluate("sessionStorage.getItem('models-gateway-key')") == ADMIN
    # every control has a name (its label or text), every table a caption and headers with a scope
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll("input, select, button")]
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute("aria-label") && !e.textContent.trim())
        .map((e) => e.outerHTML)"""
    )
    assert unnamed == []
    assert page.evaluate("document.querySelectorAll('table:not(:has(caption)), th:not([scope])').length") == 0

    active = gateway.api.list()
    header = page.locator("#models-table th[data-sort=output]")
    page.get_by_role("button", name="Output $/1M").focus()
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    # an output price is known for priced models that write text; the others (unpriced models, embedding
    # models, which write no tokens) last, either way
    priced = [m for m in active if m.price is not None and Capability.TEXT_OUTPUT in m.capabilities]
    unpriced = [m.id for m in active if m not in priced]
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


def test_without_a_key_a_wrong_key_and_a_key_that_is_no_admins(tab: Page, gateway: GatewayServer) -> None:
    """Without a key the page asks for one, says why the gateway refuses a wrong one (its own message), and
    shows a key that is not an admin's the catalog but not usage."""
    sync_api.expect(tab.locator("#models-table tbody")).to_have_text("Enter a gateway key to see the models.")
    sync_api.expect(tab.locator("#spend-note")).to_have_text("Enter a gateway key to see spend and recent calls.")
    assert tab.locator("#spend-body").is_hidden() and tab.locator("#calls").is_hidden()

    tab.get_by_label("Gateway key").fill("not-a-key-of-this-gateway")
    tab.get_by_role("button", name="Use key").click()
    refused = "The gateway refused this key: Incorrect API key provided. Ask the gateway's operator for a key."
    sync_api.expect(tab.locator("#models-table tbody")).to_have_text(refused)
    sync_api.expect(tab.locator("#spend-note")).to_have_text(refused)
    tab.get_by_role("button", name="Forget key").click()

    enter(tab, VIEWER)
    assert model_ids(tab) == [m.id for m in gateway.api.list()]
    sync_api.expect(tab.locator("#spend-note")).to_have_text("Spend and recent calls are shown to admin keys only.")
    assert tab.locator("#spend-body").is_hidden() and tab.locator("#calls").is_hidden()
    assert tab.get_by_label("Gateway key").is_hidden()


def test_fits_a_phone(page: Page) -> None:
    """At a phone's width nothing but the tables' own boxes scrolls sideways, and every control is in view."""
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") == 390
    for label in ("Search", "Capability", "Max input price"):
        box = page.get_by_label(label).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_a_gateway_without_keys_shows_everything_without_asking(browser: Browser, fake_server: FakeLLM) -> None:
    """`--no-auth`: the page loads the catalog, the totals and the calls with no key typed in."""
    with GatewayServer(fake_server, GatewaySettings(no_auth=True)) as gw:
        context = browser.new_context()
        tab = context.new_page()
        tab.goto(gw.url + "/")
        sync_api.expect(tab.locator("#model-count")).to_have_text(
            f"Showing {len(gw.api.list())} of {len(gw.api.list(status=None))} models"
        )
        sync_api.expect(tab.locator("#usage-table tbody th")).to_have_text(["anonymous"])
        assert tab.locator("#spend-note").is_hidden() and tab.locator("#calls").is_visible()
        context.close()


def test_auto_refresh_shows_new_calls(browser: Browser, fake_server: FakeLLM) -> None:
    """Every 5 seconds (on the page's clock, run forward here) the calls and spend refresh by themselves,
    and no more once "Auto-refresh" is off."""
    with GatewayServer(fake_server, GatewaySettings(no_auth=True)) as gw:
        context = browser.new_context()
        tab = context.new_page()
        start = time.time()
        tab.clock.install(time=start)
        tab.goto(gw.url + "/")
        rows = tab.locator("#calls-table tbody tr")
        sync_api.expect(rows).to_have_text(["No calls yet."])  # loaded, and the refresh is scheduled
        tab.clock.pause_at(start + 3)  # the page's time stands still from here on, but as the test runs it
        fake_server.reset()
        gw.client("any").chat.completions.create(model="openai/gpt-5.4", messages=[{"role": "user", "content": "hi"}])
        tab.clock.run_for(1000)  # at most 4 s since the schedule: nothing yet
        sync_api.expect(rows).to_have_text(["No calls yet."])
        tab.clock.run_for(5000)
        sync_api.expect(rows).to_have_count(1)
        sync_api.expect(rows.locator("td").nth(6)).to_have_text(usd(gw.api.cost("openai/gpt-5.4", 10, 5) or 0))
        sync_api.expect(tab.locator("#total-spend")).to_have_text(usd(gw.api.cost("openai/gpt-5.4", 10, 5) or 0))

        tab.get_by_label("Auto-refresh").uncheck()
        gw.client("any").chat.completions.create(model="openai/gpt-5.4", messages=[{"role": "user", "content": "hi"}])
        tab.clock.run_for(60_000)
        sync_api.expect(rows).to_have_count(1)
        context.close()
