"""``veriwiki serve`` in real Chromium: read, popovers, search, edit with live findings,
save, merges (two tabs; an outside write), live refresh, and no payload runs.

The server is the real command started as a subprocess on a free loopback port;
Debian's ``chromium`` is driven by Playwright through ``executable_path`` (no browser
download). Requests leaving 127.0.0.1 are aborted. With ``VERIWIKI_SCREENSHOTS=DIR`` the
page view and the editor with a finding are saved there (docs/img holds the copies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from conftest import Veriwiki
from helpers_site import make_site_vault
from helpers_web import serving

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WRONG = 'Llama 2 saw 2 trillion tokens [@llama2, "this quote is not in the paper at all"].'
RIGHT = 'Llama 2 saw 2 trillion tokens [@llama2, "trained on 2 trillion tokens of data"].'

pytestmark = pytest.mark.slow


def _git(root: Path, env: dict[str, str], *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, check=True).stdout


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory,
           cli_env: dict[str, str]) -> Iterator[tuple[str, Path, dict[str, str]]]:
    """``veriwiki serve`` on a fresh vault; yields (base URL, vault root, env)."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install -y chromium; .ci/run does it)")
    root = tmp_path_factory.mktemp("serve") / "v"
    vw = Veriwiki(cli_env, root)
    assert vw("init", str(root)).returncode == 0
    make_site_vault(vw, root)
    for name in ("Draft", "Shared", "Outside"):
        (root / "wiki" / f"{name}.md").write_text(
            f"---\ntitle: {name}\n---\n# {name}\n\nFirst line of {name}.\n\n"
            f"Middle line of {name}.\n\nLast line of {name}.\n", encoding="utf-8")
    _git(root, cli_env, "add", "-A")
    _git(root, cli_env, "commit", "-qm", "pages")
    with serving(vw, root) as base:
        yield base, root, cli_env


@pytest.fixture(scope="module")
def browser(served: tuple[str, Path, dict[str, str]]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def context(browser: Any, served: tuple[str, Path, dict[str, str]]) -> Iterator[Any]:
    """A browser profile (one cookie jar) allowed to reach only the server."""
    base = served[0]
    ctx = browser.new_context(viewport={"width": 1200, "height": 760})
    ctx.route("**/*", lambda route: route.continue_()
              if route.request.url.startswith(base) else route.abort())
    try:
        yield ctx
    finally:
        ctx.close()


def _tab(context: Any) -> Any:
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda d: (tab.dialogs.append(d.message), d.accept()))
    return tab


def _shot(tab: Any, name: str) -> None:
    folder = os.environ.get("VERIWIKI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / name))


def test_serve_page_link_popover_and_search(context: Any, served: Any) -> None:
    base, _, _ = served
    tab = _tab(context)
    tab.goto(base + "/w/wiki/Grounded")
    chips = tab.locator(".page-body .citation")
    assert chips.count() == 4
    first = chips.nth(0)
    assert not first.locator(".cite-pop").is_visible()
    first.focus()
    pop = first.locator(".cite-pop")
    assert pop.is_visible()
    text = pop.inner_text()
    assert "trained on 2 trillion tokens of data" in text and "verified" in text.lower()
    assert "Llama 2 paper (excerpt)" in text and "line 3" in text
    first.evaluate("e => e.blur()")
    chips.nth(2).hover()
    assert chips.nth(2).locator(".cite-pop").is_visible()
    assert not pop.is_visible()
    assert chips.nth(2).get_attribute("data-verdict") == "quote-not-found"
    _shot(tab, "serve-page.png")
    tab.locator(".page-body a.internal", has_text="Attention").first.click()
    tab.wait_for_url("**/w/wiki/Attention")
    assert tab.locator("h1.page-title").inner_text() == "Attention"
    assert tab.locator(".backlinks a", has_text="Grounded").count() == 1
    tab.fill("#search-input", "rotary")
    hit = tab.locator("#search-results li a").first
    hit.wait_for(timeout=10000)
    assert "Rotary" in hit.inner_text()
    hit.click()
    tab.wait_for_url("**/w/wiki/Rotary%20Position%20Embedding")
    tab.fill("#search-input", "grouped")
    tab.press("#search-input", "Enter")
    tab.wait_for_url("**/search?q=grouped")
    assert tab.locator(".search-hits a", has_text="Grouped-Query Attention").count() == 1


def test_serve_edit_shows_finding_then_saves(context: Any, served: Any) -> None:
    base, root, env = served
    tab = _tab(context)
    tab.goto(base + "/w/wiki/Draft")
    tab.click(".page-actions a:has-text('Edit')")
    tab.wait_for_url("**/edit/wiki/Draft")
    editor = tab.locator("#editor-text")
    editor.press("End")
    editor.evaluate("e => { e.selectionStart = e.selectionEnd = e.value.length; }")
    editor.type("\n" + WRONG + "\n")
    finding = tab.locator("#preview-findings li[data-rule='quote-not-found']")
    finding.wait_for(timeout=15000)
    assert "this quote is not in the paper at all" in finding.inner_text() or \
        "quote" in finding.inner_text()
    assert tab.locator("#preview .citation[data-verdict='quote-not-found']").count() == 1
    _shot(tab, "serve-editor.png")
    value = editor.input_value().replace(WRONG, RIGHT)
    editor.fill(value)
    tab.locator("#preview .citation[data-verdict='verified']").wait_for(timeout=15000)
    assert tab.locator("#preview-findings li[data-rule='quote-not-found']").count() == 0
    tab.fill("input[name='message']", "Draft: cite the token count")
    tab.click("#save")
    tab.wait_for_url("**/w/wiki/Draft?saved=*")
    assert "Saved as commit" in tab.locator(".flash").inner_text()
    assert tab.locator(".page-body .citation[data-verdict='verified']").count() == 1
    assert _git(root, env, "log", "-1", "--format=%s").strip() == \
        "veriwiki: edit | Draft: cite the token count"
    assert RIGHT in (root / "wiki" / "Draft.md").read_text(encoding="utf-8")


def test_serve_editor_selects_the_line_of_a_finding(context: Any, served: Any) -> None:
    base, _, _ = served
    tab = _tab(context)
    tab.goto(base + "/edit/wiki/Grounded#L7")
    editor = tab.locator("#editor-text")
    selected = editor.evaluate("e => e.value.substring(e.selectionStart, e.selectionEnd)")
    assert selected.startswith("Llama 2 was pretrained on 2 trillion tokens")


def test_serve_two_tabs_second_save_merges(context: Any, served: Any) -> None:
    base, root, _ = served
    one, two = _tab(context), _tab(context)
    for tab in (one, two):
        tab.goto(base + "/edit/wiki/Shared")
    a = one.locator("#editor-text").input_value().replace("First line of Shared.",
                                                          "First line, edited in tab one.")
    one.locator("#editor-text").fill(a)
    one.click("#save")
    one.wait_for_url("**/w/wiki/Shared?saved=*")
    b = two.locator("#editor-text").input_value().replace("Last line of Shared.",
                                                          "Last line, edited in tab two.")
    two.locator("#editor-text").fill(b)
    two.fill("input[name='message']", "tab two")
    two.click("#save")
    two.locator("article.merge").wait_for(timeout=15000)
    assert two.locator("article.merge").get_attribute("data-clean") == "yes"
    merged = two.locator("#merged-text").input_value()
    assert "edited in tab one" in merged and "edited in tab two" in merged
    on_disk = (root / "wiki" / "Shared.md").read_text(encoding="utf-8")
    assert "edited in tab two" not in on_disk  # nothing written before the person decides
    two.click("#save-merged")
    two.wait_for_url("**/w/wiki/Shared?saved=*")
    final = (root / "wiki" / "Shared.md").read_text(encoding="utf-8")
    assert "edited in tab one" in final and "edited in tab two" in final
    # the same line in both tabs: a conflict, both texts on screen, nothing lost
    for tab in (one, two):
        tab.goto(base + "/edit/wiki/Shared")
    one.locator("#editor-text").fill(one.locator("#editor-text").input_value().replace(
        "Middle line of Shared.", "Middle line from tab one."))
    one.click("#save")
    one.wait_for_url("**/w/wiki/Shared?saved=*")
    two.locator("#editor-text").fill(two.locator("#editor-text").input_value().replace(
        "Middle line of Shared.", "Middle line from tab two."))
    two.click("#save")
    two.locator("article.merge").wait_for(timeout=15000)
    assert two.locator("article.merge").get_attribute("data-clean") == "no"
    assert "Middle line from tab two." in two.locator("pre.mine").inner_text()
    assert "Middle line from tab one." in two.locator("pre.theirs").inner_text()
    assert "Middle line from tab one." in (root / "wiki" / "Shared.md").read_text()


def test_serve_outside_write_between_load_and_save(context: Any, served: Any) -> None:
    base, root, _ = served
    tab = _tab(context)
    tab.goto(base + "/edit/wiki/Outside")
    page = root / "wiki" / "Outside.md"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "First line of Outside.", "First line, changed by another program."), encoding="utf-8")
    tab.locator("#live-notice").wait_for(state="visible", timeout=15000)  # the editor is told
    text = tab.locator("#editor-text").input_value().replace(
        "Last line of Outside.", "Last line, changed in the browser.")
    tab.locator("#editor-text").fill(text)
    tab.click("#save")
    tab.locator("article.merge").wait_for(timeout=15000)
    assert "changed by another program" in page.read_text(encoding="utf-8")
    assert "changed in the browser" not in page.read_text(encoding="utf-8")
    tab.click("#save-merged")
    tab.wait_for_url("**/w/wiki/Outside?saved=*")
    final = page.read_text(encoding="utf-8")
    assert "changed by another program" in final and "changed in the browser" in final


def test_serve_page_view_reloads_after_outside_change(context: Any, served: Any) -> None:
    base, root, _ = served
    tab = _tab(context)
    tab.goto(base + "/w/wiki/KV%20Cache")
    page = root / "wiki" / "KV Cache.md"
    tab.wait_for_timeout(500)  # the event stream is open
    page.write_text(page.read_text(encoding="utf-8") + "\nAppended by git pull.\n",
                    encoding="utf-8")
    tab.locator(".page-body", has_text="Appended by git pull.").wait_for(timeout=15000)


def test_serve_no_payload_executes(context: Any, served: Any) -> None:
    base, _, _ = served
    tab = _tab(context)
    urls = [base + "/w/" + quote("wiki/Payload <script>window.__pwned=1<!--"),
            base + "/w/" + quote("wiki/\"><img src=x onerror=window.__pwned='filename'>"),
            base + "/", base + "/source/llama2/v1", base + "/tags",
            base + "/edit/" + quote("wiki/Payload <script>window.__pwned=1<!--")]
    for url in urls:
        response = tab.goto(url)
        assert response is not None and response.ok, url
        for el in tab.locator(".citation, a, .fact, .callout").all()[:60]:
            try:
                el.hover(timeout=500)
            except Exception:  # noqa: BLE001 - hidden elements cannot be hovered
                continue
        tab.fill("#search-input", "payload script pwned")
        tab.wait_for_timeout(500)
        assert tab.evaluate("window.__pwned") is None, url
        assert tab.dialogs == [], url
    # the editor's preview renders the hostile text with the same rules
    tab.locator("#preview .citation").first.wait_for(timeout=15000)
    assert tab.locator("#preview script, #preview iframe, #preview [onerror]").count() == 0
    assert tab.evaluate("window.__pwned") is None


def test_serve_refuses_foreign_host(served: Any) -> None:
    base, _, _ = served
    req = urllib.request.Request(base + "/", headers={"Host": "rebound.attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 421
