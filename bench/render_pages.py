"""The rendering cost of one page, in one process: milliseconds a page for ``render_page``.

Usage::

    python bench/render_pages.py VAULT [--pages N] [--repeat R] [--profile FILE]
                                       [--dump DIR] [--once]

Builds the site model of ``VAULT`` in-process (index update and check, as ``veriwiki
build`` does; run ``veriwiki build`` once first so both caches are warm), then renders
the first ``N`` pages (path order; all when 0) ``R`` times with
:func:`veriwiki.services.site_pages.render_page` and prints the best and median pass
as milliseconds a page. No files are written, no workers are forked: this is the cost
each render worker pays per page (the site store's rows are read into memory first, as
the build does before forking them). ``--profile`` writes a cProfile of one more pass (with ``--repeat 0``,
of the first: the one a build's worker makes);
``--dump`` writes each page's HTML under DIR (to compare two commits byte for byte);
``--once`` first renders every page of the vault once (each new to the process, as in a
build) and prints the mean.
``PYTHONPATH=<a git archive>/src`` measures another commit.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import statistics
import sys
import time
from pathlib import Path

from veriwiki.services import site_pages
from veriwiki.services.site import collect_site
from veriwiki.vault import open_vault


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("vault", type=Path)
    ap.add_argument("--pages", type=int, default=2000, help="pages rendered a pass (0: all)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--dump", type=Path, default=None)
    ap.add_argument("--once", action="store_true",
                    help="render every page of the vault once, 2,000 at a time (what a "
                         "build's workers pay in all: every page is new to them)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    model = collect_site(open_vault(args.vault))
    # as the build does before forking its render workers: the store's rows and the
    # resolver's tables read into memory (code without them reads them on first use)
    for held in (model.pages, getattr(model.resolver, "source", None)):
        fill = getattr(held, "fill", None)
        if fill is not None:
            try:
                fill(model.resolver)
            except TypeError:  # older code: fill() takes nothing
                fill()
    gc.freeze()  # as the build does: the collector leaves the model's objects alone
    paths = sorted(model.pages)
    if args.pages:
        paths = paths[:args.pages]
    print(f"model of {len(model.pages)} pages in {time.perf_counter() - t0:.1f} s; "
          f"rendering {len(paths)} a pass, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    if args.once:
        chunks = []
        every = sorted(model.pages)
        for start in range(0, len(every), 2000):
            c0 = time.process_time()
            for path in every[start:start + 2000]:
                site_pages.render_page(model, path)
            chunks.append((time.process_time() - c0, len(every[start:start + 2000])))
        print(f"render_page, every page once: {sum(c for c, _ in chunks) / len(every) * 1000:.3f}"
              " ms/page (CPU; 2,000 at a time: "
              f"{', '.join(f'{c / n * 1000:.2f}' for c, n in chunks)})")
    passes = []
    for _ in range(args.repeat):
        c0 = time.process_time()
        for path in paths:
            site_pages.render_page(model, path)
        passes.append((time.process_time() - c0) / len(paths) * 1000)
    if passes:
        print(f"render_page: best {min(passes):.3f} ms/page, median "
              f"{statistics.median(passes):.3f} ms/page (CPU; passes "
              f"{', '.join(f'{p:.3f}' for p in passes)})")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for path in paths:
            site_pages.render_page(model, path)
        prof.disable()
        prof.dump_stats(str(args.profile))
    if args.dump:
        for path in paths:
            dest = args.dump / (path + ".html")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(site_pages.render_page(model, path), encoding="utf-8")


if __name__ == "__main__":
    main()
