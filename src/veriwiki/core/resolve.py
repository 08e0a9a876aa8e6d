"""Resolve link targets to pages the way Obsidian does, reporting ambiguity.

The algorithm is documented in docs/links.md; keep the two in step.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from veriwiki.core.model import Link
from veriwiki.core.names import name_list, normalize_name

_SLUG_DROP = re.compile(r"[^\w\- ]", re.UNICODE)
# an <a> tag, and its name or id: an anchor GitHub keeps and markdown links may target
# (the tag cannot run past the next '<', so a long line costs linear time)
# an <a> tag and the anchor it names: READMEs mark link targets with them
A_TAG = re.compile(r"<a\s[^<>]*>", re.I)
ANCHOR_ATTR = re.compile(r"""\s(?:name|id)\s*=\s*["']?([^"'\s>]+)""", re.I)


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    return _SLUG_DROP.sub("", unicodedata.normalize("NFC", text).strip().lower()).replace(" ", "-")


def _heading_slugs(headings: Iterable[str]) -> set[str]:
    """The GitHub anchors of a page's headings: a repeated slug gets ``-1``, ``-2`` …
    as on GitHub and in the rendered page (``render.markdown``), so a table of contents
    linking ``#usage-1`` finds the second ``Usage`` heading."""
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in headings:
        base = github_slug(heading) or "section"
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
        if "<" in heading:  # READMEs anchor a heading with HTML: #### <a name="opts"></a> …
            for tag in A_TAG.findall(heading):
                out.update(ANCHOR_ATTR.findall(tag))
    return out


@dataclass(frozen=True, slots=True)
class PageNames:
    """What the resolver needs to know about one page."""

    path: str
    title: str
    aliases: tuple[str, ...]
    headings: tuple[str, ...]
    block_ids: tuple[str, ...]
    anchors: tuple[str, ...] = ()  # HTML anchors outside headings

    def names_json(self) -> str:
        """The index's ``names`` column: aliases, headings, block ids, then the
        anchors when there are any (pages without keep the three lists)."""
        parts = [list(self.aliases), list(self.headings), list(self.block_ids)]
        if self.anchors:
            parts.append(list(self.anchors))
        return json.dumps(parts, ensure_ascii=False)

    @classmethod
    def from_json(cls, path: str, title: str, names: str) -> PageNames:
        """The names of ``path`` from its ``names`` column (see :meth:`names_json`);
        raises ValueError or TypeError on anything else."""
        aliases, headings, blocks, *rest = json.loads(names)
        if len(rest) > 1:
            raise ValueError(f"names of {path}: {len(rest) + 3} lists")
        return cls(path, title, tuple(aliases), tuple(headings), tuple(blocks),
                   tuple(rest[0]) if rest else ())


ResolutionStatus = Literal["ok", "broken", "ambiguous"]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a link leads.

    ``status`` is ``ok``, ``broken`` or ``ambiguous``. ``path`` is the page (or
    attachment) reached; ``candidates`` the pages of an ambiguous link; ``problem`` a
    human explanation when not ok.
    """

    status: ResolutionStatus
    path: str | None = None
    candidates: tuple[str, ...] = ()
    problem: str | None = None
    is_attachment: bool = False

    @property
    def is_ok(self) -> bool:
        """True when the link reaches exactly one existing target."""
        return self.status == "ok"


def _strip_md(name: str) -> str:
    return name[:-3] if name.lower().endswith(".md") else name


_MEMO_MAX = 200_000  # wikilink answers a resolver keeps (bounded for huge vaults)


class Resolver:
    """Maps link targets to pages; built once per vault snapshot."""

    def __init__(self, pages: Iterable[PageNames], attachments: Iterable[str] = (),
                 pages_root: str = "wiki") -> None:
        self.pages: dict[str, PageNames] = {}
        self._memo: dict[tuple[str, str | None], Resolution] = {}
        self.by_path: dict[str, list[str]] = defaultdict(list)
        self.by_full_path: dict[str, str] = {}
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        self.by_stem: dict[str, list[str]] = defaultdict(list)
        self.by_alias: dict[str, list[str]] = defaultdict(list)
        self.files: dict[str, str] = {}
        self.files_by_name: dict[str, list[str]] = defaultdict(list)
        self.pages_root = pages_root.strip("/")
        self._anchors: dict[str, tuple[set[str], set[str], set[str]]] = {}
        for page in pages:
            self.add_page(page)
        for path in attachments:
            norm = normalize_name(path)
            self.files[norm] = path
            self.files_by_name[normalize_name(path.rsplit("/", 1)[-1])].append(path)

    def add_page(self, page: PageNames) -> None:
        """Register one page under every name it answers to."""
        self._memo = {}
        path = page.path
        self.pages[path] = page
        no_ext = _strip_md(path)
        keys = {normalize_name(no_ext)}
        self.by_full_path[normalize_name(no_ext)] = path
        prefix = self.pages_root + "/" if self.pages_root and self.pages_root != "." else ""
        if prefix and no_ext.startswith(prefix):
            keys.add(normalize_name(no_ext[len(prefix):]))
        for key in keys:
            self.by_path[key].append(path)
        parts = normalize_name(no_ext).split("/")
        for i in range(1, len(parts) - 1):
            self.by_suffix["/".join(parts[i:])].append(path)
        self.by_stem[normalize_name(parts[-1])].append(path)
        names = {normalize_name(page.title)} | {normalize_name(a) for a in page.aliases}
        for name in names:
            if name:
                self.by_alias[name].append(path)

    def _anchor_sets(self, path: str) -> tuple[set[str], set[str], set[str]]:
        cached = self._anchors.get(path)
        if cached is None:
            page = self.pages[path]
            cached = (
                {normalize_name(h) for h in page.headings},
                _heading_slugs(page.headings) | set(page.anchors),
                {b.casefold() for b in page.block_ids},
            )
            self._anchors[path] = cached
        return cached

    def _lookup(self, target: str) -> list[str]:
        norm = normalize_name(_strip_md(target))
        if "/" in norm:
            found = self.by_path.get(norm) or self.by_suffix.get(norm.lstrip("/"))
            if found:
                return sorted(set(found))
            return []
        for table in (self.by_stem, self.by_alias):
            found = table.get(norm)
            if found:
                return sorted(set(found))
        return []

    def _attachments(self, target: str, source: str, relative: bool) -> list[str]:
        """Files a target may mean: relative or vault path, pages-folder path, suffix, name."""
        bases = [posixpath.dirname(source), ""] if relative else [""]
        if self.pages_root not in ("", "."):
            bases.append(self.pages_root)
        for base in bases:
            joined = posixpath.normpath(posixpath.join(base, target.lstrip("/")))
            hit = self.files.get(normalize_name(joined))
            if hit:
                return [hit]
        norm = normalize_name(target.lstrip("/"))
        name = norm.rsplit("/", 1)[-1]
        names = self.files_by_name.get(name, [])
        if "/" in norm:
            return sorted(p for p in names if normalize_name(p).endswith("/" + norm))
        return sorted(names)

    def resolve(self, link: Link, source: str) -> Resolution:
        """Resolve ``link`` written in page ``source`` (a vault-relative path)."""
        if link.kind in ("wikilink", "embed") and link.target and not link.target.isspace():
            # where a wikilink leads does not depend on the page it is written in, and a
            # vault links the same pages from many pages: remember each answer (cleared
            # by add_page; the tables are otherwise filled before the first resolve)
            key = (link.target, link.fragment)
            memo = self._memo
            got = memo.get(key)
            if got is None:
                if len(memo) >= _MEMO_MAX:
                    memo.clear()
                got = memo[key] = self._resolve(link, source)
            return got
        return self._resolve(link, source)

    def _resolve(self, link: Link, source: str) -> Resolution:
        target = link.target.strip()
        is_markdown = link.kind in ("markdown", "image")
        if not target:
            if link.kind == "image":
                return Resolution("broken", problem="image link has an empty target")
            found = [source] if source in self.pages else []
        else:
            found = []
            if is_markdown:
                for base in (posixpath.dirname(source), ""):
                    joined = posixpath.normpath(posixpath.join(base, target))
                    hit = self.by_full_path.get(normalize_name(joined))
                    if hit and not joined.startswith(".."):
                        found = [hit]
                        break
            if not found:
                found = self._lookup(target)
        if not found:
            has_ext = "." in target.rsplit("/", 1)[-1] and not target.lower().endswith(".md")
            if has_ext or link.kind == "image" or is_markdown:
                hits = self._attachments(target, source, is_markdown)
                if len(hits) == 1:
                    return Resolution("ok", path=hits[0], is_attachment=True)
                if len(hits) > 1:
                    return Resolution("ambiguous", candidates=tuple(hits), is_attachment=True,
                                      problem=f"'{target}' matches {len(hits)} files: "
                                              + name_list(hits))
            what = "file" if has_ext else "page"
            return Resolution("broken", problem=f"no {what} named '{target}'")
        if len(found) > 1:
            return Resolution("ambiguous", candidates=tuple(found),
                              problem=f"'{target}' matches {len(found)} pages: "
                                      + name_list(found))
        path = found[0]
        if link.fragment:
            problem = self._check_fragment(path, link.fragment, is_markdown)
            if problem:
                return Resolution("broken", path=path, problem=problem)
        return Resolution("ok", path=path)

    def _check_fragment(self, path: str, fragment: str, is_markdown: bool) -> str | None:
        headings, slugs, blocks = self._anchor_sets(path)
        if fragment.startswith("^"):
            if fragment[1:].strip().casefold() in blocks:
                return None
            return f"{path} has no block ^{fragment[1:].strip()}"
        for part in (p for p in fragment.split("#") if p.strip()):
            norm = normalize_name(part)
            if norm in headings:
                continue
            if is_markdown and (part in slugs or github_slug(part) in slugs):
                continue
            return f"{path} has no heading '{part.strip()}'"
        return None
