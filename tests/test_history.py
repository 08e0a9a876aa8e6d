"""Services behind the web app's history, review and health views: page versions, text
and claim diffs with verdicts, revert, per-claim rejection, health trends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Git, Veriwiki
from helpers_web import MODEL_V1, MODEL_V2, PROPOSED, make_history_vault, make_proposal
from veriwiki.errors import InputError
from veriwiki.vault import Vault, open_vault


@pytest.fixture
def hv(vw: Veriwiki, git: Git, vault: Path) -> Iterator[Vault]:
    make_history_vault(vw, git, vault)
    opened = open_vault(vault)
    try:
        yield opened
    finally:
        opened.close()


def test_page_log_lists_versions_with_authors_newest_first(hv: Vault) -> None:
    from veriwiki.services.history import page_log

    path, versions = page_log(hv, "Model")
    assert path == "wiki/Model.md"
    assert [v.subject for v in versions] == ["Model: new context length",
                                             "Model: first version"]
    assert [v.author for v in versions] == ["Second Author", "Test Author"]
    assert versions[0].email == "second@example.invalid"
    assert versions[0].date[:4].isdigit() and "T" in versions[0].date
    assert all(v.path == "wiki/Model.md" for v in versions)


def test_diff_versions_text_claims_and_verdicts(hv: Vault) -> None:
    from veriwiki.services.history import diff_versions, page_log

    _, (new, old) = page_log(hv, "Model")
    diff = diff_versions(hv, "Model", old.short, new.commit)
    dels = [ln.text for ln in diff.lines if ln.kind == "del"]
    adds = [ln.text for ln in diff.lines if ln.kind == "add"]
    assert any("4096 tokens [@paper" in t and t.startswith("- Its context") for t in dels)
    assert any("8192 tokens" in t for t in adds)
    assert not any(ln.kind != "hunk" and "The model saw" in ln.text and ln.kind != "same"
                   for ln in diff.lines)
    kinds = {(c.kind, c.text): diff.verdict(c) for c in diff.claims.changes}
    assert kinds == {
        ("changed", "Its context is 8192 tokens."): "number-mismatch",
        ("added", "It is the best model ever."): "quote-not-found",
        ("removed", "It was released in 2023."): "verified",
    }
    changed = next(c for c in diff.claims.changes if c.kind == "changed")
    assert changed.old_text == "Its context is 4096 tokens."
    # line numbers point into the new text
    assert diff.lines[0].kind == "hunk"
    added = next(ln for ln in diff.lines if ln.kind == "add" and "8192" in ln.text)
    assert added.new == 8 and added.old is None


def test_diff_versions_reversed_judges_the_old_text(hv: Vault) -> None:
    """Diffing new→old: the claims of the first version are checked in a scratch
    worktree (they are not on disk) and verify."""
    from veriwiki.services.history import diff_versions, page_log

    _, (new, old) = page_log(hv, "Model")
    diff = diff_versions(hv, "Model", new.short, old.short)
    verdicts = {(c.kind, c.text): diff.verdict(c) for c in diff.claims.changes}
    assert verdicts[("changed", "Its context is 4096 tokens.")] == "verified"
    assert verdicts[("added", "It was released in 2023.")] == "verified"
    assert verdicts[("removed", "It is the best model ever.")] == "quote-not-found"
    assert not list((hv.state_dir / "tmp").glob("proposal-check-*"))


@pytest.mark.parametrize("rev", ["HEAD", "--output=/tmp/x", "main~1", "abc", "0" * 41, "zzzz"])
def test_find_version_refuses_anything_but_a_commit_of_the_page(hv: Vault, rev: str) -> None:
    from veriwiki.services.history import diff_versions, page_log

    _, versions = page_log(hv, "Model")
    with pytest.raises(InputError, match="commit id|version"):
        diff_versions(hv, "Model", rev, versions[0].short)


def test_find_version_refuses_a_commit_not_of_this_page(hv: Vault, git: Git) -> None:
    from veriwiki.services.history import diff_versions, page_log

    first = git(hv.root, "rev-list", "--max-parents=0", "HEAD").strip()
    _, versions = page_log(hv, "Model")
    with pytest.raises(InputError, match="no version"):
        diff_versions(hv, "Model", first, versions[0].short)


def test_revert_to_a_version_is_one_commit(hv: Vault, git: Git) -> None:
    from veriwiki.services.history import page_log, revert_to

    before = git.subjects(hv.root)
    _, versions = page_log(hv, "Model")
    path, sha, commit = revert_to(hv, "Model", versions[1].short)
    assert (path, sha) == ("wiki/Model.md", versions[1].commit)
    assert commit == git.head(hv.root)
    assert git.subjects(hv.root)[1:] == before
    assert git.subjects(hv.root)[0].startswith("veriwiki: revert | wiki/Model.md")
    assert (hv.root / path).read_text(encoding="utf-8") == MODEL_V1
    assert git.show(hv.root, "HEAD:wiki/Model.md") == MODEL_V1
    assert not git.status(hv.root)


def test_text_diff_is_bounded() -> None:
    from veriwiki.services.history import text_diff

    old = "\n".join(f"line {i}" for i in range(3000)).encode()
    new = "\n".join(f"LINE {i}" for i in range(3000)).encode()
    lines, cut = text_diff(old, new, limit=100)
    assert cut and len(lines) == 100
    lines, cut = text_diff(b"a\nb\n", b"a\nc\n")
    assert not cut
    assert [(ln.kind, ln.text) for ln in lines] == [("hunk", "@@ -1,2 +1,2 @@"),
                                                    ("same", "a"), ("del", "b"), ("add", "c")]


# -- per-claim rejection ------------------------------------------------------------------

def test_reject_one_claim_keeps_the_rest_open(vw: Veriwiki, hv: Vault, git: Git) -> None:
    from veriwiki.services.proposals import changed_pages, get_proposal
    from veriwiki.services.review import claim_diff
    from veriwiki.services.review_claims import ClaimPick, reject_claims

    make_proposal(vw, hv.root, "p1", {"wiki/Attention.md": PROPOSED})
    head = git.head(hv.root)
    old = get_proposal(hv, "p1")
    new = reject_claims(hv, "p1", [ClaimPick("wiki/Attention.md",
                                             "The context is 4096 tokens.")])
    assert new.id == "p1" and new.commit != old.commit and new.base == old.base
    assert get_proposal(hv, "p1").commit == new.commit
    text = changed_pages(hv, new)["wiki/Attention.md"][1]
    assert text is not None
    assert text.decode() == PROPOSED.replace(
        '- The context is 4096 tokens [@paper, "a context length of 4096 tokens"].\n', "")
    assert [(c.kind, c.text) for c in claim_diff(hv, new).changes] == [
        ("added", "Attention is all you need."),
        ("added", "Training used 2 trillion tokens.")]
    assert new.meta["rejected_claims"] == [{"path": "wiki/Attention.md",
                                            "claim": "The context is 4096 tokens."}]
    assert git.head(hv.root) == head  # main untouched


def test_reject_claim_sharing_its_line_is_refused(vw: Veriwiki, hv: Vault) -> None:
    from veriwiki.services.proposals import get_proposal
    from veriwiki.services.review_claims import ClaimPick, can_reject_alone, reject_claims

    make_proposal(vw, hv.root, "p2", {"wiki/Attention.md": PROPOSED})
    before = get_proposal(hv, "p2").commit
    with pytest.raises(InputError, match="shares its line"):
        reject_claims(hv, "p2", [ClaimPick("wiki/Attention.md",
                                           "Training used 2 trillion tokens.")])
    with pytest.raises(InputError, match="does not add"):
        reject_claims(hv, "p2", [ClaimPick("wiki/Attention.md", "Not a claim of it.")])
    assert get_proposal(hv, "p2").commit == before
    from veriwiki.services.proposals import changed_pages
    from veriwiki.services.review import claim_diff

    p = get_proposal(hv, "p2")
    data = changed_pages(hv, p)["wiki/Attention.md"][1]
    alone = {c.text: can_reject_alone(c.path, data, c) for c in claim_diff(hv, p).changes}
    assert alone == {"Attention is all you need.": True, "The context is 4096 tokens.": True,
                     "Training used 2 trillion tokens.": False}


def test_reject_leaving_nothing_is_refused(vw: Veriwiki, hv: Vault) -> None:
    from veriwiki.services.review_claims import ClaimPick, reject_claims

    page = "# One\n\n- Attention is all you need [@paper, \"Attention is all you need\"].\n"
    make_proposal(vw, hv.root, "p3", {"wiki/One.md": page})
    # the page without its claim still differs from main (it is new), so this is allowed
    got = reject_claims(hv, "p3", [ClaimPick("wiki/One.md", "Attention is all you need.")])
    assert got.meta["rejected_claims"]
    plus = MODEL_V2 + "- Attention is all you need [@paper, \"Attention is all you need\"].\n"
    make_proposal(vw, hv.root, "p4", {"wiki/Model.md": plus})
    with pytest.raises(InputError, match="leaves nothing"):
        reject_claims(hv, "p4", [ClaimPick("wiki/Model.md", "Attention is all you need.")])


# -- trends --------------------------------------------------------------------------------

def test_trend_samples_status_at_commits_and_caches_them(
        hv: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import trends

    picks, total = trends.sample_commits(hv, 12)
    assert total == 4  # init, add paper, two versions of Model
    assert len(picks) == 4
    got = trends.health_trend(hv, 12, budget=600)
    assert got.pending == 0 and got.commits == 4
    last = got.points[-1]
    assert got.points[0].pages == 0
    assert (last.pages, last.claims, last.verified) == (1, 3, 1)
    assert last.errors >= 2  # the wrong number and the missing quote
    first_model = got.points[-2]
    assert (first_model.pages, first_model.claims, first_model.verified) == (1, 3, 3)
    cached = json.loads((hv.cache_dir / trends.CACHE_FILE).read_text())
    assert set(cached["points"]) == {p.commit for p in got.points}

    def boom(*args: object) -> object:
        raise AssertionError("a cached sample was computed again")

    monkeypatch.setattr(trends, "measure", boom)
    again = trends.health_trend(hv, 12)
    assert again.points == got.points
    assert not list((hv.state_dir / "tmp").glob("trend-*"))


def test_trend_sampling_is_stable_as_commits_are_added(hv: Vault, git: Git) -> None:
    from veriwiki.services.trends import sample_commits

    for i in range(20):
        git(hv.root, "commit", "-q", "--allow-empty", "-m", f"empty {i}")
    picks, total = sample_commits(hv, 6)
    assert total == 24 and len(picks) <= 6
    git(hv.root, "commit", "-q", "--allow-empty", "-m", "one more")
    later, _ = sample_commits(hv, 6)
    assert [c for c, _ in picks[:-1]] == [c for c, _ in later[:-1]]
    assert later[-1][0] == git.head(hv.root)


def test_trend_budget_bounds_new_samples(hv: Vault, git: Git) -> None:
    from veriwiki.services.trends import health_trend

    got = health_trend(hv, 12, budget=0)
    assert len(got.points) == 1 and got.pending == 3
    assert got.points[0].commit == git.head(hv.root) and got.points[0].claims == 3


def test_trend_takes_head_from_the_live_status_when_the_tree_is_clean(
        hv: Vault, git: Git, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import trends
    from veriwiki.services.status import vault_status

    head = git.head(hv.root)
    measured: list[str] = []
    real = trends.measure

    def spy(vault: Vault, commit: str, date: str) -> object:
        measured.append(commit)
        return real(vault, commit, date)

    monkeypatch.setattr(trends, "measure", spy)
    (hv.root / "wiki" / "Model.md").write_text(MODEL_V1, encoding="utf-8")  # dirty
    dirty = vault_status(hv)
    got = trends.health_trend(hv, 12, budget=0, current=trends.point_of(dirty, "", ""))
    assert measured == [head]  # not taken from a status that is not HEAD's
    assert got.points[-1].claims == 3 and got.points[-1].verified == 1
    (hv.cache_dir / trends.CACHE_FILE).unlink()
    git(hv.root, "checkout", "--", "wiki/Model.md")
    measured.clear()
    clean = vault_status(hv)
    got = trends.health_trend(hv, 12, budget=0, current=trends.point_of(clean, "", ""))
    assert measured == []
    assert (got.points[-1].commit, got.points[-1].claims, got.points[-1].verified) == \
        (head, 3, 1)
