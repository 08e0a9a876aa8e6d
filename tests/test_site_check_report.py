"""The check report the site build's parent gets from its check child: findings kept as
tuples and made when asked for give what a report of :class:`Finding` objects gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from veriwiki.core.model import Finding, Severity
from veriwiki.services.check_report import CheckReport
from veriwiki.services.site_check import PageFindings, SiteCheckReport, findings_of

ROWS = [
    ("broken-link", "error", "wiki/A.md", 3, "no page 'X'", "create it", 5, None),
    ("uncited-claim", "warning", "wiki/A.md", 4, "a number without a source", None, None,
     None),
    ("stale-claim", "warning", "wiki/B.md", 1, "llama2:v2 changed", None, None, "x"),
    ("orphan-page", "info", "wiki/C.md", 1, "nothing links here", None, None, None),
    ("broken-link", "error", "wiki/C.md", 9, "no page 'Y'", None, 2, None),
]


def _plain() -> CheckReport:
    return CheckReport([Finding(r, Severity(s), p, ln, m, h, c, o)
                        for r, s, p, ln, m, h, c, o in ROWS], 7)


def test_site_check_report_equals_a_report_of_findings() -> None:
    lazy, plain = SiteCheckReport(list(ROWS), 7, {"wiki/A.md": "d"}), _plain()
    assert lazy.counts == plain.counts
    assert lazy.has_errors and plain.has_errors
    assert lazy.summary() == plain.summary()
    for rule in ("broken-link", "stale-claim", "no-such-rule"):
        assert findings_of(lazy, rule) == findings_of(plain, rule)
        assert findings_of(plain, rule) == [f for f in plain.findings if f.rule == rule]
    assert lazy.findings == plain.findings
    assert lazy.to_json() == plain.to_json()
    assert lazy.pages == 7 and lazy.digests == {"wiki/A.md": "d"}


def test_site_page_findings_are_made_per_page_in_report_order() -> None:
    lazy = SiteCheckReport(list(ROWS), 7)
    by_page = PageFindings(lazy)
    assert lazy._all is None  # nothing made yet
    assert list(by_page) == ["wiki/A.md", "wiki/B.md", "wiki/C.md"]
    assert by_page.get("wiki/C.md") == [f for f in _plain().findings if f.path == "wiki/C.md"]
    assert by_page.get("wiki/Z.md") is None and "wiki/Z.md" not in by_page
    assert len(by_page) == 3 and lazy._all is None
    clean = SiteCheckReport([r for r in ROWS if r[1] != "error"], 7)
    assert not clean.has_errors and clean.counts["error"] == 0


def test_site_check_child_waits_for_the_index_and_ends_when_it_fails(
        vw: object, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's child is forked before the index update: it checks the updated
    index, and when the update raises it ends without checking (no child left)."""
    import os

    from veriwiki.services.indexing import update_index
    from veriwiki.services.site_check import start_check
    from veriwiki.vault import open_vault

    if not hasattr(os, "fork"):
        pytest.skip("the check forks")
    (vault / "wiki" / "Alpha.md").write_text("# Alpha\n\nSee [[Nowhere]].\n",
                                             encoding="utf-8")
    opened = open_vault(vault)
    report = start_check(opened, lambda: update_index(opened))()
    assert isinstance(report, SiteCheckReport)  # from the child, not checked again here
    assert [f.path for f in findings_of(report, "broken-link")] == ["wiki/Alpha.md"]

    def broken() -> None:
        raise RuntimeError("the index cannot be updated")

    forked: list[int] = []
    real_fork = os.fork

    def fork() -> int:
        pid = real_fork()
        if pid:
            forked.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)
    with pytest.raises(RuntimeError, match="cannot be updated"):
        start_check(open_vault(vault), broken)
    assert len(forked) == 1
    with pytest.raises(ChildProcessError):
        os.waitpid(forked[0], os.WNOHANG)  # the child ended and was reaped


def test_site_check_child_uses_what_the_parent_read(
        vw: object, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The parent hands its check child every page's blob and the names digest through
    the pipe (or the digest alone when the pipe cannot hold the blobs): the report is
    the one a check reading them itself gives, and the child reads no blobs itself."""
    import os
    import pickle

    from veriwiki.services import site_check
    from veriwiki.services.check import check_vault
    from veriwiki.services.indexing import update_index
    from veriwiki.vault import open_vault

    if not hasattr(os, "fork"):
        pytest.skip("the check forks")
    (vault / "wiki" / "Alpha.md").write_text(
        "# Alpha\n\nSee [[Nowhere]] and [[Beta]]. It has 12 layers.\n", encoding="utf-8")
    (vault / "wiki" / "Beta.md").write_text("# Beta\n\nBack to [[Alpha#Gone]].\n",
                                            encoding="utf-8")
    expected = check_vault(open_vault(vault)).to_json()
    assert expected["findings"]
    opened = open_vault(vault)
    update_index(opened)
    known = (opened.index.page_blobs(), opened.index.names_digest())
    index_type = type(opened.index)
    real_blobs = index_type.page_blobs

    def no_blobs(self: object) -> dict[str, str]:
        raise AssertionError("the check read the blobs again")

    monkeypatch.setattr(index_type, "page_blobs", no_blobs)
    report = site_check.start_check(opened, lambda: known)()
    assert isinstance(report, site_check.SiteCheckReport)  # from the child
    assert report.to_json() == expected
    # the pipe too small for the blobs: the digest alone is sent, the child reads them
    monkeypatch.setattr(index_type, "page_blobs", real_blobs)
    sent: list[object] = []

    def small(fd: int, given: site_check.Known) -> bytes:
        sent.append(given)
        return pickle.dumps((None, given[1]))

    monkeypatch.setattr(site_check, "_fitting", small)
    report = site_check.start_check(open_vault(vault), lambda: known)()
    assert isinstance(report, site_check.SiteCheckReport)
    assert report.to_json() == expected and sent == [known]


def test_site_check_pipe_holds_the_blobs_or_only_the_digest() -> None:
    """What the parent writes to its child's pipe is read by nobody until the child has
    imported the check code: it must fit the pipe, else only the digest is sent."""
    import os
    import pickle

    from veriwiki.services.site_check import _fitting

    read_fd, write_fd = os.pipe()
    try:
        small = ({"wiki/A.md": "a" * 40}, "names")
        assert pickle.loads(_fitting(write_fd, small)) == small  # noqa: S301
        big = ({f"wiki/{i}.md": "b" * 40 for i in range(200_000)}, "names")
        got = pickle.loads(_fitting(write_fd, big))  # noqa: S301
        assert got == (None, "names")  # ~12 MB: more than a pipe may hold
    finally:
        os.close(read_fd)
        os.close(write_fd)


def _quiet_of(rows: list[tuple[object, ...]]) -> dict[str, object]:
    """The rows as the check's quiet pages (check_quiet) would send them."""
    import json

    from veriwiki.services.check_quiet import page_digest

    out: dict[str, object] = {}
    for path in sorted({str(r[2]) for r in rows}):
        mine = [r for r in rows if r[2] == path]
        counts = tuple(sum(1 for r in mine if r[1] == s) for s in ("error", "warning", "info"))
        out[path] = (page_digest(mine), counts, tuple(sorted({str(r[0]) for r in mine})),
                     json.dumps([[r[0], r[1], *r[3:]] for r in mine]))
    return out


def test_site_check_report_with_quiet_pages_equals_a_report_of_findings() -> None:
    """Pages sent whole (quiet, their findings as JSON) mixed with pages sent as rows
    give the report, the per-page findings and the digests a report of findings gives."""
    plain = _plain()
    for quiet_paths in ({"wiki/A.md"}, {"wiki/B.md", "wiki/C.md"}, {"wiki/A.md", "wiki/B.md",
                                                                   "wiki/C.md"}):
        fresh = [r for r in ROWS if r[2] not in quiet_paths]
        quiet = _quiet_of([r for r in ROWS if r[2] in quiet_paths])
        lazy = SiteCheckReport(fresh, 7, None, quiet)  # type: ignore[arg-type]
        assert lazy.counts == plain.counts and lazy.has_errors
        for rule in ("broken-link", "stale-claim", "orphan-page", "no-such-rule"):
            assert findings_of(lazy, rule) == findings_of(plain, rule), rule
        by_page = PageFindings(lazy)
        assert list(by_page) == ["wiki/A.md", "wiki/B.md", "wiki/C.md"]
        for path in by_page:
            assert by_page[path] == [f for f in plain.findings if f.path == path]
        assert lazy.summary() == plain.summary()
        assert lazy.findings == plain.findings and lazy.to_json() == plain.to_json()
    clean = SiteCheckReport([], 3, None, _quiet_of(  # type: ignore[arg-type]
        [r for r in ROWS if r[1] != "error"]))
    assert not clean.has_errors and clean.counts["error"] == 0


def test_site_check_child_sends_quiet_pages_whole_and_equal(
        vw: object, vault: Path) -> None:
    """On a warm check the child sends the pages with nothing new whole (from the check
    cache's report table); the report equals a check's, also with the table damaged or
    a row's findings damaged (made again from the row, or every row decoded)."""
    import os
    import sqlite3

    from veriwiki.services import site_check
    from veriwiki.services.check import check_vault
    from veriwiki.services.check_reuse import CACHE_FILE
    from veriwiki.services.indexing import update_index
    from veriwiki.services.site_check import finding_digests
    from veriwiki.vault import open_vault

    if not hasattr(os, "fork"):
        pytest.skip("the check forks")
    for n in range(4):  # in the catalog, linked: no finding of a rule without a facet
        (vault / "wiki" / f"Page {n}.md").write_text(
            f"# Page {n}\n\nSee [[Nowhere {n}]] and [[Page {(n + 1) % 4}]]. It has "
            f"{n + 12} layers and 7 heads.\n", encoding="utf-8")
    with (vault / "wiki" / "index.md").open("a", encoding="utf-8") as fh:
        fh.write("\nPages: [[Page 0]], [[Page 1]], [[Page 2]], [[Page 3]].\n")
    db = vault / ".veriwiki" / CACHE_FILE

    def child() -> site_check.SiteCheckReport:
        opened = open_vault(vault)
        report = site_check.start_check(opened, lambda: update_index(opened))()
        assert isinstance(report, site_check.SiteCheckReport)
        return report

    def same(report: site_check.SiteCheckReport) -> None:
        expected = check_vault(open_vault(vault))
        assert report.to_json() == expected.to_json()
        assert report.digests == finding_digests(
            [(f.rule, f.severity.value, f.path, f.line, f.message, f.hint, f.column,
              f.origin) for f in expected.findings])

    check_vault(open_vault(vault))  # warm
    first = child()
    assert {f"wiki/Page {n}.md" for n in range(4)} <= set(first.quiet)
    same(first)
    with (vault / "wiki" / "Page 1.md").open("a", encoding="utf-8") as fh:
        fh.write("\nAnd [[Nowhere else]].\n")
    edited = child()
    assert "wiki/Page 1.md" not in edited.quiet and "wiki/Page 2.md" in edited.quiet
    same(edited)

    def kept() -> int:  # entries in the report table: those of the last check only
        conn = sqlite3.connect(db)
        try:
            return int(conn.execute("SELECT count(*) FROM report").fetchone()[0])
        finally:
            conn.close()

    assert kept() == len(edited.quiet)
    for damage in ("UPDATE report SET data = substr(data, 1, 30) || 'x' || substr(data, 32)",
                   "UPDATE report SET data = '{'",
                   "UPDATE pages SET findings = '[' WHERE path = 'wiki/Page 3.md'"):
        conn = sqlite3.connect(db)
        assert conn.execute(damage).rowcount > 0, damage
        conn.commit()
        conn.close()
        got = child()
        same(got)
        assert got.quiet or "pages" in damage


def test_site_check_child_that_ends_early_leaves_the_check_to_the_parent(
        vw: object, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that ends before reading the start pipe (its imports failed) does not
    make the parent's write fail: the parent checks in-process and gets the report."""
    import os
    import time

    from veriwiki import checks
    from veriwiki.services import site_check
    from veriwiki.services.check import check_vault
    from veriwiki.services.indexing import update_index
    from veriwiki.vault import open_vault

    if not hasattr(os, "fork"):
        pytest.skip("the check forks")
    (vault / "wiki" / "Alpha.md").write_text("# Alpha\n\nSee [[Nowhere]].\n", encoding="utf-8")
    expected = check_vault(open_vault(vault)).to_json()
    opened = open_vault(vault)
    update_index(opened)
    known = (opened.index.page_blobs(), opened.index.names_digest())

    def broken_imports() -> object:
        raise ImportError("a rule module that does not import")

    monkeypatch.setattr(checks, "all_rules", broken_imports)

    def first() -> site_check.Known:
        time.sleep(0.5)  # the child has ended by now: the pipe has no reader
        return known

    report = site_check.start_check(opened, first)()
    assert not isinstance(report, site_check.SiteCheckReport)  # checked in the parent
    assert report.to_json() == expected
