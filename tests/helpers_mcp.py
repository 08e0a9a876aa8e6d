"""Shared parts of the MCP tests: a vault with a source, and the SDK client over stdio."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import CallToolResult

from helpers_bad import veriwiki_exe

SOURCE = """# Llama 2 notes

Llama 2 was trained on 2 trillion tokens of data. The context length of Llama 2 is 4096 tokens.

Grouped-query attention is used in the 70B model to improve inference scalability.
"""

TOOLS = {"search", "read_page", "find_in_source", "list_sources", "read_source",
         "add_source", "propose", "check", "status", "review_list", "review_show"}


def stdio_params(vault: Path, env: dict[str, str]) -> StdioServerParameters:
    """Launch ``veriwiki --vault VAULT mcp`` as the agent's client would."""
    return StdioServerParameters(command=str(veriwiki_exe()), args=["--vault", str(vault), "mcp"],
                                 env=env, cwd=str(vault.parent))


def data(result: CallToolResult) -> dict[str, Any]:
    """The structured result of a successful call (fails the test on a tool error)."""
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    # the text content mirrors the structured content (clients without structured output)
    assert json.loads(text(result)) == result.structured_content
    return result.structured_content


def text(result: CallToolResult) -> str:
    """The text content of a result (a tool error's message)."""
    return "".join(getattr(c, "text", "") for c in result.content)


def page(title: str, body: str) -> str:
    """A page's markdown with frontmatter."""
    return f"---\ntitle: {title}\n---\n\n# {title}\n\n{body}\n"


Session = Callable[[Client], Awaitable[None]]
