"""Git plumbing through the ``git`` command: reading trees and blobs, building commits."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from veriwiki.adapters.git_options import (
    DURABILITY,
    SAFETY,
    driver_overrides,
    parse_config_list,
    with_settings,
)
from veriwiki.adapters.writes import ensure_dir, fsync_dir
from veriwiki.errors import GitError

ZERO = "0" * 40
MIN_GIT = (2, 31)  # GIT_CONFIG_COUNT, which carries the safety settings
_version: tuple[int, ...] | None = None


def git_version() -> tuple[int, ...]:
    """The installed git's version (read once per process)."""
    global _version
    if _version is None:
        try:
            out = subprocess.run(["git", "--version"], capture_output=True, text=True,
                                 check=False).stdout
        except OSError:
            out = ""
        words = out.split()
        numbers = words[2].split(".") if len(words) > 2 else []
        _version = tuple(int(n) for n in numbers[:3] if n.isdigit())
    return _version


class GitRepo:
    """A git work tree at ``root``, driven through the git CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._env: dict[str, str] | None = None

    # -- running git ----------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for every git call: no prompts, C locale, a fallback identity.

        It carries the settings of :mod:`veriwiki.adapters.git_options`, so no git call
        runs a hook, fsmonitor, filter driver or transport the repository names, and
        git fsyncs what it writes. The configuration is read once (one ``git config``).
        """
        if self._env is None:
            found = git_version()
            if found < MIN_GIT:
                shown = ".".join(map(str, found)) or "no git"
                raise GitError(f"veriwiki needs git 2.31 or later (found {shown}) to run git "
                               "without the repository's hooks and filters",
                               hint="install a newer git (https://git-scm.com/downloads)")
            env = dict(os.environ)
            env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
            env.pop("GIT_INDEX_FILE", None)
            env = with_settings(env, [*SAFETY, *DURABILITY])
            listing = self.execute(["config", "-z", "--list"], env)
            config = parse_config_list(listing.stdout if listing.returncode == 0 else b"")
            env = with_settings(env, driver_overrides(config))
            for kind in ("AUTHOR", "COMMITTER"):
                if f"GIT_{kind}_NAME" not in env and not config.get("user.name", [""])[-1]:
                    env[f"GIT_{kind}_NAME"] = "veriwiki"
                if f"GIT_{kind}_EMAIL" not in env and not config.get("user.email", [""])[-1]:
                    env[f"GIT_{kind}_EMAIL"] = "veriwiki@localhost"
            self._env = env
        return self._env

    def execute(self, args: list[str], env: dict[str, str] | None = None,
                input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run git in the work tree and return the finished process, whatever its exit.

        The one place veriwiki starts git; ``env`` defaults to :meth:`env`.
        """
        return subprocess.run(["git", "-C", str(self.root), *args], input=input,
                              capture_output=True, env=env or self.env(), check=False)

    def run(self, *args: str, input: bytes | None = None, env: dict[str, str] | None = None,
            check: bool = True) -> bytes:
        """Run ``git args`` in the work tree and return its standard output."""
        proc = self.execute(list(args), env, input)
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()
            raise GitError(f"git {args[0]} failed: {err}",
                           hint="check the repository with 'git status'; "
                                "set VERIWIKI_DEBUG=1 for details")
        return proc.stdout

    def text(self, *args: str) -> str:
        """Run git and return stripped text output."""
        return self.run(*args).decode("utf-8", "replace").strip()

    # -- state ---------------------------------------------------------------------------

    def is_repo(self) -> bool:
        """True when ``root`` is the top of a git work tree."""
        proc = self.execute(["rev-parse", "--show-toplevel"])
        top = proc.stdout.decode("utf-8", "surrogateescape").strip()
        return proc.returncode == 0 and Path(top).resolve() == self.root.resolve()

    def inside_repo(self) -> bool:
        """True when ``root`` lies inside some git work tree."""
        return self.execute(["rev-parse", "--git-dir"]).returncode == 0

    def git_dir(self) -> Path:
        """The repository's .git folder."""
        return (self.root / self.text("rev-parse", "--git-dir")).resolve()

    def head(self) -> str | None:
        """The commit HEAD points at, or None in an empty repository."""
        out = self.run("rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
        sha = out.decode().strip()
        return sha or None

    # -- reading ---------------------------------------------------------------------------

    def ls_tree(self, rev: str | None, prefix: str = "") -> dict[str, str]:
        """Path → blob id of every file under ``prefix`` at ``rev``."""
        if rev is None:
            return {}
        args = ["ls-tree", "-r", "-z", "--full-tree", rev]
        if prefix and prefix != ".":
            args += ["--", prefix]
        out = self.run(*args)
        files = {}
        for rec in out.split(b"\0"):
            if not rec:
                continue
            meta, path = rec.split(b"\t", 1)
            mode, kind, sha = meta.split()
            if kind == b"blob":
                files[path.decode("utf-8", "surrogateescape")] = sha.decode()
        return files

    def tree_blobs(self, rev: str) -> list[tuple[str, str, str, int]]:
        """(path, mode, blob id, size) of every file and symlink at ``rev`` (no submodules)."""
        out = []
        for rec in self.run("ls-tree", "-r", "-z", "-l", "--full-tree", rev).split(b"\0"):
            if rec:
                meta, path = rec.split(b"\t", 1)
                mode, kind, sha, size = meta.split()
                if kind == b"blob":
                    out.append((path.decode("utf-8", "surrogateescape"), mode.decode(),
                                sha.decode(), int(size)))
        return out

    def read_blobs(self, specs: list[str]) -> list[bytes | None]:
        """Contents for ``rev:path`` or blob ids (None where missing), in one git call.

        ``cat-file --batch`` reads one name per line, so a path holding a newline is
        first turned into its blob id through a NUL-separated tree listing; the answers
        are matched to the questions by the echoed name, never by counting lines.
        """
        if not specs:
            return []
        asked = self._without_newlines(specs)
        names = [s.encode("utf-8", "surrogateescape") for s in asked]
        data = self.run("cat-file", "--batch", input=b"".join(n + b"\n" for n in names))
        out: list[bytes | None] = []
        pos = 0
        for name in names:
            nl = data.index(b"\n", pos)
            line = data[pos:nl]
            pos = nl + 1
            if line in (name + b" missing", name + b" ambiguous"):
                out.append(None)
                continue
            _sha, kind, size_text = line.rsplit(b" ", 2)
            size = int(size_text)
            out.append(data[pos:pos + size] if kind == b"blob" else None)
            pos += size + 1
        return out

    def _without_newlines(self, specs: list[str]) -> list[str]:
        """``specs`` with each ``rev:path`` whose path holds a newline replaced by a blob id."""
        trees: dict[str, dict[str, str]] = {}
        out = []
        for spec in specs:
            if "\n" not in spec:
                out.append(spec)
                continue
            rev, _, path = spec.partition(":")
            if rev not in trees:
                listed = self.run("rev-parse", "--verify", "-q", f"{rev}^{{tree}}", check=False)
                trees[rev] = self.ls_tree(listed.decode().strip()) if listed.strip() else {}
            out.append(trees[rev].get(path, ZERO))
        return out

    def log(self, path: str, limit: int | None = None) -> list[dict[str, str]]:
        """Commits that touched ``path``, newest first, following renames.

        git's rename detection misses renames that also rewrote much of a small file,
        so renames recorded by ``veriwiki: mv | A -> B`` commits are followed
        explicitly as well.
        """
        entries = self._log(path, "HEAD", limit)
        seen = {e["commit"] for e in entries}
        while entries and (limit is None or len(entries) < limit):
            last = entries[-1]
            subject = last["subject"]
            if not subject.startswith("veriwiki: mv | ") or " -> " not in subject:
                break
            old, _, new = subject[len("veriwiki: mv | "):].partition(" -> ")
            if new.strip() != (last["path"] or path):
                break
            more = [e for e in self._log(old.strip(), f"{last['commit']}^",
                                         None if limit is None else limit - len(entries))
                    if e["commit"] not in seen]
            if not more:
                break
            seen.update(e["commit"] for e in more)
            entries += more
        return entries

    def _log(self, path: str, start: str, limit: int | None) -> list[dict[str, str]]:
        fmt = "%H%x1f%an%x1f%ae%x1f%aI%x1f%s"
        args = ["log", "--follow", f"--format={fmt}", "--name-only", "-z"]
        if limit:
            args.append(f"-n{limit}")
        proc = self.run(*args, start, "--", path, check=False)
        out = proc.decode("utf-8", "replace")
        entries = []
        for chunk in out.split("\0"):
            chunk = chunk.strip("\n")
            if not chunk:
                continue
            if "\x1f" in chunk:
                head, _, name = chunk.partition("\n")
                sha, an, ae, date, subject = head.split("\x1f")
                entries.append({"commit": sha, "author": an, "email": ae, "date": date,
                                "subject": subject, "path": name.strip()})
            elif entries and not entries[-1]["path"]:
                entries[-1]["path"] = chunk
        return entries

    # -- writing ----------------------------------------------------------------------------

    def write_blobs(self, datas: list[bytes], tmp_dir: Path) -> list[str]:
        """Store ``datas`` as blobs; return their ids."""
        if not datas:
            return []
        ensure_dir(tmp_dir, tmp_dir.parent)
        paths: list[str] = []
        for i, data in enumerate(datas):
            blob_path = tmp_dir / f"blob-{os.getpid()}-{i}"
            fd = os.open(blob_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            paths.append(str(blob_path))
        try:
            out = self.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                           input="".join(p + "\n" for p in paths).encode())
        finally:
            for name in paths:
                os.unlink(name)
        return out.decode().split()

    def build_commit(self, parent: str | None, entries: dict[str, str | None], message: str,
                     tmp_dir: Path) -> str:
        """A commit of ``parent``'s tree with ``entries`` (path → blob, None deletes)."""
        ensure_dir(tmp_dir, tmp_dir.parent)
        index_file = tmp_dir / f"index-{os.getpid()}"
        # the scratch index is deleted below: fsync the objects and refs, not it
        env = with_settings(dict(self.env(), GIT_INDEX_FILE=str(index_file)),
                            [("core.fsync", "objects,reference")])
        try:
            if parent:
                self.run("read-tree", parent, env=env)
            else:
                self.run("read-tree", "--empty", env=env)
            self.run("update-index", "-z", "--index-info", input=_index_info(entries),
                     env=env)
            tree = self.run("write-tree", env=env).decode().strip()
            args = ["commit-tree", tree, "-F", "-"]
            if parent:
                args[2:2] = ["-p", parent]
            return self.run(*args, input=message.encode(), env=env).decode().strip()
        finally:
            index_file.unlink(missing_ok=True)

    def merge_file(self, base: bytes, ours: bytes, theirs: bytes, tmp_dir: Path) -> bytes | None:
        """Three-way merge of one file's texts (``git merge-file``); None on a conflict."""
        ensure_dir(tmp_dir, tmp_dir.parent)
        names: list[str] = []
        try:
            for i, data in enumerate((ours, base, theirs)):
                file = tmp_dir / f"merge-{os.getpid()}-{i}"
                file.write_bytes(data)
                names.append(str(file))
            proc = self.execute(["merge-file", "-p", "-q", *names])
        finally:
            for name in names:
                os.unlink(name)
        return proc.stdout if proc.returncode == 0 else None

    def update_head(self, new: str, old: str | None, message: str) -> None:
        """Move HEAD (or its branch) to ``new`` only if it still points at ``old``.

        git fsyncs the ref file (``core.fsync``) but not its folder; the folder is
        fsynced here so the rename that makes the commit current survives a power loss.
        """
        self.run("update-ref", "-m", message, "HEAD", new, old or ZERO)
        git_dir, common, ref = self.text("rev-parse", "--git-dir", "--git-common-dir",
                                         "--symbolic-full-name", "HEAD").splitlines()
        if ref.startswith("refs/"):
            fsync_dir((self.root / common / ref).parent)
        else:
            fsync_dir(self.root / git_dir)

    def set_index_entries(self, entries: dict[str, str | None]) -> None:
        """Point the real index at the given blobs (None removes the entry)."""
        if entries:
            self.run("update-index", "-z", "--index-info", input=_index_info(entries))


def _index_info(entries: dict[str, str | None]) -> bytes:
    """``update-index -z --index-info`` records: NUL-terminated, so any path is safe."""
    out = []
    for path, blob in sorted(entries.items()):
        head = f"0 {ZERO}" if blob is None else f"100644 {blob}"
        out.append(f"{head}\t".encode() + path.encode("utf-8", "surrogateescape") + b"\0")
    return b"".join(out)
