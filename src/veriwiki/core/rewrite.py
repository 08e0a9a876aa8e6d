"""Rewriting link targets inside page text, keeping labels, fragments and layout."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from urllib.parse import quote

from veriwiki.core.model import Link


@dataclass(frozen=True, slots=True)
class LinkEdit:
    """Point ``link`` (as parsed from the text being edited) at ``new_target``.

    ``new_target`` is, for wikilinks and embeds, the name to put inside ``[[...]]``;
    for markdown links, the vault-relative path of the new target file.
    """

    link: Link
    new_target: str


def _wikilink_raw(link: Link, target: str) -> str:
    inner = target
    if link.fragment is not None:
        inner += "#" + link.fragment
    if link.label is not None:
        inner += ("\\|" if "\\|" in link.raw else "|") + link.label
    return ("![[" if link.kind == "embed" else "[[") + inner + "]]"


def _find_destination(line: str, start: int) -> tuple[int, int] | None:
    """Span of the link destination after the ``](`` that follows ``start``."""
    open_at = line.find("](", start)
    if open_at < 0:
        return None
    i = open_at + 2
    while i < len(line) and line[i] in " \t":
        i += 1
    if i < len(line) and line[i] == "<":
        end = line.find(">", i)
        return (i, end + 1) if end >= 0 else None
    depth = 0
    j = i
    while j < len(line):
        ch = line[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch in " \t":
            break
        j += 1
    return (i, j)


def markdown_destination(old_dest: str, source_path: str, new_path: str) -> str:
    """A destination for ``new_path`` written the way ``old_dest`` was written."""
    angle = old_dest.startswith("<")
    body = old_dest[1:-1] if angle else old_dest
    _, hash_, fragment = body.partition("#")
    rel = posixpath.relpath(new_path, posixpath.dirname(source_path) or ".")
    had_md = body.partition("#")[0].lower().endswith(".md")
    if not had_md and rel.lower().endswith(".md"):
        rel = rel[:-3]
    encoded = rel if angle else quote(rel, safe="/")
    dest = encoded + (hash_ + fragment if hash_ else "")
    return f"<{dest}>" if angle else dest


def apply_link_edits(text: str, source_path: str, edits: list[LinkEdit]) -> str:
    """``text`` with each edited link pointing at its new target."""
    if not edits:
        return text
    lines = text.split("\n")
    by_line: dict[int, list[LinkEdit]] = {}
    for edit in edits:
        by_line.setdefault(edit.link.line, []).append(edit)
    for line_no, items in by_line.items():
        idx = line_no - 1
        if not 0 <= idx < len(lines):
            continue
        line = lines[idx]
        for edit in sorted(items, key=lambda e: e.link.column, reverse=True):
            link = edit.link
            col = link.column - 1
            if link.kind in ("wikilink", "embed"):
                pos = line.find(link.raw, col)
                if pos < 0:
                    pos = line.find(link.raw)
                if pos < 0:
                    continue
                line = line[:pos] + _wikilink_raw(link, edit.new_target) + line[pos + len(link.raw):]
            else:
                span = _find_destination(line, col)
                if span is None:
                    continue
                a, b = span
                new_dest = markdown_destination(line[a:b], source_path, edit.new_target)
                line = line[:a] + new_dest + line[b:]
        lines[idx] = line
    return "\n".join(lines)
