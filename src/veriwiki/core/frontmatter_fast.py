"""A reader for the plainest frontmatter, giving what the YAML loader gives, or None.

Most pages' frontmatter is a few ``key: value`` lines: quoted or plain strings, a
number, a flow list ``[a, b]`` or a block list of ``- item`` lines. The YAML loader
builds those through a chain of Python calls per value; this reads them directly and
resolves each plain value with the loader's own resolvers and constructors, so a value
means the same either way (``yes`` is true, ``0x1F`` is 31, ``2024-01-01`` stays text).
Anything else (comments, nesting, anchors, escapes, multi-line values, a tab, a line
break other than ``\\n``) returns None and the YAML loader reads the block.
tests/test_frontmatter_fast.py compares the two on generated blocks.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?: +|$)")
# characters that a plain value may not start with: YAML indicators and white space
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@` ")
# anything but \n, printable ASCII and the printable non-ASCII ranges YAML reads as text
_UNUSUAL = re.compile("[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
                      "\U00010000-\U0010ffff]")
_SIMPLE_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:null",
                          "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int",
                          "tag:yaml.org,2002:float"})
_NO = object()  # not a value this reader takes


class Scalars:
    """Plain scalars resolved and built as ``loader`` would."""

    def __init__(self, loader: Any) -> None:
        self.resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = \
            loader.yaml_implicit_resolvers
        self.constructor = yaml.constructor.SafeConstructor()

    def value(self, text: str) -> Any:
        tag = "tag:yaml.org,2002:str"
        for candidate, rx in self.resolvers.get(text[:1], []) + self.resolvers.get(None, []):
            if rx.match(text):
                tag = candidate
                break
        if tag == "tag:yaml.org,2002:str":
            return text
        if tag not in _SIMPLE_TAGS:
            return _NO
        build = self.constructor.yaml_constructors[tag]
        return build(self.constructor, yaml.ScalarNode(tag, text))


def _plain(text: str, flow: bool) -> str | None:
    """``text`` as a plain scalar, when it surely is one (in a flow list: no commas,
    brackets, colons or quotes either)."""
    if not text or text[0] in _INDICATORS or text.endswith(":") or ": " in text \
            or " #" in text:
        return None
    if flow and any(c in text for c in ",[]{}:'\"#"):
        return None
    return text


def _scalar(text: str, scalars: Scalars, flow: bool = False) -> Any:
    """One value written on one line (trailing spaces already removed)."""
    quote = text[:1]
    if quote in ("\"", "'"):
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != quote or quote in inner or "\\" in inner:
            return _NO
        return inner
    plain = _plain(text, flow)
    return _NO if plain is None else scalars.value(plain)


def read_simple(block: str, scalars: Scalars) -> dict[str, Any] | None:
    """The mapping ``block`` holds, when every line is of a plain form; else None."""
    if "\t" in block or _UNUSUAL.search(block):
        return None
    lines = block.split("\n")
    out: dict[str, Any] = {}
    i, n = 0, len(lines)
    while i < n:
        line = lines[i].rstrip(" ")
        i += 1
        if not line:
            continue
        m = _KEY.match(line)
        if m is None:
            return None  # an indented line, a comment, a quoted key, ...
        key = m.group(1)
        if key in out or scalars.value(key) != key:
            return None  # a repeated key, or a key YAML reads as a number or a boolean
        rest = line[m.end():]
        if rest.startswith("["):
            if not rest.endswith("]"):
                return None
            inner = rest[1:-1].strip(" ")
            items = [] if not inner else [_scalar(x.strip(" "), scalars, flow=True)
                                         for x in inner.split(",")]
            if any(x is _NO for x in items):
                return None
            out[key] = items
        elif rest:
            value = _scalar(rest, scalars)
            if value is _NO:
                return None
            out[key] = value
        else:  # a block list of "- item" lines, or nothing (null)
            items, indent = [], None
            while i < n:
                item = lines[i].rstrip(" ")
                if not item:
                    i += 1
                    continue
                body = item.lstrip(" ")
                if not body.startswith("- "):
                    break  # the next key (the loop above refuses an indented line)
                if indent is None:
                    indent = len(item) - len(body)
                elif len(item) - len(body) != indent:
                    return None
                value = _scalar(body[2:].strip(" "), scalars)
                if value is _NO:
                    return None
                items.append(value)
                i += 1
            out[key] = items if indent is not None else None
    return out
