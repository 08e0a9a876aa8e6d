"""What a large real markdown corpus (bench/real_corpus.py) showed, as small cases; and
the corpus script's own layout, on archives made here (no registry is asked)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from veriwiki.core.frontmatter import read_frontmatter
from veriwiki.core.model import Link
from veriwiki.core.resolve import PageNames, Resolver
from veriwiki.render.markdown import LinkView, render_markdown
from veriwiki.render.sanitize import inline_tag

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "veriwiki")


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("real_corpus", ROOT / "bench" / "real_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["real_corpus"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _md_link(fragment: str, target: str = "wiki/Guide.md") -> Link:
    return Link("markdown", target, fragment, None, f"[x]({target}#{fragment})", 1, 1)


# -- repeated headings: GitHub's -1, -2 anchors ------------------------------------------


def test_resolve_repeated_heading_takes_github_suffix() -> None:
    """READMEs' tables of contents link the second 'Usage' heading as '#usage-1' (the
    anchor GitHub and veriwiki's own rendered page give it); it was a broken link."""
    page = PageNames("wiki/Guide.md", "Guide", (), ("Usage", "Install", "Usage", "Usage"), ())
    res = Resolver([page])
    for fragment in ("usage", "usage-1", "usage-2", "install"):
        assert res.resolve(_md_link(fragment), "wiki/Guide.md").status == "ok", fragment
    missing = res.resolve(_md_link("usage-3"), "wiki/Guide.md")
    assert missing.status == "broken"
    assert missing.problem == "wiki/Guide.md has no heading 'usage-3'"
    # a heading seen once has no suffixed anchor, and wikilinks take heading text only
    assert res.resolve(_md_link("install-1"), "wiki/Guide.md").status == "broken"
    wiki = Link("wikilink", "Guide", "usage-1", None, "[[Guide#usage-1]]", 1, 1)
    assert res.resolve(wiki, "wiki/Other.md").status == "broken"


def _vault(root: Path, pages: dict[str, str]) -> Path:
    (root / "wiki").mkdir(parents=True)
    (root / "veriwiki.toml").write_text('[vault]\nname = "t"\n', encoding="utf-8")
    for rel, text in pages.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def _findings(vault: Path) -> list[dict[str, object]]:
    p = subprocess.run([CLI, "--vault", str(vault), "check", "--json"], capture_output=True,
                       text=True, timeout=300, check=False)
    assert p.returncode in (0, 1), p.stderr
    found: list[dict[str, object]] = json.loads(p.stdout)["findings"]
    return found


def test_check_readme_toc_with_repeated_headings_has_no_broken_link(tmp_path: Path) -> None:
    """The README shape that gave the false broken links, through the real CLI check."""
    readme = ("# Zabbix agent\n\n- [Local setup](#local-setup)\n"
              "- [Local setup, proxy](#local-setup-1)\n- [Gone](#local-setup-2)\n\n"
              "## Agent\n\n### Local setup\n\nText.\n\n## Proxy\n\n### Local setup\n\nMore.\n")
    vault = _vault(tmp_path / "v", {"wiki/README.md": readme})
    broken = [(f["line"], f["message"]) for f in _findings(vault) if f["rule"] == "broken-link"]
    assert broken == [(5, "link #local-setup-2: wiki/README.md has no heading 'local-setup-2'")]


def test_resolve_html_anchor_in_heading_is_a_link_target() -> None:
    """npm's libnpm* READMEs anchor headings with HTML and link them from a table of
    contents ('#opts'); GitHub and npm's site honour it. 26 false broken links."""
    heads = ('<a name="opts"></a> `opts` for `libnpmorg` commands',
             "<A class='x' ID='set-role'></A> `org.set()`", '<b id="bold">not an a tag</b>')
    res = Resolver([PageNames("wiki/Guide.md", "Guide", (), heads, ())])
    assert res.resolve(_md_link("opts"), "wiki/Guide.md").status == "ok"
    assert res.resolve(_md_link("set-role"), "wiki/Guide.md").status == "ok"
    assert res.resolve(_md_link("bold"), "wiki/Guide.md").status == "broken"
    wiki = Link("wikilink", "Guide", "opts", None, "[[Guide#opts]]", 1, 1)
    assert res.resolve(wiki, "wiki/Other.md").status == "broken"  # wikilinks: heading text


def test_resolve_html_anchors_cost_linear_time() -> None:
    """A heading of many unclosed '<a ' tags: each is read up to the next '<' only."""
    head = "<a x " * 40_000 + '<a name="end">'
    res = Resolver([PageNames("wiki/Guide.md", "Guide", (), (head,), ())])
    assert res.resolve(_md_link("end"), "wiki/Guide.md").status == "ok"


def test_check_html_anchor_on_its_own_line_is_a_link_target(tmp_path: Path) -> None:
    """safer-buffer's porting guide: '<a id="variant-2"></a>' above the heading (6 false
    broken links in the real corpus before anchors outside headings were kept)."""
    text = ("# Porting\n\nSee [variant 2](#variant-2), [inline](#inl), [named](#Named), "
            "[in code](#code-only), [fenced](#fenced) and [[Porting#variant-2]].\n\n"
            '<a id="variant-2"></a>\n## Variant 2: Use a polyfill\n\n'
            'Text with an inline <a name="inl"></a> anchor and <A NAME=Named>one</A>.\n\n'
            'Write `<a id="code-only">` to make one.\n\n```html\n<a id="fenced"></a>\n```\n')
    vault = _vault(tmp_path / "v", {"wiki/Porting.md": text})
    broken = sorted(f["message"] for f in _findings(vault) if f["rule"] == "broken-link")
    # a wikilink's #fragment names a heading (as in Obsidian), not an HTML anchor
    assert broken == ["link #code-only: wiki/Porting.md has no heading 'code-only'",
                      "link #fenced: wiki/Porting.md has no heading 'fenced'",
                      "link [[Porting#variant-2]]: wiki/Porting.md has no heading 'variant-2'"]


def test_check_html_anchor_in_heading_through_the_cli(tmp_path: Path) -> None:
    readme = ("# libnpmorg\n\n- [opts](#opts)\n- [gone](#gone)\n\n"
              '#### <a name="opts"></a> `opts` for `libnpmorg` commands\n\nText.\n')
    vault = _vault(tmp_path / "v", {"wiki/README.md": readme})
    broken = [f["message"] for f in _findings(vault) if f["rule"] == "broken-link"]
    assert broken == ["link #gone: wiki/README.md has no heading 'gone'"]


def test_frontmatter_closed_with_text_run_on_points_at_that_line(tmp_path: Path) -> None:
    """124 PatternFly pages end their frontmatter with '---## Alert examples': the error
    said only 'never closed' at line 1."""
    text = "---\nid: Alert\nsection: components\n---## Alert examples\n\nBody.\n"
    err = read_frontmatter(text).error
    assert err is not None and (err.line, err.column) == (4, 4)
    assert err.message == (
        "frontmatter opened with '---' on line 1 is never closed: line 4 starts with '---' "
        "but has more text after it; put the closing '---' on a line of its own")
    plain = read_frontmatter("---\nid: Alert\n\n----\nBody\n").error
    assert plain is not None and (plain.line, plain.message) == (
        1, "frontmatter opened with '---' on line 1 is never closed")
    vault = _vault(tmp_path / "v", {"wiki/Alert.md": text})
    bad = [(f["line"], f["message"]) for f in _findings(vault)
           if f["rule"] == "invalid-frontmatter"]
    assert bad == [(4, err.message)]


class _NoCtx:
    """A render context for text that links, cites and embeds nothing."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the renderer asked for {name}")


def test_render_readme_html_anchors_as_empty_spans_keeps_other_tags_as_text() -> None:
    """'#### <a name="opts"></a> `opts`' rendered the tags as text in the heading (1,627
    such anchors in the real corpus); GitHub shows nothing for them but a place a link
    to #opts lands: an empty span with the id."""
    text = ('#### <a name="opts"></a> `opts` for commands\n\n'
            "Go <A ID='x'/> on, <a id=y>kept words</a> and <a href=\"/z\">a link</a>.\n")
    html = render_markdown(text, _NoCtx()).html  # type: ignore[arg-type]
    assert '"><span id="opts"></span> <code>opts</code> for commands<a class="anchor"' in html
    assert 'Go <span id="x"></span> on, <span id="y"></span>kept words' in html
    assert "&lt;a name" not in html and "&lt;A ID" not in html and "&lt;a id" not in html
    assert "kept words and " in html
    # a link written as HTML stays text, its </a> too (only an anchor's </a> is dropped)
    assert '&lt;a href="/z"&gt;a link&lt;/a&gt;.' in html
    assert inline_tag('<a name="x" onclick="y()">') == '&lt;a name="x" onclick="y()"&gt;'


def test_render_contents_list_shows_heading_words_not_their_source() -> None:
    """The sidebar listed '`generateText`' and '<a name="opts"></a> `opts` for ...'."""
    text = ('## `generateText`\n\n#### <a name="opts"></a> `opts` for *the* '
            '[CLI](https://x.example)\n\n## [[Known|the known page]]\n\n## <b></b>\n')
    body = render_markdown(text, _Links())  # type: ignore[arg-type]
    assert [(level, words) for level, words, _ in body.toc] == [
        (2, "generateText"), (4, "opts for the CLI"), (2, "the known page"), (2, "<b></b>")]
    assert [anchor for _, _, anchor in body.toc] == [
        "generatetext", "a-nameoptsa-opts-for-the-clihttpsxexample", "knownthe-known-page",
        "bb"]  # anchors unchanged: links and the check resolve them as before


class _Links(_NoCtx):
    def link(self, kind: str, target: str, fragment: str | None, raw: str) -> LinkView:
        return LinkView(f"{target}.html", target, path=f"wiki/{target}.md")


# -- bench/real_corpus.py: layout ---------------------------------------------------------


def _tgz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _deb(path: Path, files: dict[str, bytes]) -> Path:
    """A Debian package: an ar archive holding debian-binary, control and data tarballs."""
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:xz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    out = bytearray(b"!<arch>\n")
    for name, body in ((b"debian-binary", b"2.0\n"), (b"control.tar.xz", b"x"),
                       (b"data.tar.xz", data.getvalue())):
        out += name.ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6)
        out += b"100644".ljust(8) + str(len(body)).encode().ljust(10) + b"`\n" + body
        if len(body) % 2:
            out += b"\n"
    path.write_bytes(bytes(out))
    return path


def test_real_corpus_places_members_unmodified(tmp_path: Path) -> None:
    rc = _corpus()
    sources = (
        rc.Source("npm", "@x/docs", "1.0.0", "MIT", "package/docs/", "xdocs", "docs"),
        rc.Source("pypi", "colls", "2.0", "GPL-3.0", "", "colls", "collections"),
        rc.Source("debian", "wikipkg", "3-1", "GPL-2+", "./usr/share/w/", "w", "a wiki"),
    )
    page = b"---\ntitle: A\n---\n# A\n\nSee [b](/guide/b) and [[c]].\r\n"
    _tgz(tmp_path / "x-docs-1.0.0.tgz", {
        "package/docs/a.md": page, "package/docs/guide/b.mdx": b"# B\n",
        "package/docs/.hidden/c.md": b"# C\n", "package/docs/x.js": b"1",
        "package/docs/node_modules/dep/README.md": b"# dep\n",
        "package/README.md": b"# outside the prefix\n"})
    with zipfile.ZipFile(tmp_path / "colls-2.0-py3-none-any.whl", "w") as z:
        z.writestr("ansible_collections/ns/c/README.md", "# c\n")
        z.writestr("ansible_collections/ns/c/plugin.py", "x = 1\n")
    _deb(tmp_path / "wikipkg_3-1_all.deb", {"./usr/share/w/index.mdwn": b"[[other]]\n",
                                            "./usr/share/w/other.mdwn": b"Other.\n"})
    rc.SOURCES = sources
    vault = tmp_path / "vault"
    manifest = rc.build(tmp_path, vault, offline=True)
    pages = sorted(p.relative_to(vault).as_posix() for p in (vault / "wiki").rglob("*.md"))
    assert pages == ["wiki/colls/ansible_collections/ns/c/README.md", "wiki/w/index.md",
                     "wiki/w/other.md", "wiki/xdocs/_hidden/c.md", "wiki/xdocs/a.md",
                     "wiki/xdocs/guide/b.md", "wiki/xdocs/nm/dep/README.md"]
    assert (vault / "wiki/xdocs/a.md").read_bytes() == page  # bytes as shipped, CRLF too
    assert manifest["files"] == 7
    assert manifest["renamed"] == {"wiki/w/index.md": "./usr/share/w/index.mdwn",
                                   "wiki/w/other.md": "./usr/share/w/other.mdwn",
                                   "wiki/xdocs/guide/b.md": "package/docs/guide/b.mdx"}
    npm = manifest["sources"][0]
    digest = hashlib.sha256((tmp_path / "x-docs-1.0.0.tgz").read_bytes()).hexdigest()
    assert (npm["name"], npm["files"], npm["sha256"]) == ("@x/docs", 4, digest)
    assert npm["bytes"] == len(page) + len(b"# B\n# C\n# dep\n")
    assert json.loads((vault / rc.MANIFEST_NAME).read_text(encoding="utf-8")) == manifest
    log = subprocess.run(["git", "-C", str(vault), "log", "--format=%s"], capture_output=True,
                         text=True, check=True).stdout
    assert log == "real corpus\n"
    # the vault is one veriwiki reads: a site route finds the .mdx page placed as .md
    broken = [f for f in _findings(vault) if f["rule"] == "broken-link"]
    assert broken == []


def test_real_corpus_refuses_missing_archive_offline_and_a_full_folder(tmp_path: Path) -> None:
    rc = _corpus()
    rc.SOURCES = (rc.Source("npm", "gone", "1.0.0", "MIT", "package/", "gone", "x"),)
    with pytest.raises(rc.CorpusError, match=r"gone 1\.0\.0 is not in .* \(--offline\)"):
        rc.build(tmp_path, tmp_path / "vault", offline=True)
    assert rc.main([str(tmp_path), "--offline"]) == 1
    _tgz(tmp_path / "gone-1.0.0.tgz", {"package/a.md": b"# a\n"})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(rc.CorpusError, match="exists and is not empty"):
        rc.build(tmp_path, tmp_path / "full", offline=True)
    assert (tmp_path / "full" / "keep.txt").read_text(encoding="utf-8") == "mine"


def test_messages_name_a_few_pages_not_every_namesake(tmp_path: Path) -> None:
    """40 READMEs: each duplicate-title finding and each ambiguous link names five others
    and counts the rest (the real corpus's findings page was 29 MB, most of it READMEs
    listing each other: messages grew with the square of the namesakes)."""
    pages = {f"wiki/p{i:02}/README.md": f"# Read me {i}\n\nText.\n" for i in range(40)}
    pages["wiki/Hub.md"] = "# Hub\n\nSee [[README]].\n"
    vault = _vault(tmp_path / "v", pages)
    found = _findings(vault)
    dup = [f["message"] for f in found if f["rule"] == "duplicate-title"]
    assert len(dup) == 40
    assert dup[0] == ("title 'README' is also claimed by wiki/p01/README.md, wiki/p02/README.md,"
                      " wiki/p03/README.md, wiki/p04/README.md, wiki/p05/README.md and 34 more")
    amb = [f["message"] for f in found if f["rule"] == "ambiguous-link"]
    assert amb == ["link [[README]]: 'README' matches 40 pages: wiki/p00/README.md, "
                   "wiki/p01/README.md, wiki/p02/README.md, wiki/p03/README.md, "
                   "wiki/p04/README.md and 35 more"]
