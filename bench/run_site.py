"""Benchmark ``veriwiki build`` against Hugo on the same generated vault.

Usage::

    python bench/run_site.py OUT --pages 10000 [--repeat 3] [--no-hugo] [--json FILE]

For the size given, the driver generates (or reuses) ``OUT/vault-N`` with
``gen_vault.py`` and measures, in one run:

- ``hugo``: Hugo (Debian's ``hugo``) building the same markdown with a minimal
  single/list layout (the pages' folder copied once, ``index.md`` renamed ``_index.md``
  so Hugo does not read the whole tree as one page bundle);
- ``cold``: ``veriwiki build`` with no index, no check cache and no site (everything
  from scratch: index, check, rendering);
- ``cold_site``: the site deleted, index and check cache kept (rendering from scratch);
- ``noop``: ``veriwiki build`` with nothing changed (``--repeat`` times);
- ``rebuild``: one page's body edited, then ``veriwiki build`` again (``--repeat`` times,
  a different page each time);
- peak memory (max RSS of the build process, children included) and the bytes the
  browser downloads for the first query of each labelled query (manifest, one shard
  per word, the document chunks of the top 12 hits).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_vault  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VW = ROOT / ".venv" / "bin" / "veriwiki"
HUGO_CONFIG = """baseURL = "http://example.org/"
title = "bench"
disableKinds = ["taxonomy", "term", "RSS", "sitemap"]
"""
LAYOUT = ('<!doctype html><html><head><meta charset="utf-8"><title>{{ .Title }}</title>'
          "</head><body><h1>{{ .Title }}</h1>%s</body></html>\n")


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB of the process tree, and stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, max(rss, before), proc.stdout


def peak_rss(cmd: list[str], cwd: Path | None = None) -> tuple[float, int, str]:
    """Like :func:`timed`, with the peak RSS measured by GNU time (per run, not cumulative)."""
    gnu = shutil.which("time") or "/usr/bin/time"
    if not Path(gnu).exists():
        return timed(cmd, cwd)
    start = time.perf_counter()
    proc = subprocess.run([gnu, "-f", "%M", *cmd], cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    rss = int(proc.stderr.strip().splitlines()[-1])
    return took, rss, proc.stdout


def hugo_site(out: Path, vault: Path) -> Path:
    site = out / "hugo"
    (site / "layouts" / "_default").mkdir(parents=True, exist_ok=True)
    (site / "config.toml").write_text(HUGO_CONFIG)
    (site / "layouts" / "_default" / "single.html").write_text(LAYOUT % "{{ .Content }}")
    (site / "layouts" / "_default" / "list.html").write_text(
        LAYOUT % '<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>'
                 "</li>{{ end }}</ul>")
    content = out / f"hugo-content-{vault.name}"
    if not content.exists():
        shutil.copytree(vault / "wiki", content)
        (content / "index.md").rename(content / "_index.md")
    return content


def search_bytes(site: Path, queries: list[str]) -> list[tuple[int, list[str]]]:
    """Bytes a browser downloads for the first query (same selection as site.js), and the
    URLs of the top 12 hits."""
    sys.path.insert(0, str(ROOT / "src"))
    from veriwiki.render.search import _key, terms

    base = site / "_vw" / "search"
    manifest_bytes = (base / "manifest.json").read_bytes()
    manifest = json.loads(manifest_bytes)
    shards = set(manifest["shards"])
    out = []
    for q in queries:
        total = len(manifest_bytes)
        words = terms(q)
        scores: dict[int, float] | None = None
        for i, w in enumerate(words):
            key = next((_key(w, n) for n in (4, 3, 2, 1)
                        if _key(w, n) in shards and len(w) >= n), None)
            if key is None:
                continue
            blob = (base / f"t-{key}.json").read_bytes()
            total += len(blob)
            shard = json.loads(blob)
            mine: dict[int, float] = {}
            for term, post in shard.items():
                if term == w or (i == len(words) - 1 and term.startswith(w)):
                    boost = 1.5 if term == w else 1.0
                    for j in range(0, len(post), 2):
                        mine[post[j]] = max(mine.get(post[j], 0), post[j + 1] * boost)
            scores = mine if scores is None else {d: s + mine[d] for d, s in scores.items()
                                                  if d in mine}
        top = sorted((scores or {}).items(), key=lambda kv: (-kv[1], kv[0]))[:12]
        urls = []
        for chunk in sorted({d // manifest["chunk"] for d, _ in top}):
            total += (base / f"d-{chunk}.json").stat().st_size
        for d, _ in top:
            chunk = json.loads((base / f"d-{d // manifest['chunk']}.json").read_bytes())
            urls.append(chunk[d % manifest["chunk"]][0])
        out.append((total, urls))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--no-hugo", action="store_true")
    ap.add_argument("--skip-cold", action="store_true", help="skip the from-scratch build")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3,
                    help="no-op builds and one-page rebuilds to run (the machine is shared: "
                         "the fastest is reported, every run is kept)")
    args = ap.parse_args()
    out: Path = args.out.resolve()
    vault = out / f"vault-{args.pages}"
    if not gen_vault.is_cached(vault, args.pages, 1, 0.01):
        gen_vault.generate(vault, args.pages, 1, 0.01)
    if not (vault / ".git").exists():
        subprocess.run(["git", "init", "-q", str(vault)], check=True)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"), "pages": args.pages,
        "machine": f"{platform.machine()} {os.cpu_count()} cores, "
                   f"load {os.getloadavg()[0]:.1f}",
        "python": platform.python_version()}
    build = [str(VW), "--vault", str(vault), "build", "--json"]
    if not args.no_hugo and shutil.which("hugo"):
        content = hugo_site(out, vault)
        dest = out / "hugo-out"
        shutil.rmtree(dest, ignore_errors=True)
        took, rss, _ = peak_rss(["hugo", "--source", str(out / "hugo"), "--contentDir",
                                 str(content), "--destination", str(dest), "--quiet"])
        version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout
        result["hugo"] = {"wall_seconds": round(took, 2), "peak_rss_mib": rss // 1024,
                          "files": sum(1 for _ in dest.rglob("*.html")),
                          "version": version.split()[1] if version else "?"}
        print("hugo", result["hugo"], flush=True)
    if not args.skip_cold:
        shutil.rmtree(vault / ".veriwiki", ignore_errors=True)
        shutil.rmtree(vault / "site", ignore_errors=True)
        took, rss, stdout = peak_rss(build)
        result["cold"] = {**json.loads(stdout), "wall_seconds": round(took, 2),
                          "peak_rss_mib": rss // 1024}
        print("cold", result["cold"], flush=True)
    shutil.rmtree(vault / "site", ignore_errors=True)
    took, rss, stdout = peak_rss(build)
    result["cold_site"] = {**json.loads(stdout), "wall_seconds": round(took, 2),
                           "peak_rss_mib": rss // 1024}
    print("cold_site", result["cold_site"], flush=True)
    noops = []
    for _ in range(args.repeat):
        took, rss, stdout = peak_rss(build)
        noops.append(took)
    result["noop"] = {**json.loads(stdout), "wall_seconds": round(min(noops), 2),
                      "runs": [round(t, 2) for t in noops]}
    print("noop", result["noop"], flush=True)
    pages = sorted((vault / "wiki").rglob("*.md"))
    rebuilds = []
    for i in range(args.repeat):  # a different page each time, in the middle of the vault
        page = pages[len(pages) // 2 + i]
        page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence for the bench.\n",
                        encoding="utf-8")
        took, rss, stdout = peak_rss(build)
        rebuilds.append(took)
    result["rebuild"] = {**json.loads(stdout), "wall_seconds": round(min(rebuilds), 2),
                         "runs": [round(t, 2) for t in rebuilds],
                         "load_after": round(os.getloadavg()[0], 1),
                         "page": str(page.relative_to(vault))}
    print("rebuild", result["rebuild"], flush=True)
    labelled = [q for q in json.loads((vault / gen_vault.QUERIES_NAME).read_text())
                if isinstance(q, dict) and "query" in q]
    got = search_bytes(vault / "site", [q["query"] for q in labelled])
    sizes = [n for n, _ in got]
    found = sum(1 for q, (_, urls) in zip(labelled, got, strict=True)
                if any(r[:-3] + ".html" in urls for r in q.get("relevant", [])))
    search_dir = vault / "site" / "_vw" / "search"
    result["search"] = {
        "queries": len(sizes), "first_query_bytes_median": int(statistics.median(sizes)),
        "first_query_bytes_max": max(sizes), "relevant_in_top12": found,
        "index_bytes_total": sum(p.stat().st_size for p in search_dir.iterdir()),
        "files": sum(1 for _ in search_dir.iterdir())}
    print("search", result["search"], flush=True)
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
