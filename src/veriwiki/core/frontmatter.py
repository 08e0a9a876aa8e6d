"""YAML frontmatter: splitting it from the body and reading it with precise errors."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import yaml

from veriwiki.core.model import FrontmatterError

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe YAML loader that keeps dates as the strings written.

    An impossible date (2024-13-01) then reaches schema validation as text instead of
    crashing the YAML constructor, and round-trips unchanged.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _Base.yaml_implicit_resolvers.items()
}

_FIELD = re.compile(r"^([^\s#\-][^:]*?)\s*:(?:\s|$)")


@dataclass(frozen=True, slots=True)
class Frontmatter:
    """The result of reading a page's frontmatter.

    ``body_line`` is the 1-based line where the body starts; ``yaml_lines`` the number
    of lines the frontmatter block occupies (0 when there is none).
    """

    data: dict[str, Any]
    field_lines: dict[str, int]
    error: FrontmatterError | None
    body_line: int
    yaml_lines: int


def json_safe(value: Any) -> Any:
    """Convert YAML values into JSON-compatible ones (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [json_safe(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def read_frontmatter(text: str) -> Frontmatter:
    """Split and parse the frontmatter at the top of ``text``.

    Frontmatter starts with a first line ``---`` and ends at the next line ``---`` or
    ``...``. Errors carry file line and column numbers.
    """
    if not (text.startswith("---\n") or text.startswith("---\r\n") or text == "---"):
        return Frontmatter({}, {}, None, 1, 0)
    lines = text.split("\n")
    end = None
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r").rstrip() in ("---", "..."):
            end = i
            break
    if end is None:
        err = FrontmatterError(
            "frontmatter opened with '---' on line 1 is never closed", 1, 1)
        return Frontmatter({}, {}, err, 1, 0)
    block = "\n".join(line.rstrip("\r") for line in lines[1:end])
    field_lines: dict[str, int] = {}
    for offset, text_line in enumerate(lines[1:end]):
        m = _FIELD.match(text_line)
        if m:
            key = m.group(1).strip().strip("'\"")
            field_lines.setdefault(key, offset + 2)
    try:
        data = yaml.load(block, Loader=_Loader) if block.strip() else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = (mark.line + 2) if mark else 2
        col = (mark.column + 1) if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        err = FrontmatterError(f"frontmatter is not valid YAML: {problem}", line, col)
        return Frontmatter({}, field_lines, err, end + 2, end + 1)
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        err = FrontmatterError(f"frontmatter is not valid YAML: {exc}", 2, 1)
        return Frontmatter({}, field_lines, err, end + 2, end + 1)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        err = FrontmatterError(
            f"frontmatter must be a mapping of fields, not a {type(data).__name__}", 2, 1)
        return Frontmatter({}, field_lines, err, end + 2, end + 1)
    return Frontmatter(json_safe(data), field_lines, None, end + 2, end + 1)


def dump_frontmatter(data: dict[str, Any]) -> str:
    """Render frontmatter fields as a ``---`` block (keys in the given order)."""
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{body}---\n"
