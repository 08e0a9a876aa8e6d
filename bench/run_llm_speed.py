"""Speed of the embedded model: prompt and generation tokens/s, idle and under load.

``python bench/run_llm_speed.py --threads 1 2 --load 0 2`` starts the embedded model's
worker process (adapters/llm_worker.py) once per setting and measures, after a warm-up:

* prompt: a ~600-token prompt answered with one token (llama.cpp's batched path);
* generation: 64 tokens after a short prompt;

each ``--repeat`` times (median reported). ``--load N`` runs N busy processes (pure
Python loops) for the duration of the measurement, as another job on the machine
would. ``--wait-policy`` sets OMP_WAIT_POLICY for the worker (PASSIVE is veriwiki's
default; ACTIVE is llama.cpp's busy-wait). To compare another build of
llama-cpp-python, install it with ``pip install --target DIR`` and run with
``PYTHONPATH=DIR`` (the worker inherits it); ``--label`` names the row. On a machine
whose load varies, ``--compare DIR --rounds N`` alternates the installed build and the
one in DIR, one measurement each per round, and reports the medians side by side.
``--commands`` instead times the CLI: ``veriwiki ingest --mode write`` of examples/sources/gqa-note.md
and one ``veriwiki ask`` in a fresh copy of the demo vault, per thread count and load,
reporting seconds per command and per model call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100000):
            x += 1


@contextlib.contextmanager
def busy(load: int) -> Iterator[None]:
    """Run ``load`` busy processes (pure-Python loops) for the duration of the block."""
    stop = multiprocessing.Event()
    spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(load)]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in spinners:
            p.join()


def _model_path() -> str:
    import llm

    model = llm.get_model("SmolLM2")
    return str(model.model_path)


def measure(threads: int, repeat: int) -> dict[str, float]:
    from veriwiki.adapters.llm_runtime import EmbeddedRuntime

    rt = EmbeddedRuntime("SmolLM2", _model_path(), n_ctx=2048, threads=threads, timeout=900)
    long = " ".join(f"Model {i} has {i * 4} layers and {i} key-value heads."
                    for i in range(1, 60))
    prompt = [{"role": "user", "content": "Which model has 12 layers?\n\n" + long}]
    short = [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]
    try:
        rt.chat(short, temperature=0.0, max_tokens=4, response_format=None)  # load, warm up
        pp, tg = [], []
        n_prompt = n_gen = 0
        for _ in range(repeat):
            t = time.perf_counter()
            out = rt.chat(prompt, temperature=0.0, max_tokens=1, response_format=None)
            pp.append(time.perf_counter() - t)
            n_prompt = out["usage"]["prompt_tokens"]
            t = time.perf_counter()
            out = rt.chat(short, temperature=0.0, max_tokens=64, response_format=None)
            tg.append(time.perf_counter() - t)
            n_gen = out["usage"]["completion_tokens"]
    finally:
        rt.close()
    return {"prompt_tokens": n_prompt, "prompt_s": statistics.median(pp),
            "prompt_tok_s": n_prompt / statistics.median(pp),
            "gen_tokens": n_gen, "gen_s": statistics.median(tg),
            "gen_tok_s": n_gen / statistics.median(tg)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--load", type=int, nargs="+", default=[0, 2],
                    help="busy processes running beside the model")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--wait-policy", default="PASSIVE", choices=["PASSIVE", "ACTIVE"])
    ap.add_argument("--label", default="portable")
    ap.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    ap.add_argument("--compare", type=Path, default=None,
                    help="a --target folder holding another llama-cpp-python build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--commands", action="store_true",
                    help="time veriwiki ingest and ask instead of raw token rates")
    args = ap.parse_args()
    os.environ["OMP_WAIT_POLICY"] = args.wait_policy
    if args.compare:
        compare(args)
        return
    if args.commands:
        commands(args)
        return
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; build: {args.label}; "
          f"OMP_WAIT_POLICY={args.wait_policy}")
    print("| build | wait policy | threads | busy processes | prompt tok/s | "
          "generation tok/s |")
    print("|---|---|---|---|---|---|")
    for load in args.load:
        with busy(load):
            for threads in args.threads:
                row = measure(threads, args.repeat)
                row.update(threads=threads, load=load, build=args.label,
                           wait_policy=args.wait_policy, date=time.strftime("%Y-%m-%d"))
                print(f"| {args.label} | {args.wait_policy} | {threads} | {load} | "
                      f"{row['prompt_tok_s']:.0f} ({row['prompt_tokens']} tok in "
                      f"{row['prompt_s']:.2f} s) | {row['gen_tok_s']:.1f} "
                      f"({row['gen_tokens']} tok in {row['gen_s']:.2f} s) |", flush=True)
                if args.out:
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")


def _demo_vault(root: Path) -> Path:
    import shutil
    import subprocess

    repo = HERE.parent
    exe = str(Path(sys.executable).parent / "veriwiki")
    vault = root / "vault"
    subprocess.run([exe, "init", str(vault)], check=True, capture_output=True)
    shutil.copytree(repo / "examples" / "sample", vault / "wiki", dirs_exist_ok=True)
    git = ["git", "-C", str(vault), "-c", "user.name=bench", "-c", "user.email=b@example.org"]
    subprocess.run([*git, "add", "wiki"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "sample"], check=True, capture_output=True)
    subprocess.run([exe, "--vault", str(vault), "add", str(repo / "examples" / "sources" /
                                                         "llama2.md"), "--id", "llama2"],
                   check=True, capture_output=True)
    return vault


def _timed(args: list[str]) -> tuple[float, dict[str, Any]]:
    import subprocess

    exe = str(Path(sys.executable).parent / "veriwiki")
    t = time.perf_counter()
    proc = subprocess.run([exe, *args, "--json"], capture_output=True, text=True, check=True)
    return time.perf_counter() - t, json.loads(proc.stdout)


def commands(args: argparse.Namespace) -> None:
    """Seconds per `ingest` and `ask` (and per model call) by threads and load."""
    import tempfile

    note = HERE.parent / "examples" / "sources" / "gqa-note.md"
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; OMP_WAIT_POLICY="
          f"{args.wait_policy}; load average before: {os.getloadavg()[0]:.1f}")
    print("| command | threads | busy processes | seconds | model calls | s per call |")
    print("|---|---|---|---|---|---|")
    for load in args.load:
        with busy(load):
            for threads in args.threads:
                os.environ["VERIWIKI_LLM_THREADS"] = str(threads)
                with tempfile.TemporaryDirectory() as tmp:
                    vault = _demo_vault(Path(tmp))
                    secs, out = _timed(["--vault", str(vault), "ingest", str(note),
                                        "--mode", "write"])
                    calls = sum(u["calls"] for u in out["results"][0]["usage"].values())
                    rows = [("ingest --mode write gqa-note.md", secs, calls)]
                    secs, out = _timed(["--vault", str(vault), "ask",
                                        "How many KV heads does Llama 2 70B use?"])
                    calls = sum(u["calls"] for u in out["usage"].values())
                    rows.append(("ask", secs, calls))
                for name, secs, calls in rows:
                    print(f"| {name} | {threads} | {load} | {secs:.1f} | {calls} | "
                          f"{secs / max(calls, 1):.1f} |", flush=True)
                    if args.out:
                        with args.out.open("a") as fh:
                            fh.write(json.dumps({"command": name, "threads": threads,
                                                 "load": load, "seconds": secs,
                                                 "calls": calls,
                                                 "date": time.strftime("%Y-%m-%d")}) + "\n")
    os.environ.pop("VERIWIKI_LLM_THREADS", None)


def compare(args: argparse.Namespace) -> None:
    """Alternate two builds round by round; medians of each (threads: the first given)."""
    threads = args.threads[0]
    rows: dict[str, list[dict[str, float]]] = {args.label: [], "compared": []}
    base = os.environ.get("PYTHONPATH", "")
    for _ in range(args.rounds):
        for label, path in ((args.label, base), ("compared", str(args.compare))):
            os.environ["PYTHONPATH"] = path
            rows[label].append(measure(threads, 1))
    os.environ["PYTHONPATH"] = base
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; {args.rounds} alternating "
          f"rounds, {threads} thread(s), OMP_WAIT_POLICY={args.wait_policy}")
    print("| build | prompt tok/s (median) | generation tok/s (median) |")
    print("|---|---|---|")
    for label, runs in rows.items():
        name = label if label != "compared" else f"compared ({args.compare})"
        pp = statistics.median(r["prompt_tok_s"] for r in runs)
        tg = statistics.median(r["gen_tok_s"] for r in runs)
        print(f"| {name} | {pp:.0f} | {tg:.1f} |")
        if args.out:
            with args.out.open("a") as fh:
                fh.write(json.dumps({"build": name, "threads": threads, "rounds": args.rounds,
                                     "prompt_tok_s": pp, "gen_tok_s": tg,
                                     "date": time.strftime("%Y-%m-%d")}) + "\n")


if __name__ == "__main__":
    main()
