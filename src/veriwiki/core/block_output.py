"""Comparing what a ``python check`` block printed with its ``output`` block."""

from __future__ import annotations

import difflib


def normalise_output(text: str) -> list[str]:
    """Lines with trailing white space removed, and no trailing empty lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def output_diff(expected: str, actual: str, limit: int = 12) -> list[str] | None:
    """A short unified diff (expected → printed), or None when they agree."""
    want, got = normalise_output(expected), normalise_output(actual)
    if want == got:
        return None
    diff = list(difflib.unified_diff(want, got, "expected", "printed", lineterm="", n=1))[2:]
    return diff[:limit] + (["…"] if len(diff) > limit else [])
