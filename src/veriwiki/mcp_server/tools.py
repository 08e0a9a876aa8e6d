"""The MCP tools: each parses its typed input, calls one service, returns JSON.

Results are ``structuredContent`` in the shapes the CLI's ``--json`` prints (a CLI list is
wrapped in an object: ``{"hits": …}``, ``{"sources": …}``). Inputs are bounded by their
schemas; a veriwiki error becomes a tool error that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from veriwiki.mcp_server.worker import VaultWorker
from veriwiki.services.agent import (
    PageChange,
    add_source_from,
    find_passages,
    page_report,
    propose_changes,
    source_window,
)
from veriwiki.services.check import CheckReport, check_vault
from veriwiki.services.indexing import find_page
from veriwiki.services.indexing import search as search_pages
from veriwiki.services.proposals import list_proposals
from veriwiki.services.review import approve as approve_proposal
from veriwiki.services.review import claim_diff, show
from veriwiki.services.source_json import added_json, source_json
from veriwiki.services.sources import list_sources as all_sources
from veriwiki.services.status import vault_status
from veriwiki.vault import Vault

MAX_PAGE_CHARS = 2_000_000
MAX_DIFF_CHARS = 200_000

Query = Annotated[str, Field(min_length=1, max_length=500,
                             description="Words to look for in titles, aliases and text.")]
Limit = Annotated[int, Field(ge=1, le=50, description="How many results, at most 50.")]
PageName = Annotated[str, Field(min_length=1, max_length=300,
                                description="A page title, alias, file name or path.")]
SourceRef = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f]+$",
                                 description="A source id, or id:vN for version N.")]
Phrase = Annotated[str, Field(min_length=3, max_length=2000,
                              description="What the passage should say, in your words or "
                                          "its own.")]
Range = Annotated[str | None, Field(default=None, max_length=40,
                                    description='Lines "120-180" or "120" (as numbered in '
                                                'locators), or pages "p. 3" / "pp. 3-4". '
                                                "Default: the first 400 lines.")]
Target = Annotated[str, Field(min_length=1, max_length=2000,
                              description="An http(s) URL, arxiv:ID, or a file path inside "
                                          "the vault folder.")]
Message = Annotated[str, Field(min_length=1, max_length=2000,
                               description="Why: becomes the proposal's subject.")]
ProposalId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9._-]+$",
                                  description="A proposal id as review_list shows it.")]

_READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)


class Change(BaseModel):
    """One page of a proposal: its full new markdown, or ``delete: true``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=300,
                      description="Page path under the pages folder, e.g. wiki/topic/x.md.")
    content: str | None = Field(None, max_length=MAX_PAGE_CHARS,
                                description="The page's whole new markdown (frontmatter "
                                            "included).")
    diff: str | None = Field(None, max_length=MAX_PAGE_CHARS,
                             description="Instead of content: a unified diff against the "
                                         "page as it is in the proposal (or on main).")
    delete: bool = Field(False, description="Remove the page instead.")


def _notes() -> tuple[list[str], Callable[[str], None]]:
    """A list of notices and the callback that fills it (returned with the result)."""
    notes: list[str] = []
    return notes, notes.append


def register_tools(server: MCPServer, worker: VaultWorker, *, allow_approve: bool) -> None:
    """Add every tool to ``server``; ``approve`` only when the vault allows agents to."""

    @server.tool(annotations=_READ)
    async def search(query: Query, limit: Limit = 10) -> dict[str, Any]:
        """Pages ranked for a query (BM25), with snippets. Start here."""
        notes, note = _notes()

        def run(vault: Vault) -> dict[str, Any]:
            hits = search_pages(vault, query, limit, on_notice=note,
                                refresh=worker.watch.take_changed())
            return {"hits": [h.to_json() for h in hits], "notices": notes}

        return await worker.run(run)

    @server.tool(annotations=_READ)
    async def read_page(name: PageName) -> dict[str, Any]:
        """A page's markdown, each claim with its citations and verdict, the page's
        findings and its backlinks."""
        return await worker.run(lambda vault: page_report(vault, name))

    @server.tool(annotations=_READ)
    async def find_in_source(source: SourceRef, text: Phrase) -> dict[str, Any]:
        """The passages of a source that best match a phrase. Each passage's text is exact:
        quote it unchanged as [@source, "text"] instead of paraphrasing."""
        def run(vault: Vault) -> dict[str, Any]:
            ref, found = find_passages(vault, source, text)
            return {"source": ref, "passages": [p.to_json() for p in found]}

        return await worker.run(run)

    @server.tool(annotations=_READ)
    async def list_sources() -> dict[str, Any]:
        """The sources in raw/: id, title, current version, media type, versions."""
        notes, note = _notes()

        def run(vault: Vault) -> dict[str, Any]:
            return {"sources": [source_json(s) for s in all_sources(vault, on_notice=note)],
                    "notices": notes}

        return await worker.run(run)

    @server.tool(annotations=_READ)
    async def read_source(id: SourceRef, range: Range = None) -> dict[str, Any]:  # noqa: A002
        """Part of a source's extracted text by lines or pages (at most 400 lines);
        ``next_range`` says what to ask for next."""
        return await worker.run(lambda vault: source_window(vault, id, range))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                             idempotent_hint=True, open_world_hint=True))
    async def add_source(path_or_url: Target) -> dict[str, Any]:
        """Add a source (one commit on main: sources are immutable inputs, not claims).
        A URL or arxiv:ID is downloaded; a file must be inside the vault folder."""
        notes, note = _notes()

        def run(vault: Vault) -> dict[str, Any]:
            results = add_source_from(vault, path_or_url, on_wait=note, on_notice=note)
            return dict(added_json(results), notices=notes)

        return await worker.run(run)

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False,
                                             open_world_hint=False))
    async def propose(changes: Annotated[list[Change], Field(min_length=1, max_length=50)],
                      message: Message,
                      proposal_id: ProposalId | None = None) -> dict[str, Any]:
        """Propose page changes for human review (a branch; main is never touched).
        Without proposal_id a new proposal is made; with it, that proposal is updated
        (pages not named again stay as they were). Returns the findings of the check on
        the proposal's pages: fix every error and call propose again with the same
        proposal_id until findings is empty."""
        items = [PageChange(c.path, c.content, c.delete, c.diff) for c in changes]
        for c in changes:
            if [c.content is not None, c.diff is not None, c.delete].count(True) != 1:
                raise ToolError(f"{c.path}: give either content (the whole new page), diff "
                                "or delete: true — what to do: send the page's full "
                                "markdown as content")
        return await worker.run(
            lambda vault: propose_changes(vault, items, message, proposal_id).to_json())

    @server.tool(annotations=_READ)
    async def check(pages: Annotated[list[Annotated[str, Field(max_length=300)]] | None,
                    Field(default=None, max_length=200,
                          description="Page names or paths; default every page.")] = None
                    ) -> dict[str, Any]:
        """Run every deterministic check rule on main; the findings (of the pages named)."""
        def run(vault: Vault) -> dict[str, Any]:
            report = check_vault(vault)
            if pages is not None:
                wanted = {find_page(vault, name) for name in pages}
                report = CheckReport([f for f in report.findings if f.path in wanted],
                                     report.pages)
            return report.to_json()

        return await worker.run(run)

    @server.tool(annotations=_READ)
    async def status() -> dict[str, Any]:
        """Vault health: pages, claims and how many verified, findings by rule, stale
        pages, per folder and per type."""
        return await worker.run(lambda vault: vault_status(vault).to_json())

    @server.tool(annotations=_READ)
    async def review_list() -> dict[str, Any]:
        """Open proposals, each with its claim diff."""
        def run(vault: Vault) -> dict[str, Any]:
            return {"proposals": [dict(p.to_json(), claim_diff=claim_diff(vault, p).to_json())
                                  for p in list_proposals(vault)]}

        return await worker.run(run)

    @server.tool(annotations=_READ)
    async def review_show(id: ProposalId) -> dict[str, Any]:  # noqa: A002
        """One proposal: its claim diff and its page diff."""
        def run(vault: Vault) -> dict[str, Any]:
            proposal, diff, pages = show(vault, id)
            out = dict(proposal.to_json(), claim_diff=diff.to_json(),
                       diff=pages[:MAX_DIFF_CHARS])
            if len(pages) > MAX_DIFF_CHARS:
                out["diff_truncated"] = True
            return out

        return await worker.run(run)

    if not allow_approve:
        return

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True,
                                             open_world_hint=False))
    async def approve(id: ProposalId) -> dict[str, Any]:  # noqa: A002
        """Merge a proposal into main after the check passes (allowed by [mcp]
        allow_approve in this vault)."""
        notes, note = _notes()

        def run(vault: Vault) -> dict[str, Any]:
            proposal, result, errors = approve_proposal(vault, id, on_notice=note)
            return {"proposal": proposal.id, "commit": result.commit,
                    "forced_errors": [f.to_json() for f in errors], "notices": notes}

        return await worker.run(run)
