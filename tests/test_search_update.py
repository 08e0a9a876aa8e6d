"""The search index's shard keys and its postings table updated in place
(render/search.py; the full-merge property test is in tests/test_render.py)."""

from __future__ import annotations


def test_search_shard_keys_of_plain_terms_are_their_characters() -> None:
    """The shortcut for ASCII letters and digits gives the key the escaping gives."""
    from veriwiki.render.search import _key

    def escaped(term: str, n: int) -> str:
        return "".join(c if c.isascii() and c.isalnum() else f"_{ord(c):x}_"
                       for c in term[:n])

    for term in ("ab", "a1", "9", "zz9", "é1", "aé", "日本", "a_b", "", "a", "ß", "x\u0301"):
        for n in (1, 2, 3):
            assert _key(term, n) == escaped(term, n), (term, n)


def test_search_update_reads_only_the_terms_whose_weight_changed() -> None:
    """A term whose weight in the changed document is the same is not looked at (its
    list cannot change), so a stored table reads only the groups of changed terms."""
    from veriwiki.render.search import SearchBuilder, SearchDoc, update_table

    builder = SearchBuilder()
    docs = [{"alpha": 3, "beta": 1, "gamma": 2}, {"alpha": 1, "delta": 5}]
    for i, w in enumerate(docs):
        builder.add(SearchDoc(f"p{i}.html", f"P{i}", "", "", "", ""), w)
    table = builder.table()

    class Watched(dict[str, list[int]]):
        seen: set[str] = set()

        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            self.seen.add(key)
            return super().get(key, default)

    watched = Watched(table)
    new = {"alpha": 3, "beta": 2, "epsilon": 1}  # beta up, gamma gone, epsilon new
    assert update_table(watched, [(0, docs[0], new)])
    assert watched.seen == {"beta", "gamma", "epsilon"}
    after = SearchBuilder()
    for i, w in enumerate([new, docs[1]]):
        after.add(SearchDoc(f"p{i}.html", f"P{i}", "", "", "", ""), w)
    assert dict(watched) == after.table()
