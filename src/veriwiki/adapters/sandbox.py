"""Run a ``python check`` block in a separate, limited, isolated process.

The parent (:func:`run_block`) starts ``python -I -S -B`` inside bubblewrap (see
:mod:`veriwiki.adapters.isolation`: no network, new PID namespace, read-only view of
the vault and of what Python needs, a private tmpfs, a seccomp filter) in a new session,
with stdin closed; it reads the output (cut at ``max_output_bytes``) and the result
(a pipe), enforces the wall clock and kills the whole process group, and with it the
sandbox's PID namespace, when the block ends or overruns. Without bubblewrap a block
runs only when the user trusts the vault (``Isolation`` mode ``none``: the same process
without the namespaces); otherwise it is not run and the result says why.

The child (:func:`child_main`) sets RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE
and RLIMIT_CORE, installs an audit hook that refuses processes, sockets, ctypes, writes
outside the working directory and reads outside the vault / facts file / Python's own
library, then runs the block. The hook is a diagnostic layer (it names what a block
tried); PEP 578 hooks are no security boundary, the OS isolation is.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from veriwiki.adapters.isolation import (
    BWRAP,
    SANDBOX_WORK,
    Isolation,
    SandboxPolicy,
    bwrap_command,
    choose_isolation,
    library_binds,
    package_root,
    python_executable,
)
from veriwiki.adapters.sandbox_child import BLOCK_FILENAME, FAILED, LIMIT, OK, REFUSED
from veriwiki.adapters.seccomp import filter_program

__all__ = ["BLOCK_FILENAME", "FAILED", "LIMIT", "NOT_RUN", "OK", "REFUSED", "TIMEOUT", "Limits",
           "SandboxResult", "package_root", "run_block"]

TIMEOUT = "timeout"
NOT_RUN = "not-run"  # no isolation available and the vault is not trusted
SANDBOX_VERSION = 2  # bump when the child's behaviour changes (invalidates cached results)
MAX_RESULT_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-block limits (see ``[sandbox]`` in veriwiki.toml)."""

    timeout_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_mb: int = 512
    max_output_bytes: int = 65_536
    max_processes: int = 32

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Limits from a ``SandboxSettings`` (or anything with the same attributes)."""
        return cls(float(settings.timeout_seconds), int(settings.cpu_seconds),
                   int(settings.memory_mb), int(settings.max_output_bytes),
                   int(settings.max_processes))


@dataclass(slots=True)
class SandboxResult:
    """What one block did. ``line`` is the failing line within the block (1-based)."""

    status: str
    stdout: str = ""
    stderr: str = ""
    exc_type: str | None = None
    exc_message: str | None = None
    line: int | None = None
    duration: float = 0.0
    limit: str | None = None  # "memory", "cpu", "output", "file size", "processes"
    traceback: list[str] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # vault files the block opened

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (used by the result cache)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SandboxResult:
        """The inverse of :meth:`to_json`."""
        return cls(**data)


@functools.cache
def _library_paths() -> list[str]:
    import sysconfig

    paths = sysconfig.get_paths()
    out = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    out.append(os.path.join(paths["platstdlib"], "lib-dynload"))
    return sorted({os.path.realpath(p) for p in out if os.path.isdir(p)})


def _pids_limit(extra: int) -> int:
    """RLIMIT_NPROC counts every task of the uid: allow the current total plus ``extra``."""
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            total = int(fh.read().split()[3].split("/")[1])
    except (OSError, ValueError, IndexError):
        total = 4096
    return total + extra


def run_block(code: str, limits: Limits, *, vault_root: Path | None = None,
              facts_file: Path | None = None, isolation: Isolation | None = None,
              audit_hook: bool = True) -> SandboxResult:
    """Run ``code`` in the sandbox and report what happened (never raises for the block).

    ``isolation`` defaults to bubblewrap when it works here, else to not running the
    block (status ``not-run``); pass ``Isolation("none")`` only for trusted code.
    ``audit_hook`` False leaves out the diagnostic layer (the escape tests use it to
    check the OS isolation alone; without the hook no vault reads are reported).
    """
    import tempfile

    iso = isolation if isolation is not None else choose_isolation(SandboxPolicy())
    if not iso.can_run:
        return SandboxResult(NOT_RUN, exc_type="SandboxUnavailable",
                             exc_message=iso.problem or "no sandbox")
    started = time.monotonic()
    vault = str(Path(vault_root).resolve()) if vault_root else None
    facts = str(Path(facts_file).resolve()) if facts_file else None
    with tempfile.TemporaryDirectory(prefix="veriwiki-check-") as tmp:
        base = Path(tmp).resolve()
        isolated = iso.mode == BWRAP
        work = SANDBOX_WORK if isolated else str(base / "work")
        if not isolated:
            os.mkdir(work)
        read_fd, write_fd = os.pipe()
        job = {
            "code": code, "work": work, "result_fd": write_fd, "hook": audit_hook,
            "isolated": isolated,
            "sys_path": [package_root(), *_library_paths()],
            "read": [p for p in (vault, facts) if p], "vault": vault,
            "cpu": limits.cpu_seconds, "memory": limits.memory_mb * 1024 * 1024,
            "nproc": _pids_limit(limits.max_processes),
            "fsize": max(limits.memory_mb * 1024 * 1024, limits.max_output_bytes),
        }
        job_path = base / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": work, "TMPDIR": work}
        if vault is not None:
            env["VERIWIKI_VAULT"] = vault
        if facts is not None:
            env["VERIWIKI_FACTS_FILE"] = facts
        boot = ("import sys;sys.path[:0]=[sys.argv[2]];"
                "from veriwiki.adapters.sandbox_child import child_main;child_main(sys.argv[1])")
        args = ["-I", "-S", "-B", "-X", "utf8", "-c", boot, str(job_path), package_root()]
        pass_fds = [write_fd]
        seccomp_fd = info_r = info_w = init = None
        try:
            if isolated:
                assert iso.bwrap is not None
                seccomp_fd = _seccomp_fd()
                info_r, info_w = os.pipe()
                pass_fds += [info_w] + ([] if seccomp_fd is None else [seccomp_fd])
                argv = bwrap_command(iso.bwrap, python=python_executable(),
                                     read_only=library_binds(), vault=vault,
                                     files=[p for p in (facts, str(job_path)) if p], env=env,
                                     tmpfs_mb=limits.memory_mb, seccomp_fd=seccomp_fd)
                argv[1:1] = ["--info-fd", str(info_w)]
                proc = _start([*argv, *args], {}, base, pass_fds)
            else:
                proc = _start([sys.executable, *args], env, Path(work), pass_fds)
        except OSError as exc:  # the sandbox itself could not start
            for fd in (read_fd, info_r):
                if fd is not None:
                    os.close(fd)
            return SandboxResult(FAILED, exc_type="SandboxError",
                                 exc_message=f"the sandbox could not start: {exc}")
        finally:
            for fd in (write_fd, seccomp_fd, info_w):
                if fd is not None:
                    os.close(fd)
        if info_r is not None:
            init = _sandbox_init(info_r, started + limits.timeout_seconds)
        status, limit, out, err, result = _collect(proc, read_fd, limits, started, init)
        cap = limits.max_output_bytes
        res = SandboxResult(status or FAILED, _text(out[:cap]), _text(err[:cap]),
                            limit=limit, duration=time.monotonic() - started)
        if status == TIMEOUT:
            res.exc_message = f"ran longer than {limits.timeout_seconds:g} s (wall clock)"
        elif status == LIMIT:
            res.exc_message = f"printed more than {cap} bytes"
        else:
            status_code = proc.returncode
            if isolated and status_code is not None and status_code > 128:
                status_code = 128 - status_code  # bwrap exits 128+N when its child dies of N
            _read_child_result(res, result, status_code, limits, vault)
        return res


def _seccomp_fd() -> int | None:
    """A readable descriptor holding the seccomp program (None where there is none)."""
    program = filter_program()
    if program is None:
        return None
    fd = os.memfd_create("veriwiki-seccomp", 0)
    os.write(fd, program)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _sandbox_init(info_fd: int, deadline: float) -> int | None:
    """A pidfd of the sandbox's first process (bubblewrap reports it on ``info_fd``).

    Killing it ends the sandbox's PID namespace: every process in it dies with it.
    """
    import select

    data = b""
    try:
        while b"}" not in data:
            ready, _, _ = select.select([info_fd], [], [], max(deadline - time.monotonic(), 0))
            chunk = os.read(info_fd, 4096) if ready else b""
            if not chunk:
                return None
            data += chunk
        return os.pidfd_open(int(json.loads(data)["child-pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    finally:
        os.close(info_fd)


def _end_sandbox(init: int) -> None:
    """Kill the sandbox's first process, and wait until its PID namespace is empty."""
    import select

    with contextlib.suppress(ProcessLookupError, OSError):
        signal.pidfd_send_signal(init, signal.SIGKILL)
    select.select([init], [], [], 10)  # readable once it (and so everything in it) is gone
    os.close(init)


def _start(argv: list[str], env: dict[str, str], cwd: Path,
           pass_fds: list[int]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=cwd, env=env, start_new_session=True,
                            close_fds=True, pass_fds=pass_fds)


def _collect(proc: subprocess.Popen[bytes], result_fd: int, limits: Limits, started: float,
             init: int | None) -> tuple[str | None, str | None, bytes, bytes, bytes]:
    """Read output and result until the block ends, overruns or floods; kill its group.

    Returns (status or None, limit, stdout, stderr, result bytes).
    """
    import selectors

    assert proc.stdout is not None and proc.stderr is not None
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    buffers = {out_fd: bytearray(), err_fd: bytearray(), result_fd: bytearray()}
    status: str | None = None
    limit: str | None = None
    deadline = started + limits.timeout_seconds
    with selectors.DefaultSelector() as sel:
        for fd in buffers:
            os.set_blocking(fd, False)
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                status = TIMEOUT
                break
            for key, _ in sel.select(min(left, 0.5)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                buffers[key.fd] += chunk
                if key.fd == result_fd:
                    if len(buffers[result_fd]) > MAX_RESULT_BYTES:
                        buffers[result_fd].clear()
                        sel.unregister(key.fd)
                elif len(buffers[out_fd]) + len(buffers[err_fd]) > limits.max_output_bytes:
                    status, limit = LIMIT, "output"
                    break
            if status:
                break
    if status is None:
        # the pipes closed: wait for the leader without reaping it, so that its
        # process-group id cannot be reused before the group is killed
        end = time.monotonic() + max(deadline - time.monotonic(), 0.01)
        while proc.poll() is None and time.monotonic() < end:
            time.sleep(0.002)
        if proc.returncode is None:
            status = TIMEOUT
    if init is not None:
        _end_sandbox(init)
    _kill_group(proc.pid)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()
    os.close(result_fd)
    return (status, limit, bytes(buffers[out_fd]), bytes(buffers[err_fd]),
            bytes(buffers[result_fd]))


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


_LIMIT_NAMES = ("memory", "cpu", "output", "file size", "processes")
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160)) if chr(c) not in "\n\t"}


def printable(text: str) -> str:
    """``text`` with control characters (terminal escapes) shown as ``\\xNN``."""
    return text.translate(_CONTROL)


def _text_field(value: object, cap: int = 4000) -> str | None:
    return printable(value[:cap]) if isinstance(value, str) else None


def _vault_files(paths: object, vault: str | None) -> list[str]:
    """The reported reads that are regular files in the vault (the report is the block's
    word: the parent hashes these files, so nothing else may be named)."""
    import stat

    if vault is None or not isinstance(paths, list):
        return []
    prefix = vault.rstrip("/") + "/"
    hidden = tuple(prefix + name + "/" for name in (".git", ".veriwiki"))
    out = []
    for p in paths[:1000]:
        if not isinstance(p, str) or not p.startswith(prefix) or p.startswith(hidden):
            continue
        real = os.path.realpath(p)
        try:
            if real == p and stat.S_ISREG(os.stat(real).st_mode):
                out.append(p)
        except (OSError, ValueError):
            continue
    return out


def _read_child_result(res: SandboxResult, raw: bytes, code: int | None,
                       limits: Limits, vault: str | None = None) -> None:
    """Fill ``res`` from the child's JSON report, which the block could have forged: every
    field is checked, texts lose control characters, reads are limited to vault files."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("status") in (OK, FAILED, LIMIT):
        res.status = data["status"]
        res.exc_type = _text_field(data.get("exc_type"), 200)
        res.exc_message = _text_field(data.get("exc_message"))
        line = data.get("line")
        res.line = line if type(line) is int and 0 < line < 10**7 else None
        res.limit = data.get("limit") if data.get("limit") in _LIMIT_NAMES else None
        trace = data.get("traceback")
        res.traceback = [printable(t[:2000]) for t in trace[:12] if isinstance(t, str)] if (
            isinstance(trace, list)) else []
        res.reads = _vault_files(data.get("reads"), vault)
        if res.limit == "memory":
            res.exc_message = f"needed more than {limits.memory_mb} MiB of memory"
        return
    if code is not None and code < 0 and -code in (signal.SIGXCPU, signal.SIGKILL):
        res.status, res.limit = LIMIT, "cpu"
        res.exc_message = f"used more than {limits.cpu_seconds} s of CPU time"
        return
    res.status = FAILED
    res.exc_type = "SandboxError"
    res.exc_message = f"the block's process ended abnormally (exit status {code})"
