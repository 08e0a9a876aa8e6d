"""JSON shapes of sources and added sources: the CLI's ``--json`` and the MCP tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from veriwiki.core.model import Source, SourceVersion
    from veriwiki.services.sources import AddResult


def version_json(v: SourceVersion) -> dict[str, Any]:
    """One stored version, as ``sources --json`` prints it."""
    return {"version": v.version, "file": v.file, "sha256": v.sha256, "added": v.added,
            "size": v.size, "media_type": v.media_type, "url": v.url, "retrieved": v.retrieved}


def source_json(s: Source) -> dict[str, Any]:
    """One source, as ``sources --json`` prints it."""
    return {"id": s.id, "title": s.title, "origin": s.origin, "license": s.license,
            "current": s.current.version, "media_type": s.current.media_type,
            "versions": [version_json(v) for v in s.versions]}


def added_json(results: list[AddResult]) -> dict[str, Any]:
    """What ``add --json`` prints."""
    commit = next((r.commit for r in results if r.commit), None)
    return {"commit": commit, "sources": [
        {"id": r.id, "version": r.version, "ref": f"{r.id}:v{r.version}", "status": r.status,
         "path": r.path, "files": list(r.files), "media_type": r.media_type,
         "chars": r.chars, "pages": r.pages} for r in results]}
