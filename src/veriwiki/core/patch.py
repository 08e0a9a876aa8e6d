"""Apply a unified diff to one text, strictly: every context and removed line must match.

Agents may send a page change as a diff instead of the whole page. A hunk is placed at
its stated line or, when the page moved a little, at the nearest place where its old
lines match exactly; a hunk that matches nowhere is refused with the line it expected,
so the agent can re-read the page and try again. No fuzz: a change never lands on text
the agent did not see.
"""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(ValueError):
    """The diff is malformed or does not match the text."""


def _hunks(diff: str) -> list[tuple[int, list[str]]]:
    hunks: list[tuple[int, list[str]]] = []
    for line in diff.split("\n"):
        m = _HUNK.match(line)
        if not m and not hunks:
            continue  # the header: ---/+++, diff --git, index, mode lines
        if m:
            hunks.append((int(m.group(1)), []))
        elif hunks and line[:1] in (" ", "+", "-"):
            hunks[-1][1].append(line)
        elif hunks and line == "":
            hunks[-1][1].append(" ")  # an editor stripped a blank context line's space
        elif line.startswith("\\"):
            continue  # "\ No newline at end of file"
        elif line.strip():
            raise PatchError(f"not a unified diff line: {line[:80]!r}")
    if not hunks:
        raise PatchError("no hunk (@@ -a,b +c,d @@) in the diff")
    return hunks


def apply_patch(text: str, diff: str) -> str:
    """``text`` with the unified ``diff`` applied; PatchError when it does not apply."""
    lines = text.split("\n")
    shift = 0
    for start, body in _hunks(diff):
        while body and body[-1] == " ":
            body.pop()  # trailing blank context is ambiguous; the hunk's own lines decide
        old = [b[1:] for b in body if b[:1] in (" ", "-")]
        new = [b[1:] for b in body if b[:1] in (" ", "+")]
        want = max(0, start - 1 + shift) if old else max(0, start + shift)
        at = _place(lines, old, want)
        if at is None:
            expected = old[0] if old else ""
            raise PatchError(f"hunk at line {start} does not match the page (expected "
                             f"{expected[:60]!r} near line {start})")
        lines[at:at + len(old)] = new
        shift += len(new) - len(old)
    return "\n".join(lines)


def _place(lines: list[str], old: list[str], want: int) -> int | None:
    """The start nearest ``want`` where ``old`` matches ``lines`` exactly."""
    if not old:
        return min(want, len(lines))
    for distance in range(len(lines) + 1):
        for at in (want - distance, want + distance):
            if 0 <= at <= len(lines) - len(old) and lines[at:at + len(old)] == old:
                return at
        if want - distance < 0 and want + distance > len(lines):
            break
    return None
