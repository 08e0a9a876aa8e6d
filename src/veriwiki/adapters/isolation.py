"""Where ``python check`` blocks may run: inside bubblewrap, or (trusted) without it.

:func:`choose_isolation` turns the user's :class:`SandboxPolicy` into an
:class:`Isolation`: ``bwrap`` when the bubblewrap executable runs Python in a sandbox on
this machine (checked once per process), else ``none`` when the user trusts the vault
(``--trust``), else ``refused`` with the reason, so that blocks are not run at all.

:func:`bwrap_command` builds the sandbox: every namespace unshared (no network, a new
PID namespace, IPC, UTS, cgroup and, where possible, user namespace), a new session,
``--die-with-parent``, an empty environment plus a few variables, no capabilities, a
fresh read-only ``/proc`` and a minimal ``/dev``, read-only binds of the system libraries, the
interpreter and the packages Python imports, the vault read-only with ``.git`` and
``.veriwiki`` hidden, the facts file read-only, and a private size-capped tmpfs on
``/tmp`` (the block's folder is ``/tmp/work``). The seccomp filter of
:mod:`veriwiki.adapters.seccomp` is passed as a file descriptor.

The policy comes from the user (command-line flags, the Python API), never from
``veriwiki.toml``: a vault under review must not be able to switch its own sandbox off
or name the program that runs it.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass

BWRAP = "bwrap"  # isolation modes
UNISOLATED = "none"
REFUSED = "refused"
BWRAP_CANDIDATES = ("/usr/bin/bwrap", "/usr/local/bin/bwrap", "/bin/bwrap")
SANDBOX_WORK = "/tmp/work"  # the block's working folder inside bubblewrap
_HIDDEN = (".git", ".veriwiki")  # vault entries a block never sees


@dataclass(frozen=True, slots=True)
class SandboxPolicy:
    """How check blocks may run, as the user asked.

    ``trust``: run blocks without OS isolation when bubblewrap cannot run (``--trust``).
    ``bwrap``: the bubblewrap executable; None looks in /usr/bin, /usr/local/bin, /bin.
    """

    trust: bool = False
    bwrap: str | None = None


@dataclass(frozen=True, slots=True)
class Isolation:
    """The isolation blocks get: ``mode`` is ``bwrap``, ``none`` (trusted) or ``refused``.

    ``problem`` says why bubblewrap is not used (None when it is).
    """

    mode: str
    bwrap: str | None = None
    problem: str | None = None

    @property
    def can_run(self) -> bool:
        """False when blocks must not run at all."""
        return self.mode != REFUSED


def find_bwrap(policy: SandboxPolicy) -> str | None:
    """The bubblewrap executable the policy names or the first one installed."""
    if policy.bwrap is not None:
        return policy.bwrap if os.access(policy.bwrap, os.X_OK) else None
    return next((p for p in BWRAP_CANDIDATES if os.access(p, os.X_OK)), None)


def choose_isolation(policy: SandboxPolicy) -> Isolation:
    """bubblewrap when it works here; otherwise unisolated if trusted, else refused."""
    path = find_bwrap(policy)
    problem: str | None
    if path is None:
        where = policy.bwrap or " or ".join(BWRAP_CANDIDATES)
        problem = f"bubblewrap is not installed (no executable {where})"
    else:
        problem = probe_bwrap(path)
        if problem is None:
            return Isolation(BWRAP, path)
    return Isolation(UNISOLATED if policy.trust else REFUSED, path, problem)


@functools.cache
def probe_bwrap(path: str) -> str | None:
    """None when ``path`` runs this Python in the sandbox; else what went wrong."""
    argv = bwrap_command(path, python=python_executable(), read_only=library_binds(),
                         vault=None, files=(), env={}, tmpfs_mb=16, seccomp_fd=None)
    try:
        proc = subprocess.run([*argv, "-I", "-S", "-c", "pass"], capture_output=True,
                              timeout=30, env={}, stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bubblewrap ({path}) could not be started: {exc}"
    if proc.returncode != 0:
        why = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        return (f"bubblewrap ({path}) cannot create a sandbox here: "
                f"{why[-1] if why else f'exit status {proc.returncode}'} (user namespaces "
                "may be disabled, e.g. kernel.unprivileged_userns_clone=0 or an AppArmor "
                "restriction)")
    return None


def python_executable() -> str:
    """The interpreter file itself (a venv's ``python`` is a symlink to it)."""
    return os.path.realpath(sys.executable)


@functools.cache
def library_binds() -> tuple[str, ...]:
    """Read-only paths Python needs: its prefix, its library and package folders."""
    import sysconfig


    paths = sysconfig.get_paths()
    wanted = [sys.base_prefix, sys.prefix, package_root(),
              *(paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths)]
    return _outermost(os.path.realpath(p) for p in wanted if os.path.isdir(p))


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths with those inside another one left out."""
    kept: list[str] = []
    for p in sorted(set(paths)):
        if not any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(p)
    return tuple(kept)


def _system_args() -> list[str]:
    """The shared libraries (and the loader cache) every dynamically linked program needs."""
    args: list[str] = []
    for d in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32"):
        if os.path.isdir(d):
            args += ["--ro-bind", d, d]
    for d in ("/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    args += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]
    return args


def bwrap_command(bwrap: str, *, python: str, read_only: Iterable[str], vault: str | None,
                  files: Iterable[str], env: dict[str, str], tmpfs_mb: int,
                  seccomp_fd: int | None) -> list[str]:
    """The bubblewrap command line that runs ``python`` (its arguments follow).

    ``read_only`` folders and ``files`` appear read-only at their own paths, as does the
    ``vault`` (without its ``.git`` and ``.veriwiki``).
    """
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--hostname", "sandbox", "--clearenv",
            # a fresh procfs, read-only: run as root, the sandbox's uid 0 is the host's,
            # and a writable /proc/sys (kernel.core_pattern) would reach the host
            "--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev",
            "--size", str(tmpfs_mb * 1024 * 1024), "--tmpfs", "/tmp", "--dir", SANDBOX_WORK,
            *_system_args()]
    for path in read_only:
        args += ["--ro-bind", path, path]
    if vault is not None:
        args += ["--ro-bind", vault, vault]
        for name in _HIDDEN:
            hidden = os.path.join(vault, name)
            if os.path.islink(hidden):
                continue  # its target is outside every bind, or visible at its own path
            if os.path.isdir(hidden):
                args += ["--tmpfs", hidden, "--remount-ro", hidden]
            elif os.path.exists(hidden):
                args += ["--ro-bind", "/dev/null", hidden]
    for path in files:
        args += ["--ro-bind", path, path]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    if seccomp_fd is not None:
        args += ["--seccomp", str(seccomp_fd)]
    args += ["--chdir", SANDBOX_WORK, "--", python]
    return args


def package_root() -> str:
    """The folder holding the ``veriwiki`` package (put on the child's ``sys.path``)."""
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2])  # the folder holding ``veriwiki/``
