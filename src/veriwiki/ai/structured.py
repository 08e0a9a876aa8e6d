"""Structured output: a model reply that validates against a pydantic schema, or a clear failure.

Each attempt sends the JSON Schema (providers that can constrain decoding to it do so).
The reply is repaired where the damage is mechanical — code fences, prose around the
object, trailing commas, smart quotes, a truncated tail — and validated with pydantic.
An invalid reply is retried with the validation errors quoted back, at most
``retries`` times; after that :class:`StructuredOutputError` is raised and nothing is
written by the caller.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from veriwiki.ai.provider import Meter, TextModel
from veriwiki.errors import VeriwikiError

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


class StructuredOutputError(VeriwikiError):
    """The model did not produce valid structured output within the allowed retries."""


def _structure(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """Positions and characters of ``text`` from ``start`` that lie outside JSON strings."""
    in_string, escaped = False, False
    for i in range(start, len(text)):
        c = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        else:
            yield i, c


def _balanced(text: str, start: int) -> str | None:
    """The JSON value starting at ``start`` up to its matching bracket, if any."""
    depth = 0
    for i, c in _structure(text, start):
        if c in "{[":
            depth += 1
        elif c in "}]":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
    return None


def _close_truncated(text: str) -> str:
    """Cut a reply the token limit ended early back to its last complete element and close it."""
    stack: list[str] = []
    cut, cut_stack = 0, []  # the end of the last complete array/object element
    for i, c in _structure(text):
        if c in "{[":
            stack.append("}" if c == "{" else "]")
        elif c in "}]" and stack:
            stack.pop()
            cut, cut_stack = i + 1, list(stack)
    if not cut:
        return text
    return text[:cut] + "".join(reversed(cut_stack))


def candidates(reply: str) -> list[str]:
    """Texts that may hold the JSON object of ``reply``, most likely first."""
    texts: list[str] = []
    text = reply.strip().replace("\u201c", '"').replace("\u201d", '"')
    fenced = _FENCE.search(text)
    if fenced:
        texts.append(fenced.group(1).strip())
    start = text.find("{")
    if start >= 0:
        whole = _balanced(text, start)
        texts.append(whole if whole is not None else _close_truncated(text[start:]))
    texts.append(text)
    return [_TRAILING_COMMA.sub(r"\1", t) for t in texts]


def parse_reply(reply: str, schema: type[T]) -> T:
    """The first candidate in ``reply`` that validates; raises ValueError with the reasons."""
    errors: list[str] = []
    for text in candidates(reply):
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            errors.append(f"not JSON ({exc.msg} at character {exc.pos})")
            continue
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            errors.append("; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
                for e in exc.errors()[:5]))
    raise ValueError(errors[0] if errors else "empty reply")


def ask_structured(model: TextModel, prompt: str, schema: type[T], *, system: str | None = None,
                   json_schema: dict[str, Any] | None = None, retries: int = 2,
                   max_tokens: int = 1024, meter: Meter | None = None, role: str = "writer",
                   what: str = "reply") -> T:
    """Ask ``model`` and return its reply as a validated ``schema`` instance.

    ``json_schema`` overrides the schema sent to the model (e.g. one with enums of the
    quotes it may choose); the reply is still validated against ``schema``.
    """
    sent = json_schema or schema.model_json_schema()
    instruction = ("Reply with one JSON object only, no prose, matching this JSON Schema:\n"
                   + json.dumps(sent, separators=(",", ":")))
    full = f"{prompt}\n\n{instruction}"
    last_error = ""
    for attempt in range(retries + 1):
        asked = full if attempt == 0 else (
            f"{full}\n\nYour previous reply was not valid: {last_error}\n"
            "Reply again with corrected JSON only.")
        # greedy first; a retry samples (seeded), so a deterministic model can answer
        # differently instead of repeating the same invalid reply
        done = model.complete(asked, system=system, schema=sent, max_tokens=max_tokens,
                              temperature=0.0 if attempt == 0 else 0.7)
        if meter is not None:
            meter.record(role, model.model_id, done)
        try:
            return parse_reply(done.text, schema)
        except ValueError as exc:
            last_error = str(exc)[:500]
    raise StructuredOutputError(
        f"model {model.model_id} gave no valid {what} after {retries + 1} attempts "
        f"(last problem: {last_error})",
        hint="try a larger model with --model, or raise [llm] retries in veriwiki.toml")
