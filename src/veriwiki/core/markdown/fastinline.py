"""Inline half of the index parse's fast path (see ``fastpath``): the inline tokens
``core.parse`` reads from a heading's or paragraph's text, found without markdown-it's
tokenizer.

The scanner stops where markdown-it's tokenizer would stand on a character that starts
a rule (``\\ ` # [ { ! <``). Citations, wikilinks, embeds, fact references and tags are
read by the dialect's own rule functions; links and images whose label is plain text
and code spans closed inside it and whose destination is one simple run are read here. Anything else at such a place
(``<``, a label holding markup, a title, a reference link) is read by markdown-it's own
rules (``link``, ``image``, ``autolink``, ``html_inline``, in its order) run on a
``StateInline`` of the same text standing at the same position: the tokenizer would try
the same rules there and nothing before them can match. Text tokens outside link labels
are left out: ``core.parse`` does not read them.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any, cast

from markdown_it import MarkdownIt
from markdown_it.common.utils import normalizeReference
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.escape import _ESCAPED
from markdown_it.token import Token

from veriwiki.core.markdown.citations import _citation
from veriwiki.core.markdown.external import KEEPS_WEB_LINKS
from veriwiki.core.markdown.factrefs import _fact_ref
from veriwiki.core.markdown.tags import _tag
from veriwiki.core.markdown.wikilinks import _embed, _wikilink
from veriwiki.core.names import tag_at

_SPECIAL = re.compile(r"[\\`#\[{!<]")
_LABEL_MARKUP = frozenset("[\\<{\n`#")
_BAD_DEST = frozenset(" \t\n()<>\\&\"'")
# A destination markdown-it's normalizeLink returns as written (no scheme, no host, only
# characters mdurl keeps, valid escapes) and validateLink accepts (no scheme).
_PLAIN_DEST = re.compile(r"(?!//)(?:[A-Za-z0-9._~/#-]|%[0-9A-Fa-f]{2})+")
# A backslash escape in a destination that markdown-it's unescapeAll turns into the
# character (no backslash, parenthesis, quote, angle bracket, ampersand: those stay
# with markdown-it).
# An http(s) address of printable ASCII but for space, quotes, parentheses, angle
# brackets, backslash and ampersand: one run for parseLinkDestination, returned as
# written by the index parser's normalizeLink (``external``), allowed by validateLink.
_WEB_DEST = re.compile(r"https?://[!#-%*-;=?-\[\]-~]*")
_DEST_ESCAPE = re.compile(r"\\([!#$%*+,\-./:;=?@\[\]^_`{|}~])")


class InlineToken:
    """The fields of a markdown-it inline token that ``core.parse`` reads."""

    __slots__ = ("type", "tag", "nesting", "content", "meta", "attrs", "children")

    def __init__(self, ttype: str, tag: str, nesting: int) -> None:
        self.type = ttype
        self.tag = tag
        self.nesting = nesting
        self.content = ""
        self.meta: dict[Any, Any] = {}
        self.attrs: dict[str, Any] = {}
        self.children: list[Any] | None = None  # markdown-it's core rules look at it


class _Inline:
    """The part of markdown-it's ``StateInline`` the dialect's inline rules use."""

    def __init__(self, src: str, env: MutableMapping[str, Any] | None) -> None:
        self.src = src
        self.env = env
        self.refs = bool(env and env.get("references"))
        self.real: StateInline | None = None  # markdown-it's state, made when needed
        self.pos = 0
        self.posMax = len(src)  # noqa: N815 - markdown-it's name
        self.tokens: list[InlineToken | Token] = []
        self.link_end = -2  # where the next "](" is (-1: none), found once per stretch
        self.last_runs: dict[int, int] | None = None  # backtick run length -> last start

    def push(self, ttype: str, tag: str, nesting: int) -> InlineToken:
        token = InlineToken(ttype, tag, nesting)
        self.tokens.append(token)
        return token


def inline_tokens(content: str, md: MarkdownIt,
                  env: MutableMapping[str, Any] | None = None) -> list[InlineToken | Token]:
    """The inline tokens ``core.parse`` reads from ``content`` (a heading's or a
    paragraph's text) with the page's ``env`` (its link references); text tokens
    outside link labels are left out."""
    if "[" not in content and "#" not in content and "{{" not in content:
        return []
    return _scan_inline(content, md, env)


_RULES: dict[int, tuple[MarkdownIt, dict[str, Any]]] = {}


def _rule(md: MarkdownIt, name: str) -> Any:
    """The inline rule ``name`` as ``md`` runs it (with the plugins' wrappers)."""
    got = _RULES.get(id(md))
    if got is None or got[0] is not md:
        got = _RULES[id(md)] = (md, {r.name: r.fn for r in md.inline.ruler.__rules__})
    return got[1][name]


def _real(state: _Inline, md: MarkdownIt, pos: int, *names: str) -> int:
    """Run markdown-it's rules ``names`` in turn at ``pos`` as its tokenizer would; the
    position after the first that matches (its tokens kept), or ``pos + 1``."""
    real = state.real
    if real is None:
        real = state.real = StateInline(state.src, md, {} if state.env is None else state.env,
                                        [])
    for name in names:
        real.pos = pos
        count = len(real.tokens)
        if _rule(md, name)(real, False):
            state.tokens += real.tokens[count:]
            return int(real.pos)
    return pos + 1


def _scan_inline(src: str, md: MarkdownIt,
                 env: MutableMapping[str, Any] | None = None) -> list[InlineToken | Token]:
    state = _Inline(src, env)
    as_state = cast(StateInline, state)
    n = len(src)
    search = _SPECIAL.search
    pos = 0
    while True:
        m = search(src, pos)
        if m is None:
            return state.tokens
        pos = m.start()
        ch = src[pos]
        state.pos = pos
        if ch == "\\":
            pos += _escape_width(src, pos)
        elif ch == "`":
            pos = _code_span_end(state, pos)
        elif ch == "#":
            pos = state.pos if _tag(as_state, False) else pos + 1
        elif ch == "{":
            pos = state.pos if _fact_ref(as_state, False) else pos + 1
        elif ch == "[":
            if _citation(as_state, False) or _wikilink(as_state, False):
                pos = state.pos
                continue
            after = _link(state, md, pos, image=False)
            if after < 0 and pos + 2 < n and src[pos + 1] == "[" and src[pos + 2] not in "[@":
                # "[[label](dest) ...]": a label opening with a link read here holds a
                # link, which no link's label may: no link opens at the outer "[", and
                # the tokenizer goes on with the inner one (no dialect rule starts it)
                inner = _link(state, md, pos + 1, image=False)
                if inner > pos + 2:
                    pos = inner
                    continue
            pos = _real(state, md, pos, "link") if after < 0 else after
        elif ch == "!":
            if _embed(as_state, False):
                pos = state.pos
                continue
            if pos + 1 >= n or src[pos + 1] != "[":
                pos += 1
                continue
            after = _link(state, md, pos, image=True)
            pos = _real(state, md, pos, "image") if after < 0 else after
        else:  # "<": an autolink or inline HTML may start here
            pos = _real(state, md, pos, "autolink", "html_inline")


def _escape_width(src: str, pos: int) -> int:
    """How many characters markdown-it's escape rule consumes at ``pos``."""
    if pos + 1 >= len(src):
        return 1  # a last backslash is text
    code = ord(src[pos + 1])
    if 0xD800 <= code <= 0xDBFF and pos + 2 < len(src) and \
            0xDC00 <= ord(src[pos + 2]) <= 0xDFFF:
        return 3
    return 2


def _code_span_end(state: _Inline, start: int) -> int:
    """Where the tokenizer goes on after the backtick run at ``start``: past the closing
    run of the same length, or past the opening run when there is none."""
    src = state.src
    n = len(src)
    pos = start + 1
    while pos < n and src[pos] == "`":
        pos += 1
    length = pos - start
    if state.last_runs is None:  # as markdown-it: no later run of this length, no scan
        state.last_runs = {}
        at = 0
        while (found := src.find("`", at)) >= 0:
            at = found + 1
            while at < n and src[at] == "`":
                at += 1
            state.last_runs[at - found] = found
    if state.last_runs.get(length, -1) < pos:
        return pos
    at = pos
    while True:
        found = src.find("`", at)
        if found < 0:
            return pos
        end = found + 1
        while end < n and src[end] == "`":
            end += 1
        if end - found == length:
            return end
        at = end


def _link(state: _Inline, md: MarkdownIt, pos: int, *, image: bool) -> int:
    """Read ``[label](dest)`` (``![...]`` with ``image``) at ``pos``: the position after
    it, ``pos + 1`` when markdown-it reads no link there, -1 when it takes markdown-it
    to tell. With the page's link references, a label followed by ``(`` and a
    destination read here is the same inline link (markdown-it tries that first); one
    followed by neither ``(`` nor ``[`` is a link only when its text names a
    reference."""
    src = state.src
    open_at = pos + 1 if image else pos
    refs = state.refs
    if not refs:
        if state.link_end < open_at and state.link_end != -1:
            state.link_end = src.find("](", open_at)
        if state.link_end < 0:
            return pos + 1  # no inline link can close here, and there are no references
    close = src.find("]", open_at + 1)
    if close < 0:
        return pos + 1  # no label closes
    label = src[open_at + 1:close]
    parts: list[tuple[str, str] | InlineToken] = [("text", label)]
    if not _LABEL_MARKUP.isdisjoint(label):
        got = _label_parts(state, open_at + 1)
        if got is None:
            return -1
        close, parts = got
        label = src[open_at + 1:close]
    if close + 1 >= len(src) or src[close + 1] != "(":
        if not refs:
            return pos + 1
        if close + 1 < len(src) and src[close + 1] == "[":
            return -1  # [label][ref]
        references = cast(MutableMapping[str, Any], state.env)["references"]
        return -1 if normalizeReference(label) in references else pos + 1
    end = src.find(")", close + 2)
    dest = src[close + 2:end]
    if end >= 0 and "\\" in dest:
        dest = _DEST_ESCAPE.sub(r"\1", dest)  # unescapeAll, with no entity in it
    if end < 0:
        return -1
    if _WEB_DEST.fullmatch(dest) and keeps_web_links(md):
        href = dest  # as the index parser's normalizeLink returns it, and allowed
    elif not dest or not dest.isprintable() or not _BAD_DEST.isdisjoint(dest):
        return -1
    elif _PLAIN_DEST.fullmatch(dest):
        href = dest
    else:
        href = md.normalizeLink(dest)
        if not md.validateLink(href):
            return -1
    if image:
        token = state.push("image", "img", 0)
        token.attrs = {"src": href, "alt": ""}
        token.content = label
        token.meta = {"pos": pos}
    else:
        token = state.push("link_open", "a", 1)
        token.attrs = {"href": href}
        token.meta = {"pos": pos}
        for part in parts:
            if isinstance(part, InlineToken):
                state.tokens.append(part)
            elif part[1] or part[0] != "text":
                state.push(part[0], "code" if part[0] == "code_inline" else "", 0).content = \
                    part[1]
        state.push("link_close", "a", -1)
    return end + 1


def _label_parts(state: _Inline,
                 start: int) -> tuple[int, list[tuple[str, str] | InlineToken]] | None:
    """The ``]`` closing the link label that starts at ``start``, and the label's text,
    escapes, code spans and tags as markdown-it's tokenizer reads them; None when the
    label holds anything else (``[ < {``) or markdown-it's own reading may differ: a
    backtick run that finds no closing run inside the label (its scan, bounded by the
    label, then reads past it), a tag running past it. A line break (markdown-it's
    ``newline`` rule, or an escaped one) adds nothing to the text: the spaces before it
    in the text since the last token and those starting the next line are dropped."""
    src = state.src
    n = len(src)
    parts: list[tuple[str, str] | InlineToken] = []
    pos = text = start  # text: where the current run of plain text began
    while pos < n:
        ch = src[pos]
        if ch == "]":
            parts.append(("text", src[text:pos]))
            return pos, parts
        if ch in "[<{":
            return None
        if ch == "\n":
            parts.append(("text", src[text:pos].rstrip(" ")))
            pos = text = _line_start(src, pos + 1)
            continue
        if ch == "\\":
            width = _escape_width(src, pos)
            if width != 2:
                return None
            if src[pos + 1] == "\n":  # a hard break
                parts.append(("text", src[text:pos]))
                pos = text = _line_start(src, pos + 2)
                continue
            escaped = src[pos + 1]
            parts += (("text", src[text:pos]),
                      ("text", escaped if escaped in _ESCAPED else "\\" + escaped))
            pos = text = pos + 2
        elif ch == "#":
            found = tag_at(src, pos)
            if found is None:
                pos += 1
                continue
            if "]" in src[pos:found[1]]:
                return None  # a tag running past the label's end
            token = InlineToken("tag", "", 0)
            token.content = found[0]
            token.meta = {"pos": pos}
            parts += (("text", src[text:pos]), token)
            pos = text = found[1]
        elif ch == "`":
            run = pos + 1
            while run < n and src[run] == "`":
                run += 1
            end = _code_span_end(state, pos)
            close = src.find("]", run)
            if end <= run or close < 0 or end > close:
                return None
            length = run - pos
            code = src[run:end - length].replace("\n", " ")
            if code.startswith(" ") and code.endswith(" ") and code.strip():
                code = code[1:-1]
            parts += (("text", src[text:pos]), ("code_inline", code))
            pos = text = end
        else:
            pos += 1
    return None


def _line_start(src: str, pos: int) -> int:
    """Past the spaces and tabs at ``pos`` (a line's start, as markdown-it skips them
    after a line break)."""
    n = len(src)
    while pos < n and src[pos] in " \t":
        pos += 1
    return pos


def keeps_web_links(md: MarkdownIt) -> bool:
    """``md`` normalises no http(s) destination (``external.external_links_plugin``)."""
    return bool(getattr(md.normalizeLink, KEEPS_WEB_LINKS, False))
