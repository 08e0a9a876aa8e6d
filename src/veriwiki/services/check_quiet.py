"""The findings of the pages a check found nothing new on, kept as they were reported.

A warm check reuses most pages' findings from their check-cache rows
(:mod:`~veriwiki.services.check_reuse`); decoding those rows, sorting their findings
into the report and hashing each page's findings is the larger part of a one-page
rebuild's check (~0.1 s of ~0.4 s at 10k pages). For the site build's check, a page
whose row holds for every facet and on which no other rule reported anything is
*quiet*: its report part is a function of the row's findings text and the rules with
their severities. That part is kept in the check cache's ``report`` table under a hash
of exactly those inputs (and of the check code), so the next check takes it without
decoding the row: its digest (the one :func:`finding_digests` gives), its counts per
severity, the rules it holds and its rows as JSON, which the site build decodes only
for the pages it shows (:class:`~veriwiki.services.site_check.SiteCheckReport`).

An entry carries a hash of itself; one that does not match, or does not decode, is
made again from the row. Entries not used by a check that used the table are dropped.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the site build's parent decodes quiet pages: no check cache there
    from veriwiki.adapters.check_cache import CheckCache

FORMAT = "1"
Quiet = tuple[str, tuple[int, int, int], tuple[str, ...], str]
"""A quiet page's report: digest, (errors, warnings, infos), rule ids, rows as JSON
(each ``[rule, severity, line, message, hint, column, origin]``, in report order)."""

_SEVERITIES = ("error", "warning", "info")


class Damaged(Exception):
    """A row's findings that do not decode (the check then decodes every row)."""


def page_digest(rows: list[tuple[Any, ...]]) -> str:
    """The digest of one page's findings as plain tuples (rule, severity, path, line,
    message, hint, column, origin) in report order: a dataclass's repr is ~10x slower."""
    return hashlib.sha256(repr(rows).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def report_key(code: str, rules: list[tuple[str, str]]) -> str:
    """What a quiet page's report depends on besides its row: the format, the check
    code and the cacheable rules run, in order, with their severities."""
    return hashlib.sha1(json.dumps([FORMAT, code, rules]).encode()).hexdigest()


def quiet_reports(cache: CheckCache, raw: dict[str, str], key: str,
                  rules: list[tuple[str, str]]) -> dict[str, Quiet]:
    """The report of every page of ``raw`` (path -> its row's findings text), from the
    cache or made from the text (kept for the next check). Raises :class:`Damaged`
    when a text does not decode."""
    stored = cache.reports()
    used: set[str] = set()
    new: dict[str, str] = {}
    out: dict[str, Quiet] = {}
    for path, text in raw.items():
        entry_key = hashlib.sha1(f"{key}\0{path}\0{text}".encode("utf-8", "surrogatepass")
                                 ).hexdigest()
        entry = _verified(stored.get(entry_key))
        if entry is None:
            made = _made(path, text, rules)
            new[entry_key] = made
            entry = _verified(made)
            assert entry is not None
        used.add(entry_key)
        out[path] = entry
    cache.use_reports(used, new)
    return out


def rows_of(path: str, data: str) -> list[tuple[Any, ...]]:
    """A quiet page's rows (:data:`Quiet`) as plain tuples (rule, severity, path, line,
    message, hint, column, origin)."""
    return [(r[0], r[1], path, *r[2:]) for r in json.loads(data)]


def stored_findings(text: str) -> dict[str, list[list[Any]]]:
    """A check-cache row's findings (rule id -> stored findings); raises ValueError or
    TypeError when damaged."""
    stored = json.loads(text) if text else {}
    if not isinstance(stored, dict):
        raise TypeError("stored findings are not a mapping")
    return stored


def stored_items(rows: list[list[Any]]) -> list[list[Any]]:
    """One rule's stored findings, each [line, message, hint, column, origin], checked;
    raises TypeError when damaged."""
    if type(rows) is not list:
        raise TypeError("stored findings are not a list")
    for row in rows:
        # by exact type (a bool is no line number): this runs once per cached finding
        if type(row) is not list or len(row) != 5:
            raise TypeError("a stored finding is damaged")
        line, message, hint, column, origin = row
        if (type(line) is not int or type(message) is not str
                or (hint is not None and type(hint) is not str)
                or (column is not None and type(column) is not int)
                or (origin is not None and type(origin) is not str)):
            raise TypeError("a stored finding is damaged")
    return rows


def _made(path: str, text: str, rules: list[tuple[str, str]]) -> str:
    try:
        stored = stored_findings(text)
        rows: list[tuple[Any, ...]] = [(rid, severity, path, *item) for rid, severity in rules
                                       if rid in stored for item in stored_items(stored[rid])]
    except (ValueError, TypeError) as exc:
        raise Damaged(path) from exc
    # the report's order within a page (stable: one rule's findings keep theirs)
    rows.sort(key=lambda r: (r[3], r[6] or 0, r[0], r[4]))
    counts = [sum(1 for r in rows if r[1] == sev) for sev in _SEVERITIES]
    data = json.dumps([[r[0], r[1], *r[3:]] for r in rows], separators=(",", ":"))
    # "digest e,w,i rule rule...\n" and the rows (ASCII: lone surrogates escaped), after
    # a hash of both; rule ids hold no space or line break
    body = (f"{page_digest(rows)} {counts[0]},{counts[1]},{counts[2]} "
            f"{' '.join(sorted({r[0] for r in rows}))}\n{data}")
    return hashlib.sha1(body.encode()).hexdigest()[:16] + body


def _verified(text: str | None) -> Quiet | None:
    """A stored entry when its hash matches and it has the expected shape."""
    if not text or len(text) < 17 or not text.isascii():
        return None
    body = text[16:]
    if hashlib.sha1(body.encode()).hexdigest()[:16] != text[:16]:
        return None
    head, _, data = body.partition("\n")
    digest, _, rest = head.partition(" ")
    counts, _, rules = rest.partition(" ")
    try:
        errors, warnings, infos = map(int, counts.split(","))
    except ValueError:
        return None
    return digest, (errors, warnings, infos), tuple(rules.split()), data
