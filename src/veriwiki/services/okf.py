"""Open Knowledge Format (OKF v0.2) export and import.

Export writes the vault as a bundle: one concept per page (its path under the pages
folder), a ``sources`` entry per citation carrying the exact ``excerpt``, the
``locator`` and the ``verdict`` veriwiki's deterministic checks gave, a footnote keyed to
that entry after the citation, and ``verified: {by: veriwiki/<version>, at}`` on a page
whose every claim verified (a machine-confirmed tier, §5.3). Sources become concepts
under ``references/sources/`` and their stored files are copied under
``references/raw/<id>/``. The page's own frontmatter is kept under ``veriwiki.frontmatter``
so an import restores the page exactly.

Import adds the bundle's ``references/raw`` files as sources and proposes its concepts as
pages (never straight to main): a person reviews and approves, and the check verifies
what the bundle claims.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from veriwiki import __version__
from veriwiki.core.frontmatter import dump_frontmatter, read_frontmatter
from veriwiki.core.model import Finding, Severity
from veriwiki.errors import InputError
from veriwiki.services.write import Notify
from veriwiki.vault import Vault

OKF_VERSION = "0.2"
ACTOR = f"veriwiki/{__version__}"
_FOOTNOTES = "<!-- veriwiki: citation footnotes -->"
_MAX_CONCEPTS = 20_000
_DATA_SUFFIXES = (".csv", ".yaml", ".yml")
_VERSION_DIR = re.compile(r"v([0-9]{1,6})")


@dataclass
class ExportResult:
    """What ``export okf`` wrote."""

    out: Path
    pages: int = 0
    sources: int = 0
    claims: int = 0
    verified_pages: int = 0

    def to_json(self) -> dict[str, Any]:
        """The result as ``export okf --json`` prints it."""
        return {"out": str(self.out), "okf_version": OKF_VERSION, "pages": self.pages,
                "sources": self.sources, "claims": self.claims,
                "verified_pages": self.verified_pages}


@dataclass
class ImportResult:
    """What ``import okf`` did: sources added, pages proposed."""

    sources: list[str] = field(default_factory=list)
    proposal_id: str | None = None
    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as ``import okf --json`` prints it."""
        return {"sources": self.sources, "proposal_id": self.proposal_id,
                "pages": self.pages, "findings": [f.to_json() for f in self.findings]}


def _verdict(found: list[Finding]) -> str:
    if any(f.severity is Severity.ERROR for f in found):
        return "refuted: " + "; ".join(sorted({f.rule for f in found}))
    if found:
        return "warning: " + "; ".join(sorted({f.rule for f in found}))
    return "verified"


def _with_footnotes(text: str, marks: list[tuple[int, int, str, str]]) -> str:
    """``text`` with ``[^label]`` after each citation (line, column, raw, label)."""
    lines = text.split("\n")
    for line, column, raw, label in sorted(marks, key=lambda m: (m[0], -m[1])):
        at = lines[line - 1].find(raw, max(0, column - 1))
        if at < 0:
            at = lines[line - 1].find(raw)
        if at >= 0:
            end = at + len(raw)
            lines[line - 1] = lines[line - 1][:end] + f"[^{label}]" + lines[line - 1][end:]
    return "\n".join(lines)


def export_okf(vault: Vault, out: Path) -> ExportResult:
    """Write the vault as an OKF bundle into ``out`` (a new or empty folder)."""
    from veriwiki.services.check import check_vault
    from veriwiki.services.indexing import update_index
    from veriwiki.services.pages import show_page
    from veriwiki.services.sources import list_sources

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"{out} exists and is not an empty folder",
                         hint="give --out a new folder")
    out.mkdir(parents=True, exist_ok=True)
    result = ExportResult(out)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sources = {s.id: s for s in list_sources(vault)}
    for s in sources.values():
        version = s.current
        for v in s.versions:  # every version: a claim may cite an older one (id:vN)
            dest = out / "references" / "raw" / s.id / f"v{v.version}" / _stored_name(v.file)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(vault.root / "raw" / s.id / v.file, dest)
        stored = f"v{version.version}/{_stored_name(version.file)}"
        meta: dict[str, Any] = {
            "type": "Source", "title": s.title,
            "resource": version.url or f"/references/raw/{s.id}/{stored}",
            "generated": {"by": ACTOR, "at": now},
            "veriwiki": {"source": s.id, "origin": s.origin, "license": s.license,
                         "versions": [{"version": v.version, "file": v.file,
                                       "sha256": v.sha256} for v in s.versions]}}
        body = (f"# {s.title}\n\nSource `{s.id}` (version {version.version}), stored as "
                f"[{version.file}](/references/raw/{s.id}/{stored}).\n")
        _write(out / "references" / "sources" / f"{s.id}.md", dump_frontmatter(meta) + "\n"
               + body)
        result.sources += 1
    data_root = vault.root / "data"
    for file in sorted(data_root.rglob("*")) if data_root.is_dir() else []:
        if file.is_file() and not file.is_symlink() and file.suffix in _DATA_SUFFIXES:
            dest = out / "references" / "data" / file.relative_to(data_root)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, dest)
    update_index(vault)
    findings: dict[str, list[Finding]] = {}
    for f in check_vault(vault).findings:
        findings.setdefault(f.path, []).append(f)
    root = vault.pages_root.strip("/")
    entries: list[tuple[str, str, str]] = []
    for path in vault.index.paths():
        if path in (vault.index_page, vault.log_page):
            continue
        page, text = show_page(vault, path)
        mine = findings.get(path, [])
        fm = read_frontmatter(text)
        body = "\n".join(text.split("\n")[fm.body_line - 1:]) if fm.yaml_lines else text
        offset = fm.body_line - 1 if fm.yaml_lines else 0
        okf_sources: list[dict[str, Any]] = []
        marks: list[tuple[int, int, str, str]] = []
        notes: list[str] = []
        verdicts: list[str] = []
        for claim in page.claims:
            lines = {claim.line, *(c.line for c in claim.citations)}
            verdict = _verdict([f for f in mine if f.line in lines])
            verdicts.append(verdict)
            for c in claim.citations:
                label = f"{c.source_id}-{len(okf_sources) + 1}"
                src = sources.get(c.source_id)  # None: unknown-source, kept as a scope
                entry: dict[str, Any] = {
                    "id": label, "resource": f"/references/sources/{c.source_id}.md"
                    if src is not None else f"source {c.source_id} (not in the vault)",
                    "title": src.title if src else c.source_id}
                if src is not None:
                    entry["last_modified"] = src.current.added[:10]
                entry.update({"excerpt": c.quote, "locator": c.locator, "verdict": verdict,
                              "verified_by": ACTOR})
                okf_sources.append({k: v for k, v in entry.items() if v is not None})
                marks.append((c.line - offset, c.column, c.raw, label))
                notes.append(f'[^{label}]: {entry["title"]}: "{c.quote or ""}" ({verdict})')
            result.claims += 1
        rel = path[len(root) + 1:] if root not in ("", ".") else path
        meta = {"type": str(page.type or fm.data.get("type") or "Page"), "title": page.title}
        if page.summary:
            meta["description"] = page.summary
        if page.tags:
            meta["tags"] = list(page.tags)
        if okf_sources:
            meta["sources"] = okf_sources
        if verdicts and all(v == "verified" for v in verdicts):
            meta["verified"] = [{"by": ACTOR, "at": now}]
            result.verified_pages += 1
        head = "\n".join(text.split("\n")[1:fm.yaml_lines - 1]) if fm.yaml_lines else ""
        meta["veriwiki"] = {"path": path, "frontmatter": head}  # as written, restored as is
        text_out = _with_footnotes(body, marks)
        if notes:
            text_out = text_out.rstrip("\n") + f"\n\n{_FOOTNOTES}\n" + "\n".join(notes) + "\n"
        _write(out / rel, dump_frontmatter(meta) + text_out)
        entries.append((rel, page.title, page.summary or ""))
        result.pages += 1
    index = [f"# {vault.config.vault.name}\n"]
    index += [f"* [{t}](/{r})" + (f" - {d}" if d else "") for r, t, d in sorted(entries)]
    index += ["", "# Sources", ""]
    index += [f"* [{s.title}](/references/sources/{s.id}.md)" for s in sources.values()]
    _write(out / "index.md", dump_frontmatter({"okf_version": OKF_VERSION}) + "\n"
           + "\n".join(index) + "\n")
    _write(out / "log.md", f"# Update Log\n\n## {now[:10]}\n* **Export**: written by "
                           f"{ACTOR} from the veriwiki vault {vault.config.vault.name}.\n")
    return result


def _stored_name(file: str) -> str:
    """The name a stored source file gets in the bundle: a markdown source is not a
    concept (it has no OKF frontmatter), so it must not end in ``.md`` there."""
    return file + ".raw" if file.lower().endswith(".md") else file


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


_FOOTNOTE_REF = re.compile(r"\[\^([A-Za-z0-9._-]+)\]")


def concept_to_page(text: str) -> tuple[str | None, str]:
    """(vault path or None, page text) of one OKF concept."""
    fm = read_frontmatter(text)
    if fm.error is not None:
        raise InputError(f"frontmatter is not readable: {fm.error}")
    data = fm.data
    body = "\n".join(text.split("\n")[fm.body_line - 1:]) if fm.yaml_lines else text
    entries = [e for e in data.get("sources") or [] if isinstance(e, dict)]
    ours = {str(e.get("id")): e for e in entries if "excerpt" in e}
    own = data.get("veriwiki") if isinstance(data.get("veriwiki"), dict) else None
    if _FOOTNOTES in body:
        body = body[:body.index(_FOOTNOTES)].rstrip("\n") + "\n"
    if own is not None:
        body = _FOOTNOTE_REF.sub(lambda m: "" if m.group(1) in ours else m.group(0), body)
        front = own.get("frontmatter")
        path = own.get("path") if isinstance(own.get("path"), str) else None
        if isinstance(front, str) and front:
            return path, f"---\n{front}\n---\n" + body
        return path, (dump_frontmatter(front) if isinstance(front, dict) and front else "") + body

    def cite(m: re.Match[str]) -> str:  # a foreign bundle's excerpt becomes a citation
        entry = ours.get(m.group(1))
        sid = str(entry.get("resource", "")).rsplit("/", 1)[-1].removesuffix(".md") \
            if entry else ""
        if not entry or not sid or '"' in str(entry["excerpt"]):
            return m.group(0)
        return f' [@{sid}, "{entry["excerpt"]}"]'

    body = _FOOTNOTE_REF.sub(cite, body)
    front = {k: v for k, v in data.items() if k not in ("sources", "verified", "generated")}
    if "description" in front and "summary" not in front:
        front["summary"] = front.pop("description")
    return None, dump_frontmatter(front) + body


def import_okf(vault: Vault, bundle: Path, *, on_wait: Notify | None = None,
               on_notice: Notify | None = None) -> ImportResult:
    """Add the bundle's stored sources, then propose its concepts as pages."""
    from veriwiki.services.agent import PageChange, propose_changes

    if not bundle.is_dir():
        raise InputError(f"{bundle} is not a folder", hint="give the bundle's folder")
    result = ImportResult()
    raw = bundle / "references" / "raw"
    for folder in sorted(raw.iterdir()) if raw.is_dir() else []:
        if not folder.is_dir() or folder.is_symlink():
            continue
        result.sources += _import_source(vault, bundle, folder, on_wait, on_notice)
    changes: list[PageChange] = []
    root = vault.pages_root.strip("/")
    concepts = [p for p in sorted(bundle.rglob("*.md"))
                if p.relative_to(bundle).parts[0] != "references"
                and p.name not in ("index.md", "log.md") and not p.is_symlink()]
    if len(concepts) > _MAX_CONCEPTS:
        raise InputError(f"{len(concepts)} concepts; at most {_MAX_CONCEPTS} per import",
                         hint="split the bundle")
    for file in concepts:
        rel = file.relative_to(bundle).as_posix()
        try:
            path, text = concept_to_page(file.read_text(encoding="utf-8"))
        except (InputError, UnicodeDecodeError) as exc:
            raise InputError(f"{rel}: {exc}", hint="fix or remove the concept") from exc
        default = f"{root}/{rel}" if root not in ("", ".") else rel
        changes.append(PageChange(path or default, text))
    data: dict[str, bytes] = {}
    data_root = bundle / "references" / "data"
    for file in sorted(data_root.rglob("*")) if data_root.is_dir() else []:
        if file.is_file() and not file.is_symlink() and file.suffix in _DATA_SUFFIXES:
            data[f"data/{file.relative_to(data_root).as_posix()}"] = file.read_bytes()
    if changes or data:
        made = propose_changes(vault, changes, f"import OKF bundle {bundle.name}",
                               max_changes=_MAX_CONCEPTS, data_files=data)
        result.proposal_id = made.proposal.id
        result.pages = list(made.pages)
        result.findings = list(made.findings)
    return result


def _import_source(vault: Vault, bundle: Path, folder: Path, on_wait: Notify | None,
                   on_notice: Notify | None) -> list[str]:
    """Add one exported source, version by version (``v1/``, ``v2/`` …), or the single
    file of a foreign bundle's folder; the stored name decides the media type."""
    from veriwiki.services.sources import add_sources

    concept = bundle / "references" / "sources" / f"{folder.name}.md"
    meta = read_frontmatter(concept.read_text(encoding="utf-8")) if concept.is_file() else None
    own = meta.data.get("veriwiki") if meta is not None else None
    info = own if isinstance(own, dict) else {}
    title = meta.data.get("title") if meta is not None else None
    names = {int(v["version"]): str(v["file"]) for v in info.get("versions") or []
             if isinstance(v, dict) and str(v.get("version", "")).isdigit() and v.get("file")}
    steps: list[tuple[Path, str]] = []
    versions = sorted((int(m.group(1)), d) for d in folder.iterdir()
                      if d.is_dir() and (m := _VERSION_DIR.fullmatch(d.name)))
    for number, sub in versions or [(0, folder)]:
        files = [f for f in sorted(sub.iterdir()) if f.is_file() and not f.is_symlink()]
        if len(files) != 1:
            if on_notice:
                on_notice(f"{sub}: skipped (one stored file per source version expected)")
            return []
        name = names.get(number, files[0].name)
        if "/" in name or name in ("", ".", "..") or _stored_name(name) != files[0].name:
            name = files[0].name
        steps.append((files[0], name))
    added: list[str] = []
    for file, name in steps:
        with tempfile.TemporaryDirectory() as tmp:
            original = Path(tmp) / name
            shutil.copyfile(file, original)
            for a in add_sources(vault, original, source_id=folder.name,
                                 title=str(title) if title else None,
                                 url=str(info["origin"]) if info.get("origin") else None,
                                 license=str(info["license"]) if info.get("license")
                                 else None, on_wait=on_wait, on_notice=on_notice):
                added.append(f"{a.id}:v{a.version}")
    return added
