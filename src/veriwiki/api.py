"""The Python API: everything the CLI does, as plain functions.

Example::

    from veriwiki import api
    vault = api.open_vault("my-vault")
    api.update_index(vault)
    for hit in api.search(vault, "rotary embeddings"):
        print(hit.path, hit.score)

Check blocks run in bubblewrap, or not at all where it cannot run; to run them
unisolated in a vault you trust, set ``vault.sandbox = api.SandboxPolicy(trust=True)``
before ``check_vault`` (docs/check-blocks.md). ``vault.use_private_caches()`` is
``check --no-cache``.
"""

from __future__ import annotations

from veriwiki.adapters.isolation import SandboxPolicy
from veriwiki.adapters.llm_provider import open_embedding_model, open_text_model
from veriwiki.adapters.sqlite_index import IndexStats, SearchHit
from veriwiki.ai.provider import Meter
from veriwiki.services.ask import answer_question
from veriwiki.services.ask_save import save_answer
from veriwiki.services.check import CheckReport, check_vault
from veriwiki.services.check_run import CheckOptions, CheckRun, run_check
from veriwiki.services.freshness import mark_reviewed
from veriwiki.services.indexing import find_page, search, update_index
from veriwiki.services.ingest import ingest_source
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
from veriwiki.services.proposals import get_proposal, list_proposals
from veriwiki.services.review import approve, claim_diff, reject
from veriwiki.services.review import show as show_proposal
from veriwiki.services.site import build_site
from veriwiki.services.sources import (
    add_source,
    add_sources,
    get_source,
    list_sources,
    source_text,
)
from veriwiki.services.status import vault_status
from veriwiki.services.types import load_types
from veriwiki.services.vault_ops import adopt_vault, init_vault
from veriwiki.services.web_sources import add_url, refresh_source
from veriwiki.services.write import regenerate_catalog
from veriwiki.vault import Vault, open_vault

__all__ = [
    "CheckReport", "IndexStats", "SandboxPolicy", "SearchHit", "Vault", "add_source",
    "add_sources",
    "adopt_vault", "check_vault", "get_source", "list_sources", "source_text",
    "find_page", "init_vault", "load_types", "move_page", "new_page", "open_vault",
    "page_backlinks", "page_history", "page_links", "remove_page", "revert_page", "search",
    "show_page", "update_index",
    "CheckOptions", "CheckRun", "run_check",  # check with --changed, --llm, --no-cache
    "add_url", "build_site", "mark_reviewed", "refresh_source", "regenerate_catalog",
    "show_proposal", "vault_status",
    # LLM operations (docs/llm.md, docs/ask.md)
    "Meter", "answer_question", "approve", "claim_diff", "get_proposal", "ingest_source",
    "list_proposals", "open_embedding_model", "open_text_model", "reject", "save_answer",
]
