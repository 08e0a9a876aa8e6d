"""``veriwiki mcp --http``: the scripted agent session over streamable HTTP, two clients
proposing at once on one server, Host/Origin checks and the bearer token."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest
from mcp import Client

from conftest import Git, Veriwiki
from helpers_bad import veriwiki_exe
from helpers_mcp import data, page
from test_mcp import GOOD, RIGHT, agent_session, agent_vault  # noqa: F401 - fixture

INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def http_server(vault: Path, env: dict[str, str], *extra: str,
                token: str | None = None) -> Iterator[int]:
    """``veriwiki mcp --http`` on a free loopback port, stopped afterwards."""
    port = free_port()
    env = dict(env)
    env.pop("VERIWIKI_MCP_TOKEN", None)
    if token:
        env["VERIWIKI_MCP_TOKEN"] = token
    proc = subprocess.Popen([str(veriwiki_exe()), "--vault", str(vault), "mcp", "--http",
                             "--port", str(port), *extra], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode() if proc.stderr else ""
                    pytest.fail(f"server did not start (exit {proc.poll()}):\n{err}")
                time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - failure path
            proc.kill()
            proc.wait()


def post(port: int, headers: dict[str, str]) -> int:
    """POST an initialize request to /mcp with ``headers``; the HTTP status."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request("POST", "/mcp", body=json.dumps(INIT), headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream", **headers})
        return conn.getresponse().status
    finally:
        conn.close()


def test_mcp_http_scripted_agent_session(agent_vault: Path, vw: Veriwiki,  # noqa: F811
                                         git: Git) -> None:
    with http_server(agent_vault, vw.env) as port:
        async def main() -> None:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                await agent_session(client, agent_vault, vw, git)

        anyio.run(main)


def test_mcp_http_refuses_foreign_host_and_origin(agent_vault: Path,  # noqa: F811
                                                  vw: Veriwiki) -> None:
    with http_server(agent_vault, vw.env) as port:
        assert post(port, {"Host": "evil.example"}) == 421
        assert post(port, {"Host": f"127.0.0.1:{port}",
                           "Origin": "http://evil.example"}) == 403
        assert post(port, {"Host": f"127.0.0.1:{port}"}) == 200
        assert post(port, {"Host": f"localhost:{port}",
                           "Origin": f"http://localhost:{port}"}) == 200


def test_mcp_http_bearer_token(agent_vault: Path, vw: Veriwiki) -> None:  # noqa: F811
    with http_server(agent_vault, vw.env, token="s3cret-token-for-tests") as port:
        host = {"Host": f"127.0.0.1:{port}"}
        assert post(port, host) == 401
        assert post(port, {**host, "Authorization": "Bearer wrong"}) == 401
        assert post(port, {**host, "Authorization": "Bearer s3cret-token-for-tests"}) == 200


def test_mcp_http_non_loopback_bind_needs_a_token(agent_vault: Path,  # noqa: F811
                                                  vw: Veriwiki) -> None:
    env = {k: v for k, v in vw.env.items() if k != "VERIWIKI_MCP_TOKEN"}
    proc = subprocess.run([str(veriwiki_exe()), "--vault", str(agent_vault), "mcp", "--http",
                           "--host", "0.0.0.0", "--port", str(free_port())],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "needs a bearer token" in proc.stderr and "VERIWIKI_MCP_TOKEN" in proc.stderr


def test_mcp_two_clients_propose_at_once(agent_vault: Path, vw: Veriwiki,  # noqa: F811
                                         git: Git) -> None:
    vw.ok("add", str(agent_vault / "inbox" / "notes.md"))
    main = git.head(agent_vault)
    results: dict[str, dict[str, object]] = {}

    async def one(port: int, name: str, sentence: str) -> None:
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            content = page(name, f'{name} note. [@notes, "{sentence}"]')
            results[name] = data(await client.call_tool("propose", {
                "changes": [{"path": f"wiki/{name}.md", "content": content}],
                "message": f"add {name}"}))

    with http_server(agent_vault, vw.env) as port:
        async def main_() -> None:
            async with anyio.create_task_group() as tg:
                tg.start_soon(one, port, "alpha", GOOD)
                tg.start_soon(one, port, "beta", RIGHT)

        anyio.run(main_)
    ids = {r["proposal_id"] for r in results.values()}
    assert len(ids) == 2
    assert all(r["approvable"] for r in results.values()), results
    assert all(f["severity"] != "error" for r in results.values()
               for f in r["findings"]), results  # type: ignore[attr-defined]
    branches = git(agent_vault, "for-each-ref", "--format=%(refname)", "refs/heads/proposals/")
    assert sorted(branches.split()) == sorted(f"refs/heads/proposals/{i}" for i in ids)
    assert git.head(agent_vault) == main
    for ident in sorted(ids):
        vw.ok("review", "approve", ident)
    assert (agent_vault / "wiki" / "alpha.md").is_file()
    assert (agent_vault / "wiki" / "beta.md").is_file()


def test_mcp_http_sdk_client_with_the_bearer_token(agent_vault: Path,  # noqa: F811
                                                   vw: Veriwiki) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    token = "another-s3cret-for-tests"
    with http_server(agent_vault, vw.env, token=token) as port:
        url = f"http://127.0.0.1:{port}/mcp"

        async def main(headers: dict[str, str]) -> set[str]:
            async with httpx2.AsyncClient(headers=headers) as http, \
                    Client(streamable_http_client(url, http_client=http)) as client:
                return {t.name for t in (await client.list_tools()).tools}

        assert "propose" in anyio.run(main, {"Authorization": f"Bearer {token}"})
        with pytest.raises(Exception):  # noqa: B017 - the SDK wraps the 401 in a group
            anyio.run(main, {"Authorization": "Bearer wrong"})
