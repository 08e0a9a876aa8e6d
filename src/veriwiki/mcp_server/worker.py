"""One thread owns the vault; every tool call runs there, one at a time.

The SDK runs tools concurrently (several clients, several requests). The vault's
SQLite handles belong to the thread that opened them and the services are not written
for threads, so calls are queued to a single worker thread instead: the event loop stays
free to serve other clients while a check runs. Other processes (the CLI, a second
server) are kept apart by the vault's own write lock and compare-and-swap refs.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from mcp.server.mcpserver.exceptions import ToolError

from veriwiki.errors import VeriwikiError
from veriwiki.vault import Vault, debug_enabled

T = TypeVar("T")


def tool_error(exc: VeriwikiError) -> ToolError:
    """A veriwiki error as the MCP tool error the agent reads: what and what to do."""
    text = str(exc)
    if exc.hint:
        text += f" — what to do: {exc.hint}"
    return ToolError(text)


class VaultWorker:
    """Runs functions of the vault on one thread, in the order they were asked for."""

    def __init__(self, vault: Vault) -> None:
        from veriwiki.adapters.watch import ChangeWatch
        from veriwiki.vault import STATE_DIR

        self.vault = vault
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="veriwiki-vault")
        self.watch = ChangeWatch(vault.root, skip=(".git", STATE_DIR))
        """Says whether files changed since the last search (no scan per search)."""

    def _call(self, fn: Callable[[Vault], T]) -> T:
        try:
            return fn(self.vault)
        except VeriwikiError as exc:
            raise tool_error(exc) from exc
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - the agent gets a message, not a dead server
            if debug_enabled():
                traceback.print_exc()
            raise ToolError(f"internal error: {type(exc).__name__}: {exc} — what to do: this "
                            "is a bug in veriwiki; the server keeps running; report it with "
                            "the server's log (VERIWIKI_DEBUG=1 prints the traceback)") from exc

    async def run(self, fn: Callable[[Vault], T]) -> T:
        """``fn(vault)`` on the worker thread; veriwiki errors become tool errors."""
        return await asyncio.wrap_future(self._pool.submit(self._call, fn))

    def close(self) -> None:
        """Finish queued calls, then release the vault."""
        self._pool.submit(self.vault.close).result()
        self._pool.shutdown(wait=True)
        self.watch.close()
