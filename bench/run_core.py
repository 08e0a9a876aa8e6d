"""Benchmark driver: index, search and check speed of veriwiki on synthetic vaults.

Usage::

    python bench/run_core.py --pages 1000 10000 [--out bench/out] [--json results.json]

For each size the driver generates (or reuses) ``OUT/vault-N`` with ``gen_vault.py``,
measures the baselines from ``baselines.py`` and then veriwiki itself, each veriwiki
measurement in its own subprocess so that peak memory figures do not mix:

* cold index: ``update_index(open_vault(path), rebuild=True)`` after deleting
  ``.veriwiki/``; wall time and peak RSS;
* incremental: append a line to one page, time ``veriwiki --vault PATH index``
  end to end, then append again and time ``update_index`` in process;
* search: every labelled query through ``veriwiki.api.search(limit=5)`` (warm),
  p50/p95 and recall@5; ``veriwiki search --json`` end to end on ~20 queries;
* check: ``veriwiki --vault PATH check --json``; wall time and peak RSS (exit 1 is
  expected: the vault has planted broken links; exit 2 is a failure).

Results are printed as a markdown table and written as JSON (plus a ``.md`` copy),
with the machine and date.  Page cache is warm for every measurement (the vault was
just written or read); nothing here drops caches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import baselines
import gen_vault

HERE = Path(__file__).resolve().parent
TIMEOUT = 3 * 3600  # seconds; generous, only guards against hangs

# Runs argv (JSON in argv[1]) with stdout to the file argv[2]; prints wall time, exit
# code and the peak RSS of the child.  A fresh wrapper per measurement keeps
# RUSAGE_CHILDREN limited to that one child.
WRAPPER = r"""
import json, resource, subprocess, sys, time
argv = json.loads(sys.argv[1])
with open(sys.argv[2], "wb") as out:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=out, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "wall_s": wall, "maxrss_kb": ru.ru_maxrss,
                  "stderr": proc.stderr.decode("utf-8", "replace")[-3000:]}))
"""

PROBE = r"""
import json
import veriwiki.api
try:
    from importlib.metadata import version
    v = version("veriwiki")
except Exception:
    v = getattr(__import__("veriwiki"), "__version__", "unknown")
print(json.dumps({"version": v, "file": veriwiki.api.__file__}))
"""

COLD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import veriwiki.api as api
t1 = time.perf_counter()
vault = api.open_vault(sys.argv[1])
t2 = time.perf_counter()
stats = api.update_index(vault, rebuild=True)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "index_s": t3 - t2,
                  "parsed": stats.parsed, "removed": stats.removed, "total": stats.total,
                  "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

INCREMENTAL = r"""
import json, sys, time
import veriwiki.api as api
vault = api.open_vault(sys.argv[1])
t0 = time.perf_counter()
noop = api.update_index(vault)
t1 = time.perf_counter()
with open(sys.argv[2], "a", encoding="utf-8") as f:
    f.write(sys.argv[3])
t2 = time.perf_counter()
incr = api.update_index(vault)
t3 = time.perf_counter()
print(json.dumps({"noop_s": t1 - t0, "noop_parsed": noop.parsed, "incr_s": t3 - t2,
                  "incr_parsed": incr.parsed, "total": incr.total}))
"""

SEARCH = r"""
import json, sys, time
import veriwiki.api as api
t0 = time.perf_counter()
vault = api.open_vault(sys.argv[1])
queries = [q["query"] for q in json.load(open(sys.argv[2], encoding="utf-8"))]
t1 = time.perf_counter()
api.search(vault, queries[0], limit=5)
t2 = time.perf_counter()
for q in queries:
    api.search(vault, q, limit=5, refresh=False)
lat, res, fresh = [], [], []
for q in queries:
    s = time.perf_counter()
    hits = api.search(vault, q, limit=5, refresh=False)
    lat.append(time.perf_counter() - s)
    res.append([str(h.path).replace("\\", "/") for h in hits])
for q in queries:
    s = time.perf_counter()
    api.search(vault, q, limit=5)  # refresh=True: scans the vault for changed files first
    fresh.append(time.perf_counter() - s)
print(json.dumps({"open_s": t1 - t0, "first_query_s": t2 - t1, "latencies": lat,
                  "fresh_latencies": fresh, "results": res}))
"""


class BenchError(Exception):
    """A measurement failed; the message says which and why."""


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """CPU model, cores, RAM, OS, Python, SQLite, ripgrep versions and the date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    rg_version = "unavailable"
    try:
        out = subprocess.run([baselines.RG, "--version"], capture_output=True, text=True,
                             check=False)
        rg_version = out.stdout.splitlines()[0] if out.stdout else rg_version
    except OSError:
        pass
    commit = "unknown"
    try:
        out = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=False)
        if out.returncode == 0:
            commit = out.stdout.strip()
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "ripgrep": rg_version,
        "git_commit": commit,
    }


# --------------------------------------------------------------------------- helpers


def find_cli() -> str | None:
    """The ``veriwiki`` console script next to this interpreter, else on PATH."""
    local = Path(sys.executable).parent / "veriwiki"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("veriwiki")


def probe_veriwiki() -> dict[str, Any]:
    """Import veriwiki in a subprocess; raise BenchError with the reason if it fails."""
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise BenchError(
            f"cannot import veriwiki.api with {sys.executable}:\n{tail}\n"
            "Install the package into this environment (pip install -e .) or run with "
            "--floor-only to measure only the generator and the baselines."
        )
    info: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    cli = find_cli()
    if cli is None:
        raise BenchError("veriwiki imports but its console script 'veriwiki' was not found "
                         f"next to {sys.executable} or on PATH")
    info["cli"] = cli
    return info


def last_json(text: str, what: str) -> Any:
    """Parse the last line of ``text`` that looks like JSON."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith(("{", "[")):
            return json.loads(line)
    raise BenchError(f"{what}: no JSON result in output: {text[-500:]!r}")


def run_measured(argv: list[str], stdout_path: Path, what: str,
                 ok_codes: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """Run ``argv`` under the rusage wrapper; return rc, wall_s, maxrss_kb, stdout."""
    proc = subprocess.run([sys.executable, "-c", WRAPPER, json.dumps(argv), str(stdout_path)],
                          capture_output=True, text=True, check=False, timeout=TIMEOUT)
    if proc.returncode != 0:
        raise BenchError(f"{what}: measuring wrapper failed: {proc.stderr[-1000:]}")
    res: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    res["stdout"] = stdout_path.read_text(encoding="utf-8", errors="replace")
    stdout_path.unlink(missing_ok=True)
    if res["rc"] not in ok_codes:
        raise BenchError(f"{what}: exit code {res['rc']} (expected {ok_codes}); "
                         f"stderr: {res['stderr'][-1500:]}")
    return res


def ensure_vault(out: Path, pages: int, seed: int, broken_rate: float) -> dict[str, Any]:
    """Generate ``OUT/vault-N`` unless a vault with the same parameters is there."""
    vault = out / f"vault-{pages}"
    if gen_vault.is_cached(vault, pages, seed, broken_rate):
        manifest = json.loads((vault / gen_vault.MANIFEST_NAME).read_text(encoding="utf-8"))
        return {"path": vault, "cached": True, "gen_s": None, "manifest": manifest}
    if vault.exists():
        shutil.rmtree(vault)
    t0 = time.perf_counter()
    manifest = gen_vault.generate(vault, pages, seed, broken_rate)
    return {"path": vault, "cached": False, "gen_s": time.perf_counter() - t0,
            "manifest": manifest}


def summarise_check(stdout: str) -> dict[str, Any]:
    """Counts from ``veriwiki check --json`` output (tolerant of shape changes)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return {"parse_error": stdout[:300]}
    findings = data.get("findings", []) if isinstance(data, dict) else data
    summary = data.get("summary", {}) if isinstance(data, dict) else {}
    by_rule = summary.get("by_rule")
    if not isinstance(by_rule, dict):
        by_rule = {}
        for f in findings if isinstance(findings, list) else []:
            rule = f.get("rule", "?") if isinstance(f, dict) else "?"
            by_rule[rule] = by_rule.get(rule, 0) + 1
    n = summary.get("findings", len(findings) if isinstance(findings, list) else None)
    return {"findings": n, "by_rule": dict(sorted(by_rule.items()))}


# --------------------------------------------------------------------------- measuring


def measure_floor(vault: Path, out: Path, pages: int,
                  queries: list[dict[str, Any]], n_cli: int) -> dict[str, Any]:
    """Floor FTS5 index, floor search and recall, and ripgrep search."""
    db = out / f"floor-{pages}.sqlite"
    res: dict[str, Any] = {"index_s": baselines.fts_floor(vault, db)}
    res["db_mb"] = db.stat().st_size / 1e6
    res["search"] = baselines.latency_stats(
        baselines.fts_floor_search(db, [q["query"] for q in queries]))
    res["recall_at_5"] = baselines.fts_floor_recall(db, queries)
    db.unlink()
    res["rg"] = baselines.rg_benchmark(vault, baselines.spread(queries, n_cli))
    return res


def measure_veriwiki(vault: Path, out: Path, queries: list[dict[str, Any]],
                     manifest: dict[str, Any], cli: str, n_cli: int,
                     failures: list[str]) -> dict[str, Any]:
    """Every veriwiki measurement for one vault; failures are recorded, not raised."""
    res: dict[str, Any] = {}
    py = sys.executable
    scratch = out / "stdout.tmp"
    label = vault.name

    def step(name: str, fn: Any) -> None:
        try:
            res[name] = fn()
        except (BenchError, subprocess.TimeoutExpired, ValueError, KeyError, TypeError,
                OSError) as exc:
            failures.append(f"{label} {name}: {exc}")
            res[name] = {"error": str(exc)}
            print(f"  ! {name} failed: {exc}", file=sys.stderr)

    def cold() -> dict[str, Any]:
        shutil.rmtree(vault / ".veriwiki", ignore_errors=True)
        m = run_measured([py, "-c", COLD, str(vault)], scratch, "cold index")
        r = last_json(m["stdout"], "cold index")
        r.update(wall_s=m["wall_s"], maxrss_mb=m["maxrss_kb"] / 1024)
        return r

    edit_page = vault / str(manifest["edit_page"])
    original = edit_page.read_bytes()

    def incremental() -> dict[str, Any]:
        with open(edit_page, "a", encoding="utf-8") as f:
            f.write("\nBenchmark edit one: the incremental index must pick this up.\n")
        t0 = time.perf_counter()
        proc = subprocess.run([cli, "--vault", str(vault), "index"], capture_output=True,
                              text=True, check=False, timeout=TIMEOUT)
        cli_s = time.perf_counter() - t0
        if proc.returncode != 0:
            raise BenchError(f"veriwiki index: exit {proc.returncode}: {proc.stderr[-1000:]}")
        p = subprocess.run([py, "-c", INCREMENTAL, str(vault), str(edit_page),
                            "\nBenchmark edit two: appended in process.\n"],
                           capture_output=True, text=True, check=False, timeout=TIMEOUT)
        if p.returncode != 0:
            raise BenchError(f"in-process update_index: {p.stderr[-1500:]}")
        r = last_json(p.stdout, "incremental")
        r["cli_s"] = cli_s
        if r.get("incr_parsed") != 1:
            print(f"  ! incremental update parsed {r.get('incr_parsed')} pages, expected 1",
                  file=sys.stderr)
        return r

    def search() -> dict[str, Any]:
        p = subprocess.run([py, "-c", SEARCH, str(vault), str(vault / gen_vault.QUERIES_NAME)],
                           capture_output=True, text=True, check=False, timeout=TIMEOUT)
        if p.returncode != 0:
            raise BenchError(f"in-process search: {p.stderr[-1500:]}")
        data = last_json(p.stdout, "search")
        r: dict[str, Any] = baselines.latency_stats(data["latencies"])
        r["open_s"] = data["open_s"]
        r["first_query_s"] = data["first_query_s"]
        r["with_refresh"] = baselines.latency_stats(data["fresh_latencies"])
        r["recall_at_5"] = baselines.recall_at_k(queries, data["results"], 5)
        misses = [q["query"] for q, hits in zip(queries, data["results"], strict=True)
                  if not set(q["relevant"]) & set(hits[:5])]
        r["misses"] = misses
        return r

    def cli_search() -> dict[str, Any]:
        times = []
        for q in baselines.spread(queries, n_cli):
            t0 = time.perf_counter()
            p = subprocess.run([cli, "--vault", str(vault), "search", q["query"], "--json",
                                "--limit", "5"], capture_output=True, text=True, check=False,
                               timeout=TIMEOUT)
            times.append(time.perf_counter() - t0)
            if p.returncode != 0:
                raise BenchError(f"veriwiki search {q['query']!r}: exit {p.returncode}: "
                                 f"{p.stderr[-1000:]}")
            json.loads(p.stdout)  # must be valid JSON
        return baselines.latency_stats(times)

    def check() -> dict[str, Any]:
        m = run_measured([cli, "--vault", str(vault), "check", "--json"], scratch,
                         "veriwiki check", ok_codes=(0, 1))
        r: dict[str, Any] = {"wall_s": m["wall_s"], "maxrss_mb": m["maxrss_kb"] / 1024,
                             "rc": m["rc"]}
        r.update(summarise_check(m["stdout"]))
        r["planted_broken_links"] = manifest["broken_links"]
        return r

    try:
        step("cold_index", cold)
        step("incremental", incremental)
        step("search", search)
        step("cli_search", cli_search)
        step("check", check)
    finally:
        edit_page.write_bytes(original)  # keep the cached vault as generated
    return res


# --------------------------------------------------------------------------- report


def _get(d: dict[str, Any], path: str) -> Any:
    cur: Any = d
    for key in path.split("."):
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur


ROWS: list[tuple[str, str, str]] = [
    # (label, dotted path in a size's results, format)
    ("pages (files / MB)", "vault.desc", "s"),
    ("generate vault (s)", "vault.gen_desc", "s"),
    ("floor FTS5 index (s)", "floor.index_s", ".2f"),
    ("floor FTS5 search p50 / p95 (ms)", "floor.search", "p"),
    ("floor FTS5 recall@5", "floor.recall_at_5.all", ".3f"),
    ("rg search p50 / p95 (ms)", "floor.rg", "p"),
    ("veriwiki cold index wall (s)", "veriwiki.cold_index.wall_s", ".2f"),
    ("veriwiki cold index update_index (s)", "veriwiki.cold_index.index_s", ".2f"),
    ("veriwiki cold index peak RSS (MB)", "veriwiki.cold_index.maxrss_mb", ".0f"),
    ("veriwiki incremental CLI `index` (s)", "veriwiki.incremental.cli_s", ".3f"),
    ("veriwiki incremental update_index (s)", "veriwiki.incremental.incr_s", ".3f"),
    ("veriwiki no-op update_index (s)", "veriwiki.incremental.noop_s", ".3f"),
    ("veriwiki search p50 / p95 (ms), query only", "veriwiki.search", "p"),
    ("veriwiki search p50 / p95 (ms), incl. freshness scan", "veriwiki.search.with_refresh", "p"),
    ("veriwiki recall@5", "veriwiki.search.recall_at_5.all", ".3f"),
    ("veriwiki CLI search p50 / p95 (ms)", "veriwiki.cli_search", "p"),
    ("veriwiki check wall (s)", "veriwiki.check.wall_s", ".2f"),
    ("veriwiki check peak RSS (MB)", "veriwiki.check.maxrss_mb", ".0f"),
    ("veriwiki check findings (broken / planted)", "veriwiki.check.desc", "s"),
]


def _fmt(value: Any, fmt: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict) and "error" in value:
        return "FAILED"
    if fmt == "p":
        return f"{value['p50_ms']:.1f} / {value['p95_ms']:.1f}"
    if fmt == "s":
        return str(value)
    return format(value, fmt)


def markdown(results: dict[str, Any]) -> str:
    """Render the results as a markdown table (rows: metrics, columns: vault sizes)."""
    sizes = results["sizes"]
    m = results["machine"]
    head = (f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gb']} GB RAM; "
            f"Python {m['python']}, SQLite {m['sqlite']}; {m['date']}; "
            f"veriwiki {_get(results, 'veriwiki.version') or 'not measured'}\n\n")
    cols = list(sizes)
    lines = ["| metric | " + " | ".join(f"{int(c):,} pages" for c in cols) + " |",
             "| --- |" + " ---: |" * len(cols)]
    for label, path, fmt in ROWS:
        cells = []
        for c in cols:
            val = _get(sizes[c], path)
            if path.startswith("veriwiki.") and val is None:
                parent = _get(sizes[c], path.split(".")[0] + "." + path.split(".")[1])
                val = parent if isinstance(parent, dict) and "error" in parent else None
            cells.append(_fmt(val, fmt))
        if all(cell == "—" for cell in cells):
            continue
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description="veriwiki core benchmarks")
    ap.add_argument("--pages", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--out", type=Path, default=HERE / "out",
                    help="work folder for vaults and scratch files (default bench/out)")
    ap.add_argument("--json", type=Path, default=None,
                    help="results file (default OUT/results.json); a .md copy is written too")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--broken-rate", type=float, default=0.01)
    ap.add_argument("--cli-queries", type=int, default=20,
                    help="queries timed end to end (CLI search and rg), default 20")
    ap.add_argument("--floor-only", action="store_true",
                    help="measure only the generator and the baselines")
    args = ap.parse_args(argv)
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    json_path: Path = args.json or out / "results.json"

    results: dict[str, Any] = {"machine": machine_info(), "params": {
        "seed": args.seed, "broken_rate": args.broken_rate, "cli_queries": args.cli_queries,
        "generator_version": gen_vault.GENERATOR_VERSION}, "sizes": {}, "failures": []}
    cli = None
    if not args.floor_only:
        try:
            results["veriwiki"] = probe_veriwiki()
        except BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        cli = results["veriwiki"]["cli"]
        print(f"veriwiki {results['veriwiki']['version']} ({cli})")

    failures: list[str] = results["failures"]
    for pages in args.pages:
        print(f"== {pages} pages", flush=True)
        v = ensure_vault(out, pages, args.seed, args.broken_rate)
        vault: Path = v["path"]
        man = v["manifest"]
        v["desc"] = f"{man['pages'] + 2} / {man['page_bytes'] / 1e6:.1f}"
        v["gen_desc"] = "cached" if v["cached"] else f"{v['gen_s']:.2f}"
        how = "cached" if v["cached"] else f"generated in {v['gen_s']:.1f}s"
        print(f"  vault {vault} ({how})", flush=True)
        queries = baselines.load_queries(vault / gen_vault.QUERIES_NAME)
        size: dict[str, Any] = {"vault": {**v, "path": str(vault)}}
        size["floor"] = measure_floor(vault, out, pages, queries, args.cli_queries)
        print(f"  floor index {size['floor']['index_s']:.2f}s", flush=True)
        if cli is not None:
            vw = measure_veriwiki(vault, out, queries, man, cli, args.cli_queries, failures)
            chk = vw.get("check", {})
            if "findings" in chk:
                chk["desc"] = (f"{chk['findings']} "
                               f"({chk['by_rule'].get('broken-link', 0)} / "
                               f"{chk['planted_broken_links']})")
            size["veriwiki"] = vw
        results["sizes"][str(pages)] = size

    table = markdown(results)
    print()
    print(table)
    if failures:
        print("failures:\n  " + "\n  ".join(failures), file=sys.stderr)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    json_path.with_suffix(".md").write_text(table, encoding="utf-8")
    print(f"wrote {json_path} and {json_path.with_suffix('.md')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
