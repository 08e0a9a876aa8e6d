"""The web app (``veriwiki serve``) in-process: security, page views, preview, save, merge.

The app runs on a real vault made with ``veriwiki init`` (real git, real SQLite), driven
through Starlette's test client; the browser tests (tests/test_web_browser.py) run the
same app under uvicorn in Chromium.
"""

from __future__ import annotations

import base64
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Veriwiki
from helpers_site import make_site_vault

BASE = "http://127.0.0.1:8765"
WRONG_QUOTE = 'Llama 2 saw 2 trillion tokens [@llama2, "this quote is not in the paper at all"].'
RIGHT_QUOTE = 'Llama 2 saw 2 trillion tokens [@llama2, "trained on 2 trillion tokens of data"].'


@pytest.fixture(scope="module")
def vault_root(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]) -> Path:
    """A vault with the example pages, the Llama 2 source and the hostile pages."""
    root = tmp_path_factory.mktemp("web") / "v"
    vw = Veriwiki(cli_env, root)
    assert vw("init", str(root)).returncode == 0
    make_site_vault(vw, root)
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True, env=cli_env)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "pages"], check=True,
                   env=cli_env)
    return root


@pytest.fixture(scope="module")
def client(vault_root: Path) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from veriwiki.web.app import create_app

    with TestClient(create_app(vault_root), base_url=BASE) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def editor_form(client: Any, path: str) -> dict[str, str]:
    """The hidden fields and text of the editor for ``path`` (wiki/X, no .md)."""
    r = client.get(f"/edit/{path}")
    assert r.status_code == 200, r.text[:300]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    fields["text"] = base64.b64decode(fields["base"]).decode()
    return fields


def git_log(root: Path) -> list[str]:
    out = subprocess.run(["git", "-C", str(root), "log", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


# -- security ---------------------------------------------------------------------------


def test_web_foreign_host_refused(client: Any) -> None:
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 421
    assert client.get("/", headers={"host": "attacker.example:8765"}).status_code == 421
    for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
        assert client.get("/", headers={"host": host}).status_code == 200, host


def test_web_post_without_csrf_refused(client: Any, vault_root: Path) -> None:
    before = git_log(vault_root)
    form = editor_form(client, "wiki/Attention")
    data = {**form, "text": form["text"] + "\nSneaky.\n", "message": "csrf"}
    data.pop("csrf")
    assert client.post("/edit/wiki/Attention", data=data).status_code == 403
    data["csrf"] = "0" * 64
    assert client.post("/edit/wiki/Attention", data=data).status_code == 403
    r = client.post("/api/preview", json={"path": "wiki/Attention.md", "text": "x"})
    assert r.status_code == 403
    assert git_log(vault_root) == before
    assert "Sneaky" not in (vault_root / "wiki" / "Attention.md").read_text()


def test_web_csrf_token_is_tied_to_the_cookie(client: Any, vault_root: Path) -> None:
    from starlette.testclient import TestClient

    token = csrf_of(client.get("/").text)
    other = TestClient(client.app, base_url=BASE)  # another browser: another cookie
    other.get("/")
    r = other.post("/api/preview", json={"path": "wiki/Attention.md", "text": "x"},
                   headers={"X-CSRF-Token": token})
    assert r.status_code == 403


def test_web_bad_origin_refused(client: Any) -> None:
    token = csrf_of(client.get("/").text)
    body = {"path": "wiki/Attention.md", "text": "# x\n"}
    ok = client.post("/api/preview", json=body, headers={"X-CSRF-Token": token,
                                                          "Origin": BASE})
    assert ok.status_code == 200, ok.text
    for headers in ({"Origin": "http://attacker.example"},
                    {"Origin": "http://127.0.0.1:9999"},  # another program on this machine
                    {"Origin": "null"},
                    {"Referer": "http://attacker.example/page"},
                    {"Sec-Fetch-Site": "cross-site"}):
        r = client.post("/api/preview", json=body, headers={"X-CSRF-Token": token, **headers})
        assert r.status_code == 403, headers


@pytest.mark.parametrize("url", [
    "/w/..%2f..%2fetc%2fpasswd", "/w/wiki/..%2F..%2F..%2Fetc%2Fpasswd", "/w/%2e%2e/secret",
    "/w/.git/config", "/edit/.git/config", "/w/.veriwiki/index", "/edit/wiki/%2e%2e/x",
    "/w/wiki%5c..%5cx", "/file/.git/HEAD", "/folder/.veriwiki",
])
def test_web_traversal_refused(client: Any, url: str) -> None:
    r = client.get(url)
    assert r.status_code in (400, 404), (url, r.status_code)
    assert "root:" not in r.text and "[core]" not in r.text


def test_web_vault_path_refuses_tricks() -> None:
    from veriwiki.errors import InputError
    from veriwiki.web.security import vault_path

    assert vault_path("wiki/ml/Attention") == "wiki/ml/Attention.md"
    assert vault_path("wiki/A.md") == "wiki/A.md"
    for bad in ("../etc/passwd", "wiki/../../x", "/etc/passwd", "//host/x", ".git/config",
                "wiki/.hidden", "wiki//x", "wiki\\x", "wiki/a\x00b", ".veriwiki/index"):
        with pytest.raises(InputError):
            vault_path(bad)


def test_web_token_login(vault_root: Path) -> None:
    from starlette.testclient import TestClient

    from veriwiki.web.app import create_app

    app = create_app(vault_root, token="s3cret-token", bound_host="0.0.0.0")
    with TestClient(app, base_url=BASE) as c:
        r = c.get("/w/wiki/Attention", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        assert c.get("/api/search?q=attention").status_code == 401
        login = c.get("/login")
        assert login.status_code == 200 and 'name="token"' in login.text
        token = csrf_of(login.text)
        r = c.post("/login", data={"csrf": token, "token": "wrong", "next": "/"})
        assert r.status_code == 401
        assert c.get("/", follow_redirects=False).status_code == 303
        for evil in ("//attacker.example/", "/\\attacker.example", "https://x.example/"):
            r = c.post("/login", data={"csrf": token, "token": "s3cret-token", "next": evil},
                       follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/", evil
        r = c.post("/login", data={"csrf": token, "token": "s3cret-token",
                                   "next": "/w/wiki/Attention"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/w/wiki/Attention"
        assert "HttpOnly" in r.headers["set-cookie"]
        assert c.get("/w/wiki/Attention").status_code == 200
    with TestClient(app, base_url=BASE) as c2:  # a script with the bearer token
        assert c2.get("/api/search?q=attention",
                      headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
        assert c2.get("/api/search?q=attention",
                      headers={"Authorization": "Bearer nope"}).status_code == 401


def test_web_security_headers(client: Any) -> None:
    r = client.get("/w/wiki/Attention")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"


# -- reading ----------------------------------------------------------------------------


def test_web_page_view_follows_the_site_contract(client: Any) -> None:
    r = client.get("/w/wiki/Grounded")
    assert r.status_code == 200
    html = r.text
    assert '<article class="page" data-path="wiki/Grounded.md"' in html
    verdicts = re.findall(r'class="citation" data-source="([^"]+)" data-verdict="([^"]+)"',
                          html)
    assert ("llama2", "verified") in verdicts
    assert ("llama2", "quote-not-found") in verdicts
    assert ("llama2", "number-mismatch") in verdicts
    assert ("nosuch", "unknown-source") in verdicts
    assert re.search(r'class="badge" data-claims="4" data-verified="1" data-errors="\d+"', html)
    assert 'href="/source/llama2/v1"' in html  # the popover links to the source page
    assert 'class="broken-link"' in html  # [[No Such Page]]
    assert '<a class="internal" href="/w/wiki/Attention"' in html
    assert 'class="local-graph"' in html
    assert "quote-not-found" in html.split('class="page-findings"')[1]


def test_web_hostile_page_is_escaped(client: Any) -> None:
    from urllib.parse import quote

    r = client.get("/w/" + quote("wiki/Payload <script>window.__pwned=1<!--"))
    assert r.status_code == 200
    assert "<script>window.__pwned" not in r.text
    assert "onerror=" not in r.text.replace("onerror=window", "").lower() or \
        "<img src=x onerror" not in r.text
    assert 'data-verdict="verified">forged chip' not in r.text


def test_web_home_tags_sources_and_search(client: Any) -> None:
    assert "Attention" in client.get("/").text
    assert client.get("/tags/demo").status_code == 200
    assert "Grounded" in client.get("/tags/demo").text
    src = client.get("/source/llama2/v1")
    assert src.status_code == 200 and '<mark class="cited"' in src.text
    hits = client.get("/api/search?q=rotary").json()["hits"]
    assert hits and hits[0]["url"].startswith("/w/")
    assert any("Rotary" in h["title"] for h in hits)
    page = client.get("/search?q=rotary")
    assert page.status_code == 200 and "Rotary" in page.text
    assert client.get("/w/wiki/No Such Page").status_code == 404
    long = client.get("/api/search?q=" + "x" * 400)
    assert long.status_code == 400 and "error" in long.json()


# -- preview, save, merge ---------------------------------------------------------------


def test_web_preview_shows_findings_of_unsaved_text(client: Any) -> None:
    token = csrf_of(client.get("/").text)
    base = "---\ntitle: Draft\n---\n# Draft\n\n"
    wrong = client.post("/api/preview", json={"path": "wiki/Draft.md", "text": base + WRONG_QUOTE},
                        headers={"X-CSRF-Token": token}).json()
    rules = [f["rule"] for f in wrong["findings"]]
    assert "quote-not-found" in rules, wrong
    assert 'data-verdict="quote-not-found"' in wrong["html"]
    right = client.post("/api/preview", json={"path": "wiki/Draft.md", "text": base + RIGHT_QUOTE},
                        headers={"X-CSRF-Token": token}).json()
    assert "quote-not-found" not in [f["rule"] for f in right["findings"]], right
    assert 'data-verdict="verified"' in right["html"]
    assert right["badge"]["verified"] == right["badge"]["claims"] == 1


def test_web_save_is_one_commit_with_the_message(client: Any, vault_root: Path) -> None:
    before = git_log(vault_root)
    form = editor_form(client, "wiki/KV Cache")
    text = form["text"].replace("\n", "\r\n") + "\r\nSaved from the web.\r\n"
    r = client.post("/edit/wiki/KV Cache", data={**form, "text": text,
                                                  "message": "note from the browser"},
                    follow_redirects=False)
    assert r.status_code == 303 and "?saved=" in r.headers["location"]
    after = git_log(vault_root)
    assert len(after) == len(before) + 1
    assert after[0] == "veriwiki: edit | note from the browser"
    on_disk = (vault_root / "wiki" / "KV Cache.md").read_bytes()
    assert on_disk.endswith(b"\nSaved from the web.\n") and b"\r\n" not in on_disk
    view = client.get(r.headers["location"])
    assert "Saved from the web." in view.text and "Saved as commit" in view.text


def test_web_save_after_outside_write_shows_clean_merge(client: Any, vault_root: Path) -> None:
    page = vault_root / "wiki" / "Transformer.md"
    form = editor_form(client, "wiki/Transformer")
    mine = form["text"] + "\nMy line at the end.\n"
    outside = "Outside line at the top.\n" + form["text"]
    page.write_text(outside, encoding="utf-8")  # another editor saves meanwhile
    before = git_log(vault_root)
    r = client.post("/edit/wiki/Transformer", data={**form, "text": mine, "message": "mine"})
    assert r.status_code == 409
    assert 'data-clean="yes"' in r.text
    assert page.read_text(encoding="utf-8") == outside  # nothing overwritten
    assert git_log(vault_root) == before
    merged_form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text))
    merged = re.search(r'<textarea id="merged-text" name="text"[^>]*>\n(.*?)</textarea>', r.text,
                       re.S)
    assert merged
    import html as htmllib

    merged_text = htmllib.unescape(merged.group(1))
    assert "Outside line at the top." in merged_text and "My line at the end." in merged_text
    r = client.post("/edit/wiki/Transformer", data={**merged_form, "text": merged_text,
                                                    "message": "merged"},
                    follow_redirects=False)
    assert r.status_code == 303
    final = page.read_text(encoding="utf-8")
    assert "Outside line at the top." in final and "My line at the end." in final
    assert git_log(vault_root)[0] == "veriwiki: edit | merged"


def test_web_two_tabs_conflict_loses_nothing(client: Any, vault_root: Path) -> None:
    page = vault_root / "wiki" / "Rotary Position Embedding.md"
    tab1 = editor_form(client, "wiki/Rotary Position Embedding")
    tab2 = editor_form(client, "wiki/Rotary Position Embedding")
    lines = tab1["text"].split("\n")
    last = max(i for i, line in enumerate(lines) if line.strip())
    first = list(lines)
    first[last] = "Tab one rewrote this line."
    second = list(lines)
    second[last] = "Tab two rewrote this line."
    r1 = client.post("/edit/wiki/Rotary Position Embedding",
                     data={**tab1, "text": "\n".join(first), "message": "tab 1"},
                     follow_redirects=False)
    assert r1.status_code == 303
    r2 = client.post("/edit/wiki/Rotary Position Embedding",
                     data={**tab2, "text": "\n".join(second), "message": "tab 2"})
    assert r2.status_code == 409 and 'data-clean="no"' in r2.text
    assert "Tab two rewrote this line." in r2.text  # the second tab's text is on screen
    assert "Tab one rewrote this line." in r2.text
    assert "Tab one rewrote this line." in page.read_text(encoding="utf-8")
    # saving the text with its conflict markers is refused
    import html as htmllib

    marked = htmllib.unescape(re.search(
        r'<textarea id="merged-text" name="text"[^>]*>\n(.*?)</textarea>', r2.text, re.S).group(1))
    assert "<<<<<<< your edit" in marked
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r2.text))
    refused = client.post("/edit/wiki/Rotary Position Embedding",
                          data={**fields, "text": marked, "message": "markers"})
    assert refused.status_code == 400 and "conflict markers" in refused.text
    resolved = re.sub(r"<<<<<<< your edit\n|=======\n.*?>>>>>>> the file now\n", "", marked,
                      flags=re.S)
    ok = client.post("/edit/wiki/Rotary Position Embedding",
                     data={**fields, "text": resolved, "message": "resolved"},
                     follow_redirects=False)
    assert ok.status_code == 303
    assert "Tab two rewrote this line." in page.read_text(encoding="utf-8")


def test_web_forged_base_refused(client: Any, vault_root: Path) -> None:
    form = editor_form(client, "wiki/Attention")
    forged = base64.b64encode(b"something else").decode()
    r = client.post("/edit/wiki/Attention", data={**form, "base": forged, "text": "x"})
    assert r.status_code == 409 and "does not match" in r.text


def test_web_new_rename_delete(client: Any, vault_root: Path) -> None:
    token = csrf_of(client.get("/new").text)
    r = client.post("/new", data={"csrf": token, "name": "Web Made", "type": ""},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/edit/wiki/Web%20Made"
    assert (vault_root / "wiki" / "Web Made.md").is_file()
    linker = editor_form(client, "wiki/Attention")
    r = client.post("/edit/wiki/Attention", data={
        **linker, "text": linker["text"] + "\nSee [[Web Made]].\n", "message": "link"},
        follow_redirects=False)
    assert r.status_code == 303
    assert 'name="new_name" type="text" value="Web Made"' in client.get("/edit/wiki/Web Made").text
    r = client.post("/rename/wiki/Web Made", data={"csrf": token, "new_name": "Web Renamed"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/w/wiki/Web%20Renamed")
    assert "[[Web Renamed]]" in (vault_root / "wiki" / "Attention.md").read_text()
    refused = client.post("/delete/wiki/Web Renamed", data={"csrf": token})
    assert refused.status_code == 409 and "wiki/Attention.md" in refused.text
    assert (vault_root / "wiki" / "Web Renamed.md").is_file()
    made = client.post("/new", data={"csrf": token, "name": "Lonely", "type": ""},
                       follow_redirects=False)
    assert made.status_code == 303
    gone = client.post("/delete/wiki/Lonely", data={"csrf": token}, follow_redirects=False)
    assert gone.status_code == 303
    assert not (vault_root / "wiki" / "Lonely.md").exists()
    assert git_log(vault_root)[0] == "veriwiki: rm | wiki/Lonely.md"


def test_web_outside_change_is_noticed(client: Any, vault_root: Path) -> None:
    start = client.get("/api/status").json()["generation"]
    page = vault_root / "wiki" / "Grouped-Query Attention.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nWritten by another program.\n",
                    encoding="utf-8")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if client.get("/api/status").json()["generation"] > start:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the outside write was not noticed")
    view = client.get("/w/wiki/Grouped-Query Attention")
    assert "Written by another program." in view.text
    hits = client.get("/api/search?q=another program").json()["hits"]
    assert any(h["path"] == "wiki/Grouped-Query Attention.md" for h in hits)


def test_web_timeout_is_a_clear_error(client: Any) -> None:
    from veriwiki.web.context import WorkTimeout, error_message

    status, message, hint = error_message(WorkTimeout("the search", 5))
    assert status == 504 and "the search took longer than 5 s" in message and hint


# -- ask ----------------------------------------------------------------------------------


def test_web_ask_queues_and_shows_verified_answer(vault_root: Path) -> None:
    from starlette.testclient import TestClient

    from veriwiki.ai.fake import FakeModel
    from veriwiki.web.app import create_app

    release = threading.Event()  # the model answers only when the test lets it

    def answer(prompt: str) -> dict[str, Any]:
        assert release.wait(30), "the test never let the model answer"
        found = re.search(r"^\[(\d+)\] .*2 trillion.*$", prompt, flags=re.M)
        refs = [int(found.group(1))] if found else [1]
        return {"answer": [{"sentence": "Llama 2 was pretrained on 2 trillion tokens.",
                            "refs": refs},
                           {"sentence": "Llama 2 was pretrained on 9 trillion tokens.",
                            "refs": refs}]}

    writer = FakeModel(answer)
    with TestClient(create_app(vault_root, ask_model=writer, watch=False),
                    base_url=BASE) as c:
        token = csrf_of(c.get("/ask").text)
        assert c.post("/ask", data={"question": "how many tokens?"}).status_code == 403
        r = c.post("/ask", data={"csrf": token, "question": "How many tokens was Llama 2 "
                                                             "pretrained on?"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/ask/")
        job = r.headers["location"].rsplit("/", 1)[1]
        page = c.get(f"/ask/{job}")  # the model is held: the job is still waiting
        assert 'http-equiv="refresh"' in page.text  # waiting pages refresh themselves
        assert c.get(f"/api/ask/{job}").json()["state"] in ("queued", "running")
        release.set()
        deadline = time.monotonic() + 30
        while True:
            status = c.get(f"/api/ask/{job}").json()
            if status["state"] not in ("queued", "running") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert status["state"] == "done", status
        assert status["answer"]["verification"] == {"sentences": 2, "verified": 1}
        page = c.get(f"/ask/{job}").text
        assert 'data-verified="yes">Llama 2 was pretrained on 2 trillion tokens.' in page
        assert "[unverified] Llama 2 was pretrained on 9 trillion tokens." in page
        assert 'href="/w/wiki/Grounded#L' in page  # the citation links to its line
        assert 'http-equiv="refresh"' not in page
        assert len(writer.prompts) == 1
        empty = c.post("/ask", data={"csrf": token, "question": "  ?? "})
        assert empty.status_code == 400 and "empty" in empty.text
        assert c.get("/ask/nosuchjob").status_code == 404


def test_web_page_check_agrees_with_check_vault(vault_root: Path, client: Any) -> None:
    """The app's one-page check gives, on every page, exactly the findings ``check``
    gives there for the rules it runs."""
    from veriwiki.services.check import check_vault
    from veriwiki.vault import open_vault
    from veriwiki.web.pagecheck import check_page, inputs

    ctx = client.app.state.ctx

    def compare() -> list[str]:
        vault = ctx.open_vault()
        report = check_vault(open_vault(vault_root))
        rules = {r.id for r, _ in inputs(ctx).rules}
        problems = []
        for page in vault.index.load_pages():
            from veriwiki.core.parse import parse_page

            text = (vault_root / page.path).read_text(encoding="utf-8")
            mine = sorted(f.to_json().items().__repr__() for f in
                          check_page(ctx, parse_page(page.path, text)))
            theirs = sorted(f.to_json().items().__repr__() for f in report.findings
                            if f.path == page.path and f.rule in rules)
            if mine != theirs:
                problems.append(f"{page.path}:\n  app   {mine}\n  check {theirs}")
        return problems

    problems = ctx.run_sync(compare)
    assert not problems, "\n".join(problems)


def test_web_attachments_images_inline_others_downloaded(client: Any, vault_root: Path) -> None:
    start = client.get("/api/status").json()["generation"]
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (vault_root / "wiki" / "pic.png").write_bytes(png)
    (vault_root / "wiki" / "evil.html").write_text("<script>alert(1)</script>")
    deadline = time.monotonic() + 15
    while client.get("/api/status").json()["generation"] == start:
        assert time.monotonic() < deadline, "adding attachments was not noticed"
        time.sleep(0.2)
    r = client.get("/file/wiki/pic.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content == png
    html = client.get("/file/wiki/evil.html")
    assert html.status_code == 200
    assert html.headers["content-type"] == "application/octet-stream"
    assert html.headers["content-disposition"] == "attachment"
    assert client.get("/file/wiki/nothing.png").status_code == 404


def test_web_source_page_follows_edits(client: Any, vault_root: Path) -> None:
    token = csrf_of(client.get("/new").text)
    assert client.get("/source/llama2/v1").status_code == 200  # the index is built
    made = client.post("/new", data={"csrf": token, "name": "Cites Llama", "type": ""},
                       follow_redirects=False)
    assert made.status_code == 303
    form = editor_form(client, "wiki/Cites Llama")
    saved = client.post("/edit/wiki/Cites Llama", data={
        **form, "text": form["text"] + "\n" + RIGHT_QUOTE + "\n", "message": "cite"},
        follow_redirects=False)
    assert saved.status_code == 303
    source = client.get("/source/llama2/v1").text
    assert re.search(r'<a class="cited-by" href="/w/wiki/Cites%20Llama#cite-\d+-1"', source)


def test_web_serve_needs_a_token_off_loopback() -> None:
    from veriwiki.web.cli import login_token

    assert login_token("127.0.0.1", None) == (None, None)
    assert login_token("::1", None) == (None, None)
    assert login_token("localhost", "given") == ("given", None)
    assert login_token("0.0.0.0", "given") == ("given", None)
    made, note = login_token("0.0.0.0", None)
    assert made and len(made) >= 24 and note and made in note
    other, _ = login_token("192.0.2.7", None)
    assert other and other != made
