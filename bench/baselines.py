"""Baselines that veriwiki's index and search are compared against.

* ``fts_floor``: the least work an FTS5 index of the vault can cost from Python — one
  table ``(path, body)``, tokenizer ``porter unicode61``, every ``.md`` under ``wiki/``
  read raw (no parsing) and inserted in one transaction.
* ``fts_floor_search`` / ``fts_floor_query``: BM25-ordered queries against that table.
* ``rg_search``: ripgrep over ``wiki/`` (one ``rg -l -i -F`` per query term, files that
  contain every term), timed end to end including process start-up.
* ``latency_stats`` and ``recall_at_k`` helpers shared with ``run_core.py``.

CLI::

    python bench/baselines.py VAULT_DIR [--db PATH] [--queries PATH] [--rg-queries N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

RG = os.environ.get("VERIWIKI_BENCH_RG", "/usr/bin/rg")
_WORD = re.compile(r"\w+", re.UNICODE)


def iter_pages(vault_dir: str | Path) -> Iterable[tuple[str, Path]]:
    """Yield ``(vault-relative posix path, file path)`` for every ``.md`` under ``wiki/``.

    Folders whose name starts with ``.`` are skipped, as veriwiki does.
    """
    root = Path(vault_dir)
    for dirpath, dirnames, filenames in os.walk(root / "wiki"):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(".md"):
                full = Path(dirpath, name)
                yield full.relative_to(root).as_posix(), full


def fts_floor(vault_dir: str | Path, db_path: str | Path) -> float:
    """Build the floor FTS5 index of ``vault_dir`` at ``db_path``; return wall seconds.

    An existing database at ``db_path`` is deleted first.  The timing covers walking
    the folder, reading every page and inserting it, and the final commit.
    """
    db = Path(db_path)
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    t0 = time.perf_counter()
    con = sqlite3.connect(db)
    try:
        con.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(path, body, tokenize='porter unicode61')"
        )
        with con:  # one transaction
            con.executemany(
                "INSERT INTO docs(path, body) VALUES (?, ?)",
                ((rel, full.read_text(encoding="utf-8")) for rel, full in iter_pages(vault_dir)),
            )
    finally:
        con.close()
    return time.perf_counter() - t0


def match_expr(query: str) -> str:
    """FTS5 MATCH expression for a free-text query: every word quoted, joined by OR.

    Quoting keeps FTS5 operators and punctuation in the query from being parsed; BM25
    then ranks pages that contain more (and rarer) query words first.
    """
    words = _WORD.findall(query.lower())
    return " OR ".join(f'"{w}"' for w in words) or '""'


def fts_floor_query(con: sqlite3.Connection, query: str, limit: int = 5) -> list[str]:
    """Paths of the ``limit`` best BM25 matches for ``query``."""
    rows = con.execute(
        "SELECT path FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?",
        (match_expr(query), limit),
    ).fetchall()
    return [r[0] for r in rows]


def fts_floor_search(db_path: str | Path, queries: Sequence[str], limit: int = 5,
                     warm: bool = True) -> list[float]:
    """Run every query against the floor index; return per-query latencies in seconds.

    With ``warm`` the whole set runs once untimed first (page cache and SQLite cache).
    """
    con = sqlite3.connect(db_path)
    try:
        if warm:
            for q in queries:
                fts_floor_query(con, q, limit)
        out = []
        for q in queries:
            t0 = time.perf_counter()
            fts_floor_query(con, q, limit)
            out.append(time.perf_counter() - t0)
        return out
    finally:
        con.close()


def query_terms(query: str) -> list[str]:
    """The words of a query as ripgrep fixed-string terms (deduplicated, in order)."""
    seen: list[str] = []
    for w in _WORD.findall(query.lower()):
        if w not in seen:
            seen.append(w)
    return seen


def rg_search(vault_dir: str | Path, query: str, rg: str = RG) -> tuple[float, list[str]]:
    """Files under ``wiki/`` containing every query term (case-insensitive, fixed string).

    Runs one ``rg -l -i -F`` subprocess per term and intersects the results, which is
    what a user grepping for a few words does.  Returns ``(wall seconds for all the
    subprocesses, sorted vault-relative paths)``.
    """
    terms = query_terms(query)
    t0 = time.perf_counter()
    matched: set[str] | None = None
    for term in terms:
        proc = subprocess.run(
            [rg, "-l", "-i", "-F", "--no-messages", "-e", term, "wiki"],
            cwd=vault_dir, capture_output=True, check=False,
        )
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"rg failed ({proc.returncode}): {proc.stderr.decode()[:500]}")
        found = set(proc.stdout.decode("utf-8", "replace").splitlines())
        matched = found if matched is None else matched & found
        if not matched:
            break
    seconds = time.perf_counter() - t0
    return seconds, sorted(matched or ())


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of ``values``; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def latency_stats(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p95, mean and max of latencies, in milliseconds, plus the count."""
    n = len(seconds)
    return {
        "n": n,
        "p50_ms": percentile(seconds, 50) * 1000,
        "p95_ms": percentile(seconds, 95) * 1000,
        "mean_ms": (sum(seconds) / n * 1000) if n else math.nan,
        "max_ms": (max(seconds) * 1000) if n else math.nan,
    }


def load_queries(path: str | Path) -> list[dict[str, Any]]:
    """Read a ``queries.json`` (list of ``{"query", "relevant", "kind"?}`` objects)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, list) or not all(
        isinstance(q, dict) and isinstance(q.get("query"), str)
        and isinstance(q.get("relevant"), list) for q in data
    ):
        raise ValueError(f"{path}: expected a list of {{'query': str, 'relevant': [...]}}")
    return data


def recall_at_k(queries: Sequence[dict[str, Any]], results: Sequence[Sequence[str]],
                k: int = 5) -> dict[str, float]:
    """Mean recall@k of ranked ``results`` (one path list per query) against the labels.

    Per query: relevant paths found in the first ``k`` results divided by
    ``min(k, number relevant)``.  Returns the overall mean and the mean per query kind.
    """
    if len(queries) != len(results):
        raise ValueError("one result list per query expected")
    per_kind: dict[str, list[float]] = {}
    scores = []
    for q, res in zip(queries, results, strict=True):
        relevant = set(q["relevant"])
        top = set(res[:k])
        score = len(relevant & top) / min(k, len(relevant)) if relevant else 0.0
        scores.append(score)
        per_kind.setdefault(str(q.get("kind", "all")), []).append(score)
    out = {"all": sum(scores) / len(scores) if scores else math.nan}
    out.update({kind: sum(v) / len(v) for kind, v in sorted(per_kind.items())})
    return out


def fts_floor_recall(db_path: str | Path, queries: Sequence[dict[str, Any]],
                     k: int = 5) -> dict[str, float]:
    """recall@k of the floor index (BM25 order) for a labelled query set."""
    con = sqlite3.connect(db_path)
    try:
        results = [fts_floor_query(con, q["query"], k) for q in queries]
    finally:
        con.close()
    return recall_at_k(queries, results, k)


def rg_benchmark(vault_dir: str | Path, queries: Sequence[dict[str, Any]],
                 search: Callable[[str | Path, str], tuple[float, list[str]]] = rg_search,
                 ) -> dict[str, Any]:
    """Time ``rg_search`` over ``queries``; also report how often the label was matched.

    ``hit_rate`` is the share of queries whose relevant paths are all in rg's result
    (rg does not rank, so this is not comparable to recall@k); ``mean_matches`` is the
    mean size of the result set a user would have to read.
    """
    times: list[float] = []
    hits = 0
    sizes = 0
    for q in queries:
        seconds, files = search(vault_dir, q["query"])
        times.append(seconds)
        sizes += len(files)
        hits += set(q["relevant"]) <= set(files)
    stats: dict[str, Any] = latency_stats(times)
    stats["hit_rate"] = hits / len(queries) if queries else math.nan
    stats["mean_matches"] = sizes / len(queries) if queries else math.nan
    return stats


def spread(items: Sequence[Any], n: int) -> list[Any]:
    """Up to ``n`` items taken evenly across ``items`` (keeps the mix of query kinds)."""
    if n >= len(items):
        return list(items)
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: floor index, floor search, recall and rg timings."""
    ap = argparse.ArgumentParser(description="veriwiki benchmark baselines")
    ap.add_argument("vault", type=Path)
    ap.add_argument("--db", type=Path, help="floor database (default: a temporary file)")
    ap.add_argument("--queries", type=Path, help="default: VAULT/queries.json")
    ap.add_argument("--rg-queries", type=int, default=20,
                    help="number of queries timed with rg (default 20)")
    args = ap.parse_args(argv)
    queries = load_queries(args.queries or args.vault / "queries.json")
    with tempfile.TemporaryDirectory(prefix="vw-floor-") as tmp:
        db = args.db or Path(tmp) / "floor.sqlite"
        seconds = fts_floor(args.vault, db)
        n_pages = sum(1 for _ in iter_pages(args.vault))
        print(f"floor index: {n_pages} files in {seconds:.2f}s "
              f"({db.stat().st_size / 1e6:.1f} MB database)")
        lat = latency_stats(fts_floor_search(db, [q["query"] for q in queries]))
        print(f"floor search: n={lat['n']} p50={lat['p50_ms']:.2f}ms p95={lat['p95_ms']:.2f}ms")
        rec = fts_floor_recall(db, queries)
        print("floor recall@5: " + ", ".join(f"{k}={v:.3f}" for k, v in rec.items()))
    rg = rg_benchmark(args.vault, spread(queries, args.rg_queries))
    print(f"rg search: n={rg['n']} p50={rg['p50_ms']:.1f}ms p95={rg['p95_ms']:.1f}ms "
          f"hit_rate={rg['hit_rate']:.2f} mean_matches={rg['mean_matches']:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
