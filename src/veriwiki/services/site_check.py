"""The check a site build needs, run in a forked child while the parent collects pages."""

from __future__ import annotations

import os
from collections.abc import Callable

from veriwiki.core.model import Finding, Severity
from veriwiki.services.check_report import CheckReport
from veriwiki.services.site_model import finding_digests
from veriwiki.vault import Vault

CHILD_CPU: list[float] = []  # CPU seconds of each check child this process waited for


class SiteCheckReport(CheckReport):
    """A check report with the digest of each page's findings its child made."""

    digests: dict[str, str] | None = None


def start_check(vault: Vault) -> Callable[[], CheckReport]:
    """Start ``check_vault`` in a forked child and return how to wait for its report.

    The child gives back only the report, so the memory the check needs (all pages
    parsed, resolutions, source texts) is returned to the system when it ends, and the
    site's pages are collected here meanwhile. In-process where fork is missing; when
    the child fails, the check runs again here (so its error is raised with its message).
    """
    # imported here, not at the top: the parent never runs the rules, so their modules
    # (and the schema validator) are imported by the child while the parent works
    if not hasattr(os, "fork"):
        from veriwiki.services.check import check_vault

        report = check_vault(vault, refresh=False)
        return lambda: report
    import pickle

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 1
        try:
            os.close(read_fd)
            from veriwiki.services.check import check_vault

            inherited = vault._index  # not used here (nor closed: the parent's connection)
            vault._index = None
            # collect_pages has just brought the index up to date
            report = check_vault(vault, refresh=False)
            # findings as plain tuples: unpickling 38k slotted dataclasses is slower;
            # the site's digest of each page's findings made here, off the parent's path
            rows = [(f.rule, f.severity.value, f.path, f.line, f.message, f.hint, f.column,
                     f.origin) for f in report.findings]
            data = pickle.dumps((report.pages, rows, finding_digests(rows)),
                                protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(data)
            code = 0
            del inherited
        finally:
            os._exit(code)
    os.close(write_fd)

    def wait() -> CheckReport:
        with os.fdopen(read_fd, "rb") as pipe:
            data = pipe.read()
        _, status, usage = os.wait4(pid, 0)
        CHILD_CPU.append(usage.ru_utime + usage.ru_stime)
        if status != 0 or not data:
            from veriwiki.services.check import check_vault

            return check_vault(vault)
        pages, rows, digests = pickle.loads(data)  # noqa: S301 - our own child's output
        severity = {s.value: s for s in Severity}
        report = SiteCheckReport(
            [Finding(rule, severity[sev], path, line, message, hint, column, origin)
             for rule, sev, path, line, message, hint, column, origin in rows], pages)
        report.digests = digests
        return report

    return wait
