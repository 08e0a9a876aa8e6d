"""Ranking arithmetic for hybrid retrieval: content words, reciprocal rank fusion, link hop.

Everything here is pure and deterministic: ties are always broken by path, so the same
index and question give the same ranking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

RRF_K = 60
LINK_DISCOUNT = 0.5

_ENGLISH = """
a about above after again against all also although am an and any are as at be because
been before being below between both but by can could did do does doing done down during
each either else even ever every few for from further had has have having he her here
hers him his how however i if in into is it its itself just least less let like made
make many may me might more most much must my neither no nor not now of off often on
once one only or other otherwise our ours out over own per perhaps quite rather same
see she should since so some still such than that the their theirs them then there
therefore these they this those though through thus to too under until up upon us
use used uses using very via was we well were what when where whether which while who
whom whose why will with within without would yet you your yours
"""
ENGLISH_STOPWORDS = frozenset(_ENGLISH.split())
# words of a question that never help find a page
_QUESTION = "tell explain describe give list know say said says according wiki page pages"
STOPWORDS = ENGLISH_STOPWORDS | frozenset(_QUESTION.split())
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*", re.UNICODE)


def stem(word: str) -> str:
    """A crude stem so that 'trained', 'training' and 'trains' compare equal."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters and digits; ``2.5`` and ``it's`` stay whole)."""
    return [w.replace("’", "'") for w in _WORD.findall(text.casefold())]


def content_words(text: str) -> list[str]:
    """The words of ``text`` that carry meaning, stemmed, in order, without repeats."""
    out: dict[str, None] = {}
    for w in words(text):
        w = w.removesuffix("'s")
        if w in STOPWORDS or not w:
            continue
        out.setdefault(stem(w), None)
    return list(out)


def overlap(sentence: str, support: Iterable[str]) -> tuple[float, list[str]]:
    """Share of the content words of ``sentence`` found in ``support``, and those missing.

    A sentence without content words has a share of 0.
    """
    have = {w for text in support for w in content_words(text)}
    mine = content_words(sentence)
    if not mine:
        return 0.0, []
    missing = [w for w in mine if w not in have]
    return (len(mine) - len(missing)) / len(mine), missing


@dataclass(frozen=True, slots=True)
class Fused:
    """One page after fusion: its RRF score, how it was found, its rank in each list."""

    path: str
    score: float
    via: str
    ranks: dict[str, int] = field(default_factory=dict)


def rrf_fuse(rankings: Mapping[str, Sequence[str]], k: int = RRF_K) -> list[Fused]:
    """Reciprocal rank fusion: score(p) = Σ 1/(k + rank of p in each list), rank from 1.

    ``rankings`` maps a ranker name (``bm25``, ``embedding``) to paths, best first;
    ``via`` names the ranker that ranked the page best (the first listed on a tie).
    The result is sorted by score, then path.
    """
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, paths in rankings.items():
        for rank, path in enumerate(dict.fromkeys(paths), 1):
            scores[path] = scores.get(path, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(path, {})[name] = rank
    out = []
    for path, score in scores.items():
        mine = ranks[path]
        via = min(mine, key=lambda n: (mine[n], list(rankings).index(n)))
        out.append(Fused(path, score, via, dict(mine)))
    return sorted(out, key=lambda f: (-f.score, f.path))


def link_hop(seeds: Sequence[Fused], links: Mapping[str, Iterable[str]], limit: int,
             discount: float = LINK_DISCOUNT) -> list[Fused]:
    """Pages linked from ``seeds`` that are not seeds themselves, at most ``limit``.

    Each gets ``discount`` times the best score of a seed linking to it; sorted by
    score, then path.
    """
    chosen = {s.path for s in seeds}
    best: dict[str, float] = {}
    for seed in seeds:
        for target in links.get(seed.path, ()):
            if target in chosen:
                continue
            score = seed.score * discount
            if score > best.get(target, -1.0):
                best[target] = score
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:max(limit, 0)]
    return [Fused(path, score, "link") for path, score in ranked]


def cosine_ranking(query: Sequence[float], vectors: Mapping[str, Sequence[float]],
                   limit: int) -> list[tuple[str, float]]:
    """Paths whose (unit) vectors are most similar to the (unit) ``query``; ties by path.

    Vectors of another dimension and non-positive similarities are left out.
    """
    scored = []
    for path, vec in vectors.items():
        if len(vec) != len(query):
            continue
        sim = sum(a * b for a, b in zip(query, vec, strict=True))
        if sim > 0:
            scored.append((path, sim))
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:limit]


def unit(vector: Sequence[float]) -> list[float]:
    """``vector`` scaled to length 1 (a zero vector stays zero)."""
    norm = sum(v * v for v in vector) ** 0.5
    return [float(v) / norm for v in vector] if norm else [0.0 for _ in vector]
