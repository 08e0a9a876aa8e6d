"""``veriwiki init --template llm``: offline from the shared pack, fetched from a loopback
server (sha256 enforced, resumable), the template's check, planted errors, text sources.

The pack is ``../shared/llm-sources`` beside the checkout (CI clones the repository at
``.../main`` with ``../shared`` next to it).
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from conftest import Git, Veriwiki, describe
from veriwiki.services.template import template_files, template_sources

PACK = Path(__file__).resolve().parents[2] / "shared" / "llm-sources"
SOURCES = template_sources("llm")



@pytest.fixture(autouse=True)
def _pack_present() -> None:
    """The pack sits beside the repository (CI clones it there); without it these tests
    fail, not skip: a missing pack must not pass for a tested template."""
    if not (PACK / "manifest.yaml").is_file():
        pytest.fail(f"the LLM source pack is not at {PACK}: put ../shared/llm-sources "
                    "beside the repository")


def _init(vw: Veriwiki, dest: Path, *args: str) -> dict[str, object]:
    proc = vw("init", str(dest), "--template", "llm", *args, "--json", vault=dest)
    assert proc.returncode == 0, describe(proc)
    return dict(json.loads(proc.stdout))


def _sidecar(vault: Path, sid: str) -> dict[str, object]:
    return dict(yaml.safe_load((vault / "raw" / sid / "source.yaml").read_text()))


def _assert_every_source_pinned(vault: Path) -> None:
    for src in SOURCES:
        meta = _sidecar(vault, src.id)
        versions = meta["versions"]
        assert isinstance(versions, list) and len(versions) == 1, src.id  # never twice
        assert versions[0]["sha256"] == src.sha256 and versions[0]["size"] == src.bytes
        assert meta["title"] == src.title and meta["origin"] == src.url
        assert meta["license"] == src.license


@pytest.fixture(scope="module")
def built(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One template vault made offline from the pack (copied by tests that change it)."""
    dest = tmp_path_factory.mktemp("tpl") / "kb"
    vw = Veriwiki(cli_env, dest, timeout=600)
    got = _init(vw, dest, "--sources-from", str(PACK))
    assert got["added"] == [s.id for s in SOURCES] and got["resumed"] is False
    return dest


def _copy(built: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "kb"
    shutil.copytree(built, dest, symlinks=True)
    return dest


# --- offline ------------------------------------------------------------------------------


def test_template_offline_creates_every_source_with_the_pinned_hash(
        built: Path, git: Git) -> None:
    _assert_every_source_pinned(built)
    for rel in template_files("llm"):
        assert (built / rel).is_file(), rel
    subjects = git.subjects(built)
    # init, the template's files, then one commit per source
    assert len(subjects) == 2 + len(SOURCES)
    assert subjects[-2].startswith("veriwiki: template | llm")
    assert sum(s.startswith("veriwiki: add | ") for s in subjects) == len(SOURCES)
    assert git.status(built) == set()


@pytest.mark.slow
def test_template_check_exits_0_with_no_error_findings(built: Path, cli_env: dict[str, str],
                                                        tmp_path: Path) -> None:
    vault = _copy(built, tmp_path)
    vw = Veriwiki(cli_env, vault, timeout=600)
    proc = vw("check", "--json")
    errors = [f for f in json.loads(proc.stdout)["findings"] if f["severity"] == "error"]
    assert errors == [] and proc.returncode == 0, describe(proc)


def test_template_rerun_adds_nothing(built: Path, cli_env: dict[str, str], tmp_path: Path,
                                     git: Git) -> None:
    vault = _copy(built, tmp_path)
    vw = Veriwiki(cli_env, vault, timeout=600)
    head = git.head(vault)
    got = _init(vw, vault, "--sources-from", str(PACK))
    assert got["resumed"] is True and got["added"] == [] and got["commits"] == []
    assert got["present"] == [s.id for s in SOURCES]
    assert git.head(vault) == head


def test_template_refuses_a_vault_not_made_from_it(vw: Veriwiki, vault: Path) -> None:
    proc = vw("init", str(vault), "--template", "llm", "--sources-from", str(PACK))
    assert proc.returncode == 2
    assert "not one made from the 'llm' template" in proc.stderr
    assert not (vault / "raw" / SOURCES[0].id).exists()


def test_template_sources_from_a_wrong_file_names_it_and_resumes(
        vw: Veriwiki, tmp_path: Path, git: Git) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    bad = SOURCES[3]
    original = (pack / bad.file).read_bytes()
    (pack / bad.file).write_bytes(original + b"\n")
    dest = tmp_path / "kb"
    proc = vw("init", str(dest), "--template", "llm", "--sources-from", str(pack), vault=dest)
    assert proc.returncode == 2, describe(proc)
    assert str(pack / bad.file) in proc.stderr and f"expected {bad.sha256}" in proc.stderr
    actual = re.search(r"sha256 is ([0-9a-f]{64})", proc.stderr)
    assert actual is not None and actual.group(1) != bad.sha256
    assert "run the same command again" in proc.stderr
    assert sorted(p.name for p in (dest / "raw").iterdir() if p.is_dir()) == sorted(
        s.id for s in SOURCES[:3])
    assert not (dest / "raw" / bad.id).exists()
    (pack / bad.file).write_bytes(original)
    got = _init(vw, dest, "--sources-from", str(pack))
    assert got["resumed"] is True and got["present"] == [s.id for s in SOURCES[:3]]
    assert got["added"] == [s.id for s in SOURCES[3:]]
    _assert_every_source_pinned(dest)
    assert len(git.subjects(dest)) == 2 + len(SOURCES)


# --- fetched from a loopback server -----------------------------------------------------------


class _Server:
    """http.server on 127.0.0.1 serving a folder; it can be made to die after N files."""

    def __init__(self, folder: Path, die_after: int | None = None) -> None:
        served = {"n": 0}

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook
                served["n"] += 1
                if die_after is not None and served["n"] > die_after:
                    self.close_connection = True
                    self.connection.close()  # the server dies mid-run: no answer
                    return
                super().do_GET()

            def log_message(self, *args: object) -> None:
                pass

        handler = functools.partial(Handler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.served = served
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_template_fetch_from_loopback_server(vw: Veriwiki, tmp_path: Path, git: Git) -> None:
    dest = tmp_path / "kb"
    with _Server(PACK) as server:
        got = _init(vw, dest, "--mirror", server.url)
    assert got["added"] == [s.id for s in SOURCES]
    _assert_every_source_pinned(dest)  # the origin stays the pinned URL
    meta = _sidecar(dest, SOURCES[0].id)
    assert str(meta["versions"][0]["url"]).startswith(server.url)  # type: ignore[index]


def test_template_fetch_refuses_a_wrong_hash(vw: Veriwiki, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(PACK, pack)
    (pack / SOURCES[0].file).write_bytes(b"# not the GPT-2 card\n")
    dest = tmp_path / "kb"
    with _Server(pack) as server:
        proc = vw("init", str(dest), "--template", "llm", "--mirror", server.url, vault=dest)
    assert proc.returncode == 2, describe(proc)
    assert f"not the expected {SOURCES[0].sha256}" in proc.stderr
    assert not (dest / "raw" / SOURCES[0].id).exists()


def test_template_fetch_server_dies_partway_then_rerun_completes(
        vw: Veriwiki, tmp_path: Path, git: Git) -> None:
    dest = tmp_path / "kb"
    with _Server(PACK, die_after=5) as server:
        proc = vw("init", str(dest), "--template", "llm", "--mirror", server.url, vault=dest)
    assert proc.returncode == 2, describe(proc)
    assert f"source {SOURCES[5].id} (6 of {len(SOURCES)}) could not be added" in proc.stderr
    assert f"{len(SOURCES) - 5} source(s) are still missing" in proc.stderr
    assert "run the same command again" in proc.stderr
    assert sorted(p.name for p in (dest / "raw").iterdir() if p.is_dir()) == sorted(
        s.id for s in SOURCES[:5])
    assert git.status(dest) == set()  # nothing half-written
    with _Server(PACK) as server:
        got = _init(vw, dest, "--mirror", server.url)
        assert server.served["n"] == len(SOURCES) - 5  # only the missing ones
    assert got["resumed"] is True and got["added"] == [s.id for s in SOURCES[5:]]
    _assert_every_source_pinned(dest)
    assert len(git.subjects(dest)) == 2 + len(SOURCES)


# --- planted errors on the real template ------------------------------------------------------


def _set_fact(vault: Path, entity: str, attribute: str, value: str) -> int:
    """Change a fact's value in data/models.yaml; return the line of the fact."""
    path = vault / "data" / "models.yaml"
    lines = path.read_text().split("\n")
    start = lines.index(f"{entity}:")
    at = next(i for i in range(start + 1, len(lines)) if lines[i] == f"  {attribute}:")
    value_at = next(i for i in range(at + 1, at + 6) if lines[i].startswith("    value:"))
    lines[value_at] = f'    value: "{value}"'
    path.write_text("\n".join(lines))
    return at + 1


@pytest.mark.slow
def test_template_planted_kv_heads_fails_fact_arithmetic_and_table_then_fix(
        built: Path, cli_env: dict[str, str], tmp_path: Path) -> None:
    vault = _copy(built, tmp_path)
    vw = Veriwiki(cli_env, vault, timeout=600)
    # 2, not 4: the quote "Num KV heads 4 8 16" holds the 2B model's 4 as well
    line = _set_fact(vault, "Gemma 2 9B", "kv_heads", "2")
    proc = vw("check", "--json")
    assert proc.returncode == 1, describe(proc)
    found = json.loads(proc.stdout)["findings"]
    rules = {(f["rule"], f["path"]) for f in found if f["severity"] == "error"}
    assert ("fact-citation", "data/models.yaml") in rules
    assert any(f["rule"] == "fact-citation" and f["line"] == line for f in found)
    assert any(r == "code-failed" for r, _ in rules), found
    stale = {f["path"]: f["message"] for f in found if f["rule"] == "table-stale"}
    assert "Gemma 2 9B kv_heads: table '8', facts '2'" in stale["wiki/models/Gemma 2 9B.md"]
    fixed = vw.json("fix")
    assert fixed["commit"] and fixed["tables"]
    again = json.loads(vw("check", "--json").stdout)["findings"]
    assert [f for f in again if f["rule"] == "table-stale"] == []
    assert any(f["rule"] == "fact-citation" for f in again)  # the fact is still wrong


# --- text sources ---------------------------------------------------------------------------


def test_text_sources_json_yml_mdx_are_added_with_line_locators(
        vw: Veriwiki, vault: Path, git: Git) -> None:
    for name in ("deepseek-v2-config-236b.json", "pythia-1.4b-config.yml",
                 "mistral-docs-open-weight-models.mdx"):
        vw.ok("add", str(PACK / name))
    listed = {s["id"]: s["media_type"] for s in vw.json("sources")}
    assert listed == {"deepseek-v2-config-236b": "application/json",
                      "pythia-1.4b-config": "application/yaml",
                      "mistral-docs-open-weight-models": "text/markdown"}
    assert (vault / "raw" / "pythia-1.4b-config" / "v1.yaml").is_file()
    text = vw.ok("source", "show", "deepseek-v2-config-236b", "--text").stdout
    assert '"n_layers": 60' in text
    (vault / "wiki" / "DeepSeek.md").write_text(
        "---\ntitle: DeepSeek\n---\n# DeepSeek\n\n"
        'It has 60 layers [@deepseek-v2-config-236b, L6, "\\"n_layers\\": 60"].\n\n'
        'It has 128 heads [@deepseek-v2-config-236b, L2, "\\"n_heads\\": 128"].\n\n'
        'Pythia has 24 layers [@pythia-1.4b-config, lines 6-8, "\\"num-layers\\": 24"].\n')
    found = json.loads(vw("check", "--json").stdout)["findings"]
    mine = [(f["rule"], f["line"], f["message"]) for f in found
            if f["path"] == "wiki/DeepSeek.md" and f["rule"] in (
                "locator-mismatch", "quote-not-found", "number-mismatch")]
    assert mine == [("locator-mismatch", 8, 'locator "L2" does not match the quote in '
                     "@deepseek-v2-config-236b: it is on L8")]


# --- the common errors, one checked example each (tests/fixtures/llm_errors) ------------------

ERRORS = Path(__file__).parent / "fixtures" / "llm_errors"


def test_common_error_fixtures_are_caught(vw: Veriwiki, tmp_path: Path, git: Git) -> None:
    dest = tmp_path / "errors"
    shutil.copytree(ERRORS, dest, ignore=shutil.ignore_patterns("README.md"))
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "fixture")
    by_id = {s.id: s for s in SOURCES}
    for sid in ("gpt2-model-card", "gpt3-paper-text", "pythia-readme"):
        vw.ok("add", str(PACK / by_id[sid].file), "--id", sid, vault=dest)
    proc = vw("check", "--json", vault=dest)
    assert proc.returncode == 1, describe(proc)
    found = sorted((f["rule"], f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]
                   if f["severity"] == "error")
    page, data = "wiki/Common errors.md", "data/errors.yaml"
    assert found == sorted([
        ("unit-mismatch", page, 8),  # 570B tokens for 570GB
        ("number-mismatch", page, 14),  # 400B for 300B
        ("number-mismatch", page, 20),  # 40B tokens: the card states no token count
        ("fact-citation", data, 3),  # Pythia-1B's learning rate in the 1.4B row
        ("fact-citation", data, 13),  # a warmup in tokens filed as steps
    ])
    messages = {(f["path"], f["line"]): f["message"]
                for f in json.loads(proc.stdout)["findings"]}
    assert '"570GB" (bytes, not tokens)' in messages[(page, 8)]
    assert '"375 million tokens" (tokens, not steps)' in messages[(data, 13)]
    assert '"3.0e-4" in the fact does not appear in the quote' in messages[(data, 3)]
