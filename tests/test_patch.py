"""core.patch: unified diffs apply exactly or are refused."""

from __future__ import annotations

import difflib

import pytest

from veriwiki.core.patch import PatchError, apply_patch

OLD = "---\ntitle: T\n---\n\n# T\n\nFirst line.\nSecond line.\nThird line.\n"
NEW = "---\ntitle: T\n---\n\n# T\n\nFirst line.\nSecond line, edited.\nThird line.\nAdded.\n"


def _diff(a: str, b: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a", "b"))


def test_patch_applies_a_unified_diff() -> None:
    assert apply_patch(OLD, _diff(OLD, NEW)) == NEW


def test_patch_finds_a_hunk_that_moved() -> None:
    assert apply_patch("intro\n\n" + OLD, _diff(OLD, NEW)) == "intro\n\n" + NEW


def test_patch_refuses_a_diff_made_against_other_text() -> None:
    with pytest.raises(PatchError, match="does not match"):
        apply_patch(OLD.replace("Second line.", "Changed meanwhile."), _diff(OLD, NEW))


def test_patch_refuses_what_is_not_a_diff() -> None:
    with pytest.raises(PatchError, match="no hunk"):
        apply_patch(OLD, "just some text")
    with pytest.raises(PatchError, match="not a unified diff line"):
        apply_patch(OLD, "@@ -1,1 +1,1 @@\n-x\n+y\ngarbage here")
