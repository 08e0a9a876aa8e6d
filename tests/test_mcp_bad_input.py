"""Bad arguments for every MCP tool: each is a tool error saying what to do, the server
keeps serving, and nothing outside wiki/ and proposals is touched."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from mcp import Client

from conftest import Git, Veriwiki
from helpers_mcp import data, page, stdio_params, text
from test_mcp import GOOD, agent_vault  # noqa: F401 - fixture

OK_PAGE = page("Fine", f'A fine claim. [@notes, "{GOOD}"]')

# (tool, arguments, a fragment the error message must hold); "" = any tool error
BAD: list[tuple[str, dict[str, object], str]] = [
    ("search", {"query": ""}, ""),
    ("search", {"query": "x" * 501}, ""),
    ("search", {"query": "llama", "limit": 0}, ""),
    ("search", {"query": "llama", "limit": 10_000}, ""),
    ("search", {}, ""),
    ("read_page", {"name": "No Such Page"}, "what to do"),
    ("read_page", {"name": "../../../etc/passwd"}, "what to do"),
    ("read_page", {"name": "x" * 301}, ""),
    ("find_in_source", {"source": "nope", "text": "trained on tokens"}, "what to do"),
    ("find_in_source", {"source": "../../etc", "text": "trained on tokens"}, "what to do"),
    ("find_in_source", {"source": "notes", "text": "x" * 2001}, ""),
    ("find_in_source", {"source": "notes"}, ""),
    ("read_source", {"id": "nope"}, "what to do"),
    ("read_source", {"id": "notes", "range": "banana"}, "what to do"),
    ("read_source", {"id": "notes", "range": "900-950"}, "what to do"),
    ("read_source", {"id": "notes", "range": "p. 2"}, "what to do"),
    ("read_source", {"id": "notes", "range": "1-" + "9" * 50}, ""),
    ("add_source", {"path_or_url": "/etc/passwd"}, "inside the vault"),
    ("add_source", {"path_or_url": "../outside.md"}, "inside the vault"),
    ("add_source", {"path_or_url": ".git/config"}, "inside the vault"),
    ("add_source", {"path_or_url": "inbox/missing.md"}, "what to do"),
    ("add_source", {"path_or_url": "inbox/link.md"}, "inside the vault"),
    ("add_source", {"path_or_url": ""}, ""),
    ("propose", {"changes": [{"path": "wiki/../veriwiki.toml", "content": "x"}],
                 "message": "m"}, "not a page path"),
    ("propose", {"changes": [{"path": "../outside.md", "content": "x"}], "message": "m"},
     "not a page path"),
    ("propose", {"changes": [{"path": "/etc/passwd.md", "content": "x"}], "message": "m"},
     "not a page path"),
    ("propose", {"changes": [{"path": "raw/notes/x.md", "content": "x"}], "message": "m"},
     "outside wiki/"),
    ("propose", {"changes": [{"path": ".git/hooks/x.md", "content": "x"}], "message": "m"},
     "outside wiki/"),
    ("propose", {"changes": [{"path": "wiki/.obsidian/x.md", "content": "x"}],
                 "message": "m"}, "not a markdown page"),
    ("propose", {"changes": [{"path": "wiki/x.txt", "content": "x"}], "message": "m"},
     "not a markdown page"),
    ("propose", {"changes": [{"path": "wiki/index.md", "content": "x"}], "message": "m"},
     "generated"),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": "x", "delete": True}],
                 "message": "m"}, "either content"),
    ("propose", {"changes": [{"path": "wiki/a.md"}], "message": "m"}, "either content"),
    ("propose", {"changes": [{"path": "wiki/gone.md", "delete": True}], "message": "m"},
     "cannot be deleted"),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": OK_PAGE},
                             {"path": "wiki/a.md", "content": OK_PAGE}], "message": "m"},
     "twice"),
    ("propose", {"changes": [], "message": "m"}, ""),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": OK_PAGE}], "message": ""}, ""),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": OK_PAGE}], "message": "m",
                 "proposal_id": "agent-nope"}, "what to do"),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": OK_PAGE}], "message": "m",
                 "proposal_id": "../../HEAD"}, ""),
    ("propose", {"changes": [{"path": "wiki/a.md", "content": OK_PAGE, "extra": 1}],
                 "message": "m"}, ""),
    ("propose", {"changes": "wiki/a.md", "message": "m"}, ""),
    ("check", {"pages": ["No Such Page"]}, "what to do"),
    ("check", {"pages": ["x"] * 201}, ""),
    ("review_show", {"id": "nope"}, "what to do"),
    ("review_show", {"id": "../../HEAD"}, ""),
    ("review_show", {}, ""),
    ("approve", {"id": "anything"}, "approve"),
]


@pytest.fixture
def bad_vault(agent_vault: Path, vw: Veriwiki) -> Path:  # noqa: F811
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    return agent_vault


def test_mcp_every_tool_refuses_bad_arguments(bad_vault: Path, vw: Veriwiki, git: Git) -> None:
    (bad_vault / "inbox" / "link.md").symlink_to("/etc/hostname")  # leads out of the vault
    main = git.head(bad_vault)
    status = git.status(bad_vault)
    tools_seen: set[str] = set()

    async def main_() -> None:
        async with Client(stdio_params(bad_vault, vw.env)) as client:
            for tool, args, fragment in BAD:
                result = await client.call_tool(tool, args)
                assert result.is_error, (tool, args, result)
                assert fragment.lower() in text(result).lower(), (tool, args, text(result))
                tools_seen.add(tool)
            # still serving, and the refusals left no proposal behind
            assert data(await client.call_tool("review_list", {}))["proposals"] == []
            assert data(await client.call_tool("search", {"query": "llama"}))["hits"]
            assert data(await client.call_tool("list_sources", {}))["sources"]
            assert data(await client.call_tool("status", {}))["pages"] >= 1

    anyio.run(main_)
    assert tools_seen >= {"search", "read_page", "find_in_source", "read_source", "add_source",
                          "propose", "check", "review_show", "approve"}
    assert git.head(bad_vault) == main and git.status(bad_vault) == status
    assert not (bad_vault.parent / "outside.md").exists()
    assert git(bad_vault, "for-each-ref", "refs/heads/proposals/") == ""


def test_mcp_oversized_page_is_refused_before_anything_is_written(bad_vault: Path,
                                                                  vw: Veriwiki,
                                                                  git: Git) -> None:
    config = bad_vault / "veriwiki.toml"
    config.write_text(config.read_text().replace("[vault]", "[vault]\nmax_page_bytes = 1000", 1))
    git(bad_vault, "commit", "-qam", "small pages")
    main = git.head(bad_vault)

    async def main_() -> tuple[str, str]:
        async with Client(stdio_params(bad_vault, vw.env)) as client:
            big = await client.call_tool("propose", {
                "changes": [{"path": "wiki/big.md", "content": "word " * 400}],
                "message": "too big"})
            huge = await client.call_tool("propose", {
                "changes": [{"path": "wiki/huge.md", "content": "y" * 2_000_001}],
                "message": "over the schema bound"})
            assert big.is_error and huge.is_error
            return text(big), text(huge)

    big, huge = anyio.run(main_)
    assert "over the page limit of 1,000" in big and "split the page" in big
    assert "2000000" in huge.replace(",", "") or "too long" in huge.lower()
    assert git.head(bad_vault) == main
    assert git(bad_vault, "for-each-ref", "refs/heads/proposals/") == ""
