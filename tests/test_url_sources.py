"""Sources from the web: add URL / arxiv:ID / --sha256 and source refresh, served by a
loopback HTTP server on 127.0.0.1 (nothing reaches outside)."""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from conftest import Veriwiki, describe
from helpers_paper import make_paper_pdf

CARD = b"# Tiny model\n\nTiny was trained on **2.5**T tokens of web text.\n"
HTML = (b"<html><head><title>A note on attention</title></head><body><article>"
        b"<h1>A note on attention</h1><p>The model uses a key dimension of 64 in every "
        b"one of its sixteen attention heads, so each head is small.</p><p>Training ran "
        b"for three days on a single machine with eight accelerators.</p></article>"
        b"</body></html>")


class _Site:
    """What the server answers, per path: (status, content type, body, extra headers)."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[int, str, bytes, dict[str, str]]] = {}
        self.hits: list[str] = []

    def put(self, path: str, body: bytes, content_type: str, status: int = 200,
            **headers: str) -> None:
        self.pages[path] = (status, content_type, body, headers)


@pytest.fixture
def site() -> Iterator[tuple[_Site, str]]:
    state = _Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
            state.hits.append(self.path)
            status, ctype, body, headers = state.pages.get(
                self.path, (404, "text/plain", b"not found", {}))
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            if "Content-Length" not in headers and "X-No-Length" not in headers:
                self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def web(vw: Veriwiki, vault: Path) -> Veriwiki:
    vw.env = dict(vw.env, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return vw


def _sidecar(vault: Path, sid: str) -> dict[str, object]:
    data = yaml.safe_load((vault / "raw" / sid / "source.yaml").read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def test_add_url_markdown_stores_url_date_and_hash(web: Veriwiki, vault: Path,
                                                   site: tuple[_Site, str]) -> None:
    server, base = site
    server.put("/cards/tiny.md", CARD, "text/plain; charset=utf-8")
    got = web.json("add", f"{base}/cards/tiny.md")
    assert got["sources"][0]["id"] == "tiny"
    assert got["sources"][0]["media_type"] == "text/markdown"
    assert (vault / "raw" / "tiny" / "v1.md").read_bytes() == CARD
    meta = _sidecar(vault, "tiny")
    assert meta["origin"] == f"{base}/cards/tiny.md"
    version = meta["versions"][0]  # type: ignore[index]
    assert version["url"] == f"{base}/cards/tiny.md"
    assert version["sha256"] == hashlib.sha256(CARD).hexdigest()
    assert str(version["retrieved"]).endswith("Z")


def test_add_url_html_and_arxiv_pdf(web: Veriwiki, vault: Path,
                                    site: tuple[_Site, str]) -> None:
    server, base = site
    server.put("/blog/attention", HTML, "text/html; charset=utf-8")
    got = web.json("add", f"{base}/blog/attention", "--id", "attention-note")
    assert got["sources"][0]["media_type"] == "text/html"
    (vault / "veriwiki.toml").write_text(
        (vault / "veriwiki.toml").read_text("utf-8")
        + f'\n[sources]\narxiv_pdf_url = "{base}/pdf/{{id}}"\n', encoding="utf-8")
    server.put("/pdf/2401.00001", make_paper_pdf(), "application/pdf")
    got = web.json("add", "arxiv:2401.00001")
    assert got["sources"][0]["id"] == "arxiv-2401.00001"
    assert got["sources"][0]["pages"] == 4
    assert "/pdf/2401.00001" in server.hits


def test_add_url_sha256_mismatch_refuses_and_writes_nothing(web: Veriwiki, vault: Path,
                                                            site: tuple[_Site, str]) -> None:
    server, base = site
    server.put("/tiny.md", CARD, "text/markdown")
    proc = web("add", f"{base}/tiny.md", "--sha256", "0" * 64)
    assert proc.returncode == 2, describe(proc)
    assert "nothing was written" in proc.stderr and hashlib.sha256(CARD).hexdigest() in proc.stderr
    assert not (vault / "raw" / "tiny").exists()
    ok = web("add", f"{base}/tiny.md", "--sha256", hashlib.sha256(CARD).hexdigest())
    assert ok.returncode == 0, describe(ok)


@pytest.mark.parametrize(("path", "body", "ctype", "extra", "message"), [
    ("/logo.png", b"\x89PNG\r\n", "image/png", {}, "unsupported content type image/png"),
    ("/big.md", b"x" * 5000, "text/markdown", {}, "over the 2,000-byte limit"),
    ("/stream.md", b"y" * 5000, "text/markdown", {"X-No-Length": "1"},
     "passed the 2,000-byte limit for sources and was stopped"),
    ("/gone.md", b"", "text/plain", {}, "answered 404"),
])
def test_add_url_refusals_are_clear(web: Veriwiki, vault: Path, site: tuple[_Site, str],
                                    path: str, body: bytes, ctype: str, extra: dict[str, str],
                                    message: str) -> None:
    server, base = site
    (vault / "veriwiki.toml").write_text(
        (vault / "veriwiki.toml").read_text("utf-8") + "\n[sources]\nmax_source_bytes = 2000\n",
        encoding="utf-8")
    if path != "/gone.md":
        server.put(path, body, ctype, **extra)
    proc = web("add", f"{base}{path}")
    assert proc.returncode == 2, describe(proc)
    assert message in proc.stderr, proc.stderr
    assert [p.name for p in (vault / "raw").iterdir()] == [".gitkeep"]


def test_add_url_refuses_other_schemes(web: Veriwiki) -> None:
    proc = web("add", "arxiv:not-an-id")
    assert proc.returncode == 2 and "is not an arXiv id" in proc.stderr


def test_source_refresh_adds_version_only_when_bytes_change_then_stale_claim(
        web: Veriwiki, vault: Path, site: tuple[_Site, str]) -> None:
    server, base = site
    server.put("/tiny.md", CARD, "text/markdown")
    web.ok("add", f"{base}/tiny.md")
    page = vault / "wiki" / "Tiny.md"
    page.write_text("---\ntitle: Tiny\ntype: concept\n---\n# Tiny\n\nTiny saw 2.5T tokens "
                    '[@tiny, "trained on 2.5T tokens of web text"].\n', encoding="utf-8")
    web.ok("check")
    same = web.json("source", "refresh", "tiny")
    assert same["commit"] is None and same["sources"][0]["status"] == "unchanged"
    server.put("/tiny.md", CARD.replace(b"**2.5**T", b"**3**T"), "text/markdown")
    new = web.json("source", "refresh", "tiny")
    assert new["sources"][0]["status"] == "new-version" and new["sources"][0]["version"] == 2
    findings = web.json("check", code=1)["findings"]
    assert [(f["rule"], f["path"]) for f in findings if f["rule"] == "stale-claim"] == [
        ("stale-claim", "wiki/Tiny.md")]


def test_source_refresh_of_a_file_source_is_refused(web: Veriwiki, vault: Path,
                                                    tmp_path: Path) -> None:
    note = tmp_path / "note.md"
    note.write_text("# Note\n\nSome words to cite here.\n", encoding="utf-8")
    web.ok("add", str(note))
    proc = web("source", "refresh", "note")
    assert proc.returncode == 2 and "was not added from a URL" in proc.stderr


def test_download_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from rich.console import Console

    from veriwiki.cli import source_cmds

    screen = io.StringIO()
    monkeypatch.setattr(source_cmds, "err", Console(file=screen, force_terminal=True,
                                                     width=100))
    with source_cmds._progress(False) as update:
        assert update is not None
        update(512 * 1024, 1024 * 1024)
    assert "downloading" in screen.getvalue()
    monkeypatch.setattr(source_cmds, "err", Console(file=io.StringIO(), force_terminal=False))
    with source_cmds._progress(False) as update:
        assert update is None
    with source_cmds._progress(True) as update:  # --json: never
        assert update is None


@pytest.mark.parametrize(("path", "ctype", "media"), [
    ("/download?id=7", "application/octet-stream", "application/pdf"),  # by its %PDF- bytes
    ("/files/paper.pdf", "", "application/pdf"),
    ("/notes/readme.markdown", "text/plain; charset=utf-8", "text/markdown"),
    ("/notes/plain", "text/plain", "text/plain"),
])
def test_add_url_media_type_from_header_name_or_bytes(web: Veriwiki, vault: Path,
                                                      site: tuple[_Site, str], path: str,
                                                      ctype: str, media: str) -> None:
    server, base = site
    body = make_paper_pdf() if media == "application/pdf" else CARD
    server.put(path, body, ctype)
    got = web.json("add", f"{base}{path}", "--id", "doc")
    assert got["sources"][0]["media_type"] == media
    shown = web.ok("source", "show", "doc").stdout
    assert f"{base}{path}" in shown and "fetched" in shown
