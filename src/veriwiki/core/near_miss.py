"""Near misses: the source passage most like a quote that was not found, and how they differ.

The passage is searched in the text as a reader sees it (:func:`veriwiki.core.quotes.
reading_view`: a PDF without its page furniture, markdown and HTML rendered) and
reported with the offsets, page and line of the raw text.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from rapidfuzz import fuzz

from veriwiki.core.quotes import (
    _WORD,
    _normalize,
    _resolve_marks,
    is_marked_up,
    normalize,
    reading_view,
    render,
    shown_position,
)

_MIN_SIMILARITY = 0.5
_MAX_DIFFERENCES = 5
_MAX_INSERTED = 12  # source words a near miss may skip between shared words


@dataclass(frozen=True, slots=True)
class NearMiss:
    """The source passage most like a quote that was not found, and how they differ."""

    start: int
    end: int
    line: int
    similarity: float
    passage: str
    differences: list[str]
    page: int | None = None



def _reach(q_words: list[str], words: list[str]) -> tuple[int, int]:
    """How far matching words reach into both lists from their starts.

    A run of shared words may lie past a few inserted source words (a page header,
    say); a lone shared word only past two, so a stray "the" nearby is not taken.
    """
    a_end = b_end = 0
    for blk in difflib.SequenceMatcher(None, q_words, words, autojunk=False).get_matching_blocks():
        inserted = (blk.b - b_end) - (blk.a - a_end)
        if blk.size == 0 or inserted > (_MAX_INSERTED if blk.size > 1 else 2):
            break
        a_end, b_end = blk.a + blk.size, blk.b + blk.size
    return a_end, b_end


def _passage_span(text: str, q_words: list[str], window: tuple[int, int],
                  hint: tuple[int, int]) -> tuple[int, int]:
    """Normalised span of the words in ``window`` that best line up with the quote.

    The longest run of shared words anchors the passage; it grows outwards to the
    nearest further shared words, and by the quote's unmatched edge words, which most
    likely replace their neighbours in the source.
    """
    spans = [m.span() for m in _WORD.finditer(text, *window)]
    wanted = set(q_words)
    words = [_resolve_marks(text[s:e], wanted) for s, e in spans]
    sm = difflib.SequenceMatcher(None, q_words, words, autojunk=False)
    anchor = sm.find_longest_match(0, len(q_words), 0, len(words))
    if anchor.size == 0:
        inside = [sp for sp in spans if sp[1] > hint[0] and sp[0] < hint[1]] or spans
        return (inside[0][0], inside[-1][1]) if inside else hint
    a1, b1 = anchor.a + anchor.size, anchor.b + anchor.size
    left_a, left_b = _reach(q_words[: anchor.a][::-1], words[: anchor.b][::-1])
    right_a, right_b = _reach(q_words[a1:], words[b1:])
    first = max(0, anchor.b - left_b - (anchor.a - left_a))
    last = min(len(spans), b1 + right_b + (len(q_words) - a1 - right_a))
    return spans[first][0], spans[last - 1][1]


def _trim_punctuation(text: str, i: int, j: int, needle: str) -> tuple[int, int]:
    """Drop punctuation at the passage's edges where the quote has none."""
    while needle[:1].isalnum() and j - i > 1 and not text[i].isalnum():
        i += 1
    while needle[-1:].isalnum() and j - i > 1 and not text[j - 1].isalnum():
        j -= 1
    return i, j


def _shorten(words: list[str], limit: int = 60) -> str:
    text = " ".join(words)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def describe_differences(quote: str, passage: str) -> list[str]:
    """How ``quote`` differs from ``passage``, word by word, in at most five phrases."""
    q_words = normalize(quote).text.split()
    p_words = normalize(passage).text.split()
    out: list[str] = []
    sm = difflib.SequenceMatcher(None, q_words, p_words, autojunk=False)
    for op, a0, a1, b0, b1 in sm.get_opcodes():
        ours, theirs = _shorten(q_words[a0:a1]), _shorten(p_words[b0:b1])
        if op == "replace":
            note = " (case differs)" if ours.lower() == theirs.lower() else ""
            out.append(f'"{ours}" in the quote, "{theirs}" in the source{note}')
        elif op == "delete":
            out.append(f'quote adds "{ours}"')
        elif op == "insert":
            out.append(f'"{theirs}" missing from the quote')
    if len(out) > _MAX_DIFFERENCES:
        out = out[: _MAX_DIFFERENCES - 1] + [f"{len(out) - _MAX_DIFFERENCES + 1} more differences"]
    return out


def closest_passage(source: str, quote: str) -> NearMiss | None:
    """The passage of ``source`` most similar to ``quote``, or None below 50 % similarity.

    Similarity (0..1) is the mean of the character-level and the word-level ratio
    between the normalised quote and passage, so unrelated text that merely shares
    letters stays low. The passage is the text of the span as a reader sees it,
    whole words only; ``start``/``end``, ``line`` and ``page`` refer to the raw text.
    """
    view = reading_view(source)
    seen = source if view is None else view.text
    if view is not None and is_marked_up(quote) and "\f" not in source:
        quote = render(quote).text
    found = _closest(seen, quote)
    if found is None:
        return None
    i, j, similarity, differences = found
    start, end = (i, j) if view is None else view.span(i, j)
    page, line = shown_position(source, start)
    return NearMiss(start, end, line, similarity, seen[i:j], differences, page)


def _closest(source: str, quote: str) -> tuple[int, int, float, list[str]] | None:
    q_words = [_resolve_marks(w, set()) for w in _normalize(quote, mark=True).text.split()]
    needle = " ".join(q_words)
    norm = _normalize(source, mark=True)
    text = norm.text
    if not needle or not text.strip():
        return None
    hint = (0, len(text))
    if len(needle) < len(text):
        hit = fuzz.partial_ratio_alignment(needle, text, score_cutoff=_MIN_SIMILARITY * 100)
        if hit is None:
            return None
        hint = (hit.dest_start, hit.dest_end)
    slack = max(80, len(needle) // 2)
    i, j = _passage_span(text, q_words, (max(0, hint[0] - slack), hint[1] + slack), hint)
    i, j = _trim_punctuation(text, i, j, needle)
    wanted = set(q_words)
    p_words = [_resolve_marks(w, wanted) for w in text[i:j].split()]
    passage_norm = " ".join(p_words)
    word_ratio = difflib.SequenceMatcher(None, q_words, p_words, autojunk=False).ratio()
    similarity = (fuzz.ratio(needle, passage_norm) / 100 + word_ratio) / 2
    if similarity < _MIN_SIMILARITY:
        return None
    start, end = norm.span(i, j)
    return start, end, round(similarity, 3), describe_differences(needle, passage_norm)


def _excerpt(passage: str, limit: int = 120) -> str:
    """The passage on one line; a long one keeps its first and last words around "…"."""
    flat = " ".join(passage.split())
    if len(flat) <= limit:
        return flat
    half = (limit - 1) // 2
    head = flat[:half + 1]
    head = head[: head.rfind(" ")] if " " in head else head[:half]
    tail = flat[-half - 1 :]
    tail = tail[tail.find(" ") + 1 :] if " " in tail else tail[-half:]
    return head.rstrip() + " … " + tail.lstrip()


def explain_miss(source: str, quote: str) -> str:
    """A one-line explanation of a quote that was not found, for a finding's message."""
    near = closest_passage(source, quote)
    if near is None:
        return "no similar passage in the source"
    where = f"p. {near.page}, line {near.line}" if near.page else f"line {near.line}"
    message = (f"closest passage ({where}, {round(near.similarity * 100)}% similar): "
               f'"{_excerpt(near.passage)}"')
    if near.differences:
        message += "; differs: " + "; ".join(near.differences)
    return message
