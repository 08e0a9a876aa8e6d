"""The rendered view of marked-up text: what a reader sees, with a map back to the raw text.

People copy quotes from the rendered model card, not from its markdown source, so quote
matching and number reading also look at this view. :func:`render` drops, in one pass:

- emphasis and strikethrough markers (``**2.5**T`` → ``2.5T``; a ``_`` inside a word
  is kept), code-span backticks, backslash escapes (``\\~40`` → ``~40``);
- link and image syntax, keeping the link text and the image's alt text;
- inline HTML tags and comments (``<sup>†</sup>`` → ``†``), with entities decoded
  (``&amp;`` → ``&``); ``<br>`` becomes a space;
- heading marks, block-quote marks, list bullets and list numbers at the start of a
  line;
- table pipes (cells are separated by a space) and table delimiter rows;
- TeX math in ``$…$``, ``$$…$$``, ``\\(…\\)``: delimiters, braces, ``_`` and ``^``
  dropped and common commands replaced by their symbol (``$d_{model}=512$`` →
  ``dmodel=512``, ``$3 \\times 10^{-4}$`` → ``3 × 10-4``).

In ``numbers`` mode a superscript (``<sup>-4</sup>``, TeX ``^{-4}``) keeps a ``^`` in
front of it, so ``3 x 10<sup>-4</sup>`` reads as ``3 x 10^-4``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

MARKUP_CHARS = frozenset("*_`\\[]<>&$|#")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_TAG = re.compile(r"<!--.*?-->|</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>", re.S)
_LINK = re.compile(r"(!?)\[([^\[\]\n]*)\](?:\(([^()\s]*(?:\s+\"[^\"]*\")?)\)|\[[^\[\]\n]*\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^<>\s]+)>")
_LINE_START = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|(?:>[ \t]?)+|[-*+][ \t]+|[0-9]{1,3}[.)][ \t]+)",
                         re.M)
_TABLE_RULE = re.compile(r"^[ \t]*\|?(?:[ \t]*:?-{2,}:?[ \t]*\|)+[ \t]*(?::?-{2,}:?)?[ \t]*$", re.M)
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(?=[^\s$])([^$\n]+?)(?<=[^\s\\])\$(?![0-9])|\\\((.+?)\\\)",
                   re.S)
_TEX_COMMAND = re.compile(r"\\([A-Za-z]+|[,;:! ])")
_TEX_SYMBOLS = {
    "times": "×", "cdot": "·", "sqrt": "√", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥",
    "approx": "≈", "sim": "~", "pm": "±", "neq": "≠", "infty": "∞", "to": "→",
    "rightarrow": "→", "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ",
    "epsilon": "ε", "eta": "η", "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π",
    "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω", "ldots": "…", "dots": "…",
    "%": "%", ",": " ", ";": " ", ":": " ", " ": " ", "!": "",
}
_Put = Callable[..., None]
_SINGLES = re.compile(r"""\\(?=[\\`*_{}\[\]()#+\-.!|<>~$&"'])|`|\|""")


@dataclass(frozen=True, slots=True)
class View:
    """A transformed text and, per character, the raw offset it came from.

    ``origins`` has one more entry than ``text``: the raw end offset.
    """

    text: str
    origins: tuple[int, ...]

    def span(self, i: int, j: int) -> tuple[int, int]:
        """The raw ``(start, end)`` of view characters ``i:j``."""
        if j <= i:
            return self.origins[i], self.origins[i]
        return self.origins[i], self.origins[j - 1] + 1


class _Out:
    """Collects view characters with their raw offsets."""

    def __init__(self) -> None:
        self.chars: list[str] = []
        self.origins: list[int] = []

    def add(self, text: str, origin: int, *, each: bool = False) -> None:
        self.chars.append(text)
        self.origins.extend(range(origin, origin + len(text)) if each
                            else [origin] * len(text))


def is_marked_up(text: str) -> bool:
    """Whether ``text`` holds any character the rendered view could change."""
    return not MARKUP_CHARS.isdisjoint(text)


def _drops(text: str, numbers: bool) -> dict[int, tuple[int, str]]:
    """Raw spans to replace: start → (end, replacement)."""
    out: dict[int, tuple[int, str]] = {}
    taken = bytearray(len(text))  # 1 where an earlier (stronger) replacement applies

    def put(i: int, j: int, rep: str = "") -> None:
        if j > i and taken.find(1, i, j) < 0:
            out[i] = (j, rep)
            taken[i:j] = b"\x01" * (j - i)

    for m in _TABLE_RULE.finditer(text):
        put(m.start(), m.end())
    for m in _MATH.finditer(text):
        g = 1 if m.group(1) is not None else 2 if m.group(2) is not None else 3
        _math(text, m.start(g), m.end(g), numbers, put)
        put(m.start(), m.start(g))
        put(m.end(g), m.end())
    for m in _LINE_START.finditer(text):
        put(m.start(), m.end())
    for m in _AUTOLINK.finditer(text):
        put(m.start(), m.start(1))
        put(m.end(1), m.end())
    for m in _LINK.finditer(text):
        put(m.start(), m.start(2))
        put(m.end(2), m.end())
    for m in _TAG.finditer(text):
        name = (m.group(1) or "").lower()
        rep = " " if name in ("br", "p", "div", "li", "td", "th", "tr") else ""
        if name == "sup" and numbers and not m.group().startswith("</") \
                and re.match(r"\s*[-+−–]?[0-9]", text[m.end() : m.end() + 8]):
            rep = "^"
        put(m.start(), m.end(), rep)
    for m in _ENTITY.finditer(text):
        put(m.start(), m.end(), html.unescape(m.group()))
    _emphasis(text, put)
    for m in _SINGLES.finditer(text):
        i = m.start()
        if m.group() != "|":
            put(i, i + 1)
        elif _in_table_row(text, i):
            put(i, i + 1, " ")
    return out


def _in_table_row(text: str, i: int) -> bool:
    start = text.rfind("\n", 0, i) + 1
    return text[start : i + 1].lstrip(" \t").startswith("|")


def _math(text: str, i: int, j: int, numbers: bool, put: _Put) -> None:
    """Replacements inside a TeX math span ``text[i:j]``."""
    for m in _TEX_COMMAND.finditer(text, i, j):
        name = m.group(1)
        put(m.start(), m.end(), _TEX_SYMBOLS.get(name, ""))
    for k in range(i, j):
        c = text[k]
        if (c in "{}" and text[k - 1 : k] != "\\") or c == "_" or (c == "^" and not numbers):
            put(k, k + 1)


def _emphasis(text: str, put: _Put) -> None:
    """Drop paired runs of ``*`` or ``_`` that a renderer reads as emphasis."""
    for line_m in re.finditer(r"[^\n]+", text):
        runs = [m for m in re.finditer(r"\*+|_+|~~", line_m.group())]
        stack: list[tuple[str, int, int]] = []
        base = line_m.start()
        for m in runs:
            s, e = base + m.start(), base + m.end()
            before, after = text[s - 1 : s], text[e : e + 1]
            ch = m.group()[0]
            closes = bool(before) and not before.isspace()
            opens = bool(after) and not after.isspace()
            if ch == "_":
                closes = closes and not after.isalnum()
                opens = opens and not before.isalnum()
            hit = next((k for k in range(len(stack) - 1, -1, -1)
                        if stack[k][0] == m.group()), None) if closes else None
            if hit is not None:
                _, os_, oe = stack[hit]
                outer_before, outer_after = text[os_ - 1 : os_], after
                if not (ch == "*" and len(m.group()) == 1 and outer_before.isalnum()
                        and outer_after.isalnum()):  # "2*3*4" is arithmetic
                    put(os_, oe)
                    put(s, e)
                del stack[hit:]
            elif opens:
                stack.append((m.group(), s, e))


def _render(text: str, numbers: bool) -> View:
    drops = _drops(text, numbers)
    out = _Out()
    i, n = 0, len(text)
    starts = sorted(drops)
    k = 0
    while i < n:
        while k < len(starts) and starts[k] < i:
            k += 1
        nxt = starts[k] if k < len(starts) else n
        if nxt > i:
            out.add(text[i:nxt], i, each=True)
            i = nxt
            continue
        end, rep = drops[i]
        out.add(rep, i)
        i = end
    out.origins.append(n)
    return View("".join(out.chars), tuple(out.origins))


_render_cached = lru_cache(maxsize=128)(_render)


def render(text: str, *, numbers: bool = False) -> View:
    """The rendered view of ``text`` (see the module docstring), with its offset map."""
    if not is_marked_up(text):
        return View(text, tuple(range(len(text) + 1)))
    return (_render_cached if len(text) >= 1024 else _render)(text, numbers)
