"""YAML frontmatter: splitting it from the body and reading it with precise errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from veriwiki.core.frontmatter_fast import Scalars, read_simple
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

_SCALARS = Scalars(_Loader)

# Bounds that keep one hostile page from taking down every command: 5,000 nested
# brackets overflow the interpreter's recursion, and a few hundred bytes of nested
# aliases expand to a billion values.
MAX_FRONTMATTER_CHARS = 65_536
MAX_DEPTH = 40
MAX_ALIAS_VALUES = 10_000


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


def _field_key(line: str) -> str | None:
    """The key of a top-level ``key: value`` line, or None.

    The key runs to the line's first colon, which must be followed by white space or
    end the line (a regular expression with a lazy key was quadratic on long lines).
    """
    colon = line.find(":", 1)
    if colon < 0 or not line or line[0].isspace() or line[0] in "#-":
        return None
    if colon + 1 < len(line) and not line[colon + 1].isspace():
        return None
    return line[:colon].strip().strip("'\"")


def _may_exceed_bounds(block: str) -> bool:
    """False when ``block`` surely nests less than MAX_DEPTH deep and has no anchors.

    Each level of nesting needs a new line, a ``[`` or ``{``, or a ``-``/``?``
    indicator, and at most two levels share one of those; counting them is far cheaper
    than walking the YAML events of every page.
    """
    if "&" in block:
        return True
    marks = (block.count("\n") + block.count("[") + block.count("{") + block.count("- ")
             + block.count("-\n") + block.count("-\t") + block.count("?") + 2)
    return 2 * marks > MAX_DEPTH


def _check_bounds(block: str) -> FrontmatterError | None:
    """Refuse frontmatter too large, too deep, or whose aliases expand too far."""
    if len(block) > MAX_FRONTMATTER_CHARS:
        return FrontmatterError(
            f"frontmatter is {len(block):,} characters, over the "
            f"{MAX_FRONTMATTER_CHARS:,}-character limit; move long data into the page body "
            "or a data/ file", 2, 1)
    if not _may_exceed_bounds(block):
        return None
    sizes: dict[str, int] = {}  # anchor -> number of values it stands for
    stack: list[list[Any]] = [[None, 0]]  # open collections: [anchor, values so far]
    expanded = 0
    try:
        for event in yaml.parse(block, Loader=_Base):
            if isinstance(event, yaml.CollectionStartEvent):
                stack.append([event.anchor, 1])
                if len(stack) - 1 > MAX_DEPTH:
                    return _bound_error(event, f"nests deeper than {MAX_DEPTH} levels")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, n = stack.pop()
                if anchor is not None:
                    sizes[anchor] = n
                stack[-1][1] += n
            elif isinstance(event, yaml.ScalarEvent):
                if event.anchor is not None:
                    sizes[event.anchor] = 1
                stack[-1][1] += 1
            elif isinstance(event, yaml.AliasEvent):
                n = sizes.get(event.anchor or "", 1)
                expanded += n
                stack[-1][1] += n
                if expanded > MAX_ALIAS_VALUES:
                    return _bound_error(event, f"has aliases that expand to more than "
                                               f"{MAX_ALIAS_VALUES:,} values")
    except yaml.YAMLError:
        return None  # the loader reports the syntax error with its position
    return None


def _bound_error(event: yaml.Event, what: str) -> FrontmatterError:
    mark = event.start_mark
    line, col = (mark.line + 2, mark.column + 1) if mark is not None else (2, 1)
    return FrontmatterError(f"frontmatter {what}; veriwiki reads no further (line {line})",
                            line, col)


def _never_closed(lines: list[str]) -> FrontmatterError:
    """The error for frontmatter with no closing line, pointing at a closing ``---``
    with text run on after it when there is one (PatternFly's docs end theirs with
    ``---## Alert examples``; other tools read that as the close)."""
    for i in range(1, len(lines)):
        line = lines[i]
        if line.startswith("---") and line.rstrip("\r")[3:].lstrip("-").strip():
            return FrontmatterError(
                f"frontmatter opened with '---' on line 1 is never closed: line {i + 1} "
                "starts with '---' but has more text after it; put the closing '---' on "
                "a line of its own", i + 1, 4)
    return FrontmatterError("frontmatter opened with '---' on line 1 is never closed", 1, 1)


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
        return Frontmatter({}, {}, _never_closed(lines), 1, 0)
    block = "\n".join(line.rstrip("\r") for line in lines[1:end])
    field_lines: dict[str, int] = {}
    for offset, text_line in enumerate(lines[1:end]):
        key = _field_key(text_line)
        if key is not None:
            field_lines.setdefault(key, offset + 2)
    # the plainest blocks (flat, no anchors: within every bound) are read without the
    # YAML loader's per-value calls, with the same result
    simple = read_simple(block, _SCALARS) if len(block) <= MAX_FRONTMATTER_CHARS else None
    if simple is not None:
        return Frontmatter(json_safe(simple), field_lines, None, end + 2, end + 1)
    bounded = _check_bounds(block)
    if bounded is not None:
        return Frontmatter({}, field_lines, bounded, end + 2, end + 1)
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
