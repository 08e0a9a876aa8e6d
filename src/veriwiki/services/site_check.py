"""The check a site build needs, run in a forked child while the parent collects pages."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from veriwiki.core.model import Finding, Severity
from veriwiki.services.check_quiet import Quiet, page_digest, rows_of
from veriwiki.services.check_report import CheckReport
from veriwiki.vault import Vault

CHILD_CPU: list[float] = []  # CPU seconds of each check child this process waited for
Known = tuple[dict[str, str] | None, str]  # every page's blob, the index's names digest


class SiteCheckReport(CheckReport):
    """A check report from the child: its findings stay plain tuples (rule, severity,
    path, line, message, hint, column, origin; in report order) until they are asked
    for, by page (:meth:`on_page`), by rule (:meth:`of_rule`) or all at once, so a
    rebuild makes :class:`Finding` objects for the few pages it renders only. The
    pages of ``quiet`` (:mod:`~veriwiki.services.check_quiet`) are not in ``rows``:
    each keeps its findings as JSON, decoded when asked for."""

    def __init__(self, rows: list[tuple[Any, ...]], pages: int,
                 digests: dict[str, str] | None = None,
                 quiet: dict[str, Quiet] | None = None) -> None:
        self.fresh = rows
        self.quiet = quiet or {}
        self.digests = digests
        self._rows: list[tuple[Any, ...]] | None = None if self.quiet else rows
        self._all: list[Finding] | None = None
        self._pages: dict[str, list[tuple[Any, ...]]] | None = None
        super().__init__([], pages)
        self._all = None  # the dataclass __init__ set [] through the setter

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        """Every finding as a tuple, in report order (the quiet pages' decoded)."""
        if self._rows is None:
            pages = self._by_page()
            self._rows = [row for path in self.paths() for row in pages.get(path)
                          or rows_of(path, self.quiet[path][3])]
        return self._rows

    def paths(self) -> list[str]:
        """The pages with findings, in report order."""
        if not self.quiet:
            return list(self._by_page())
        return sorted({*self._by_page(), *self.quiet})

    def _by_page(self) -> dict[str, list[tuple[Any, ...]]]:
        if self._pages is None:
            self._pages = rows_by_page(self.fresh)
        return self._pages

    @property  # type: ignore[override]
    def findings(self) -> list[Finding]:
        if self._all is None:
            self._all = [_finding(row) for row in self.rows]
        return self._all

    @findings.setter
    def findings(self, value: list[Finding]) -> None:
        self._all = value

    @property
    def counts(self) -> Counter[str]:
        counts = Counter(row[1] for row in self.fresh)
        for _, (errors, warnings, infos), _, _ in self.quiet.values():
            counts.update({"error": errors, "warning": warnings, "info": infos})
        return +counts  # without the severities none has

    @property
    def has_errors(self) -> bool:
        return (any(row[1] == "error" for row in self.fresh)
                or any(q[1][0] for q in self.quiet.values()))

    def of_rule(self, rule: str) -> list[Finding]:
        """The findings of one rule, in report order."""
        if self._rows is None:  # only the quiet pages holding the rule decoded
            pages = self._by_page()
            wanted = sorted({*(p for p, got in pages.items() if any(r[0] == rule for r in got)),
                             *(p for p, q in self.quiet.items() if rule in q[2])})
            return [_finding(row) for path in wanted
                    for row in pages.get(path) or rows_of(path, self.quiet[path][3])
                    if row[0] == rule]
        return [_finding(row) for row in self.rows if row[0] == rule]

    def on_page(self, path: str) -> list[Finding]:
        """The findings on one page, in report order (made on each call)."""
        got = self._by_page().get(path)
        if got is None and path in self.quiet:
            got = rows_of(path, self.quiet[path][3])
        return [_finding(row) for row in got or ()]


def rows_by_page(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Findings as plain tuples grouped by page path, pages and rows in report order."""
    by_page: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_page.setdefault(row[2], []).append(row)
    return by_page


def finding_digests(rows: list[tuple[Any, ...]]) -> dict[str, str]:
    """A digest of each page's findings, from findings as plain tuples (rule, severity,
    path, line, message, hint, column, origin) in report order
    (:func:`~veriwiki.services.check_quiet.page_digest`)."""
    return {path: page_digest(found) for path, found in rows_by_page(rows).items()}


_SEVERITY = {s.value: s for s in Severity}


def _finding(row: tuple[Any, ...]) -> Finding:
    rule, sev, path, line, message, hint, column, origin = row
    return Finding(rule, _SEVERITY[sev], path, line, message, hint, column, origin)


def findings_of(report: CheckReport, rule: str) -> list[Finding]:
    """The findings of ``rule`` in ``report`` (without making the others)."""
    if isinstance(report, SiteCheckReport):
        return report.of_rule(rule)
    return [f for f in report.findings if f.rule == rule]


class PageFindings(Mapping[str, list[Finding]]):
    """Path -> findings on the page, made from a :class:`SiteCheckReport` when asked."""

    def __init__(self, report: SiteCheckReport) -> None:
        self.report = report
        self._made: dict[str, list[Finding]] = {}
        self._paths = dict.fromkeys(report.paths())  # in report order

    def __getitem__(self, path: str) -> list[Finding]:
        if path not in self._paths:
            raise KeyError(path)
        got = self._made.get(path)
        if got is None:
            got = self._made[path] = self.report.on_page(path)
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)


def _fitting(fd: int, known: Known) -> bytes:
    """``known`` pickled, without the blobs unless the pipe ``fd`` can hold them (the
    child reads only after its imports: a write that fills the pipe would wait for it)."""
    import pickle

    data = pickle.dumps(known, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        import fcntl

        room = fcntl.fcntl(fd, fcntl.F_GETPIPE_SZ)
        if room <= len(data):
            room = fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, len(data) + 1)
    except (ImportError, AttributeError, OSError):
        room = 0
    if room > len(data):
        return data
    return pickle.dumps((None, known[1]), protocol=pickle.HIGHEST_PROTOCOL)


def start_check(vault: Vault, first: Callable[[], Known | None] = lambda: None
                ) -> Callable[[], CheckReport]:
    """Run ``first`` (the index update) and ``check_vault`` in a forked child after it;
    return how to wait for the check's report. What ``first`` returns (every page's
    blob and the names digest, read from the updated index) is handed to the check, so
    the child does not read them again.

    The child is forked before ``first`` runs and imports the check's code (the rules,
    the schema validator) meanwhile: it reads the vault only once ``first`` has returned
    (a byte on a pipe; when ``first`` raises, the child ends without reading it). The
    child gives back only the report, so the memory the check needs (all pages parsed,
    resolutions, source texts) is returned to the system when it ends, and the site's
    pages are collected here meanwhile. In-process where fork is missing; when the
    child fails, the check runs again here (so its error is raised with its message).
    """
    # imported by the child, not at the top: the parent never runs the rules
    if not hasattr(os, "fork"):
        from veriwiki.services.check import check_vault

        known = first()
        report = check_vault(vault, refresh=False, known=known if isinstance(
            known, tuple) and len(known) == 2 and isinstance(known[1], str) else None)
        return lambda: report
    import pickle

    go_read, go_write = os.pipe()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_fd)
            os.close(go_write)
            from veriwiki.checks import all_rules
            from veriwiki.services.check import check_vault

            all_rules()  # the rule modules, while the parent updates the index
            with os.fdopen(go_read, "rb") as go:
                ready = go.read(1) == b"1"
                sent = go.read() if ready else b""
            if ready:
                inherited = vault._index  # not used here (nor closed: the parent's)
                vault._index = None
                known = pickle.loads(sent) if sent else None  # noqa: S301 - our parent's
                quiet: dict[str, Quiet] = {}  # the pages with nothing new: kept whole
                report = check_vault(vault, refresh=False, known=known, quiet=quiet)
                # findings as plain tuples: unpickling 38k slotted dataclasses is
                # slower; the digest of each page's findings made here, off the
                # parent's path
                rows = [(f.rule, f.severity.value, f.path, f.line, f.message, f.hint,
                         f.column, f.origin) for f in report.findings]
                digests = finding_digests(rows)
                digests.update((path, q[0]) for path, q in quiet.items())
                data = pickle.dumps((report.pages, rows, digests, quiet),
                                    protocol=pickle.HIGHEST_PROTOCOL)
                with os.fdopen(write_fd, "wb") as pipe:
                    pipe.write(data)
                code = 0
                del inherited
        finally:
            os._exit(code)
    os.close(go_read)
    try:
        known = first()
    except BaseException:
        os.close(go_write)  # the child sees the pipe closed and ends
        os.close(write_fd)
        os.close(read_fd)
        os.waitpid(pid, 0)
        raise
    try:
        with os.fdopen(go_write, "wb") as sending:  # the child reads until it is closed
            sending.write(b"1")
            if isinstance(known, tuple) and len(known) == 2 and isinstance(known[1], str):
                sending.write(_fitting(go_write, known))
    except BrokenPipeError:
        pass  # the child ended early: the wait checks here instead
    os.close(write_fd)

    def wait() -> CheckReport:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        _, status, usage = os.wait4(pid, 0)
        CHILD_CPU.append(usage.ru_utime + usage.ru_stime)
        if status != 0 or not data:
            from veriwiki.services.check import check_vault

            return check_vault(vault)
        pages, rows, digests, quiet = pickle.loads(data)  # noqa: S301 - our own child's
        return SiteCheckReport(rows, pages, digests, quiet)

    return wait
