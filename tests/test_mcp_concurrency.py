"""Several MCP servers (separate processes) and the CLI on one vault at once: every
proposal lands on its own branch, main moves only through the CLI's lock, and a
person's unsaved-to-git edit survives an approval."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from conftest import Git, Veriwiki, describe
from helpers_bad import veriwiki_exe
from helpers_mcp import data, page, stdio_params
from test_mcp import GOOD, RIGHT, agent_vault  # noqa: F401 - fixture


def test_mcp_two_servers_and_the_cli_at_once(agent_vault: Path, vw: Veriwiki,  # noqa: F811
                                             git: Git) -> None:
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    results: dict[str, dict[str, Any]] = {}

    async def agent(name: str, sentence: str) -> None:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            content = page(name, f'{name} note. [@notes, "{sentence}"]')
            results[name] = data(await client.call_tool("propose", {
                "changes": [{"path": f"wiki/{name}.md", "content": content}],
                "message": f"add {name}"}))

    def person() -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(veriwiki_exe()), "--vault", str(agent_vault), "new",
                               "Written by hand"], env=vw.env, capture_output=True,
                              text=True, timeout=120)

    async def main() -> subprocess.CompletedProcess[str]:
        async with anyio.create_task_group() as tg:
            tg.start_soon(agent, "alpha", GOOD)
            tg.start_soon(agent, "beta", RIGHT)
            made = await anyio.to_thread.run_sync(person)
        return made

    made = anyio.run(main)
    assert made.returncode == 0, describe(made)
    assert {r["proposal_id"] for r in results.values()} and len(results) == 2
    assert all(r["approvable"] for r in results.values()), results
    assert (agent_vault / "wiki" / "Written by hand.md").is_file()
    assert not (agent_vault / "wiki" / "alpha.md").exists()
    for r in results.values():
        vw.ok("review", "approve", str(r["proposal_id"]))
    assert (agent_vault / "wiki" / "alpha.md").is_file()
    assert (agent_vault / "wiki" / "beta.md").is_file()
    assert vw("check").returncode == 0


def test_mcp_approval_keeps_a_persons_uncommitted_edit(agent_vault: Path,  # noqa: F811
                                                       vw: Veriwiki, git: Git) -> None:
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    human = agent_vault / "wiki" / "Llama 2.md"

    async def main() -> str:
        async with Client(stdio_params(agent_vault, vw.env)) as client:
            # the person edits a page in their editor while the agent works
            human.write_text(human.read_text() + "\nA note typed in Obsidian.\n")
            made = data(await client.call_tool("propose", {
                "changes": [{"path": "wiki/gamma.md",
                             "content": page("Gamma", f'G. [@notes, "{GOOD}"]')}],
                "message": "gamma"}))
            return str(made["proposal_id"])

    ident = anyio.run(main)
    assert "A note typed in Obsidian." in human.read_text()
    vw.ok("review", "approve", ident)
    assert "A note typed in Obsidian." in human.read_text()
    assert ' M "wiki/Llama 2.md"' in git.status(agent_vault)
    assert "A note typed in Obsidian." not in git.show(agent_vault, "HEAD:wiki/Llama 2.md")
