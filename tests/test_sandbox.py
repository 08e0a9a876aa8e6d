"""The sandbox for ``python check`` blocks: results, limits, escape attempts, the cache.

Escape attempts run both straight through :func:`run_block` and through the real CLI
on a real vault (``tests/fixtures/code/``).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conftest import Veriwiki, describe
from veriwiki.adapters.isolation import UNISOLATED, Isolation
from veriwiki.adapters.sandbox import FAILED, LIMIT, OK, TIMEOUT, Limits, run_block
from veriwiki.core.block_output import output_diff
from veriwiki.core.parse import parse_page
from veriwiki.services.code_checks import (
    cache_key,
    check_blocks,
    facts_json,
    run_check_blocks,
)

FIXTURES = Path(__file__).parent / "fixtures" / "code"
FAST = Limits(timeout_seconds=10, cpu_seconds=5)  # generous: a loaded CI machine is slow
SPIN = Limits(timeout_seconds=1.5, cpu_seconds=5)  # for blocks that must time out


def _sandbox_pids() -> set[int]:
    """Processes started by the sandbox (their command line names child_main)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"child_main" in (entry / "cmdline").read_bytes():
                    pids.add(int(entry.name))
            except OSError:
                continue
    return pids


def _facts(*rows: tuple[str, str, str, str | None]) -> list[Any]:
    return [SimpleNamespace(entity=e, attribute=a, value=v, unit=u, source_id="llama2",
                            quote=f"{a} {v}", as_of=None) for e, a, v, u in rows]


# -- run_block --------------------------------------------------------------------------------


def test_run_block_ok_captures_output() -> None:
    r = run_block("print('hello')\nprint(2 + 2)", FAST)
    assert (r.status, r.stdout, r.exc_type) == (OK, "hello\n4\n", None)
    assert r.duration > 0


def test_run_block_failing_assert_reports_line() -> None:
    r = run_block("a = 1\n\nassert a == 2, 'a is not 2'\n", FAST)
    assert (r.status, r.exc_type, r.exc_message, r.line) == (FAILED, "AssertionError",
                                                             "a is not 2", 3)


def test_run_block_syntax_error_reports_line() -> None:
    r = run_block("x = 1\ny = (\n", FAST)
    assert (r.status, r.exc_type, r.line) == (FAILED, "SyntaxError", 2)


def test_run_block_timeout_kills_it() -> None:
    before = _sandbox_pids()
    r = run_block("while True:\n    pass\n", SPIN)
    assert r.status == TIMEOUT
    assert r.duration < 5
    assert _sandbox_pids() - before == set()


def test_run_block_memory_bomb_is_a_limit() -> None:
    r = run_block("x = bytearray(10**10)\n", FAST)
    assert (r.status, r.limit) == (LIMIT, "memory")


def test_run_block_cpu_limit() -> None:
    r = run_block("while True:\n    pass\n", Limits(timeout_seconds=10, cpu_seconds=1))
    assert (r.status, r.limit) == (LIMIT, "cpu")


@pytest.mark.parametrize("code", [
    "import os\nwhile True:\n    os.fork()\n",
    "import subprocess\nsubprocess.run(['ls'])\n",
    "import os\nos.system('true')\n",
    "import os\nos.posix_spawn('/bin/true', ['true'], {})\n",
    "import _posixsubprocess\n_posixsubprocess.fork_exec()\n",
    "import multiprocessing\nmultiprocessing.Process(target=print).start()\n",
    "import os\nos.execv('/bin/true', ['true'])\n",
    "import os, signal\nos.kill(os.getppid(), signal.SIGTERM)\n",
])
def test_run_block_processes_refused_and_none_left(code: str) -> None:
    before = _sandbox_pids()
    r = run_block(code, FAST)
    assert r.status == FAILED, r
    assert "refused by the sandbox" in (r.exc_message or ""), r
    assert _sandbox_pids() - before == set()


def test_run_block_ctypes_allowed_in_bubblewrap_but_fork_refused_by_the_kernel() -> None:
    before = _sandbox_pids()
    r = run_block("import ctypes\nprint(ctypes.CDLL(None).fork())\n", FAST)
    assert (r.status, r.stdout) == (OK, "-1\n"), r  # EPERM from the seccomp filter
    assert _sandbox_pids() - before == set()


def test_run_block_ctypes_refused_when_unisolated() -> None:
    r = run_block("import ctypes\n", FAST, isolation=Isolation(UNISOLATED))
    assert r.status == FAILED and "refused by the sandbox: importing ctypes" in (
        r.exc_message or ""), r


def test_run_block_fork_bomb_caught_in_a_loop_times_out_cleanly() -> None:
    before = _sandbox_pids()
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    r = run_block(code, SPIN)
    assert r.status == TIMEOUT
    assert _sandbox_pids() - before == set()


def test_run_block_network_refused() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        port = server.getsockname()[1]
        r = run_block(f"import socket\nsocket.create_connection(('127.0.0.1', {port}))\n", FAST)
        assert r.status == FAILED and "network" in (r.exc_message or ""), r
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever connected
    r = run_block("import socket\nsocket.getaddrinfo('example.com', 443)\n", FAST)
    assert r.status == FAILED and "socket.getaddrinfo" in (r.exc_message or ""), r


def test_run_block_writes_only_in_its_temp_dir(tmp_path: Path) -> None:
    vault = tmp_path / "v"
    page = vault / "wiki" / "x.md"
    page.parent.mkdir(parents=True)
    page.write_text("original\n", encoding="utf-8")
    code = (f"open({str(page)!r}, 'w').write('changed')\n")
    r = run_block(code, FAST, vault_root=vault)
    assert r.status == FAILED and "writing" in (r.exc_message or ""), r
    assert page.read_text(encoding="utf-8") == "original\n"
    for attempt in (f"import os\nos.remove({str(page)!r})\n",
                    f"import os\nos.rename({str(page)!r}, 'y.md')\n",
                    f"import os\nos.symlink({str(page)!r}, 'link')\n",
                    f"import os\nos.open({str(page)!r}, os.O_WRONLY | os.O_TRUNC)\n"):
        r = run_block(attempt, FAST, vault_root=vault)
        assert r.status == FAILED and "refused" in (r.exc_message or ""), (attempt, r)
    assert page.read_text(encoding="utf-8") == "original\n"
    # its own folder is writable, and the vault readable
    r = run_block(f"open('t.txt', 'w').write('ok')\nprint(open('t.txt').read())\n"
                  f"print(open({str(page)!r}).read().strip())\n", FAST, vault_root=vault)
    assert (r.status, r.stdout) == (OK, "ok\noriginal\n"), r


def test_run_block_reads_outside_vault_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cret", encoding="utf-8")
    vault = tmp_path / "v"
    vault.mkdir()
    (vault / "link").symlink_to(secret)
    for code in ("open('/etc/passwd').read()\n", f"open({str(secret)!r}).read()\n",
                 f"open({str(vault / 'link')!r}).read()\n", "import os\nos.listdir('/root')\n"):
        r = run_block(code, FAST, vault_root=vault)
        assert r.status == FAILED and "refused" in (r.exc_message or ""), (code, r)
        assert "s3cret" not in r.stdout + r.stderr


def test_run_block_environment_is_scrubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "hunter2")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    r = run_block("import os, sys\nprint(sorted(os.environ))\nprint(sys.stdin)\n", FAST)
    assert r.status == OK
    assert "AWS_SECRET" not in r.stdout and "PROXY" not in r.stdout.upper()


def test_run_block_output_flood_is_capped() -> None:
    limits = Limits(timeout_seconds=5, max_output_bytes=1000)
    r = run_block("print('x' * 10**8)\n", limits)
    assert (r.status, r.limit) == (LIMIT, "output")
    assert len(r.stdout) <= 1000


# -- facts ------------------------------------------------------------------------------------


def test_facts_api_through_a_block(tmp_path: Path) -> None:
    facts = _facts(("Llama 2 70B", "heads", "64", None), ("Llama 2 70B", "kv_heads", "8", None),
                   ("Llama 2 70B", "params", "70B", "parameters"),
                   ("Llama 2 70B", "position_encoding", "RoPE", None))
    page = parse_page("wiki/Llama 2.md", (
        "# KV cache\n\n```python check\nfrom veriwiki import facts\n"
        "ratio = facts.get('Llama 2 70B', 'heads') / facts.get('llama-2-70b', 'KV heads')\n"
        "assert ratio == 8, ratio\n"
        "print(int(ratio), facts.get('Llama 2 70B', 'params'),\n"
        "      facts.get('Llama 2 70B', 'position encoding'),\n"
        "      facts.fact('Llama 2 70B', 'heads').source, len(facts.all()))\n"
        "```\n\n```output\n8 70000000000 RoPE llama2 4\n```\n\n"
        "```python check\nfrom veriwiki import facts\nfacts.get('Llama 2 70B', 'depth')\n```\n"))
    out = run_check_blocks(tmp_path, tmp_path / ".veriwiki", [page], facts, FAST)
    assert out[0].result.status == OK, out[0].result
    assert output_diff(out[0].check.output.content if out[0].check.output else "",
                       out[0].result.stdout) is None
    err = out[1].result
    assert (err.status, err.exc_type, err.line) == (FAILED, "KeyError", 2)
    assert "heads" in (err.exc_message or "") and "depth" in (err.exc_message or "")


def test_facts_json_numbers() -> None:
    rows = json.loads(facts_json(_facts(("A", "ctx", "4096", "tokens"), ("A", "lr", "3e-4", None),
                                        ("A", "sched", "cosine to 10% of peak", None))))
    assert [r["number"] for r in rows] == [4096, 0.0003, None]


# -- cache ------------------------------------------------------------------------------------


def test_results_cached_by_content(tmp_path: Path) -> None:
    calls: list[str] = []

    def counting(code: str, limits: Limits, **kw: Any) -> Any:
        calls.append(code)
        return run_block(code, limits, **kw)

    page = parse_page("wiki/a.md", "```python check\nprint(1)\n```\n")
    state = tmp_path / ".veriwiki"
    facts = _facts(("A", "b", "1", None))
    first = run_check_blocks(tmp_path, state, [page], facts, FAST, runner=counting)
    assert len(calls) == 1 and not first[0].cached
    assert len(list((state / "code-cache").rglob("*.json"))) == 1
    second = run_check_blocks(tmp_path, state, [page], facts, FAST, runner=counting)
    assert len(calls) == 1 and second[0].cached and second[0].result.stdout == "1\n"
    # a changed fact, or changed limits, run it again
    run_check_blocks(tmp_path, state, [page], _facts(("A", "b", "2", None)), FAST,
                     runner=counting)
    run_check_blocks(tmp_path, state, [page], facts, Limits(timeout_seconds=2), runner=counting)
    assert len(calls) == 3
    assert cache_key("x", "h", FAST, "bwrap") != cache_key("x ", "h", FAST, "bwrap")
    # a result computed without isolation is never reused by a sandboxed run
    assert cache_key("x", "h", FAST, "none") != cache_key("x", "h", FAST, "bwrap")


def test_check_blocks_pairs_output_and_skips_plain_code() -> None:
    page = parse_page("wiki/b.md", (FIXTURES / "basic.md").read_text(encoding="utf-8"))
    found = check_blocks(page)
    assert [(c.block.line, c.output.line if c.output else None) for c in found] == [
        (5, 10), (16, None), (24, 29)]


# -- the real CLI -----------------------------------------------------------------------------


def _vault_with(vw: Veriwiki, vault: Path, name: str, text: str) -> None:
    (vault / "wiki" / name).write_text(text, encoding="utf-8")
    with (vault / "veriwiki.toml").open("a", encoding="utf-8") as fh:
        fh.write("\n[sandbox]\ntimeout_seconds = 3\nmax_output_bytes = 4096\n")


def _code_findings(vw: Veriwiki) -> list[dict[str, Any]]:
    args = ["check", "--json"]
    for r in ("code-failed", "code-timeout", "code-limit", "code-output"):
        args += ["--rule", r]
    proc = vw(*args)
    assert proc.returncode in (0, 1), describe(proc)
    return list(json.loads(proc.stdout)["findings"])


def test_cli_check_blocks_pass_fail_output(vw: Veriwiki, vault: Path) -> None:
    _vault_with(vw, vault, "Blocks.md", (FIXTURES / "basic.md").read_text(encoding="utf-8"))
    found = _code_findings(vw)
    got = sorted((f["line"], f["rule"]) for f in found)
    assert got == [(19, "code-failed"), (29, "code-output")], found
    failed = next(f for f in found if f["rule"] == "code-failed")
    assert "AssertionError: 3 != 4" in failed["message"]
    output = next(f for f in found if f["rule"] == "code-output")
    assert "-3" in output["message"] and "+2" in output["message"]
    assert list((vault / ".veriwiki" / "code-cache").rglob("*.json"))
    assert _code_findings(vw) == found  # the second run reads the cache, same answer


def test_cli_escape_attempts(vw: Veriwiki, vault: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.setblocking(False)
        text = (FIXTURES / "escapes.md").read_text(encoding="utf-8").replace(
            "{port}", str(server.getsockname()[1]))
        _vault_with(vw, vault, "Escapes.md", text)
        target = vault / "wiki" / "x.md"
        target.write_text("# X\n", encoding="utf-8")
        before = _sandbox_pids()
        found = _code_findings(vw)
        with pytest.raises(BlockingIOError):
            server.accept()
    assert target.read_text(encoding="utf-8") == "# X\n"
    assert _sandbox_pids() - before == set()
    page = parse_page("wiki/Escapes.md", text)
    fences = [c.block.line for c in check_blocks(page)]
    by_block = {}
    for f in found:
        assert f["path"] == "wiki/Escapes.md"
        block = max(i for i, line in enumerate(fences) if line <= f["line"])
        by_block[block] = (f["rule"], f["message"])
    expected = ["code-timeout", "code-limit", "code-failed", "code-failed", "code-failed",
                "code-failed", "code-failed", "code-failed", "code-limit"]
    assert [by_block[i][0] for i in range(len(fences))] == expected, found
    words = ["timed out", "memory", "processes", "network", "socket.getaddrinfo", "writing",
             "reading /etc/passwd", "processes", "output"]
    for i, word in enumerate(words):
        assert word in by_block[i][1], (i, by_block[i])
    assert os.getpgrp()  # this process was not killed


def test_cache_reruns_when_a_vault_file_read_changes(tmp_path: Path) -> None:
    data = tmp_path / "data" / "n.txt"
    data.parent.mkdir()
    data.write_text("1", encoding="utf-8")
    code = f"print(open({str(data)!r}).read())\n"
    page = parse_page("wiki/a.md", f"```python check\n{code}```\n")
    state = tmp_path / ".veriwiki"
    first = run_check_blocks(tmp_path, state, [page], [], FAST)
    assert first[0].result.reads == [str(data.resolve())]
    assert run_check_blocks(tmp_path, state, [page], [], FAST)[0].cached
    data.write_text("2", encoding="utf-8")
    again = run_check_blocks(tmp_path, state, [page], [], FAST)
    assert (again[0].cached, again[0].result.stdout) == (False, "2\n")
