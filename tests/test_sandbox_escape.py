"""Sandbox escape suite: hostile ``python check`` blocks against the real sandbox.

Every attack runs through :func:`run_block` inside bubblewrap twice: with the audit
hook (what users get) and without it (the OS isolation alone, as if the block had
found yet another way around the hook). After each run the test asserts that nothing
escaped: the vault (``.git`` included) and a folder outside it are byte-for-byte
unchanged, no connection reached the loopback servers the test opened, no process the
block tried to start is alive, a host process it tried to kill is alive, and no secret
appears in anything the block reported.

bubblewrap must be installed (CI installs it): without it these tests fail, they do
not skip. ``test_escape_suite_catches_escapes_without_isolation`` shows that the
assertions fail when blocks run without isolation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from veriwiki.adapters.isolation import (
    BWRAP,
    UNISOLATED,
    Isolation,
    SandboxPolicy,
    choose_isolation,
)
from veriwiki.adapters.sandbox import Limits, SandboxResult, run_block

LIMITS = Limits(timeout_seconds=4, cpu_seconds=4, memory_mb=256)
PYTHON = os.path.realpath(sys.executable)


@pytest.fixture(scope="module")
def isolation() -> Isolation:
    """bubblewrap, or a failure saying how to get it."""
    iso = choose_isolation(SandboxPolicy())
    if iso.mode != BWRAP:
        pytest.fail(f"the sandbox escape suite needs a working bubblewrap: {iso.problem}. "
                    "Install it (Debian/Ubuntu: apt-get install bubblewrap) and allow user "
                    "namespaces; these tests do not skip.")
    return iso


@dataclass
class World:
    """A vault, a folder outside it, loopback servers and a host process to protect."""

    vault: Path
    outside: Path
    drop: Path
    secret: str
    secret_name: str
    token: str
    tcp: socket.socket
    unix: socket.socket
    unix_path: Path
    victim: subprocess.Popen[bytes]

    def snapshot(self) -> dict[str, tuple[str, str]]:
        """Every entry under the vault and the outside folder: kind, mode and content."""
        out: dict[str, tuple[str, str]] = {}
        for top in (self.vault, self.outside):
            for dirpath, dirnames, filenames in os.walk(top):
                for name in dirnames + filenames:
                    path = os.path.join(dirpath, name)
                    st = os.lstat(path)
                    if os.path.islink(path):
                        out[path] = ("link", os.readlink(path))
                    elif os.path.isfile(path):
                        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                        out[path] = (f"file {st.st_mode:o}", digest)
                    else:
                        out[path] = (f"other {st.st_mode:o}", "")
        return out

    def values(self) -> dict[str, str]:
        """What attack code may use: paths, ports, the token, pids."""
        return {"VAULT": str(self.vault), "OUTSIDE": str(self.outside), "DROP": str(self.drop),
                "SECRET_PATH": str(self.outside / "secret.txt"), "TOKEN": self.token,
                "PORT": str(self.tcp.getsockname()[1]), "UNIX": str(self.unix_path),
                "PYTHON": PYTHON, "VICTIM": str(self.victim.pid), "HOST_PID": str(os.getpid())}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    vault = tmp_path / "vault"
    (vault / "wiki").mkdir(parents=True)
    (vault / "wiki" / "Page.md").write_text("# Page\n", encoding="utf-8")
    (vault / "veriwiki.toml").write_text("[vault]\nname = \"v\"\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(vault)], check=True)
    secret = "s3cret-" + uuid.uuid4().hex
    with (vault / ".git" / "config").open("a", encoding="utf-8") as fh:
        fh.write(f"[http]\n\textraheader = AUTHORIZATION: basic {secret}\n")
    cache = vault / ".veriwiki" / "code-cache" / "ab"
    cache.mkdir(parents=True)
    (cache / "ab.json").write_text("{}", encoding="utf-8")
    outside = tmp_path / "outside"
    drop = outside / "drop"
    drop.mkdir(parents=True)
    (outside / "secret.txt").write_text(secret, encoding="utf-8")
    secret_name = f"listed-only-{uuid.uuid4().hex[:8]}"  # found only by listing the folder
    (outside / secret_name).mkdir()
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    tcp.setblocking(False)
    unix_path = vault / "wiki" / "s.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(unix_path))
    unix.listen(8)
    unix.setblocking(False)
    victim = subprocess.Popen(["sleep", "120"])
    try:
        yield World(vault, outside, drop, secret, secret_name, uuid.uuid4().hex, tcp, unix,
                    unix_path, victim)
    finally:
        tcp.close()
        unix.close()
        victim.kill()
        victim.wait()
        for pid in _processes_with(b"veriwiki-escape"):
            os.kill(pid, signal.SIGKILL)


def _processes_with(marker: bytes) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def _host_markers() -> list[str]:
    """Host-only text a block must never print: /etc/shadow's first line, the command
    line of this test process (e.g. ".venv/bin/python -m")."""
    markers = []
    with contextlib.suppress(OSError, IndexError):
        markers.append(Path("/etc/shadow").read_text(encoding="utf-8").splitlines()[0])
    argv = Path(f"/proc/{os.getpid()}/cmdline").read_bytes().split(b"\0")
    markers.append(" ".join(a.decode("utf-8", "replace") for a in argv[:2]))
    return [m for m in markers if len(m) > 4]


def escapes(world: World, before: dict[str, tuple[str, str]], result: SandboxResult
            ) -> list[str]:
    """What got out, in words (empty when nothing did)."""
    found = []
    after = world.snapshot()
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            found.append(f"changed on the host: {path} {before.get(path)} -> {after.get(path)}")
    for server, what in ((world.tcp, "TCP"), (world.unix, "UNIX")):
        try:
            conn, _ = server.accept()
            conn.close()
            found.append(f"a {what} connection reached the test's loopback server")
        except BlockingIOError:
            pass
    left = _processes_with(world.token.encode())
    if left:
        found.append(f"processes the block started are still running: {left}")
    if world.victim.poll() is not None:
        found.append("the block killed a host process")
    reported = "\n".join([result.stdout, result.stderr, result.exc_message or "",
                          *result.traceback])
    for text in (world.secret, world.secret_name, "MKNOD-OK", "PTRACE-OK", "SPAWN-OK",
                 "SYSCTL-WRITTEN", "SYSRQ-OPENED",
                 *_host_markers()):
        if text in reported:
            found.append(f"the block reported host data: {text!r}")
    return found


# Attack blocks. {NAME} fields are filled from World.values(). Each prints what worked.
LOAD = '''
import importlib.machinery, importlib.util, os, sys
def load(name):
    """An extension module loaded again under another name (dodges import checks)."""
    spec = importlib.machinery.PathFinder.find_spec(name)
    alias = importlib.util.spec_from_file_location("alias." + name, spec.origin)
    mod = importlib.util.module_from_spec(alias)
    alias.loader.exec_module(mod)
    return mod
def attempt(label, fn):
    try:
        print(label, "->", fn())
    except BaseException as exc:
        print(label, "failed:", type(exc).__name__, exc)
SLEEPER = ["{PYTHON}", "-c", "import time; time.sleep(60)", "veriwiki-escape", "{TOKEN}"]
'''

ATTACKS = {
    "reloaded-posixsubprocess": '''
ps = load("_posixsubprocess")
def spawn(argv):
    err_r, err_w = os.pipe()
    args = [argv, [os.fsencode(argv[0])], True, (), None, None, -1, -1, -1, -1, -1, -1,
            err_r, err_w, False, True, -1, None, None, None, -1, None]
    try:
        return ps.fork_exec(*args, False)  # 3.11.4+: allow_vfork
    except TypeError:
        return ps.fork_exec(*args)
attempt("shell", lambda: spawn(["/bin/sh", "-c",
        "cat /etc/shadow {SECRET_PATH}; echo pwned > {VAULT}/wiki/pwned.md; "
        "echo x > {DROP}/x; echo SPAWN-OK"]))
attempt("sleeper", lambda: spawn(SLEEPER))
import time; time.sleep(0.5)
''',
    "ctypes-fork-and-clone": '''
sys.modules["_ctypes"] = load("_ctypes")
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def child_exec():
    os.execv(SLEEPER[0], SLEEPER)
for label, call in (("fork", libc.fork), ("vfork", lambda: libc.syscall(58)),
                    ("clone", lambda: libc.syscall(56, 17, 0, 0, 0, 0))):
    pid = call()
    if pid == 0:
        child_exec()
    print(label, pid, ctypes.get_errno())
''',
    "posix-spawn-and-fork": '''
attempt("posix_spawn", lambda: os.posix_spawn(SLEEPER[0], SLEEPER, {{}}, setsid=True))
def forked():
    pid = os.fork()
    if pid == 0:
        os.setsid()
        os.execv(SLEEPER[0], SLEEPER)
    return pid
attempt("fork", forked)
''',
    "exec-outlives-the-kill": '''
os.execv(SLEEPER[0], SLEEPER)
''',
    "fork-bomb": '''
sys.modules["_ctypes"] = load("_ctypes")
import ctypes
libc = ctypes.CDLL(None)
made = 0
for _ in range(200):
    pid = libc.fork()
    if pid == 0:
        os.execv(SLEEPER[0], SLEEPER)
    made += pid > 0
print("forked", made)
''',
    "read-host-secrets": '''
for path in ("/etc/shadow", "/etc/passwd", "{SECRET_PATH}", "{VAULT}/.git/config",
             "/proc/1/environ", "/proc/{HOST_PID}/cmdline", "/proc/{HOST_PID}/environ"):
    attempt(path, lambda: open(path, "rb").read()[:400])
''',
    "dir-fd-and-opener-writes": '''
def via_dir_fd(folder, name, data):
    d = os.open(folder, os.O_RDONLY)
    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, dir_fd=d)
    return os.write(fd, data)
attempt("wiki", lambda: via_dir_fd("{VAULT}/wiki", "pwned.md", b"pwned"))
attempt("page", lambda: via_dir_fd("{VAULT}/wiki", "Page.md", b"pwned"))
attempt("hook", lambda: via_dir_fd("{VAULT}/.git/hooks", "pre-commit", b"#!/bin/sh\\nid\\n"))
attempt("config", lambda: via_dir_fd("{VAULT}", "veriwiki.toml", b"[sandbox]\\n"))
attempt("cache", lambda: via_dir_fd("{VAULT}/.veriwiki/code-cache/ab", "ab.json", b"{{}}"))
d = os.open("{VAULT}/wiki", os.O_RDONLY)
attempt("opener", lambda: open("opened.md", "w",
        opener=lambda p, f: os.open(p, f, dir_fd=d)).write("pwned"))
attempt("rename", lambda: os.rename("Page.md", "Moved.md", src_dir_fd=d, dst_dir_fd=d))
attempt("unlink", lambda: os.unlink("Page.md", dir_fd=d))
''',
    "patched-hook-helpers": '''
import posixpath
work = os.getcwd()
posixpath.abspath = lambda p: work + "/harmless"
os.path.abspath = posixpath.abspath
attempt("write", lambda: open("{VAULT}/wiki/Page.md", "w").write("pwned"))
attempt("read", lambda: open("{SECRET_PATH}").read())
attempt("drop", lambda: open("{DROP}/x", "w").write("x"))
''',
    "sqlite-attach-and-uri": '''
import sqlite3
def attach(path):
    db = sqlite3.connect(":memory:")
    db.execute(f"ATTACH DATABASE '{{path}}' AS x")
    db.execute("CREATE TABLE x.t(a)")
    db.commit()
    return "attached"
attempt("attach wiki", lambda: attach("{VAULT}/wiki/evil.db"))
attempt("attach outside", lambda: attach("{DROP}/evil.db"))
def uri(path):
    db = sqlite3.connect(f"file:{{path}}?mode=rwc", uri=True)
    db.execute("CREATE TABLE t(a)")
    db.commit()
    return "created"
attempt("uri wiki", lambda: uri("{VAULT}/wiki/evil2.db"))
attempt("uri outside", lambda: uri("{DROP}/evil2.db"))
''',
    "chdir-then-listdir": '''
for folder in ("{OUTSIDE}", "/root", "/etc", "/home"):
    def listing(folder=folder):
        os.chdir(folder)
        return os.listdir()
    attempt(folder, listing)
''',
    "mknod-devices": '''
import stat
dev = os.stat("{VAULT}").st_dev
for label, path, mode, device in (
        ("mem", "mem", stat.S_IFCHR, os.makedev(1, 1)),
        ("disk", "disk", stat.S_IFBLK, dev),
        ("in vault", "{VAULT}/wiki/null", stat.S_IFCHR, os.makedev(1, 3))):
    def make(path=path, mode=mode, device=device):
        os.mknod(path, 0o600 | mode, device)
        with open(path, "rb") as fh:
            fh.read(16)
        return "MKNOD-OK"
    attempt(label, make)
''',
    "loopback-sockets": '''
import socket
attempt("tcp", lambda: socket.create_connection(("127.0.0.1", {PORT}), timeout=1))
def unix():
    s = socket.socket(socket.AF_UNIX)
    s.connect("{UNIX}")
    return "connected"
attempt("unix", unix)
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
        b"x", ("127.0.0.1", {PORT})))
''',
    "proc-and-signals": '''
def every_cmdline():
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                out.append(open(f"/proc/{{name}}/cmdline", "rb").read().replace(b"\\0", b" "))
            except OSError:
                pass
    return out
attempt("processes", every_cmdline)
attempt("kill victim", lambda: os.kill({VICTIM}, 9))
attempt("kill host", lambda: os.kill({HOST_PID}, 0))
''',
    "ptrace-host": '''
sys.modules["_ctypes"] = load("_ctypes")
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
def ptrace():
    if libc.ptrace(16, {VICTIM}, 0, 0) == 0:  # PTRACE_ATTACH
        return "PTRACE-OK"
    return ctypes.get_errno()
attempt("ptrace", ptrace)
attempt("mem", lambda: open("/proc/{VICTIM}/mem", "rb").read(1) and "PTRACE-OK")
''',
    "kernel-settings-via-proc": '''
def same_value(path):
    value = open(path).read()
    with open(path, "w") as fh:
        fh.write(value)  # the value it had: harmless if it gets through
    return "SYSCTL-WRITTEN"
for path in ("/proc/sys/kernel/core_pattern", "/proc/sys/vm/overcommit_memory"):
    attempt(path, lambda: same_value(path))
def sysrq():
    os.close(os.open("/proc/sysrq-trigger", os.O_WRONLY))  # opened, never written
    return "SYSRQ-OPENED"
attempt("sysrq", sysrq)
''',
    "symlinks-out": '''
attempt("in vault", lambda: os.symlink("/etc/shadow", "{VAULT}/wiki/link.md"))
attempt("outside", lambda: os.symlink("/etc/shadow", "{DROP}/link"))
attempt("local", lambda: os.symlink("/etc/shadow", "link") or open("link").read())
''',
}


def _code(name: str, world: World) -> str:
    return (LOAD + ATTACKS[name]).format(**world.values())


@pytest.mark.parametrize("hook", [True, False], ids=["with-audit-hook", "os-layer-only"])
@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_escape_blocked(name: str, hook: bool, world: World, isolation: Isolation) -> None:
    before = world.snapshot()
    started = time.monotonic()
    result = run_block(_code(name, world), LIMITS, vault_root=world.vault,
                       isolation=isolation, audit_hook=hook)
    assert time.monotonic() - started < LIMITS.timeout_seconds + 10, "the run was not bounded"
    assert escapes(world, before, result) == [], result


def test_escape_sandbox_still_runs_honest_blocks(world: World, isolation: Isolation) -> None:
    """The isolation keeps what blocks legitimately do: read the vault, use their folder,
    threads, imports from the environment."""
    code = (f"import os, threading, json, sqlite3\n"
            f"print(open({str(world.vault / 'wiki' / 'Page.md')!r}).read().strip())\n"
            f"open('scratch.txt', 'w').write('ok')\nprint(open('scratch.txt').read())\n"
            f"t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()\n"
            f"db = sqlite3.connect('local.db'); db.execute('create table t(a)')\n"
            f"import pydantic\nprint(os.getcwd(), os.environ['VERIWIKI_VAULT'] != '')\n")
    r = run_block(code, LIMITS, vault_root=world.vault, isolation=isolation)
    assert (r.status, r.stdout) == ("ok", "# Page\nok\nthread\n/tmp/work True\n"), r
    assert r.reads == [str(world.vault / "wiki" / "Page.md")]


@pytest.mark.parametrize(("name", "hook"), [
    ("reloaded-posixsubprocess", True), ("dir-fd-and-opener-writes", True),
    ("sqlite-attach-and-uri", True), ("chdir-then-listdir", True),
    ("posix-spawn-and-fork", False)])
def test_escape_suite_catches_escapes_without_isolation(name: str, hook: bool,
                                                        world: World) -> None:
    """Without bubblewrap the same attacks get out (the first four past the audit hook,
    as issue 9 found), and the suite's checks say so: the assertions above can fail."""
    before = world.snapshot()
    result = run_block(_code(name, world), LIMITS, vault_root=world.vault,
                       isolation=Isolation(UNISOLATED), audit_hook=hook)
    assert escapes(world, before, result) != [], result


def test_escape_forged_result_report_is_checked(world: World, isolation: Isolation,
                                                tmp_path: Path) -> None:
    """A block can write its own report; the parent trusts none of it blindly: reads are
    limited to vault files (it hashes them: /dev/zero would hang it), texts lose terminal
    escapes, a line that is not a number is dropped."""
    from veriwiki.core.parse import parse_page
    from veriwiki.services.code_checks import run_check_blocks

    forged = {"status": "failed", "exc_type": "X\x1b[2J", "line": "9",
              "exc_message": "\x1b]0;pwned\x07 \x1b[31mred",
              "traceback": ["\x1b[1A", 7], "limit": "everything",
              "reads": ["/dev/zero", "/etc/shadow", f"{world.vault}/.git/config",
                        f"{world.vault}/wiki/../../outside/secret.txt",
                        f"{world.vault}/wiki/Page.md"]}
    code = ("import json, os, stat\n"
            f"report = json.dumps({forged!r}).encode()\n"
            "for fd in range(3, 64):\n"
            "    try:\n"
            "        fifo = stat.S_ISFIFO(os.fstat(fd).st_mode)\n"
            "    except OSError:\n"
            "        continue\n"
            "    if fifo:\n"
            "        os.write(fd, report)\n"
            "        os._exit(0)\n")
    page = parse_page("wiki/a.md", f"```python check\n{code}```\n")
    state = tmp_path / "state"
    started = time.monotonic()
    [out] = run_check_blocks(world.vault, state, [page], [], LIMITS, isolation=isolation)
    assert time.monotonic() - started < 30
    r = out.result
    assert r.status == "failed" and r.exc_message is not None, r
    assert "\x1b" not in r.exc_message + (r.exc_type or "") + "".join(r.traceback)
    assert "\\x1b" in r.exc_message  # shown, not interpreted
    assert (r.line, r.limit) == (None, None)
    assert r.reads == [str(world.vault / "wiki" / "Page.md")]
    [entry] = list((state / "code-cache").rglob("*.json"))
    assert "/dev/zero" not in entry.read_text(encoding="utf-8")


def test_escape_sandbox_dies_with_veriwiki(world: World, isolation: Isolation) -> None:
    """``kill -9`` of the process running a block takes the whole sandbox with it."""
    sleeper = LOAD.format(**world.values()) + "os.execv(SLEEPER[0], SLEEPER)\n"
    runner = ("import sys\nfrom veriwiki.adapters.sandbox import Limits, run_block\n"
              "run_block(sys.stdin.read(), Limits(timeout_seconds=60, cpu_seconds=60),"
              " audit_hook=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", runner], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(sleeper.encode())
    proc.stdin.close()
    deadline = time.monotonic() + 20
    while not _processes_with(world.token.encode()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(world.token.encode()), "the block never started"
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 5
    while _processes_with(world.token.encode()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with(world.token.encode()) == []
