"""Tables of the site model made when first asked for, not for every page of a build:
where a cited quote is in its source, a page's citation verdicts."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from veriwiki.core.model import Finding, Page, SourceText
from veriwiki.render.chips import CiteKey, Verdict, page_verdicts


class PagesAndFindings(Protocol):
    """What :class:`PageVerdicts` reads of the site model."""

    @property
    def pages(self) -> Mapping[str, Page]: ...

    @property
    def findings(self) -> Mapping[str, list[Finding]]: ...


class QuotePlaces(dict[tuple[str, int, str], "tuple[int, int, str] | None"]):
    """Where a cited quote is in its source version, ``(source, version, quote) ->
    (start, end, where)`` or None when it is not there: found the first time asked for
    (:meth:`get`), so a build looks up the quotes of the pages it renders only."""

    def __init__(self, texts: dict[tuple[str, int], SourceText]) -> None:
        super().__init__()
        self.texts = texts

    def get(self, key: tuple[str, int, str], default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            from veriwiki.core.quotes import find_quote

            text = self.texts.get((key[0], key[1]))
            found = find_quote(text.text, key[2]) if text is not None else None
            if found is None:
                self[key] = None
            else:
                where = f"p. {found.page}, line {found.line}" if found.page \
                    else f"line {found.line}"
                self[key] = (found.start, found.end, where)
        return dict.get(self, key, default)


class PageVerdicts(dict[str, "dict[CiteKey, list[Verdict]]"]):
    """A page's citation verdicts by citation (pages with claims), made the first time
    asked for (:meth:`get`) from the page and its findings."""

    def __init__(self, model: PagesAndFindings | None) -> None:
        super().__init__()
        self.model = model

    def get(self, path: str, default: Any = None) -> Any:  # type: ignore[override]
        m = self.model
        if path not in self and m is not None and path in m.pages:
            page = m.pages[path]
            if page.claims:
                self[path] = page_verdicts(page, m.findings.get(path, ()))
        return dict.get(self, path, default)


def texts_digest(texts: dict[tuple[str, int], SourceText]) -> str:
    """A digest of the source texts (where each quote is found is made from them and
    the quote: with it and the citations, a digest stands for every quote place)."""
    h = hashlib.sha256()
    for (sid, version), text in sorted(texts.items()):
        h.update(f"{sid}\0{version}\0".encode("utf-8", "surrogatepass"))
        h.update(repr(text).encode("utf-8", "surrogatepass"))
        h.update(b"\1")
    return h.hexdigest()
