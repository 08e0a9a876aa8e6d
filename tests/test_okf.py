"""OKF v0.2 export and import: a conformant bundle whose source entries carry the exact
excerpt and veriwiki's verdict, and a round trip into a fresh vault that gives the same
pages, the same claims and the same verdicts."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from conftest import Veriwiki
from golden import fixture_vault, run_cli
from helpers_bad import GIT_IDENTITY

FIXTURE = Path(__file__).parent / "fixtures" / "citations"


def _json(args: list[str], vault: Path, code: int = 0) -> Any:
    proc = run_cli([*args, "--json"], vault)
    assert proc.returncode == code, proc.stderr + proc.stdout
    return json.loads(proc.stdout)


def _front(text: str) -> tuple[dict[str, Any], str]:
    assert text.startswith("---\n"), text[:80]
    head, _, body = text[4:].partition("\n---\n")
    data = yaml.safe_load(head)
    assert isinstance(data, dict)
    return data, body


def _findings(vault: Path) -> list[tuple[str, str, int, str]]:
    report = _json(["check"], vault, code=1)
    return sorted((f["rule"], f["path"], f["line"], f["message"]) for f in report["findings"])


def test_okf_export_is_conformant_and_carries_excerpts_and_verdicts(tmp_path: Path) -> None:
    vault = fixture_vault(FIXTURE, tmp_path / "vault")
    before = _findings(vault)
    out = tmp_path / "bundle"
    result = _json(["export", "okf", "--out", str(out)], vault)
    assert result["pages"] == 2 and result["sources"] == 2 and result["claims"] > 0

    index, _ = _front((out / "index.md").read_text())
    assert index == {"okf_version": "0.2"}
    assert re.search(r"^## \d{4}-\d{2}-\d{2}$", (out / "log.md").read_text(), re.M)
    concepts = [p for p in out.rglob("*.md") if p.name not in ("index.md", "log.md")]
    assert len(concepts) == 4
    refuted_lines = {(path, line) for rule, path, line, _ in before}
    seen_refuted = seen_verified = 0
    for concept in concepts:
        data, body = _front(concept.read_text())
        assert isinstance(data.get("type"), str) and data["type"]  # §11: non-empty type
        if data["type"] == "Source":
            raw = out / data["resource"].lstrip("/")
            assert raw.is_file()
            continue
        entries = data.get("sources") or []
        assert entries, concept
        for entry in entries:
            if entry["id"].rsplit("-", 1)[0] in ("gpt2", "llama2"):
                assert (out / entry["resource"].lstrip("/")).is_file()
            else:  # a planted citation of a source the vault does not have
                assert "not in the vault" in entry["resource"]
                assert "unknown-source" in entry["verdict"]
            assert entry["verified_by"].startswith("veriwiki/")
            assert f"[^{entry['id']}]" in body  # footnote keyed to the entry (§5.1)
            assert entry["excerpt"] and entry["excerpt"] in body
            if entry["verdict"] == "verified":
                seen_verified += 1
            else:
                assert entry["verdict"].startswith(("refuted: ", "warning: "))
                seen_refuted += 1
        all_ok = all(e["verdict"] == "verified" for e in entries)
        assert ("verified" in data) == all_ok
        if all_ok:
            assert data["verified"][0]["by"].startswith("veriwiki/")
    assert seen_verified and seen_refuted and refuted_lines


def test_okf_round_trip_gives_the_same_claims_and_verdicts(tmp_path: Path, vw: Veriwiki,
                                                            vault: Path) -> None:
    source = fixture_vault(FIXTURE, tmp_path / "vault")
    before = _findings(source)
    out = tmp_path / "bundle"
    _json(["export", "okf", "--out", str(out)], source)

    made = _json(["import", "okf", str(out)], vault)
    assert sorted(made["sources"]) == ["gpt2:v1", "llama2:v1"]
    assert sorted(made["pages"]) == ["wiki/GPT-2.md", "wiki/Llama 2.md"]
    assert (vault / "wiki" / "GPT-2.md").exists() is False  # proposed, not on main
    vw.ok("review", "approve", made["proposal_id"], "--force")
    for rel in ("wiki/GPT-2.md", "wiki/Llama 2.md"):
        assert (vault / rel).read_text() == (source / rel).read_text(), rel
    # orphan-page is about the vault's link graph (the fixture's hand-written index.md
    # links its pages; a fresh vault's does not), not about the pages' claims
    after = [f for f in _findings(vault) if f[0] != "orphan-page"]
    assert after == [f for f in before if f[0] != "orphan-page"]
    assert {f[0] for f in after} >= {"quote-not-found", "number-mismatch", "unknown-source"}
    again = _json(["export", "okf", "--out", str(tmp_path / "bundle2")], vault)
    for concept in out.rglob("*.md"):
        rel = concept.relative_to(out)
        if rel.name in ("index.md", "log.md"):
            continue
        first, _ = _front(concept.read_text())
        second, _ = _front((tmp_path / "bundle2" / rel).read_text())
        assert [e.get("verdict") for e in first.get("sources") or []] == \
               [e.get("verdict") for e in second.get("sources") or []], rel
    assert again["claims"] > 0


def test_okf_import_refuses_what_is_not_a_bundle(tmp_path: Path, vw: Veriwiki,
                                                 vault: Path) -> None:
    bad = tmp_path / "bad"
    (bad / "notes").mkdir(parents=True)
    (bad / "notes" / "broken.md").write_text("---\ntype: [unclosed\n---\nbody\n")
    proc = vw("import", "okf", str(bad))
    assert proc.returncode == 2 and "broken.md" in proc.stderr
    assert vw("import", "okf", str(tmp_path / "missing")).returncode == 2


def test_okf_import_of_a_foreign_concept_keeps_its_fields(tmp_path: Path, vw: Veriwiki,
                                                          vault: Path) -> None:
    bundle = tmp_path / "foreign"
    (bundle / "metrics").mkdir(parents=True)
    (bundle / "metrics" / "revenue.md").write_text(
        "---\ntype: Metric\ntitle: Revenue\ndescription: Recognized revenue.\n"
        "owner: finance\nverified: {by: human:someone, at: 2026-06-25T09:00:00Z}\n---\n\n"
        "# Definition\n\nRevenue sums amounts.[^policy]\n\n[^policy]: Revenue policy\n")
    made = _json(["import", "okf", str(bundle)], vault)
    assert made["pages"] == ["wiki/metrics/revenue.md"]
    shown = _json(["review", "show", made["proposal_id"]], vault)
    assert "owner: finance" in shown["diff"] and "summary: Recognized revenue." in shown["diff"]
    assert "human:someone" not in shown["diff"]  # a bundle's trust claims are not ours


PAPERS = Path(__file__).parent / "fixtures" / "papers"
TODAY = {"VERIWIKI_TODAY": "2026-11-23"}


def test_okf_round_trip_of_the_five_paper_fixture(tmp_path: Path) -> None:
    """Pages, two versions of a source, the fact table and the check blocks all come
    back: the same findings, rule by rule and line by line."""
    source = fixture_vault(PAPERS, tmp_path / "papers", **TODAY)
    proc = run_cli(["add", str(PAPERS / "sources-v2" / "deepseek-v2.md")], source, **TODAY)
    assert proc.returncode == 0, proc.stderr
    before = json.loads(run_cli(["check", "--json"], source, **TODAY).stdout)["findings"]
    out = tmp_path / "bundle"
    assert run_cli(["export", "okf", "--out", str(out)], source, **TODAY).returncode == 0
    assert (out / "references" / "data" / "facts.csv").is_file()
    assert (out / "references" / "raw" / "deepseek-v2" / "v2").is_dir()

    fresh = tmp_path / "fresh"
    assert run_cli(["init", str(fresh)], tmp_path, **TODAY).returncode == 0
    config = fresh / "veriwiki.toml"
    config.write_text((PAPERS / "veriwiki.toml").read_text())
    subprocess.run(["git", "-C", str(fresh), "commit", "-qam", "settings"], check=True,
                   env=dict(os.environ, **GIT_IDENTITY))
    made = json.loads(run_cli(["import", "okf", str(out), "--json"], fresh, **TODAY).stdout)
    assert "deepseek-v2:v2" in made["sources"] and "data/facts.csv" in made["pages"]
    proc = run_cli(["review", "approve", made["proposal_id"], "--force"], fresh, **TODAY)
    assert proc.returncode == 0, proc.stderr
    after = json.loads(run_cli(["check", "--json"], fresh, **TODAY).stdout)["findings"]
    key = [(f["rule"], f["path"], f["line"], f["message"]) for f in before]
    assert sorted(key) == sorted((f["rule"], f["path"], f["line"], f["message"])
                                 for f in after)
    assert len(before) >= 5
