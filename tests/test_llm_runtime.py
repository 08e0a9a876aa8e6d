"""The embedded-model worker process: crashes and hangs become errors, not dead commands.

These tests drive :class:`EmbeddedRuntime` with small stand-in worker scripts that speak
the worker protocol and then die the way llama.cpp can (illegal instruction,
segmentation fault, the out-of-memory killer) or stop answering. The real worker on
the real model is exercised in test_llm_embedded.py.
"""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest

from veriwiki.adapters.llm_provider import resolve_threads
from veriwiki.adapters.llm_runtime import (
    EmbeddedRuntime,
    ModelCallError,
    ModelCrashError,
    auto_threads,
    available_cpus,
)
from veriwiki.errors import ConfigError

# A worker that loads nothing and answers "complete" according to the prompt text.
WORKER = textwrap.dedent('''
    import json, os, signal, sys, time
    out = os.fdopen(os.dup(1), "w")
    def answer(obj):
        out.write(json.dumps(obj) + "\\n"); out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] == "load":
            answer({"ok": True}); continue
        prompt = req["messages"][-1]["content"]
        sys.stderr.write("worker: got " + prompt + "\\n"); sys.stderr.flush()
        if prompt == "sigill":
            os.kill(os.getpid(), signal.SIGILL)
        elif prompt == "segv":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif prompt == "oom":
            os.kill(os.getpid(), signal.SIGKILL)
        elif prompt == "exit":
            sys.exit(3)
        elif prompt == "hang":
            time.sleep(60)
        elif prompt == "toolong":
            answer({"ok": False, "kind": "value", "error": "Requested tokens exceed context"})
        else:
            answer({"ok": True, "result": {"pid": os.getpid(), "choices": [
                {"message": {"content": "echo " + prompt}}], "usage": {}}})
''')


@pytest.fixture
def runtime(tmp_path: Path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    rt = EmbeddedRuntime("TestModel", "/nonexistent.gguf", n_ctx=512, threads=1, timeout=5,
                         argv=[sys.executable, str(script)])
    yield rt
    rt.close()


def ask(rt: EmbeddedRuntime, prompt: str) -> dict:
    return rt.chat([{"role": "user", "content": prompt}], temperature=0.0, max_tokens=8,
                   response_format=None)


def test_answers_come_back_in_order_from_one_worker(runtime: EmbeddedRuntime) -> None:
    first = ask(runtime, "a")
    second = ask(runtime, "b")
    assert first["choices"][0]["message"]["content"] == "echo a"
    assert second["choices"][0]["message"]["content"] == "echo b"
    assert first["pid"] == second["pid"] == runtime.pid


@pytest.mark.parametrize(("prompt", "words"), [
    ("sigill", ["illegal instruction", "SIGILL", "TestModel", "scripts/setup.sh",
                "Troubleshooting"]),
    ("segv", ["crashed", "SIGSEGV", "TestModel", "worker: got segv", "Troubleshooting"]),
    ("oom", ["killed", "SIGKILL", "out-of-memory", "context_tokens"]),
    ("exit", ["stopped (exit code 3)", "TestModel"]),
])
def test_a_dying_worker_is_an_error_that_says_what_to_do(runtime: EmbeddedRuntime,
                                                         prompt: str, words: list[str]) -> None:
    ask(runtime, "warm up")
    pid = runtime.pid
    with pytest.raises(ModelCrashError) as info:
        ask(runtime, prompt)
    text = f"{info.value} {info.value.hint}"
    for word in words:
        assert word in text, text
    assert info.value.exit_code == 2
    # the dead runtime does not restart and crash again; it repeats the diagnosis
    with pytest.raises(ModelCrashError) as again:
        ask(runtime, "hello")
    assert str(again.value) == str(info.value)
    assert runtime.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # type: ignore[arg-type]


def test_a_hung_worker_times_out_and_is_killed(runtime: EmbeddedRuntime) -> None:
    ask(runtime, "warm up")
    pid = runtime.pid
    assert pid is not None
    start = time.monotonic()
    with pytest.raises(ModelCrashError) as info:
        ask(runtime, "hang")
    assert time.monotonic() - start < 30
    assert "did not answer within 5 s" in str(info.value)
    assert "threads" in (info.value.hint or "")
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_python_level_failure_keeps_the_worker(runtime: EmbeddedRuntime) -> None:
    ask(runtime, "warm up")
    pid = runtime.pid
    with pytest.raises(ModelCallError) as info:
        ask(runtime, "toolong")
    assert not isinstance(info.value, ModelCrashError)
    assert "context_tokens" in (info.value.hint or "")
    assert ask(runtime, "again")["pid"] == pid


def test_a_missing_worker_program_is_reported(tmp_path: Path) -> None:
    rt = EmbeddedRuntime("TestModel", "/x.gguf", n_ctx=512, threads=1, timeout=5,
                         argv=[sys.executable, str(tmp_path / "missing.py")])
    with pytest.raises(ModelCrashError) as info:
        ask(rt, "x")
    assert "exit code 2" in str(info.value) and "missing.py" in str(info.value)


def test_the_worker_does_not_get_the_terminal_interrupt(runtime: EmbeddedRuntime) -> None:
    ask(runtime, "warm up")
    assert runtime.pid is not None
    assert os.getpgid(runtime.pid) == runtime.pid  # its own group: Ctrl-C reaches veriwiki
    runtime.close()
    assert runtime.pid is None


def test_threads_come_from_env_then_config_then_half_the_cpus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERIWIKI_LLM_THREADS", raising=False)
    assert resolve_threads(None) == auto_threads() == max(1, available_cpus() // 2)
    assert resolve_threads(3) == 3
    monkeypatch.setenv("VERIWIKI_LLM_THREADS", "2")
    assert resolve_threads(3) == 2
    for bad in ("zero", "0", "-1"):
        monkeypatch.setenv("VERIWIKI_LLM_THREADS", bad)
        with pytest.raises(ConfigError) as info:
            resolve_threads(None)
        assert "VERIWIKI_LLM_THREADS" in str(info.value)


def test_signal_names_cover_the_common_native_deaths() -> None:
    from veriwiki.adapters.llm_runtime import crash_message

    assert "illegal instruction" in crash_message("M", -signal.SIGILL, "")[0]
    assert "SIGBUS" in crash_message("M", -signal.SIGBUS, "")[0]
    assert "SIGABRT" in crash_message("M", -signal.SIGABRT, "boom")[0]
    assert "boom" in crash_message("M", -signal.SIGABRT, "boom")[0]
