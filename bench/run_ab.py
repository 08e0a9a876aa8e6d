"""A/B: the same commands from two source trees on the same vault, alternating.

For a refactor that must not cost speed (issue 12), absolute times on a shared machine
say little; running the old and the new code in turns, on the same generated vault, in
the same minutes, compares them under the same load. Each round runs, for each tree:
a cold ``check`` (derived state deleted), a warm ``check`` after a one-page edit, and
``search`` (one process per query, start-up included).

    git worktree add /tmp/old <commit>
    python bench/run_ab.py --old /tmp/old/src --new src --pages 2000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen_claims  # noqa: E402

QUERIES = ["attention heads", "context window", "training tokens", "layers", "source 3"]


def _entry(src: Path) -> str:
    """The module holding the CLI's ``main`` in that tree (it moved in issue 12)."""
    if (src / "veriwiki" / "cli" / "main.py").is_file():
        return "veriwiki.cli.main"
    return "veriwiki.adapters.cli.main"


def _run(src: Path, vault: Path, *args: str) -> float:
    """Seconds one CLI process from tree ``src`` takes (exit 0 or 1 expected)."""
    code = (f"import sys; sys.path.insert(0, {str(src)!r}); "
            f"sys.argv = ['veriwiki', *{list(args)!r}]; "
            f"from {_entry(src)} import main; main()")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=vault, capture_output=True,
                          text=True, timeout=3600)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{src}: veriwiki {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return took


def _round(src: Path, vault: Path, n: int) -> dict[str, float]:
    shutil.rmtree(vault / ".veriwiki", ignore_errors=True)
    cold = _run(src, vault, "check", "--json")
    page = vault / "wiki" / "Page 0.md"
    with page.open("a", encoding="utf-8") as fh:
        fh.write(f"Round {n} adds a claim about 7 layers [@src0, \"Technical report 0\"].\n")
    warm = _run(src, vault, "check", "--json")
    searches = [_run(src, vault, "search", q, "--json") for q in QUERIES]
    return {"cold_check": cold, "warm_check": warm,
            "search_median": statistics.median(searches)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, required=True, help="the old tree's src folder")
    ap.add_argument("--new", type=Path, required=True, help="the new tree's src folder")
    ap.add_argument("--pages", type=int, default=2000)
    ap.add_argument("--sources", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args(argv)
    vault = args.out / f"ab-{args.pages}"
    shutil.rmtree(vault, ignore_errors=True)
    counts = gen_claims.generate(vault, args.pages, 10, args.sources, 0.01)
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(vault), "-c", "user.name=bench", "-c",
                    "user.email=bench@localhost", "commit", "-qm", "bench"], check=True)
    results: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
    for n in range(args.rounds):
        for name, src in (("old", args.old.resolve()), ("new", args.new.resolve())):
            results[name].append(_round(src, vault, n))
    print(f"{counts['pages']:,} pages, {counts['claims']:,} claims, {counts['sources']:,} "
          f"sources; {args.rounds} rounds, medians in seconds")
    print("| tree | cold check | warm check after one page | search (per query, CLI) |")
    print("| --- | ---: | ---: | ---: |")
    summary = {}
    for name in ("old", "new"):
        med = {k: statistics.median(r[k] for r in results[name]) for k in results[name][0]}
        summary[name] = med
        print(f"| {name} | {med['cold_check']:.2f} | {med['warm_check']:.2f} | "
              f"{med['search_median']:.3f} |")
    (args.out / "ab.json").write_text(json.dumps({"counts": counts, "rounds": results,
                                                  "medians": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
