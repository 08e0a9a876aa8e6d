"""Hybrid retrieval for ``ask``: BM25, optional embeddings, rank fusion and one link hop.

1. BM25 over the FTS5 index with the question's keywords (every keyword must match;
   when that finds fewer pages than wanted, the pages matching single keywords follow,
   ordered by fusing the per-keyword rankings).
2. With an embedding model: cosine similarity between the question's vector and each
   page's vector. Page vectors live in ``.veriwiki/embeddings.db`` keyed by model, path
   and content hash; missing or stale ones are computed here, in batches.
3. Reciprocal rank fusion (k = 60) of the two rankings; the best ``limit`` pages are
   the seeds.
4. Pages the seeds link to are added with half the score of the best seed linking to
   them (at most ``max(1, limit // 2)`` of them).

Ties are broken by path everywhere, so the result is deterministic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from veriwiki.adapters.embedding_store import EmbeddingStore
from veriwiki.ai.provider import EMBEDDER, Completion, EmbeddingModel, Meter
from veriwiki.core.retrieval import (
    STOPWORDS,
    Fused,
    cosine_ranking,
    link_hop,
    rrf_fuse,
    unit,
    words,
)
from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault

EMBED_BATCH = 32
EMBED_CHARS = 2000
MAX_KEYWORDS = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RetrievedPage:
    """A page retrieval chose, its fused score and how it was found."""

    path: str
    title: str
    score: float
    via: str  # bm25 | embedding | link
    ranks: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON form (one entry of ``retrieval`` in ``ask --json``)."""
        return {"path": self.path, "title": self.title, "score": round(self.score, 6),
                "via": self.via, "ranks": self.ranks}


@dataclass
class EmbeddingStats:
    """What the embedding step did: vectors computed now, reused, and dropped."""

    model: str
    computed: int = 0
    cached: int = 0
    removed: int = 0

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"model": self.model, "computed": self.computed, "cached": self.cached,
                "removed": self.removed}


def keywords(question: str) -> list[str]:
    """The question's words without stop words (unstemmed: FTS5 stems them itself)."""
    found = [w for w in dict.fromkeys(words(question)) if w not in STOPWORDS]
    return found or list(dict.fromkeys(words(question)))


def bm25_ranking(vault: Vault, question: str, depth: int) -> list[str]:
    """Page paths for ``question``, best first (refreshes the index once)."""
    from veriwiki.services.indexing import search

    terms = keywords(question)
    if not terms:
        return []
    found = [h.path for h in search(vault, " ".join(terms), depth, refresh=True)]
    if len(found) < depth and len(terms) > 1:
        singles = {t: [h.path for h in search(vault, t, depth, refresh=False)]
                   for t in terms[:MAX_KEYWORDS]}
        found += [f.path for f in rrf_fuse(singles) if f.path not in found]
    return found[:depth]


def _embed_text(title: str, data: bytes) -> str:
    from veriwiki.core.answer import page_sentences

    text = data.decode("utf-8", "replace")
    body = " ".join(s for _, s in page_sentences(text))
    return f"{title}\n{body}"[:EMBED_CHARS]


def _embed(embedder: EmbeddingModel, texts: list[str], meter: Meter | None) -> list[list[float]]:
    start = time.perf_counter()
    vectors = embedder.embed(texts)
    if meter is not None:
        meter.record(EMBEDDER, embedder.model_id,
                     Completion("", None, None, time.perf_counter() - start))
    if len(vectors) != len(texts):
        raise VeriwikiError(f"embedding model {embedder.model_id} returned {len(vectors)} "
                            f"vectors for {len(texts)} texts",
                            hint="choose another model with --embed-model")
    return [unit(v) for v in vectors]


def page_vectors(vault: Vault, embedder: EmbeddingModel, store: EmbeddingStore, *,
                 meter: Meter | None = None, on_progress: Progress | None = None
                 ) -> tuple[dict[str, list[float]], EmbeddingStats]:
    """A unit vector for every page, computing only those missing or stale in ``store``.

    Call after the index is refreshed: the index's content hashes decide staleness.
    """
    from veriwiki.adapters.fs import blob_sha

    model = embedder.model_id
    skip = {vault.index_page, vault.log_page}
    rows = {p: r for p, r in vault.index.catalog_rows().items() if p not in skip}
    have = store.load(model)
    stats = EmbeddingStats(model)
    todo = sorted(p for p, r in rows.items() if p not in have or have[p][0] != r[0])
    gone = sorted(p for p in have if p not in rows)
    if gone:
        store.remove(model, gone)
        stats.removed = len(gone)
    vectors = {p: have[p][1] for p in rows if p not in todo and p in have}
    stats.cached = len(vectors)
    for start in range(0, len(todo), EMBED_BATCH):
        batch = []
        for path in todo[start:start + EMBED_BATCH]:
            try:
                data = (vault.root / path).read_bytes()
            except OSError:
                continue  # deleted meanwhile: the next index refresh drops it
            batch.append((path, blob_sha(data), _embed_text(rows[path][1], data)))
        if not batch:
            continue
        got = _embed(embedder, [t for _, _, t in batch], meter)
        store.save(model, [(p, h, v) for (p, h, _), v in zip(batch, got, strict=True)])
        for (path, _, _), vec in zip(batch, got, strict=True):
            vectors[path] = vec
        stats.computed += len(batch)
        if on_progress:
            on_progress(min(start + EMBED_BATCH, len(todo)), len(todo))
    return vectors, stats


def _link_graph(vault: Vault, paths: list[str]) -> dict[str, list[str]]:
    """Page → the pages its links reach (resolved like ``check`` does; pages only)."""
    from veriwiki.services.indexing import build_resolver

    resolver = build_resolver(vault)
    skip = {vault.index_page, vault.log_page}
    graph: dict[str, list[str]] = {}
    for page in vault.index.load_pages(paths):
        targets: list[str] = []
        for link in page.links:
            if link.kind == "image":
                continue
            res = resolver.resolve(link, page.path)
            if (res.is_ok and res.path and res.path in resolver.pages
                    and res.path != page.path and res.path not in skip):
                targets.append(res.path)
        graph[page.path] = list(dict.fromkeys(targets))
    return graph


def retrieve(vault: Vault, question: str, limit: int = 5, *,
             embedder: EmbeddingModel | None = None, store: EmbeddingStore | None = None,
             meter: Meter | None = None, on_progress: Progress | None = None
             ) -> tuple[list[RetrievedPage], EmbeddingStats | None]:
    """The pages to answer ``question`` from, best first, and what embedding did."""
    depth = max(2 * limit, 10)
    rankings: dict[str, list[str]] = {"bm25": bm25_ranking(vault, question, depth)}
    stats = None
    if embedder is not None:
        own = store is None
        store = store or EmbeddingStore(vault.cache_dir / "embeddings.db")
        try:
            vectors, stats = page_vectors(vault, embedder, store, meter=meter,
                                          on_progress=on_progress)
        finally:
            if own:
                store.close()
        query = _embed(embedder, [question], meter)[0]
        rankings["embedding"] = [p for p, _ in cosine_ranking(query, vectors, depth)]
    seeds = rrf_fuse(rankings)[:limit]
    hops = link_hop(seeds, _link_graph(vault, [s.path for s in seeds]), max(1, limit // 2))
    chosen: list[Fused] = sorted([*seeds, *hops], key=lambda f: (-f.score, f.path))
    titles = {p.path: p.title for p in vault.index.load_pages([f.path for f in chosen])}
    return [RetrievedPage(f.path, titles.get(f.path, f.path), f.score, f.via, f.ranks)
            for f in chosen if f.path in titles], stats
