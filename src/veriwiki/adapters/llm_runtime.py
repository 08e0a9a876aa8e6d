"""One embedded-model worker process per model: a queue, a timeout, and crashes as errors.

The embedded GGUF model runs in ``adapters/llm_worker.py``, a child process. Calls from
any thread of this process are serialised on one lock (the queue); each waits at most
``timeout`` seconds. When the worker dies — an illegal instruction, a segmentation
fault, the out-of-memory killer — the caller gets a :class:`ModelCrashError` that says
what happened, which model, and what to do, and every later call on that runtime gets
the same error instead of a silent retry (a CPU that cannot run the library will not
learn to). Nothing is written to the vault by the worker, so a crash leaves no
half-written state: the operation that asked simply fails before it writes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from typing import IO, Any

from veriwiki.errors import VeriwikiError

TROUBLESHOOTING = "docs/llm.md, section 'Troubleshooting the embedded model'"
_MAX_LINE = 64 * 1024 * 1024


class ModelCallError(VeriwikiError):
    """The provider failed to answer (network, quota, context too long, ...)."""


class ModelCrashError(ModelCallError):
    """The process running a local model died or stopped answering."""


def available_cpus() -> int:
    """CPUs this process may run on (affinity and cgroup-agnostic count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def auto_threads() -> int:
    """Threads for llama.cpp when the user set none: half the CPUs, at least one.

    llama.cpp's workers wait for each other at every step; on a machine whose other
    cores are busy a thread that is not scheduled stalls them all (docs/llm.md, speed
    figures). Half the CPUs leaves room for the rest of the machine.
    """
    return max(1, available_cpus() // 2)


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def crash_message(model: str, returncode: int | None, log_tail: str) -> tuple[str, str]:
    """(message, hint) for a worker that ended with ``returncode``."""
    tail = f"; its last output: {log_tail.strip()[-300:]}" if log_tail.strip() else ""
    if returncode is not None and returncode < 0:
        sig = -returncode
        name = _signal_name(sig)
        if sig == signal.SIGILL:
            return (f"the embedded model {model} crashed: illegal instruction ({name}). "
                    "The compiled llama.cpp library uses a CPU instruction this machine "
                    "or its operating system does not allow",
                    "rebuild it for the portable baseline: rm -f .venv/veriwiki-llama-build "
                    "&& bash scripts/setup.sh (or reinstall llama-cpp-python with "
                    "CMAKE_ARGS=-DGGML_NATIVE=OFF), or use another model with --model; see "
                    + TROUBLESHOOTING)
        if sig == signal.SIGKILL:
            return (f"the embedded model {model} was killed ({name}), most often by the "
                    "out-of-memory killer",
                    "free memory or lower [llm] context_tokens in veriwiki.toml; see "
                    + TROUBLESHOOTING)
        return (f"the embedded model {model} crashed ({name}){tail}",
                "run again with VERIWIKI_DEBUG=1 and report it; meanwhile lower "
                "[llm] context_tokens or use another model with --model; see "
                + TROUBLESHOOTING)
    return (f"the embedded model {model} stopped (exit code {returncode}){tail}",
            "check that llama-cpp-python imports (.venv/bin/python -c 'import llama_cpp'); "
            "see " + TROUBLESHOOTING)


class EmbeddedRuntime:
    """A worker process running one GGUF model; thread-safe; started on first use."""

    def __init__(self, model: str, model_path: str, *, n_ctx: int, threads: int,
                 timeout: float = 300.0, argv: Sequence[str] | None = None) -> None:
        self.model = model
        self.model_path = model_path
        self.n_ctx = n_ctx
        self.threads = threads
        self.timeout = timeout
        self._argv = list(argv) if argv else [sys.executable, "-m",
                                              "veriwiki.adapters.llm_worker"]
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._buf = b""
        self._dead: ModelCrashError | None = None

    # -- process ------------------------------------------------------------------------

    def _start(self) -> subprocess.Popen[bytes]:
        from veriwiki.adapters.llm_cpu import baseline_cpu_problem

        problem = baseline_cpu_problem()
        if problem:
            raise self._die(f"cannot run the embedded model {self.model}: {problem}",
                            "compile it for this machine: VERIWIKI_LLAMA_BUILD=native bash "
                            "scripts/setup.sh, or use another model with --model; see "
                            + TROUBLESHOOTING)
        env = dict(os.environ)
        # OpenMP workers sleep when idle instead of spinning; spinning threads starve
        # each other (and everything else) on a busy machine.
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        env.setdefault("OMP_NUM_THREADS", str(self.threads))
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self._buf = b""
        proc = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=self._log, env=env, start_new_session=True)
        self._proc = proc
        self._request({"op": "load", "model_path": self.model_path, "n_ctx": self.n_ctx,
                       "n_threads": self.threads}, timeout=max(self.timeout, 120.0))
        return proc

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0, os.SEEK_END)
            size = self._log.tell()
            self._log.seek(max(0, size - 2000))
            return self._log.read().decode("utf-8", "replace")
        except OSError:  # pragma: no cover
            return ""

    def _die(self, message: str, hint: str) -> ModelCrashError:
        self._stop()
        self._dead = ModelCrashError(message, hint=hint)
        return self._dead

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        if proc is not None:
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()

    def close(self) -> None:
        """Stop the worker (it is started again on the next call)."""
        with self._lock:
            self._stop()
            if self._log is not None:
                self._log.close()
                self._log = None

    @property
    def pid(self) -> int | None:
        """The worker's process id, when one runs."""
        return self._proc.pid if self._proc is not None else None

    # -- protocol -----------------------------------------------------------------------

    def _readline(self, proc: subprocess.Popen[bytes], deadline: float) -> bytes | None:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b""
            self._buf += chunk
            if len(self._buf) > _MAX_LINE:
                raise self._die(f"the embedded model {self.model} sent an oversized reply",
                                "report it; see " + TROUBLESHOOTING)
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _request(self, payload: dict[str, Any], *, timeout: float) -> Any:
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(payload).encode("utf-8") + b"\n")
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # the worker is gone: read the exit status below
        line = self._readline(proc, time.monotonic() + timeout)
        if line is None:
            raise self._die(
                f"the embedded model {self.model} did not answer within {timeout:.0f} s",
                "the machine may be overloaded: raise [llm] timeout_seconds, or set "
                "[llm] threads / VERIWIKI_LLM_THREADS to 1; see " + TROUBLESHOOTING)
        if line == b"":
            code = proc.wait()
            message, hint = crash_message(self.model, code, self._log_tail())
            raise self._die(message, hint)
        reply = json.loads(line)
        if not reply.get("ok"):
            if reply.get("kind") == "value":
                raise ModelCallError(f"{self.model}: {reply.get('error')}",
                                     hint="lower [llm] passage_chars or raise "
                                          "context_tokens in veriwiki.toml")
            raise ModelCallError(f"{self.model} failed: {reply.get('error')}",
                                 hint="see " + TROUBLESHOOTING)
        return reply

    def chat(self, messages: list[dict[str, str]], *, temperature: float, max_tokens: int,
             response_format: dict[str, Any] | None) -> dict[str, Any]:
        """One chat completion (llama.cpp's OpenAI-shaped result)."""
        with self._lock:
            if self._dead is not None:
                raise ModelCrashError(self._dead.message, hint=self._dead.hint)
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            reply = self._request({"op": "complete", "messages": messages,
                                   "temperature": temperature, "max_tokens": max_tokens,
                                   "response_format": response_format},
                                  timeout=self.timeout)
            result: dict[str, Any] = reply["result"]
            return result


_RUNTIMES: dict[tuple[str, int, int, float], EmbeddedRuntime] = {}
_RUNTIMES_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    for runtime in list(_RUNTIMES.values()):
        runtime.close()


def shared_runtime(model: str, model_path: str, *, n_ctx: int, threads: int,
                   timeout: float) -> EmbeddedRuntime:
    """The process-wide runtime for these settings (one model instance per server)."""
    key = (model_path, n_ctx, threads, timeout)
    with _RUNTIMES_LOCK:
        runtime = _RUNTIMES.get(key)
        if runtime is None:
            runtime = _RUNTIMES[key] = EmbeddedRuntime(model, model_path, n_ctx=n_ctx,
                                                       threads=threads, timeout=timeout)
        return runtime
