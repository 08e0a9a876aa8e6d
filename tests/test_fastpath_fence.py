"""The fast path's fence-close test against a direct reading of CommonMark's rule: up
to three columns of indentation (a tab to the next multiple of four), at least as many
markers as opened the fence, then only spaces and tabs."""

from __future__ import annotations

import itertools

from veriwiki.core.markdown.fastlines import closes as _closes


def _rule(line: str, marker: str, run: int) -> bool:
    cols = i = 0
    while i < len(line) and line[i] in " \t":
        cols += 4 - cols % 4 if line[i] == "\t" else 1
        i += 1
    j = i
    while j < len(line) and line[j] == marker:
        j += 1
    return cols < 4 and j - i >= max(run, 1) and not line[j:].strip(" \t")


def test_fence_close_on_every_short_line() -> None:
    pieces = [" ", "\t", "`", "~", "a", "``", "```", "~~~~"]
    for size in range(6):
        for combo in itertools.product(pieces, repeat=size):
            line = "".join(combo)
            for marker in "`~":
                for run in (3, 4, 5):
                    assert _closes(line, marker, run) == _rule(line, marker, run), (
                        line, marker, run)
