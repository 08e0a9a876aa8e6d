"""Freshness as pure logic: review intervals, a page's review state, stamping dates.

A page is due for review ``review_every`` after its ``reviewed`` date. The interval is
the page's own ``review_every``, else the ``[freshness]`` setting of the longest
matching ``by_folder`` prefix, else ``by_type`` for the page's type, else
``review_every``. Units: ``d`` days, ``w`` weeks, ``m`` 30 days, ``y`` 365 days.

No clock here: callers pass the date (the check passes the vault's ``today()``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from veriwiki.core.model import Page
from veriwiki.errors import ConfigError, InputError

if TYPE_CHECKING:
    from veriwiki.config import FreshnessSettings
    from veriwiki.settings import FreshnessValues

_INTERVAL = re.compile(r"^([0-9]+)([dwmy])$")
_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}
_REVIEWED_LINE = re.compile(rb"^reviewed[ \t]*:")
_FENCE = re.compile(rb"^---[ \t]*(\r?\n|$)")


def parse_interval(text: Any) -> int | None:
    """Days in an interval such as ``90d``, ``12w``, ``6m``, ``1y``; None when invalid."""
    if not isinstance(text, str):
        return None
    m = _INTERVAL.match(text.strip())
    if not m or int(m.group(1)) == 0:
        return None
    return int(m.group(1)) * _DAYS[m.group(2)]


def check_settings(settings: FreshnessSettings | FreshnessValues) -> None:
    """Raise one ConfigError naming every ``[freshness]`` interval that does not parse."""
    bad = [f"{table}.\"{key}\" = {value!r}"
           for table, values in (("by_type", settings.by_type), ("by_folder", settings.by_folder))
           for key, value in values.items() if parse_interval(value) is None]
    if bad:
        raise ConfigError("[freshness] intervals must look like 90d, 12w, 6m or 1y: "
                          + ", ".join(bad), path="veriwiki.toml",
                          hint="fix the values in the [freshness] table")


def _in_folder(path: str, folder: str) -> bool:
    folder = folder.strip("/")
    return folder in ("", ".") or path == folder or path.startswith(folder + "/")


def interval_for(page: Page, settings: FreshnessSettings | FreshnessValues, default_type: str | None = None
                 ) -> tuple[str, str] | None:
    """The review interval that applies to ``page`` and where it comes from."""
    own = page.frontmatter.get("review_every")
    if own is not None:
        return (str(own), "page") if parse_interval(own) else None
    folders = [f for f in settings.by_folder if _in_folder(page.path, f)]
    if folders:
        best = max(folders, key=lambda f: len(f.strip("/")))
        return settings.by_folder[best], f"[freshness] by_folder.\"{best}\""
    ptype = page.type or default_type
    if ptype and ptype in settings.by_type:
        return settings.by_type[ptype], f"[freshness] by_type.{ptype}"
    if settings.review_every:
        return settings.review_every, "[freshness] review_every"
    return None


@dataclass(frozen=True, slots=True)
class Freshness:
    """A page's review state: ``due`` is None when it was never reviewed."""

    path: str
    interval: str
    origin: str
    reviewed: dt.date | None
    due: dt.date | None
    today: dt.date

    @property
    def is_stale(self) -> bool:
        """True when the review is overdue or was never done."""
        return self.due is None or self.due < self.today

    @property
    def overdue_days(self) -> int | None:
        """Days past the due date (None when never reviewed)."""
        return None if self.due is None else (self.today - self.due).days

    def to_json(self) -> dict[str, Any]:
        """The freshness as ``status --json`` prints it."""
        return {"path": self.path, "interval": self.interval, "from": self.origin,
                "reviewed": self.reviewed.isoformat() if self.reviewed else None,
                "due": self.due.isoformat() if self.due else None,
                "overdue_days": self.overdue_days}


def page_freshness(page: Page, settings: FreshnessSettings | FreshnessValues, on: dt.date,
                   default_type: str | None = None) -> Freshness | None:
    """The review state of ``page`` on date ``on``; None when no interval applies.

    An unreadable ``reviewed`` value also gives None: ``schema-violation`` reports it.
    """
    found = interval_for(page, settings, default_type)
    if found is None:
        return None
    interval, origin = found
    days = parse_interval(interval)
    if days is None:
        return None
    raw = page.frontmatter.get("reviewed")
    if raw is None:
        return Freshness(page.path, interval, origin, None, None, on)
    try:
        reviewed = dt.date.fromisoformat(str(raw)[:10]) if len(str(raw)) >= 10 else None
    except ValueError:
        reviewed = None
    if reviewed is None:
        return None
    return Freshness(page.path, interval, origin, reviewed,
                     reviewed + dt.timedelta(days=days), on)


def stamp_reviewed(data: bytes, date: dt.date) -> bytes:
    """``data`` with ``reviewed: <date>`` set in its frontmatter; every other byte kept.

    Replaces an existing top-level ``reviewed:`` line, else inserts one before the
    closing ``---``; a page without frontmatter gets a new block at the top.
    """
    stamp = f"reviewed: {date.isoformat()}".encode()
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    body = data[len(bom):]
    lines = body.splitlines(keepends=True)
    if lines and _FENCE.match(lines[0]):
        nl = b"\r\n" if lines[0].endswith(b"\r\n") else b"\n"
        for i in range(1, len(lines)):
            line = lines[i]
            if _FENCE.match(line) or line.rstrip(b"\r\n") == b"...":
                return bom + b"".join(lines[:i]) + stamp + nl + b"".join(lines[i:])
            if _REVIEWED_LINE.match(line):
                end = line[len(line.rstrip(b"\r\n")):]
                j = i + 1  # drop continuation lines of a multi-line value
                while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
                    j += 1
                return bom + b"".join(lines[:i]) + stamp + (end or nl) + b"".join(lines[j:])
        raise InputError("the frontmatter has no closing '---' line",
                         hint="fix the frontmatter, then run 'veriwiki reviewed' again")
    nl = b"\r\n" if b"\r\n" in body[:200] else b"\n"
    return bom + b"---" + nl + stamp + nl + b"---" + nl + body
