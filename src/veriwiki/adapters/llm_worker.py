"""The process that runs the embedded GGUF model (``python -m veriwiki.adapters.llm_worker``).

llama.cpp is native code: an instruction the CPU or the operating system does not
allow, a segmentation fault or the out-of-memory killer ends the whole process. So the
model runs here, in a child of the veriwiki process, which turns such a death into an
error message (``adapters/llm_runtime.py``) and never half-writes anything.

Protocol: one JSON object per line. The parent writes requests to standard input; the
worker answers each on the file descriptor that was its standard output (fd 1 is then
pointed at standard error, so stray native prints cannot corrupt the answers).

- ``{"op": "load", "model_path": …, "n_ctx": …, "n_threads": …}`` → ``{"ok": true}``
- ``{"op": "complete", "messages": […], "temperature": …, "max_tokens": …,
  "response_format": … | null}`` → ``{"ok": true, "result": <chat completion>}``
- ``{"op": "ping"}`` → ``{"ok": true, "pid": …}``

A request that fails in Python answers ``{"ok": false, "kind": …, "error": …}`` and the
worker keeps serving; end of input ends the worker.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any


def _answer(out: Any, payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    out.flush()


def _serve(requests: Any, out: Any) -> None:
    llama: Any = None
    for line in requests:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "ping":
                _answer(out, {"ok": True, "pid": os.getpid()})
            elif op == "load":
                from llama_cpp import Llama

                n_threads = int(req["n_threads"])
                llama = Llama(model_path=str(req["model_path"]), n_ctx=int(req["n_ctx"]),
                              seed=0, n_threads=n_threads, n_threads_batch=n_threads,
                              verbose=False)
                _answer(out, {"ok": True})
            elif op == "complete":
                if llama is None:
                    raise RuntimeError("no model loaded")
                result = llama.create_chat_completion(
                    messages=req["messages"], temperature=float(req["temperature"]),
                    max_tokens=int(req["max_tokens"]),
                    response_format=req.get("response_format"), seed=0)
                _answer(out, {"ok": True, "result": result})
            else:
                _answer(out, {"ok": False, "kind": "protocol", "error": f"unknown op {op!r}"})
        except ValueError as exc:  # llama.cpp: prompt longer than the context, bad grammar
            _answer(out, {"ok": False, "kind": "value", "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            _answer(out, {"ok": False, "kind": type(exc).__name__, "error": str(exc)})


def main() -> None:
    """Serve requests until standard input closes."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # native code printing to stdout goes to the log, not the protocol
    sys.stdout = sys.stderr
    _serve(sys.stdin, out)


if __name__ == "__main__":
    main()
