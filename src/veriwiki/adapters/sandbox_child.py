"""The side of the ``python check`` sandbox that runs inside the block's process.

:func:`child_main` (started by :func:`veriwiki.adapters.sandbox.run_block`) reads the
job, sets the resource limits, installs the audit hook and runs the block, then writes
the result as JSON to the descriptor the parent reads. It imports as little as it can:
it runs once per block.

The audit hook refuses processes, sockets, writes outside the working folder and reads
outside the vault, the facts file and Python's own library, and names what was
refused. Outside bubblewrap (``--trust``) it refuses ``ctypes`` too; inside, ``ctypes``
is allowed (numpy and pandas import it), since the kernel refuses what it could reach. It is the diagnostic layer: a block can reach around it (PEP 578 says
so), and the OS isolation of :mod:`veriwiki.adapters.isolation` is what holds.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

OK, FAILED, LIMIT = "ok", "failed", "limit"
BLOCK_FILENAME = "<check>"
REFUSED = "refused by the sandbox"

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


def _install_guard(work: str, read_roots: tuple[str, ...], vault: str | None,
                   allow_ctypes: bool = False) -> list[str]:
    """Add the audit hook; return the list it fills with the vault files read.

    Everything the hook uses is bound here, not looked up later (a block could replace
    module attributes such as ``os.path.realpath``).
    """
    realpath, fspath, isinstance_, str_, bytes_ = (os.path.realpath, os.fspath, isinstance,
                                                   str, bytes)
    fsdecode, join, getcwd = os.fsdecode, os.path.join, os.getcwd
    write_flags, proc_events = _WRITE_FLAGS, _PROCESS_EVENTS
    path_writes, path_reads = _PATH_WRITE_EVENTS, _PATH_READ_EVENTS
    bad_imports = _REFUSED_IMPORTS - {"ctypes", "_ctypes"} if allow_ctypes else _REFUSED_IMPORTS
    ctypes_events = "\0" if allow_ctypes else "ctypes."  # "\0" starts no event name
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
        elif event in proc_events or event.startswith(ctypes_events):
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
    result = os.fdopen(int(job["result_fd"]), "w", encoding="utf-8")
    out: dict[str, Any] = {"status": OK}
    try:
        code = compile(job["code"], BLOCK_FILENAME, "exec", dont_inherit=True)
    except SyntaxError as exc:
        out.update(status=FAILED, exc_type="SyntaxError", exc_message=exc.msg, line=exc.lineno)
        code = None
    roots = tuple(job["read"]) + tuple(job["sys_path"])
    job_code = job.pop("code")
    _set_limits(job)
    reads = (_install_guard(job["work"], roots, job.get("vault"), bool(job.get("isolated")))
             if job.get("hook", True) else [])
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
