"""Sources: ``add``, ``sources`` and ``source show`` with real files, real PDFs and real git.

The PDFs are written by hand (``helpers_pdf.make_pdf``), so extraction runs through the
real pypdf.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Git, Veriwiki, describe, write
from helpers_pdf import encrypt_pdf, make_pdf
from veriwiki.core.model import SourceText
from veriwiki.core.sources import parse_ref, parse_sidecar, render_sidecar, slugify
from veriwiki.errors import InputError

NOTES = "# Llama Notes\n\nThe model has 70B parameters and a context of 4,096 tokens.\n"
ARTICLE_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>Scaling Report</title></head>
<body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li>
<li><a href="/login">Sign in</a></li></ul></nav>
<article>
<h1>Scaling laws for language models</h1>
<p>The model was pretrained on 2 trillion tokens of publicly available data, with a
context length of 4,096 tokens. Training used a cosine learning-rate schedule with
2,000 warmup steps and a peak learning rate of 3e-4 for the smaller models.</p>
<p>We observed that loss continued to fall after the full token budget was spent,
which suggests the models were not yet saturated at that scale of training data.</p>
<table><tr><th>Model</th><th>Params</th></tr><tr><td>Small</td><td>7B</td></tr>
<tr><td>Large</td><td>70B</td></tr></table>
</article>
<div class="comments"><h3>Comments</h3><p>Great post, thanks for sharing!</p></div>
<footer><p>Copyright 2024 Example Corp. All rights reserved. Privacy policy.</p></footer>
</body></html>
"""
PAGE1 = ["Llama 2 was pretrained on 2 trillion tokens."]
PAGE2 = ["The context length grew to 4096 with a hyphen-", "ated word across lines.",
         "Grouped-query attention is used."]


def put_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def state(git: Git, vault: Path) -> dict[str, Any]:
    """What a refused command must leave untouched."""
    text_dir = vault / ".veriwiki" / "text"
    return {"head": git.head(vault), "status": git.status(vault),
            "raw": sorted(p.relative_to(vault).as_posix() for p in (vault / "raw").rglob("*")),
            "cache": sorted(os.listdir(text_dir)) if text_dir.exists() else []}


def sidecar(vault: Path, source_id: str) -> dict[str, Any]:
    return yaml.safe_load((vault / "raw" / source_id / "source.yaml").read_text("utf-8"))


# -- adding -------------------------------------------------------------------------------


def test_add_markdown_writes_layout_sidecar_and_one_commit(vw: Veriwiki, vault: Path,
                                                           git: Git, tmp_path: Path) -> None:
    src = write(tmp_path, "in/Llama Notes.md", NOTES)
    before = git.head(vault)
    data = vw.json("add", str(src), "--url", "https://example.org/llama",
                   "--license", "CC-BY-4.0")
    item = data["sources"][0]
    assert (item["id"], item["version"], item["status"]) == ("llama-notes", 1, "added")
    assert item["files"] == ["raw/llama-notes/v1.md", "raw/llama-notes/source.yaml"]
    assert (vault / "raw/llama-notes/v1.md").read_bytes() == src.read_bytes()
    meta = sidecar(vault, "llama-notes")
    assert meta["id"] == "llama-notes" and meta["title"] == "Llama Notes"
    assert meta["origin"] == "https://example.org/llama" and meta["license"] == "CC-BY-4.0"
    assert meta["versions"] == [{
        "version": 1, "file": "v1.md", "sha256": hashlib.sha256(NOTES.encode()).hexdigest(),
        "added": meta["versions"][0]["added"], "size": len(NOTES.encode()),
        "media_type": "text/markdown"}]
    assert len(meta["versions"][0]["added"]) == 10  # ISO date
    assert git(vault, "rev-parse", "HEAD~1").strip() == before
    assert git.subjects(vault)[0] == "veriwiki: add | llama-notes v1"
    assert git.touched(vault) == {"raw/llama-notes/v1.md", "raw/llama-notes/source.yaml",
                                  "wiki/log.md"}
    assert data["commit"] == git.head(vault)
    assert (vault / "wiki/log.md").read_text().splitlines()[-1].endswith(
        "**add** llama-notes v1")
    assert git.status(vault) == set()


def test_add_txt_html_pdf_extracts_text(vw: Veriwiki, vault: Path, tmp_path: Path) -> None:
    txt = write(tmp_path, "in/plain.txt", "Line one.\r\nLine two has 15T tokens.\r\n")
    html = write(tmp_path, "in/report.html", ARTICLE_HTML)
    pdf = put_bytes(tmp_path / "in/Llama2 Paper.pdf", make_pdf([PAGE1, PAGE2]))
    for f in (txt, html, pdf):
        vw.ok("add", str(f))
    shown = {sid: vw.json("source", "show", sid, "--text")
             for sid in ("plain", "report", "llama2-paper")}
    assert shown["plain"]["text"] == "Line one.\nLine two has 15T tokens.\n"
    assert shown["plain"]["media_type"] == "text/plain" and shown["plain"]["pages"] == []
    report = shown["report"]
    assert report["title"] == "Scaling Report" and report["media_type"] == "text/html"
    assert "pretrained on 2 trillion tokens" in report["text"]
    assert "Large" in report["text"] and "70B" in report["text"]  # table kept
    for boilerplate in ("Sign in", "Great post", "All rights reserved"):
        assert boilerplate not in report["text"]
    paper = shown["llama2-paper"]
    assert paper["media_type"] == "application/pdf" and paper["shown"]["file"] == "v1.pdf"
    assert paper["text"].split("\n\f\n") == [PAGE1[0] + "\n", "\n".join(PAGE2) + "\n"]
    assert paper["pages"] == [0, len(PAGE1[0]) + 1 + 3]


def test_add_identical_bytes_is_unchanged_without_commit(vw: Veriwiki, vault: Path, git: Git,
                                                         tmp_path: Path) -> None:
    src = write(tmp_path, "notes.md", NOTES)
    vw.ok("add", str(src))
    before = state(git, vault)
    proc = vw("add", str(src), "--title", "Other")
    assert proc.returncode == 0, describe(proc)
    assert "unchanged notes:v1" in proc.stdout
    assert "nothing to commit" in proc.stderr and "edit raw/notes/source.yaml" in proc.stderr
    assert state(git, vault)["head"] == before["head"]
    assert state(git, vault)["raw"] == before["raw"]
    item = vw.json("add", str(src))["sources"][0]
    assert (item["status"], item["version"], item["files"]) == ("unchanged", 1, [])


def test_add_changed_bytes_makes_v2_and_keeps_v1(vw: Veriwiki, vault: Path, git: Git,
                                                 tmp_path: Path) -> None:
    src = write(tmp_path, "notes.md", NOTES)
    vw.ok("add", str(src), "--license", "MIT")
    v1_bytes = (vault / "raw/notes/v1.md").read_bytes()
    write(tmp_path, "notes.md", NOTES.replace("70B", "65B"))
    item = vw.json("add", str(src), "--title", "Notes v2")["sources"][0]
    assert (item["status"], item["version"]) == ("new-version", 2)
    assert git.subjects(vault)[0] == "veriwiki: add | notes v2"
    assert git.touched(vault) == {"raw/notes/v2.md", "raw/notes/source.yaml", "wiki/log.md"}
    assert (vault / "raw/notes/v1.md").read_bytes() == v1_bytes
    meta = sidecar(vault, "notes")
    assert [v["version"] for v in meta["versions"]] == [1, 2]
    assert meta["title"] == "Notes v2" and meta["license"] == "MIT"
    assert "70B" in vw.json("source", "show", "notes:v1", "--text")["text"]
    current = vw.json("source", "show", "notes", "--text")
    assert "65B" in current["text"] and current["shown"]["version"] == 2
    assert current["current"] == 2
    listing = vw.json("sources")
    assert [(s["id"], s["current"], len(s["versions"])) for s in listing] == [("notes", 2, 2)]
    text = vw.ok("source", "show", "notes:v1").stdout
    assert "notes:v1" in text and "v2  " in text and "(current)" in text


def test_add_folder_is_one_commit(vw: Veriwiki, vault: Path, git: Git, tmp_path: Path) -> None:
    folder = tmp_path / "papers"
    write(folder, "a.md", "# A\n\nAlpha.\n")
    write(folder, "sub/b.txt", "Beta.\n")
    put_bytes(folder / "c.pdf", make_pdf([PAGE1]))
    write(folder, "notes.docx", "not really a docx")
    write(folder, ".hidden.md", "hidden\n")
    before = git.head(vault)
    proc = vw("add", str(folder), "--license", "CC0-1.0")
    assert proc.returncode == 0, describe(proc)
    assert "skipped 1 unsupported file(s)" in proc.stderr and "notes.docx" in proc.stderr
    assert git(vault, "rev-parse", "HEAD~1").strip() == before
    assert git.subjects(vault)[0] == "veriwiki: add | a v1, c v1, b v1"
    assert {s["id"]: s["license"] for s in vw.json("sources")} == {
        "a": "CC0-1.0", "b": "CC0-1.0", "c": "CC0-1.0"}
    assert not (vault / "raw/hidden").exists()


def test_add_id_option_and_versioned_reference(vw: Veriwiki, vault: Path,
                                               tmp_path: Path) -> None:
    src = write(tmp_path, "x.md", NOTES)
    item = vw.json("add", str(src), "--id", "llama-2.notes_v1")["sources"][0]
    assert item["ref"] == "llama-2.notes_v1:v1"
    assert vw.json("source", "show", "llama-2.notes_v1:v1")["id"] == "llama-2.notes_v1"
    assert (vault / "raw/llama-2.notes_v1/v1.md").exists()


# -- refusals ------------------------------------------------------------------------------

LATIN1 = b"caf\xe9 au lait\nline two\n"


def _refusal_cases(tmp: Path) -> list[tuple[str, list[str], list[str]]]:
    """(case, extra args, expected fragments of the message) with the input files made."""
    put_bytes(tmp / "report.docx", b"PK\x03\x04 zipped")
    put_bytes(tmp / "empty.md", b"")
    put_bytes(tmp / "blank.txt", b"  \n\n\t\n")
    put_bytes(tmp / "big.txt", b"x" * 2500)
    put_bytes(tmp / "latin.txt", LATIN1)
    put_bytes(tmp / "locked.pdf", encrypt_pdf(make_pdf([PAGE1]), "secret"))
    put_bytes(tmp / "scan.pdf", make_pdf([[]]))
    put_bytes(tmp / "fake.pdf", b"hello, not a pdf")
    put_bytes(tmp / "ok.md", NOTES.encode())
    put_bytes(tmp / "日本.md", NOTES.encode())
    write(tmp, "app.html", "<html><head><title>App</title></head><body><div id='root'>"
                           "</div><script>render()</script></body></html>")
    return [
        ("report.docx", [], ["unsupported file type .docx", "convert it"]),
        ("empty.md", [], ["file is empty"]),
        ("blank.txt", [], ["no text"]),
        ("big.txt", [], ["2,500 bytes, over the 2,000-byte limit", "max_source_bytes"]),
        ("latin.txt", [], ["not valid UTF-8 (byte 0xe9 at line 1)", "re-save it as UTF-8"]),
        ("locked.pdf", [], ["encrypted", "unencrypted copy"]),
        ("scan.pdf", [], ["no text layer", "OCR"]),
        ("fake.pdf", [], ["not a PDF"]),
        ("ok.md", ["--id", "Bad Id"], ["invalid source id 'Bad Id'", "--id bad-id"]),
        ("ok.md", ["--id", "-x"], ["invalid source id '-x'"]),
        ("ok.md", ["--id", ""], ["invalid source id ''"]),
        ("日本.md", [], ["cannot make a source id", "--id"]),
        ("app.html", [], ["no main text found", "JavaScript"]),
        ("missing.md", [], ["no such file"]),
    ]


def test_add_refusals_write_nothing(vw: Veriwiki, vault: Path, git: Git,
                                    tmp_path: Path) -> None:
    config = vault / "veriwiki.toml"
    config.write_text(config.read_text() + "\n[sources]\nmax_source_bytes = 2000\n")
    git(vault, "commit", "-qam", "limit")
    inputs = tmp_path / "inputs"
    for name, extra, fragments in _refusal_cases(inputs):
        before = state(git, vault)
        proc = vw("add", str(inputs / name), *extra)
        assert proc.returncode == 2, describe(proc)
        assert proc.stderr.startswith("error: "), describe(proc)
        assert "Traceback" not in proc.stderr
        if name != "ok.md":
            assert name in proc.stderr, describe(proc)
        for fragment in fragments:
            assert fragment in proc.stderr, describe(proc)
        assert "hint:" in proc.stderr or name == "missing.md", describe(proc)
        assert proc.stdout == ""
        assert state(git, vault) == before, name


def test_add_folder_refused_whole_when_one_file_is_bad(vw: Veriwiki, vault: Path, git: Git,
                                                       tmp_path: Path) -> None:
    write(tmp_path, "dir/good.md", NOTES)
    put_bytes(tmp_path / "dir/zz-latin.txt", LATIN1)
    before = state(git, vault)
    proc = vw("add", str(tmp_path / "dir"))
    assert proc.returncode == 2 and "zz-latin.txt" in proc.stderr, describe(proc)
    assert state(git, vault) == before
    write(tmp_path, "clash/a/intro.md", "one\n")
    write(tmp_path, "clash/b/intro.md", "two\n")
    proc = vw("add", str(tmp_path / "clash"))
    assert proc.returncode == 2 and "would both get the id 'intro'" in proc.stderr
    proc = vw("add", str(tmp_path / "clash"), "--id", "x")
    assert proc.returncode == 2 and "describe one file" in proc.stderr
    assert state(git, vault) == before


def test_add_stored_copy_is_refused(vw: Veriwiki, vault: Path, git: Git,
                                    tmp_path: Path) -> None:
    vw.ok("add", str(write(tmp_path, "notes.md", NOTES)))
    before = state(git, vault)
    proc = vw("add", str(vault / "raw/notes/v1.md"))
    assert proc.returncode == 2 and "already stored as source 'notes'" in proc.stderr
    assert state(git, vault) == before


def test_pdf_with_owner_password_only_is_read(vw: Veriwiki, vault: Path,
                                              tmp_path: Path) -> None:
    pdf = put_bytes(tmp_path / "open.pdf", encrypt_pdf(make_pdf([PAGE1]), ""))
    vw.ok("add", str(pdf))
    assert PAGE1[0] in vw.json("source", "show", "open", "--text")["text"]


# -- reading -------------------------------------------------------------------------------


def test_source_show_text_marks_pdf_pages(vw: Veriwiki, vault: Path, tmp_path: Path) -> None:
    vw.ok("add", str(put_bytes(tmp_path / "paper.pdf", make_pdf([PAGE1, PAGE2]))))
    out = vw.ok("source", "show", "paper", "--text").stdout
    assert out == ("--- page 1 ---\n" + PAGE1[0] + "\n"
                   "--- page 2 ---\n" + "\n".join(PAGE2) + "\n")
    meta = vw.ok("source", "show", "paper").stdout
    assert "application/pdf" in meta and "2 page(s)" in meta


def test_source_show_unknown_id_and_version(vw: Veriwiki, vault: Path,
                                            tmp_path: Path) -> None:
    vw.ok("add", str(write(tmp_path, "notes.md", NOTES)))
    proc = vw("source", "show", "note")
    assert proc.returncode == 2 and "no source with the id 'note'" in proc.stderr
    assert "did you mean notes?" in proc.stderr
    proc = vw("source", "show", "notes:v3")
    assert proc.returncode == 2 and "has no version 3 (it has v1)" in proc.stderr
    proc = vw("source", "show", "notes:v0")
    assert proc.returncode == 2 and "is not a source reference" in proc.stderr


def test_source_text_refuses_a_modified_raw_file(vw: Veriwiki, vault: Path,
                                                 tmp_path: Path) -> None:
    vw.ok("add", str(write(tmp_path, "notes.md", NOTES)))
    (vault / "raw/notes/v1.md").write_text(NOTES.replace("70B", "7B"))
    for f in (vault / ".veriwiki/text").iterdir():
        f.unlink()
    proc = vw("source", "show", "notes", "--text")
    assert proc.returncode == 2, describe(proc)
    assert "raw/notes/v1.md: the file was changed after it was added" in proc.stderr
    assert "git checkout -- raw/notes/v1.md" in proc.stderr


def test_sources_lists_and_reports_a_broken_sidecar(vw: Veriwiki, vault: Path,
                                                    tmp_path: Path) -> None:
    assert "no sources yet" in vw.ok("sources").stderr
    vw.ok("add", str(write(tmp_path, "notes.md", NOTES)))
    vw.ok("add", str(write(tmp_path, "other.txt", "Other.\n")))
    (vault / "raw/other/source.yaml").write_text("id: other\nversions: [\n")
    proc = vw("sources")
    assert proc.returncode == 0 and "notes" in proc.stdout and "text/markdown" in proc.stdout
    assert "raw/other/source.yaml: the source metadata is not valid YAML" in proc.stderr
    proc = vw("source", "show", "other")
    assert proc.returncode == 2 and "raw/other/source.yaml" in proc.stderr


def test_text_cache_is_written_and_reused(vw: Veriwiki, vault: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki import api
    from veriwiki.services import sources

    vw.ok("add", str(put_bytes(tmp_path / "paper.pdf", make_pdf([PAGE1, PAGE2]))))
    sha = hashlib.sha256((vault / "raw/paper/v1.pdf").read_bytes()).hexdigest()
    cache = vault / ".veriwiki/text" / f"{sha}.json"
    assert cache.is_file()  # written by add
    assert json.loads(cache.read_text())["pages"][0] == 0
    cache.unlink()
    v = api.open_vault(vault)
    first = sources.source_text(v, "paper")
    assert cache.is_file()
    mtime = cache.stat().st_mtime_ns

    def boom(*args: object) -> None:
        raise AssertionError("extractor called although the cache holds the text")

    monkeypatch.setattr(sources, "extract", boom)
    second = sources.source_text(v, "paper:v1")
    assert second == first and cache.stat().st_mtime_ns == mtime
    assert second.page_of(second.text.index("ated word")) == 2
    cache.write_text("{damaged")
    with pytest.raises(AssertionError, match="extractor called"):
        sources.source_text(v, "paper")  # a damaged cache entry is re-extracted
    v.close()


# -- pure units ----------------------------------------------------------------------------


def test_source_text_page_of() -> None:
    text = SourceText("ab\n\f\ncd", (0, 5))
    assert [text.page_of(i) for i in (0, 2, 4, 5, 6, 99)] == [1, 1, 1, 2, 2, 2]
    assert text.page_of(-1) is None and SourceText("plain").page_of(0) is None


@pytest.mark.parametrize(("name", "slug"), [
    ("Llama 2 Paper", "llama-2-paper"), ("GPT-3_final.v2", "gpt-3_final.v2"),
    ("Café Über", "cafe-uber"), ("--x--", "x"), ("日本", ""), ("a" * 70, "a" * 64)])
def test_slugify_file_names(name: str, slug: str) -> None:
    assert slugify(name) == slug


def test_parse_ref_forms() -> None:
    assert parse_ref("llama-2") == ("llama-2", None)
    assert parse_ref("Llama-2:v3") == ("llama-2", 3)
    for bad in ("", "x:v0", "x:3", "a b", "-x"):
        with pytest.raises(InputError):
            parse_ref(bad)


def test_sidecar_round_trip_and_malformed() -> None:
    from veriwiki.core.model import Source, SourceVersion

    source = Source("x", "T: a title", "https://e.org", None,
                    (SourceVersion(1, "v1.pdf", "a" * 64, "2024-05-01", 10, "application/pdf"),
                     SourceVersion(2, "v2.md", "b" * 64, "2024-06-01", 3, "text/markdown")))
    assert parse_sidecar(render_sidecar(source), "raw/x/source.yaml") == source
    assert source.current.version == 2 and source.version(1) is not None
    for bad, why in [("id: y\nversions: []\n", "does not match its folder"),
                     ("id: x\nversions: []\n", "non-empty list"),
                     ("id: x\nversions:\n- {version: 1, file: ../v1.md, sha256: "
                      + "a" * 64 + ", added: 2024-01-01, size: 1, media_type: t}\n",
                      "should be v1.<ext>")]:
        with pytest.raises(InputError, match=why):
            parse_sidecar(bad, "raw/x/source.yaml")
