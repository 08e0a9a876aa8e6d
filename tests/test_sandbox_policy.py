"""Who decides how check blocks run, and which results are trusted.

- Without a working bubblewrap no block runs unless the user passes ``--trust``; the
  finding says what to do. Unavailability is simulated by pointing the policy at a
  missing or failing bwrap (a constructor parameter, not an environment switch).
- Derived state that git carries (a committed ``.veriwiki/``) is never used, and
  ``check --no-cache`` neither reads nor writes any cache.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import Git, Veriwiki, describe
from helpers_bad import veriwiki_exe
from veriwiki.adapters.isolation import BWRAP, REFUSED, UNISOLATED, SandboxPolicy, choose_isolation
from veriwiki.adapters.sandbox import NOT_RUN, Limits
from veriwiki.core.parse import parse_page
from veriwiki.services.check import check_vault
from veriwiki.services.code_checks import run_check_blocks
from veriwiki.vault import open_vault

FAST = Limits(timeout_seconds=5)
FAILING = "# A\n\n```python check\nassert 1 == 2, 'one is not two'\n```\n"


def _fake_bwrap(tmp_path: Path) -> Path:
    """A 'bwrap' that fails as bubblewrap does where user namespaces are disallowed."""
    path = tmp_path / "bwrap"
    path.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace, likely "
                    "because the kernel does not allow non-privileged user namespaces.' >&2\n"
                    "exit 1\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_policy_missing_bwrap_refuses(tmp_path: Path) -> None:
    iso = choose_isolation(SandboxPolicy(bwrap=str(tmp_path / "no-such-bwrap")))
    assert iso.mode == REFUSED and not iso.can_run
    assert "bubblewrap is not installed" in (iso.problem or "")
    trusted = choose_isolation(SandboxPolicy(trust=True, bwrap=str(tmp_path / "no-such-bwrap")))
    assert trusted.mode == UNISOLATED and trusted.can_run


def test_policy_bwrap_that_cannot_sandbox_refuses(tmp_path: Path) -> None:
    iso = choose_isolation(SandboxPolicy(bwrap=str(_fake_bwrap(tmp_path))))
    assert iso.mode == REFUSED
    assert "cannot create a sandbox" in (iso.problem or "")
    assert "user namespaces" in (iso.problem or "")


def test_policy_default_uses_bwrap() -> None:
    iso = choose_isolation(SandboxPolicy())
    assert iso.mode == BWRAP, f"bubblewrap must work on this machine: {iso.problem}"


def test_refused_blocks_do_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    page = parse_page("wiki/a.md", f"```python check\nopen({str(marker)!r}, 'w')\n```\n")
    iso = choose_isolation(SandboxPolicy(bwrap=str(tmp_path / "no-such-bwrap")))
    out = run_check_blocks(tmp_path, tmp_path / ".veriwiki", [page], [], FAST, isolation=iso)
    assert [o.result.status for o in out] == [NOT_RUN]
    assert not marker.exists()
    assert not (tmp_path / ".veriwiki" / "code-cache").exists()  # nothing cached


def _code_findings(vault: Path, policy: SandboxPolicy) -> list[Any]:
    v = open_vault(vault)
    v.sandbox = policy
    try:
        return check_vault(v, only=["code-failed"]).findings
    finally:
        v.close()


def test_refusal_is_a_finding_naming_what_to_do(vault: Path, tmp_path: Path) -> None:
    (vault / "wiki" / "A.md").write_text(FAILING, encoding="utf-8")
    missing = str(tmp_path / "no-such-bwrap")
    [f] = _code_findings(vault, SandboxPolicy(bwrap=missing))
    assert (f.path, f.line) == ("wiki/A.md", 3)
    assert f.message.startswith("check block not run: no sandbox on this machine")
    assert "bubblewrap" in (f.hint or "") and "--trust" in (f.hint or "")
    # trusted, the same block runs (unisolated) and its real failure is reported
    [f] = _code_findings(vault, SandboxPolicy(trust=True, bwrap=missing))
    assert "AssertionError: one is not two" in f.message
    # with bubblewrap, too
    [f] = _code_findings(vault, SandboxPolicy())
    assert "AssertionError: one is not two" in f.message


def test_cli_trust_flags_accepted(vw: Veriwiki, vault: Path) -> None:
    (vault / "wiki" / "A.md").write_text(FAILING, encoding="utf-8")
    for args in (["check", "--trust", "--json"], ["--trust", "check", "--json"]):
        proc = vw(*args)
        assert proc.returncode == 1, describe(proc)
        assert "one is not two" in proc.stdout
    proc = vw("status", "--trust", "--json")
    assert proc.returncode == 0, describe(proc)
    assert json.loads(proc.stdout)["findings"]["by_rule"].get("code-failed") == 1


def _hidden_bwrap(vw: Veriwiki, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a mount namespace where /usr/bin/bwrap is an empty file."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("hiding bubblewrap from the CLI needs root and unshare (CI has both)")
    cmd = shlex.join([str(veriwiki_exe()), "--vault", str(vw.vault), *args])
    return subprocess.run(["unshare", "--mount", "sh", "-c",
                           f"mount --bind /dev/null /usr/bin/bwrap && exec {cmd}"],
                          capture_output=True, text=True, env=vw.env, timeout=300)


def test_cli_without_bwrap_refuses_and_says_what_to_do(vw: Veriwiki, vault: Path) -> None:
    (vault / "wiki" / "A.md").write_text(FAILING, encoding="utf-8")
    proc = _hidden_bwrap(vw, "check", "--json", "--rule", "code-failed")
    assert proc.returncode == 1, describe(proc)
    [f] = json.loads(proc.stdout)["findings"]
    assert f["message"].startswith("check block not run: no sandbox on this machine")
    assert "1 python check block(s) not run" in proc.stderr
    assert "apt-get install bubblewrap" in proc.stderr and "--trust" in proc.stderr
    proc = _hidden_bwrap(vw, "check", "--trust", "--json", "--rule", "code-failed")
    assert proc.returncode == 1, describe(proc)
    [f] = json.loads(proc.stdout)["findings"]
    assert "AssertionError: one is not two" in f["message"]
    assert "not run" not in proc.stderr


# -- derived state from the repository ------------------------------------------------------


def _forge_code_cache(vault: Path) -> int:
    """Turn every cached block result into a pass; return how many were forged."""
    n = 0
    for path in (vault / ".veriwiki" / "code-cache").rglob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        data["result"].update(status="ok", exc_type=None, exc_message=None, line=None,
                              traceback=[])
        path.write_text(json.dumps(data), encoding="utf-8")
        n += 1
    return n


def _failed(vw: Veriwiki, *args: str, vault: Path | None = None) -> tuple[list[str], str]:
    proc = vw("check", "--json", "--rule", "code-failed", *args, vault=vault)
    assert proc.returncode in (0, 1), describe(proc)
    return [f["message"] for f in json.loads(proc.stdout)["findings"]], proc.stderr


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_committed_cache_is_ignored_in_a_clone(vw: Veriwiki, vault: Path, git: Git,
                                               tmp_path: Path) -> None:
    (vault / "wiki" / "A.md").write_text(FAILING, encoding="utf-8")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "a failing block")
    assert len(_failed(vw)[0]) == 1
    assert _forge_code_cache(vault) == 1
    assert _failed(vw)[0] == []  # the forged entry turns the block green locally
    git(vault, "add", "-f", ".veriwiki")
    git(vault, "commit", "-qm", "commit the caches")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(vault), str(clone))
    committed = _tree(clone / ".veriwiki")
    found, stderr = _failed(vw, vault=clone)
    assert len(found) == 1 and "one is not two" in found[0], found
    assert ".veriwiki/ is tracked by git" in stderr
    assert "git rm -r --cached .veriwiki" in stderr
    assert _tree(clone / ".veriwiki") == committed  # the tracked files are left alone
    assert git.status(clone) == set()
    # half the fix: untracked, but the forged folder still in the work tree
    git(clone, "rm", "-rq", "--cached", ".veriwiki")
    git(clone, "commit", "-qm", "stop tracking the caches")
    found, stderr = _failed(vw, vault=clone)
    assert len(found) == 1 and "one is not two" in found[0], found
    assert "was tracked by git earlier" in stderr
    forged = [p for p in (clone / ".veriwiki").rglob("*.json")
              if json.loads(p.read_bytes()).get("result", {}).get("status") == "ok"]
    assert forged == []
    found, stderr = _failed(vw, vault=clone)
    assert len(found) == 1 and stderr == ""


def test_no_cache_reads_and_writes_no_cache(vw: Veriwiki, vault: Path, tmp_path: Path) -> None:
    (vault / "wiki" / "A.md").write_text(FAILING, encoding="utf-8")
    assert len(_failed(vw)[0]) == 1
    assert _forge_code_cache(vault) == 1
    before = _tree(vault / ".veriwiki")
    mtimes = {p: p.stat().st_mtime_ns for p in (vault / ".veriwiki").rglob("*")}
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir()
    found, _ = _failed(Veriwiki({**vw.env, "TMPDIR": str(private_tmp)}, vault), "--no-cache")
    assert len(found) == 1 and "one is not two" in found[0], found
    assert _tree(vault / ".veriwiki") == before
    assert {p: p.stat().st_mtime_ns for p in (vault / ".veriwiki").rglob("*")} == mtimes
    assert [p.name for p in private_tmp.iterdir()
            if p.name.startswith("veriwiki-no-cache-")] == []  # the private folder is gone
