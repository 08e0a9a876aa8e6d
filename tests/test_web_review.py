"""The web app's history, review, findings and health views through Starlette's test
client against the real app (real vault, git, SQLite; no browser)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from conftest import Git, Veriwiki
from helpers_web import (
    BAD_PROPOSAL,
    MODEL_V1,
    MODEL_V2,
    PROPOSED,
    make_history_vault,
    make_proposal,
)

BASE = "http://127.0.0.1"


@pytest.fixture
def client(vw: Veriwiki, git: Git, vault: Path) -> Iterator[TestClient]:
    from veriwiki.web.app import create_app

    make_history_vault(vw, git, vault)
    app = create_app(vault, watch=False)
    with TestClient(app, base_url=BASE) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def rows_of(html: str, table: str) -> list[str]:
    error = re.search(r'class="error-message">(.*?)</p>', html, re.S)
    assert f'id="{table}"' in html, error.group(1) if error else html[-2000:]
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr[^>]*data-kind=\"[^\"]+\".*?</tr>", body, re.S)


def verdicts_of(html: str) -> list[str]:
    """The verdicts shown in the claim diff table, in order."""
    return [m.group(1) for row in rows_of(html, "claim-diff")
            if (m := re.search(r'class="vw-verdict" data-verdict="([\w-]+)"', row))]


# -- history ------------------------------------------------------------------------------

def test_history_lists_versions_with_authors(client: TestClient) -> None:
    r = client.get("/history/wiki/Model")
    assert r.status_code == 200
    assert "Model: new context length" in r.text and "Model: first version" in r.text
    assert "Second Author" in r.text and "Test Author" in r.text
    assert len(re.findall(r'name="a" value="[0-9a-f]{10}"', r.text)) == 2
    assert 'action="/diff/wiki/Model"' in r.text


def test_diff_shows_text_and_claim_diff_with_verdicts(client: TestClient) -> None:
    revs = re.findall(r'name="a" value="([0-9a-f]{10})"', client.get("/history/wiki/Model").text)
    r = client.get(f"/diff/wiki/Model?a={revs[1]}&b={revs[0]}")
    assert r.status_code == 200
    got = set(zip(re.findall(r'<tr class="\w+" data-kind="(\w+)"', r.text),
                  verdicts_of(r.text), strict=True))
    assert got == {("changed", "number-mismatch"), ("added", "quote-not-found"),
                   ("removed", "verified")}
    assert "Its context is 4096 tokens." in r.text  # the old text of the changed claim
    assert re.search(r'<tr class="del">.*?4096 tokens \[@paper', r.text, re.S)
    assert re.search(r'<tr class="add">.*?8192 tokens', r.text, re.S)


def test_diff_refuses_a_revision_that_is_not_a_version(client: TestClient) -> None:
    r = client.get("/diff/wiki/Model?a=HEAD~1&b=HEAD")
    assert r.status_code == 400
    assert "not a commit id of this page" in r.text
    r = client.get("/diff/wiki/Model?a=deadbeef&b=deadbeef")
    assert r.status_code == 400


def test_revert_needs_csrf_then_is_one_commit(client: TestClient, git: Git, vault: Path
                                              ) -> None:
    page = client.get("/history/wiki/Model").text
    old = re.findall(r'<option value="([0-9a-f]{10})"', page)[0]
    head = git.head(vault)
    refused = client.post("/revert/wiki/Model", data={"rev": old})
    assert refused.status_code == 403
    assert git.head(vault) == head
    r = client.post("/revert/wiki/Model", data={"rev": old, "csrf": csrf_of(page)},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/history/wiki/Model")
    assert git.subjects(vault)[0].startswith("veriwiki: revert | wiki/Model.md")
    assert git(vault, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert (vault / "wiki" / "Model.md").read_text(encoding="utf-8") == MODEL_V1
    after = client.get(r.headers["location"])
    assert 'id="reverted"' in after.text and "veriwiki: revert" in after.text


def test_history_path_traversal_refused(client: TestClient) -> None:
    for url in ("/history/../../etc/passwd", "/history/%2e%2e/x", "/history/.git/config",
                "/diff/.veriwiki/index?a=1234&b=1234"):
        assert client.get(url).status_code in (400, 404), url


# -- review -------------------------------------------------------------------------------

def test_review_queue_approve_good_and_refuse_bad(client: TestClient, vw: Veriwiki,
                                                  git: Git, vault: Path) -> None:
    make_proposal(vw, vault, "good", {"wiki/Attention.md": PROPOSED})
    make_proposal(vw, vault, "bad", {"wiki/Wrong.md": BAD_PROPOSAL})
    queue = client.get("/review").text
    assert 'data-id="good"' in queue and 'data-id="bad"' in queue
    detail = client.get("/review/good").text
    assert verdicts_of(detail) == ["verified", "verified", "verified"]
    assert "no new errors" in detail
    commit = re.search(r'data-commit="([0-9a-f]{40})"', detail).group(1)  # type: ignore[union-attr]
    head = git.head(vault)
    r = client.post("/review/good/approve", data={"csrf": csrf_of(detail), "commit": commit},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    assert git.subjects(vault)[0].startswith("veriwiki: approve")
    assert git(vault, "rev-list", "--count", f"{head}..HEAD").strip() == "1"
    assert (vault / "wiki" / "Attention.md").read_text(encoding="utf-8") == PROPOSED
    assert "proposals/good" not in git(vault, "branch", "--list", "proposals/*")
    assert 'id="approved"' in client.get(r.headers["location"]).text

    bad = client.get("/review/bad").text
    assert verdicts_of(bad) == ["quote-not-found"]
    assert "new error(s)" in bad
    head = git.head(vault)
    commit = re.search(r'data-commit="([0-9a-f]{40})"', bad).group(1)  # type: ignore[union-attr]
    r = client.post("/review/bad/approve", data={"csrf": csrf_of(bad), "commit": commit})
    assert r.status_code == 409
    assert 'id="gate-error"' in r.text and "fails the check" in r.text
    assert git.head(vault) == head
    assert "proposals/bad" in git(vault, "branch", "--list", "proposals/*")


def test_review_shows_the_verdict_a_removed_claim_had_on_main(
        client: TestClient, vw: Veriwiki, vault: Path) -> None:
    """A reviewer sees what a proposal takes away: main's Model page has a verified
    claim and a claim whose quote is not in the source; the proposal drops both."""
    kept = MODEL_V2.replace(
        '- The model saw 2 trillion tokens [@paper, "trained on 2 trillion tokens of data"].\n',
        "").replace('- It is the best model ever [@paper, "the best model ever made"].\n', "")
    assert kept.count("[@paper") == 1
    make_proposal(vw, vault, "trim", {"wiki/Model.md": kept})
    detail = client.get("/review/trim").text
    rows = rows_of(detail, "claim-diff")
    assert [re.search(r'data-kind="(\w+)"', r).group(1) for r in rows] == ["removed"] * 2  # type: ignore[union-attr]
    assert verdicts_of(detail) == ["verified", "quote-not-found"]
    assert all('<span class="muted">was </span>' in r for r in rows)
    assert "The model saw 2 trillion tokens" in rows[0]
    assert "It is the best model ever" in rows[1]


def test_review_reject_and_stale_commit(client: TestClient, vw: Veriwiki, git: Git,
                                        vault: Path) -> None:
    make_proposal(vw, vault, "nope", {"wiki/Wrong.md": BAD_PROPOSAL})
    detail = client.get("/review/nope").text
    head = git.head(vault)
    r = client.post("/review/nope/reject", data={"csrf": csrf_of(detail), "commit": "0" * 40})
    assert r.status_code == 409 and "changed since this page was loaded" in r.text
    assert "proposals/nope" in git(vault, "branch", "--list", "proposals/*")
    commit = re.search(r'data-commit="([0-9a-f]{40})"', detail).group(1)  # type: ignore[union-attr]
    r = client.post("/review/nope/reject", data={"csrf": csrf_of(detail), "commit": commit},
                    follow_redirects=False)
    assert r.status_code == 303
    assert git(vault, "branch", "--list", "proposals/*").strip() == ""
    assert git.head(vault) == head
    assert 'id="no-proposals"' in client.get("/review").text


def test_review_per_claim_reject(client: TestClient, vw: Veriwiki, git: Git,
                                 vault: Path) -> None:
    make_proposal(vw, vault, "mixed", {"wiki/Attention.md": PROPOSED})
    detail = client.get("/review/mixed").text
    boxes = re.findall(r'name="claim" value="(\d+)"', detail)
    assert boxes == ["0", "1"]  # the paragraph's claim shares its line: no box
    commit = re.search(r'data-commit="([0-9a-f]{40})"', detail).group(1)  # type: ignore[union-attr]
    r = client.post("/review/mixed/reject-claims",
                    data={"csrf": csrf_of(detail), "commit": commit, "claim": ["1"]},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    after = client.get(r.headers["location"]).text
    assert 'id="updated"' in after
    assert "The context is 4096 tokens." in after.split("Claims rejected earlier")[1]
    assert len(rows_of(after, "claim-diff")) == 2
    text = git(vault, "show", "proposals/mixed:wiki/Attention.md")
    assert "The context is 4096 tokens" not in text and "Attention is all you need" in text
    r = client.post("/review/mixed/reject-claims",
                    data={"csrf": csrf_of(after), "commit": commit, "claim": ["0"]})
    assert r.status_code == 409  # the old commit: the page showed another version


# -- findings and health ------------------------------------------------------------------

def findings_when_checked(client: TestClient, url: str = "/findings",
                          wait: float = 300) -> str:
    """The findings page once the app's background check has reported."""
    deadline = time.monotonic() + wait
    while True:
        r = client.get(url)
        assert r.status_code == 200
        if 'id="check-pending"' not in r.text or time.monotonic() > deadline:
            return r.text
        time.sleep(0.5)


def test_findings_filter_and_editor_links(client: TestClient) -> None:
    text = findings_when_checked(client)
    assert 'id="check-pending"' not in text and 'id="check-note"' not in text
    assert 'href="/edit/wiki/Model#L8"' in text  # the number mismatch, line 8
    only = client.get("/findings?rule=quote-not-found").text
    rules = re.findall(r'<tr class="sev-\w+" data-rule="([\w-]+)"', only)
    assert rules == ["quote-not-found"]
    assert 'href="/edit/wiki/Model#L9"' in only
    errors = client.get("/findings?severity=error").text
    sev = set(re.findall(r'data-severity="(\w+)"', errors))
    assert sev == {"error"}
    assert "No findings match the filter" in client.get("/findings?folder=nowhere").text
    assert re.findall(r'data-folder="([^"]+)"', client.get("/findings?folder=wiki").text)


def health_when_sampled(client: TestClient, want: str, wait: float = 300) -> str:
    """The health page once the background trend samples are in (``want`` shows)."""
    deadline = time.monotonic() + wait
    while True:
        r = client.get("/health")
        assert r.status_code == 200
        if want in r.text or time.monotonic() > deadline:
            return r.text
        time.sleep(0.5)


def test_health_tiles_tables_and_trends(client: TestClient) -> None:
    first = client.get("/health").text
    # HEAD's sample is the live status (the tree is clean); the rest come in the background
    assert "Sampled 1 of 4 commits; 3 more are being computed" in first
    text = health_when_sampled(client, "Sampled 4 of 4 commits.")
    tile = re.search(r'id="tile-verified"><span class="num">(\d+) / (\d+)', text)
    assert tile and tile.groups() == ("1", "3")
    assert re.search(r'id="tile-pages"><span class="num">1<', text)
    assert '<svg class="trend-chart" data-kind="share"' in text
    share = text.split('data-kind="share"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"<circle ", share)) == 2  # the two commits with claims
    counts = text.split('data-kind="counts"', 1)[1].split("</svg>", 1)[0]
    assert len(re.findall(r"<circle ", counts)) == 12  # pages, claims, errors at 4 commits
    assert re.findall(r"<title>verified share ([\d.]+) at", share) == ["100", "33.3333"]
    assert "Sampled 4 of 4 commits." in text
    assert "<td>concept</td>" in text  # the page type row
