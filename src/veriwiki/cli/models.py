"""Model helpers shared by the commands that call a language model (ingest, ask, check --llm)."""

from __future__ import annotations

import sys
from typing import Any

from rich.markup import escape

from veriwiki.cli.app import State, err, real_console


def open_model(state: State, role: str, override: str | None) -> Any:
    """The model for ``role`` (``--model``, env, veriwiki.toml, embedded default)."""
    from veriwiki.adapters.llm_provider import open_text_model
    from veriwiki.vault import model_for

    vault = state.vault
    model_id = model_for(vault, role, override)
    assert model_id is not None
    settings = vault.config.llm
    return open_text_model(model_id, context_tokens=settings.context_tokens,
                           threads=settings.threads, timeout=settings.timeout_seconds)


def new_meter(state: State, model: Any) -> Any:
    """A usage meter that knows the vault's prices and which models are local."""
    from veriwiki.ai.provider import Meter

    prices = {k: (float(v[0]), float(v[1])) for k, v in state.vault.config.llm.prices.items()}
    local = frozenset({model.model_id} if getattr(model, "local", False) else set())
    return Meter(prices=prices, local=local)


class _Progress:
    """A rich progress bar on stderr (only when stderr is a terminal)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        if self.bar is None:
            from rich.progress import Progress

            self.bar = Progress(console=real_console(err), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(escape(self.label), total=total)
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
