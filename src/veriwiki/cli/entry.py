"""The ``veriwiki`` command's entry point: the fast path first, then the full CLI.

``veriwiki search --json`` on a current index is answered by
:mod:`veriwiki.cli.fast_search` without importing click or the rest of veriwiki; every
other command line (and any case that path cannot prove) runs
:func:`veriwiki.cli.main.main`.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``veriwiki`` with ``sys.argv``."""
    if len(sys.argv) > 1 and "search" in sys.argv[1:4]:
        from veriwiki.cli.fast_search import run

        if run(sys.argv[1:]):
            return
    from veriwiki.cli.main import main as full

    full()
