"""Screenshots of the starter LLM knowledge base in the static site and in ``veriwiki serve``.

Builds the template from the local source pack (offline), renders it with ``veriwiki
build``, serves the site with ``python -m http.server`` and the vault with ``veriwiki
serve`` on loopback, and photographs them in Chromium (Debian's ``chromium``) into
docs/img/template-*.png. Run it after a change to the template or the look of the pages:

    .venv/bin/python scripts/template_screenshots.py [--pack ../shared/llm-sources]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"


def _veriwiki(*args: str, cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "veriwiki", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def _server(cmd: list[str], cwd: Path, url: str) -> Iterator[None]:
    """A server process that answers ``url`` before the block runs, stopped after it."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{cmd[2:4]} did not start: "
                                     f"{proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
                                     ) from None
                time.sleep(0.3)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _page(base: str, path: str) -> str:
    return f"{base}/{quote(path)}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", type=Path, default=ROOT.parent / "shared" / "llm-sources")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        vault = Path(tmp) / "llm-kb"
        env_day = {"VERIWIKI_TODAY": time.strftime("%Y-%m-%d")}
        os.environ.update(env_day)
        _veriwiki("init", "--template", "llm", str(vault), "--sources-from", str(args.pack),
                  cwd=Path(tmp))
        _veriwiki("build", cwd=vault)
        site_port, serve_port = _free_port(), _free_port()
        site = f"http://127.0.0.1:{site_port}"
        app = f"http://127.0.0.1:{serve_port}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM)
            tab = browser.new_page(viewport={"width": 1200, "height": 820})
            with _server([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                          str(site_port)], vault / "site", site + "/"):
                tab.goto(_page(site, "wiki/models/Mistral 7B.html"))
                chip = tab.locator(".citation[data-verdict=verified]").first
                chip.scroll_into_view_if_needed()
                chip.hover()
                tab.wait_for_timeout(300)
                tab.screenshot(path=str(IMG / "template-site-model.png"))
                tab.goto(_page(site, "wiki/notes/KV cache sizes.html"))
                tab.screenshot(path=str(IMG / "template-site-kv-cache.png"))
            with _server([sys.executable, "-m", "veriwiki", "serve", "--port", str(serve_port)],
                         vault, app + "/"):
                tab.goto(_page(app, "w/wiki/Model comparison"))
                tab.wait_for_timeout(500)
                tab.screenshot(path=str(IMG / "template-serve-comparison.png"))
            browser.close()
    for name in ("template-site-model.png", "template-site-kv-cache.png",
                 "template-serve-comparison.png"):
        print(IMG / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
