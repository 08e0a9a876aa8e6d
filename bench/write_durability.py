"""Cost of the fsyncs that make a write command durable (issue 9, class 8).

Runs ``veriwiki new`` and ``veriwiki mv`` (a page with backlinks, moved and moved back)
on a generated vault, each in a fresh process, under three settings, interleaved:

- ``durable``: as shipped (git's ``core.fsync`` on objects, refs and index; veriwiki
  fsyncs every file it writes, its folder, the journal and the branch ref's folder);
- ``file-only``: what veriwiki did before (fsync of each written file only);
- ``none``: no fsync at all (``os.fsync`` a no-op, git's defaults).

Usage: ``python bench/write_durability.py [--pages 1000] [--reps 10]``; prints a
markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen_vault import generate  # noqa: E402

# Each variant is a prologue run before the CLI in a fresh interpreter.
_PROLOGUE = {
    "durable": "",
    "file-only": ("import os, stat\n_f = os.fsync\n"
                  "os.fsync = lambda fd: None if stat.S_ISDIR(os.fstat(fd).st_mode) else _f(fd)\n"
                  "import veriwiki.adapters.git_options as g\ng.DURABILITY = ()\n"),
    "none": ("import os\nos.fsync = lambda fd: None\n"
             "import veriwiki.adapters.git_options as g\ng.DURABILITY = ()\n"),
}
_RUN = "import sys\nfrom veriwiki.adapters.cli.main import main\nsys.argv[0] = 'veriwiki'\nmain()\n"


def _git(vault: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(vault), *args], check=True, capture_output=True)


def _timed(variant: str, vault: Path, *args: str) -> float:
    code = _PROLOGUE[variant] + _RUN
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code, "--vault", str(vault), *args],
                          capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{variant} {args}: exit {proc.returncode}\n{proc.stderr}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=10)
    opts = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vw-durability-"))
    try:
        vault = work / "vault"
        manifest = generate(vault, opts.pages)
        _git(vault, "init", "-q")
        _git(vault, "add", "-A")
        _git(vault, "-c", "user.name=bench", "-c", "user.email=b@b", "commit", "-qm", "gen")
        moved = manifest["edit_page"]
        old = Path(moved).stem
        _timed("durable", vault, "index")  # cold index outside the measurement
        times: dict[tuple[str, str], list[float]] = {}
        for rep in range(opts.reps):
            for variant in _PROLOGUE:
                t = _timed(variant, vault, "new", f"Durability {variant} {rep}")
                times.setdefault(("new", variant), []).append(t)
                t = _timed(variant, vault, "mv", old, f"{old} moved")
                t += _timed(variant, vault, "mv", f"{old} moved", old)
                times.setdefault(("mv (there and back, 2 commands)", variant), []).append(t)
        rewritten = subprocess.run(["git", "-C", str(vault), "show", "--stat", "--format=",
                                    "HEAD"], capture_output=True, text=True).stdout
        files = len([ln for ln in rewritten.splitlines() if "|" in ln])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}; pages {opts.pages}; "
          f"reps {opts.reps}; mv commit touches {files} files")
    print("| command | durable (ms) | file-only (ms) | none (ms) |\n| --- | ---: | ---: | ---: |")
    for what in ("new", "mv (there and back, 2 commands)"):
        row = [statistics.median(times[(what, v)]) * 1000 for v in _PROLOGUE]
        print(f"| {what} | " + " | ".join(f"{x:.0f}" for x in row) + " |")
    print(json.dumps({f"{w}/{v}": statistics.median(ts) for (w, v), ts in times.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
