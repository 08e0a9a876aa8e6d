"""Golden test: `veriwiki check --json` on the tricky_links vault.

The expected findings in tests/fixtures/tricky_links/expected.json were derived by
hand from docs/links.md and docs/checks.md, not from running the implementation;
each entry's "why" field says which rule of the spec it exercises.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "tricky_links"
REQUIRED_KEYS = {"rule", "severity", "path", "line", "message"}
DEFAULT_SEVERITY = {
    "broken-link": "error",
    "ambiguous-link": "error",
    "orphan-page": "warning",
    "duplicate-title": "warning",
    "missing-from-index": "warning",
}

Key = tuple[str, str, int]


def _veriwiki_executable() -> Path:
    exe = Path(sys.executable).parent / "veriwiki"
    if not exe.exists():
        pytest.fail(f"console script not found at {exe}; install the package (pip install -e .)")
    return exe


def _run_check(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    vault = tmp_path / "vault"
    shutil.copytree(FIXTURE, vault, ignore=shutil.ignore_patterns("expected.json"))
    proc = subprocess.run(
        [str(_veriwiki_executable()), "--vault", str(vault), "check", "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    try:
        payload = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(
            f"stdout is not JSON ({exc}); exit code {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return proc, payload


def _expected() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((FIXTURE / "expected.json").read_text("utf-8"))
    return data


def _key(finding: dict[str, Any]) -> Key:
    return (finding["rule"], finding["path"], finding["line"])


def _format(keys: Counter[Key], why: dict[Key, list[str]] | None = None) -> str:
    lines = []
    for key in sorted(keys):
        rule, path, line = key
        reasons = (why or {}).get(key) or [""]
        for i in range(keys[key]):
            reason = reasons[i] if i < len(reasons) else reasons[-1]
            suffix = f"  -- {reason}" if reason else ""
            lines.append(f"  {path}:{line}  {rule}{suffix}")
    return "\n".join(lines) or "  (none)"


def test_check_tricky_links_findings_match_golden(tmp_path: Path) -> None:
    proc, payload = _run_check(tmp_path)
    expected = _expected()
    actual = payload["findings"]

    want = Counter(_key(f) for f in expected)
    got = Counter(_key(f) for f in actual)
    missed = want - got
    invented = got - want
    why: dict[Key, list[str]] = {}
    for f in expected:
        why.setdefault(_key(f), []).append(f.get("why", ""))
    messages: dict[Key, list[str]] = {}
    for f in actual:
        messages.setdefault(_key(f), []).append(f.get("message", ""))

    assert not missed and not invented, (
        f"{len(missed)} expected finding(s) missed:\n{_format(missed, why)}\n"
        f"{len(invented)} finding(s) not expected:\n{_format(invented, messages)}"
    )
    assert proc.returncode == 1, f"exit code {proc.returncode}, stderr:\n{proc.stderr}"


def test_check_tricky_links_findings_have_required_keys(tmp_path: Path) -> None:
    _, payload = _run_check(tmp_path)
    findings = payload["findings"]

    assert findings, "expected findings on the tricky_links vault"
    incomplete = [
        (f, sorted(REQUIRED_KEYS - f.keys())) for f in findings if REQUIRED_KEYS - f.keys()
    ]
    assert not incomplete, f"findings missing keys: {incomplete}"
    for f in findings:
        assert isinstance(f["line"], int) and f["line"] >= 1, f
        assert isinstance(f["message"], str) and f["message"], f


def test_check_tricky_links_severities_are_defaults(tmp_path: Path) -> None:
    _, payload = _run_check(tmp_path)

    wrong = [
        (_key(f), f["severity"], DEFAULT_SEVERITY[f["rule"]])
        for f in payload["findings"]
        if f["rule"] in DEFAULT_SEVERITY and f["severity"] != DEFAULT_SEVERITY[f["rule"]]
    ]
    assert not wrong, f"(finding, got, want): {wrong}"
    assert payload["summary"]["pages"] == 16
