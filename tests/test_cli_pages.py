"""Page operations, search and check through the real CLI, real git and real files."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe, write

LOG_ENTRY = r"^- \d{{4}}-\d\d-\d\d \d\d:\d\d \*\*{op}\*\* {subject}$"

ATTENTION = """\
---
title: Attention
aliases: [Self-attention]
tags: [ml]
---
# Attention

Attention lets each token look at the others.

## Multi-Head Attention

Heads run in parallel. ^heads

Self: [[#Multi-Head Attention]] and [[Attention#^heads|this block]].
Up: [hub](../notes/Hub.md#links) and [[Hub]].
"""

HUB = """\
---
title: Hub
---
# Hub

## Links

- plain [[Attention]]
- label [[Attention|the attention page]]
- heading [[Attention#Multi-Head Attention]]
- block [[Attention#^heads|see heads]]
- embed ![[Attention]]
- embed heading ![[Attention#Multi-Head Attention|emb]]
- markdown [attn](../ml/Attention.md#multi-head-attention)
- alias [[Self-attention]]
- code `[[Attention]]` stays
- [[Other]]

```
[[Attention]] in a fence stays
```
"""

HUB_AFTER_MV = """\
---
title: Hub
---
# Hub

## Links

- plain [[Scaled Attention]]
- label [[Scaled Attention|the attention page]]
- heading [[Scaled Attention#Multi-Head Attention]]
- block [[Scaled Attention#^heads|see heads]]
- embed ![[Scaled Attention]]
- embed heading ![[Scaled Attention#Multi-Head Attention|emb]]
- markdown [attn](MOVED#multi-head-attention)
- alias [[Self-attention]]
- code `[[Attention]]` stays
- [[Other]]

```
[[Attention]] in a fence stays
```
"""

OTHER = """\
---
title: Other
---
# Other

Relative [x](../ml/Attention.md), by path [[ml/Attention|path label]], back to [[Hub]].
"""


def md_dest(rel: str) -> str:
    """Regex for a markdown link destination ``rel`` (spaces as %20 or in <...>)."""
    plain = re.escape(rel.replace(" ", "%20"))
    angle = re.escape("<" + rel + ">")
    return f"(?:{plain}|{angle})"


def link_vault(vw: Veriwiki, git: Git, root: Path, catalog: bool = False) -> Path:
    """A vault whose pages link to ml/Attention in every supported way, committed by the user.

    With ``catalog`` the catalog is regenerated too (otherwise the next operation does it).
    """
    proc = vw("init", str(root))
    assert proc.returncode == 0, describe(proc)
    write(root, "wiki/ml/Attention.md", ATTENTION)
    write(root, "wiki/notes/Hub.md", HUB)
    write(root, "wiki/other/Other.md", OTHER)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "user: add pages")
    if catalog:
        vw.ok("catalog", vault=root)
    return root


def check_json(vw: Veriwiki, root: Path | None = None) -> tuple[int, dict]:
    proc = vw("check", "--json", vault=root)
    assert proc.returncode in (0, 1), describe(proc)
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def shared(vw_at: Callable[[Path], Veriwiki], tmp_path_factory: pytest.TempPathFactory,
           git: Git) -> tuple[Veriwiki, Path]:
    """A read-only vault for show, links, backlinks and search tests."""
    root = tmp_path_factory.mktemp("shared") / "v"
    runner = vw_at(root)
    link_vault(runner, git, root, catalog=True)
    write(root, "wiki/Broken.md", "# Broken\n\n[[Nowhere]] and [[Attention#No Such Heading]] "
                                  "and [[Hub]].\n")
    write(root, "wiki/Rotary Embeddings.md",
          "---\ntitle: Rotary Embeddings\naliases: [RoPE]\n---\n# Rotary Embeddings\n\n"
          "A positional encoding that rotates query and key vectors.\n")
    for i in range(1, 4):
        write(root, f"wiki/Note {i}.md",
              f"# Note {i}\n\nIn passing: rotary embeddings, rotary again, rotary once more. "
              f"Common words here.\n")
    for i in range(1, 6):
        write(root, f"wiki/Filler {i}.md", f"# Filler {i}\n\nUnrelated text about gardening.\n")
    return runner, root


# -- new ---------------------------------------------------------------------------------


def test_new_untyped_page_one_commit_log_and_catalog(vw: Veriwiki, git: Git, vault: Path) -> None:
    before = git.subjects(vault)
    out = vw.json("new", "Plain Page")
    assert out["path"] == "wiki/Plain Page.md"
    assert (vault / "wiki/Plain Page.md").read_text() == "---\ntitle: Plain Page\n---\n# Plain Page\n"
    assert git.subjects(vault) == ["veriwiki: new | Plain Page", *before]
    assert git.head(vault) == out["commit"]
    assert git.touched(vault) == {"wiki/Plain Page.md", "wiki/index.md", "wiki/log.md"}
    assert git.status(vault) == set()
    assert re.search(LOG_ENTRY.format(op="new", subject="Plain Page"),
                     (vault / "wiki/log.md").read_text(), re.M)
    index = (vault / "wiki/index.md").read_text()
    assert re.search(r"^## untyped \(1\)\n\n- \[\[Plain Page\]\]$", index, re.M), index


def test_new_typed_page_uses_template_and_type_heading(vw: Veriwiki, git: Git,
                                                       vault: Path) -> None:
    out = vw.json("new", "Grouped-query attention", "--type", "concept")
    text = (vault / out["path"]).read_text()
    assert text.startswith("---\ntitle: Grouped-query attention\ntype: concept\n---\n")
    assert "# Grouped-query attention" in text
    index = (vault / "wiki/index.md").read_text()
    section = index.split("## concept (1)", 1)[1].split("##", 1)[0]
    assert "[[Grouped-query attention]]" in section
    assert git.subjects(vault)[0] == "veriwiki: new | Grouped-query attention"
    code, report = check_json(vw)
    assert [f for f in report["findings"] if f["rule"] == "schema-violation"] == []


def test_new_in_subfolder_creates_folder(vw: Veriwiki, git: Git, vault: Path) -> None:
    out = vw.json("new", "ml/KV Cache")
    assert out["path"] == "wiki/ml/KV Cache.md"
    assert (vault / "wiki/ml/KV Cache.md").read_text().startswith("---\ntitle: KV Cache\n")
    assert git.subjects(vault)[0] == "veriwiki: new | KV Cache"
    assert "wiki/ml/KV Cache.md" in git.touched(vault)
    assert "[[KV Cache]]" in (vault / "wiki/index.md").read_text()


def test_new_duplicate_refused_any_case(vw: Veriwiki, git: Git, vault: Path) -> None:
    vw.ok("new", "Plain")
    head, text = git.head(vault), (vault / "wiki/Plain.md").read_bytes()
    for again in ("Plain", "pLAIN"):
        proc = vw("new", again)
        assert proc.returncode == 2, describe(proc)
        assert "already exists" in proc.stderr
        assert "Traceback" not in proc.stderr
    assert git.head(vault) == head
    assert (vault / "wiki/Plain.md").read_bytes() == text
    assert not (vault / "wiki/pLAIN.md").exists()
    assert git.status(vault) == set()


def test_new_unknown_type_exit_2_lists_types(vw: Veriwiki, git: Git, vault: Path) -> None:
    head = git.head(vault)
    proc = vw("new", "Thing", "--type", "no-such-type")
    assert proc.returncode == 2, describe(proc)
    assert "no-such-type" in proc.stderr
    assert "concept" in proc.stderr and "model" in proc.stderr
    assert not (vault / "wiki/Thing.md").exists()
    assert git.head(vault) == head


def test_new_keeps_user_uncommitted_edits_out_of_commit(vw: Veriwiki, git: Git,
                                                        vault: Path) -> None:
    index = vault / "wiki/index.md"
    index.write_text(index.read_text() + "\nMy own note, not yet committed.\n")
    write(vault, "wiki/Draft.md", "# Draft\n")
    vw.ok("new", "Plain")
    committed = git.show(vault, "HEAD:wiki/index.md")
    assert "[[Plain]]" in committed
    assert "My own note" not in committed
    working = index.read_text()
    assert "[[Plain]]" in working and "My own note, not yet committed." in working
    assert git.status(vault) == {" M wiki/index.md", "?? wiki/Draft.md"}


# -- show, links, backlinks ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["Attention", "self-attention", "wiki/ml/Attention.md",
                                  "ml/Attention"])
def test_show_finds_page_by_title_alias_and_path(shared: tuple[Veriwiki, Path],
                                                 name: str) -> None:
    runner, _ = shared
    assert runner.json("show", name)["path"] == "wiki/ml/Attention.md"


def test_show_json_keys_and_values(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    out = runner.json("show", "Attention")
    assert {"path", "title", "type", "aliases", "tags", "summary", "frontmatter", "headings",
            "links", "text"} <= set(out)
    assert out["title"] == "Attention"
    assert out["aliases"] == ["Self-attention"]
    assert "ml" in out["tags"]
    assert out["text"] == ATTENTION
    assert out["summary"].startswith("Attention lets each token")
    assert [(h["level"], h["text"], h["line"]) for h in out["headings"]] == [
        (1, "Attention", 6), (2, "Multi-Head Attention", 10)]


def test_show_human_output_prints_title_and_body(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    proc = runner.ok("show", "Hub")
    assert "Hub" in proc.stdout.splitlines()[0]
    assert "plain [[Attention]]" in proc.stdout


def test_show_unknown_page_exit_2_with_hint(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    proc = runner("show", "Atention Mechanism")
    assert proc.returncode == 2, describe(proc)
    assert "no page named 'Atention Mechanism'" in proc.stderr
    assert "hint" in proc.stderr


def test_links_json_reports_status_and_resolved(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    items = runner.json("links", "Broken")
    by_raw = {i["raw"]: i for i in items}
    assert set(by_raw) == {"[[Nowhere]]", "[[Attention#No Such Heading]]", "[[Hub]]"}
    assert by_raw["[[Hub]]"]["status"] == "ok"
    assert by_raw["[[Hub]]"]["resolved"] == "wiki/notes/Hub.md"
    assert by_raw["[[Nowhere]]"]["status"] != "ok"
    assert by_raw["[[Nowhere]]"]["resolved"] is None
    heading = by_raw["[[Attention#No Such Heading]]"]
    assert heading["status"] != "ok"
    assert "No Such Heading" in heading["problem"]
    assert all(i["source"] == "wiki/Broken.md" and i["line"] == 3 for i in items)


def test_links_json_ignores_code(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    items = runner.json("links", "Hub")
    assert len(items) == 9  # 8 links to Attention or its alias, 1 to Other; none from code
    assert all(i["status"] == "ok" for i in items)
    assert {i["kind"] for i in items} == {"wikilink", "embed", "markdown"}


def test_backlinks_json_lists_every_inbound_link(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    items = runner.json("backlinks", "Attention")
    sources = {i["source"] for i in items}
    assert sources == {"wiki/notes/Hub.md", "wiki/other/Other.md", "wiki/Broken.md",
                       "wiki/index.md"}
    assert all(i["resolved"] == "wiki/ml/Attention.md" for i in items if i["status"] == "ok")
    hub = [i for i in items if i["source"] == "wiki/notes/Hub.md"]
    assert len(hub) == 8
    assert {i["kind"] for i in hub} == {"wikilink", "embed", "markdown"}


def test_backlinks_none_prints_notice(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    assert runner.json("backlinks", "Broken") == []
    proc = runner.ok("backlinks", "Broken")
    assert "no page links here" in proc.stderr


# -- mv --------------------------------------------------------------------------------------


def test_mv_rewrites_every_link_form_in_one_commit(vw: Veriwiki, git: Git,
                                                   tmp_path: Path) -> None:
    root = link_vault(vw, git, tmp_path / "v")
    before = git.subjects(root)
    out = vw.json("mv", "Attention", "deep/sub/Scaled Attention")
    new = "wiki/deep/sub/Scaled Attention.md"
    assert out["from"] == "wiki/ml/Attention.md" and out["to"] == new
    assert sorted(out["relinked"]) == ["wiki/notes/Hub.md", "wiki/other/Other.md"]
    # exactly one commit, touching only what the move needs
    assert git.subjects(root)[1:] == before
    subject = git.subjects(root)[0]
    assert subject.startswith("veriwiki: mv |")
    assert "wiki/ml/Attention.md" in subject and new in subject
    assert git.touched(root) == {"wiki/ml/Attention.md", new, "wiki/notes/Hub.md",
                                 "wiki/other/Other.md", "wiki/index.md", "wiki/log.md"}
    assert git.status(root) == set()
    assert not (root / "wiki/ml/Attention.md").exists()

    hub = (root / "wiki/notes/Hub.md").read_text()
    pattern = re.escape(HUB_AFTER_MV).replace(
        "MOVED", md_dest("../deep/sub/Scaled Attention.md"))
    assert re.fullmatch(pattern, hub), hub

    moved = (root / new).read_text()
    assert "title: Scaled Attention\n" in moved
    assert "[[#Multi-Head Attention]]" in moved
    assert "[[Scaled Attention#^heads|this block]]" in moved
    assert "[hub](../../notes/Hub.md#links)" in moved  # its own relative link, one level deeper

    other = (root / "wiki/other/Other.md").read_text()
    assert re.search(r"\[x\]\(" + md_dest("../deep/sub/Scaled Attention.md")
                     + r"\)", other), other
    assert re.search(r"\[\[(?:deep/sub/)?Scaled Attention\|path label\]\]", other), other

    assert re.search(LOG_ENTRY.format(op="mv", subject=".*Scaled Attention.md"),
                     (root / "wiki/log.md").read_text(), re.M)
    code, report = check_json(vw)
    assert (code, report["findings"]) == (0, [])


def test_mv_keeps_uncommitted_edits_uncommitted(vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    root = link_vault(vw, git, tmp_path / "v")
    # an unrelated tracked file, an untracked page, and a linking page, all edited
    agents = root / "AGENTS.md"
    agents.write_text(agents.read_text() + "\nLocal convention, uncommitted.\n")
    write(root, "wiki/Scratch.md", "# Scratch\n\nmy draft about [[Attention]]\n")
    other = root / "wiki/other/Other.md"
    other.write_text(other.read_text() + "\nDraft line about [[Attention|attn]].\n")
    agents_text = agents.read_text()
    before = git.subjects(root)

    vw.ok("mv", "Attention", "Focus")
    assert len(git.subjects(root)) == len(before) + 1
    assert git.status(root) == {" M AGENTS.md", " M wiki/other/Other.md", "?? wiki/Scratch.md"}
    assert agents.read_text() == agents_text
    committed = git.show(root, "HEAD:wiki/other/Other.md")
    assert "Draft line" not in committed
    assert "[x](../ml/Focus.md)" in committed
    working = other.read_text()
    assert "Draft line about [[Focus|attn]]." in working
    assert "[x](../ml/Focus.md)" in working
    assert (root / "wiki/Scratch.md").read_text() == "# Scratch\n\nmy draft about [[Focus]]\n"
    assert "wiki/Scratch.md" not in git.touched(root)


def test_mv_to_existing_page_refused(vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    root = link_vault(vw, git, tmp_path / "v")
    head, hub = git.head(root), (root / "wiki/notes/Hub.md").read_bytes()
    proc = vw("mv", "Attention", "notes/Hub")
    assert proc.returncode == 2, describe(proc)
    assert "already exists" in proc.stderr
    assert git.head(root) == head
    assert (root / "wiki/ml/Attention.md").read_text() == ATTENTION
    assert (root / "wiki/notes/Hub.md").read_bytes() == hub


def test_mv_name_clash_links_by_path(vw: Veriwiki, git: Git, tmp_path: Path) -> None:
    """Moving to a file name another page already has must not make links ambiguous."""
    root = link_vault(vw, git, tmp_path / "v")
    vw.ok("mv", "Other", "ml/Hub")  # now wiki/ml/Hub.md and wiki/notes/Hub.md
    assert (root / "wiki/ml/Hub.md").exists() and root.exists()
    code, report = check_json(vw)
    rules = {f["rule"] for f in report["findings"]}
    assert "ambiguous-link" not in rules and "broken-link" not in rules, report["findings"]


def test_mv_catalog_shows_new_title_of_filename_titled_page(vw: Veriwiki, git: Git,
                                                            vault: Path) -> None:
    write(vault, "wiki/Foo.md", "# Foo page\n\nSome words.\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "user: add Foo")
    vw.ok("catalog")
    vw.ok("mv", "Foo", "Bar")
    assert vw.json("show", "Bar")["title"] == "Bar"
    catalog = (vault / "wiki/index.md").read_text()
    assert "- [[Bar]] — Some words." in catalog, catalog
    assert "Foo" not in catalog


# -- rm --------------------------------------------------------------------------------------


def _target_and_linker(vw: Veriwiki, git: Git, vault: Path) -> None:
    write(vault, "wiki/Target.md", "# Target\n\nBody.\n")
    write(vault, "wiki/Linker.md", "# Linker\n\nSee [[Target]].\n")
    write(vault, "wiki/Linker Two.md", "# Linker Two\n\n![[Target]] and [[Linker]]\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "user: pages")
    vw.ok("catalog")


def test_rm_refuses_while_backlinks_exist(vw: Veriwiki, git: Git, vault: Path) -> None:
    _target_and_linker(vw, git, vault)
    head = git.head(vault)
    proc = vw("rm", "Target")
    assert proc.returncode == 2, describe(proc)
    assert "wiki/Linker.md" in proc.stderr and "wiki/Linker Two.md" in proc.stderr
    assert "--force" in proc.stderr
    assert "wiki/index.md" not in proc.stderr
    assert (vault / "wiki/Target.md").read_text() == "# Target\n\nBody.\n"
    assert git.head(vault) == head
    assert git.status(vault) == set()


def test_rm_force_removes_in_one_commit(vw: Veriwiki, git: Git, vault: Path) -> None:
    _target_and_linker(vw, git, vault)
    before = git.subjects(vault)
    out = vw.json("rm", "Target", "--force")
    assert out == {"removed": "wiki/Target.md", "commit": git.head(vault)}
    assert git.subjects(vault) == ["veriwiki: rm | wiki/Target.md", *before]
    assert git.touched(vault) == {"wiki/Target.md", "wiki/index.md", "wiki/log.md"}
    assert not (vault / "wiki/Target.md").exists()
    assert "[[Target]]" not in (vault / "wiki/index.md").read_text()
    assert re.search(LOG_ENTRY.format(op="rm", subject="wiki/Target.md"),
                     (vault / "wiki/log.md").read_text(), re.M)
    code, report = check_json(vw)
    broken = [(f["path"], f["line"]) for f in report["findings"] if f["rule"] == "broken-link"]
    assert code == 1
    assert sorted(broken) == [("wiki/Linker Two.md", 3), ("wiki/Linker.md", 3)]


def test_rm_page_without_backlinks(vw: Veriwiki, git: Git, vault: Path) -> None:
    vw.ok("new", "Lonely")
    out = vw.json("rm", "Lonely")
    assert out["removed"] == "wiki/Lonely.md"
    assert git.subjects(vault)[:2] == ["veriwiki: rm | wiki/Lonely.md", "veriwiki: new | Lonely"]
    assert not (vault / "wiki/Lonely.md").exists()
    assert git.status(vault) == set()


# -- history and revert ----------------------------------------------------------------------


def test_history_json_follows_rename_after_new_and_mv(vw: Veriwiki, git: Git,
                                                      vault: Path) -> None:
    vw.ok("new", "Alpha", "--type", "concept")
    page = vault / "wiki/Alpha.md"
    page.write_text(page.read_text() + "\nA user edit.\n")
    git(vault, "commit", "-qam", "user: edit Alpha")
    vw.ok("mv", "Alpha", "Beta")
    out = vw.json("history", "Beta")
    assert out["path"] == "wiki/Beta.md"
    subjects = [c["subject"] for c in out["commits"]]
    assert subjects == ["veriwiki: mv | wiki/Alpha.md -> wiki/Beta.md", "user: edit Alpha",
                        "veriwiki: new | Alpha"]
    assert [c["path"] for c in out["commits"]] == ["wiki/Beta.md", "wiki/Alpha.md",
                                                   "wiki/Alpha.md"]
    assert out["commits"][0]["commit"] == git.head(vault)
    assert {"commit", "author", "email", "date", "subject", "path"} <= set(out["commits"][0])
    assert out["commits"][1]["author"] == "Test Author"


def test_history_follows_rename_of_short_page(vw: Veriwiki, git: Git, vault: Path) -> None:
    """mv rewrites a short page's title and own links; its history must still reach back."""
    write(vault, "wiki/Hub.md", "# Hub\n\n[[Stub]]\n")
    write(vault, "wiki/ml/Stub.md", "---\ntitle: Stub\n---\n# Stub\n"
                                    "See [[Stub#Stub]], [up](../Hub.md).\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "user: add stub")
    vw.ok("mv", "Stub", "deep/Renamed")
    assert (vault / "wiki/deep/Renamed.md").read_text().startswith("---\ntitle: Renamed\n")
    out = vw.json("history", "Renamed")
    subjects = [c["subject"] for c in out["commits"]]
    assert subjects == ["veriwiki: mv | wiki/ml/Stub.md -> wiki/deep/Renamed.md",
                        "user: add stub"], subjects
    assert out["commits"][-1]["path"] == "wiki/ml/Stub.md"


def _three_versions(vw: Veriwiki, git: Git, vault: Path) -> list[str]:
    vw.ok("new", "Alpha")
    page = vault / "wiki/Alpha.md"
    texts = [page.read_text()]
    for n in (2, 3):
        texts.append(texts[-1] + f"version {n}\n")
        page.write_text(texts[-1])
        git(vault, "commit", "-qam", f"user: v{n}")
    return texts


def test_revert_default_undoes_last_change(vw: Veriwiki, git: Git, vault: Path) -> None:
    texts = _three_versions(vw, git, vault)
    v2_commit = git(vault, "rev-parse", "HEAD~1").strip()
    before = git.subjects(vault)
    out = vw.json("revert", "Alpha")
    assert out["path"] == "wiki/Alpha.md"
    assert out["to"] == v2_commit
    assert (vault / "wiki/Alpha.md").read_text() == texts[1]
    assert git.subjects(vault) == [f"veriwiki: revert | wiki/Alpha.md to {v2_commit[:10]}",
                                   *before]
    assert "wiki/Alpha.md" in git.touched(vault)
    assert git.status(vault) == set()


def test_revert_to_given_rev(vw: Veriwiki, git: Git, vault: Path) -> None:
    texts = _three_versions(vw, git, vault)
    first = git(vault, "log", "--format=%H", "--", "wiki/Alpha.md").split()[-1]
    before = len(git.subjects(vault))
    out = vw.json("revert", "Alpha", first[:12])
    assert out["to"] == first
    assert (vault / "wiki/Alpha.md").read_text() == texts[0]
    assert len(git.subjects(vault)) == before + 1
    assert git.show(vault, "HEAD:wiki/Alpha.md") == texts[0]


def test_revert_unknown_rev_exit_2(vw: Veriwiki, git: Git, vault: Path) -> None:
    texts = _three_versions(vw, git, vault)
    head = git.head(vault)
    proc = vw("revert", "Alpha", "nosuchrev")
    assert proc.returncode == 2, describe(proc)
    assert "unknown revision 'nosuchrev'" in proc.stderr
    assert git.head(vault) == head
    assert (vault / "wiki/Alpha.md").read_text() == texts[2]


# -- search ------------------------------------------------------------------------------------


def test_search_json_shape_and_title_match_first(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    hits = runner.json("search", "rotary")
    assert isinstance(hits, list) and len(hits) == 4
    for hit in hits:
        assert {"path", "title", "score", "snippet"} <= set(hit)
        assert isinstance(hit["score"], float)
        assert "<mark>" in hit["snippet"].lower() or "<mark>" in hit["snippet"]
    assert hits[0]["path"] == "wiki/Rotary Embeddings.md"
    assert hits[0]["title"] == "Rotary Embeddings"
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1] > 0
    assert {h["path"] for h in hits[1:]} == {f"wiki/Note {i}.md" for i in (1, 2, 3)}


def test_search_alias_match(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    assert runner.json("search", "RoPE")[0]["path"] == "wiki/Rotary Embeddings.md"


def test_search_limit(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    hits = runner.json("search", "rotary", "--limit", "2")
    assert [h["path"] for h in hits][:1] == ["wiki/Rotary Embeddings.md"]
    assert len(hits) == 2


def test_search_no_match_is_empty(shared: tuple[Veriwiki, Path]) -> None:
    runner, _ = shared
    assert runner.json("search", "xylophonist") == []
    proc = runner.ok("search", "xylophonist")
    assert "no pages match" in proc.stderr


def test_search_scores_follow_ranking_for_common_words(vw: Veriwiki, vault: Path) -> None:
    """A word on most pages still gets scores that order the hits as ranked."""
    write(vault, "wiki/Model.md", "# Model\n\nWhat a model is.\n")
    for i in range(1, 4):
        write(vault, f"wiki/Page {i}.md", f"# Page {i}\n\nThis page mentions a model once.\n")
    hits = vw.json("search", "model")
    assert [h["path"] for h in hits][0] == "wiki/Model.md"
    assert len(hits) == 4
    scores = [h["score"] for h in hits]
    assert scores[0] > scores[-1], f"scores do not separate the ranked hits: {scores}"


# -- check -------------------------------------------------------------------------------------


def test_check_fresh_vault_clean_exit_0(vw: Veriwiki, vault: Path) -> None:
    code, report = check_json(vw)
    assert code == 0
    assert report["findings"] == []
    assert set(report["summary"]) >= {"pages", "findings", "error", "warning", "info", "by_rule"}
    assert report["summary"]["pages"] == 2
    assert report["summary"]["findings"] == 0


def test_check_broken_link_exit_1(vw: Veriwiki, vault: Path) -> None:
    write(vault, "wiki/Page.md", "---\ntitle: Page\n---\n# Page\n\nSee [[Nowhere]].\n")
    code, report = check_json(vw)
    assert code == 1
    broken = [f for f in report["findings"] if f["rule"] == "broken-link"]
    assert len(broken) == 1
    assert {"rule", "severity", "path", "line", "message"} <= set(broken[0])
    assert (broken[0]["path"], broken[0]["line"], broken[0]["severity"]) == (
        "wiki/Page.md", 6, "error")
    assert "Nowhere" in broken[0]["message"]
    assert report["summary"]["by_rule"]["broken-link"] == 1
    proc = vw("check")
    assert proc.returncode == 1
    assert "wiki/Page.md" in proc.stdout and "broken-link" in proc.stdout


def test_check_strict_turns_warning_into_error(vw: Veriwiki, vault: Path) -> None:
    write(vault, "wiki/Orphan.md", "# Orphan\n")
    code, report = check_json(vw)
    assert code == 0
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == [
        ("missing-from-index", "warning"), ("orphan-page", "warning")]
    proc = vw("check", "--strict", "--json")
    assert proc.returncode == 1, describe(proc)
    strict = json.loads(proc.stdout)
    assert [(f["rule"], f["severity"]) for f in strict["findings"]] == [
        ("missing-from-index", "error"), ("orphan-page", "error")]


def test_check_config_severity_off_and_raise(vw: Veriwiki, vault: Path) -> None:
    write(vault, "wiki/Orphan.md", "# Orphan\n")
    write(vault, "wiki/Unlisted.md", "# Unlisted\n\n[[Orphan]]\n")
    config = vault / "veriwiki.toml"
    text = config.read_text()
    config.write_text(text.replace('# orphan-page = "off"', 'orphan-page = "off"'))
    code, report = check_json(vw)
    assert code == 0
    assert not [f for f in report["findings"] if f["rule"] == "orphan-page"]
    assert [(f["path"], f["rule"]) for f in report["findings"]] == [
        ("wiki/Orphan.md", "missing-from-index"), ("wiki/Unlisted.md", "missing-from-index")]
    config.write_text(config.read_text() + 'missing-from-index = "error"\n')
    code, report = check_json(vw)
    assert code == 1
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {
        ("missing-from-index", "error")}


def test_check_config_unknown_rule_exit_2(vw: Veriwiki, vault: Path) -> None:
    config = vault / "veriwiki.toml"
    config.write_text(config.read_text() + 'no-such-rule = "error"\n')
    proc = vw("check", "--json")
    assert proc.returncode == 2, describe(proc)
    assert "no-such-rule" in proc.stderr
    assert "veriwiki.toml" in proc.stderr
    assert "Traceback" not in proc.stderr
