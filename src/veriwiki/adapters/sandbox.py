"""Run a ``python check`` block in a separate, limited process.

The parent (:func:`run_block`) starts ``python -I -S -B`` in a new session with a
scrubbed environment, stdin closed and a fresh temporary working directory; it reads
the output (cut at ``max_output_bytes``), enforces the wall clock and kills the whole
process group when the block ends or overruns. The child (:func:`child_main`) sets
RLIMIT_CPU, RLIMIT_AS, RLIMIT_NPROC, RLIMIT_FSIZE and RLIMIT_CORE, installs an audit
hook that refuses processes, sockets, ctypes, writes outside the working directory and
reads outside the vault / facts file / Python's own library, then runs the block.

Audit hooks are not a security boundary against a determined attacker (PEP 578); the
OS-level limits and the process-group kill hold regardless. See docs/check-blocks.md.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OK, FAILED, TIMEOUT, LIMIT = "ok", "failed", "timeout", "limit"
BLOCK_FILENAME = "<check>"
REFUSED = "refused by the sandbox"
SANDBOX_VERSION = 1  # bump when the child's behaviour changes (invalidates cached results)


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


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])  # the folder holding ``veriwiki/``


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
              facts_file: Path | None = None) -> SandboxResult:
    """Run ``code`` in the sandbox and report what happened (never raises for the block)."""
    import selectors
    import subprocess
    import tempfile

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="veriwiki-check-") as tmp:
        base = Path(tmp).resolve()
        work = base / "work"
        work.mkdir()
        result_path = base / "result.json"
        job = {
            "code": code, "work": str(work), "result": str(result_path),
            "sys_path": [_package_root(), *_library_paths()],
            "read": [str(Path(p).resolve()) for p in (vault_root, facts_file) if p],
            "vault": str(Path(vault_root).resolve()) if vault_root else None,
            "cpu": limits.cpu_seconds, "memory": limits.memory_mb * 1024 * 1024,
            "nproc": _pids_limit(limits.max_processes),
            "fsize": max(limits.memory_mb * 1024 * 1024, limits.max_output_bytes),
        }
        job_path = base / "job.json"
        job_path.write_text(json.dumps(job), encoding="utf-8")
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": str(work), "TMPDIR": str(work)}
        if vault_root is not None:
            env["VERIWIKI_VAULT"] = str(Path(vault_root).resolve())
        if facts_file is not None:
            env["VERIWIKI_FACTS_FILE"] = str(Path(facts_file).resolve())
        boot = ("import sys;sys.path[:0]=[sys.argv[2]];"
                "from veriwiki.adapters.sandbox import child_main;child_main(sys.argv[1])")
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", "-X", "utf8", "-c", boot, str(job_path),
             _package_root()],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=work, env=env, start_new_session=True, close_fds=True)
        buffers: dict[int, bytearray] = {}
        status: str | None = None
        limit: str | None = None
        deadline = started + limits.timeout_seconds
        assert proc.stdout is not None and proc.stderr is not None
        with selectors.DefaultSelector() as sel:
            for stream in (proc.stdout, proc.stderr):
                os.set_blocking(stream.fileno(), False)
                sel.register(stream, selectors.EVENT_READ)
                buffers[stream.fileno()] = bytearray()
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    status = TIMEOUT
                    break
                for key, _ in sel.select(min(left, 0.5)):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf = buffers[key.fd]
                    buf += chunk
                    if sum(len(b) for b in buffers.values()) > limits.max_output_bytes:
                        status, limit = LIMIT, "output"
                        break
                if status:
                    break
        if status is None:
            # the pipes closed: wait for the leader without reaping it, so that its
            # process-group id cannot be reused before the group is killed
            left = max(deadline - time.monotonic(), 0.01)
            end = time.monotonic() + left
            while proc.poll() is None and time.monotonic() < end:
                time.sleep(0.005)
            if proc.returncode is None:
                status = TIMEOUT
        _kill_group(proc.pid)
        proc.wait()
        out = bytes(buffers.get(proc.stdout.fileno(), b""))
        err = bytes(buffers.get(proc.stderr.fileno(), b""))
        proc.stdout.close()
        proc.stderr.close()
        cap = limits.max_output_bytes
        res = SandboxResult(status or FAILED, _text(out[:cap]), _text(err[:cap]),
                            limit=limit, duration=time.monotonic() - started)
        if status == TIMEOUT:
            res.exc_message = f"ran longer than {limits.timeout_seconds:g} s (wall clock)"
        elif status == LIMIT:
            res.exc_message = f"printed more than {cap} bytes"
        else:
            _read_child_result(res, result_path, proc.returncode, limits)
        return res


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _read_child_result(res: SandboxResult, path: Path, code: int | None,
                       limits: Limits) -> None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = None
    if isinstance(data, dict) and data.get("status") in (OK, FAILED, LIMIT):
        res.status = data["status"]
        res.exc_type = data.get("exc_type")
        res.exc_message = data.get("exc_message")
        res.line = data.get("line")
        res.limit = data.get("limit")
        res.traceback = list(data.get("traceback") or [])
        res.reads = [str(p) for p in data.get("reads") or []]
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


# -- the child side ----------------------------------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_PROCESS_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
    "subprocess.Popen", "pty.spawn", "os.kill", "os.killpg", "signal.pthread_kill",
    "resource.setrlimit", "resource.prlimit", "os.symlink", "os.link", "gc.get_objects",
    "gc.get_referrers", "gc.get_referents", "webbrowser.open", "os.startfile"})
_PATH_WRITE_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.rename", "os.mkdir", "os.chmod", "os.chown", "os.utime",
    "os.truncate", "os.setxattr", "os.removexattr", "os.chflags", "os.lchflags",
    "shutil.rmtree", "sqlite3.connect"})
_PATH_READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.getxattr",
                               "os.listxattr"})
_REFUSED_IMPORTS = frozenset({"_posixsubprocess", "ctypes", "_ctypes"})


def _install_guard(work: str, read_roots: tuple[str, ...], vault: str | None) -> list[str]:
    """Add the audit hook; return the list it fills with the vault files read.

    Everything the hook uses is bound here, not looked up later (a block could replace
    module attributes such as ``os.path.realpath``).
    """
    realpath, fspath, isinstance_, str_, bytes_ = (os.path.realpath, os.fspath, isinstance,
                                                   str, bytes)
    fsdecode, join, getcwd = os.fsdecode, os.path.join, os.getcwd
    write_flags, proc_events = _WRITE_FLAGS, _PROCESS_EVENTS
    path_writes, path_reads, bad_imports = _PATH_WRITE_EVENTS, _PATH_READ_EVENTS, _REFUSED_IMPORTS
    work_prefix = work.rstrip("/") + "/"
    read_prefixes = tuple(r.rstrip("/") + "/" for r in (work, *read_roots))
    allowed_files = frozenset({"/dev/null", "/dev/urandom"})
    refused = REFUSED
    vault_prefix = (vault.rstrip("/") + "/",) if vault else ()
    reads: list[str] = []
    append = reads.append

    def resolve(path: Any) -> str | None:
        if not isinstance_(path, (str_, bytes_)):
            try:
                path = fspath(path)
            except TypeError:
                return None
        text = fsdecode(path)
        if text == ":memory:":
            return text
        return realpath(join(getcwd(), text))

    def inside(real: str, prefixes: tuple[str, ...]) -> bool:
        return (real + "/").startswith(prefixes)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = (tuple(args) + (None, None, None))[:3]
            if isinstance_(path, int):
                return
            real = resolve(path)
            if real is None:
                return
            writing = ((isinstance_(mode, str_) and any(c in mode for c in "wax+"))
                       or (isinstance_(flags, int) and flags & write_flags))
            if writing:
                if not inside(real, (work_prefix,)):
                    raise PermissionError(f"{refused}: writing {real} (only the block's "
                                          "temporary folder is writable)")
            elif real not in allowed_files and not inside(real, read_prefixes):
                raise PermissionError(f"{refused}: reading {real} (outside the vault)")
            elif vault_prefix and inside(real, vault_prefix) and len(reads) < 1000:
                append(real)
        elif event.startswith("socket.") or event.startswith("urllib.") or event.startswith(
                "http."):
            raise PermissionError(f"{refused}: network access ({event})")
        elif event in proc_events or event.startswith("ctypes."):
            what = "processes" if event.startswith(("os.", "subprocess", "pty")) else event
            raise PermissionError(f"{refused}: {what} ({event})")
        elif event == "import" and args and args[0] in bad_imports:
            raise PermissionError(f"{refused}: importing {args[0]}")
        elif event in path_writes:
            for arg in args[:2]:
                if isinstance_(arg, int) or arg is None:
                    if event in ("os.rename", "os.mkdir", "os.rmdir", "os.remove"):
                        continue  # dir_fd arguments
                    raise PermissionError(f"{refused}: {event} on a file descriptor")
                real = resolve(arg)
                if real is not None and real != ":memory:" and not inside(real, (work_prefix,)):
                    raise PermissionError(f"{refused}: {event} {real} (outside the block's "
                                          "temporary folder)")
        elif event in path_reads and args:
            arg = args[0]
            if arg is None or isinstance_(arg, int):
                return
            real = resolve(arg if arg != "" else ".")
            if real is not None and not inside(real, read_prefixes):
                raise PermissionError(f"{refused}: listing {real} (outside the vault)")

    sys.addaudithook(hook)
    return reads


def _set_limits(job: dict[str, Any]) -> None:
    import resource

    def cap(which: int, value: int, hard_extra: int = 0) -> None:
        _, hard = resource.getrlimit(which)
        soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
        new_hard = soft + hard_extra
        if hard != resource.RLIM_INFINITY:
            new_hard = min(new_hard, hard)
        resource.setrlimit(which, (soft, new_hard))

    cap(resource.RLIMIT_CPU, int(job["cpu"]), 1)
    cap(resource.RLIMIT_AS, int(job["memory"]))
    cap(resource.RLIMIT_FSIZE, int(job["fsize"]))
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, int(job["nproc"]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the cap raise EFBIG instead


def child_main(job_path: str) -> None:
    """Entry point of the sandboxed process (run by :func:`run_block`)."""
    import traceback

    with open(job_path, encoding="utf-8") as fh:
        job = json.load(fh)
    for path in reversed(job["sys_path"]):
        if path not in sys.path:
            sys.path.insert(1, path)
    import _posixsubprocess  # preloaded so that the guard can take its fork_exec away

    def no_fork_exec(*_args: Any, **_kw: Any) -> Any:
        raise PermissionError(f"{REFUSED}: processes (fork_exec)")

    _posixsubprocess.fork_exec = no_fork_exec  # type: ignore[attr-defined]
    result = open(job["result"], "w", encoding="utf-8")  # noqa: SIM115 - kept across exec
    out: dict[str, Any] = {"status": OK}
    try:
        code = compile(job["code"], BLOCK_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        out.update(status=FAILED, exc_type="SyntaxError", exc_message=exc.msg, line=exc.lineno)
        code = None
    roots = tuple(job["read"]) + tuple(job["sys_path"])
    job_code = job.pop("code")
    _set_limits(job)
    reads = _install_guard(job["work"], roots, job.get("vault"))
    del job_code
    if code is not None:
        try:
            exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        except MemoryError:
            out.update(status=LIMIT, limit="memory", exc_type="MemoryError", exc_message="")
        except SystemExit as exc:
            if exc.code not in (None, 0):
                out.update(status=FAILED, exc_type="SystemExit", exc_message=str(exc.code),
                           line=_block_line(exc))
        except BaseException as exc:  # noqa: BLE001 - every failure of the block is reported
            limit = "file size" if isinstance(exc, OSError) and exc.errno == 27 else None
            out.update(status=LIMIT if limit else FAILED, limit=limit,
                       exc_type=type(exc).__name__,
                       exc_message=str(exc.args[0]) if isinstance(exc, KeyError) and exc.args
                       else str(exc),
                       line=_block_line(exc),
                       traceback=traceback.format_exception(exc)[-12:])
    out["reads"] = sorted(set(reads))
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        result.write(json.dumps(out))
        result.close()
    os._exit(0)


def _block_line(exc: BaseException) -> int | None:
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == BLOCK_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
