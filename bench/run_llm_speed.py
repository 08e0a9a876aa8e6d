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
``PYTHONPATH=DIR`` (the worker inherits it); ``--label`` names the row.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "src"))


def _spin(stop: Any) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100000):
            x += 1


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
    args = ap.parse_args()
    os.environ["OMP_WAIT_POLICY"] = args.wait_policy
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; build: {args.label}; "
          f"OMP_WAIT_POLICY={args.wait_policy}")
    print("| build | wait policy | threads | busy processes | prompt tok/s | "
          "generation tok/s |")
    print("|---|---|---|---|---|---|")
    for load in args.load:
        stop = multiprocessing.Event()
        spinners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(load)]
        for p in spinners:
            p.start()
        try:
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
        finally:
            stop.set()
            for p in spinners:
                p.join()


if __name__ == "__main__":
    main()
