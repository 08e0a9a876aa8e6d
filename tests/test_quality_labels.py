"""The quality bench's labels (bench/quality/labels.yaml) agree with their sources.

Every labelled quote must be found, by veriwiki's own extractor and quote matcher, in
the text veriwiki extracts from its source, so a model that copies the quote exactly
would pass verification. The hostile fixtures' README must describe every file.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from veriwiki.adapters.extract import extract
from veriwiki.core.near_miss import explain_miss
from veriwiki.core.quotes import find_quote
from veriwiki.core.sources import MEDIA_TYPES

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "quality"
SOURCES = BENCH / "sources"
HOSTILE = ROOT / "tests" / "fixtures" / "hostile"

ID = re.compile(r"[a-z0-9][a-z0-9-]*")
FILE_NAME = re.compile(r"(?P<n>[0-9]{2})-(?P<slug>[a-z0-9][a-z0-9-]*)\.(?P<ext>md|txt|html)")
WORD = re.compile(r"\w+(?:[.,'-]\w+)*")
# kind -> the least number of sources of that kind the bench promises
MIN_KINDS = {"paper": 3, "blog": 2, "spec": 2, "html": 1, "changelog": 1, "faq": 1,
             "update": 2}
MIN_CLAIMS, MAX_CLAIMS = 4, 10
MIN_WORDS, MAX_WORDS = 120, 350


def _load() -> dict[str, Any]:
    return yaml.safe_load((BENCH / "labels.yaml").read_text(encoding="utf-8"))


LABELS = _load()
SOURCE_LABELS: list[dict[str, Any]] = LABELS["sources"]
BY_ID = {label["id"]: label for label in SOURCE_LABELS}


@cache
def source_text(file: str) -> str:
    """The text veriwiki extracts from ``bench/quality/sources/<file>``."""
    path = SOURCES / file
    media_type = MEDIA_TYPES[path.suffix.lower()][0]
    return extract(media_type, path.read_bytes(), path.name).text


def _check_quote(file: str, quote: str, where: str) -> None:
    assert isinstance(quote, str) and quote.strip(), f"{where}: empty quote"
    text = source_text(file)
    if find_quote(text, quote) is None:
        pytest.fail(f"{where}: quote not found in {file}: {quote!r}; "
                    f"{explain_miss(text, quote)}")


def test_header() -> None:
    assert LABELS["license"] == "CC0-1.0"
    assert isinstance(LABELS["description"], str) and LABELS["description"].strip()
    assert isinstance(LABELS["entities"], dict) and LABELS["entities"]
    assert len(SOURCE_LABELS) >= 12


def test_ids_unique_and_well_formed() -> None:
    ids = [label["id"] for label in SOURCE_LABELS]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [i for i in ids if not (isinstance(i, str) and ID.fullmatch(i))] == []
    files = [label["file"] for label in SOURCE_LABELS]
    assert [f for f, n in Counter(files).items() if n > 1] == []


def test_kinds_cover_the_promised_mix() -> None:
    kinds = Counter(label["kind"] for label in SOURCE_LABELS)
    assert set(kinds) <= set(MIN_KINDS), f"unknown kinds: {set(kinds) - set(MIN_KINDS)}"
    short = {k: kinds[k] for k, least in MIN_KINDS.items() if kinds[k] < least}
    assert short == {}, f"too few sources of these kinds: {short}"


def test_every_source_file_is_labelled() -> None:
    on_disk = {p.name for p in SOURCES.iterdir() if p.is_file()}
    labelled = {label["file"] for label in SOURCE_LABELS}
    assert on_disk - labelled == set(), "source files without labels"
    assert labelled - on_disk == set(), "labels naming missing files"


@pytest.mark.parametrize("label", SOURCE_LABELS, ids=[s["id"] for s in SOURCE_LABELS])
def test_source_label(label: dict[str, Any]) -> None:
    sid, file = label["id"], label["file"]
    path = SOURCES / file
    assert path.is_file(), f"{sid}: {file} does not exist"
    m = FILE_NAME.fullmatch(file)
    assert m, f"{sid}: file name {file!r} is not NN-slug.(md|txt|html)"
    assert (m["ext"] == "html") == (label["kind"] == "html")
    assert isinstance(label["title"], str) and label["title"].strip()

    words = len(WORD.findall(source_text(file)))
    assert MIN_WORDS <= words <= MAX_WORDS, f"{sid}: {words} words"

    claims = label["claims"]
    assert MIN_CLAIMS <= len(claims) <= MAX_CLAIMS, f"{sid}: {len(claims)} claims"
    entities = LABELS["entities"]
    for k, claim in enumerate(claims):
        where = f"{sid} claim {k + 1}"
        assert set(claim) <= {"entity", "claim", "quote", "revises"}, where
        assert claim["entity"] in entities, f"{where}: unknown entity {claim['entity']!r}"
        assert isinstance(claim["claim"], str) and claim["claim"].strip(), where
        _check_quote(file, claim["quote"], where)
        for old in claim.get("revises", []):
            assert old["source"] in BY_ID and old["source"] != sid, where
            _check_quote(BY_ID[old["source"]]["file"], old["quote"], f"{where} revises")


def test_updates_revise_earlier_sources() -> None:
    for label in SOURCE_LABELS:
        if label["kind"] == "update":
            revised = {old["source"] for c in label["claims"] for old in c.get("revises", [])}
            assert revised, f"{label['id']}: an update that revises nothing"


def test_quote_check_fails_on_a_changed_quote() -> None:
    label = SOURCE_LABELS[0]
    quote = label["claims"][0]["quote"]
    altered = re.sub(r"\d", lambda d: str((int(d[0]) + 1) % 10), quote, count=1)
    assert altered != quote
    with pytest.raises(pytest.fail.Exception):
        _check_quote(label["file"], altered, "altered")


def test_hostile_readme_lists_every_fixture() -> None:
    readme = (HOSTILE / "README.md").read_text(encoding="utf-8")
    fixtures = sorted(p.name for p in HOSTILE.iterdir() if p.name != "README.md")
    assert len(fixtures) >= 4
    assert [name for name in fixtures if name not in readme] == []
