"""The built site in real Chromium: links, popovers, search, sources, and the payloads.

Debian's ``chromium`` (installed by .ci/run) is driven by Playwright through
``executable_path``; no browser is downloaded. The site is served by a loopback HTTP
server started here. Without Chromium these tests fail: they are part of the suite.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from conftest import Veriwiki, describe
from helpers_site import make_site_vault

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Iterator[str]:
    """Build the test vault's site once and serve it on 127.0.0.1; yields the base URL."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install -y chromium; .ci/run does it)")
    vault = tmp_path_factory.mktemp("site") / "v"
    vw = Veriwiki(cli_env, vault)
    assert vw("init", str(vault)).returncode == 0
    make_site_vault(vw, vault)
    proc = vw("build")
    assert proc.returncode == 0, describe(proc)
    handler = functools.partial(_Quiet, directory=str(vault / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(site: str) -> Iterator[Any]:
    """Chromium, allowed to reach only the loopback server."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, site: str) -> Iterator[Any]:
    """A fresh page; requests leaving 127.0.0.1 are aborted; dialogs are recorded."""
    context = browser.new_context()
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(site) else route.abort())
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.dismiss()))
    try:
        yield tab
    finally:
        context.close()


def test_browser_wikilink_navigates(page: Any, site: str) -> None:
    page.goto(site + "wiki/Grounded.html")
    page.click("a.internal[href='Attention.html']")
    page.wait_for_url("**/wiki/Attention.html")
    assert page.locator("h1.page-title").inner_text() == "Attention"
    assert page.locator(".backlinks a", has_text="Grounded").count() == 1
    broken = page.locator("a.broken-link")
    page.goto(site + "wiki/Grounded.html")
    assert broken.first.inner_text() == "No Such Page"
    assert broken.first.get_attribute("href") is None


def test_browser_popover_shows_quote_and_verdict_on_focus(page: Any, site: str) -> None:
    page.goto(site + "wiki/Grounded.html")
    chips = page.locator(".citation")
    assert chips.count() == 4
    first = chips.nth(0)
    assert not first.locator(".cite-pop").is_visible()
    page.keyboard.press("Tab")
    first.focus()
    pop = first.locator(".cite-pop")
    assert pop.is_visible()
    text = pop.inner_text()
    assert "trained on 2 trillion tokens of data" in text
    assert "verified" in text.lower() and "Llama 2 paper (excerpt)" in text and "line 3" in text
    second = chips.nth(1)
    second.hover()
    assert second.locator(".cite-pop").is_visible()
    assert second.get_attribute("data-verdict") == "number-mismatch"
    assert "3 trillion" in second.locator(".cite-pop").inner_text()
    assert chips.nth(2).get_attribute("data-verdict") == "quote-not-found"
    assert chips.nth(3).get_attribute("data-verdict") == "unknown-source"


def test_browser_search_finds_pages_as_you_type(page: Any, site: str) -> None:
    page.goto(site + "wiki/Grounded.html")
    page.fill("#search-input", "rotary")
    first = page.locator("#search-results li a").first
    first.wait_for(timeout=5000)
    assert "Rotary" in first.inner_text()
    first.click()
    page.wait_for_url("**/Rotary%20Position%20Embedding.html")
    page.fill("#search-input", "the grouped quer")  # a stop word, a finished word, a prefix
    hit = page.locator("#search-results li a").first
    hit.wait_for(timeout=5000)
    assert hit.inner_text() == "Grouped-Query Attention"
    page.fill("#search-input", "zzzqqq")
    page.locator("#search-results li.none").wait_for(timeout=5000)


def test_browser_source_highlight_links_back_to_the_claim(page: Any, site: str) -> None:
    page.goto(site + "_vw/sources/llama2/v1.html")
    mark = page.locator("mark.cited").first
    assert "trained on 2 trillion tokens of data" in mark.inner_text()
    mark.locator("a.cited-by").first.click()
    page.wait_for_url("**/wiki/Grounded.html#cite-7-1")
    assert page.locator("#cite-7-1").count() == 1


def test_browser_reports_and_every_page_open(page: Any, site: str) -> None:
    for rel in ("index.html", "_vw/findings.html", "_vw/health.html", "_vw/tags/index.html",
                "_vw/folders/index.html", "_vw/sources/index.html",
                "wiki/models/Llama%202.html"):
        response = page.goto(site + rel)
        assert response is not None and response.ok, rel
    page.goto(site + "_vw/findings.html")
    page.select_option("select[data-filter='rule']", "broken-link")
    shown = page.locator("table.findings tbody tr:not([hidden])")
    assert shown.count() >= 1
    assert all(r == "broken-link" for r in shown.evaluate_all(
        "rows => rows.map(r => r.dataset.rule)"))


def test_browser_no_payload_executes(page: Any, site: str) -> None:
    urls = [site + "wiki/" + quote("Payload <script>window.__pwned=1<!--.html"),
            site + "wiki/" + quote("\"><img src=x onerror=window.__pwned='filename'>.html"),
            site + "index.html", site + "llms.txt", site + "_vw/findings.html",
            site + "_vw/health.html", site + "_vw/folders/wiki.html",
            site + "_vw/sources/llama2/v1.html", site + "_vw/tags/index.html"]
    for url in urls:
        response = page.goto(url)
        assert response is not None and response.ok, url
        for chip in page.locator(".citation, a, .fact, .callout").all()[:60]:
            try:
                chip.hover(timeout=500)
            except Exception:  # noqa: BLE001 - hidden elements cannot be hovered
                continue
        if page.locator("#search-input").count():
            page.fill("#search-input", "payload script pwned")
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None, url
        assert page.dialogs == [], url
    page.goto(urls[0])
    body = page.locator(".page-body")
    assert body.locator("script, iframe, svg, style, [onerror], [onclick], [onload]").count() == 0
    hrefs = body.locator("a[href]").evaluate_all("as => as.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if h.lower().startswith(("javascript:", "data:"))]
    chips = page.locator(".page-body .citation")
    assert chips.count() == 1  # the forged <span class="citation"> is shown as text
    assert chips.first.get_attribute("data-verdict") == "quote-not-found"
    assert "forged chip" in body.inner_text() and '<span class="citation"' in body.inner_text()
    assert page.locator("h1.page-title").inner_text().startswith('T"><script>')
