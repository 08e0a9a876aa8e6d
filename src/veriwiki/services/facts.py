"""Loading the vault's facts: ``data/*.csv``, ``data/*.yaml|yml`` and typed frontmatter.

See docs/facts.md for the formats. A file that cannot be read, or a row that lacks a
required field, becomes a :class:`FileProblem` of kind ``invalid-data`` (reported by the
``unreadable-file`` rule), naming the file and line; the rest of the file still loads.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any

import yaml

from veriwiki.adapters.fs import read_page_text
from veriwiki.core.facts import Fact
from veriwiki.core.model import FileProblem, Page
from veriwiki.core.names import file_name_problem
from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault

DATA_DIR = "data"
FIELDS = ("entity", "attribute", "value", "unit", "source", "quote", "as_of")
_REQUIRED = ("entity", "attribute", "value")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_TYPED_GROUPS = ("architecture", "training")
_MAX_BYTES = 20_000_000
INVALID = "invalid-data"


def load_facts(vault: Vault, pages: list[Page] | None = None
               ) -> tuple[list[Fact], list[FileProblem]]:
    """Every fact of the vault (tables first, then model pages) and the problems found."""
    facts: list[Fact] = []
    problems: list[FileProblem] = []
    folder = vault.root / DATA_DIR
    if folder.is_dir():
        for file in sorted(folder.rglob("*")):
            suffix = file.suffix.lower()
            if suffix not in (".csv", ".yaml", ".yml") or not file.is_file():
                continue
            rel = file.relative_to(vault.root).as_posix()
            if file_name_problem(rel) is not None:
                continue  # the vault walk reports it (unreadable-file)
            text = _read(vault.root, file, rel, problems)
            if text is None:
                continue
            loader = read_csv if suffix == ".csv" else read_yaml
            got, bad = loader(rel, text)
            facts += got
            problems += bad
    if pages is None:
        pages = vault.index.load_pages()
    for page in pages:
        if page.type == "model":
            facts += typed_facts(page, _page_lines(vault, page))
    return facts, problems


def _read(root: Path, file: Path, rel: str, problems: list[FileProblem]) -> str | None:
    if not os.path.realpath(file).startswith(os.path.realpath(root) + os.sep):
        problems.append(FileProblem(rel, INVALID, "data file is a symlink leaving the vault; "
                                    "veriwiki will not read it"))
        return None
    try:
        data = file.read_bytes()
    except OSError as exc:
        problems.append(FileProblem(rel, INVALID, f"cannot read data file: {exc.strerror}"))
        return None
    if len(data) > _MAX_BYTES:
        problems.append(FileProblem(rel, INVALID, f"data file is {len(data):,} bytes, over "
                                    f"the {_MAX_BYTES:,}-byte limit; split it"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        problems.append(FileProblem(rel, INVALID, "data file is not valid UTF-8; re-save it "
                                    "as UTF-8", line))
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _make(rel: str, line: int, row: dict[str, Any], problems: list[FileProblem]
          ) -> Fact | None:
    values = {k: _text(row.get(k)) for k in FIELDS}
    missing = [k for k in _REQUIRED if values[k] is None]
    if missing:
        problems.append(FileProblem(rel, INVALID, "fact is missing " + ", ".join(
            f"'{k}'" for k in missing) + "; give entity, attribute and value", line))
        return None
    as_of = values["as_of"]
    if as_of is not None and not _DATE.match(as_of):
        problems.append(FileProblem(rel, INVALID, f"as_of '{as_of}' is not a date; write "
                                    "YYYY-MM-DD (or YYYY-MM, YYYY)", line))
        return None
    if values["quote"] is not None and values["source"] is None:
        problems.append(FileProblem(rel, INVALID, "fact has a quote but no source; add the "
                                    "source id the quote comes from", line))
        return None
    return Fact(str(values["entity"]), str(values["attribute"]), str(values["value"]),
                values["unit"], values["source"].lower() if values["source"] else None,
                values["quote"], as_of, rel, line)


def read_csv(rel: str, text: str) -> tuple[list[Fact], list[FileProblem]]:
    """Facts of a CSV table whose header names at least entity, attribute, value."""
    facts: list[Fact] = []
    problems: list[FileProblem] = []
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader, [])]
    except csv.Error as exc:
        return [], [FileProblem(rel, INVALID, f"CSV header cannot be read: {exc}")]
    missing = [k for k in _REQUIRED if k not in header]
    if missing:
        return [], [FileProblem(rel, INVALID, "CSV header lacks " + ", ".join(missing) +
                                "; the first line must name the columns entity,attribute,"
                                "value,unit,source,quote,as_of")]
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(FileProblem(rel, INVALID, f"CSV row cannot be read: {exc}",
                                        reader.line_num))
            break
        if any(c.strip() for c in cells):
            row = dict(zip(header, cells, strict=False))
            fact = _make(rel, line, row, problems)
            if fact is not None:
                facts.append(fact)
        line = reader.line_num + 1
    return facts, problems


def _scalar(node: yaml.Node) -> str | None:
    if isinstance(node, yaml.ScalarNode):
        if node.tag.endswith(":null") or (node.style is None and node.value in ("", "~")):
            return None
        return str(node.value)
    return None


def _mapping_row(node: yaml.MappingNode) -> dict[str, Any]:
    return {str(k.value).strip().lower(): _scalar(v) for k, v in node.value
            if isinstance(k, yaml.ScalarNode)}


def read_yaml(rel: str, text: str) -> tuple[list[Fact], list[FileProblem]]:
    """Facts of a YAML file: a list of fact mappings, or entity → attribute → value.

    An attribute's value is a scalar, or a mapping with ``value``, ``unit``, ``source``,
    ``quote`` and ``as_of``. Values are kept as written (``4096``, ``2T``).
    """
    facts: list[Fact] = []
    problems: list[FileProblem] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return [], [FileProblem(rel, INVALID, f"YAML does not parse: {reason}",
                                mark.line + 1 if mark else 1)]
    if root is None:
        return [], []
    if isinstance(root, yaml.SequenceNode):
        for item in root.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                problems.append(FileProblem(rel, INVALID, "each list item must be a mapping "
                                            "with entity, attribute and value", line))
                continue
            fact = _make(rel, line, _mapping_row(item), problems)
            if fact is not None:
                facts.append(fact)
        return facts, problems
    if not isinstance(root, yaml.MappingNode):
        return [], [FileProblem(rel, INVALID, "a fact file holds a list of facts or a mapping "
                                "entity -> attribute -> value", root.start_mark.line + 1)]
    for key, attrs in root.value:
        entity = _scalar(key)
        if entity is None or not isinstance(attrs, yaml.MappingNode):
            problems.append(FileProblem(rel, INVALID, "expected 'entity: {attribute: value}'",
                                        key.start_mark.line + 1))
            continue
        for akey, value in attrs.value:
            line = akey.start_mark.line + 1
            row: dict[str, Any] = {"entity": entity, "attribute": _scalar(akey)}
            if isinstance(value, yaml.MappingNode):
                row.update({k: v for k, v in _mapping_row(value).items() if k in FIELDS[2:]})
            elif isinstance(value, yaml.ScalarNode):
                row["value"] = _scalar(value)
            else:
                problems.append(FileProblem(rel, INVALID, "a fact value is a scalar or a "
                                            "mapping with value, unit, source, quote, as_of",
                                            line))
                continue
            fact = _make(rel, line, row, problems)
            if fact is not None:
                facts.append(fact)
    return facts, problems


def _page_lines(vault: Vault, page: Page) -> list[str]:
    try:
        return read_page_text(vault.root, page.path, vault.vault_settings.max_page_bytes
                              ).split("\n")
    except VeriwikiError:
        return []


def _nested_line(lines: list[str], start: int, key: str) -> int:
    """The line of ``  key:`` inside the block that starts at line ``start``."""
    pattern = re.compile(rf"^\s+['\"]?{re.escape(key)}['\"]?\s*:")
    for i in range(start, min(len(lines), start + 200)):
        text = lines[i]
        if text.strip() in ("---", "...") or (text and not text[0].isspace() and i >= start):
            break
        if pattern.match(text):
            return i + 1
    return start


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def typed_facts(page: Page, lines: list[str] | None = None) -> list[Fact]:
    """Facts from a model page's ``parameters``, ``architecture.*`` and ``training.*``.

    The entity is the page title; the line is the field's own line when ``lines`` (the
    page file) are given, else the line of ``architecture:``/``training:``.
    """
    fm = page.frontmatter
    out: list[Fact] = []
    if _is_scalar(fm.get("parameters")):
        out.append(Fact(page.title, "parameters", str(fm["parameters"]), None, None, None,
                        None, page.path, page.field_lines.get("parameters", 1)))
    for group in _TYPED_GROUPS:
        block = fm.get(group)
        if not isinstance(block, dict):
            continue
        start = page.field_lines.get(group, 1)
        for key, value in block.items():
            if not _is_scalar(value) or str(value).strip() == "":
                continue
            line = _nested_line(lines, start, str(key)) if lines else start
            out.append(Fact(page.title, str(key), str(value), None, None, None, None,
                            page.path, line))
    return out


__all__ = ["DATA_DIR", "FIELDS", "INVALID", "load_facts", "read_csv", "read_yaml",
           "typed_facts"]
