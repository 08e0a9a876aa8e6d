"""The static site's search index: term shards and document chunks, as JSON files.

Layout under ``_vw/search/``:

- ``manifest.json``: shard keys (term prefixes), document count, chunk size and the
  words left out of the index (the client drops them from queries too);
- ``t-<key>.json``: ``{term: [doc, weight, doc, weight, ...]}`` for the terms starting
  with ``key`` (two characters — one for one-digit terms — split into longer prefixes
  while a shard is too big);
- ``d-<n>.json``: ``[[url, title, summary], ...]`` for documents ``n*CHUNK`` onwards.

A query downloads the manifest, one shard per word and the document chunks of the top
hits, so the first answer costs a few hundred kilobytes even at 10k pages.
"""

from __future__ import annotations

import heapq
import json
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

CHUNK = 200
MAX_POSTINGS = 60
SHARD_BYTES = 120_000
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it", "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "which", "with", "not", "but", "can", "into", "than", "then", "these", "those", "they", "their", "there", "also", "such", "may", "more", "most", "other", "our", "we", "you", "he", "she", "his", "her", "them", "been", "being"])


def fold(text: str) -> str:
    """Lower case without accents (the client folds queries the same way)."""
    text = text.lower()
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c))


def terms(text: str) -> list[str]:
    """The indexable words of ``text``."""
    return [w for w in _WORD.findall(fold(text))
            if (len(w) > 1 or w.isdigit()) and w not in STOP]


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One searchable page: where it is, how it is shown, and its weighted fields."""

    url: str
    title: str
    summary: str
    strong: str  # title and aliases
    medium: str  # headings and tags
    body: str


def weigh(doc: SearchDoc) -> dict[str, int]:
    """Term → weight for one document (title and aliases weigh most, then headings)."""
    return _weights(doc)


def _weights(doc: SearchDoc) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for w in terms(doc.body):
        counts[w] += 1
    out = {w: 1 + int(2 * math.log(c)) for w, c in counts.items()}
    for w in terms(doc.medium):
        out[w] = out.get(w, 0) + 4
    for w in terms(doc.strong):
        out[w] = out.get(w, 0) + 12
    return out


def _key(term: str, n: int) -> str:
    head = term[:n]
    if head.isascii() and head.isalnum():  # most terms: the characters themselves
        return head
    return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_" for c in head)


def build_search(docs: list[SearchDoc]) -> dict[str, bytes]:
    """File name → bytes of every search file for ``docs`` (in the order given)."""
    return build_search_weighted([(d, _weights(d)) for d in docs])


def build_search_weighted(entries: list[tuple[SearchDoc, dict[str, int]]]) -> dict[str, bytes]:
    """Like :func:`build_search`, with each document's term weights already computed."""
    builder = SearchBuilder()
    for doc, weights in entries:
        builder.add(doc, weights)
    return builder.finish()


class SearchBuilder:
    """Collects documents one at a time, keeping only the best postings of each term
    (memory stays bounded by the vocabulary, not by the number of postings)."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, str, str]] = []
        self.heaps: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def add(self, doc: SearchDoc, weights: dict[str, int]) -> None:
        """Add the next document with its term weights."""
        i = len(self.docs)
        self.docs.append((doc.url, doc.title, doc.summary[:160]))
        for term, weight in weights.items():
            heap = self.heaps[term]
            item = (weight, -i)  # the smallest is the worst: lowest weight, then latest doc
            if len(heap) < MAX_POSTINGS:
                heapq.heappush(heap, item)
            elif item > heap[0]:
                heapq.heapreplace(heap, item)

    def finish(self) -> dict[str, bytes]:
        """File name → bytes of every search file."""
        return _files(self.table(), self.docs)

    def table(self) -> dict[str, list[int]]:
        """Term → its best postings, flat (doc, weight, doc, weight …), best first."""
        table: dict[str, list[int]] = {}
        for term in sorted(self.heaps):
            flat: list[int] = []
            for weight, neg in sorted(self.heaps[term], key=lambda p: (-p[0], -p[1])):
                flat += [-neg, weight]
            table[term] = flat
        return table


def search_files(table: dict[str, list[int]], docs: list[tuple[str, str, str]]
                 ) -> dict[str, bytes]:
    """File name → bytes of every search file for a postings table (as
    :meth:`SearchBuilder.table` makes it) and the documents (url, title, summary)."""
    return _files({t: table[t] for t in sorted(table)}, docs)


def update_table(table: dict[str, list[int]],
                 changes: list[tuple[int, dict[str, int] | None, dict[str, int]]]) -> bool:
    """Update ``table`` in place for documents whose term weights changed: each change is
    (doc, old weights or None, new weights). False when the result cannot be known
    without every document's weights (a term whose list was full lost one of its best
    postings and nothing new ranks above its old last one); ``table`` is then unusable.

    A term's list is complete while it holds fewer than ``MAX_POSTINGS`` postings, and
    otherwise holds the best ones: the postings it does not hold all rank below its
    last one, so the new best ones are known when enough of the held and new postings
    rank above that last one.
    """
    changed = {doc for doc, _, _ in changes}
    touched: set[str] = set()
    for _, old, new in changes:  # a term whose weight in a document is the same keeps
        # its list as far as that document goes (held, or below the list's last one)
        before = old or {}
        touched.update(t for t, w in before.items() if new.get(t) != w)
        touched.update(t for t, w in new.items() if before.get(t) != w)
    for term in touched:
        flat = table.get(term, [])
        held = [(flat[j + 1], -flat[j]) for j in range(0, len(flat), 2)]  # (weight, -doc)
        full = len(held) >= MAX_POSTINGS
        floor = min(held) if held else None
        kept = [h for h in held if -h[1] not in changed]
        fresh = [(new[term], -doc) for doc, _, new in changes if term in new]
        items = kept + fresh
        if full:
            assert floor is not None
            sure = [h for h in items if h >= floor]
            if len(sure) < MAX_POSTINGS:
                return False
            items = sure
        best = sorted(items, reverse=True)[:MAX_POSTINGS]
        if best:
            out: list[int] = []
            for weight, neg in best:
                out += [-neg, weight]
            table[term] = out
        else:
            table.pop(term, None)
    return True


def _files(table: dict[str, list[int]], docs: list[tuple[str, str, str]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    keys: list[str] = []
    groups = shard_groups(table)
    for k in sorted(groups):
        for key, blob in group_shards(table, groups[k]).items():
            keys.append(key)
            files[f"t-{key}.json"] = blob
    files.update(doc_files(docs, keys))
    return files


def shard_groups(table: dict[str, list[int]]) -> dict[str, list[str]]:
    """The table's terms by the key of their two-character group (each group written
    as one shard or split further), sorted within each group."""
    keys: dict[str, str] = {}  # a group's key depends on the term's first two characters
    groups: dict[str, list[str]] = defaultdict(list)
    for term in table:
        head = term[:2]
        key = keys.get(head)
        if key is None:
            key = keys[head] = _key(term, 2)
        groups[key].append(term)
    for terms in groups.values():
        terms.sort()
    return groups


def group_of(term: str) -> str:
    """The key of the group of :func:`shard_groups` that holds ``term``."""
    return _key(term, 2)


def group_shards(table: dict[str, list[int]], terms: list[str]) -> dict[str, bytes]:
    """Shard key -> bytes of the shards of one group (sorted ``terms`` of one key of
    :func:`shard_groups`): they depend on those terms' postings only."""
    out: dict[str, bytes] = {}

    def emit(group: list[str], n: int) -> None:
        data = {t: table[t] for t in group}
        blob = _dump(data)
        if len(blob) > SHARD_BYTES and n < 4 and len({_key(t, n + 1) for t in group}) > 1:
            by: dict[str, list[str]] = defaultdict(list)
            for t in group:
                by[_key(t, n + 1)].append(t)
            for k in sorted(by):
                emit(by[k], n + 1)
            return
        out[_key(group[0], n)] = blob

    emit(terms, 2)
    return out


def doc_files(docs: list[tuple[str, str, str]], shard_keys: list[str]) -> dict[str, bytes]:
    """The document chunks and the manifest naming ``shard_keys``."""
    files: dict[str, bytes] = {}
    for start in range(0, len(docs), CHUNK):
        chunk = [list(d) for d in docs[start:start + CHUNK]]
        files[f"d-{start // CHUNK}.json"] = _dump(chunk)
    files["manifest.json"] = _dump({"docs": len(docs), "chunk": CHUNK,
                                    "shards": sorted(shard_keys), "stop": sorted(STOP)})
    return files


def _dump(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8",
                                                                               "surrogatepass")
