"""The renderer alone: milliseconds a page to parse and render a page body to HTML.

Usage::

    python bench/render_body.py FOLDER [--pages N] [--repeat R]

Reads the first ``N`` markdown files under ``FOLDER`` (path order) into memory, then
parses and renders each ``R`` times with ``render.markdown`` and a stand-in context
(every link resolves to one page, no chips, no embeds), and prints the best pass as
milliseconds a page (CPU time) for: the parse, the parse and render together. No
vault, index or template is involved: this is the markdown-to-HTML part of
``render_page``. ``PYTHONPATH=<a git archive>/src`` measures another commit.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from veriwiki.render.markdown import FactView, LinkView, parse_tokens, render_tokens


class _Ctx:
    def link(self, kind: str, target: str, fragment: str | None, raw: str) -> LinkView:
        return LinkView("page.html", target)

    def chip(self, line: int, cite: object) -> str:
        return ""

    def fact(self, entity: str, attribute: str) -> FactView | None:
        return None

    def embed(self, view: LinkView, fragment: str | None) -> str | None:
        return None

    def tag_href(self, tag: str) -> str:
        return "tag.html"


def _best(texts: list[str], repeat: int, render: bool) -> float:
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        for text in texts:
            tokens = parse_tokens(text)
            if render:
                render_tokens(tokens, _Ctx())
        best = min(best, (time.process_time() - c0) / len(texts) * 1000)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    texts = []
    for path in sorted(args.folder.rglob("*.md"))[:args.pages]:
        try:
            texts.append(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            continue
    parse = _best(texts, args.repeat, render=False)
    both = _best(texts, args.repeat, render=True)
    print(f"{len(texts)} pages, load {os.getloadavg()[0]:.1f}: parse {parse:.3f} ms/page, "
          f"parse and render {both:.3f} ms/page (best of {args.repeat}, CPU)")


if __name__ == "__main__":
    main()
