"""The model interface the services use, and per-operation usage accounting."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

WRITER, JUDGE, EMBEDDER = "writer", "judge", "embedder"
ROLES = (WRITER, JUDGE, EMBEDDER)


@dataclass(frozen=True, slots=True)
class Completion:
    """One model reply: its text and what it cost (None where the provider does not say)."""

    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    seconds: float = 0.0


class TextModel(Protocol):
    """A chat/instruct model. ``schema`` is a JSON Schema the reply must follow.

    Providers that can constrain output to a schema do so; the others get the schema
    in the prompt, and :mod:`veriwiki.ai.structured` validates whatever comes back.
    """

    model_id: str

    def complete(self, prompt: str, *, system: str | None = None,
                 schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                 temperature: float = 0.0) -> Completion:
        """Reply to ``prompt`` (``temperature`` 0 means greedy, where the provider allows)."""
        ...


class EmbeddingModel(Protocol):
    """A model that maps texts to vectors."""

    model_id: str

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text."""
        ...


@dataclass
class RoleUsage:
    """Totals for one model in one role during one operation."""

    model: str
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    tokens_known: bool = True
    seconds: float = 0.0
    cost: float | None = 0.0

    def to_json(self) -> dict[str, Any]:
        """JSON form (tokens None when the provider did not report them)."""
        return {"model": self.model, "calls": self.calls,
                "input_tokens": self.input_tokens if self.tokens_known else None,
                "output_tokens": self.output_tokens if self.tokens_known else None,
                "seconds": round(self.seconds, 3),
                "cost_usd": None if self.cost is None else round(self.cost, 6)}


@dataclass
class Meter:
    """Counts calls, tokens, time and cost per role for one operation.

    ``prices`` maps a model id to (input, output) US dollars per million tokens; a
    model not listed has an unknown cost, except local models (cost 0).
    """

    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    local: frozenset[str] = frozenset()
    roles: dict[str, RoleUsage] = field(default_factory=dict)

    def record(self, role: str, model: str, done: Completion) -> None:
        """Add one reply's usage."""
        usage = self.roles.setdefault(role, RoleUsage(model))
        usage.calls += 1
        usage.seconds += done.seconds
        if done.input_tokens is None or done.output_tokens is None:
            usage.tokens_known = False
            usage.cost = None if model not in self.local else 0.0
            return
        usage.input_tokens += done.input_tokens
        usage.output_tokens += done.output_tokens
        if model in self.local:
            return
        price = self.prices.get(model)
        if price is None or usage.cost is None:
            usage.cost = None
        else:
            usage.cost += (done.input_tokens * price[0] + done.output_tokens * price[1]) / 1e6

    def to_json(self) -> dict[str, Any]:
        """Usage per role."""
        return {role: u.to_json() for role, u in self.roles.items()}

    def describe(self) -> str:
        """One line per role, for people."""
        lines = []
        for role, u in self.roles.items():
            tokens = (f"{u.input_tokens} in / {u.output_tokens} out tokens" if u.tokens_known
                      else "tokens not reported")
            cost = "cost unknown" if u.cost is None else f"${u.cost:.4f}"
            lines.append(f"{role} {u.model}: {u.calls} calls, {tokens}, "
                         f"{u.seconds:.1f} s, {cost}")
        return "\n".join(lines)


def timed_completion(fn: Any) -> tuple[Any, float]:
    """Run ``fn()`` and return (its result, seconds taken)."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
