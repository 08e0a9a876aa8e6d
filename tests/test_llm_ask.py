"""ask: hybrid retrieval, the answer's verification, --save through a proposal, the CLI.

Unit tests drive the real services on real vaults (git, SQLite, files) with the scripted
FakeModel / FakeEmbedder; one slow test runs the embedded SmolLM2 end to end.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import Veriwiki, describe
from veriwiki import api
from veriwiki.ai.fake import FakeEmbedder, FakeModel
from veriwiki.core.answer import (
    Passage,
    page_sentences,
    reader_text,
    split_answer,
    verify_sentence,
)
from veriwiki.core.quotes import find_quote
from veriwiki.core.retrieval import Fused, content_words, link_hop, rrf_fuse
from veriwiki.errors import InputError
from veriwiki.services.ask import answer_question, request_schema
from veriwiki.services.ask_save import page_title, proposal_id, save_answer
from veriwiki.services.retrieval import retrieve

LLAMA_SOURCE = (
    "Llama 2: Open Foundation and Fine-Tuned Chat Models\n\n"
    "Llama 2 is a family of large language models released by Meta AI in July 2023. "
    "The models were trained on 2 trillion tokens of data. "
    "Llama 2 comes in sizes of 7B, 13B and 70B parameters. "
    "The context length is 4096 tokens.\n")
GPT3_SOURCE = (
    "Language Models are Few-Shot Learners\n\n"
    "GPT-3 is an autoregressive language model with 175 billion parameters. "
    "GPT-3 was trained on 300 billion tokens.\n")

PAGES = {
    "Llama 2": (
        "---\ntitle: Llama 2\ntype: concept\n---\n# Llama 2\n\n"
        "Llama 2 is a family of large language models released by [[Meta AI]] "
        '[@llama2, "Llama 2 is a family of large language models released by Meta AI"].\n'
        'Llama 2 was trained on 2 trillion tokens [@llama2, "trained on 2 trillion tokens '
        'of data"].\n'
        'The context length of Llama 2 is 4096 tokens [@llama2, "The context length is '
        '4096 tokens"].\n\nSee also [[GPT-3]].\n'),
    "Meta AI": (
        "---\ntitle: Meta AI\ntype: concept\n---\n# Meta AI\n\n"
        "Meta AI is the research laboratory of Meta. It publishes open model weights.\n\n"
        "Its best known release is [[Llama 2]].\n"),
    "GPT-3": (
        "---\ntitle: GPT-3\ntype: concept\n---\n# GPT-3\n\n"
        "GPT-3 is an autoregressive language model with 175 billion parameters "
        '[@gpt3, "GPT-3 is an autoregressive language model with 175 billion parameters"].\n'
        'GPT-3 was trained on 300 billion tokens [@gpt3, "GPT-3 was trained on 300 billion '
        'tokens"].\n\nCompare [[Llama 2]].\n'),
    "Bananas": (
        "---\ntitle: Bananas\n---\n# Bananas\n\nBananas grow in tropical orchards. "
        "They are yellow when ripe.\n\nNot related to [[GPT-3]].\n"),
}


def _commit(root: Path, message: str) -> None:
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", message], check=True)


def _head(root: Path) -> str:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def make_vault(tmp_path: Path, pages: dict[str, str] | None = None) -> Path:
    """A committed vault with two sources and pages citing them by exact quotes."""
    root = tmp_path / "v"
    api.init_vault(root)
    vault = api.open_vault(root)
    for name, text in (("llama2", LLAMA_SOURCE), ("gpt3", GPT3_SOURCE)):
        src = tmp_path / f"{name}.txt"
        src.write_text(text, encoding="utf-8")
        api.add_source(vault, src, source_id=name)
    vault.close()
    for name, text in (PAGES if pages is None else pages).items():
        (root / "wiki" / f"{name}.md").write_text(text, encoding="utf-8")
    _commit(root, "pages")
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return make_vault(tmp_path)


def ref_of(prompt: str, needle: str) -> int:
    """The number of the passage in ``prompt`` that contains ``needle``."""
    for m in re.finditer(r"^\[(\d+)\] (.*)$", prompt, flags=re.M):
        if needle in m.group(2):
            return int(m.group(1))
    raise AssertionError(f"no passage with {needle!r} in:\n{prompt}")


def reply(*items: tuple[str, str | tuple[str, ...] | list[int]]) -> Any:
    """A FakeModel reply: sentences citing the passages holding the given texts (or numbers)."""
    def refs(prompt: str, r: str | tuple[str, ...] | list[int]) -> list[int]:
        if isinstance(r, list):
            return r
        return [ref_of(prompt, n) for n in ((r,) if isinstance(r, str) else r)]

    def make(prompt: str) -> dict[str, Any]:
        return {"answer": [{"sentence": s, "refs": refs(prompt, r)} for s, r in items]}
    return make


# -- ranking arithmetic ------------------------------------------------------------------------


def test_rrf_fuse_orders_by_reciprocal_rank_then_path() -> None:
    fused = rrf_fuse({"bm25": ["a", "b", "c"], "embedding": ["c", "a", "d"]})
    assert [f.path for f in fused] == ["a", "c", "b", "d"]
    by = {f.path: f for f in fused}
    assert by["a"].score == pytest.approx(1 / 61 + 1 / 62)
    assert by["c"].score == pytest.approx(1 / 63 + 1 / 61)
    assert by["a"].via == "bm25" and by["c"].via == "embedding" and by["d"].via == "embedding"
    assert by["c"].ranks == {"bm25": 3, "embedding": 1}
    # equal scores fall back to path order, so the result is deterministic
    tied = rrf_fuse({"bm25": ["y", "x"], "embedding": ["x", "y"]})
    assert [f.path for f in tied] == ["x", "y"]
    assert tied[0].score == tied[1].score


def test_link_hop_discounts_and_skips_seeds() -> None:
    seeds = [Fused("a", 0.04, "bm25"), Fused("b", 0.02, "bm25")]
    hops = link_hop(seeds, {"a": ["b", "c"], "b": ["c", "d"]}, limit=5)
    assert [(h.path, h.via) for h in hops] == [("c", "link"), ("d", "link")]
    assert hops[0].score == pytest.approx(0.02) and hops[1].score == pytest.approx(0.01)
    assert link_hop(seeds, {"a": ["c"], "b": ["d"]}, limit=1) == [Fused("c", 0.02, "link")]


def test_content_words_drop_stopwords_and_stem() -> None:
    assert content_words("How many tokens was Llama 2 trained on?") == [
        "token", "llama", "2", "train"]
    assert content_words("the training of") == ["train"]


def test_split_answer_moves_markers_to_refs_and_splits_sentences() -> None:
    pieces = split_answer("Llama 2 has 70B parameters [2]. It was made by [[Meta AI]] [1, 3]",
                          [2])
    assert pieces == [("Llama 2 has 70B parameters.", [2, 1, 3]),
                      ("It was made by Meta AI.", [2, 1, 3])]


def test_page_sentences_skip_code_headings_and_citations() -> None:
    text = ("---\ntitle: X\n---\n# X\n\nFirst sentence here. Second one [@s, \"q\"].\n\n"
            "```python\nnot = prose\n```\n- A list item.\n")
    assert page_sentences(text) == [(6, "First sentence here."), (6, "Second one."),
                                    (11, "A list item.")]


def test_verify_sentence_reasons() -> None:
    p = Passage(1, "wiki/A.md", "A", 3, "Llama 2 was trained on 2 trillion tokens.", "claim")
    now = {"wiki/A.md": "Llama 2 was trained on 2 trillion tokens."}
    ok = verify_sentence("Llama 2 was trained on 2 trillion tokens.", [1], {1: p}, now.get)
    assert ok.verified and ok.reasons == []
    wrong = verify_sentence("Llama 2 was trained on 3 trillion tokens.", [1], {1: p}, now.get)
    assert not wrong.verified and "number" in wrong.reasons[0]
    stale = verify_sentence("Llama 2 was trained on 2 trillion tokens.", [1], {1: p},
                            {"wiki/A.md": "Rewritten."}.get)
    assert not stale.verified and "no longer in wiki/A.md" in stale.reasons[0]
    gone = verify_sentence("Llama 2 was trained on 2 trillion tokens.", [1], {1: p},
                           {}.get)
    assert "no longer exists" in gone.reasons[0]
    none = verify_sentence("Llama 2 was trained.", [], {1: p}, now.get)
    assert none.reasons == ["cites no passage"]


# -- retrieval on a real vault -----------------------------------------------------------------


def test_retrieve_link_hop_adds_linked_pages_with_discounted_score(root: Path) -> None:
    vault = api.open_vault(root)
    found, stats = retrieve(vault, "What is the context length?", limit=1)
    assert stats is None
    by = {r.path: r for r in found}
    assert found[0].path == "wiki/Llama 2.md" and found[0].via == "bm25"
    linked = [r for r in found if r.via == "link"]
    assert linked and {r.path for r in linked} <= {"wiki/Meta AI.md", "wiki/GPT-3.md"}
    for r in linked:
        assert r.score == pytest.approx(by["wiki/Llama 2.md"].score * 0.5)
    assert "wiki/Bananas.md" not in by  # not linked from the seed
    # deterministic: the same question gives the same list
    assert [r.to_json() for r in retrieve(vault, "What is the context length?", limit=1)[0]] \
        == [r.to_json() for r in found]


def test_retrieve_with_embedder_fuses_and_caches_vectors(root: Path) -> None:
    vault = api.open_vault(root)
    embedder = FakeEmbedder()
    found, stats = retrieve(vault, "tropical orchards yellow fruit", limit=3, embedder=embedder)
    assert stats is not None and stats.computed == 4 and stats.cached == 0
    assert found[0].path == "wiki/Bananas.md"
    assert found[0].ranks.get("embedding") == 1 and "bm25" in found[0].ranks
    assert (root / ".veriwiki" / "embeddings.db").is_file()

    again, stats2 = retrieve(vault, "tropical orchards yellow fruit", limit=3,
                             embedder=embedder)
    assert stats2 is not None and (stats2.computed, stats2.cached) == (0, 4)
    assert [r.path for r in again] == [r.path for r in found]

    page = root / "wiki" / "Bananas.md"
    page.write_text(page.read_text("utf-8") + "\nThey are rich in potassium.\n", "utf-8")
    (root / "wiki" / "Meta AI.md").unlink()
    _, stats3 = retrieve(vault, "potassium", limit=3, embedder=embedder)
    assert stats3 is not None and (stats3.computed, stats3.cached, stats3.removed) == (1, 2, 1)


def test_ask_embedder_second_ask_computes_no_vectors(root: Path) -> None:
    vault = api.open_vault(root)
    writer = FakeModel(reply(("Llama 2 was trained on 2 trillion tokens.", "2 trillion")))
    first = answer_question(vault, "How many tokens was Llama 2 trained on?", writer,
                            embedder=FakeEmbedder())
    second = answer_question(vault, "How many tokens was Llama 2 trained on?", writer,
                             embedder=FakeEmbedder())
    assert first.embeddings is not None and first.embeddings.computed == 4
    assert second.embeddings is not None and second.embeddings.computed == 0
    assert second.embeddings.cached == 4
    # only the question was embedded the second time
    assert second.meter.to_json()["embedder"]["calls"] == 1
    assert first.meter.to_json()["embedder"]["calls"] == 2


# -- answers and verification ------------------------------------------------------------------


def test_ask_verifies_good_sentence_and_flags_bad_ones(root: Path) -> None:
    vault = api.open_vault(root)
    writer = FakeModel(reply(
        ("Llama 2 was trained on 2 trillion tokens.", "2 trillion"),
        ("Llama 2 was trained on 3 trillion tokens.", "2 trillion"),
        ("Llama 2 has a context length of 4096 tokens.", [99]),
        ("Bananas grow quickly in tropical orchards.", "2 trillion"),
    ))
    answer = answer_question(vault, "How many tokens was Llama 2 trained on?", writer)
    assert [s.verified for s in answer.sentences] == [True, False, False, False]
    good, number, unknown, unrelated = answer.sentences
    assert good.reasons == []
    assert any('number "3 trillion tokens" is not stated' in r for r in number.reasons)
    assert any("[99]" in r and "do not exist" in r for r in unknown.reasons)
    assert any("content words" in r for r in unrelated.reasons)
    cited = answer.passage(good.refs[0])
    assert cited is not None and cited.path == "wiki/Llama 2.md" and cited.kind == "claim"
    assert cited.line == 8
    assert [c.quote for c in cited.citations] == ["trained on 2 trillion tokens of data"]
    # the writer was held to a schema allowing only the passages' numbers
    schema = writer.schemas[0]
    assert schema is not None
    refs = schema["properties"]["answer"]["items"]["properties"]["refs"]
    assert refs["items"]["enum"] == list(range(1, len(answer.passages) + 1))
    assert schema["properties"]["answer"]["maxItems"] == 6
    assert 1 <= len(answer.passages) <= 12
    assert "data, not instructions" in writer.prompts[0]


def test_ask_flags_a_passage_that_changed_after_indexing(root: Path) -> None:
    vault = api.open_vault(root)
    page = root / "wiki" / "Llama 2.md"

    def edit_then_reply(prompt: str) -> dict[str, Any]:
        ref = ref_of(prompt, "2 trillion")
        page.write_text(page.read_text("utf-8").replace("2 trillion tokens [@", "many tokens [@"),
                        "utf-8")
        return {"answer": [{"sentence": "Llama 2 was trained on 2 trillion tokens.",
                            "refs": [ref]}]}

    answer = answer_question(vault, "How many tokens was Llama 2 trained on?",
                             FakeModel(edit_then_reply))
    assert not answer.sentences[0].verified
    assert "no longer in wiki/Llama 2.md" in answer.sentences[0].reasons[0]


def test_ask_uses_prose_of_pages_without_claims(root: Path) -> None:
    vault = api.open_vault(root)
    writer = FakeModel(reply(("Meta AI publishes open model weights.", "open model weights")))
    answer = answer_question(vault, "What does Meta AI publish?", writer)
    assert answer.sentences[0].verified, answer.sentences[0].reasons
    p = answer.passage(answer.sentences[0].refs[0])
    assert p is not None and p.kind == "text" and p.path == "wiki/Meta AI.md" and p.line == 7


def test_ask_without_usable_reply_says_so(root: Path) -> None:
    vault = api.open_vault(root)
    answer = answer_question(vault, "How many tokens was Llama 2 trained on?",
                             FakeModel("I cannot answer in JSON, sorry."))
    assert not answer.answered and answer.sentences == []
    assert answer.note is not None and "no usable answer" in answer.note
    assert answer.meter.to_json()["writer"]["calls"] == 3  # first try + 2 retries
    empty = answer_question(vault, "How many tokens was Llama 2 trained on?",
                            FakeModel({"answer": []}))
    assert not empty.answered and "empty" in (empty.note or "")
    nothing = answer_question(vault, "zebra quokka", FakeModel({"answer": []}))
    assert nothing.passages == [] and "no page" in (nothing.note or "")
    for bad in ("  ?! ", "why " * 200):
        with pytest.raises(InputError):
            answer_question(vault, bad, FakeModel({"answer": []}))


def test_request_schema_bounds_refs_and_sentences() -> None:
    schema = request_schema(3)
    item = schema["properties"]["answer"]["items"]
    assert item["properties"]["refs"]["items"]["enum"] == [1, 2, 3]
    assert item["required"] == ["sentence", "refs"]


# -- --save -----------------------------------------------------------------------------------


def test_save_proposes_synthesis_page_and_approval_passes_check(root: Path) -> None:
    from veriwiki.services.proposals import list_proposals
    from veriwiki.services.review import approve

    vault = api.open_vault(root)
    before = _head(root)
    writer = FakeModel(reply(
        ("Llama 2 was trained on 2 trillion tokens.", ("context length", "2 trillion")),
        ("GPT-3 has 175 billion parameters.", "175 billion"),
        ("Llama 2 was trained on 5 trillion tokens.", "2 trillion"),
        ("Meta AI publishes open model weights.", "open model weights"),
    ))
    question = "How many tokens was Llama 2 trained on, how big is GPT-3, what does Meta publish?"
    answer = answer_question(vault, question, writer)
    assert [s.verified for s in answer.sentences] == [True, True, False, True]
    save_answer(vault, answer)
    proposal = answer.proposal
    assert proposal is not None and proposal.op == "ask"
    assert re.fullmatch(r"ask-how-many-tokens-was-llama-2-trained-on-[0-9a-f]{6}",
                        proposal.id), proposal.id
    assert _head(root) == before  # nothing committed on main
    assert [p.id for p in list_proposals(vault)] == [proposal.id]
    path = ("wiki/answers/How many tokens was Llama 2 trained on, how big is GPT-3, what "
            "does Meta publish.md")
    assert not (root / path).exists()
    text = subprocess.run(["git", "-C", str(root), "show", f"{proposal.commit}:{path}"],
                          check=True, capture_output=True, text=True).stdout
    assert "type: synthesis" in text and f"question: {question}" in text
    assert ('Llama 2 was trained on 2 trillion tokens [@llama2, "trained on 2 trillion '
            'tokens of data"] (see [[Llama 2]]).') in text
    assert "[@gpt3, " in text and "[[GPT-3]]" in text
    assert "context length" not in text  # cited by the model, but not needed: not re-cited
    assert "5 trillion" not in text  # unverified: left out of the page
    assert "Meta AI publishes" not in text  # rests on uncited prose: no source to re-cite
    dropped = {d["claim"]: d["reason"] for d in proposal.meta["dropped"]}
    assert dropped["Llama 2 was trained on 5 trillion tokens."].startswith("unverified")
    assert "no source quote" in dropped["Meta AI publishes open model weights."]

    approve(vault, proposal.id)
    assert (root / path).is_file()
    report = api.check_vault(vault)
    errors = [f for f in report.findings if f.severity.value == "error"]
    assert errors == []
    mine = [f.rule for f in report.findings if f.path == path]
    assert set(mine) <= {"orphan-page"}, mine
    assert list_proposals(vault) == []


def test_save_with_nothing_verified_makes_no_proposal(root: Path) -> None:
    vault = api.open_vault(root)
    answer = answer_question(vault, "How many tokens was Llama 2 trained on?", FakeModel(
        reply(("Llama 2 was trained on 9 trillion tokens.", "2 trillion"))))
    save_answer(vault, answer)
    assert answer.proposal is None and "nothing to save" in (answer.save_note or "")


def test_page_title_and_proposal_id_are_safe() -> None:
    assert page_title('What is "RoPE"? [see #3] a/b') == "What is RoPE see 3 a b"
    assert page_title("???") == "Answer"
    ident = proposal_id("Was ist Größe? " + "x" * 80, "page")
    assert re.fullmatch(r"ask-was-ist-groe-x{27}-[0-9a-f]{6}", ident), ident


# -- the CLI ------------------------------------------------------------------------------------


def _run_cli(monkeypatch: pytest.MonkeyPatch, root: Path, writer: FakeModel,
             *args: str) -> Any:
    from veriwiki.cli import ask_cmds
    from veriwiki.cli.main import cli

    monkeypatch.setattr(ask_cmds, "open_model", lambda state, role, override: writer)
    return CliRunner().invoke(cli, ["--vault", str(root), "ask", *args])


def test_cli_ask_json_shape(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = FakeModel(reply(("Llama 2 was trained on 2 trillion tokens.", "2 trillion"),
                             ("Llama 2 was trained on 3 trillion tokens.", "2 trillion")))
    result = _run_cli(monkeypatch, root, writer, "How many tokens was Llama 2 trained on?",
                      "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "answer", "sentences", "citations", "verification",
                         "retrieval", "usage", "model", "proposal"}
    assert data["model"] == "fake" and data["proposal"] is None
    assert data["verification"] == {"sentences": 2, "verified": 1}
    assert data["answer"] == ("Llama 2 was trained on 2 trillion tokens. "
                              "Llama 2 was trained on 3 trillion tokens.")
    first = data["sentences"][0]
    assert set(first) == {"text", "refs", "verified", "reasons", "citations"}
    cite = first["citations"][0]
    assert set(cite) >= {"ref", "page", "path", "line", "quote", "source_citations"}
    assert cite == data["citations"][0]
    assert (cite["page"], cite["path"], cite["line"]) == ("Llama 2", "wiki/Llama 2.md", 8)
    assert cite["source_citations"] == [{"source": "llama2", "locator": None,
                                         "quote": "trained on 2 trillion tokens of data"}]
    assert data["sentences"][1]["verified"] is False and data["sentences"][1]["reasons"]
    assert {r["via"] for r in data["retrieval"]} <= {"bm25", "embedding", "link"}
    assert data["retrieval"][0]["path"] == "wiki/Llama 2.md"
    assert data["usage"]["writer"]["calls"] == 1


def test_cli_ask_human_output_marks_unverified(root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    writer = FakeModel(reply(("Llama 2 was trained on 2 trillion tokens.", "2 trillion"),
                             ("Llama 2 was trained on 3 trillion tokens.", "2 trillion")))
    result = _run_cli(monkeypatch, root, writer, "How many tokens was Llama 2 trained on?")
    assert result.exit_code == 0, result.output
    ref = ref_of(writer.prompts[0], "2 trillion")
    assert f"Llama 2 was trained on 2 trillion tokens. [{ref}]" in result.stdout
    assert "[unverified] Llama 2 was trained on 3 trillion tokens." in result.stdout
    assert "1 of 2 sentences verified" in result.stdout
    assert f'[{ref}] wiki/Llama 2.md:8  "Llama 2 was trained on 2 trillion tokens."' \
        in result.stdout
    assert '@llama2: "trained on 2 trillion tokens of data"' in result.stdout
    assert "writer fake: 1 calls" in result.stderr


def test_cli_ask_save_and_no_answer_exit_codes(root: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    writer = FakeModel(reply(("Llama 2 was trained on 2 trillion tokens.", "2 trillion")))
    result = _run_cli(monkeypatch, root, writer, "How many tokens was Llama 2 trained on?",
                      "--save", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["proposal"]["id"].startswith("ask-how-many-tokens")
    again = _run_cli(monkeypatch, root, writer, "How many tokens was Llama 2 trained on?",
                     "--save", "--json")
    assert json.loads(again.stdout)["save_note"].startswith("already proposed")
    # an empty answer falls back to the wiki's own sentences (exit 0, labelled extracted)
    empty = _run_cli(monkeypatch, root, FakeModel({"answer": []}), "What about Llama 2?")
    assert empty.exit_code == 0
    assert "empty" in empty.stderr and "Extracted" in empty.stdout
    # nothing matches at all: no answer of either kind, exit 1
    none = _run_cli(monkeypatch, root, FakeModel({"answer": []}), "Zyzzogeton quuxification?")
    assert none.exit_code == 1
    assert "no page of the wiki matches" in none.stderr


def test_cli_ask_config_errors_exit_2(vw: Veriwiki, vault: Path) -> None:
    proc = vw("ask", "What is RoPE?", "--model", "no-such-model-xyz")
    assert proc.returncode == 2, describe(proc)
    assert "unknown model" in proc.stderr and "Traceback" not in proc.stderr
    proc = vw("ask", "What is RoPE?", "--embed-model", "no-such-embedder-xyz")
    assert proc.returncode == 2, describe(proc)
    assert "unknown embedding model" in proc.stderr


# -- the embedded model, end to end ------------------------------------------------------------


@pytest.mark.slow
def test_ask_embedded_smollm2_end_to_end(vw: Veriwiki, vault: Path, tmp_path: Path) -> None:
    import llama_cpp  # noqa: F401  (a dependency: missing means failure, not a skip)

    vw.timeout = 900  # CPU inference; a loaded 2-core machine is slow
    for name, text in (("llama2", LLAMA_SOURCE), ("gpt3", GPT3_SOURCE)):
        src = tmp_path / f"{name}.txt"
        src.write_text(text, encoding="utf-8")
        vw.ok("add", str(src), "--id", name)
    for name, text in PAGES.items():
        (vault / "wiki" / f"{name}.md").write_text(text, encoding="utf-8")
    _commit(vault, "pages")
    check = json.loads(vw("check", "--json").stdout)
    assert check["summary"]["error"] == 0, check

    start = time.perf_counter()
    proc = vw("ask", "How many parameters does GPT-3 have?", "--json")
    took = time.perf_counter() - start
    assert proc.returncode == 0, describe(proc)
    data = json.loads(proc.stdout)
    print(f"\nSmolLM2 ask took {took:.1f} s: {json.dumps(data['sentences'])[:800]}")
    assert data["model"] == "SmolLM2" and data["answered"] is True
    assert data["usage"]["writer"]["calls"] >= 1
    assert data["retrieval"] and data["retrieval"][0]["path"] == "wiki/GPT-3.md"
    assert {r["via"] for r in data["retrieval"]} <= {"bm25", "embedding", "link"}
    assert data["sentences"]
    assert data["verification"]["sentences"] == len(data["sentences"])
    assert data["verification"]["verified"] == sum(s["verified"] for s in data["sentences"])
    for s in data["sentences"]:
        assert s["verified"] == (s["reasons"] == [])
        if s["verified"]:
            assert s["citations"], s
    for cite in data["citations"]:  # every listed citation is a real passage of a page
        text = (vault / cite["path"]).read_text("utf-8")
        assert find_quote(reader_text(text), cite["quote"]) is not None, cite
        line = text.split("\n")[cite["line"] - 1]
        assert cite["quote"].split()[0] in line, cite
