"""veriwiki build: the HTML contract, broken links, --strict, reports, search, incremental."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import Veriwiki, describe
from helpers_site import make_site_vault


def _build(vw: Veriwiki, *args: str) -> dict[str, object]:
    proc = vw("build", "--json", *args)
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_build_chips_carry_the_contract(vw: Veriwiki, vault: Path) -> None:
    make_site_vault(vw, vault)
    summary = _build(vw)
    assert summary["pages"] >= 8 and summary["sources"] == 1
    html = (vault / "site" / "wiki" / "Grounded.html").read_text(encoding="utf-8")
    chips = re.findall(r'<span class="citation" data-source="([^"]+)" data-verdict="([^"]+)"',
                       html)
    assert chips == [("llama2", "verified"), ("llama2", "number-mismatch"),
                     ("llama2", "quote-not-found"), ("nosuch", "unknown-source")]
    assert '<q class="cite-quote">trained on 2 trillion tokens of data</q>' in html
    assert "Llama 2 paper (excerpt)" in html and "line 3" in html
    assert '<a class="broken-link" title="no page named' in html
    assert 'href="Attention.html"' in html
    assert "1 / 4 claims verified" in html


def test_build_writes_reports_sources_and_llms_files(vw: Veriwiki, vault: Path) -> None:
    make_site_vault(vw, vault)
    _build(vw, "--base-url", "https://example.org/wiki")
    site = vault / "site"
    for rel in ("index.html", "llms.txt", "llms-full.txt", "_vw/findings.html",
                "_vw/health.html", "_vw/sources/llama2/v1.html", "_vw/sources/index.html",
                "_vw/tags/demo.html", "_vw/search/manifest.json", "_vw/static/site.css"):
        assert (site / rel).is_file(), rel
    source = (site / "_vw/sources/llama2/v1.html").read_text(encoding="utf-8")
    assert re.search(r'<mark class="cited"[^>]*>trained on 2 trillion tokens of data'
                     r'<a class="cited-by" href="../../../wiki/Grounded.html#cite-7-1"', source)
    findings = (site / "_vw/findings.html").read_text(encoding="utf-8")
    assert 'data-rule="broken-link"' in findings and 'data-severity="error"' in findings
    llms = (site / "llms.txt").read_text(encoding="utf-8")
    assert "- [Grounded](<https://example.org/wiki/wiki/Grounded.html>)" in llms
    assert "\\<script\\>" in llms and "<script>" not in llms
    assert "Llama 2 was pretrained on 2 trillion tokens" in (site / "llms-full.txt").read_text(
        encoding="utf-8")


def test_build_strict_exits_1_on_errors_and_still_builds(vw: Veriwiki, vault: Path) -> None:
    make_site_vault(vw, vault)
    proc = vw("build", "--strict")
    assert proc.returncode == 1, describe(proc)
    assert "broken link" in proc.stdout and (vault / "site" / "index.html").is_file()
    clean = vault.parent / "clean"
    assert vw("init", str(clean)).returncode == 0
    proc = vw("build", "--strict", vault=clean)
    assert proc.returncode == 0, describe(proc)
    for rel in ("index.html", "wiki/index.html", "_vw/health.html", "_vw/findings.html"):
        assert (clean / "site" / rel).is_file(), rel
    assert vw("check", vault=clean).returncode == 0  # the site folder is not vault content


def _same_as_cold(vw: Veriwiki, vault: Path) -> None:
    cold_dir = vault.parent / "cold-site"
    _build(vw, "--out", str(cold_dir))
    warm_tree, cold_tree = _tree(vault / "site"), _tree(cold_dir)
    warm_tree.pop(".veriwiki-site.json")
    cold_tree.pop(".veriwiki-site.json")
    assert warm_tree.keys() == cold_tree.keys()
    assert [k for k in warm_tree if warm_tree[k] != cold_tree[k]] == []
    shutil.rmtree(cold_dir)


def test_build_incremental_is_byte_identical_to_cold(vw: Veriwiki, vault: Path) -> None:
    make_site_vault(vw, vault)
    _build(vw)
    page = vault / "wiki" / "Attention.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nOne more sentence.\n",
                    encoding="utf-8")
    assert _build(vw)["rendered"] == 1  # nothing else shows this page's body
    _same_as_cold(vw, vault)
    page.write_text(page.read_text(encoding="utf-8") + "\nNow links [[Grounded]] too.\n",
                    encoding="utf-8")
    _build(vw)  # backlinks of Grounded and the graphs of Attention's neighbours change
    _same_as_cold(vw, vault)
    (vault / "wiki" / "Transformer.md").unlink()
    warm = _build(vw)
    assert int(str(warm["removed"])) >= 1
    assert not (vault / "site" / "wiki" / "Transformer.html").exists()
    _same_as_cold(vw, vault)
    assert _build(vw)["rendered"] == 0


def test_search_first_query_is_small(vw: Veriwiki, vault: Path) -> None:
    make_site_vault(vw, vault)
    _build(vw)
    search = vault / "site" / "_vw" / "search"
    manifest = json.loads((search / "manifest.json").read_text())
    shard = next(k for k in manifest["shards"] if "attention".startswith(k))
    data = json.loads((search / f"t-{shard}.json").read_text())
    assert "attention" in data


def test_build_refuses_a_foreign_nonempty_folder(vw: Veriwiki, vault: Path) -> None:
    other = vault.parent / "precious"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    proc = vw("build", "--out", str(other))
    assert proc.returncode != 0 and "not empty" in proc.stderr
    assert (other / "keep.txt").read_text() == "mine"


def test_build_shows_claims_gone_stale_with_a_new_source_version(vw: Veriwiki, vault: Path,
                                                                  tmp_path: Path) -> None:
    make_site_vault(vw, vault)
    changed = tmp_path / "llama2.md"
    original = (vault / "raw" / "llama2").glob("v1*")
    text = next(iter(original)).read_text(encoding="utf-8")
    changed.write_text(text.replace("trained on 2 trillion tokens of data",
                                    "trained on 2.2 trillion tokens of data"), encoding="utf-8")
    vw.ok("add", str(changed), "--id", "llama2")
    _build(vw)
    site = vault / "site"
    html = (site / "wiki" / "Grounded.html").read_text(encoding="utf-8")
    assert '<span class="citation" data-source="llama2" data-verdict="stale"' in html
    listing = (site / "_vw/sources/llama2/index.html").read_text(encoding="utf-8")
    assert "Claims gone stale with the latest version" in listing
    assert "wiki/Grounded.md:7" in listing
    assert (site / "_vw/sources/llama2/v2.html").is_file()


def test_build_reports_a_page_that_cannot_be_rendered_and_goes_on(
        vw: Veriwiki, vault: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from veriwiki.services import site_pages
    from veriwiki.services.site import build_site
    from veriwiki.vault import open_vault

    make_site_vault(vw, vault)
    real = site_pages.render_page

    def flaky(model: object, path: str) -> str:
        if path == "wiki/Attention.md":
            raise ValueError("renderer bug")
        return real(model, path)  # type: ignore[arg-type]

    monkeypatch.setattr(site_pages, "render_page", flaky)
    monkeypatch.setenv("HOME", vw.env["HOME"])
    report = build_site(open_vault(vault))
    assert report.failed == [("wiki/Attention.md", "ValueError: renderer bug")]
    page = (vault / "site" / "wiki" / "Attention.html").read_text(encoding="utf-8")
    assert "could not be rendered (ValueError: renderer bug)" in page
    assert (vault / "site" / "wiki" / "Grounded.html").is_file()
    monkeypatch.setattr(site_pages, "render_page", real)
    again = build_site(open_vault(vault))
    assert again.failed == [] and again.rendered == 1  # the failed page is tried again


def test_build_never_writes_or_deletes_through_links(vw: Veriwiki, vault: Path,
                                                     tmp_path: Path) -> None:
    """A repository can commit site/ (or links inside it) and a forged manifest."""
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_text("keep me")
    make_site_vault(vw, vault)
    # 1. site/ itself a link leaving the vault
    (vault / "site").symlink_to(outside, target_is_directory=True)
    proc = vw("build")
    assert proc.returncode == 2 and "link" in proc.stderr, proc.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    (vault / "site").unlink()
    # 2. a folder inside site/ a link; a forged manifest naming a file outside
    _build(vw)
    site = vault / "site"
    shutil.rmtree(site / "wiki")
    (site / "wiki").symlink_to(outside, target_is_directory=True)
    proc = vw("build")
    assert proc.returncode == 2 and "link" in proc.stderr, proc.stderr
    assert sorted(p.name for p in outside.iterdir()) == ["victim.txt"]
    (site / "wiki").unlink()
    manifest = json.loads((site / ".veriwiki-site.json").read_text())
    manifest["files"].append("../../outside/victim.txt")
    (site / ".veriwiki-site.json").write_text(json.dumps(manifest))
    proc = vw("build")
    assert proc.returncode == 2 and "not a plain relative path" in proc.stderr, proc.stderr
    assert victim.read_text() == "keep me"


def _in_process_build(vault: Path) -> dict[str, object]:
    from veriwiki.services.site import build_site
    from veriwiki.vault import open_vault

    return build_site(open_vault(vault)).to_json()


@pytest.fixture
def key_audit(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int, int]]:
    """Every page whose key the build did not compute again must have the key a full
    computation gives (per build: incremental?, keys computed, pages)."""
    from veriwiki.render.layout import code_version
    from veriwiki.services import site
    from veriwiki.services.site_model import page_key, page_url

    real = site.pages_to_key
    seen: list[tuple[bool, int, int]] = []

    def audited(model: object, old_keys: dict[str, str], incremental: bool) -> set[str]:
        again = real(model, old_keys, incremental)  # type: ignore[arg-type]
        code = code_version()
        stale = [p for p in model.pages if p not in again  # type: ignore[attr-defined]
                 and page_key(model, p, code) != old_keys[page_url(p)]]  # type: ignore[arg-type]
        assert stale == []
        seen.append((incremental, len(again), len(model.pages)))  # type: ignore[attr-defined]
        return again

    monkeypatch.setattr(site, "pages_to_key", audited)
    return seen


def test_incremental_caches_follow_every_kind_of_change(
        vw: Veriwiki, vault: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        key_audit: list[tuple[bool, int, int]]) -> None:
    """Site state, page keys and the search table kept between builds: after each kind
    of change the incremental build equals a build into an empty folder, byte for byte."""
    monkeypatch.setenv("HOME", vw.env["HOME"])
    monkeypatch.setenv("VERIWIKI_TODAY", "2026-03-01")
    vw.env["VERIWIKI_TODAY"] = "2026-03-01"
    make_site_vault(vw, vault)
    (vault / "data").mkdir(exist_ok=True)
    facts = vault / "data" / "facts.csv"
    facts.write_text("entity,attribute,value,unit\nWidget,mass,5,kg\n", encoding="utf-8")
    (vault / "wiki" / "Widget.md").write_text(
        "---\ntitle: Widget\n---\n# Widget\n\nIt weighs {{Widget.mass}}. See [[Lonely]].\n\n"
        "![[Grounded]]\n", encoding="utf-8")
    (vault / "wiki" / "Lonely.md").write_text("# Lonely\n\nOnly Widget links here.\n",
                                              encoding="utf-8")
    _in_process_build(vault)
    assert key_audit[-1][0] is False  # the first build computes every key

    # a page's body: only it (and nothing around it) is keyed and rendered again
    page = vault / "wiki" / "Attention.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nA searchable zebrafish.\n",
                    encoding="utf-8")
    assert _in_process_build(vault)["rendered"] == 1
    incremental, keyed, total = key_audit[-1]
    assert incremental and keyed < total
    _same_as_cold(vw, vault)
    search = (vault / "site" / "_vw" / "search")
    assert any("zebrafish" in p.read_text(encoding="utf-8") for p in search.glob("t-*.json"))

    # a link added: the target's backlinks and the graphs of the neighbours change
    page.write_text(page.read_text(encoding="utf-8") + "\nNow links [[Lonely]] too.\n",
                    encoding="utf-8")
    _in_process_build(vault)
    assert key_audit[-1][0] and key_audit[-1][1] < key_audit[-1][2]
    assert "Attention.html" in (vault / "site" / "wiki" / "Lonely.html").read_text(
        encoding="utf-8")
    _same_as_cold(vw, vault)

    # a summary changed: shown in the backlinks of the pages it links to
    text = page.read_text(encoding="utf-8")
    old_summary = "summary: Weighting every value by the similarity of its key to a query."
    assert old_summary in text
    page.write_text(text.replace(old_summary, "summary: A zebrafish summary."),
                    encoding="utf-8")
    _in_process_build(vault)
    assert key_audit[-1][0] and key_audit[-1][1] < key_audit[-1][2]
    assert "A zebrafish summary." in (vault / "site" / "wiki" / "Lonely.html").read_text(
        encoding="utf-8")
    _same_as_cold(vw, vault)

    # a link removed: Lonely gets an orphan finding without its own file changing
    widget = vault / "wiki" / "Widget.md"
    widget.write_text(widget.read_text(encoding="utf-8").replace(" See [[Lonely]].", ""),
                      encoding="utf-8")
    page.write_text(page.read_text(encoding="utf-8").replace("Now links [[Lonely]] too.", ""),
                    encoding="utf-8")
    _in_process_build(vault)
    assert key_audit[-1][0] and key_audit[-1][1] < key_audit[-1][2]
    _same_as_cold(vw, vault)

    # an embedded page changed: the page embedding it is rendered again
    grounded = vault / "wiki" / "Grounded.md"
    grounded.write_text(grounded.read_text(encoding="utf-8") + "\nEmbedded words.\n",
                        encoding="utf-8")
    _in_process_build(vault)
    assert "Embedded words." in (vault / "site" / "wiki" / "Widget.html").read_text(
        encoding="utf-8")
    _same_as_cold(vw, vault)

    # a changed fact
    facts.write_text("entity,attribute,value,unit\nWidget,mass,7,kg\n", encoding="utf-8")
    _in_process_build(vault)
    assert 'data-fact="Widget.mass">7 kg<' in (vault / "site" / "wiki" / "Widget.html"
                                              ).read_text(encoding="utf-8")
    _same_as_cold(vw, vault)

    # a renamed link target (links rewritten by mv), then a plain rename breaking links
    vw.ok("mv", "Transformer", "Transformer Model")
    _in_process_build(vault)
    assert (vault / "site" / "wiki" / "Transformer Model.html").is_file()
    _same_as_cold(vw, vault)
    (vault / "wiki" / "KV Cache.md").rename(vault / "wiki" / "Key Value Cache.md")
    _in_process_build(vault)
    _same_as_cold(vw, vault)

    # a new source version: the claim citing it goes stale
    changed = tmp_path / "llama2.md"
    text = next(iter((vault / "raw" / "llama2").glob("v1*"))).read_text(encoding="utf-8")
    changed.write_text(text.replace("trained on 2 trillion tokens of data",
                                    "trained on 2.2 trillion tokens of data"), encoding="utf-8")
    vw.ok("add", str(changed), "--id", "llama2")
    _in_process_build(vault)
    assert 'data-verdict="stale"' in (vault / "site" / "wiki" / "Grounded.html").read_text(
        encoding="utf-8")
    _same_as_cold(vw, vault)

    # a new day: chips show the check date, every page is rendered again
    monkeypatch.setenv("VERIWIKI_TODAY", "2026-03-02")
    vw.env["VERIWIKI_TODAY"] = "2026-03-02"
    summary = _in_process_build(vault)
    assert summary["rendered"] == summary["pages"]
    _same_as_cold(vw, vault)
    assert _in_process_build(vault)["rendered"] == 0
    assert key_audit[-1][0] and key_audit[-1][1] == 0


def test_damaged_site_caches_cost_time_never_output(vw: Veriwiki, vault: Path) -> None:
    """Cut, garbled or mismatched caches in .veriwiki/ are ignored or recomputed."""
    make_site_vault(vw, vault)
    _build(vw)
    cache = vault / ".veriwiki"
    state, keys = cache / "site-store.db", cache / "site-keys.json"
    terms = table = cache / "site-terms.db"
    for f in (state, keys, terms, table):
        assert f.is_file(), f
    page = vault / "wiki" / "Attention.md"
    for n, damage in enumerate((
            lambda: state.write_bytes(state.read_bytes()[: len(state.read_bytes()) // 2]),
            lambda: terms.write_bytes(terms.read_bytes()[: len(terms.read_bytes()) // 2]),
            lambda: table.write_text('{"v": 1, "table": {"attention": [0, 99]}}'),
            lambda: keys.write_text(keys.read_text().replace('"token":"', '"token":"x')),
            lambda: state.write_text("not a database\n"))):
        damage()
        page.write_text(page.read_text(encoding="utf-8") + f"\nEdit {n} zebrafish.\n",
                        encoding="utf-8")
        _build(vw)
        _same_as_cold(vw, vault)
