"""The web app's save on the quick write path: the save re-indexes only its own files,
and a page someone else changed meanwhile is still announced (and indexed) by the
refresh that follows. The app runs in-process on a vault made by ``veriwiki init``
(real git, real SQLite), its file watch off so that the test decides when the refresh
runs."""

from __future__ import annotations

import base64
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Veriwiki, write

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def served(vw: Veriwiki, vault: Path, cli_env: dict[str, str]) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from veriwiki.web.app import create_app

    write(vault, "wiki/Alpha.md", "# Alpha\n\nAlpha is about quasars.\n")
    write(vault, "wiki/Beta.md", "# Beta\n\nBeta is about pulsars.\n")
    subprocess.run(["git", "-C", str(vault), "add", "-A"], check=True, env=cli_env)
    subprocess.run(["git", "-C", str(vault), "commit", "-qm", "pages"], check=True,
                   env=cli_env)
    app = create_app(vault, watch=False, background_check=False)
    with TestClient(app, base_url=BASE) as client:
        yield client, app.state.ctx


def save(client: Any, path: str, add: str) -> None:
    r = client.get(f"/edit/{path}")
    assert r.status_code == 200, r.text[:300]
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    form["text"] = base64.b64decode(form["base"]).decode() + add
    r = client.post(f"/edit/{path}", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]


def test_write_fast_web_outside_change_before_a_save_is_announced_after_it(
        served: Any, vault: Path) -> None:
    from veriwiki.web.live import refresh

    client, ctx = served

    def indexed(word: str) -> list[str]:
        return [h.path for h in ctx.open_vault().index.search(word)]

    write(vault, "wiki/Beta.md", "# Beta\n\nBeta is about magnetars, said someone else.\n")
    save(client, "wiki/Alpha", "\nSaved from the web: supernovae.\n")
    assert ctx.run_sync(indexed, "supernovae") == ["wiki/Alpha.md"]
    assert ctx.run_sync(indexed, "magnetars") == []  # the save indexed its own files only
    changed = ctx.run_sync(refresh, ctx)  # what the file watch would start
    assert "wiki/Beta.md" in changed and "wiki/Alpha.md" not in changed
    assert ctx.run_sync(indexed, "magnetars") == ["wiki/Beta.md"]
    assert "said someone else" in client.get("/w/wiki/Beta").text
