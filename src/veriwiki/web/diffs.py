"""Line diffs as small HTML tables (escaped), for the merge view."""

from __future__ import annotations

import difflib
from html import escape

MAX_LINES = 4000


def side_by_side(a: str, b: str, label_a: str, label_b: str) -> str:
    """A unified line diff of ``a`` → ``b`` as an HTML table (changed hunks only)."""
    lines_a = a.replace("\r\n", "\n").split("\n")[:MAX_LINES]
    lines_b = b.replace("\r\n", "\n").split("\n")[:MAX_LINES]
    rows = [f'<table class="diff"><thead><tr><th></th><th>{escape(label_a)} → '
            f'{escape(label_b)}</th></tr></thead><tbody>']
    shown = 0
    for line in difflib.unified_diff(lines_a, lines_b, lineterm="", n=2):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            rows.append(f'<tr class="hunk"><td></td><td>{escape(line)}</td></tr>')
            continue
        kind = {"+": "add", "-": "del"}.get(line[:1], "same")
        rows.append(f'<tr class="{kind}"><td>{escape(line[:1])}</td>'
                    f"<td><code>{escape(line[1:])}</code></td></tr>")
        shown += 1
    if not shown:
        rows.append('<tr><td></td><td class="none">no difference</td></tr>')
    rows.append("</tbody></table>")
    return "".join(rows)
