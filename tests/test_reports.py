"""Reports and CI: ``check --changed``, ``check --junit``, the pre-commit hook and the
GitHub workflow's shell steps, end to end on real git histories with the real CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Git, Veriwiki, describe
from veriwiki.adapters.report_junit import junit_xml
from veriwiki.core.model import Finding, Severity

Put = Callable[[Path, str, str], Path]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "ci"
SOURCE = "# Notes\n\nThe model uses 8 attention heads.\nIt was trained on 300 billion tokens.\n"
GOOD = "# {t}\n\nIt has 8 heads [@notes, \"uses 8 attention heads\"]. See [[Hub]].\n"
BAD = "# {t}\n\nIt has 8 heads [@notes, \"uses eight attention heads\"]. See [[Hub]].\n"
HUB = "# Hub\n\n[[Clean]] [[Broken]] [[Cites]]\n"


def _paths(findings: list[dict[str, Any]], severity: str = "error") -> set[str]:
    return {f["path"] for f in findings if f["severity"] == severity}


@pytest.fixture
def history(vw: Veriwiki, vault: Path, put: Put, git: Git, tmp_path: Path) -> Path:
    """base: Clean (ok), Broken (misquote), Cites (cites 'other'); then commits on top."""
    vw.ok("add", str(put(tmp_path, "in/notes.md", SOURCE)), "--id", "notes")
    other = put(tmp_path, "in/other.md", "# Other\n\nContext is 2048 tokens.\n")
    vw.ok("add", str(other), "--id", "other")
    put(vault, "wiki/Hub.md", HUB)
    put(vault, "wiki/Clean.md", GOOD.format(t="Clean"))
    put(vault, "wiki/Broken.md", BAD.format(t="Broken"))
    put(vault, "wiki/Cites.md", "# Cites\n\nIt has 2K context [@other, \"Context is 2048 tokens\"]."
        " See [[Hub]].\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "base")
    git(vault, "tag", "base")
    # after base: Clean gets a misquote (committed), 'other' gets a new version
    put(vault, "wiki/Clean.md", BAD.format(t="Clean"))
    git(vault, "commit", "-qam", "break Clean")
    other.write_text("# Other\n\nContext is 4096 tokens.\n", encoding="utf-8")
    vw.ok("add", str(other), "--id", "other")
    return vault


def test_check_changed_since_rev_reports_changed_pages_and_cited_sources(
        vw: Veriwiki, history: Path) -> None:
    proc = vw("check", "--changed", "base", "--json")
    assert proc.returncode == 1, describe(proc)
    findings = json.loads(proc.stdout)["findings"]
    errors = _paths(findings)
    assert "wiki/Clean.md" in errors            # changed since base
    assert "wiki/Cites.md" in errors            # cites a source changed since base
    assert "wiki/Broken.md" not in {f["path"] for f in findings}   # unchanged, errors hidden
    assert {f["rule"] for f in findings if f["path"] == "wiki/Cites.md"} == {"stale-claim"}
    full = json.loads(vw("check", "--json").stdout)["findings"]
    assert "wiki/Broken.md" in _paths(full)


def test_check_changed_default_is_uncommitted_changes(vw: Veriwiki, history: Path,
                                                      put: Put) -> None:
    proc = vw("check", "--changed", "--json")
    assert proc.returncode == 0, describe(proc)      # everything is committed
    assert json.loads(proc.stdout)["findings"] == []
    put(history, "wiki/Later.md", BAD.format(t="Later"))       # untracked
    put(history, "wiki/Hub.md", HUB + "\nEdited.\n")            # unstaged edit, no errors
    proc = vw("check", "--changed", "--json")
    assert proc.returncode == 1, describe(proc)
    data = json.loads(proc.stdout)
    assert _paths(data["findings"]) == {"wiki/Later.md"}
    assert data["summary"]["pages"] == 2


def test_check_changed_only_warnings_exit_zero(vw: Veriwiki, history: Path, put: Put) -> None:
    put(history, "wiki/Lonely.md", "# Lonely\n\nNo links here.\n")
    proc = vw("check", "--changed", "--json")
    assert proc.returncode == 0, describe(proc)
    findings = json.loads(proc.stdout)["findings"]
    assert {f["path"] for f in findings} == {"wiki/Lonely.md"}
    assert "orphan-page" in {f["rule"] for f in findings}
    assert {f["severity"] for f in findings} == {"warning"}


def test_check_changed_unknown_rev_is_an_input_error(vw: Veriwiki, history: Path) -> None:
    proc = vw("check", "--changed", "no-such-branch")
    assert proc.returncode == 2 and "unknown revision 'no-such-branch'" in proc.stderr, \
        describe(proc)


def test_check_junit_has_a_testcase_per_page_and_failures_per_error(
        vw: Veriwiki, history: Path, tmp_path: Path) -> None:
    report = tmp_path / "out" / "report.xml"
    report.parent.mkdir()
    proc = vw("check", "--junit", str(report))
    assert proc.returncode == 1, describe(proc)
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert {"wiki/Clean.md", "wiki/Broken.md", "wiki/Cites.md", "wiki/Hub.md"} <= set(cases)
    fails = {name: [f.get("type") for f in c.findall("failure")] for name, c in cases.items()}
    assert fails["wiki/Broken.md"] == ["quote-not-found"]
    assert fails["wiki/Cites.md"] == ["stale-claim"]
    assert fails["wiki/Hub.md"] == []
    total = sum(len(v) for v in fails.values())
    assert root.get("failures") == str(total)
    summary = json.loads(vw("check", "--json").stdout)["summary"]
    assert total == summary["error"]


def test_check_junit_with_changed_lists_only_pages_in_scope(vw: Veriwiki, history: Path,
                                                           tmp_path: Path) -> None:
    report = tmp_path / "r.xml"
    proc = vw("check", "--changed", "base", "--junit", str(report))
    assert proc.returncode == 1, describe(proc)
    names = {c.get("name") for c in ET.parse(report).getroot().iter("testcase")}
    assert "wiki/Broken.md" not in names
    assert {"wiki/Clean.md", "wiki/Cites.md"} <= names


def test_junit_xml_escapes_markup_and_control_characters() -> None:
    findings = [
        Finding("quote-not-found", Severity.ERROR, "wiki/A&B.md", 3,
                'quote "<b>x</b>" & \x0c page break', hint="use ]]> carefully"),
        Finding("orphan-page", Severity.WARNING, "wiki/A&B.md", 1, "no <links>"),
    ]
    data = junit_xml(findings, ["wiki/A&B.md", "wiki/C.md"])
    root = ET.fromstring(data)
    case = next(c for c in root.iter("testcase") if c.get("name") == "wiki/A&B.md")
    failure = case.find("failure")
    assert failure is not None and "<b>x</b>" in (failure.get("message") or "")
    assert "]]>" in (failure.text or "") and "\ufffd" in (failure.text or "")
    out = case.find("system-out")
    assert out is not None and "no <links>" in (out.text or "")
    assert root.get("tests") == "2" and root.get("failures") == "1"


# -- the pre-commit hook -------------------------------------------------------------------


def _bin_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the veriwiki console script on PATH (as after pip install)."""
    return dict(env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")


def test_pre_commit_hook_refuses_an_error_and_accepts_a_fix(
        vw: Veriwiki, history: Path, put: Put, git: Git) -> None:
    hook = history / ".git" / "hooks" / "pre-commit"
    shutil.copy(DOCS / "pre-commit", hook)
    hook.chmod(0o755)
    env = _bin_env(vw.env)
    before = git.head(history)
    put(history, "wiki/Later.md", BAD.format(t="Later"))
    subprocess.run(["git", "-C", str(history), "add", "wiki/Later.md"], check=True, env=env)
    refused = subprocess.run(["git", "-C", str(history), "commit", "-m", "add Later"],
                             capture_output=True, text=True, env=env, cwd=history)
    assert refused.returncode != 0, refused
    # git sends a hook's standard output to standard error
    assert "quote-not-found" in refused.stderr and "commit refused" in refused.stderr
    assert git.head(history) == before
    put(history, "wiki/Later.md", GOOD.format(t="Later"))
    subprocess.run(["git", "-C", str(history), "add", "wiki/Later.md"], check=True, env=env)
    accepted = subprocess.run(["git", "-C", str(history), "commit", "-m", "add Later"],
                              capture_output=True, text=True, env=env, cwd=history)
    assert accepted.returncode == 0, accepted
    assert git.subjects(history)[0] == "add Later"
    # Broken.md still has an error, but the commit did not touch it: not our business


def test_pre_commit_hook_files_parse_and_run_the_same_command() -> None:
    hooks = yaml.safe_load((DOCS / "pre-commit-hooks.yaml").read_text("utf-8"))
    config = yaml.safe_load((DOCS / "pre-commit-config.yaml").read_text("utf-8"))
    local = config["repos"][0]["hooks"][0]
    assert hooks[0]["entry"] == local["entry"] == "veriwiki check --changed HEAD"
    assert hooks[0]["pass_filenames"] is False and local["language"] == "system"
    assert "veriwiki check --changed HEAD" in (DOCS / "pre-commit").read_text("utf-8")


# -- the GitHub workflow -------------------------------------------------------------------


def _workflow() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCS / "github-workflow.yml").read_text("utf-8"))
    return data


def test_workflow_yaml_parses_and_has_the_ci_steps() -> None:
    wf = _workflow()
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert set(triggers) == {"push", "pull_request"}
    steps = wf["jobs"]["check"]["steps"]
    checkout = steps[0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert checkout["with"]["fetch-depth"] == 0
    assert steps[1]["with"]["python-version"] == "3.11"
    runs = [s.get("run", "") for s in steps]
    assert any("pip install" in r for r in runs)
    assert any(r.startswith("veriwiki check --junit veriwiki.xml") for r in runs)
    pr = next(s for s in steps if "--changed" in s.get("run", ""))
    assert pr["if"] == "github.event_name == 'pull_request'"
    assert pr["env"]["BASE_REF"] == "${{ github.base_ref }}"
    upload = steps[-1]
    assert upload["uses"].startswith("actions/upload-artifact@")
    assert upload["with"]["path"] == "veriwiki.xml" and upload["if"] == "always()"


def _run_step(step: dict[str, Any], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a workflow step's shell script as the runner would (bash -e), with its env."""
    step_env = dict(env, **{k: str(v) for k, v in (step.get("env") or {}).items()})
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, env=step_env,
                          capture_output=True, text=True, timeout=120)


def test_workflow_steps_run_on_a_pull_request_clone(vw: Veriwiki, history: Path, git: Git,
                                                   put: Put, tmp_path: Path) -> None:
    # origin: trunk is the base branch; the clone's PR branch breaks one more page
    git(history, "branch", "trunk", "base")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(history), str(origin))
    work = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(work))
    git(work, "checkout", "-q", "-b", "pr", "origin/trunk")
    put(work, "wiki/Hub.md", HUB + "\nBad [@notes, \"not in the notes at all\"].\n")
    git(work, "commit", "-qam", "pr change")
    env = _bin_env(vw.env)
    env.pop("VERIWIKI_VAULT", None)
    steps = _workflow()["jobs"]["check"]["steps"]
    pr = next(s for s in steps if "--changed" in s.get("run", ""))
    step_env = {**pr, "env": {"BASE_REF": "trunk"}}  # what ${{ github.base_ref }} becomes
    proc = _run_step(step_env, work, env)
    assert proc.returncode == 1, proc
    names = {c.get("name"): c for c in ET.parse(work / "veriwiki.xml").getroot().iter("testcase")}
    assert set(names) == {"wiki/Hub.md"}
    assert [f.get("type") for f in names["wiki/Hub.md"].findall("failure")] == ["quote-not-found"]
    # the push step checks everything: Broken.md's old error shows up again
    full = next(s for s in steps if s.get("run", "").startswith("veriwiki check --junit"))
    proc = _run_step(full, work, env)
    assert proc.returncode == 1, proc
    root = ET.parse(work / "veriwiki.xml").getroot()
    failed = {c.get("name") for c in root.iter("testcase") if c.find("failure") is not None}
    assert {"wiki/Broken.md", "wiki/Hub.md"} <= failed


def test_ci_docs_show_the_files_as_shipped() -> None:
    doc = (DOCS.parent / "ci.md").read_text("utf-8")
    workflow = (DOCS / "github-workflow.yml").read_text("utf-8").split("\n", 2)[2]
    assert workflow.strip() in doc
    for name in ("pre-commit-hooks.yaml", "pre-commit-config.yaml"):
        body = "\n".join(line for line in (DOCS / name).read_text("utf-8").splitlines()
                         if not line.startswith("#"))
        assert body.strip() in doc, name


def test_check_changed_outside_git_is_refused(vw: Veriwiki, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    (plain / "wiki").mkdir(parents=True)
    (plain / "veriwiki.toml").write_text('[vault]\nname = "x"\n', encoding="utf-8")
    proc = vw("check", "--changed", vault=plain)
    assert proc.returncode == 2 and "needs a git repository" in proc.stderr, describe(proc)


def test_change_scope_data_change_selects_pages_that_read_facts(history: Path, put: Put) -> None:
    from veriwiki.core.parse import parse_page
    from veriwiki.services.changed import change_scope
    from veriwiki.vault import open_vault

    reader = parse_page("wiki/Reader.md", "# R\n\n```python check\nprint(1)\n```\n")
    plain = parse_page("wiki/Plain.md", "# P\n\nNothing computed.\n")
    vault = open_vault(history)
    try:
        assert change_scope(vault, [reader, plain]).pages == frozenset()
        put(history, "data/models.csv", "entity,attribute,value\nA,b,1\n")
        scope = change_scope(vault, [reader, plain])
        assert scope.pages == {"wiki/Reader.md"} and "data/models.csv" in scope.files
        put(history, "veriwiki.toml", (history / "veriwiki.toml").read_text("utf-8") + "\n")
        assert change_scope(vault, [reader, plain]).pages == {"wiki/Reader.md", "wiki/Plain.md"}
    finally:
        vault.close()
