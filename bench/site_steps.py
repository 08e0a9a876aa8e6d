"""Where one ``veriwiki build`` spends its time: a timestamp at each step of the build.

Usage::

    python bench/site_steps.py VAULT

Runs :func:`veriwiki.services.site.build_site` in-process on ``VAULT`` (into its
``site/``) and prints the seconds since start (wall, then the parent's CPU) and the
parent's resident memory (MB) when the check starts, when the parent waits for it and
gets its report, and around page collection (the index update and the resolver within
it), each group of outputs, the page keys and the rendering. The check runs in a forked child, so its own time is
the span from "check start" to "wait ends" (when the wait was not empty). Run it with
the project's virtualenv; ``PYTHONPATH=<a git archive>/src`` measures another commit.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

from veriwiki.services import site, site_parts
from veriwiki.vault import open_vault

T0 = time.perf_counter()
C0 = time.process_time()


def rss_mb() -> float:
    """This process's resident set in MB (Linux's ``/proc/self/statm``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


def mark(what: str) -> None:
    """Wall seconds since start, this process's CPU seconds (on a loaded machine the CPU
    column is the better guide to what a quiet one would take), then its RSS in MB."""
    print(f"{time.perf_counter() - T0:7.2f} {time.process_time() - C0:6.2f} "
          f"{rss_mb():7.0f}  {what}", flush=True)


def timed(module: Any, name: str, label: Callable[[tuple[Any, ...]], str] | None = None
          ) -> None:
    real = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        what = f"{name}{' ' + label(args) if label else ''}"
        mark(f"{what} >")
        out = real(*args, **kwargs)
        extra = f" ({len(out)} pages)" if name == "pages_to_key" else ""
        mark(f"{what} <{extra}")
        return out

    setattr(module, name, wrapper)


def main() -> None:
    real_start = site._start_check

    def start(vault: Any, *args: Any) -> Callable[[], Any]:
        mark("check start")  # since 2026-12-06 15:10 UTC: forked before the index update
        wait = real_start(vault, *args)

        def waiting() -> Any:
            mark("wait begins")
            report = wait()
            mark("wait ends")
            return report

        return waiting

    site._start_check = start  # type: ignore[assignment]
    for name in ("collect_pages", "finish_model", "pages_to_key", "_render_pages",
                 "update_index", "load_resolver", "build_resolver", "write_llms_full"):
        if hasattr(site, name):  # an older commit may not have it
            timed(site, name)
    for name in ("write_search", "write_lists", "write_reports", "write_sources"):
        timed(site_parts, name)
    timed(site_parts, "group_key", lambda args: str(args[3]))
    report = site.build_site(open_vault(sys.argv[1]))
    mark("done")
    from veriwiki.services import site_check

    for cpu in getattr(site_check, "CHILD_CPU", []):  # an older commit may not keep it
        print(f"the check child's CPU: {cpu:.2f} s")
    print(report.to_json())


if __name__ == "__main__":
    main()
