"""Concurrency: two veriwiki processes writing one vault at once never corrupt it or lose
an edit; a writer that cannot get the lock in time says so and changes nothing.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from helpers_bad import (
    assert_no_traceback,
    cli_env,
    commit_all,
    commit_count,
    git,
    head,
    init_vault,
    set_vault_option,
    snapshot,
    status,
    vw,
    vw_cmd,
    vw_ok,
)

LOG_ENTRY = re.compile(r"^- \d{4}-\d\d-\d\d \d\d:\d\d \*\*(\w+)\*\* (.*)$", re.M)


def _writer_script(vault: Path, commands: list[list[str]]) -> subprocess.Popen[str]:
    """One process that runs ``commands`` one after another, stopping at the first failure.

    A shell loop keeps the two writers' runs overlapping for their whole length.
    """
    lines = ["set -e"]
    for args in commands:
        lines.append(" ".join(_quote(a) for a in vw_cmd(vault, *args)))
    return subprocess.Popen(["bash", "-c", "\n".join(lines)], env=cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\\''") + "'"


def _wait_all(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        out.append((p.returncode, stdout, stderr))
    return out


def _log_entries(vault: Path) -> list[tuple[str, str]]:
    return LOG_ENTRY.findall((vault / "wiki" / "log.md").read_text(encoding="utf-8"))


def _head_files(vault: Path) -> set[str]:
    return set(git(vault, "ls-tree", "-r", "--name-only", "HEAD").split("\n")) - {""}


def _assert_consistent(vault: Path) -> None:
    fsck = subprocess.run(["git", "-C", str(vault), "fsck", "--no-dangling", "--no-progress"],
                          capture_output=True, text=True, env=cli_env())
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert status(vault) == ""
    assert not (vault / ".git" / "index.lock").exists()
    assert not (vault / ".veriwiki" / "journal.json").exists()


def test_lock_two_writers_20_new_pages_all_committed(tmp_path: Path) -> None:
    vault = init_vault(tmp_path)
    start = commit_count(vault)
    a = [["new", f"Apple {i}"] for i in range(10)]
    b = [["new", f"Berry {i}"] for i in range(10)]

    results = _wait_all([_writer_script(vault, a), _writer_script(vault, b)])

    for rc, _, stderr in results:
        assert rc == 0, stderr
        assert "Traceback" not in stderr
    assert commit_count(vault) == start + 20
    subjects = git(vault, "log", f"-{20}", "--format=%s").splitlines()
    assert sorted(subjects) == sorted(
        [f"veriwiki: new | Apple {i}" for i in range(10)]
        + [f"veriwiki: new | Berry {i}" for i in range(10)])
    files = _head_files(vault)
    for i in range(10):
        assert f"wiki/Apple {i}.md" in files
        assert f"wiki/Berry {i}.md" in files
    entries = _log_entries(vault)
    news = sorted(subject for op, subject in entries if op == "new")
    assert news == sorted([f"Apple {i}" for i in range(10)] + [f"Berry {i}" for i in range(10)])
    index = (vault / "wiki" / "index.md").read_text(encoding="utf-8")
    for i in range(10):
        assert f"[[Apple {i}]]" in index and f"[[Berry {i}]]" in index
    # The two runs really overlapped: the commits of both writers interleave.
    order = [s.split("| ")[1].split()[0] for s in reversed(subjects)]
    switches = sum(1 for x, y in zip(order, order[1:], strict=False) if x != y)
    assert switches >= 2, f"writers did not overlap: {order}"
    _assert_consistent(vault)
    search = vw_ok(vault, "search", "Berry", "--json", "--limit", "50")
    assert search.stdout.count('"path": "wiki/Berry ') == 10


def test_lock_mv_racing_new_both_committed(tmp_path: Path) -> None:
    vault = init_vault(tmp_path)
    wiki = vault / "wiki"
    (wiki / "Alpha.md").write_text("# Alpha\n\nthe alpha page\n", encoding="utf-8")
    for i in range(30):
        (wiki / f"L{i:02d}.md").write_text(f"# L{i:02d}\n\nsee [[Alpha]] and [[Alpha#Alpha]]\n",
                                          encoding="utf-8")
    commit_all(vault, "user: pages")
    vw_ok(vault, "index")
    start = commit_count(vault)

    for round_ in range(3):
        src, dst = ("Alpha", "Omega") if round_ % 2 == 0 else ("Omega", "Alpha")
        procs = [subprocess.Popen(vw_cmd(vault, "mv", src, dst), env=cli_env(), text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE),
                 subprocess.Popen(vw_cmd(vault, "new", f"Racer {round_}"), env=cli_env(),
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)]
        for rc, _, stderr in _wait_all(procs):
            assert rc == 0, stderr
            assert "Traceback" not in stderr
        files = _head_files(vault)
        assert f"wiki/{dst}.md" in files and f"wiki/{src}.md" not in files
        assert f"wiki/Racer {round_}.md" in files
        for i in range(30):
            text = (wiki / f"L{i:02d}.md").read_text(encoding="utf-8")
            assert f"[[{dst}]]" in text and f"[[{src}]]" not in text, text
        _assert_consistent(vault)

    assert commit_count(vault) == start + 6
    ops = [op for op, _ in _log_entries(vault)]
    assert ops.count("mv") == 3 and ops.count("new") == 3
    check = vw(vault, "check", "--json")
    assert '"broken-link"' not in check.stdout


def test_lock_timeout_gives_up_with_message(tmp_path: Path) -> None:
    vault = init_vault(tmp_path)
    set_vault_option(vault, "lock_timeout = 0.5")
    commit_all(vault, "user: short lock timeout")
    vw_ok(vault, "index")
    before_head = head(vault)
    before_files = snapshot(vault)
    state = vault / ".veriwiki"
    state.mkdir(exist_ok=True)
    fd = os.open(state / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        t0 = time.monotonic()
        proc = vw(vault, "new", "Blocked")
        waited = time.monotonic() - t0
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "another veriwiki process is writing" in proc.stderr
    assert "0.5" in proc.stderr
    assert "hint:" in proc.stderr
    assert waited >= 0.5
    assert not (vault / "wiki" / "Blocked.md").exists()
    assert head(vault) == before_head
    assert status(vault) == ""
    assert snapshot(vault) == before_files
    # Once the lock is free the same command works.
    vw_ok(vault, "new", "Blocked")
    assert (vault / "wiki" / "Blocked.md").exists()


@pytest.mark.parametrize("args", [["mv", "Paris", "Lyon"], ["rm", "Paris"],
                                  ["revert", "Paris"]])
def test_lock_timeout_other_writes_change_nothing(tmp_path: Path, args: list[str]) -> None:
    vault = init_vault(tmp_path)
    set_vault_option(vault, "lock_timeout = 0.5")
    commit_all(vault, "user: short lock timeout")
    vw_ok(vault, "new", "Paris")
    (vault / "wiki" / "Paris.md").write_text("# Paris\n\nedited\n", encoding="utf-8")
    commit_all(vault, "user: edit Paris")
    vw_ok(vault, "index")
    before_head = head(vault)
    before_files = snapshot(vault)
    fd = os.open(vault / ".veriwiki" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = vw(vault, *args)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    assert_no_traceback(proc)
    assert proc.returncode == 2
    assert "another veriwiki process is writing" in proc.stderr
    assert head(vault) == before_head
    assert status(vault) == ""
    assert snapshot(vault) == before_files


def test_lock_waiting_writer_is_told_and_proceeds(tmp_path: Path) -> None:
    vault = init_vault(tmp_path)
    vw_ok(vault, "index")
    start = commit_count(vault)
    fd = os.open(vault / ".veriwiki" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = subprocess.Popen(vw_cmd(vault, "new", "Patient"), env=cli_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # wait until the writer says it is waiting (start-up is slow on a loaded machine)
        assert proc.stderr is not None
        told = proc.stderr.readline()
        assert "waiting for another veriwiki process" in told, told
        time.sleep(0.5)
        assert proc.poll() is None, "the writer did not wait for the lock"
        assert not (vault / "wiki" / "Patient.md").exists()
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    stdout, rest = proc.communicate(timeout=60)
    stderr = told + rest

    assert proc.returncode == 0, stderr
    assert "waiting for another veriwiki process" in stderr
    assert (vault / "wiki" / "Patient.md").exists()
    assert commit_count(vault) == start + 1
    assert status(vault) == ""
