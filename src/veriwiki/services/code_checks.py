"""Running the ``python check`` blocks of the pages, with a result cache.

A block's result is cached under ``.veriwiki/code-cache/`` by the hash of its text, of
the facts it can read, of the sandbox limits and of the isolation it ran in (a result
computed without bubblewrap is never reused by a sandboxed run), so an unchanged vault
re-checks without running anything. A block that opens vault files directly is re-run
when one of them changes (the sandbox reports what it read). Timeouts are not cached
(they can come from a busy machine), nor are blocks that were not run or whose sandbox
failed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veriwiki.adapters.isolation import Isolation, SandboxPolicy, choose_isolation
from veriwiki.adapters.sandbox import (
    NOT_RUN,
    SANDBOX_VERSION,
    TIMEOUT,
    Limits,
    SandboxResult,
    run_block,
)
from veriwiki.core.model import CodeBlock, Page

CACHE_DIR = "code-cache"
Runner = Callable[..., SandboxResult]


@dataclass(frozen=True, slots=True)
class CheckBlock:
    """A ``python check`` block of a page and the ``output`` block after it, if any."""

    path: str
    block: CodeBlock
    output: CodeBlock | None


@dataclass(frozen=True, slots=True)
class BlockOutcome:
    """A check block and what running it gave (``cached`` when read from the cache)."""

    check: CheckBlock
    result: SandboxResult
    cached: bool


def is_check_block(info: str) -> bool:
    """True for the info string ``python check`` (further words are allowed)."""
    return info.split()[:2] == ["python", "check"]


def check_blocks(page: Page) -> list[CheckBlock]:
    """The page's check blocks, each with the ``output`` block right after it."""
    blocks = page.code_blocks
    found = []
    for i, block in enumerate(blocks):
        if not is_check_block(block.info):
            continue
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        output = nxt if nxt is not None and nxt.info.strip() == "output" else None
        found.append(CheckBlock(page.path, block, output))
    return found


def _number(value: str) -> int | float | None:
    from veriwiki.core.numbers import parse_value

    text = value.strip()
    q = parse_value(text)
    if q is None or q.start != 0 or text[q.end:].strip():
        return None
    if q.value.is_integer() and abs(q.value) < 2**63:
        return int(q.value)
    return q.value


def facts_json(facts: Iterable[Any]) -> bytes:
    """The facts as the sandbox's ``veriwiki.facts`` reads them (duck-typed input)."""
    rows = []
    for f in facts:
        value = str(getattr(f, "value", ""))
        rows.append({"entity": str(f.entity), "attribute": str(f.attribute), "value": value,
                     "number": _number(value), "unit": getattr(f, "unit", None),
                     "source": getattr(f, "source_id", None), "quote": getattr(f, "quote", None),
                     "as_of": None if getattr(f, "as_of", None) is None else str(f.as_of)})
    return json.dumps(rows, ensure_ascii=False, sort_keys=True).encode("utf-8")


def cache_key(code: str, facts_hash: str, limits: Limits, mode: str) -> str:
    """The content hash a block's result is cached under (``mode``: the isolation mode)."""
    h = hashlib.sha256()
    for part in (f"v{SANDBOX_VERSION}", sys.version, code, facts_hash, repr(limits), mode):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


def _cache_path(state_dir: Path, key: str) -> Path:
    return state_dir / CACHE_DIR / key[:2] / f"{key}.json"


def _file_hash(path: str) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def _read_cache(path: Path) -> SandboxResult | None:
    """A cached result, unless a vault file the block read has changed since."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        inputs = data["inputs"]
        if any(_file_hash(p) != h for p, h in inputs.items()):
            return None
        return SandboxResult.from_json(data["result"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def run_check_blocks(root: Path, state_dir: Path | None, pages: Iterable[Page],
                     facts: Iterable[Any], limits: Limits, *, runner: Runner = run_block,
                     workers: int = 2, isolation: Isolation | None = None
                     ) -> list[BlockOutcome]:
    """Run (or read from the cache) every check block of ``pages``, in page order.

    ``state_dir`` None: no cache is read or written. ``isolation`` defaults to
    bubblewrap when it works here; when it does not and the vault is not trusted, no
    block runs and each outcome has status ``not-run`` saying why.
    """
    from veriwiki.adapters.fs import atomic_write

    checks = [c for page in pages for c in check_blocks(page)]
    if not checks:
        return []
    iso = isolation if isolation is not None else choose_isolation(SandboxPolicy())
    if not iso.can_run:
        return [BlockOutcome(c, SandboxResult(NOT_RUN, exc_type="SandboxUnavailable",
                                              exc_message=iso.problem), False) for c in checks]
    data = facts_json(facts)
    facts_hash = hashlib.sha256(data).hexdigest()
    with tempfile.TemporaryDirectory(prefix="veriwiki-facts-") as tmp:
        facts_file = Path(tmp) / "facts.json"
        facts_file.write_bytes(data)

        def one(check: CheckBlock) -> BlockOutcome:
            key = cache_key(check.block.content, facts_hash, limits, iso.mode)
            path = None if state_dir is None else _cache_path(state_dir, key)
            cached = None if path is None else _read_cache(path)
            if cached is not None:
                return BlockOutcome(check, cached, True)
            result = runner(check.block.content, limits, vault_root=root, facts_file=facts_file,
                            isolation=iso)
            if (path is not None and result.status not in (TIMEOUT, NOT_RUN)
                    and result.exc_type != "SandboxError"):  # the machine's, not the block's
                entry = {"result": result.to_json(),
                         "inputs": {p: _file_hash(p) for p in result.reads}}
                atomic_write(path, json.dumps(entry).encode("utf-8"))
            return BlockOutcome(check, result, False)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(one, checks))


