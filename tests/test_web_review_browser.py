"""History, review queue, findings and health of ``veriwiki serve`` in real Chromium.

The app runs as ``veriwiki serve`` in a subprocess on a free 127.0.0.1 port; Debian's
``chromium`` is driven by Playwright through ``executable_path`` (no browser download);
requests leaving the server are aborted. Screenshots for the docs are written to
docs/img/serve-review.png and docs/img/serve-health.png (set VERIWIKI_SCREENSHOTS=docs/img).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Git, Veriwiki
from helpers_web import (
    BAD_PROPOSAL,
    CHROMIUM,
    CHROMIUM_ARGS,
    MODEL_V1,
    PROPOSED,
    make_history_vault,
    make_proposal,
    serving,
)

pytestmark = pytest.mark.slow


def _shot(tab: Any, name: str) -> None:
    """Save a screenshot for docs/img when VERIWIKI_SCREENSHOTS names a folder (as
    tests/test_web_browser.py does); a plain test run writes nothing in the repository."""
    folder = os.environ.get("VERIWIKI_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(Path(folder) / name))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package "
                    "(apt-get install -y chromium; .ci/run does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def app(vw: Veriwiki, git: Git, vault: Path) -> Iterator[str]:
    make_history_vault(vw, git, vault)
    with serving(vw, vault) as base:
        yield base


@pytest.fixture
def tab(browser: Any, app: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 760})
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(app) else route.abort())
    page = context.new_page()
    page.set_default_timeout(120_000)  # the review gate runs the check in a worktree
    try:
        yield page
    finally:
        context.close()


def test_browser_approve_one_proposal_reject_another(tab: Any, app: str, vw: Veriwiki,
                                                     git: Git, vault: Path) -> None:
    make_proposal(vw, vault, "attention-notes", {"wiki/Attention.md": PROPOSED})
    make_proposal(vw, vault, "wrong-numbers", {"wiki/Wrong.md": BAD_PROPOSAL})
    tab.goto(app + "/review")
    assert tab.locator("#proposals tbody tr").count() == 2
    tab.click("text=attention-notes")
    tab.wait_for_selector("#claim-diff")
    verdicts = tab.locator("#claim-diff .vw-verdict").evaluate_all(
        "els => els.map(e => e.dataset.verdict)")
    assert verdicts == ["verified", "verified", "verified"]
    assert "no new errors" in tab.inner_text("#gate-status")
    # per-claim reject first: the context claim goes, the rest stays open
    tab.check("#claim-diff input[name=claim][value='1']")
    tab.click("#reject-claims")
    tab.wait_for_selector("#updated")
    assert tab.locator("#claim-diff tbody tr").count() == 2
    _shot(tab, "serve-review.png")
    head = git.head(vault)
    tab.click("#approve")
    tab.wait_for_selector("#approved")
    assert tab.url.startswith(app + "/review?approved=attention-notes")
    assert git(vault, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    text = (vault / "wiki" / "Attention.md").read_text(encoding="utf-8")
    assert "Attention is all you need [@paper" in text and "4096" not in text
    # the other one fails the gate: the page says so and main stays as it is
    tab.click("text=wrong-numbers")
    tab.wait_for_selector("#claim-diff")
    assert tab.locator("#claim-diff .vw-verdict").get_attribute("data-verdict") == \
        "quote-not-found"
    head = git.head(vault)
    tab.click("#approve")
    tab.wait_for_selector("#gate-error")
    assert "fails the check" in tab.inner_text("#gate-error")
    assert git.head(vault) == head
    tab.click("#reject")
    tab.wait_for_selector("#rejected")
    assert tab.locator("#no-proposals").count() == 1
    assert git(vault, "branch", "--list", "proposals/*").strip() == ""
    assert git.head(vault) == head


def test_browser_history_diff_and_revert(tab: Any, app: str, git: Git, vault: Path) -> None:
    tab.goto(app + "/history/wiki/Model")
    rows = tab.locator(".history-table tbody tr")
    assert rows.count() == 2
    assert "Second Author" in rows.nth(0).inner_text()
    # pick the versions by hand: from the older, to the newer
    tab.check(".history-table tbody tr:nth-child(2) input[name=a]")
    tab.check(".history-table tbody tr:nth-child(1) input[name=b]")
    tab.click("#compare")
    tab.wait_for_selector("#claim-diff")
    kinds = tab.locator("#claim-diff tbody tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.kind, "
        "(r.querySelector('.vw-verdict') || {dataset: {}}).dataset.verdict])")
    assert sorted(map(tuple, kinds)) == [("added", "quote-not-found"),
                                         ("changed", "number-mismatch"),
                                         ("removed", "verified")]
    assert tab.locator("#text-diff tr.add").count() == 2
    assert tab.locator("#text-diff tr.del").count() == 2
    head = git.head(vault)
    tab.click("#revert-form button")
    tab.wait_for_selector("#reverted")
    assert tab.locator(".history-table tbody tr").count() == 3
    assert "veriwiki: revert" in tab.locator(".history-table tbody tr").nth(0).inner_text()
    assert git(vault, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert (vault / "wiki" / "Model.md").read_text(encoding="utf-8") == MODEL_V1


def test_browser_findings_filter_and_health(tab: Any, app: str) -> None:
    tab.goto(app + "/findings")  # reloads itself until the background check reports
    tab.wait_for_selector("#findings tbody tr[data-rule]")
    assert tab.locator("#findings tbody tr").count() >= 3
    tab.select_option("select[name=rule]", "number-mismatch")
    tab.click("#filter")
    tab.wait_for_url(re.compile(r".*rule=number-mismatch.*"))
    rules = tab.locator("#findings tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.rule)")
    assert rules == ["number-mismatch"]
    href = tab.locator("#findings tbody tr a").first.get_attribute("href")
    assert href == "/edit/wiki/Model#L8"
    tab.goto(app + "/health")
    for _ in range(600):  # the trend samples are computed in the background
        if "Sampled 4 of 4 commits." in tab.inner_text("#trend-note"):
            break
        tab.wait_for_timeout(500)
        tab.reload()
    assert "Sampled 4 of 4 commits." in tab.inner_text("#trend-note")
    assert tab.inner_text("#tile-verified").startswith("1 / 3")
    chart = tab.locator("svg.trend-chart[data-kind=share]")
    assert chart.is_visible()
    assert chart.locator("circle").count() == 2  # the two commits with claims
    assert tab.locator("svg.trend-chart[data-kind=counts] circle").count() == 12
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300
    _shot(tab, "serve-health.png")
