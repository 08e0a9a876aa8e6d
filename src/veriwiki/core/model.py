"""Domain values: pages, links, headings, findings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from veriwiki.core.claims import Claim


class Severity(StrEnum):
    """How serious a finding is; ``off`` disables a rule."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"
    OFF = "off"


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading of a page, with its 1-based line."""

    level: int
    text: str
    line: int


LinkKind = Literal["wikilink", "embed", "markdown", "image"]


@dataclass(frozen=True, slots=True)
class Link:
    """An outgoing link as written in a page.

    ``kind`` is ``wikilink``, ``embed``, ``markdown`` or ``image``. ``target`` is the
    part before ``#`` (URL-decoded for markdown links); ``fragment`` the part after
    it (``Heading``, ``A#B`` or ``^block``), or ``None``.
    """

    kind: LinkKind
    target: str
    fragment: str | None
    label: str | None
    raw: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A fenced code block: its info string, text and the line of its opening fence."""

    info: str
    content: str
    line: int


@dataclass(frozen=True, slots=True)
class FrontmatterError:
    """Why a page's frontmatter could not be read, and where."""

    message: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Page:
    """A parsed page.

    ``path`` is vault-relative with ``/`` separators. ``frontmatter`` is JSON-safe
    (dates as ISO strings). ``field_lines`` maps each top-level frontmatter key to its
    line. ``body`` is the text after the frontmatter.
    """

    path: str
    title: str
    aliases: tuple[str, ...]
    type: str | None
    tags: tuple[str, ...]
    summary: str
    frontmatter: dict[str, Any]
    field_lines: dict[str, int]
    frontmatter_error: FrontmatterError | None
    headings: tuple[Heading, ...]
    links: tuple[Link, ...]
    block_ids: tuple[tuple[str, int], ...]
    code_blocks: tuple[CodeBlock, ...]
    footnote_refs: tuple[tuple[str, int], ...] = ()
    footnote_defs: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()
    uncited: tuple[tuple[int, str], ...] = ()
    fact_refs: tuple[tuple[str, str, int, int], ...] = ()  # (entity, attribute, line, column)
    # [@ openings the parser did not read as citations: (line, column, why)
    unread_citations: tuple[tuple[int, int, str], ...] = ()
    # HTML anchors outside headings (<a id="x"></a>, <a name="x">): link targets too
    anchors: tuple[str, ...] = ()
    body: str = field(default="", repr=False)

    @property
    def stem(self) -> str:
        """The file name without ``.md``."""
        name = self.path.rsplit("/", 1)[-1]
        return name[:-3] if name.lower().endswith(".md") else name


@dataclass(frozen=True, slots=True)
class Finding:
    """What a check rule reports."""

    rule: str
    severity: Severity
    path: str
    line: int
    message: str
    hint: str | None = None
    column: int | None = None
    origin: str | None = None  # "model:<id>" for a model-derived finding (check --llm)

    @property
    def origin_label(self) -> str | None:
        """How people see the origin: ``model: SmolLM2`` (None for deterministic rules)."""
        if not self.origin:
            return None
        kind, _, detail = self.origin.partition(":")
        return f"{kind}: {detail}" if detail else kind

    def to_json(self) -> dict[str, Any]:
        """The finding as the JSON object ``check --json`` prints."""
        out: dict[str, Any] = {
            "rule": self.rule,
            "severity": self.severity.value,
            "path": self.path,
            "line": self.line,
            "message": self.message,
        }
        if self.column is not None:
            out["column"] = self.column
        if self.hint:
            out["hint"] = self.hint
        if self.origin:
            out["origin"] = self.origin
        return out


@dataclass(frozen=True, slots=True)
class FileProblem:
    """A file veriwiki refused to read (encoding, binary, size, unsafe symlink)."""

    path: str
    kind: str
    message: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class SourceVersion:
    """One stored version of a source: ``raw/<id>/<file>``, never modified once written.

    ``added`` is the ISO date it was added; ``sha256`` the hash of its bytes.
    """

    version: int
    file: str
    sha256: str
    added: str
    size: int
    media_type: str
    url: str | None = None  # where the bytes were downloaded from (add URL, refresh)
    retrieved: str | None = None  # when, as an ISO timestamp in UTC


@dataclass(frozen=True, slots=True)
class Source:
    """A source in ``raw/<id>/``: its metadata sidecar and versions (oldest first)."""

    id: str
    title: str
    origin: str | None
    license: str | None
    versions: tuple[SourceVersion, ...]

    @property
    def current(self) -> SourceVersion:
        """The newest version (the one a citation without ``:vN`` means)."""
        return max(self.versions, key=lambda v: v.version)

    def version(self, number: int) -> SourceVersion | None:
        """Version ``number``, or None when there is no such version."""
        return next((v for v in self.versions if v.version == number), None)


@dataclass(frozen=True, slots=True)
class SourceText:
    """The text extracted from one source version.

    ``pages`` holds the offset in ``text`` where each PDF page starts (pages are joined
    with ``"\\n\\f\\n"``); it is empty for sources without pages.
    """

    text: str
    pages: tuple[int, ...] = ()

    def page_of(self, offset: int) -> int | None:
        """The 1-based page holding ``offset``, or None for sources without pages."""
        from bisect import bisect_right  # local: keeps this module's imports untouched

        if not self.pages or offset < 0:
            return None
        return max(1, bisect_right(self.pages, offset))
