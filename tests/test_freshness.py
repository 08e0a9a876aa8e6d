"""Freshness: review intervals, stale-page, stale-claim, ``reviewed`` and ``status``.

Real vaults, real git and the real CLI; ``VERIWIKI_TODAY`` pins the date.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe
from veriwiki.config import FreshnessSettings
from veriwiki.core.parse import parse_page
from veriwiki.services.freshness import interval_for, page_freshness, parse_interval, stamp_reviewed

Put = Callable[[Path, str, str], Path]


def _at(vw: Veriwiki, day: str) -> Veriwiki:
    return Veriwiki(dict(vw.env, VERIWIKI_TODAY=day), vw.vault)


def _findings(vw: Veriwiki, rule: str) -> list[dict[str, object]]:
    proc = vw("check", "--json", "--rule", rule)
    assert proc.returncode in (0, 1), describe(proc)
    return list(json.loads(proc.stdout)["findings"])


# -- intervals and defaults (unit) -----------------------------------------------------------


def test_parse_interval_units() -> None:
    assert [parse_interval(x) for x in ("90d", "2w", "6m", "1y")] == [90, 14, 180, 365]
    assert [parse_interval(x) for x in ("0d", "90", "3 months", 90, None)] == [None] * 5


def test_interval_for_page_beats_folder_beats_type_beats_default() -> None:
    settings = FreshnessSettings(review_every="1y", by_type={"model": "6m"},
                                 by_folder={"wiki": "3m", "wiki/models": "30d",
                                            "wiki/models/old": "2y"})
    own = parse_page("wiki/models/A.md", "---\ntype: model\nreview_every: 7d\n---\n")
    deep = parse_page("wiki/models/old/B.md", "---\ntype: model\n---\n")
    mid = parse_page("wiki/models/C.md", "---\ntype: model\n---\n")
    other = parse_page("notes/D.md", "---\ntype: model\n---\n")
    plain = parse_page("notes/E.md", "# E\n")
    assert interval_for(own, settings) == ("7d", "page")
    assert interval_for(deep, settings) == ("2y", '[freshness] by_folder."wiki/models/old"')
    assert interval_for(mid, settings) == ("30d", '[freshness] by_folder."wiki/models"')
    assert interval_for(other, settings) == ("6m", "[freshness] by_type.model")
    assert interval_for(plain, settings) == ("1y", "[freshness] review_every")
    assert interval_for(plain, FreshnessSettings()) is None
    # a folder prefix matches whole path segments only
    near = parse_page("wiki/modelsX/F.md", "# F\n")
    assert interval_for(near, settings) == ("3m", '[freshness] by_folder."wiki"')


def test_page_freshness_boundary_is_the_day_after_due() -> None:
    page = parse_page("wiki/A.md", "---\nreviewed: 2024-01-01\nreview_every: 90d\n---\n")
    s = FreshnessSettings()
    due = page_freshness(page, s, dt.date(2024, 3, 31))
    assert due is not None and due.due == dt.date(2024, 3, 31) and not due.is_stale
    late = page_freshness(page, s, dt.date(2024, 4, 1))
    assert late is not None and late.is_stale and late.overdue_days == 1


def test_stamp_reviewed_replaces_inserts_and_keeps_bytes() -> None:
    day = dt.date(2026, 1, 2)
    src = b"---\r\ntitle:  'A'   # kept\r\nreviewed: 2020-01-01\r\ntags: [x]\r\n---\r\nbody\r\n"
    assert stamp_reviewed(src, day) == src.replace(b"2020-01-01", b"2026-01-02")
    no_line = b"---\ntitle: A\n---\n\nText  with  spaces\n"
    assert stamp_reviewed(no_line, day) == (b"---\ntitle: A\nreviewed: 2026-01-02\n---\n"
                                            b"\nText  with  spaces\n")
    bare = b"# Just a heading\n"
    assert stamp_reviewed(bare, day) == b"---\nreviewed: 2026-01-02\n---\n# Just a heading\n"
    # a nested 'reviewed:' key (indented) is not the page's review date
    nested = b"---\nmeta:\n  reviewed: 2020-01-01\n---\n"
    assert stamp_reviewed(nested, day) == (b"---\nmeta:\n  reviewed: 2020-01-01\n"
                                           b"reviewed: 2026-01-02\n---\n")


# -- stale-page (CLI) ----------------------------------------------------------------------


@pytest.fixture
def review_vault(vault: Path, put: Put, git: Git) -> Path:
    put(vault, "veriwiki.toml", (vault / "veriwiki.toml").read_text("utf-8")
        + '\n[freshness]\nby_folder = { "wiki/models" = "30d" }\n')
    put(vault, "wiki/Own.md", "---\nreviewed: 2024-01-01\nreview_every: 90d\n---\n# Own\n")
    put(vault, "wiki/models/M.md", "---\nreviewed: 2024-01-01\n---\n# M\n")
    put(vault, "wiki/models/Never.md", "# Never reviewed\n")
    put(vault, "wiki/Free.md", "# No interval applies\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "pages")
    return vault


def test_stale_page_reports_overdue_and_never_reviewed(vw: Veriwiki, review_vault: Path) -> None:
    got = {(f["path"], f["line"], f["severity"]) for f in
           _findings(_at(vw, "2024-02-15"), "stale-page")}
    assert got == {("wiki/models/M.md", 2, "warning"), ("wiki/models/Never.md", 1, "warning")}
    messages = {f["path"]: f["message"] for f in _findings(_at(vw, "2024-02-15"), "stale-page")}
    assert "overdue by 15 day(s)" in str(messages["wiki/models/M.md"])
    assert 'by_folder."wiki/models"' in str(messages["wiki/models/M.md"])
    assert "never reviewed" in str(messages["wiki/models/Never.md"])


def test_stale_page_not_flagged_on_due_date_flagged_day_after(vw: Veriwiki,
                                                                review_vault: Path) -> None:
    on_due = {f["path"] for f in _findings(_at(vw, "2024-03-31"), "stale-page")}
    assert "wiki/Own.md" not in on_due and "wiki/Free.md" not in on_due
    after = {f["path"] for f in _findings(_at(vw, "2024-04-01"), "stale-page")}
    assert "wiki/Own.md" in after and "wiki/Free.md" not in after


def test_stale_page_bad_today_is_a_clear_error(vw: Veriwiki, review_vault: Path) -> None:
    proc = _at(vw, "yesterday")("check")
    assert proc.returncode == 2 and "VERIWIKI_TODAY" in proc.stderr, describe(proc)


# -- reviewed (CLI) ----------------------------------------------------------------------


def test_reviewed_stamps_today_in_one_commit_byte_for_byte(vw: Veriwiki, vault: Path,
                                                          put: Put, git: Git) -> None:
    text = ("---\ntitle:   \"Odd  spacing\"   # a comment\nreviewed: 2020-05-05\n"
            "review_every: 90d\ntags: [a,  b]\n---\n\nBody  text\twith tabs\n\n\n")
    put(vault, "wiki/Odd.md", text)
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "odd")
    before = git.head(vault)
    proc = _at(vw, "2026-03-04")("reviewed", "Odd spacing", "--json")
    assert proc.returncode == 0, describe(proc)
    assert '"reviewed": "2026-03-04"' in proc.stdout
    assert git(vault, "rev-list", "--count", f"{before}..HEAD").strip() == "1"
    assert git.subjects(vault)[0] == "veriwiki: reviewed | wiki/Odd.md"
    want = text.replace("2020-05-05", "2026-03-04").encode()
    assert (vault / "wiki/Odd.md").read_bytes() == want
    assert git.show(vault, "HEAD:wiki/Odd.md").encode() == want
    # the catalog also catches up with the page committed by hand above
    assert git.touched(vault) - {"wiki/index.md"} == {"wiki/Odd.md", "wiki/log.md"}
    assert not _findings(_at(vw, "2026-03-05"), "stale-page")
    again = _at(vw, "2026-03-04")("reviewed", "wiki/Odd.md", "--json")
    assert again.returncode == 0 and '"commit": null' in again.stdout, describe(again)
    assert git(vault, "rev-list", "--count", f"{before}..HEAD").strip() == "1"


def test_reviewed_keeps_uncommitted_body_edits_out_of_the_commit(
        vw: Veriwiki, vault: Path, put: Put, git: Git) -> None:
    put(vault, "wiki/P.md", "---\ntitle: P\n---\nold body\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "p")
    put(vault, "wiki/P.md", "---\ntitle: P\n---\nnew uncommitted body\n")
    proc = _at(vw, "2026-01-01")("reviewed", "P")
    assert proc.returncode == 0, describe(proc)
    assert git.show(vault, "HEAD:wiki/P.md") == "---\ntitle: P\nreviewed: 2026-01-01\n---\nold body\n"
    assert (vault / "wiki/P.md").read_text("utf-8") == (
        "---\ntitle: P\nreviewed: 2026-01-01\n---\nnew uncommitted body\n")


def test_reviewed_unknown_page_fails_without_commit(vw: Veriwiki, vault: Path, git: Git) -> None:
    before = git.head(vault)
    proc = vw("reviewed", "No such page")
    assert proc.returncode != 0 and "No such page" in proc.stderr, describe(proc)
    assert git.head(vault) == before


# -- stale-claim (CLI) ---------------------------------------------------------------------

V1 = ("# Notes\n\nThe model uses 8 attention heads per layer.\n"
      "Training ran for 300 billion tokens.\nThe vocabulary has 50,257 entries.\n")
V2 = ("# Notes\n\nThe model uses 16 attention heads per layer.\n"
      "Training ran for 300 billion tokens.\nThe vocabulary has 50,257 entries.\n")
PAGE = ("# Model\n\n"
        "It has 8 heads [@notes, \"uses 8 attention heads per layer\"].\n"
        "It saw 300B tokens [@notes, \"ran for 300 billion tokens\"].\n"
        "Pinned, it has 8 heads [@notes:v1, \"uses 8 attention heads per layer\"].\n"
        "Never there [@notes, \"a sentence no version holds\"].\n")


@pytest.fixture
def changed_source_vault(vw: Veriwiki, vault: Path, put: Put, git: Git, tmp_path: Path) -> Path:
    src = put(tmp_path, "in/notes.md", V1)
    vw.ok("add", str(src), "--id", "notes")
    put(vault, "wiki/Model.md", PAGE)
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "page")
    src.write_text(V2, encoding="utf-8")
    proc = vw.json("add", str(src), "--id", "notes")
    assert proc["sources"][0]["status"] == "new-version", proc
    return vault


def test_stale_claim_flags_only_the_vanished_passage(vw: Veriwiki,
                                                     changed_source_vault: Path) -> None:
    proc = vw("check", "--json")
    assert proc.returncode == 1, describe(proc)
    findings = json.loads(proc.stdout)["findings"]
    got = {(f["rule"], f["line"]) for f in findings
           if f["rule"] in ("stale-claim", "quote-not-found")}
    assert got == {("stale-claim", 3), ("quote-not-found", 6)}
    stale = next(f for f in findings if f["rule"] == "stale-claim")
    assert "present in notes:v1, gone from notes:v2" in stale["message"]
    assert stale["severity"] == "error"


def test_stale_claim_not_before_the_source_changes(vw: Veriwiki, vault: Path, put: Put,
                                                  git: Git, tmp_path: Path) -> None:
    vw.ok("add", str(put(tmp_path, "in/notes.md", V1)), "--id", "notes")
    put(vault, "wiki/Model.md", PAGE)
    assert not _findings(vw, "stale-claim")


# -- status (CLI) --------------------------------------------------------------------------


def test_status_counts_claims_findings_stale_and_coverage(
        vw: Veriwiki, changed_source_vault: Path, put: Put, git: Git) -> None:
    vault = changed_source_vault
    put(vault, "wiki/models/Other.md",
        "---\ntype: concept\nreviewed: 2020-01-01\nreview_every: 1y\n---\n# Other\n\n"
        "It saw 300B tokens [@notes, \"ran for 300 billion tokens\"].\n")
    git(vault, "add", "-A")
    git(vault, "-c", "user.email=second@example.invalid", "commit", "-qm", "other",
        "--author", "Second <second@example.invalid>")
    put(vault, "wiki/models/Other.md", (vault / "wiki/models/Other.md").read_text("utf-8")
        + "\nMore text.\n")
    git(vault, "commit", "-qam", "other, edited by the first author")
    data = _at(vw, "2026-01-01").json("status", code=0)
    assert data["pages"] == 2
    assert data["claims"] == 5
    # Model: line 4 and the pinned line 5 verify; line 3 is stale, line 6 not found
    assert data["verified"] == 3
    assert data["verified_share"] == pytest.approx(0.6)
    assert data["findings"]["by_rule"]["stale-claim"] == 1
    assert data["findings"]["by_rule"]["quote-not-found"] == 1
    assert [s["path"] for s in data["stale_pages"]] == ["wiki/models/Other.md"]
    folders = {f["name"]: f for f in data["folders"]}
    assert folders["wiki"]["pages"] == 1 and folders["wiki"]["claims"] == 4
    assert folders["wiki/models"]["verified_share"] == 1.0
    assert folders["wiki/models"]["authors"] == 2
    assert folders["wiki"]["authors"] == 1
    assert folders["wiki/models"]["last_change"] is not None
    types = {t["name"]: t for t in data["types"]}
    assert types["concept"]["pages"] == 1
    assert types["(none)"]["claims"] == 4


def test_status_human_output_names_stale_pages(vw: Veriwiki, review_vault: Path) -> None:
    proc = _at(vw, "2024-02-15")("status")
    assert proc.returncode == 0, describe(proc)
    assert "stale pages: 2" in proc.stdout
    assert "wiki/models/Never.md" in proc.stdout and "never reviewed" in proc.stdout


def test_stale_page_bad_interval_in_config_is_a_config_error(vw: Veriwiki, vault: Path,
                                                              put: Put) -> None:
    put(vault, "veriwiki.toml", (vault / "veriwiki.toml").read_text("utf-8")
        + '\n[freshness]\nby_type = { model = "quarterly" }\n')
    proc = vw("check")
    assert proc.returncode == 2, describe(proc)
    assert 'by_type."model"' in proc.stderr and "quarterly" in proc.stderr


def test_reviewed_refuses_an_uncommitted_page(vw: Veriwiki, vault: Path, put: Put,
                                              git: Git) -> None:
    before = git.head(vault)
    put(vault, "wiki/Draft.md", "# Draft\n")
    proc = vw("reviewed", "Draft")
    assert proc.returncode == 2 and "not committed yet" in proc.stderr, describe(proc)
    assert git.head(vault) == before
    assert (vault / "wiki/Draft.md").read_text("utf-8") == "# Draft\n"
