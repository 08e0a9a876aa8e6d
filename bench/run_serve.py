"""Benchmark ``veriwiki serve`` on a generated vault: page view, search, save, memory.

Usage::

    python bench/run_serve.py OUT --pages 10000 [--views 200] [--saves 10] [--json FILE]
    python bench/run_serve.py OUT --pages 10000 --profile view|search|save

The driver generates (or reuses) ``OUT/serve-N`` with ``gen_vault.py``, commits it, starts
``veriwiki serve`` on a free 127.0.0.1 port as a subprocess and measures over one
keep-alive HTTP connection (so each figure is the server's time plus a loopback round
trip, well under a millisecond):

- ``startup``: seconds until ``/api/status`` answers and the first page view is served
  (the first view builds the index of a vault that has none);
- ``view``: ``GET /w/<page>`` for ``--views`` pages picked at random (seeded), each viewed
  for the first time (``first``), then the same pages again (``again``);
- ``search``: ``GET /api/search?q=…`` for each labelled query of the generator;
- ``save``: ``GET /edit/<page>``, then ``POST`` the editor form with one sentence added
  (commit, index update, re-check of that page), for ``--saves`` pages;
- ``reports``: ``/findings``, ``/health`` (trend samples of the history: as many as
  5 s allow, at least one), ``/review``, ``/review/bench`` (a one-page proposal the
  driver makes: its verdicts run the check on a scratch worktree, as the approval gate
  does) and one page's ``/history``, each requested twice (the second time from the
  per-change caches; ``/findings`` counts until the background check's report is in);
- ``rss``: the server's resident memory (``VmRSS`` of the process) idle after startup and
  idle after the run, and its peak (``VmHWM``).

``--profile`` runs the app in-process instead (Starlette's test client) under cProfile
for 50 requests of one kind and prints the top functions by cumulative time.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import math
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_vault  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin" / "python"
SERVER_ENV = dict(os.environ)  # --src points it at another checkout's code
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def prepare(out: Path, pages: int) -> Path:
    """The generated vault, committed (history and saves need a HEAD)."""
    vault = out / f"serve-{pages}"
    if not gen_vault.is_cached(vault, pages, 1, 0.01):
        gen_vault.generate(vault, pages, 1, 0.01)
    env = dict(os.environ, **GIT_ENV)
    if not (vault / ".git").exists():
        subprocess.run(["git", "init", "-q", str(vault)], check=True)
    if subprocess.run(["git", "-C", str(vault), "rev-parse", "-q", "--verify", "HEAD"],
                      capture_output=True).returncode != 0:
        if not (vault / ".gitignore").exists():
            (vault / ".gitignore").write_text(".veriwiki/\n")
        subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(vault), "commit", "-q", "-m", "bench vault"],
                       check=True, env=env)
    return vault


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """One keep-alive connection with the app's cookies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """Status, body and seconds from sending the request to reading the last byte."""
        hdrs = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        self.conn.request(method, url, body=body, headers=hdrs)
        resp = self.conn.getresponse()
        data = resp.read()
        took = time.perf_counter() - start
        for value in resp.headers.get_all("set-cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data, took


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            out[line.split(":")[0]] = int(line.split()[1])
    return out


def summary(times: list[float]) -> dict[str, float]:
    ms = sorted(t * 1000 for t in times)

    def pct(q: float) -> float:  # nearest rank
        return round(ms[max(0, math.ceil(len(ms) * q) - 1)], 2)

    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p90_ms": pct(0.9),
            "p95_ms": pct(0.95), "max_ms": round(ms[-1], 2)}


def page_url(path: str, prefix: str = "/w/") -> str:
    return prefix + quote(path[:-3], safe="/-_.~")


def editor_form(body: str) -> dict[str, str]:
    """The hidden fields and the text of the editor page."""
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', body))
    text = re.search(r'<textarea id="editor-text"[^>]*>\n?(.*?)</textarea>', body, re.S)
    if text is None or "blob" not in fields:
        raise SystemExit("the editor page has no form to save")
    return {**{k: html.unescape(v) for k, v in fields.items()},
            "text": html.unescape(text.group(1))}


def run(vault: Path, views: int, saves: int, reports: bool = True) -> dict[str, Any]:
    pages = sorted(str(p.relative_to(vault)) for p in (vault / "wiki").rglob("*.md")
                   if p.name not in ("index.md", "log.md"))
    rng = random.Random(7)
    picked = rng.sample(pages, min(views, len(pages)))
    from veriwiki.services.proposals import list_proposals, propose
    from veriwiki.vault import open_vault

    opened = open_vault(vault)
    if not any(p.id == "bench" for p in list_proposals(opened)):
        propose(opened, "ask", "bench proposal", {"wiki/Bench Proposal.md": (
            f"# Bench Proposal\n\nA new page linking [[{Path(pages[0]).stem}]].\n").encode()},
            {}, "bench")
    opened.close()
    port = free_port()
    log = vault.parent / "serve-bench.log"
    start = time.perf_counter()
    with log.open("wb") as fh:
        # python -m veriwiki rather than the console script: its entry point may not
        # exist in the code --src names
        proc = subprocess.Popen([str(PY), "-m", "veriwiki", "--vault", str(vault), "serve",
                                 "--port", str(port)],
                                stdout=fh, stderr=subprocess.STDOUT, env=SERVER_ENV)
    result: dict[str, Any] = {}
    try:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit(log.read_text()) from None
                time.sleep(0.1)
        client = Client(port)
        status, _, _ = client.request("GET", "/api/status")
        listening = time.perf_counter() - start
        status, _, first = client.request("GET", page_url(pages[0]))
        assert status == 200, status
        result["startup"] = {"listening_s": round(listening, 2),
                             "first_view_s": round(first, 2)}
        time.sleep(2)
        result["rss_idle_after_start_mib"] = round(rss_kib(proc.pid)["VmRSS"] / 1024, 1)
        print("startup", result["startup"], result["rss_idle_after_start_mib"], flush=True)
        firsts, agains = [], []
        for path in picked:
            status, _, took = client.request("GET", page_url(path))
            assert status == 200, (status, path)
            firsts.append(took)
        for path in picked:
            status, _, took = client.request("GET", page_url(path))
            agains.append(took)
        result["view"] = {"first": summary(firsts), "again": summary(agains)}
        print("view", result["view"], flush=True)
        queries = [q["query"] for q in json.loads((vault / gen_vault.QUERIES_NAME).read_text())
                   if isinstance(q, dict) and "query" in q]
        times = []
        for q in queries:
            status, body, took = client.request("GET", "/api/search?" + urlencode({"q": q}))
            assert status == 200, (status, body[:300])
            times.append(took)
        result["search"] = summary(times)
        print("search", result["search"], flush=True)
        save_times, edit_times = [], []
        save_load = [round(os.getloadavg()[0], 2)]
        for path in rng.sample(pages, saves):
            status, body, took = client.request("GET", page_url(path, "/edit/"))
            assert status == 200, (status, path)
            edit_times.append(took)
            form = editor_form(body.decode())
            form["text"] = form["text"].rstrip("\n") + "\n\nOne more sentence for the bench.\n"
            form["message"] = "bench: one sentence"
            data = urlencode(form).encode()
            status, body, took = client.request(
                "POST", page_url(path, "/edit/"), data,
                {"Content-Type": "application/x-www-form-urlencoded",
                 "Origin": f"http://127.0.0.1:{port}"})
            assert status == 303, (status, body[:500])
            save_times.append(took)
        result["editor_open"] = summary(edit_times)
        result["save"] = summary(save_times)
        result["save"]["load_1min_before_after"] = [*save_load, round(os.getloadavg()[0], 2)]
        print("save", result["save"], flush=True)
        report_times: dict[str, float] = {}
        for name, url in () if not reports else (("findings", "/findings"), ("health", "/health"),
                          ("review", "/review"), ("proposal", "/review/bench"),
                          ("history", page_url(pages[1], "/history/"))):
            for run_no in ("first", "again"):
                began = time.perf_counter()
                while True:  # /findings reloads until the background check has reported
                    status, body, took = client.request("GET", url)
                    assert status == 200, (status, url, body[:300])
                    if b'id="check-pending"' not in body:
                        break
                    time.sleep(0.5)
                report_times[f"{name}_{run_no}_ms"] = round(
                    (time.perf_counter() - began) * 1000, 1)
        result["reports"] = report_times
        print("reports", report_times, flush=True)
        time.sleep(3)
        mem = rss_kib(proc.pid)
        result["rss_idle_after_run_mib"] = round(mem["VmRSS"] / 1024, 1)
        result["rss_peak_mib"] = round(mem["VmHWM"] / 1024, 1)
        print("rss", result["rss_idle_after_run_mib"], result["rss_peak_mib"], flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return result


def profile(vault: Path, kind: str) -> None:
    """50 requests of ``kind`` (5 saves) in-process, the app's worker thread under
    cProfile; prints the top functions. The editor page a save needs is profiled too."""
    import cProfile
    import pstats
    import threading

    from starlette.testclient import TestClient

    from veriwiki.web.app import create_app
    from veriwiki.web.context import WebContext

    prof = cProfile.Profile()
    active = threading.Event()
    plain = WebContext._call

    def profiled(self: WebContext, fn: Any, args: tuple[Any, ...]) -> Any:
        # the vault work runs on the app's worker thread: profile it there
        if not active.is_set():
            return plain(self, fn, args)
        self._worker_ident = threading.get_ident()
        return prof.runcall(fn, *args)

    WebContext._call = profiled  # type: ignore[method-assign]

    pages = sorted(str(p.relative_to(vault)) for p in (vault / "wiki").rglob("*.md")
                   if p.name not in ("index.md", "log.md"))
    rng = random.Random(11)
    with TestClient(create_app(vault, watch=False), base_url="http://127.0.0.1") as client:
        client.get(page_url(pages[0]))
        queries = [q["query"] for q in json.loads((vault / gen_vault.QUERIES_NAME).read_text())
                   if isinstance(q, dict) and "query" in q]
        active.set()
        for i in range(50 if kind != "save" else 5):
            path = rng.choice(pages)
            if kind == "view":
                client.get(page_url(path))
            elif kind == "search":
                client.get("/api/search", params={"q": queries[i % len(queries)]})
            else:
                form = editor_form(client.get(page_url(path, "/edit/")).text)
                form["text"] = form["text"].rstrip("\n") + "\n\nOne more sentence.\n"
                form["message"] = "bench"
                got = client.post(page_url(path, "/edit/"), data=form, follow_redirects=False)
                assert got.status_code == 303, got.text[:500]
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pages", type=int, default=10000)
    ap.add_argument("--views", type=int, default=200)
    ap.add_argument("--saves", type=int, default=10)
    ap.add_argument("--profile", choices=("view", "search", "save"))
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--no-reports", action="store_true",
                    help="skip the report views (findings, health, review, history)")
    ap.add_argument("--src", type=Path, default=ROOT / "src",
                    help="the veriwiki code to measure (e.g. a worktree of an older commit)")
    args = ap.parse_args()
    src = str(args.src.resolve())
    sys.path.insert(0, src)
    SERVER_ENV["PYTHONPATH"] = os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    vault = prepare(out, args.pages)
    if args.profile:
        profile(vault, args.profile)
        return
    load = os.getloadavg()
    result: dict[str, Any] = {
        "src": src, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "pages": args.pages,
        "machine": f"{platform.machine()} {os.cpu_count()} cores",
        "load_before": [round(x, 1) for x in load], "python": platform.python_version(),
        **run(vault, args.views, args.saves, not args.no_reports)}
    result["load_after"] = [round(x, 1) for x in os.getloadavg()]
    text = json.dumps(result, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
