"""unread-citation: a ``[@`` citation the parser could not read is reported, not dropped.

Before this rule, a quote holding ``|`` in a table cell, an unclosed quote or a missing
comma turned the citation into plain text: the claim was then not a claim, and
``check`` said nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from golden import run_cli
from veriwiki.core import unread_citations as why
from veriwiki.core.parse import parse_page

BROKEN = """---
title: Broken
type: note
---

| model | claim |
| --- | --- |
| A | It has 7 layers [@paper, "layers | heads"] here |
| B | fine [@paper, "layers \\| heads"] and [@paper, "seven"] |

It has 7 layers [@paper, "layers and heads.

It has 7 layers [@paper "seven layers"]. And a good one [@paper, "seven layers"].

* a list item [@paper, "never
"""

NOT_CITATIONS = """---
title: Fine
---

Code `[@paper, "x` and \\[@paper escaped, a link [@user](https://example.org/u) and
[@user][ref], a reference link.

```text
[@paper, "fenced
```

    [@paper, "indented code

<div>[@paper, "raw html</div>

A citation over two lines [@paper, "seven
layers"] and two in one bracket [@paper, "a"; @other, "b"].

| a | b |
| --- | --- |
| x | two in a cell [@paper, "a \\| b"] [@paper, "c"] |

[ref]: https://example.org
"""


@pytest.mark.parametrize("fast", [True, False])
def test_each_unread_opening_is_found_with_its_reason(fast: bool) -> None:
    page = parse_page("wiki/broken.md", BROKEN, fast=fast)
    assert page.unread_citations == (
        (8, 23, why.CELL_PIPE), (11, 17, why.NOT_CLOSED), (13, 17, why.NOT_A_CITATION),
        (15, 15, why.NOT_CLOSED))
    read = sorted(c.quote for claim in page.claims for c in claim.citations)
    assert read == ["layers | heads", "seven", "seven layers"]


@pytest.mark.parametrize("fast", [True, False])
def test_code_html_escapes_links_and_good_citations_are_not_reported(fast: bool) -> None:
    page = parse_page("wiki/fine.md", NOT_CITATIONS, fast=fast)
    assert page.unread_citations == ()
    assert len([c for claim in page.claims for c in claim.citations]) == 5


def test_a_citation_inside_a_links_text_counts_as_read() -> None:
    page = parse_page("wiki/a.md", 'See [the [@paper, "x y z"] note](https://e.org).\n')
    assert page.unread_citations == ()


def test_an_opening_beyond_the_ones_read_on_its_line_is_reported() -> None:
    # the parser read the first; the second's quote is cut by the cell
    text = '| a | b |\n| --- | --- |\n| x | [@p, "ok"] then [@p, "a | b"] |\n'
    page = parse_page("wiki/a.md", text)
    assert page.unread_citations == ((3, 23, why.CELL_PIPE),)


def test_check_reports_the_rule_at_line_and_column(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    (vault / "wiki").mkdir(parents=True)
    (vault / "veriwiki.toml").write_text("", encoding="utf-8")
    (vault / "wiki" / "broken.md").write_text(BROKEN, encoding="utf-8")
    (vault / "wiki" / "fine.md").write_text(NOT_CITATIONS, encoding="utf-8")
    proc = run_cli(["check", "--json"], vault)
    assert proc.returncode == 1, proc.stderr
    found = [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == "unread-citation"]
    assert [(f["path"], f["line"], f["column"], f["severity"]) for f in found] == [
        ("wiki/broken.md", 8, 23, "error"), ("wiki/broken.md", 11, 17, "error"),
        ("wiki/broken.md", 13, 17, "error"), ("wiki/broken.md", 15, 15, "error")]
    assert "'\\|'" in found[0]["message"] and "not verified" in found[0]["message"]
