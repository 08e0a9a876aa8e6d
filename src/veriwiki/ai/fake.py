"""A deterministic fake model for unit tests only: replies come from a script you give it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from veriwiki.ai.provider import Completion

Reply = str | dict[str, Any] | Callable[[str], str | dict[str, Any]]


class FakeModel:
    """Replies in order from ``replies`` (the last one repeats); records every prompt.

    A reply may be a string, a JSON-able dict, or a function of the prompt. Token
    counts are word counts, so usage accounting can be tested.
    """

    def __init__(self, replies: Sequence[Reply] | Reply, model_id: str = "fake") -> None:
        self.model_id = model_id
        self.replies: list[Reply] = (list(replies) if isinstance(replies, list | tuple)
                                     else [replies])  # type: ignore[list-item]
        self.prompts: list[str] = []
        self.schemas: list[dict[str, Any] | None] = []

    def complete(self, prompt: str, *, system: str | None = None,
                 schema: dict[str, Any] | None = None, max_tokens: int = 1024,
                 temperature: float = 0.0) -> Completion:
        """The next scripted reply."""
        index = min(len(self.prompts), len(self.replies) - 1)
        self.prompts.append(prompt)
        self.schemas.append(schema)
        reply = self.replies[index]
        if callable(reply):
            reply = reply(prompt)
        text = reply if isinstance(reply, str) else json.dumps(reply)
        return Completion(text, len(prompt.split()), len(text.split()), 0.001)


class FakeEmbedder:
    """Bag-of-words vectors hashed into ``dims`` buckets: similar texts, similar vectors."""

    def __init__(self, dims: int = 64, model_id: str = "fake-embed") -> None:
        self.dims = dims
        self.model_id = model_id

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One normalised vector per text."""
        out = []
        for text in texts:
            vec = [0.0] * self.dims
            for word in text.lower().split():
                digest = hashlib.sha256(word.strip(".,;:!?\"'()").encode()).digest()
                vec[digest[0] % self.dims] += 1.0
            norm = sum(v * v for v in vec) ** 0.5 or 1.0
            out.append([v / norm for v in vec])
        return out
