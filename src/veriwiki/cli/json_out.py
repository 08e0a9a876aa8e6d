"""``--json`` output written in pieces, with the bytes ``json.dumps`` would give.

:func:`write_json` writes what ``json.dumps(data, ensure_ascii=False, indent=2)``
returns, with C1 controls and DEL escaped and a final newline, without building the
whole text: a list wrapped in :class:`Items` is encoded one item at a time (a check at
100k pages reports ~380k findings: their dicts and the text, ~0.5 GiB, were held at
once), and flat objects (a finding) take a fast path instead of the pure-Python
encoder that ``indent`` selects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from json.encoder import encode_basestring as _quote  # ensure_ascii=False, C when built
from typing import Any, TextIO

# DEL and C1 controls: json leaves them raw; a terminal may act on them
_C1 = re.compile("[\x7f-\x9f]")
_BATCH = 512  # pieces joined per write
_END = object()


def c1_escaped(text: str) -> str:
    """``text`` with DEL and C1 controls as ``\\u00XX`` escapes (inside JSON strings,
    the only place they can be)."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class Items:
    """A JSON list whose items come from an iterable, encoded one at a time."""

    __slots__ = ("items",)

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items


def write_json(data: Any, out: TextIO) -> None:
    """Write ``data`` as indented JSON and a newline (see the module docstring)."""
    batch: list[str] = []
    for piece in _pieces(data, 0):
        batch.append(piece)
        if len(batch) >= _BATCH:
            out.write(c1_escaped("".join(batch)))
            batch.clear()
    batch.append("\n")
    out.write(c1_escaped("".join(batch)))


def dumps(data: Any) -> str:
    """What :func:`write_json` writes, as one string (without the final newline)."""
    return "".join(_pieces(data, 0))


def _pieces(value: Any, level: int) -> Iterator[str]:
    if isinstance(value, Items):
        yield from _list(iter(value.items), level)
    elif isinstance(value, dict) and _streams(value):
        yield from _object(value, level)
    elif isinstance(value, (list, tuple)) and _streams(value):
        yield from _list(iter(value), level)
    else:
        yield _plain(value, level)


def _streams(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> bool:
    """True when an :class:`Items` is somewhere inside ``value``."""
    values = value.values() if isinstance(value, dict) else value
    return any(isinstance(v, Items) or (isinstance(v, (dict, list, tuple)) and _streams(v))
               for v in values)


def _list(items: Iterator[Any], level: int) -> Iterator[str]:
    first = next(items, _END)
    if first is _END:
        yield "[]"
        return
    inner = "\n" + "  " * (level + 1)
    yield "[" + inner
    yield from _pieces(first, level + 1)
    for item in items:
        yield "," + inner
        yield from _pieces(item, level + 1)
    yield "\n" + "  " * level + "]"


def _object(value: dict[Any, Any], level: int) -> Iterator[str]:
    inner = "\n" + "  " * (level + 1)
    sep = "{" + inner
    for key, item in value.items():
        yield sep + _key(key) + ": "
        yield from _pieces(item, level + 1)
        sep = "," + inner
    yield "\n" + "  " * level + "}"


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(_quote(key))
    # json turns int, float, bool and None keys into strings (and refuses others)
    return json.dumps({key: None}, ensure_ascii=False)[1:-7]


def _scalar(value: Any) -> str | None:
    """The JSON of a str, int, bool or None (None for any other value)."""
    if isinstance(value, str):
        return str(_quote(value))
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    return None


def _plain(value: Any, level: int) -> str:
    """``value`` (no :class:`Items` inside) as json.dumps indents it at ``level``."""
    if isinstance(value, dict) and value and all(type(k) is str for k in value):
        inner = "\n" + "  " * (level + 1)
        parts = []
        for key, item in value.items():
            text = _scalar(item)
            if text is None:
                break
            parts.append(_quote(key) + ": " + text)
        else:  # a flat object (a finding): no pure-Python encoder
            return "{" + inner + ("," + inner).join(parts) + "\n" + "  " * level + "}"
    text = _scalar(value)
    if text is not None:
        return text
    text = json.dumps(value, ensure_ascii=False, indent=2)
    return text.replace("\n", "\n" + "  " * level) if level else text
