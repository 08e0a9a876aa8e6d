"""Generated facts tables: the spec, rendering, ``table-stale``/``table-spec``, ``fix``,
the check cache and the static site."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Git, Veriwiki, describe
from veriwiki.core.facts import Fact
from veriwiki.core.facts_table import (
    EntityPage,
    TableFacts,
    find_tables,
    parse_spec,
    render_table,
    rewrite,
    split_row,
    table_diff,
)

DATA = """\
Llama 2 7B:
  layers: 32
  n_kv_heads: 32
  context: {value: 4096, unit: tokens}
Llama 2 70B:
  layers: 80
  n_kv_heads: 8
  context: {value: 4k}
Mistral 7B:
  layers: 32
  n_kv_heads: 8
"""

SPEC = """\
<!-- facts-table
entities: [Llama 2 7B, Llama 2 70B, Mistral 7B]
attributes: [layers, n_kv_heads, context]
labels: [Layers, KV heads, Context]
-->"""

CURRENT = """\
| Model | Layers | KV heads | Context |
| --- | --- | --- | --- |
| [[Llama 2 7B]] | 32 | 32 | 4096 tokens |
| [[Llama 2 70B]] | 80 | 8 | 4k |
| [[Mistral 7B]] | 32 | 8 | — |
<!-- /facts-table -->"""


def _model(title: str) -> str:
    return f"---\ntitle: {title}\ntype: model\n---\n# {title}\n\nA model.\n"


def _fact(entity: str, attribute: str, value: str, unit: str | None = None,
          as_of: str | None = None) -> Fact:
    return Fact(entity, attribute, value, unit, None, None, as_of, "data/m.yaml", 1)


def _data() -> TableFacts:
    facts = [_fact("Llama 2 7B", "layers", "32"), _fact("Llama 2 7B", "n_kv_heads", "32"),
             _fact("Llama 2 7B", "context", "4096", "tokens"),
             _fact("Llama 2 70B", "layers", "80"), _fact("Llama 2 70B", "n_kv_heads", "8"),
             _fact("Llama 2 70B", "context", "4k"),
             _fact("Mistral 7B", "layers", "32"), _fact("Mistral 7B", "n_kv_heads", "8")]
    pages = [EntityPage(f"wiki/{t}.md", t, (), "model")
             for t in ("Llama 2 7B", "Llama 2 70B", "Mistral 7B")]
    return TableFacts(facts, pages)


# --- pure: spec, render, diff ----------------------------------------------------------


def test_facts_table_render_matches_the_agreed_layout() -> None:
    block = find_tables("intro\n\n" + SPEC + "\n" + CURRENT + "\n")[0]
    assert block.spec is not None and block.line == 3 and block.body_start == 8
    assert render_table(block.spec, _data()) == CURRENT.splitlines()[:-1]
    assert table_diff(block, block.spec, _data()) == ([], [])


def test_facts_table_stale_cell_names_entity_attribute_and_both_values() -> None:
    stale = CURRENT.replace("| [[Mistral 7B]] | 32 | 8 |", "| [[Mistral 7B]] | 32 | 32 |")
    block = find_tables(SPEC + "\n" + stale)[0]
    assert block.spec is not None
    cells, other = table_diff(block, block.spec, _data())
    assert [(c.entity, c.attribute, c.table, c.facts) for c in cells] == [
        ("Mistral 7B", "n_kv_heads", "32", "8")]
    assert other == []
    fixed, changed = rewrite(SPEC + "\n" + stale, _data())
    assert fixed == SPEC + "\n" + CURRENT and [b.line for b in changed] == [1]


def test_facts_table_type_spec_lists_every_page_of_the_type_sorted() -> None:
    spec = parse_spec("type: model\nattributes: [layers]\nlink: false\nmissing: n/a", 1)
    data = _data()
    data.pages.append(EntityPage("wiki/a.md", "Aardvark 1B", (), "model"))
    data.pages.append(EntityPage("wiki/c.md", "Attention", (), "concept"))
    assert render_table(spec, data) == [
        "| Model | layers |", "| --- | --- |", "| Aardvark 1B | n/a |", "| Llama 2 70B | 80 |",
        "| Llama 2 7B | 32 |", "| Mistral 7B | 32 |"]


def test_facts_table_latest_as_of_wins_and_undated_values_are_joined() -> None:
    facts = [_fact("X", "vocab", "32000"), _fact("X", "vocab", "32768"),
             _fact("Y", "ctx", "4k", as_of="2023"), _fact("Y", "ctx", "32k", as_of="2024")]
    data = TableFacts(facts, [])
    assert data.value("X", "vocab") == "32000 / 32768"
    assert data.value("Y", "ctx") == "32k"
    assert data.value("X", "unit") is None


def test_facts_table_cells_escape_pipes_and_hostile_names_are_not_linked() -> None:
    facts = [_fact("a|b]]", "v", "1 | 2")]
    pages = [EntityPage("wiki/x.md", "a|b]]", (), "model")]
    spec = parse_spec("entities: ['a|b]]']\nattributes: [v]", 1)
    lines = render_table(spec, TableFacts(facts, pages))
    assert lines[2] == "| a\\|b]] | 1 \\| 2 |"
    assert split_row(lines[2]) == ["a\\|b]]", "1 \\| 2"]


@pytest.mark.parametrize(("spec", "line", "words"), [
    ("entities: [A]\n", 2, "'attributes' is missing"),
    ("entities: [A]\nattributes: [x]\nlabels: [a, b]\n", 2, "'labels' has 2"),
    ("attributes: [x]\n", 2, "either 'entities'"),
    ("entities: [A]\nattributes: [x]\ncolour: red\n", 2, "unknown key(s) colour"),
    ("entities: [A\nattributes: [x]\n", 4, "not valid YAML"),
    ("entities: [A]\nattributes: [x]\nlink: maybe\n", 2, "'link' must be true or false"),
])
def test_facts_table_bad_spec_reports_the_line(spec: str, line: int, words: str) -> None:
    text = "# Page\n<!-- facts-table\n" + spec + "-->\n| a |\n<!-- /facts-table -->\n"
    block = find_tables(text)[0]
    assert block.spec is None and block.error is not None
    assert words in block.error
    assert block.error_line == line


def test_facts_table_unclosed_block_and_fenced_examples() -> None:
    text = "```md\n" + SPEC + "\n```\n\n<!-- facts-table\nentities: [A]\nattributes: [x]\n-->\n"
    blocks = find_tables(text)
    assert len(blocks) == 1  # the fenced example is not a table
    assert blocks[0].line == 9 and blocks[0].error is not None
    assert "closing" in blocks[0].error


# --- the rules, fix and the cache on a real vault ----------------------------------------


def _vault(vw: Veriwiki, vault: Path, git: Git, table: str = CURRENT) -> Path:
    (vault / "data" / "models.yaml").write_text(DATA)
    for title in ("Llama 2 7B", "Llama 2 70B", "Mistral 7B"):
        (vault / "wiki" / f"{title}.md").write_text(_model(title))
    (vault / "wiki" / "Compare.md").write_text(
        "---\ntitle: Compare\n---\n# Compare\n\nThe table:\n\n" + SPEC + "\n" + table + "\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "pages")
    return vault


def _check(vw: Veriwiki) -> tuple[int, list[dict[str, object]]]:
    proc = vw("check", "--json")
    assert proc.returncode in (0, 1), describe(proc)
    found = json.loads(proc.stdout)["findings"]
    return proc.returncode, [f for f in found if f["rule"] in ("table-stale", "table-spec")]


def test_table_stale_found_on_the_table_line_then_fix_rewrites_it(
        vw: Veriwiki, vault: Path, git: Git) -> None:
    _vault(vw, vault, git)
    code, found = _check(vw)
    assert found == []
    # a fact changes: the table is stale at its first line (file line 13)
    (vault / "data" / "models.yaml").write_text(DATA.replace("  n_kv_heads: 8\n",
                                                             "  n_kv_heads: 4\n", 1))
    code, found = _check(vw)
    assert code == 1
    assert [(f["rule"], f["path"], f["line"]) for f in found] == [
        ("table-stale", "wiki/Compare.md", 13)]
    assert "Llama 2 70B n_kv_heads: table '8', facts '4'" in str(found[0]["message"])
    before = git.head(vault)
    dry = vw.json("fix", "--dry-run")
    assert dry["tables"] == [{"path": "wiki/Compare.md", "line": 8}] and dry["commit"] is None
    assert git.head(vault) == before
    done = vw.json("fix")
    assert done["commit"] and git.head(vault) != before
    touched = git.touched(vault)  # the catalog too: the pages were committed by plain git
    assert "wiki/Compare.md" in touched and "data/models.yaml" not in touched
    assert "| [[Llama 2 70B]] | 80 | 4 | 4k |" in (vault / "wiki" / "Compare.md").read_text()
    assert _check(vw)[1] == []
    assert vw.json("fix")["commit"] is None  # nothing stale: no commit


def test_table_spec_error_has_the_spec_line(vw: Veriwiki, vault: Path, git: Git) -> None:
    _vault(vw, vault, git)
    page = vault / "wiki" / "Compare.md"
    page.write_text(page.read_text().replace("labels: [Layers, KV heads, Context]",
                                             "labels: [Layers]"))
    code, found = _check(vw)
    assert code == 1
    assert [(f["rule"], f["line"]) for f in found] == [("table-spec", 8)]
    assert "'labels' has 1 item(s)" in str(found[0]["message"])
    assert vw.json("fix")["unparsed"][0]["line"] == 8


def test_table_stale_cache_reruns_when_only_the_facts_change(
        vw: Veriwiki, vault: Path, git: Git) -> None:
    """The page is unchanged; a warm check must still see the changed fact."""
    _vault(vw, vault, git)
    assert _check(vw)[1] == []  # warm the cache
    (vault / "data" / "models.yaml").write_text(DATA.replace("  layers: 32\n", "  layers: 33\n", 1))
    assert [f["rule"] for f in _check(vw)[1]] == ["table-stale"]
    (vault / "data" / "models.yaml").write_text(DATA)
    assert _check(vw)[1] == []
    (vault / "data" / "models.yaml").write_text(DATA.replace("  layers: 80\n", "  layers: 81\n"))
    warm = vw("check", "--json")
    cold = vw("check", "--json", "--no-cache")
    assert cold.returncode == warm.returncode == 1, describe(cold)
    assert json.loads(cold.stdout)["findings"] == json.loads(warm.stdout)["findings"]


def test_facts_table_site_renders_a_table_and_escapes_hostile_names(
        vw: Veriwiki, vault: Path, git: Git) -> None:
    _vault(vw, vault, git)
    evil = "<img src=x onerror=alert(1)>"
    (vault / "data" / "evil.yaml").write_text(f"'{evil}':\n  layers: '<script>x</script>'\n")
    page = vault / "wiki" / "Evil.md"
    page.write_text("---\ntitle: Evil\n---\n# Evil\n\n<!-- facts-table\n"
                    f"entities: ['{evil}']\nattributes: [layers]\n-->\n<!-- /facts-table -->\n")
    git(vault, "add", "-A")
    git(vault, "commit", "-qm", "evil")
    vw.ok("fix")
    assert "&lt;" not in page.read_text() and evil in page.read_text()
    vw.ok("build")
    html = (vault / "site" / "Compare.html").read_text() if (vault / "site" / "Compare.html"
                                                             ).exists() else ""
    built = {p.name: p.read_text() for p in (vault / "site").rglob("*.html")}
    compare = next(t for n, t in built.items() if n.lower().startswith("compare"))
    assert "<table>" in compare and "<td>80</td>" in compare and "facts-table" not in compare
    assert html == "" or html == compare
    evil_html = next(t for n, t in built.items() if n.lower().startswith("evil"))
    assert "<table>" in evil_html
    assert "<img src=x" not in evil_html and "<script>x" not in evil_html
    assert "&lt;script&gt;x&lt;/script&gt;" in evil_html


def test_generated_rows_are_not_uncited_claims(vw: Veriwiki, vault: Path, git: Git) -> None:
    """A model page (its type requires citations) with a facts table: the table's numbers
    are cited in the fact store, a number in the prose is still flagged."""
    _vault(vw, vault, git)
    page = vault / "wiki" / "Mistral 7B.md"
    page.write_text(_model("Mistral 7B") + "\n" + SPEC + "\n" + CURRENT
                    + "\n\nIt was trained on 8 trillion tokens.\n")
    git(vault, "commit", "-qam", "table on a model page")
    found = vw.json("check", "--rule", "uncited-claim")["findings"]
    assert [(f["path"], f["line"]) for f in found] == [("wiki/Mistral 7B.md", 21)]


def test_a_type_table_is_rechecked_when_a_page_changes_type(
        vw: Veriwiki, vault: Path, git: Git) -> None:
    """``type: model`` reads every page's type: the cached verdict must not survive a
    page leaving the type while no fact changes."""
    _vault(vw, vault, git)
    spec = "<!-- facts-table\ntype: model\nattributes: [layers]\n-->\n"
    page = vault / "wiki" / "Compare.md"
    page.write_text("---\ntitle: Compare\n---\n# Compare\n\n" + spec + "<!-- /facts-table -->\n")
    git(vault, "commit", "-qam", "type table")
    assert vw.json("fix")["commit"]
    assert _check(vw)[1] == []  # warm cache now holds "current"
    llama = vault / "wiki" / "Llama 2 7B.md"
    llama.write_text(llama.read_text().replace("type: model", "type: concept"))
    git(vault, "commit", "-qam", "not a model page any more")
    warm = _check(vw)[1]
    assert [f["rule"] for f in warm] == ["table-stale"]
    cold = json.loads(vw("check", "--json", "--no-cache").stdout)["findings"]
    assert [f for f in cold if f["rule"] == "table-stale"] == warm
