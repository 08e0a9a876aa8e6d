"""Name normalisation, page-name validation and look-alike detection."""

from __future__ import annotations

import re
import unicodedata

from veriwiki.errors import InputError

_WS = re.compile(r"\s+")

# Characters Obsidian and common file systems refuse in note names.
_FORBIDDEN = set('\\:*?"<>|#^[]')

# A small table of letters from other scripts that render like Latin ones. It covers
# the look-alikes seen in practice in titles (Cyrillic and Greek capitals/lower case).
_CONFUSABLES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i",
    "ј": "j", "ѕ": "s", "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S",
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "υ": "u",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "", "\u00ad": "",
})


MESSAGE_NAMES = 5  # names a finding's message lists before "and N more"


def name_list(names: list[str] | tuple[str, ...], limit: int = MESSAGE_NAMES) -> str:
    """``names`` joined for a message: the first ``limit`` and how many more. (A vault
    of 1,000 READMEs made each README's finding list the other 999: messages grew with
    the square of the pages.)"""
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def normalize_name(name: str) -> str:
    """Fold a page name for comparison: NFC, case-folded, white space collapsed."""
    if name.isascii():  # the same result without NFC or a regular expression
        return " ".join(name.split()).lower()
    return _WS.sub(" ", unicodedata.normalize("NFC", name)).strip().casefold()


def skeleton(name: str) -> str:
    """A name's look-alike skeleton: two names with equal skeletons look the same."""
    folded = unicodedata.normalize("NFKC", name).translate(_CONFUSABLES)
    return normalize_name(folded)


def scripts_of(name: str) -> set[str]:
    """The writing systems of a name's letters (LATIN, CYRILLIC, GREEK, ...)."""
    out = set()
    for ch in name:
        if ch.isalpha():
            uname = unicodedata.name(ch, "")
            out.add(uname.split(" ", 1)[0] if uname else "UNKNOWN")
    return out


# Control characters (a newline or tab cannot be typed into a link) and lone surrogates
# (how Python hands over file-name bytes that are not UTF-8).
_UNUSABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def file_name_problem(rel: str) -> str | None:
    """Why a vault file's name can never name a page or attachment, or None when it can.

    Such names are refused outright rather than half-supported: no link can reach them,
    and line-based tools (and people reading a listing) mistake them for two files.
    """
    m = _UNUSABLE.search(rel)
    if m is None:
        return None
    ch = m.group(0)
    if "\ud800" <= ch <= "\udfff":
        return "its name is not valid UTF-8"
    names = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}
    return f"its name contains {names.get(ch, 'the control character ' + repr(ch)[1:-1])}"


def printable_path(rel: str) -> str:
    """``rel`` with control characters escaped and undecodable bytes shown as ``\\xNN``."""
    try:
        raw = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that no file-name byte maps to
        raw = rel.encode("utf-8", "backslashreplace").decode("ascii")
    return _UNUSABLE.sub(lambda m: repr(m.group(0))[1:-1], raw)


def check_page_name(name: str) -> str:
    """Validate a page name given by a user; return it NFC-normalised.

    Sub-folders are allowed (``ml/Attention``); anything that could leave the pages
    folder, hide the file or break links is refused with an explanation.
    """
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned:
        raise InputError("the page name is empty", hint="give a title, e.g. veriwiki new \"Attention\"")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in cleaned):
        raise InputError(
            f"page name {cleaned!r} contains control or invisible characters",
            hint="type the name with visible characters only",
        )
    if cleaned.startswith("/") or re.match(r"^[A-Za-z]:", cleaned):
        raise InputError(
            f"page name {cleaned!r} is an absolute path; pages live inside the vault",
            hint="give a name relative to the pages folder, e.g. ml/Attention",
        )
    parts = cleaned.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise InputError(
                f"page name {cleaned!r} tries to leave the pages folder or has an empty part",
                hint="remove '..', '.' and doubled '/' from the name",
            )
        if part.startswith("."):
            raise InputError(
                f"page name {cleaned!r} has a part starting with '.', which would hide it",
                hint="start each part of the name with a letter or digit",
            )
        bad = sorted(set(part) & _FORBIDDEN)
        if bad:
            raise InputError(
                f"page name {cleaned!r} contains {' '.join(bad)}, which links cannot contain",
                hint="remove those characters from the name",
            )
    if len(cleaned.encode()) > 200:
        raise InputError(f"page name {cleaned[:40]!r}… is longer than 200 bytes",
                         hint="use a shorter title and put the rest in an alias")
    return cleaned


# Characters a page title must not hold: what links refuse, path separators and what
# fact references ({{ }}) and URL escapes (%) would misread.
_TITLE_UNSAFE = _FORBIDDEN | set("/{}%")


def title_from(text: str, *, max_chars: int, cut: bool = False) -> str | None:
    """A page title made from free text (an entity name, a question), or None.

    Control, format and line-separator characters and characters a title must not hold
    become spaces; runs of white space collapse; spaces, dots, dashes, underscores and
    quotes are trimmed from the ends. Text longer than ``max_chars`` is cut at a word
    boundary when ``cut``, else refused. None when no letter or digit is left.
    """
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    text = "".join(" " if c in _TITLE_UNSAFE or unicodedata.category(c)[0] == "C"
                   or unicodedata.category(c) in ("Zl", "Zp") else c for c in text)
    text = " ".join(text.split()).strip(" .-_'`")
    if len(text) > max_chars:
        if not cut:
            return None
        text = text[:max_chars].rsplit(" ", 1)[0].rstrip(" .,;:-")
    if not text or not any(c.isalnum() for c in text):
        return None
    return text


_TAG = re.compile(r"#([\w/\-]+)")
_TAG_AFTER = frozenset("([{,;")  # besides whitespace, what a tag's ``#`` may follow


def tag_at(text: str, pos: int) -> tuple[str, int] | None:
    """The tag whose ``#`` is at ``text[pos]``, as (name, end), or None when there is
    none: the ``#`` must open the text or follow whitespace or one of ``([{,;``, and a
    name made of digits and separators only (``#123``) is an issue number, not a tag."""
    if pos > 0 and not (text[pos - 1].isspace() or text[pos - 1] in _TAG_AFTER):
        return None
    m = _TAG.match(text, pos)
    if not m:
        return None
    name = m.group(1).rstrip("/")
    if not name or name.replace("/", "").replace("-", "").replace("_", "").isdigit():
        return None
    return name, m.end()
