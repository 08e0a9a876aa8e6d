"""Verification benchmark: `veriwiki check` over a vault of cited claims.

``python bench/run_verify.py --pages 10000 --sources 1000`` generates the vault with
bench/gen_claims.py (10 claims per page), then times, each in a fresh process:

* cold: no ``.veriwiki/`` (index build, text extraction of every source, every check);
* warm: after appending one claim to one page.

Prints a markdown table and writes bench/out/verify.json. Peak RSS per run is recorded.
``--skip-cold`` reuses the vault and caches of an earlier run (same ``--pages``) and
measures only the warm check (written to bench/out/verify-warm.json), to iterate faster.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import gen_claims  # noqa: E402


def _cli() -> str:
    exe = Path(sys.executable).parent / "veriwiki"
    return str(exe) if exe.exists() else "veriwiki"


def _timed_check(vault: Path) -> dict[str, float | int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([_cli(), "--vault", str(vault), "check", "--json"],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode == 2:
        raise SystemExit(f"check failed: {proc.stderr[-2000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    summary = json.loads(proc.stdout)["summary"]
    return {"seconds": round(wall, 2), "peak_rss_mb": round(max(peak, before) / 1024),
            "findings": summary["findings"]}


def main(argv: list[str] | None = None) -> int:
    """Generate, measure, report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--sources", type=int, default=1_000)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--skip-cold", action="store_true",
                    help="reuse the vault and caches of an earlier run; time the warm check only")
    args = ap.parse_args(argv)
    vault = args.out / f"verify-{args.pages}"
    earlier = args.out / "verify.json"
    skip = args.skip_cold and (vault / ".veriwiki").is_dir() and earlier.is_file()
    if skip:
        previous = json.loads(earlier.read_text(encoding="utf-8"))
        skip = previous["counts"]["pages"] == args.pages
    if skip:
        counts, cold = previous["counts"], previous["cold"]
    else:
        counts = gen_claims.generate(vault, args.pages, 10, args.sources, 0.01)
        subprocess.run(["git", "init", "-q", str(vault)], check=True)
        subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True)
        subprocess.run(["git", "-C", str(vault), "-c", "user.name=bench", "-c",
                        "user.email=bench@localhost", "commit", "-qm", "bench"], check=True)
        shutil.rmtree(vault / ".veriwiki", ignore_errors=True)
        cold = _timed_check(vault)
    page = vault / "wiki" / "Page 0.md"
    with page.open("a", encoding="utf-8") as fh:
        fh.write('One more claim about 7 layers [@src0, "Technical report 0"].\n')
    warm = _timed_check(vault)
    result = {"counts": counts, "cold": cold, "warm_after_one_page": warm,
              "date": time.strftime("%Y-%m-%d"), "python": sys.version.split()[0]}
    if skip:
        result["cold_from_earlier_run"] = True
    (args.out / ("verify-warm.json" if skip else "verify.json")).write_text(
        json.dumps(result, indent=2), encoding="utf-8")
    print("| vault | cold check (s) | warm check after one page (s) | peak RSS (MB) | findings |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| {counts['pages']:,} pages, {counts['claims']:,} claims, {counts['sources']:,} "
          f"sources | {cold['seconds']}{' (earlier run)' if skip else ''} | "
          f"{warm['seconds']} | {max(cold['peak_rss_mb'], warm['peak_rss_mb'])} | "
          f"{cold['findings']} ({counts['planted']} planted) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
