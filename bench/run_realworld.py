"""Real-text verification bench: recall and false findings per issue-10 category.

``python bench/run_realworld.py`` builds the vault of tests/fixtures/realworld (markdown
model cards with markup, an HTML article with TeX math, a four-page two-column PDF with
running titles and footnotes made with reportlab), runs ``veriwiki check --json`` and
scores every cited sentence listed in its labels.yaml:

* a planted error is *found* when its rule reports its line;
* a correct claim (label ``none``) gets a *false finding* when any citation rule
  reports its line.

Prints a markdown table per category and writes bench/out/realworld.json. ``--src DIR``
runs the check with another checkout's ``src`` first on the path (to compare with an
older version of the checker).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "realworld"
sys.path.insert(0, str(ROOT / "tests"))
from helpers_paper import make_paper_pdf  # noqa: E402

CITATION_RULES = {"quote-not-found", "number-mismatch", "unit-mismatch", "quote-too-short",
                  "locator-mismatch", "fact-contradiction", "stale-claim", "unknown-source"}
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}


def _run(args: list[str], vault: Path, src: Path | None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **GIT_ENV)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    code = "import sys; from veriwiki.cli.main import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "--vault", str(vault), *args],
                          capture_output=True, text=True, env=env, check=False)


def build_vault(where: Path, src: Path | None) -> Path:
    """The fixture as a committed vault with its sources (and the PDF) added."""
    vault = where / "vault"
    shutil.copytree(FIXTURE, vault, ignore=shutil.ignore_patterns(
        "expected.json", "sources", "README.md", "labels.yaml"))
    sources = where / "sources"
    shutil.copytree(FIXTURE / "sources", sources)
    (sources / "sparse-paper.pdf").write_bytes(make_paper_pdf())
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(vault), "commit", "-qm", "fixture"], check=True,
                   env=dict(os.environ, **GIT_ENV))
    for path in sorted(sources.iterdir()):
        proc = _run(["add", str(path)], vault, src)
        if proc.returncode != 0:
            raise SystemExit(f"add {path.name} failed: {proc.stderr}")
    return vault


def score(findings: list[dict[str, object]], labels: dict[str, dict[int, list[str]]]
          ) -> dict[str, dict[str, int]]:
    """Per category: planted, found, correct, false (findings on correct claims)."""
    at: dict[tuple[str, int], set[str]] = defaultdict(set)
    for f in findings:
        if f["rule"] in CITATION_RULES:
            at[(str(f["path"]), int(str(f["line"])))].add(str(f["rule"]))
    table: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
        ("planted", "found", "correct", "false"), 0))
    for page, lines in labels.items():
        for line, (category, rule) in lines.items():
            got = at.get((f"wiki/{page}", int(line)), set())
            row = table[category]
            if rule == "none":
                row["correct"] += 1
                row["false"] += bool(got)
            else:
                row["planted"] += 1
                row["found"] += rule in got
    return dict(table)


def _pct(a: int, b: int) -> str:
    return "—" if b == 0 else f"{100 * a / b:.0f}% ({a}/{b})"


def main(argv: list[str] | None = None) -> int:
    """Build, check, score, report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=None,
                    help="a checkout's src/ to run instead of the installed veriwiki")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args(argv)
    labels = yaml.safe_load((FIXTURE / "labels.yaml").read_text("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        vault = build_vault(Path(tmp), args.src)
        start = time.perf_counter()
        proc = _run(["check", "--json"], vault, args.src)
        seconds = time.perf_counter() - start
        if proc.returncode == 2:
            raise SystemExit(f"check failed: {proc.stderr}")
        findings = json.loads(proc.stdout)["findings"]
    table = score(findings, labels)
    print("| category | planted errors found (recall) | false findings on correct claims |")
    print("| --- | --- | --- |")
    totals = dict.fromkeys(("planted", "found", "correct", "false"), 0)
    for category in sorted(table):
        row = table[category]
        for key in totals:
            totals[key] += row[key]
        print(f"| {category} | {_pct(row['found'], row['planted'])} | "
              f"{_pct(row['false'], row['correct'])} |")
    print(f"| **all** | {_pct(totals['found'], totals['planted'])} | "
          f"{_pct(totals['false'], totals['correct'])} |")
    print(f"\ncheck: {seconds:.2f} s; {platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "realworld.json").write_text(json.dumps(
        {"categories": table, "totals": totals, "seconds": round(seconds, 2),
         "src": str(args.src) if args.src else None}, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
