"""A heading's or paragraph's inline tokens for the renderer, read without markdown-it's
inline tokenizer where the text allows it.

markdown-it's tokenizer stands on every character of its terminator set
(``md.inline.terminator_re``) and tries its rules there in order; the other characters
are text. Of the render parser's rules (``text newline escape backticks tag emphasis
citation fact_ref wikilink link embed image footnote_inline footnote_ref autolink
html_inline entity``) only ``\\n \\ ` # * _ [ { ! ^ < &`` can start one, so the
scanner below visits exactly those characters and does what the first rule that
matches there would do:

- line breaks, escapes, code spans and text as markdown-it's own rules write them
  (the trailing spaces of a line are taken from the *pending* text only, as the
  ``newline`` rule reads them: text pushed by an escape or an emphasis run is not);
- tags, citations, fact references, wikilinks and embeds by the dialect's own rule
  functions, called at the same position on a state of the same text;
- a link ``[label](dest)`` whose label holds none of the characters that start a rule
  and whose destination is one run without spaces, parentheses, quotes, ``< > \\ &``
  (no title): ``link_open`` with markdown-it's own ``normalizeLink`` of it, the text,
  ``link_close``; a ``[`` or ``![`` with no ``](`` after it on a page without link
  references is text;
- emphasis runs are text unless one could open and a later one of the same marker
  could close (markdown-it's ``scanDelims``): then no pair can form, which is when
  markdown-it leaves them as text;
- ``<`` with no ``>`` after it, ``&`` that starts no entity, ``^`` not before ``[``,
  ``!`` not before ``[`` are text.

Anything else — a possible emphasis pair, inline HTML or an autolink, an entity, an
image, a footnote, a link it does not read, a lone surrogate — returns None and the
caller parses the text with markdown-it. Adjacent text is one token, as markdown-it's
``text_join`` leaves it. ``tests/test_render_inline.py`` compares the tokens with
markdown-it's (type, tag, content, attributes, the meta the writer reads) on every
corpus, generated vaults, hand-written and hypothesis inputs.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.escape import _ESCAPED

from veriwiki.core.markdown.citations import _citation
from veriwiki.core.markdown.factrefs import _fact_ref
from veriwiki.core.markdown.fastinline import InlineToken
from veriwiki.core.markdown.tags import _tag
from veriwiki.core.markdown.wikilinks import _embed, _wikilink

__all__ = ["fast_children"]

_SPECIAL = re.compile(r"[\n\\`#*_\[{!^<&]")
# a link label read here: up to the first "]", none of the characters that start a rule
_LABEL = re.compile(r"[^\]\[\\`<{#*_&\n]*\]")
# a destination that is one run for parseLinkDestination and unescapeAll returns as
# written (no space, control character, parenthesis, backslash or ampersand), then ")"
_DEST = re.compile(r"[^\s()<>\\&\"'\x00-\x1f\x7f]+\)")
_DIGITAL = re.compile(r"&#(?:x[a-f0-9]{1,6}|[0-9]{1,7});", re.I)
_NAMED = re.compile(r"&[a-z][a-z0-9]{1,31};", re.I)
_hrefs: dict[str, str | None] = {}  # destination -> markdown-it's href (None: refused)


class _State:
    """The part of markdown-it's ``StateInline`` the dialect's rules read and write."""

    def __init__(self, src: str, env: MutableMapping[str, Any]) -> None:
        self.src = src
        self.env = env
        self.pos = 0
        self.posMax = len(src)  # noqa: N815 - markdown-it's name
        self.tokens: list[InlineToken] = []

    def push(self, ttype: str, tag: str, nesting: int) -> InlineToken:
        token = InlineToken(ttype, tag, nesting)
        self.tokens.append(token)
        return token


def _token(ttype: str, tag: str = "", nesting: int = 0, content: str = "") -> InlineToken:
    token = InlineToken(ttype, tag, nesting)
    token.content = content
    return token


def _href(md: MarkdownIt, dest: str) -> str | None:
    """markdown-it's href for ``dest`` (its ``normalizeLink``), None when it refuses it."""
    if dest in _hrefs:
        return _hrefs[dest]
    href = md.normalizeLink(dest)
    got = href if md.validateLink(href) else None
    if len(_hrefs) < 65536:
        _hrefs[dest] = got
    return got


def _line_start(src: str, pos: int, end: int) -> int:
    while pos < end and src[pos] in " \t":
        pos += 1
    return pos


def fast_children(src: str, md: MarkdownIt,  # noqa: C901 - one scanner, one branch a rule
                  env: MutableMapping[str, Any]) -> list[InlineToken] | None:
    """The inline tokens markdown-it makes of ``src`` with ``env`` (after ``text_join``),
    or None when this scanner does not read all of it (see the module's notes)."""
    state = _State(src, env)
    tokens = state.tokens
    end = len(src)
    refs = "references" in env
    head = ""  # text pushed since the last other token (escapes, emphasis runs)
    pend = ""  # markdown-it's pending text
    openers = ""  # emphasis markers seen with a run that can open
    pos = 0
    search = _SPECIAL.search

    def flush(at: int) -> None:
        nonlocal head, pend
        if head or pend:
            tokens.insert(at, _token("text", content=head + pend))
            head = pend = ""

    def matched(rule: Any, at: int) -> bool:
        count = len(tokens)
        state.pos = at
        if rule(state, False):
            flush(count)
            return True
        return False

    while True:
        m = search(src, pos)
        if m is None:
            pend += src[pos:]
            break
        at = m.start()
        if at > pos:
            pend += src[pos:at]
        ch = src[at]
        pos = at + 1
        if ch == "\n":
            kind = "softbreak"
            if pend.endswith("  "):
                pend, kind = pend.rstrip(" "), "hardbreak"
            elif pend.endswith(" "):
                pend = pend[:-1]
            flush(len(tokens))
            tokens.append(_token(kind, "br"))
            pos = _line_start(src, pos, end)
        elif ch == "\\":
            if pos >= end:
                pend += "\\"
            elif src[pos] == "\n":
                flush(len(tokens))
                tokens.append(_token("hardbreak", "br"))
                pos = _line_start(src, pos + 1, end)
            else:
                escaped = src[pos]
                if "\ud800" <= escaped <= "\udfff":
                    return None
                head, pend = head + pend + (escaped if escaped in _ESCAPED else "\\" + escaped), ""
                pos += 1
        elif ch == "`":
            run = pos
            while run < end and src[run] == "`":
                run += 1
            close = _closing_run(src, run, run - at)
            if close < 0:
                pend += src[at:run]
                pos = run
            else:
                code = src[run:close].replace("\n", " ")
                if code.startswith(" ") and code.endswith(" ") and code.strip():
                    code = code[1:-1]
                flush(len(tokens))
                tokens.append(_token("code_inline", "code", content=code))
                pos = close + run - at
        elif ch == "#":
            if matched(_tag, at):
                pos = state.pos
            else:
                pend += "#"
        elif ch in "*_":
            scanned = StateInline.scanDelims(state, at, ch == "*")  # type: ignore[arg-type]
            if scanned.can_close and ch in openers:
                return None  # a pair may form: markdown-it's emphasis decides
            if scanned.can_open:
                openers += ch
            pos = at + scanned.length
            head, pend = head + pend + src[at:pos], ""
        elif ch == "[":
            if src.startswith("[@", at) and matched(_citation, at):
                pos = state.pos
                continue
            if src.startswith("[[", at) and matched(_wikilink, at):
                pos = state.pos
                continue
            if src.startswith("[^", at):
                return None  # a footnote reference (or a link only markdown-it reads)
            count = len(tokens)
            got = _link(state, md, at, refs)
            if got is None:
                return None
            if got < 0:
                pend += "["
            else:
                flush(count)
                pos = got
        elif ch == "{":
            if matched(_fact_ref, at):
                pos = state.pos
            else:
                pend += "{"
        elif ch == "!":
            if src.startswith("![[", at) and matched(_embed, at):
                pos = state.pos
            elif src.startswith("![", at) and (refs or src.find("](", at) >= 0):
                return None  # an image: markdown-it reads it
            else:
                pend += "!"
        elif ch == "^":
            if src.startswith("^[", at):
                return None  # an inline footnote
            pend += "^"
        elif ch == "<":
            if src.find(">", pos) >= 0:
                return None  # an autolink or inline HTML may start here
            pend += "<"
        else:  # "&"
            if _DIGITAL.match(src, at) or _NAMED.match(src, at):
                return None  # an entity: markdown-it decodes it
            pend += "&"
    flush(len(tokens))
    return tokens


def _closing_run(src: str, start: int, length: int) -> int:
    """Where the next run of exactly ``length`` backticks from ``start`` begins, or -1
    (markdown-it's ``backticks`` rule, without its cache)."""
    at = start
    end = len(src)
    while True:
        found = src.find("`", at)
        if found < 0:
            return -1
        at = found + 1
        while at < end and src[at] == "`":
            at += 1
        if at - found == length:
            return found


def _link(state: _State, md: MarkdownIt, at: int, refs: bool) -> int | None:
    """Read ``[label](dest)`` at ``at``: the position after it (its tokens pushed),
    -1 when markdown-it reads no link there, None when it takes markdown-it to tell."""
    src = state.src
    if not refs and src.find("](", at) < 0:
        return -1  # no inline link closes after here, and there are no references
    label = _LABEL.match(src, at + 1)
    if label is None:
        return None
    close = label.end() - 1
    if not src.startswith("(", close + 1):
        # the label ends at this "]": with no references, no link (markdown-it then
        # looks for a reference only)
        return None if refs else -1
    dest = _DEST.match(src, close + 2)
    if dest is None:
        return None
    target = src[close + 2:dest.end() - 1]
    if not target.isprintable():
        return None
    href = _href(md, target)
    if href is None:
        return None
    opener = state.push("link_open", "a", 1)
    opener.attrs = {"href": href}
    opener.meta = {"pos": at}
    if close > at + 1:
        state.tokens.append(_token("text", content=src[at + 1:close]))
    state.push("link_close", "a", -1)
    return dest.end()
