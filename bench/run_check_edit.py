"""The check and the site build after a one-page edit, for one or more code trees in turns.

Usage::

    python bench/run_check_edit.py VAULT OUT --code before=/tmp/wt-before/src \\
        --code after=src [--repeat 5] [--json FILE]

Each ``--code LABEL=SRC`` gets its own copy of ``VAULT`` (``OUT/LABEL``, made with
``cp -a`` when missing) and is warmed once (``check``, ``build``). Then, ``--repeat``
rounds, the labels in turns (so a change of load hits them alike): one page's body is
edited and ``check_vault`` timed in-process (imports excluded), another page edited and
``veriwiki check --json`` timed end to end (output to /dev/null), another edited and
``veriwiki build --json`` timed. Each measured step sees exactly one changed page. Runs
with bytecode writing on (a user's install has bytecode) whatever the shell says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

IN_PROCESS = """
import sys, time
from veriwiki.services.check import check_vault
from veriwiki.vault import open_vault
vault = open_vault(sys.argv[1])
start = time.perf_counter()
report = check_vault(vault)
print(time.perf_counter() - start, len(report.findings))
"""


def run(src: Path, args: list[str], *, stdout: Any = subprocess.PIPE) -> tuple[float, str]:
    """Wall seconds and stdout of ``python ARGS`` with ``src`` first on the path."""
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=env, stdout=stdout,
                          stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed: {args}\n{proc.stderr[-2000:]}")
    return took, proc.stdout or ""


def edit(page: Path, n: int) -> None:
    """Append one sentence to a page's body (a body edit: no name changes)."""
    with page.open("a", encoding="utf-8") as fh:
        fh.write(f"\nOne more sentence for the bench, number {n}.\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vault", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--code", action="append", required=True, metavar="LABEL=SRC")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    codes = {label: Path(src).resolve() for label, _, src in
             (c.partition("=") for c in args.code)}
    vaults = {}
    for label in codes:
        dest = args.out.resolve() / label
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["cp", "-a", str(args.vault), str(dest)], check=True)
        vaults[label] = dest
    pages = sorted((args.vault / "wiki").rglob("*.md"))
    pages = [p.relative_to(args.vault) for p in pages[len(pages) // 3:]]
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "python": platform.python_version(), "vault": str(args.vault),
        "load_before": round(os.getloadavg()[0], 1), "runs": {}}
    for label, src in codes.items():  # warm: the code's first check and build are cold
        v = str(vaults[label])
        run(src, ["-m", "veriwiki", "--vault", v, "check", "--json"])
        if not args.no_build:
            run(src, ["-m", "veriwiki", "--vault", v, "build", "--json"])
    runs: dict[str, dict[str, list[float]]] = {
        label: {"check_vault": [], "check_cli": [], "build": [], "load": []} for label in codes}
    n = 0
    for _ in range(args.repeat):
        for label, src in codes.items():
            v = vaults[label]
            got = runs[label]
            got["load"].append(round(os.getloadavg()[0], 1))
            edit(v / pages[n], n)
            n += 1
            _, out = run(src, ["-c", IN_PROCESS, str(v)])
            got["check_vault"].append(round(float(out.split()[0]), 3))
            edit(v / pages[n], n)
            n += 1
            with open(os.devnull, "w") as null:
                took, _ = run(src, ["-m", "veriwiki", "--vault", str(v), "check", "--json"],
                              stdout=null)
            got["check_cli"].append(round(took, 3))
            if not args.no_build:
                edit(v / pages[n], n)
                n += 1
                took, _ = run(src, ["-m", "veriwiki", "--vault", str(v), "build", "--json"])
                got["build"].append(round(took, 3))
            print(label, {k: vals[-1] for k, vals in got.items() if vals}, flush=True)
    for label, got in runs.items():
        result["runs"][label] = {
            **{k: v for k, v in got.items() if v},
            **{f"{k}_median": round(statistics.median(v), 3) for k, v in got.items()
               if v and k != "load"}}
    result["load_after"] = round(os.getloadavg()[0], 1)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
