"""Citations a writer meant but the parser did not read, and why.

``[@id, "quote"]`` that the inline parser rejects is left as plain text: its claim is
then neither a claim nor verified, and nothing said so. The usual causes: a ``|`` in
the quote of a table cell (the table splits the cell there before any inline parsing),
a quote or bracket left open, a typo in the form. This module compares the ``[@``
openings of a page's text with the citations the parser read on each line and
explains each one left over, so ``unread-citation`` can report it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from veriwiki.core.markdown.citations import find_close, parse_citations

_OPENING = re.compile(r"(?<!\\)\[@[A-Za-z0-9]")
_TICKS = re.compile(r"`+")
_TABLE_ROW = re.compile(r"^\s{0,3}\|")
_LOOKAHEAD_LINES = 40  # a citation may run over lines of its paragraph
MAX_OPENINGS = 200  # examined per page: a hostile page of [@ costs no more than this

NOT_CLOSED = "is never closed: a quote or the bracket is left open"
CELL_PIPE = ("is cut in two by the table: a '|' inside it ends the cell; write it as "
             "'\\|'")
NOT_A_CITATION = ("is not in the citation form [@source-id, \"exact quote\"] (a locator "
                  "such as p. 4 may come before the quote; ';' joins citations)")
NOT_READ_HERE = ("sits where no citation is read (a link's text, an image, raw HTML): "
                 "move it after the sentence")


def _mask_code_spans(line: str) -> str:
    """``line`` with its code spans blanked: a run of backticks opens one, and the next
    run of the same length closes it (one pass, however many backticks)."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(line)]
    if len(runs) < 2:
        return line
    closer: dict[int, int] = {}  # run index -> index of the next run of the same length
    seen: dict[int, int] = {}
    for k in range(len(runs) - 1, -1, -1):
        size = runs[k][1] - runs[k][0]
        if size in seen:
            closer[k] = seen[size]
        seen[size] = k
    out, pos, k = [], 0, 0
    while k < len(runs):
        if k in closer:
            a, b = runs[k][0], runs[closer[k]][1]
            out += [line[pos:a], " " * (b - a)]
            pos, k = b, closer[k] + 1
        else:
            k += 1
    return "".join(out) + line[pos:]


def _why(text: str, start: int, in_table: bool, memo: dict[int, int]) -> str | None:
    """Why the opening at ``start`` of ``text`` was not read; None when it is a link
    (``[@name](url)``, ``[@name][ref]``), which is not a citation."""
    close = find_close(text, start, len(text), memo)
    if close >= 0 and text[close + 1:close + 2] in ("(", "["):
        return None
    line_end = text.find("\n", start)
    line_end = len(text) if line_end < 0 else line_end
    if in_table and "|" in text[start:line_end if close < 0 else min(close, line_end)]:
        return CELL_PIPE
    if close < 0:
        return NOT_CLOSED
    if parse_citations(text[start + 1:close]) is None:
        return NOT_A_CITATION
    return NOT_READ_HERE


def unread_citations(src_lines: list[str], code_lines: Iterable[int],
                     read: list[tuple[int, int]]) -> tuple[tuple[int, int, str], ...]:
    """(line, column, why) of each ``[@`` opening in ``src_lines`` that no citation
    read by the parser accounts for.

    ``src_lines`` are the page's lines with frontmatter and comments blanked;
    ``code_lines`` the 1-based lines inside fenced code; ``read`` the (line, column)
    of each citation bracket the parser read. Openings inside code, indented code,
    HTML lines and links are not citations. When the parser read a bracket but its
    column could not be pinned, a line is judged by counts: only its openings beyond
    the ones read are reported, the most clearly broken first. At most
    :data:`MAX_OPENINGS` openings of a page are examined.
    """
    skip = set(code_lines)
    per_line = Counter(line for line, _ in read)
    spots = set(read)
    out: list[tuple[int, int, str]] = []
    prev_blank = True
    budget = MAX_OPENINGS
    for idx, raw_line in enumerate(src_lines):
        lineno = idx + 1
        indented = raw_line.startswith(("    ", "\t"))
        code_like = indented and prev_blank
        prev_blank = not raw_line.strip() or code_like
        if "[@" not in raw_line or lineno in skip or code_like \
                or raw_line.lstrip().startswith("<"):
            continue
        line = _mask_code_spans(raw_line)
        text = "\n".join([line, *src_lines[idx + 1:idx + _LOOKAHEAD_LINES]])
        in_table = bool(_TABLE_ROW.match(line))
        memo: dict[int, int] = {}
        found = []
        for m in _OPENING.finditer(line):
            if budget <= 0:
                break
            budget -= 1
            why = _why(text, m.start(), in_table, memo)
            if why is not None:
                found.append((m.start() + 1, why))
        extra = len(found) - per_line[lineno]
        if extra <= 0:
            continue
        left = [(col, why) for col, why in found if (lineno, col) not in spots]
        left.sort(key=lambda item: item[1] == NOT_READ_HERE)  # the clearest causes first
        out += sorted((lineno, col, why) for col, why in left[:extra])
    return tuple(out)
