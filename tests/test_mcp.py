"""``veriwiki mcp`` over stdio, driven by the SDK's own client: a scripted agent session.

The agent searches, reads a source, finds a passage, proposes a page with one correct
and one wrong citation, gets the finding, fixes it on the same proposal; a person
approves from the CLI; check passes. main does not move until the approval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from conftest import Git, Veriwiki, describe
from helpers_mcp import SOURCE, TOOLS, data, page, stdio_params, text

GOOD = "Llama 2 was trained on 2 trillion tokens of data."
RIGHT = "The context length of Llama 2 is 4096 tokens."
WRONG = "The context length of Llama 2 is 8192 tokens."
PAGE = "wiki/llama-2-training.md"


@pytest.fixture
def agent_vault(vault: Path, vw: Veriwiki) -> Path:
    """A vault with one page and a source file dropped inside the vault folder."""
    vw.ok("new", "Llama 2")
    (vault / "inbox").mkdir()
    (vault / "inbox" / "notes.md").write_text(SOURCE, encoding="utf-8")
    return vault


async def agent_session(client: Client, vault: Path, vw: Veriwiki, git: Git) -> None:
    """The scripted session every transport must pass."""
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == TOOLS  # no approve: [mcp] allow_approve is false by default
    assert tools["propose"].input_schema["required"] == ["changes", "message"]
    assert tools["search"].annotations is not None and tools["search"].annotations.read_only_hint

    added = data(await client.call_tool("add_source", {"path_or_url": "inbox/notes.md"}))
    sid = added["sources"][0]["id"]
    assert added["sources"][0]["status"] == "added" and added["commit"]
    main = git.head(vault)

    hits = data(await client.call_tool("search", {"query": "Llama", "limit": 5}))["hits"]
    assert any(h["title"] == "Llama 2" for h in hits)
    sources = data(await client.call_tool("list_sources", {}))["sources"]
    assert [s["id"] for s in sources] == [sid]
    window = data(await client.call_tool("read_source", {"id": sid, "range": "1-3"}))
    assert window["first_line"] == 1 and window["last_line"] == 3
    assert GOOD in window["text"] and window["next_range"].startswith("4-")

    found = data(await client.call_tool("find_in_source", {
        "source": sid, "text": "it was trained on two trillion tokens"}))
    best = found["passages"][0]
    assert best["text"] == GOOD and best["locator"] == "line 3" and 0 < best["score"] <= 1

    body = (f"Llama 2 saw a lot of text. [@{sid}, \"{best['text']}\"]\n\n"
            f"Its context is long. [@{sid}, \"{WRONG}\"]")
    first = data(await client.call_tool("propose", {
        "changes": [{"path": PAGE, "content": page("Llama 2 training", body)}],
        "message": "Llama 2 training facts"}))
    pid = first["proposal_id"]
    assert first["created"] and not first["approvable"]
    errors = [f for f in first["findings"] if f["severity"] == "error"]
    assert [(f["rule"], f["path"]) for f in errors] == [("quote-not-found", PAGE)]
    assert errors[0]["line"] == 9
    assert git.head(vault) == main and not (vault / PAGE).exists()

    fixed = body.replace(WRONG, RIGHT)
    second = data(await client.call_tool("propose", {
        "changes": [{"path": PAGE, "content": page("Llama 2 training", fixed)}],
        "message": "Llama 2 training facts", "proposal_id": pid}))
    assert second["proposal_id"] == pid and not second["created"]
    assert [f for f in second["findings"] if f["severity"] == "error"] == []
    assert "missing-from-index" not in {f["rule"] for f in second["findings"]}
    assert second["approvable"]
    assert git.head(vault) == main and not (vault / PAGE).exists()

    listed = data(await client.call_tool("review_list", {}))["proposals"]
    assert [p["id"] for p in listed] == [pid]
    assert listed[0]["claim_diff"]["pages_created"] == [PAGE]
    shown = data(await client.call_tool("review_show", {"id": pid}))
    assert RIGHT in shown["diff"] and WRONG not in shown["diff"]
    refused = await client.call_tool("approve", {"id": pid})
    assert refused.is_error

    proc = vw("review", "approve", pid)  # a person approves
    assert proc.returncode == 0, describe(proc)
    assert git.head(vault) != main and (vault / PAGE).is_file()

    report = data(await client.call_tool("check", {"pages": [PAGE]}))
    assert report["summary"]["error"] == 0
    assert all(f["path"] == PAGE for f in report["findings"])
    assert vw("check").returncode == 0
    read = data(await client.call_tool("read_page", {"name": "Llama 2 training"}))
    assert [c["verdict"] for c in read["claims"]] == ["verified", "verified"]
    assert read["claims"][0]["citations"][0]["quote"] == GOOD
    assert data(await client.call_tool("status", {}))["pages"] >= 2


def test_mcp_stdio_scripted_agent_session(agent_vault: Path, vw: Veriwiki, git: Git) -> None:
    async def main() -> None:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            await agent_session(client, agent_vault, vw, git)

    anyio.run(main)


def test_mcp_resources_and_prompts(agent_vault: Path, vw: Veriwiki) -> None:
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))

    async def main() -> None:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            got = await client.read_resource("veriwiki://page/Llama 2")
            assert "# Llama 2" in got.contents[0].text  # type: ignore[union-attr]
            src = await client.read_resource("veriwiki://source/notes")
            assert GOOD in src.contents[0].text  # type: ignore[union-attr]
            prompts = {p.name for p in (await client.list_prompts()).prompts}
            assert prompts == {"ingest this source", "answer with citations"}
            msg = await client.get_prompt("ingest this source", {"source": "notes"})
            prompt = msg.messages[0].content.text  # type: ignore[union-attr]
            assert "find_in_source" in prompt
            assert "Through MCP" in prompt  # the vault's own AGENTS.md travels along
            with pytest.raises(Exception, match="(?i)no page|not found|no such"):
                await client.read_resource("veriwiki://page/Nope")

    anyio.run(main)


def test_mcp_approve_tool_only_when_the_vault_allows_it(agent_vault: Path, vw: Veriwiki,
                                                        git: Git) -> None:
    config = agent_vault / "veriwiki.toml"
    config.write_text(config.read_text() + "\n[mcp]\nallow_approve = true\n")
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    before = git.head(agent_vault)

    async def main() -> dict[str, Any]:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            assert "approve" in {t.name for t in (await client.list_tools()).tools}
            made = data(await client.call_tool("propose", {
                "changes": [{"path": PAGE, "content": page("T", f'A. [@notes, "{GOOD}"]')}],
                "message": "one claim"}))
            return data(await client.call_tool("approve", {"id": made["proposal_id"]}))

    result = anyio.run(main)
    assert result["commit"] and git.head(agent_vault) != before
    assert (agent_vault / PAGE).is_file()


def test_mcp_config_key_is_checked(agent_vault: Path, vw: Veriwiki) -> None:
    config = agent_vault / "veriwiki.toml"
    config.write_text(config.read_text() + "\n[mcp]\nallow_approve = \"maybe\"\n")
    proc = vw("mcp")
    assert proc.returncode == 2 and "mcp.allow_approve" in proc.stderr, describe(proc)


def test_text_helper_reads_error_messages() -> None:
    from mcp.types import CallToolResult, TextContent

    result = CallToolResult(content=[TextContent(type="text", text="boom")], is_error=True)
    assert text(result) == "boom"


def test_mcp_docs_config_snippets_start_a_working_server(agent_vault: Path,
                                                         vw: Veriwiki) -> None:
    """Each JSON snippet of docs/agents.md, with the vault path filled in, connects."""
    import json
    import re

    from mcp.client.stdio import StdioServerParameters

    from helpers_bad import veriwiki_exe

    doc = (Path(__file__).parent.parent / "docs" / "agents.md").read_text(encoding="utf-8")
    snippets = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", doc, re.S)]
    assert len(snippets) == 3
    servers = [s["mcpServers"]["veriwiki"] for s in snippets]
    for entry in servers:
        assert entry["command"].endswith("veriwiki") and entry["args"][-1] == "mcp"
    for entry in {json.dumps(s, sort_keys=True): s for s in servers}.values():
        args = [str(agent_vault) if a == "/path/to/vault" else a for a in entry["args"]]
        params = StdioServerParameters(command=str(veriwiki_exe()), args=args, env=vw.env)

        async def main(params: StdioServerParameters = params) -> set[str]:
            async with Client(params) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert anyio.run(main) == TOOLS


def test_mcp_propose_accepts_a_diff_on_the_same_proposal(agent_vault: Path, vw: Veriwiki,
                                                         git: Git) -> None:
    import difflib

    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    wrong = page("Context", f'Long context. [@notes, "{WRONG}"]')
    right = wrong.replace(WRONG, RIGHT)
    patch = "".join(difflib.unified_diff(wrong.splitlines(True), right.splitlines(True),
                                         "a/" + PAGE, "b/" + PAGE))

    async def main() -> tuple[dict[str, Any], dict[str, Any], str]:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            first = data(await client.call_tool("propose", {
                "changes": [{"path": PAGE, "content": wrong}], "message": "context"}))
            fixed = data(await client.call_tool("propose", {
                "changes": [{"path": PAGE, "diff": patch}], "message": "context",
                "proposal_id": first["proposal_id"]}))
            stale = await client.call_tool("propose", {
                "changes": [{"path": PAGE, "diff": patch}], "message": "again",
                "proposal_id": first["proposal_id"]})
            assert stale.is_error
            return first, fixed, text(stale)

    first, fixed, stale = anyio.run(main)
    assert [f["rule"] for f in first["findings"] if f["severity"] == "error"] == \
        ["quote-not-found"]
    assert fixed["proposal_id"] == first["proposal_id"] and fixed["approvable"]
    assert "does not apply" in stale and "what to do" in stale
    shown = vw.ok("review", "show", first["proposal_id"]).stdout
    assert RIGHT in shown and WRONG not in shown
