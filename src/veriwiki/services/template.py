"""``veriwiki init --template NAME DIR``: a new vault filled from a template shipped with
veriwiki (``src/veriwiki/templates/<name>/``).

A template is ``sources.yaml`` (the sources the pages cite: id, title, url, sha256,
bytes, licence, file name, media type, note) and ``vault/`` (files copied into the new
vault as they are; a ``vault/veriwiki.toml`` replaces the generated settings, keeping
the vault's name). Creating one is: ``init`` (one commit), the template's files (one
commit), then each source (one commit each), fetched from its URL with the pinned
sha256 as ``veriwiki add URL --sha256`` does, or read from a local folder
(``sources_from``). Running it again on a vault made from the template adds the sources
still missing and nothing else, so an interrupted fetch resumes. See docs/template-llm.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import yaml

from veriwiki.adapters.fetch import Progress
from veriwiki.config import CONFIG_FILE
from veriwiki.core.names import file_name_problem
from veriwiki.core.sources import MEDIA_TYPES, check_id, parse_sidecar, sidecar_path
from veriwiki.errors import ConflictError, InputError, VeriwikiError
from veriwiki.services.write import Notify
from veriwiki.vault import Vault, open_vault

TEMPLATES = ("llm",)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_MAX_TEMPLATE_FILE = 2_000_000


@dataclass(frozen=True, slots=True)
class TemplateSource:
    """One source a template's pages cite, pinned by its sha256."""

    id: str
    title: str
    url: str
    sha256: str
    bytes: int
    license: str | None
    file: str
    media_type: str
    note: str | None = None


@dataclass(slots=True)
class TemplateResult:
    """What ``init --template`` did.

    ``resumed``: the vault existed (made from the template) and only missing sources
    were added. ``added``: source ids added now; ``present``: already there with the
    pinned bytes; ``changed``: there, but with other bytes (left alone, noted).
    """

    root: Path
    template: str
    resumed: bool
    files: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    commits: list[str] = field(default_factory=list)


class TemplateFetchError(InputError):
    """A source of the template could not be added; the vault is left resumable."""


# called with (the source, its 1-based position, how many sources) before each source
SourceStart = Callable[[TemplateSource, int, int], None]


def _folder(template: str) -> Traversable:
    if template not in TEMPLATES:
        raise InputError(f"no template named {template!r}",
                         hint="templates: " + ", ".join(TEMPLATES))
    return resources.files("veriwiki").joinpath("templates", template)


def template_sources(template: str) -> list[TemplateSource]:
    """The pinned sources of ``template``, as its ``sources.yaml`` lists them."""
    text = _folder(template).joinpath("sources.yaml").read_text("utf-8")
    rel = f"templates/{template}/sources.yaml"
    data = yaml.safe_load(text)
    if not isinstance(data, list):
        raise InputError("a template's sources.yaml must be a list of sources", path=rel)
    out: list[TemplateSource] = []
    seen: set[str] = set()
    for i, item in enumerate(data, 1):
        if not isinstance(item, dict):
            raise InputError(f"entry {i} is not a mapping", path=rel)
        try:
            src = TemplateSource(check_id(str(item["id"])), str(item["title"]),
                                 str(item["url"]), str(item["sha256"]).lower(),
                                 int(item["bytes"]), _opt(item.get("license")),
                                 str(item["file"]), str(item["media_type"]),
                                 _opt(item.get("note")))
        except KeyError as exc:
            raise InputError(f"entry {i} lacks {exc.args[0]!r}", path=rel) from None
        if not _HEX64.fullmatch(src.sha256) or src.id in seen or "/" in src.file:
            raise InputError(f"entry {i} ({src.id}): bad sha256, repeated id or a file name "
                             "with a folder", path=rel)
        seen.add(src.id)
        out.append(src)
    return out


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def template_files(template: str) -> dict[str, bytes]:
    """Vault path → bytes of every file under the template's ``vault/`` folder."""
    files: dict[str, bytes] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            rel = f"{prefix}{child.name}"
            if child.name in ("__pycache__", ".DS_Store"):
                continue
            if child.is_dir():
                walk(child, rel + "/")
            elif child.is_file():
                if file_name_problem(rel) is not None:
                    raise InputError(f"template file name {rel!r} is not usable in a vault")
                data = child.read_bytes()
                if len(data) > _MAX_TEMPLATE_FILE:
                    raise InputError(f"template file {rel} is over {_MAX_TEMPLATE_FILE:,} bytes")
                files[rel] = data

    vault_dir = _folder(template).joinpath("vault")
    if vault_dir.is_dir():
        walk(vault_dir, "")
    return files


def _is_from_template(root: Path, files: dict[str, bytes]) -> bool:
    """Whether the vault at ``root`` was made from a template with these files."""
    pages = [rel for rel in files if rel != CONFIG_FILE]
    return bool(pages) and all((root / rel).is_file() for rel in pages)


def init_from_template(directory: str | Path, template: str, *,
                       sources_from: str | Path | None = None, mirror: str | None = None,
                       name: str | None = None, on_source: SourceStart | None = None,
                       on_progress: Progress | None = None,
                       on_notice: Notify | None = None) -> TemplateResult:
    """Create a vault in ``directory`` from ``template``, or finish one made from it.

    Sources come from their URLs (sha256 enforced) or, with ``sources_from``, from that
    folder (each file must have the pinned sha256), or, with ``mirror``, from
    ``<mirror>/<file>`` (sha256 enforced; the source's origin stays the pinned URL).
    A failure to add a source raises
    :class:`TemplateFetchError` after the sources before it were committed; running
    this again continues with the ones still missing.
    """
    from veriwiki.services.vault_ops import init_vault

    sources = template_sources(template)
    files = template_files(template)
    folder = _local_folder(sources_from)
    if mirror is not None and folder is not None:
        raise InputError("give either a folder of sources or a mirror URL, not both")
    if mirror is not None:
        from veriwiki.adapters.fetch import check_url

        mirror = check_url(mirror).rstrip("/")
    root = Path(directory).expanduser().resolve()
    result = TemplateResult(root, template, resumed=(root / CONFIG_FILE).exists())
    if result.resumed:
        if not _is_from_template(root, files):
            raise ConflictError(f"{root} is already a vault, not one made from the "
                                f"{template!r} template", hint="give a new folder")
    else:
        made = init_vault(root, name=name)
        if made.commit:
            result.commits.append(made.commit)
    vault = open_vault(root)
    try:
        if not result.resumed:
            commit = _copy_files(vault, template, files)
            result.files = sorted(files)
            if commit:
                result.commits.append(commit)
        for i, src in enumerate(sources, 1):
            state = _state(vault, src)
            if state == "present":
                result.present.append(src.id)
                continue
            if state == "changed":
                result.changed.append(src.id)
                if on_notice:
                    on_notice(f"{src.id}: already in raw/ with other bytes than the pinned "
                              f"sha256 {src.sha256[:12]}…; left as it is")
                continue
            if on_source:
                on_source(src, i, len(sources))
            try:
                commit = _add(vault, src, folder, mirror, on_progress, on_notice)
            except VeriwikiError as exc:
                missing = len(sources) - len(result.present) - len(result.added) - \
                    len(result.changed)
                raise TemplateFetchError(
                    f"source {src.id} ({i} of {len(sources)}) could not be added: "
                    f"{exc}; {missing} source(s) are still missing",
                    hint=(f"{exc.hint}; then " if exc.hint else "") +
                         "run the same command again: it keeps what is there and adds the "
                         "missing sources (or pass --sources-from DIR with the files)"
                ) from exc
            result.added.append(src.id)
            if commit:
                result.commits.append(commit)
    finally:
        vault.close()
    return result


def _local_folder(sources_from: str | Path | None) -> Path | None:
    if sources_from is None:
        return None
    folder = Path(sources_from).expanduser()
    if not folder.is_dir():
        raise InputError(f"{sources_from}: no such folder",
                         hint="give the folder holding the template's source files")
    return folder


def _copy_files(vault: Vault, template: str, files: dict[str, bytes]) -> str | None:
    """Write the template's files into the vault in one commit."""
    from veriwiki.services.write import finish, write_operation

    if not files:
        return None
    with write_operation(vault, f"template {template}") as tx:
        for rel, data in files.items():
            if rel == CONFIG_FILE:
                data = _with_name(data, vault.config.vault.name)
            tx.put(rel, data)
        return finish(vault, tx, "template", f"{template} ({len(files)} files)").commit


def _with_name(data: bytes, name: str) -> bytes:
    """The template's settings with the ``[vault]`` name set to the new vault's."""
    text = data.decode("utf-8")
    esc = name.replace("\\", "\\\\").replace('"', '\\"')
    return re.sub(r'(?m)^name\s*=\s*".*"$', lambda _: f'name = "{esc}"', text,
                  count=1).encode()


def _state(vault: Vault, src: TemplateSource) -> str:
    """``missing``, ``present`` (a version has the pinned sha256) or ``changed``."""
    rel = sidecar_path(src.id)
    git = vault.git
    data = None
    with contextlib.suppress(VeriwikiError):
        tree = git.ls_tree("HEAD", f"raw/{src.id}")
        blob = tree.get(rel)
        data = git.read_blobs([blob])[0] if blob else None
    if data is None:
        return "missing"
    try:
        source = parse_sidecar(data.decode("utf-8", "replace"), rel)
    except InputError:
        return "changed"
    return "present" if any(v.sha256 == src.sha256 for v in source.versions) else "changed"


def _add(vault: Vault, src: TemplateSource, folder: Path | None, mirror: str | None,
         on_progress: Progress | None, on_notice: Notify | None) -> str | None:
    """Add one source (one commit), from its URL, a mirror or ``folder``."""
    from veriwiki.services.sources import prepare_bytes, store_prepared

    if folder is None and mirror is None:
        from veriwiki.services.web_sources import add_url

        got = add_url(vault, src.url, source_id=src.id, title=src.title, license=src.license,
                      sha256=src.sha256, on_progress=on_progress, on_notice=on_notice)
        return got.commit
    if mirror is not None:
        return _add_mirrored(vault, src, mirror, on_progress, on_notice)
    assert folder is not None

    path = folder / src.file
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}",
                         hint=f"put the file {src.file} (sha256 {src.sha256}) in {folder}"
                         ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != src.sha256:
        raise InputError(f"{path}: sha256 is {digest}, expected {src.sha256}; nothing was "
                         "written for this source",
                         hint="the file differs from the pinned one; fetch it again from "
                              f"{src.url}")
    suffix = Path(src.file).suffix.lower()
    kind = MEDIA_TYPES.get(suffix)
    if kind is None:
        raise InputError(f"{src.file}: unsupported file type {suffix}")
    if on_progress:
        on_progress(len(data), len(data))
    prepared = prepare_bytes(data, str(path), src.url, src.id, kind, src.id)
    got = store_prepared(vault, [prepared], str(path), title=src.title, url=src.url,
                         license=src.license, on_notice=on_notice)[0]
    return got.commit



def _add_mirrored(vault: Vault, src: TemplateSource, mirror: str,
                  on_progress: Progress | None, on_notice: Notify | None) -> str | None:
    """Download ``<mirror>/<file>``; refuse other bytes than the pinned ones."""
    import urllib.parse

    from veriwiki.adapters.fetch import download
    from veriwiki.services.sources import prepare_bytes, store_prepared
    from veriwiki.services.web_sources import media_kind

    url = f"{mirror}/{urllib.parse.quote(src.file)}"
    settings = vault.config.sources
    got = download(url, max_bytes=settings.max_source_bytes,
                   timeout=settings.fetch_timeout_seconds, on_progress=on_progress)
    digest = hashlib.sha256(got.data).hexdigest()
    if digest != src.sha256:
        raise InputError(f"{url}: the downloaded bytes have sha256 {digest}, not the expected "
                         f"{src.sha256}; nothing was written for this source",
                         hint="check the mirror's copy of " + src.file)
    prepared = prepare_bytes(got.data, url, src.url, src.id, media_kind(got, url), src.id,
                             url=got.url, retrieved=got.retrieved)
    return store_prepared(vault, [prepared], url, title=src.title, url=src.url,
                          license=src.license, on_notice=on_notice)[0].commit


__all__ = ["TEMPLATES", "TemplateFetchError", "TemplateResult", "TemplateSource",
           "init_from_template", "template_files", "template_sources"]
