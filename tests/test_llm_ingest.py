"""Ingest, proposals and review with the deterministic fake model (real git, real files)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import Git, Veriwiki
from veriwiki.ai.fake import FakeModel
from veriwiki.ai.ingest_prompts import ClaimList
from veriwiki.ai.provider import Meter
from veriwiki.ai.structured import StructuredOutputError, ask_structured, parse_reply
from veriwiki.errors import ConflictError, InputError
from veriwiki.services.ingest import ingest_source
from veriwiki.services.proposals import list_proposals, propose
from veriwiki.services.review import CheckFailedError, approve, claim_diff, reject
from veriwiki.vault import open_vault

SOURCE = """# Llama 2 notes

Llama 2 was trained on 2 trillion tokens of data. The context length of Llama 2 is 4096 tokens.

Grouped-query attention is used in the 70B model to improve inference scalability.
"""


def claim(entity: str, text: str, quote: str, kind: str = "product") -> dict[str, str]:
    return {"entity": entity, "kind": kind, "claim": text, "quote": quote}


GOOD = [
    claim("Llama 2", "Llama 2 was trained on 2T tokens of data.",
          "Llama 2 was trained on 2 trillion tokens of data."),
    claim("Grouped-query attention", "Grouped-query attention is used in the 70B model.",
          "Grouped-query attention is used in the 70B model to improve inference scalability.",
          "concept"),
]
BAD = [
    claim("Llama 2", "The context length of Llama 2 is 8192 tokens.",
          "The context length of Llama 2 is 4096 tokens."),            # wrong number
    claim("Llama 2", "Llama 2 has 900B parameters.", "Llama 2 has 900B parameters."),  # no quote
    claim("Mistral", "Mistral was trained on 2 trillion tokens of data.",
          "Llama 2 was trained on 2 trillion tokens of data."),        # entity not in source
    claim("Llama 2", "Llama 2 writes poetry about the ocean.",
          "Llama 2 was trained on 2 trillion tokens of data."),        # wording unsupported
]


def passage_model(claims: list[dict[str, str]]) -> FakeModel:
    return FakeModel({"claims": claims})


@pytest.fixture
def env_vault(vault: Path, vw: Veriwiki, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A vault with one source file beside it, opened in-process with the test identity."""
    for key, value in vw.env.items():
        if key.startswith("GIT_") or key == "HOME":
            monkeypatch.setenv(key, value)
    (vault.parent / "notes.md").write_text(SOURCE)
    return vault


def run_ingest(vault: Path, model: FakeModel, ref: str | None = None) -> Any:
    v = open_vault(vault)
    v.config.llm.extraction = "passage"
    try:
        return ingest_source(v, ref or str(vault.parent / "notes.md"), model, meter=Meter())
    finally:
        v.close()


def head(git: Git, vault: Path) -> str:
    return git.head(vault)


# -- structured output --------------------------------------------------------------------------


def test_parse_reply_repairs_fences_prose_trailing_commas_and_truncation() -> None:
    fenced = 'Sure!\n```json\n{"claims": [{"entity": "A", "claim": "A b.", "quote": "A b.",},]}\n```'
    assert parse_reply(fenced, ClaimList).claims[0].entity == "A"
    truncated = '{"claims": [{"entity": "A", "kind": "other", "claim": "A b.", "quote": "A b."}, {"ent'
    assert len(parse_reply(truncated, ClaimList).claims) == 1
    with pytest.raises(ValueError):
        parse_reply("no json here", ClaimList)


def test_structured_output_retries_with_the_error_then_fails_clearly() -> None:
    model = FakeModel(["not json", '{"claims": [{"entity": 3}]}', {"claims": []}])
    meter = Meter()
    out = ask_structured(model, "q", ClaimList, retries=2, meter=meter)
    assert out.claims == [] and len(model.prompts) == 3
    assert "not valid" in model.prompts[1] and meter.roles["writer"].calls == 3
    always_bad = FakeModel("still not json")
    with pytest.raises(StructuredOutputError, match="after 3 attempts"):
        ask_structured(always_bad, "q", ClaimList, retries=2)


def test_model_that_never_gives_valid_output_leaves_nothing(env_vault: Path, git: Git) -> None:
    before = head(git, env_vault)
    with pytest.raises(StructuredOutputError):
        run_ingest(env_vault, FakeModel("I cannot do that"))
    assert list_proposals(open_vault(env_vault)) == []
    # the source file itself was added first (one commit), but no proposal exists
    assert git.subjects(env_vault)[0].startswith("veriwiki: add")
    assert git(env_vault, "rev-parse", "HEAD~1").strip() == before


# -- ingest --------------------------------------------------------------------------------------


def test_ingest_makes_a_proposal_with_only_verified_claims(env_vault: Path, git: Git) -> None:
    result = run_ingest(env_vault, passage_model(GOOD + BAD))
    main_head = head(git, env_vault)
    assert result.proposal is not None and result.proposal.base == main_head
    reasons = {c.claim: c.reason for c in result.claims if not c.verified}
    assert "8192 tokens" in reasons["The context length of Llama 2 is 8192 tokens."]
    assert reasons["Llama 2 has 900B parameters."] == "the quote does not occur in the source"
    assert "not named in the source" in reasons["Mistral was trained on 2 trillion tokens of data."]
    assert "not supported" in reasons["Llama 2 writes poetry about the ocean."]
    assert len(result.verified) == 2
    # main and the working tree are untouched; the proposal is one commit on its branch
    assert not (env_vault / "wiki" / "Llama 2.md").exists()
    assert git(env_vault, "rev-list", "--count", f"{main_head}..proposals/{result.proposal.id}"
               ).strip() == "1"
    page = git.show(env_vault, f"proposals/{result.proposal.id}:wiki/Llama 2.md")
    assert '[@notes, "Llama 2 was trained on 2 trillion tokens of data."]' in page
    assert "900B" not in page and "8192" not in page and "poetry" not in page
    diff = claim_diff(open_vault(env_vault), result.proposal)
    assert diff.count("added") == 4  # two pages + the summary page listing both
    assert "wiki/sources/Summary of Llama 2 notes.md" in diff.pages_created
    assert result.proposal.meta["usage"]["writer"]["calls"] == 1


def test_approve_merges_and_check_passes(env_vault: Path, git: Git, vw: Veriwiki) -> None:
    result = run_ingest(env_vault, passage_model(GOOD + BAD))
    approve(open_vault(env_vault), result.proposal.id)
    assert git.subjects(env_vault)[0].startswith("veriwiki: approve | Llama 2 notes")
    assert (env_vault / "wiki" / "Llama 2.md").exists()
    assert git(env_vault, "branch", "--list", "proposals/*").strip() == ""
    report = vw.json("check")
    assert report["summary"]["error"] == 0, report


def test_reingest_of_an_unchanged_source_is_a_noop(env_vault: Path, git: Git) -> None:
    first = run_ingest(env_vault, passage_model(GOOD))
    model = passage_model(GOOD)
    again = run_ingest(env_vault, model)
    assert again.noop and "already proposed" in again.noop and model.prompts == []
    approve(open_vault(env_vault), first.proposal.id)
    commits = git.subjects(env_vault)
    third = run_ingest(env_vault, model)
    assert third.noop and "already ingested" in third.noop and model.prompts == []
    assert git.subjects(env_vault) == commits


def test_merge_keeps_human_text_and_new_version_changes_claims(env_vault: Path, git: Git,
                                                              vw: Veriwiki) -> None:
    human = ("---\ntitle: Llama 2\ntype: entity\nkind: product\n---\n# Llama 2\n\n"
             "Written by a person. Keep me exactly.\n")
    (env_vault / "wiki" / "Llama 2.md").write_text(human)
    git(env_vault, "add", "-A")
    git(env_vault, "commit", "-qm", "human page")
    first = run_ingest(env_vault, passage_model(GOOD))
    assert "wiki/Llama 2.md" in first.pages_touched
    approve(open_vault(env_vault), first.proposal.id)
    text = (env_vault / "wiki" / "Llama 2.md").read_text()
    assert text.startswith(human)
    # a person adds a note inside the managed block; a new source version changes a claim
    text = text.replace("<!-- /veriwiki:claims -->", "A human note inside the block.\n"
                                                      "<!-- /veriwiki:claims -->")
    (env_vault / "wiki" / "Llama 2.md").write_text(text)
    git(env_vault, "commit", "-qam", "note")
    (env_vault.parent / "notes.md").write_text(SOURCE.replace("2 trillion", "3 trillion"))
    v2 = [claim("Llama 2", "Llama 2 was trained on 3T tokens of data.",
                "Llama 2 was trained on 3 trillion tokens of data."), GOOD[1]]
    second = run_ingest(env_vault, passage_model(v2))
    assert second.proposal.id == "ingest-notes-v2"
    diff = claim_diff(open_vault(env_vault), second.proposal)
    kinds = {(c.kind, c.path) for c in diff.changes}
    assert ("changed", "wiki/Llama 2.md") in kinds
    approve(open_vault(env_vault), second.proposal.id)
    final = (env_vault / "wiki" / "Llama 2.md").read_text()
    assert final.startswith(human) and "A human note inside the block." in final
    assert "3 trillion" in final and "2 trillion" not in final
    assert final.count("<!-- veriwiki:claims source=notes -->") == 1
    assert vw.json("check")["summary"]["error"] == 0


# -- review ----------------------------------------------------------------------------------------


def test_review_conflict_is_refused_and_nonoverlapping_change_rebases(env_vault: Path,
                                                                       git: Git) -> None:
    base = ("---\ntitle: Llama 2\ntype: entity\nkind: product\n---\n# Llama 2\n\nIntro.\n\n"
            "Middle paragraph.\n\nLast paragraph.\n")
    (env_vault / "wiki" / "Llama 2.md").write_text(base)
    git(env_vault, "add", "-A")
    git(env_vault, "commit", "-qm", "page")
    result = run_ingest(env_vault, passage_model(GOOD))
    # main changes the end of the same page: the proposal's appended block collides
    (env_vault / "wiki" / "Llama 2.md").write_text(base + "\nA conflicting last line.\n")
    git(env_vault, "commit", "-qam", "edit end")
    before = head(git, env_vault)
    with pytest.raises(ConflictError, match="conflicts with changes made on main"):
        approve(open_vault(env_vault), result.proposal.id)
    assert head(git, env_vault) == before
    assert [p.id for p in list_proposals(open_vault(env_vault))] == [result.proposal.id]
    # undo that, change the top instead: the proposal is re-applied on the newer main
    (env_vault / "wiki" / "Llama 2.md").write_text(base.replace("Intro.", "Intro, edited."))
    git(env_vault, "commit", "-qam", "edit top")
    approve(open_vault(env_vault), result.proposal.id)
    merged = (env_vault / "wiki" / "Llama 2.md").read_text()
    assert "Intro, edited." in merged and "2 trillion tokens" in merged


def test_approve_refuses_a_proposal_that_fails_the_check_unless_forced(env_vault: Path,
                                                                         git: Git) -> None:
    run_ingest(env_vault, passage_model(GOOD))  # adds the source 'notes'
    v = open_vault(env_vault)
    bad = "---\ntitle: Bad\ntype: concept\n---\n# Bad\n\nIt has 5 heads. [@notes, \"not in the source\"]\n"
    p = propose(v, "ask", "bad page", {"wiki/Bad.md": bad.encode()}, {}, "ask-bad")
    before = head(git, env_vault)
    with pytest.raises(CheckFailedError, match="quote-not-found"):
        approve(v, p.id)
    assert head(git, env_vault) == before
    approve(v, p.id, force=True)
    assert (env_vault / "wiki" / "Bad.md").exists()


def test_reject_deletes_the_branch_only(env_vault: Path, git: Git) -> None:
    result = run_ingest(env_vault, passage_model(GOOD))
    before = head(git, env_vault)
    reject(open_vault(env_vault), result.proposal.id)
    assert list_proposals(open_vault(env_vault)) == [] and head(git, env_vault) == before
    with pytest.raises(InputError, match="no open proposal"):
        reject(open_vault(env_vault), result.proposal.id)


def test_review_cli_lists_and_shows(env_vault: Path, vw: Veriwiki) -> None:
    result = run_ingest(env_vault, passage_model(GOOD + BAD))
    listing = vw.json("review")
    assert [p["id"] for p in listing["proposals"]] == [result.proposal.id]
    shown = vw.json("review", "show", result.proposal.id)
    assert shown["claim_diff"]["added"] == 4 and "+- Llama 2 was trained" in shown["diff"]
    assert len(shown["meta"]["dropped"]) == 4
    human = vw.ok("review", "show", result.proposal.id).stdout
    assert "claims: +4 added" in human and "dropped (not verified): 4" in human
    assert vw("review", "approve", "nope").returncode == 2


def test_proposals_may_only_write_pages(env_vault: Path) -> None:
    v = open_vault(env_vault)
    for path in ("raw/notes/v1.md", "wiki/../raw/x.md", "veriwiki.toml", "wiki/index.md",
                 "/etc/passwd", "wiki/x.txt"):
        with pytest.raises(InputError, match="may only write pages"):
            propose(v, "ingest", "evil", {path: b"x"}, {}, "evil")
    assert list_proposals(v) == []


def test_unknown_model_gives_a_clear_error(env_vault: Path, vw: Veriwiki) -> None:
    proc = vw("ingest", str(env_vault.parent / "notes.md"), "--model", "no-such-model-xyz")
    assert proc.returncode == 2
    assert "unknown model 'no-such-model-xyz'" in proc.stderr and "hint:" in proc.stderr


# -- crash safety -------------------------------------------------------------------------------

CRASHER = """
import os, signal, sys
from veriwiki.ai.fake import FakeModel
from veriwiki.ai.provider import Meter
from veriwiki.services.ingest import ingest_source
from veriwiki.vault import open_vault
calls = []
def reply(prompt):
    calls.append(1)
    if len(calls) == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)
    return {"entity": "Llama 2", "kind": "product", "claim": sys.argv[4]}
v = open_vault(sys.argv[1])
v.config.llm.extraction = "sentence"
ingest_source(v, sys.argv[2], FakeModel(reply), meter=Meter())
"""


def test_kill_mid_ingest_leaves_main_untouched_and_no_proposal(env_vault: Path, git: Git,
                                                               tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHER)
    source = env_vault.parent / "notes.md"
    subprocess.run([sys.executable, "-m", "veriwiki", "--vault", str(env_vault), "add",
                    str(source)], check=True, capture_output=True, env=dict(os.environ))
    before = head(git, env_vault)
    status = git.status(env_vault)
    proc = subprocess.run([sys.executable, str(script), str(env_vault), "notes", "2",
                           "Llama 2 was trained on 2 trillion tokens of data."],
                          capture_output=True, env=dict(os.environ))
    assert proc.returncode == -9
    assert head(git, env_vault) == before and git.status(env_vault) == status
    assert git(env_vault, "for-each-ref", "refs/heads/proposals/").strip() == ""
    # running it again completes normally
    result = run_ingest(env_vault, passage_model(GOOD), ref="notes")
    assert result.proposal is not None and len(result.verified) == 2


def test_interrupt_mid_ingest_leaves_nothing(env_vault: Path, git: Git) -> None:
    def interrupt(prompt: str) -> dict[str, Any]:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ingest(env_vault, FakeModel(interrupt))
    assert git(env_vault, "for-each-ref", "refs/heads/proposals/").strip() == ""


def test_sentences_the_model_cannot_answer_are_skipped_not_fatal(env_vault: Path) -> None:
    def reply(prompt: str) -> Any:
        if "4096" in prompt:
            return "{\"entity\": \"Llama 2\", \"claim\": \"unterminated"
        return {"entity": "Llama 2", "kind": "product",
                "claim": "Llama 2 was trained on 2 trillion tokens of data."}

    v = open_vault(env_vault)
    v.config.llm.extraction = "sentence"
    notes: list[str] = []
    result = ingest_source(v, str(env_vault.parent / "notes.md"), FakeModel(reply),
                           meter=Meter(), on_notice=notes.append)
    assert result.proposal is not None
    assert result.proposal.meta["unanswered"]["count"] == 1
    assert result.proposal.meta["unanswered"]["of"] == 3
    assert any("no valid reply for 1 of 3 sentences" in n for n in notes)
    assert [c.claim for c in result.verified] == ["Llama 2 was trained on 2 trillion tokens of data."]


def test_second_source_merges_into_pages_the_first_created(env_vault: Path) -> None:
    v = open_vault(env_vault)
    v.config.llm.extraction = "passage"
    first = ingest_source(v, str(env_vault.parent / "notes.md"), passage_model(GOOD),
                          meter=Meter())
    approve(v, first.proposal.id)
    other = env_vault.parent / "more.md"
    other.write_text("Llama 2 is released under a community licence.\n")
    second = ingest_source(v, str(other), passage_model([claim(
        "llama 2", "Llama 2 is released under a community licence.",
        "Llama 2 is released under a community licence.")]), meter=Meter())
    assert second.pages_touched == ["wiki/Llama 2.md"]
    assert second.pages_created == ["wiki/sources/Summary of more.md"]
    v.close()


def test_labels_years_and_bare_names_are_not_claims() -> None:
    from veriwiki.ai.ingest_prompts import ExtractedClaim
    from veriwiki.core.claim_verify import names_in as _names_in
    from veriwiki.core.claim_verify import verify_claim
    from veriwiki.core.model import SourceText

    text = "Llama 2 70B uses 64 query heads and 8 key-value heads."
    src = SourceText(text)

    def check(entity: str, claim_text: str) -> str:
        out = verify_claim(ExtractedClaim(entity=entity, claim=claim_text, quote=text), src,
                           _names_in(text))
        return "ok" if out.verified else out.reason

    assert check("Llama 2 70B", "Llama 2 70B uses 64 query heads.") == "ok"
    assert "2020" in check("Llama 2 70B", "Llama 2 70B is a 2020 product.")
    assert "13B" in check("Llama 2", "Llama 2 13B uses 64 query heads.")
    assert "nothing beyond" in check("Llama 2 70B", "Llama 2 70B.")
