"""Pages of a vault made by ``bench/gen_vault.py``, for the differential parse and
render tests (the generator is a bench script, loaded from its file)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generated_pages(folder: Path, pages: int, seed: int) -> list[Path]:
    """The page files of a ``pages``-page vault generated under ``folder/v``."""
    spec = importlib.util.spec_from_file_location("gen_vault", ROOT / "bench" / "gen_vault.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    sys.modules["gen_vault"] = gen
    spec.loader.exec_module(gen)
    gen.generate(folder / "v", pages, seed, 0.05)
    found = sorted((folder / "v" / "wiki").rglob("*.md"))
    assert len(found) >= pages
    return found
