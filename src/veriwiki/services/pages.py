"""Page operations: new, show, links, backlinks, mv, rm, history, revert."""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from veriwiki.adapters.fs import read_page_text
from veriwiki.adapters.sqlite_index import target_key
from veriwiki.adapters.store import CommitResult
from veriwiki.core.frontmatter import read_frontmatter
from veriwiki.core.model import Link, Page
from veriwiki.core.names import check_page_name, normalize_name, scripts_of, skeleton
from veriwiki.core.parse import parse_page
from veriwiki.core.resolve import PageNames, Resolution, Resolver
from veriwiki.core.rewrite import LinkEdit, apply_link_edits
from veriwiki.errors import ConflictError, InputError, PageNotFoundError
from veriwiki.services.indexing import build_resolver, find_page, update_index
from veriwiki.services.types import load_types, page_template
from veriwiki.services.write import Notify, finish, write_operation
from veriwiki.vault import Vault


@dataclass(frozen=True, slots=True)
class LinkInfo:
    """A link and where it leads."""

    source: str
    link: Link
    resolution: Resolution

    def to_json(self) -> dict[str, Any]:
        """The link as ``links --json`` / ``backlinks --json`` print it."""
        r = self.resolution
        return {"source": self.source, "kind": self.link.kind, "raw": self.link.raw,
                "target": self.link.target, "fragment": self.link.fragment,
                "label": self.link.label, "line": self.link.line, "status": r.status,
                "resolved": r.path, "candidates": list(r.candidates), "problem": r.problem}


def _page_path(vault: Vault, name: str) -> str:
    root = vault.pages_root
    rel = f"{name}.md"
    return rel if root in ("", ".") else f"{root}/{rel}"


def _check_lookalike(pages: Iterable[PageNames], title: str) -> None:
    norm = normalize_name(title)
    skel = skeleton(title)
    for names in pages:
        path = names.path
        for existing in (names.title, *names.aliases, path.rsplit("/", 1)[-1][:-3]):
            if normalize_name(existing) == norm:
                raise ConflictError(f"a page named '{existing}' already exists: {path}",
                                    hint="open it with 'veriwiki show', or pick another title")
            if skeleton(existing) == skel:
                raise ConflictError(
                    f"'{title}' looks like the existing page '{existing}' ({path}) but uses "
                    "different characters (look-alike letters from another script)",
                    hint="retype the title with the same letters, or pass --force if the "
                         "names really differ")
    words = title.split()
    mixed = [w for w in words if len(scripts_of(w) - {"DIGIT"}) > 1]
    if mixed:
        raise InputError(
            f"title '{title}' mixes writing systems inside a word ({mixed[0]!r}: "
            f"{', '.join(sorted(scripts_of(mixed[0])))}), which is how look-alike names are made",
            hint="retype the word in one script, or pass --force")


def new_page(vault: Vault, name: str, page_type: str | None = None, *, force: bool = False,
             on_wait: Notify | None = None, on_notice: Notify | None = None) -> tuple[str, CommitResult]:
    """Create a page from its type's template; one commit."""
    name = check_page_name(name)
    title = name.rsplit("/", 1)[-1]
    types = load_types(vault)
    ptype = None
    if page_type is not None:
        ptype = types.types.get(page_type)
        if ptype is None:
            raise InputError(f"unknown page type '{page_type}'",
                             hint="known types: " + ", ".join(sorted(types.types)))
    path = _page_path(vault, name)
    with write_operation(vault, f"new {name}", force=force, on_wait=on_wait,
                         on_notice=on_notice) as tx:
        update_index(vault)
        if (vault.root / path).exists() or tx.head_content(path) is not None:
            raise ConflictError("this page already exists", path=path,
                                hint="open it with 'veriwiki show', or pick another title")
        if not force:
            _check_lookalike(vault.index.page_names(), title)  # names, no resolver
        tx.put(path, page_template(ptype, title).encode())
        result = finish(vault, tx, "new", title)
    return path, result


def show_page(vault: Vault, name: str) -> tuple[Page, str]:
    """The parsed page and its full text."""
    path = find_page(vault, name)
    limit = vault.vault_settings.max_page_bytes
    if path in (vault.index_page, vault.log_page):
        limit = 1 << 40  # generated pages are exempt from the size limit
    text = read_page_text(vault.root, path, limit)
    return parse_page(path, text), text


def page_links(vault: Vault, name: str) -> list[LinkInfo]:
    """Outgoing links of a page and where each leads."""
    update_index(vault)
    resolver = build_resolver(vault)
    path = find_page(vault, name, resolver)
    page = vault.index.load_pages([path])[0]
    return [LinkInfo(path, link, resolver.resolve(link, path)) for link in page.links]


def _backlinks(vault: Vault, resolver: Resolver, path: str) -> list[LinkInfo]:
    names = resolver.pages[path]
    keys = {normalize_name(names.title), *(normalize_name(a) for a in names.aliases)}
    keys.add(target_key(path))
    keys.add("")  # same-page links
    candidates = set(vault.index.pages_linking_to(keys))
    out = []
    for page in vault.index.load_pages(sorted(candidates)):
        for link in page.links:
            if target_key(link.target) not in keys and link.kind not in ("markdown", "image"):
                continue
            res = resolver.resolve(link, page.path)
            if res.path == path or path in res.candidates:
                out.append(LinkInfo(page.path, link, res))
    return out


def page_backlinks(vault: Vault, name: str) -> list[LinkInfo]:
    """Links from other pages that reach this page."""
    update_index(vault)
    resolver = build_resolver(vault)
    path = find_page(vault, name, resolver)
    return [b for b in _backlinks(vault, resolver, path) if b.source != path]


def _renamed_resolver(vault: Vault, resolver: Resolver, old: str, new: str,
                      new_title: str) -> Resolver:
    pages = []
    for p, n in resolver.pages.items():
        if p == old:
            pages.append(PageNames(new, new_title, n.aliases, n.headings, n.block_ids,
                                   n.anchors))
        else:
            pages.append(n)
    return Resolver(pages, list(resolver.files.values()), vault.pages_root)


def _best_wikilink_target(resolver: Resolver, path: str, pages_root: str) -> str:
    stem = path.rsplit("/", 1)[-1][:-3]
    probe = Link("wikilink", stem, None, None, stem, 0, 0)
    if resolver.resolve(probe, "").path == path:
        return stem
    no_ext = path[:-3]
    prefix = pages_root + "/"
    return no_ext[len(prefix):] if pages_root not in ("", ".") and no_ext.startswith(prefix) else no_ext


def _relink(text: str, old_loc: str, new_loc: str, before: Resolver, after: Resolver,
            moved: dict[str, str], pages_root: str) -> str:
    """Point every link that reached a moved page (or broke by moving) at the new place."""
    page = parse_page(new_loc, text)
    edits = []
    for link in page.links:
        was = before.resolve(link, old_loc)
        if not was.is_ok or was.path is None:
            continue
        want = moved.get(was.path, was.path)
        now = after.resolve(link, new_loc)
        if now.is_ok and now.path == want:
            continue
        if link.kind in ("wikilink", "embed"):
            if was.is_attachment:
                continue
            target = "" if want == new_loc and not link.target else _best_wikilink_target(
                after, want, pages_root)
            edits.append(LinkEdit(link, target))
        else:
            edits.append(LinkEdit(link, want))
    return apply_link_edits(text, new_loc, edits)


def move_page(vault: Vault, old_name: str, new_name: str, *, force: bool = False,
              on_wait: Notify | None = None, on_notice: Notify | None = None
              ) -> tuple[str, str, list[str], CommitResult]:
    """Rename a page and rewrite every link and embed to it; one commit."""
    with write_operation(vault, f"mv {old_name}", force=force, on_wait=on_wait,
                         on_notice=on_notice) as tx:
        update_index(vault)
        before = build_resolver(vault)
        old = find_page(vault, old_name, before)
        new_name = check_page_name(new_name[:-3] if new_name.lower().endswith(".md") else new_name)
        if "/" in new_name:
            new = _page_path(vault, new_name)
        else:
            new = posixpath.join(posixpath.dirname(old), f"{new_name}.md")
        if new == old:
            raise InputError(f"'{old_name}' is already at {old}")
        if (vault.root / new).exists() and normalize_name(new) != normalize_name(old):
            raise ConflictError("a page already exists at the new name", path=new,
                                hint="choose another name or remove that page first")
        old_stem = old.rsplit("/", 1)[-1][:-3]
        new_stem = new.rsplit("/", 1)[-1][:-3]
        names = before.pages[old]
        fm_title = names.title if names.title != old_stem else None
        new_title = new_stem if fm_title is None or fm_title == old_stem else fm_title
        after = _renamed_resolver(vault, before, old, new, new_title)
        moved = {old: new}
        sources_set = {b.source for b in _backlinks(vault, before, old)}
        # links that meant another page by the new name could turn ambiguous: revisit them
        sources_set.update(vault.index.pages_linking_to(
            {target_key(new), normalize_name(new_title), target_key(new_title)}))
        sources = sorted(sources_set - {old})
        tx.prefetch([old, *sources])
        root = vault.pages_root

        def rewrite_self(data: bytes | None) -> bytes | None:
            if data is None:
                return None
            text = data.decode("utf-8")
            fm = read_frontmatter(text)
            if fm.data.get("title") == old_stem:
                line = fm.field_lines.get("title")
                if line:
                    lines = text.split("\n")
                    lines[line - 1] = lines[line - 1].replace(old_stem, new_stem, 1)
                    text = "\n".join(lines)
            return _relink(text, old, new, before, after, moved, root).encode()

        if tx.head_content(old) is None and not (vault.root / old).exists():
            raise PageNotFoundError(f"{old} does not exist on disk", path=old)
        tx.rename(old, new, rewrite_self)
        def relinker(src: str) -> Callable[[bytes | None], bytes | None]:
            def rewrite(data: bytes | None) -> bytes | None:
                if data is None:
                    return None
                return _relink(data.decode("utf-8"), src, src, before, after, moved,
                               root).encode()
            return rewrite

        relinked = []
        for src in sources:
            before_state = (tx.head_content(src), tx.work_content(src))
            tx.transform(src, relinker(src))
            if (tx.head_content(src), tx.work_content(src)) != before_state:
                relinked.append(src)
        result = finish(vault, tx, "mv", f"{old} -> {new}")
    generated = {vault.index_page, vault.log_page}
    return old, new, [p for p in relinked if p not in generated], result


def remove_page(vault: Vault, name: str, *, force: bool = False, on_wait: Notify | None = None,
                on_notice: Notify | None = None) -> tuple[str, CommitResult]:
    """Delete a page; refuses while other pages link to it unless ``force``."""
    with write_operation(vault, f"rm {name}", force=force, on_wait=on_wait,
                         on_notice=on_notice) as tx:
        update_index(vault)
        resolver = build_resolver(vault)
        path = find_page(vault, name, resolver)
        if path in (vault.index_page, vault.log_page):
            raise InputError(f"{path} is generated by veriwiki and cannot be removed")
        inbound = sorted({b.source for b in _backlinks(vault, resolver, path)} - {
            path, vault.index_page, vault.log_page})
        if inbound and not force:
            shown = ", ".join(inbound[:5]) + (f" and {len(inbound) - 5} more" if len(inbound) > 5 else "")
            raise ConflictError(f"{len(inbound)} page(s) link to {path}: {shown}",
                                path=path, hint="remove or retarget those links first, or pass "
                                                "--force to leave them broken")
        tx.delete(path)
        result = finish(vault, tx, "rm", path)
    return path, result


def page_history(vault: Vault, name: str, limit: int | None = None) -> tuple[str, list[dict[str, str]]]:
    """The git log of a page, newest first (renames followed)."""
    path = _existing_or_historic(vault, name)
    return path, vault.git.log(path, limit)


def _existing_or_historic(vault: Vault, name: str) -> str:
    try:
        return find_page(vault, name)
    except PageNotFoundError:
        rel = name if name.lower().endswith(".md") else f"{name}.md"
        for cand in (rel, _page_path(vault, rel[:-3])):
            if vault.git.log(cand, 1):
                return cand
        raise


def revert_page(vault: Vault, name: str, rev: str | None = None, *, force: bool = False,
                on_wait: Notify | None = None, on_notice: Notify | None = None
                ) -> tuple[str, str, CommitResult]:
    """Restore a page's text as of ``rev`` (default: before its last change); one commit."""
    git = vault.git
    with write_operation(vault, f"revert {name}", force=force, on_wait=on_wait,
                         on_notice=on_notice) as tx:
        path = _existing_or_historic(vault, name)
        history = git.log(path)
        if not history:
            raise InputError(f"{path} has no committed history to revert to", path=path)
        if rev is None:
            last = history[0]
            spec_rev, spec_path = f"{last['commit']}^", last["path"] or path
            if len(history) == 1:
                raise InputError(f"the only commit of {path} created it; nothing to revert to",
                                 path=path, hint="use 'veriwiki rm' to delete the page")
            spec_path = history[1]["path"] or path
        else:
            spec_rev, spec_path = rev, path
            for h in history:
                if h["commit"].startswith(rev):
                    spec_path = h["path"] or path
                    break
        resolved = git.run("rev-parse", "--verify", "-q", f"{spec_rev}^{{commit}}", check=False)
        sha = resolved.decode().strip()
        if not sha:
            raise InputError(f"unknown revision '{rev or spec_rev}'",
                             hint=f"see 'veriwiki history \"{name}\"' for revisions")
        data = git.read_blobs([f"{sha}:{spec_path}"])[0]
        if data is None:
            raise InputError(f"{spec_path} did not exist at {sha[:10]}", path=path)
        tx.put(path, data)
        result = finish(vault, tx, "revert", f"{path} to {sha[:10]}")
    return path, sha, result
