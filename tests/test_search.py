"""Search ranking through the Python API on a real vault and index."""

from __future__ import annotations

import subprocess
from pathlib import Path

from veriwiki import api


def _vault(tmp_path: Path, pages: dict[str, str]) -> Path:
    root = tmp_path / "v"
    api.init_vault(root)
    for name, text in pages.items():
        path = root / "wiki" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-qm", "pages"], check=True)
    return root


def test_search_exact_title_ranks_first(tmp_path: Path) -> None:
    noisy = "Scaling laws scaling laws scaling laws. " * 20
    root = _vault(tmp_path, {
        "Scaling Laws": "---\ntitle: Scaling Laws\n---\nShort page.\n",
        "Chinchilla": f"---\ntitle: Chinchilla\n---\n# Scaling laws\n{noisy}\n",
        "Kaplan": f"---\ntitle: Kaplan\naliases: [Scaling laws paper]\n---\n{noisy}\n",
    })
    vault = api.open_vault(root)
    hits = api.search(vault, "scaling laws", limit=3)
    assert [h.path for h in hits][0] == "wiki/Scaling Laws.md"
    assert hits[0].score > hits[1].score
    assert {h.path for h in hits} == {"wiki/Scaling Laws.md", "wiki/Chinchilla.md",
                                      "wiki/Kaplan.md"}


def test_search_alias_exact_match_and_snippet_marks(tmp_path: Path) -> None:
    root = _vault(tmp_path, {
        "Grouped-Query Attention": "---\naliases: [GQA]\n---\nShares key and value heads.\n",
        "Other": "Mentions GQA once among many other words about attention heads.\n",
    })
    vault = api.open_vault(root)
    hits = api.search(vault, "gqa")
    assert hits[0].path == "wiki/Grouped-Query Attention.md"
    other = [h for h in hits if h.path == "wiki/Other.md"]
    assert other and "<mark>GQA</mark>" in other[0].snippet


def test_search_skips_catalog_and_log_and_handles_punctuation(tmp_path: Path) -> None:
    root = _vault(tmp_path, {"Alpha": "alpha beta\n"})
    vault = api.open_vault(root)
    api.search(vault, "alpha")  # the index refreshes on first use
    paths = [h.path for h in api.search(vault, 'alpha" OR (')]
    assert paths == ["wiki/Alpha.md"]
    assert api.search(vault, "   ") == []
    assert api.search(vault, "zzzz-nothing") == []
