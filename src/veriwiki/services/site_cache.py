"""What one site build keeps for the next (derived state in the vault's cache folder).

All rebuildable (deleting them costs time, never changes the output):

- ``site-store.db``: one row per page (:mod:`site_store`): its blob id, the page as
  the site keeps it (no links, no code: a flat JSON list, :func:`page_record`), where
  its links lead and which pages link to it, and digests of what the groups of outputs
  read of it. A row is reused when the page's blob is unchanged and the names every
  link resolves against (``names_digest``, which covers every page's path) are the
  same, so a rebuild loads from the index and resolves the links of the changed pages
  only.
- ``site-keys.json``: what the last build's page keys were made from that is shared by
  every page (the check date, the sources, the facts ...), a digest of those keys and
  a digest of each page's findings. When the shared inputs are unchanged and the output
  folder's manifest holds exactly those keys, only the pages around what changed get
  their key computed again (``site_model.pages_to_key``); the others keep theirs.
- the resolver's tables are kept in the store (``site_store.StoredNames``).

The store and the keys file carry the same build token, so a keys file is only used
with the rows written by the same build.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veriwiki.core.model import Page

OLD_STATE_FILE = "site-state.jsonl"  # format 2, replaced by site_store
KEYS_FILE = "site-keys.json"
FORMAT = 3


def state_version(code: str, config: bytes = b"") -> str:
    """The cache format with what a row is derived from besides the page's blob: the
    site code, the domain code that parses pages and resolves links (``veriwiki.core``)
    and the vault's configuration."""
    from importlib import resources

    h = hashlib.sha256(f"{FORMAT}\0{code}\0".encode() + config)
    for name in ("site_store", "site_derived"):  # not in the renderer's code_version
        h.update(resources.files("veriwiki.services").joinpath(f"{name}.py").read_bytes())
    core = resources.files("veriwiki.core")
    for folder in (core, core / "markdown"):
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.is_file() and item.name.endswith(".py"):
                h.update(item.name.encode() + b"\0" + item.read_bytes())
    return h.hexdigest()[:24]


def page_record(page: Page) -> list[Any]:
    """What the site keeps of a slimmed page (:func:`site_model.slim`), as a flat JSON
    list: read back by :func:`page_of` without a second decoding."""
    err = page.frontmatter_error
    return [page.title, list(page.aliases), page.type, list(page.tags), page.summary,
            page.frontmatter, [err.message, err.line, err.column] if err else None,
            [[h.level, h.text, h.line] for h in page.headings],
            [list(b) for b in page.block_ids], [list(r) for r in page.footnote_refs],
            list(page.footnote_defs),
            [[c.text, c.line, [[x.source_id, x.version, x.locator, x.quote, x.line, x.column,
                                x.raw] for x in c.citations]] for c in page.claims],
            [list(r) for r in page.fact_refs]]


def page_of(path: str, rec: list[Any]) -> Page:
    """The slimmed page :func:`page_record` kept (raises ValueError, TypeError or
    IndexError when the record is damaged)."""
    from veriwiki.core.claims import Citation, Claim
    from veriwiki.core.model import FrontmatterError, Heading
    from veriwiki.core.model import Page as Page_

    (title, aliases, type_, tags, summary, front, err, heads, blocks, frefs, fdefs, claims,
     facts) = rec
    if type(title) is not str or type(summary) is not str or type(front) is not dict:
        raise TypeError("a damaged page record")
    # list comprehensions, and nothing made for what is empty: 10k pages a build
    return Page_(
        path=path, title=title, aliases=tuple(aliases), type=type_, tags=tuple(tags),
        summary=summary, frontmatter=front, field_lines={},
        frontmatter_error=FrontmatterError(*err) if err else None,
        headings=tuple([Heading(*h) for h in heads]) if heads else (), links=(),
        block_ids=tuple([(b[0], b[1]) for b in blocks]) if blocks else (), code_blocks=(),
        footnote_refs=tuple([(r[0], r[1]) for r in frefs]) if frefs else (),
        footnote_defs=tuple(fdefs),
        claims=tuple([Claim(c[0], c[1], tuple([Citation(*x) for x in c[2]]))
                      for c in claims]) if claims else (),
        fact_refs=tuple([(r[0], r[1], r[2], r[3]) for r in facts]) if facts else ())


@dataclass
class Previous:
    """What the last build's keys were made from (see the module docstring)."""

    token: str | None = None
    keys: str | None = None  # digest of the page keys the build wrote
    shared: str | None = None  # digest of the inputs every page shares
    findings: dict[str, str] = field(default_factory=dict)  # path -> digest of its findings
    outs: dict[str, list[str]] = field(default_factory=dict)  # old outlinks of changed pages


def read_previous(cache_dir: Path) -> Previous:
    try:
        data = json.loads((cache_dir / KEYS_FILE).read_text(encoding="utf-8",
                                                             errors="surrogatepass"))
    except (OSError, ValueError):
        return Previous()
    if not isinstance(data, dict) or not isinstance(data.get("findings"), dict):
        return Previous()
    return Previous(data.get("token"), data.get("keys"), data.get("shared"),
                    {str(k): str(v) for k, v in data["findings"].items()})


def write_previous(cache_dir: Path, token: str, keys: dict[str, str], shared: str,
                   findings: dict[str, str]) -> None:
    data = {"token": token, "keys": keys_digest(keys), "shared": shared, "findings": findings}
    path = cache_dir / KEYS_FILE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # one per build process
    with contextlib.suppress(OSError):
        tmp.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True,
                                  separators=(",", ":")),
                       encoding="utf-8", errors="surrogatepass")
        os.replace(tmp, path)


def drop_previous(cache_dir: Path) -> None:
    """Forget the last build's keys (before a new state replaces the rows they match)."""
    with contextlib.suppress(OSError):
        (cache_dir / KEYS_FILE).unlink()


def keys_digest(keys: dict[str, str]) -> str:
    raw = json.dumps(keys, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def digest_of(value: Any) -> str:
    raw = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


RESOLVER_FILE = "site-resolver.json"  # the resolver's tables until site store format 3
