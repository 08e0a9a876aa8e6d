"""Cost of the fsyncs that make a write command durable (issue 9, class 8).

Runs ``veriwiki new`` and ``veriwiki mv`` (a page with backlinks, moved and moved back)
on a generated vault, each in a fresh process, under three settings, interleaved:

- ``durable``: as shipped (git's ``core.fsync`` on objects, refs and index; veriwiki
  fsyncs every file it writes, its folder, the journal and the branch ref's folder);
- ``file-only``: what veriwiki did before (fsync of each written file only);
- ``none``: no fsync at all (``os.fsync`` a no-op, git's defaults).

Usage: ``python bench/write_durability.py [--pages 1000] [--reps 10] [--strace]``;
prints a markdown table of medians. With ``--strace`` each command also runs under
``strace -f -T`` and the table gives the number of fsync calls (veriwiki and git
together) and the time spent in them, which a loaded machine disturbs far less than
the wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
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
_RUN = "import sys\nfrom veriwiki.cli.main import main\nsys.argv[0] = 'veriwiki'\nmain()\n"


def _git(vault: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(vault), *args], check=True, capture_output=True)


_FSYNC = re.compile(r"\bf(?:data)?sync\(.*<(\d+\.\d+)>$")


def _timed(variant: str, vault: Path, *args: str, trace: Path | None = None
           ) -> tuple[float, int, float]:
    """Wall seconds, and with ``trace`` the fsync calls and seconds spent in them."""
    code = _PROLOGUE[variant] + _RUN
    cmd = [sys.executable, "-c", code, "--vault", str(vault), *args]
    if trace is not None:
        cmd = ["strace", "-f", "-qq", "-T", "-e", "trace=fsync,fdatasync", "-o", str(trace),
               *cmd]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{variant} {args}: exit {proc.returncode}\n{proc.stderr}")
    if trace is None:
        return elapsed, 0, 0.0
    spent = [float(m.group(1)) for line in trace.read_text().splitlines()
             if (m := _FSYNC.search(line))]
    return elapsed, len(spent), sum(spent)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--strace", action="store_true", help="count and time fsync calls")
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
        trace = work / "trace.txt" if opts.strace else None
        times: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
        for rep in range(opts.reps):
            for variant in _PROLOGUE:
                t = _timed(variant, vault, "new", f"Durability {variant} {rep}", trace=trace)
                times.setdefault(("new", variant), []).append(t)
                a = _timed(variant, vault, "mv", old, f"{old} moved", trace=trace)
                b = _timed(variant, vault, "mv", f"{old} moved", old, trace=trace)
                times.setdefault(("mv (there and back, 2 commands)", variant), []).append(
                    (a[0] + b[0], a[1] + b[1], a[2] + b[2]))
        rewritten = subprocess.run(["git", "-C", str(vault), "show", "--stat", "--format=",
                                    "HEAD"], capture_output=True, text=True).stdout
        files = len([ln for ln in rewritten.splitlines() if "|" in ln])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}; pages {opts.pages}; "
          f"reps {opts.reps}; mv commit touches {files} files")
    print("| command | variant | wall median (ms) | fsync calls | time in fsync, median (ms) |"
          "\n| --- | --- | ---: | ---: | ---: |")
    for what in ("new", "mv (there and back, 2 commands)"):
        for v in _PROLOGUE:
            runs = times[(what, v)]
            print(f"| {what} | {v} | {statistics.median(r[0] for r in runs) * 1000:.0f} | "
                  f"{statistics.median(r[1] for r in runs):.0f} | "
                  f"{statistics.median(r[2] for r in runs) * 1000:.1f} |")
    print(json.dumps({f"{w}/{v}": [list(r) for r in ts] for (w, v), ts in times.items()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
