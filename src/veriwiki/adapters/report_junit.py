"""``check --junit FILE``: the findings as JUnit XML for CI dashboards.

One ``testcase`` per page (and per other file with findings); one ``failure`` per
error finding; warnings and info go to the test case's ``system-out``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from veriwiki.adapters.writes import atomic_write
from veriwiki.core.model import Finding, Severity

# characters XML 1.0 cannot hold at all (escaping does not help): shown as U+FFFD
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _INVALID.sub("\ufffd", text)


def _message(f: Finding) -> str:
    """The message, labelled when a model produced the finding."""
    return f"{f.message} [{f.origin_label}]" if f.origin else f.message


def _line(f: Finding) -> str:
    col = f":{f.column}" if f.column else ""
    text = f"{f.path}:{f.line}{col} {f.severity.value} {f.rule}: {_message(f)}"
    return _clean(text + (f"\n  hint: {f.hint}" if f.hint else ""))


def junit_xml(findings: list[Finding], paths: Iterable[str], *, name: str = "veriwiki check"
              ) -> bytes:
    """The JUnit XML document (UTF-8, with declaration) for ``findings`` over ``paths``."""
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for f in findings:
        by_path[f.path].append(f)
    cases = sorted(set(paths) | set(by_path))
    failures = sum(1 for f in findings if f.severity is Severity.ERROR)
    root = ET.Element("testsuites", name="veriwiki", tests=str(len(cases)),
                      failures=str(failures), errors="0")
    suite = ET.SubElement(root, "testsuite", name=name, tests=str(len(cases)),
                          failures=str(failures), errors="0", skipped="0")
    for path in cases:
        folder, _, _file = path.rpartition("/")
        case = ET.SubElement(suite, "testcase", name=_clean(path),
                             classname=_clean(folder.replace("/", ".")) or "vault",
                             file=_clean(path))
        notes = []
        for f in by_path.get(path, []):
            if f.severity is Severity.ERROR:
                fail = ET.SubElement(case, "failure", type=f.rule,
                                     message=_clean(f"line {f.line}: {_message(f)}"))
                fail.text = _line(f)
            else:
                notes.append(_line(f))
        if notes:
            ET.SubElement(case, "system-out").text = "\n".join(notes)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(file: str, findings: list[Finding], paths: Iterable[str], vault_root: Path
                ) -> None:
    """Write the report to ``file`` (relative to the working folder), never through a link.

    A pull request can commit ``veriwiki.xml`` (or a folder on the way) as a link to a
    file of the CI runner; inside the vault no link is followed at all, elsewhere the
    file itself must not be one (UnsafePathError).
    """
    target = Path(os.path.abspath(file))
    inside = target.is_relative_to(vault_root)
    atomic_write(target, junit_xml(findings, paths), root=vault_root if inside else None)
