"""Per-block overhead of the ``python check`` sandbox.

``python bench/sandbox_overhead.py [--runs 30]`` runs a trivial block (``pass``) and a
block that reads one fact through ``veriwiki.facts``, each ``--runs`` times through
:func:`veriwiki.adapters.sandbox.run_block`, inside bubblewrap and (for comparison)
without it, the two interleaved so that machine load hits both alike, and prints the
median, p90 and max wall time, plus the time of a cached re-check of one block.
Figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from veriwiki.adapters.isolation import UNISOLATED, Isolation, SandboxPolicy, choose_isolation
from veriwiki.adapters.sandbox import Limits, run_block
from veriwiki.core.parse import parse_page
from veriwiki.services.code_checks import facts_json, run_check_blocks


def _stats(times: list[float]) -> str:
    times = sorted(times)
    p90 = times[min(len(times) - 1, int(len(times) * 0.9))]
    return (f"median {statistics.median(times) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms, "
            f"max {times[-1] * 1000:.1f} ms")


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    limits = Limits()
    facts = [SimpleNamespace(entity="Llama 2 70B", attribute="heads", value="64", unit=None,
                             source_id="llama2", quote="64 heads", as_of=None)]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        facts_file = root / "facts.json"
        facts_file.write_bytes(facts_json(facts))
        sandboxed = choose_isolation(SandboxPolicy())
        modes = {"bubblewrap": sandboxed, "unisolated": Isolation(UNISOLATED)}
        if sandboxed.mode != "bwrap":
            print(f"no bubblewrap here: {sandboxed.problem}")
            del modes["bubblewrap"]
        for iso in modes.values():
            run_block("pass", limits, isolation=iso)  # warm the file cache
        for name, code in (("trivial block", "pass"),
                           ("facts block", "from veriwiki import facts\n"
                                           "assert facts.get('Llama 2 70B', 'heads') == 64")):
            times: dict[str, list[float]] = {mode: [] for mode in modes}
            for _ in range(args.runs):
                for mode, iso in modes.items():
                    t = time.perf_counter()
                    r = run_block(code, limits, vault_root=root, facts_file=facts_file,
                                  isolation=iso)
                    times[mode].append(time.perf_counter() - t)
                    assert r.status == "ok", r
            for mode, got in times.items():
                print(f"{name:14} {mode:11} {_stats(got)}  ({args.runs} runs)")
        page = parse_page("wiki/a.md", "```python check\npass\n```\n")
        run_check_blocks(root, root / ".veriwiki", [page], facts, limits)
        t = time.perf_counter()
        out = run_check_blocks(root, root / ".veriwiki", [page], facts, limits)
        assert out[0].cached
        print(f"cached re-check {(time.perf_counter() - t) * 1000:.2f} ms")
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}")


if __name__ == "__main__":
    main()
