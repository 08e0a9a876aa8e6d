"""The site's outputs besides pages: sources, lists, reports, search, attachments.

Each group of outputs has a digest of its inputs (:func:`group_keys`); the build skips
a group whose digest is unchanged and whose files are all present.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from veriwiki.errors import VeriwikiError
from veriwiki.render.search import (
    SearchBuilder,
    SearchDoc,
    doc_files,
    group_of,
    group_shards,
    shard_groups,
    update_table,
    weigh,
)
from veriwiki.services import site_pages as docs
from veriwiki.services.site_check import findings_of
from veriwiki.services.site_derived import texts_digest
from veriwiki.services.site_model import (
    ASSETS,
    SiteModel,
    page_url,
    source_url,
    tag_slug,
    tag_url,
)
from veriwiki.services.site_output import Output
from veriwiki.services.site_terms import (
    GroupedTable,
    ShardRecord,
    TermsStore,
    shard_entry,
    shard_unchanged,
)
from veriwiki.services.site_terms import dumps as _dumps
from veriwiki.vault import Vault

OLD_CACHES = ("site-terms.jsonl", "site-search.json")  # site_terms' forerunners
TERMS_FORMAT = 5  # 5: the postings table stored by group of terms


def copy_attachment(vault: Vault, output: Output, rel: str) -> None:
    src = vault.root / rel
    try:
        if src.is_symlink() or not src.is_file() or src.stat().st_size > 50_000_000:
            return
        output.write(rel, src.read_bytes())
    except OSError:
        return


def write_sources(model: SiteModel, output: Output) -> None:
    citing: dict[tuple[str, int], list[tuple[str, int, int, str | None, str]]] = defaultdict(list)
    stored = model.rows  # (a page without claims is not decoded: its row says so)
    for path in sorted(model.pages):
        if stored is not None and not stored[path].claims:
            continue
        page = model.pages[path]
        verdicts = {k: list(v) for k, v in model.verdicts.get(path, {}).items()}
        n = 0
        for claim in page.claims:
            for cite in claim.citations:
                n += 1
                key = (cite.line, cite.source_id, cite.version, cite.quote)
                queue = verdicts.get(key)
                verdict = queue.pop(0).name if queue else "verified"
                version = model.version_of(cite.source_id, cite.version)
                if version is not None:
                    citing[(cite.source_id, version)].append(
                        (path, cite.line, n, cite.quote, verdict))
    rows: list[tuple[str, str, str | None]] = []
    for sid in sorted(model.sources):
        source = model.sources[sid]
        for v in source.versions:
            output.write(source_url(sid, v.version),
                         docs.render_source(model, sid, v.version, citing[(sid, v.version)]))
        stale: list[tuple[str, str, str | None]] = [
                 (f"{f.path}:{f.line}", page_url(f.path) + f"#L{f.line}", f.message)
                 for f in findings_of(model.report, "stale-claim")
                 if f"{sid}:v" in f.message and f.path in model.pages]
        groups: list[tuple[str | None, list[tuple[str, str, str | None]]]] = [
            ("Versions", [(f"v{v.version} — {v.file}", source_url(sid, v.version),
                           f"added {v.added}") for v in sorted(source.versions,
                                                               key=lambda x: -x.version)])]
        if stale:
            groups.append(("Claims gone stale with the latest version", stale))
        output.write(source_url(sid), docs.render_listing(
            model, source_url(sid), source.title, groups, intro=f"Source @{sid}"))
        rows.append((f"{source.title} (@{sid})", source_url(sid, source.current.version),
                     f"{len(source.versions)} version(s)"))
    output.write(f"{ASSETS}/sources/index.html", docs.render_listing(
        model, f"{ASSETS}/sources/index.html", "Sources", [(None, rows)]))


def _entry(model: SiteModel, path: str) -> tuple[str, str, str | None]:
    return model.title_of(path), page_url(path), model.summary_of(path) or None


def write_lists(vault: Vault, model: SiteModel, output: Output) -> None:
    by_tag: dict[str, list[str]] = defaultdict(list)
    by_folder: dict[str, list[str]] = defaultdict(list)
    for path in sorted(model.pages):
        for tag in model.pages[path].tags:
            by_tag[tag].append(path)
        parts = path.split("/")[:-1]
        for i in range(len(parts)):
            by_folder["/".join(parts[: i + 1])].append(path)
    slugs: dict[str, str] = {}
    for tag in sorted(by_tag, key=lambda t: (t.casefold(), t)):
        slug = tag_slug(tag)
        if slug in slugs:
            by_tag[slugs[slug]].extend(by_tag[tag])
            continue
        slugs[slug] = tag
    for slug, tag in sorted(slugs.items()):
        entries = sorted({p for t, ps in by_tag.items() if tag_slug(t) == slug for p in ps})
        url = tag_url(tag)
        output.write(url, docs.render_listing(model, url, f"#{tag}",
                                              [(None, [_entry(model, p) for p in entries])]))
    output.write(f"{ASSETS}/tags/index.html", docs.render_listing(
        model, f"{ASSETS}/tags/index.html", "Tags",
        [(None, [(f"#{t}", tag_url(t), f"{len(set(by_tag[t]))} pages")
                 for _, t in sorted(slugs.items())])]))
    for folder in sorted(by_folder):
        url = f"{ASSETS}/folders/{folder}.html"
        direct = [p for p in by_folder[folder] if p.rsplit("/", 1)[0] == folder]
        subs = sorted({p[len(folder) + 1:].split("/", 1)[0] for p in by_folder[folder]
                       if p.rsplit("/", 1)[0] != folder})
        groups: list[tuple[str | None, list[tuple[str, str, str | None]]]] = []
        if subs:
            groups.append(("Folders", [(s + "/", f"{ASSETS}/folders/{folder}/{s}.html", None)
                                       for s in subs]))
        groups.append(("Pages", [_entry(model, p) for p in direct]))
        parts = folder.split("/")
        crumbs = [("Folders", f"{ASSETS}/folders/index.html")] + [
            (parts[i], f"{ASSETS}/folders/{'/'.join(parts[:i + 1])}.html")
            for i in range(len(parts) - 1)]
        output.write(url, docs.render_listing(model, url, folder + "/", groups,
                                              crumbs=crumbs))
    tops = sorted({f.split("/")[0] for f in by_folder})
    top_pages = [p for p in sorted(model.pages) if "/" not in p]
    output.write(f"{ASSETS}/folders/index.html", docs.render_listing(
        model, f"{ASSETS}/folders/index.html", "Folders",
        [("Folders", [(f + "/", f"{ASSETS}/folders/{f}.html", None) for f in tops]),
         ("Pages", [_entry(model, p) for p in top_pages])]))
    _home(model, output)


def _home(model: SiteModel, output: Output) -> None:
    """The catalog as home page (the vault's index page rendered), else a page list."""
    from veriwiki.render.markdown import parse_tokens, render_tokens
    from veriwiki.render.title import lead_heading
    from veriwiki.services.site_model import PageContext

    body = None
    if model.index_page in model.pages:
        ctx = PageContext(model, model.index_page, "index.html")
        body = render_tokens(parse_tokens(model.page_text(model.index_page)), ctx).html
    title = model.vault_name
    if body is not None and (lead := lead_heading(body)) is not None:
        title, body = lead  # the index page's own heading, shown once
    rows = [_entry(model, p) for p in sorted(model.pages)
            if p not in (model.index_page, model.log_page)]
    output.write("index.html", docs.render_listing(
        model, "index.html", title, [] if body else [(None, rows)], body=body))


def write_reports(vault: Vault, model: SiteModel, output: Output) -> None:
    from veriwiki.services.freshness import page_freshness, today

    on = today()
    overdue = []
    for path in sorted(model.pages):
        state = page_freshness(model.pages[path], vault.freshness, on,
                               vault.default_type)
        if state is not None and state.is_stale:
            why = (f"review due {state.due.isoformat()} ({state.interval})" if state.due
                   else f"never reviewed ({state.interval})")
            overdue.append((path, why))
    authors: dict[str, set[str]] = {}
    try:
        from veriwiki.services.status import _file_history

        authors = {p: a for p, (_, a) in _file_history(vault).items()}
    except VeriwikiError:
        authors = {}
    output.write_chunks(f"{ASSETS}/findings.html", docs.render_findings(model, vault.pages_root))
    output.write(f"{ASSETS}/health.html",
                 docs.render_health(model, vault.pages_root, overdue, authors))


def write_search(vault: Vault, model: SiteModel, output: Output) -> None:
    """The sharded search index, from each page's term weights.

    Term weights are kept per page with the blob they were weighed from, and the
    postings table the last build made from them (:mod:`site_terms`). When the pages
    are the same and only some changed, the table is updated for those pages' terms
    (:func:`veriwiki.render.search.update_table`) instead of merging every page's
    weights again; the files are the same either way.
    """
    version = _terms_version()
    listed = [p for p in sorted(model.pages) if p not in (model.index_page, model.log_page)]
    docs = [(page_url(p), model.title_of(p), model.summary_of(p)[:160]) for p in listed]
    listing = digest([d[0] for d in docs])
    for name in OLD_CACHES:
        with contextlib.suppress(OSError):
            (vault.cache_dir / name).unlink(missing_ok=True)
    store = TermsStore(vault.cache_dir, version)
    touched: set[str] | None = None  # the terms whose postings may have changed (None: all)
    table: dict[str, list[int]] | None
    # path -> blob and weights (a dict for the few pages of an update, JSON text when
    # every page is merged: at 100k pages the weights as dicts are ~2 GB, as text ~0.2)
    new: dict[str, tuple[str, dict[str, int] | str]] = {}
    try:
        changed = [(i, p) for i, p in enumerate(listed)
                   if store.blobs.get(p) != model.blobs.get(p, "")]
        table = store.table(listing) if len(changed) <= MAX_UPDATE else None
        if table is not None:
            for _, p in changed:
                new[p] = (model.blobs.get(p, ""), _weigh(model, p))
            old = store.weights(p for _, p in changed)
            changes = [(i, old.get(p), _weights_of(new[p][1])) for i, p in changed]
            try:
                exact = not any(o is None for _, o, _ in changes) and update_table(table,
                                                                                   changes)
            except ValueError:  # a damaged group of the stored table
                exact = False
            if not exact:
                table = None  # a full list lost one of its best: merge every page again
            else:  # a term whose weight in each changed page is the same keeps its list
                touched = {t for _, o, n in changes for t in {*(o or ()), *n}
                           if (o or {}).get(t) != n.get(t)}
            del changes
        if table is None:
            table = _merged(model, listed, {p for _, p in changed}, new, store)
        last = store.shards() if touched is not None else None
        try:
            shards = _write_shards(output, table, touched, last)
        except ValueError:  # a damaged group read for its shards: every page merged
            table = _merged(model, listed, {p for _, p in changed}, new, store)
            shards = _write_shards(output, table, None, None)
    finally:
        store.close()
    keys = [f[0] for files in shards.values() for f in files]
    for name, data in doc_files(docs, keys).items():
        output.write(f"{ASSETS}/search/{name}", data)
    store.save(new, {p for p in listed if p not in new}, listing, table, shards)


MAX_UPDATE = 2000  # more changed pages than this: every page merged (their weights as text)


def _weigh(model: SiteModel, path: str, doc: SearchDoc | None = None) -> dict[str, int]:
    return weigh(replace(doc or _doc(model, path), body=model.page_text(path)))


def _weights_of(value: dict[str, int] | str) -> dict[str, int]:
    return json.loads(value) if isinstance(value, str) else value


def _merged(model: SiteModel, listed: list[str], changed: set[str],
            new: dict[str, tuple[str, dict[str, int] | str]], store: TermsStore
            ) -> dict[str, list[int]]:
    """The postings table merged from every listed page's weights: stored (read a chunk
    at a time), or weighed now for the ``changed`` pages and those whose stored row is
    gone (added to ``new`` as JSON text, unless ``new`` holds them already)."""
    builder = SearchBuilder()
    for start in range(0, len(listed), 1000):
        chunk = listed[start:start + 1000]
        kept = store.weights(p for p in chunk if p not in changed and p not in new)
        for p in chunk:
            got = _weights_of(new[p][1]) if p in new else kept.get(p)
            doc = _doc(model, p)
            if got is None:  # changed, or a row gone meanwhile
                got = _weigh(model, p, doc)
                new[p] = (model.blobs.get(p, ""), _dumps(got))
            builder.add(doc, got)
    return builder.table()


def _write_shards(output: Output, table: dict[str, list[int]], touched: set[str] | None,
                  last: ShardRecord | None) -> ShardRecord:
    """Write the term shards of ``table``, keeping the files of each group of terms
    none of which is ``touched`` when they are exactly those the last build wrote
    (``last``); returns what was written, for the next build. A stored table
    (:class:`GroupedTable`) reads only the groups it makes again."""
    folder = output.out / ASSETS / "search"
    terms_in: Callable[[str], list[str]]
    if isinstance(table, GroupedTable):
        names, terms_in = table.group_names(), table.terms_in
    else:
        groups = shard_groups(table)
        names, terms_in = sorted(groups), groups.__getitem__
    redo = {group_of(t) for t in touched} if touched is not None else set()
    out: ShardRecord = {}
    settled = time.time_ns() - RACY_NS
    for group in names:
        files = last.get(group) if last is not None and group not in redo else None
        if files and all(shard_unchanged(folder / f"t-{f[0]}.json", f) for f in files):
            for f in files:
                output.keep(f"{ASSETS}/search/t-{f[0]}.json")
            # a digest is no longer needed once the file's times are old enough
            out[group] = [f[:5] if len(f) == 6 and max(f[2], f[3]) < settled else f
                          for f in files]
            continue
        terms = terms_in(group)
        if not terms:  # every term of the group is gone
            continue
        made = group_shards(table, terms)
        for key, blob in made.items():
            output.write(f"{ASSETS}/search/t-{key}.json", blob)
        # a file changed so recently that a change made after this build could leave
        # its times as they are (one clock tick) is recorded with a digest of its bytes
        # too: compared by content next time (as git does with racily clean files),
        # not made again
        recent = time.time_ns() - RACY_NS
        out[group] = [shard_entry(folder / f"t-{key}.json", key, blob, recent)
                      for key, blob in made.items()]
    return out


RACY_NS = 2_000_000_000  # file times this close to now are not trusted (coarse clocks)
def _doc(model: SiteModel, path: str) -> SearchDoc:
    page = model.pages[path]
    return SearchDoc(page_url(path), page.title, page.summary,
                     " ".join((page.title, *page.aliases)),
                     " ".join([h.text for h in page.headings] + list(page.tags)), "")


def _terms_version() -> str:
    """The cache format and a digest of the code that weighs terms."""
    from veriwiki.render import search

    with open(search.__file__ or "", "rb") as fh:
        return f"{TERMS_FORMAT}-{hashlib.sha256(fh.read()).hexdigest()[:16]}"


def digest(*parts: Any) -> str:
    """A short digest of JSON-able values (what a group of outputs is made from)."""
    raw = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def group_keys(vault: Vault, model: SiteModel, code: str) -> dict[str, str]:
    """Per group of outputs, a digest of everything it is made from."""
    return {name: group_key(vault, model, code, name) for name in GROUPS}


GROUPS = ("sources", "lists", "reports", "search", "llms", "llms-full")


def group_key(vault: Vault, model: SiteModel, code: str, name: str,
              memo: dict[str, Any] | None = None) -> str:
    """A digest of everything the group of outputs ``name`` is made from. ``search``,
    ``llms`` and ``llms-full`` read no findings and no check date (they are produced
    while the check runs). ``memo`` keeps parts shared by several groups of one build."""
    site = [code, model.vault_name, model.base_url]
    base = [*site, model.checked]
    memo = {} if memo is None else memo

    rows = model.rows  # site_store rows: digests per page

    def listing() -> str:  # digested once per build: five groups read it
        if "listing" not in memo:
            memo["listing"] = digest(
                [rows[p].listing for p in sorted(model.pages)] if rows is not None else
                [[p, pg.title, pg.summary, list(pg.tags)]
                 for p, pg in sorted(model.pages.items())])
        return str(memo["listing"])

    def blobs() -> str:
        if "blobs" not in memo:
            memo["blobs"] = digest(sorted(model.blobs.items()))
        return str(memo["blobs"])

    def claims() -> list[Any]:
        if "claims" not in memo:
            memo["claims"] = [  # with the title: a source's page names the citing pages
                rows[p].claims for p in sorted(model.pages) if rows[p].claims
            ] if rows is not None else [
                [p, pg.title, [[c.line, [[x.source_id, x.version, x.quote, x.line]
                                         for x in c.citations]] for c in pg.claims]]
                for p, pg in sorted(model.pages.items()) if pg.claims]
        return list(memo["claims"])

    def findings() -> str:  # each page's findings, digested (after the check only)
        if "findings" not in memo:
            memo["findings"] = digest(sorted(model.finding_digests.items()))
        return str(memo["findings"])

    def found(paths: list[str]) -> list[Any]:  # the findings of some pages only
        return [[p, model.blobs.get(p), model.finding_digests.get(p)] for p in paths]

    sources = [[sid, [[v.version, v.sha256, v.file, v.added] for v in s.versions], s.title,
                s.origin, s.license] for sid, s in sorted(model.sources.items())]
    if name == "sources":
        # the verdicts shown are those of the citing pages (pages with claims), the
        # stale claims listed come from stale-claim findings; quote places are made
        # from the source texts and the quotes (in claims())
        citing = [p for p in sorted(model.pages)
                  if (rows[p].claims if rows is not None else model.pages[p].claims)]
        stale = [f.to_json() for f in findings_of(model.report, "stale-claim")]
        return digest(base, sources, claims(), found(citing), stale, texts_digest(model.texts))
    if name == "lists":
        # listings show the listing; the home page renders the index page (its chips,
        # facts, links and the pages it embeds), not every page's findings
        home = [model.index_page, *model.embeds.get(model.index_page, ())] \
            if model.index_page in model.pages else []
        return digest(base, listing(), model.names_digest, found(home), sources,
                      texts_digest(model.texts), [repr(f) for f in model.facts])
    if name == "reports":
        return digest(base, listing(), findings(), claims(),
                      [rows[p].review for p in sorted(model.pages)] if rows is not None else
                      [[p, pg.type, pg.frontmatter.get("reviewed")]
                       for p, pg in sorted(model.pages.items())],
                      vault.settings.get("freshness"), _head(vault))  # validated, as JSON
    if name == "search":
        return digest(site, blobs(), listing())
    if name == "llms":
        return digest(site, listing())
    if name == "llms-full":
        return digest(site, blobs(), listing())  # the titles are in the listing
    raise ValueError(f"no group of outputs named {name!r}")


def _head(vault: Vault) -> str | None:

    try:
        return vault.git.head()
    except VeriwikiError:
        return None
