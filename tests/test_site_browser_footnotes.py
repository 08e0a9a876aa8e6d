"""Footnotes of a built page in real Chromium: each reference leads to its note, and each
note's ``↩`` back-link is there and leads back to the reference it belongs to."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import Veriwiki, describe
from test_site_browser import ARGS, CHROMIUM, _Quiet

pytestmark = pytest.mark.slow

FILLER = "\n\n".join(f"Filler paragraph {i} so the page scrolls between a reference "
                     "and its note." for i in range(60))
PAGE = f"""---
title: Notes
---
# Notes

The first claim.[^one] A second claim.[^two]

{FILLER}

The first note again.[^one]

{FILLER}

[^one]: The first note, cited twice.

    Its second paragraph, where the back-links go.

[^two]: The second note:
    - a list
    - last
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Iterator[str]:
    """A vault with one page of footnotes, built and served on 127.0.0.1."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    vault = tmp_path_factory.mktemp("notes") / "v"
    vw = Veriwiki(cli_env, vault)
    assert vw("init", str(vault)).returncode == 0
    (vault / "wiki" / "Notes.md").write_text(PAGE, encoding="utf-8")
    proc = vw("build")
    assert proc.returncode == 0, describe(proc)
    handler = functools.partial(_Quiet, directory=str(vault / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/wiki/Notes.html"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(site: str) -> Iterator[Any]:
    """Chromium on the page, allowed to reach only the loopback server."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 900, "height": 500})
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(site.rsplit("/", 2)[0]) else route.abort())
        tab = context.new_page()
        try:
            yield tab
        finally:
            browser.close()


def _in_view(page: Any, element_id: str) -> bool:
    return bool(page.evaluate(
        "id => { const r = document.getElementById(id).getBoundingClientRect();"
        " return r.top >= -2 && r.bottom <= window.innerHeight + 2; }", element_id))


def test_browser_back_links_return_to_their_references(page: Any, site: str) -> None:
    page.goto(site)
    refs = page.locator("sup.footnote-ref a")
    assert refs.count() == 3
    ids = [refs.nth(k).get_attribute("id") for k in range(3)]
    assert len(set(ids)) == 3
    backs = page.locator("a.footnote-backref")
    assert backs.count() == 3
    assert all(backs.nth(k).inner_text() == "↩" for k in range(3))
    for k in range(3):
        ref = refs.nth(k)
        note = ref.get_attribute("href")[1:]
        page.evaluate("window.scrollTo(0, 0)")
        ref.click()
        page.wait_for_function("id => location.hash === '#' + id", arg=note)
        assert _in_view(page, note)
        # the back-link inside this note that belongs to this reference
        back = page.locator(f"#{note} a.footnote-backref[href='#{ids[k]}']")
        assert back.count() == 1
        back.click()
        page.wait_for_function("id => location.hash === '#' + id", arg=ids[k])
        assert _in_view(page, ids[k])
        assert page.evaluate("id => document.getElementById(id).closest('sup') !== null",
                             ids[k])
    # the first note's back-links sit in its last paragraph, as the plugin writes them
    last_p = page.locator("#fn-1 p").last
    assert last_p.inner_text().startswith("Its second paragraph")
    assert last_p.locator("a.footnote-backref").count() == 2
    assert page.locator(".page-body p:empty").count() == 0
