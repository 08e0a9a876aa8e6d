"""The quality bench harness scores what it should (fake models: an oracle and a liar)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from veriwiki.ai.fake import FakeModel

BENCH = Path(__file__).parent.parent / "bench"
sys.path.insert(0, str(BENCH))
import run_quality  # noqa: E402

LABELS = yaml.safe_load((BENCH / "quality" / "labels.yaml").read_text())


def test_matching_rules() -> None:
    assert run_quality.overlaps("The model uses a context length of 4,096 tokens.",
                                "uses a context length of 4,096 tokens")
    assert not run_quality.overlaps("Orca-7 has 7.2 billion parameters.",
                                    "The context length is 4,096 tokens.")
    assert run_quality.entity_matches("Orca 7", "Orca-7", ["Orca 7"])
    assert not run_quality.entity_matches("Heliograph", "Orca-7", ["Orca 7"])


def oracle(prompt: str) -> dict[str, Any]:
    """A perfect writer: the labelled claims whose quotes are in this passage."""
    claims = []
    for source in LABELS["sources"]:
        for c in source["claims"]:
            if " ".join(c["quote"].split()) in " ".join(prompt.split()):
                claims.append({"entity": c["entity"], "kind": "other", "claim": c["claim"],
                               "quote": c["quote"]})
    return {"claims": claims[:6]}


@pytest.fixture
def git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for kind in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{kind}_NAME", "t")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "t@example.invalid")


def test_oracle_scores_high_and_liar_scores_zero(git_identity: None) -> None:
    good = run_quality.run(FakeModel(oracle), 2, "passage")
    s = good["summary"]
    assert s["sources"] == 2 and s["verified_share"] > 0.8 and s["recall"] > 0.6
    assert all(r["approved"] for r in good["sources"])
    liar = FakeModel({"claims": [{"entity": "Orca-7", "kind": "product",
                                  "claim": "Orca-7 has 900 billion parameters.",
                                  "quote": "Orca-7 has 900 billion parameters."}]})
    bad = run_quality.run(liar, 2, "passage")
    assert bad["summary"]["recall"] == 0.0 and bad["summary"]["verified"] == 0
    assert "| orca-7-paper |" in run_quality.table(good)


def test_extractive_mode_meets_the_target_without_the_model(git_identity: None) -> None:
    """The deterministic pipeline alone: recall ≥ 60%, everything written verifies, and the
    final check finds no citation or fact error (docs/benchmarks.md, issue 11)."""
    silent = FakeModel("never asked")
    report = run_quality.run(silent, None, "auto", "extractive")
    s = report["summary"]
    assert silent.prompts == [] and report["mode"] == "extractive"
    assert s["recall"] >= 0.6 and s["verified_share"] == 1.0, s
    assert report["check"]["claim_errors"] == 0, report["check"]
    assert all(r["approved"] for r in report["sources"])
