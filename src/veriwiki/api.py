"""The Python API: everything the CLI does, as plain functions.

Example::

    from veriwiki import api
    vault = api.open_vault("my-vault")
    api.update_index(vault)
    for hit in api.search(vault, "rotary embeddings"):
        print(hit.path, hit.score)
"""

from __future__ import annotations

from veriwiki.adapters.sqlite_index import IndexStats, SearchHit
from veriwiki.services.check import CheckReport, check_vault
from veriwiki.services.indexing import find_page, search, update_index
from veriwiki.services.pages import (
    move_page,
    new_page,
    page_backlinks,
    page_history,
    page_links,
    remove_page,
    revert_page,
    show_page,
)
from veriwiki.services.sources import (
    add_source,
    add_sources,
    get_source,
    list_sources,
    source_text,
)
from veriwiki.services.types import load_types
from veriwiki.services.vault_ops import adopt_vault, init_vault
from veriwiki.vault import Vault, open_vault

__all__ = [
    "CheckReport", "IndexStats", "SearchHit", "Vault", "add_source", "add_sources",
    "adopt_vault", "check_vault", "get_source", "list_sources", "source_text",
    "find_page", "init_vault", "load_types", "move_page", "new_page", "open_vault",
    "page_backlinks", "page_history", "page_links", "remove_page", "revert_page", "search",
    "show_page", "update_index",
]
