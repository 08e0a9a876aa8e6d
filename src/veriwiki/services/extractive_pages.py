"""Pages for an extractive ingest: claims grouped under headings, a summary with coverage.

Entity pages get this source's claims in the managed block, grouped by the source's
section headings in source order. The source-summary page lists the pages touched,
the claims grouped by entity, the typed facts, and every sentence left out with the
reason, so a reviewer sees the coverage at a glance.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from veriwiki.core.claim_blocks import BLOCK_END, BLOCK_START, citation, merge_block, new_page_text
from veriwiki.core.claim_verify import CheckedClaim, clean_title
from veriwiki.core.extractive import INSTRUCTIONS, Extraction, fold
from veriwiki.core.model import Source
from veriwiki.services.ingest_result import IngestResult
from veriwiki.vault import Vault

DATA_DIR = "data"


def facts_path(source_id: str) -> str:
    """Where a source's typed facts are written: ``data/<source-id>.yaml``."""
    return f"{DATA_DIR}/{source_id}.yaml"


def _cited(source_id: str, c: CheckedClaim) -> str:
    return f"- {c.claim} {citation(source_id, c.quote)}"


def grouped_lines(source_id: str, items: list[tuple[str | None, CheckedClaim]],
                  level: str = "###") -> list[str]:
    """Claim bullets under ``### group`` headings, groups in order of first appearance."""
    order: list[str | None] = []
    groups: dict[str | None, list[CheckedClaim]] = {}
    for group, c in items:
        if group not in groups:
            order.append(group)
            groups[group] = []
        groups[group].append(c)
    lines: list[str] = []
    for group in order:
        if group and len(order) > 1:
            lines += [f"{level} {_heading_text(group)}", ""]
        lines += [_cited(source_id, c) for c in groups[group]]
        lines.append("")
    return lines


def _heading_text(text: str) -> str:
    text = re.sub(r"^\d+(\.\d+)*\s+", "", text)          # "2 Training setup" → "Training setup"
    return " ".join(text.replace("[", "(").replace("]", ")").replace("#", "").split())


def render_block(source_id: str, summary_title: str,
                 items: list[tuple[str | None, CheckedClaim]], keep: list[str],
                 related: list[str] | None = None) -> str:
    """The managed block: a link to the summary, the claims grouped by section, then the
    other pages this source filed claims under."""
    lines = [BLOCK_START.format(id=source_id), f"## From [[{summary_title}]]", ""]
    lines += grouped_lines(source_id, items)
    if keep:
        lines += [*keep, ""]
    if related:
        lines += ["Related: " + ", ".join(f"[[{r}]]" for r in related), ""]
    while lines and not lines[-1]:
        lines.pop()
    lines.append(BLOCK_END)
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int = 120) -> str:
    """The sentence shortened; cut before its first digit, so no number stands uncited
    (``review show`` lists skipped sentences in full)."""
    text = " ".join(text.split()).replace("`", "'")
    digit = re.search(r"\d", text)
    if digit:
        limit = min(limit, max(digit.start() - 1, 1))
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def summary_text(source: Source, version: int, title: str, model: str, got: Extraction,
                 page_titles: list[str], facts_file: str | None) -> str:
    """The source-summary page of an extractive ingest."""
    front: dict[str, Any] = {"title": title, "type": "source-summary", "sources": [source.id],
                             "ingested": f"{source.id}:v{version}", "model": model,
                             "ingest_mode": "extractive",
                             "coverage": {"sentences": got.sentences, "taken": len(got.claims),
                                          "skipped": len(got.skipped)}}
    if source.origin and re.match(r"^https?://", source.origin):
        front["url"] = source.origin
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True)
    lines = [f"---\n{head}---", f"# {title}", "",
             f"Sentences of the source `{source.id}` that state numbers, definitions, "
             "comparisons or names, each quoted word for word (extractive ingest: nothing "
             "is paraphrased). `coverage` above counts the sentences taken and skipped.", ""]
    if page_titles:
        lines += ["## Pages", ""] + [f"- [[{p}]]" for p in page_titles] + [""]
    lines += ["## Key claims", ""]
    if got.claims:
        by_entity = len({c.entity for c in got.claims}) > 1
        lines += grouped_lines(source.id, [(c.entity if by_entity else h, c)
                                           for c, h in zip(got.claims, got.headings,
                                                           strict=True)])
    else:
        lines += ["No sentence of this source was taken as a claim.", ""]
    if got.facts and facts_file:
        lines += ["## Facts", "", f"Typed facts written to `{facts_file}`, each with its "
                  "quote:", ""]
        for entity, f in got.facts:
            lines.append(f"- {entity} · {f.attribute.replace('_', ' ')}: "
                         f"{{{{{entity}.{f.attribute}}}}}")
        lines.append("")
    if got.skipped:
        lines += ["## Skipped", "", "Sentences not taken, and why (shortened, not claims):",
                  ""]
        for sentence, reason in got.skipped:
            if reason == INSTRUCTIONS or "instructions to a model" in reason:
                lines.append(f"- {reason} (not repeated here; `review show` lists it)")
            else:
                lines.append(f"- {reason}: `{_short(sentence)}`")
        lines.append("")
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def facts_yaml(source_id: str, got: Extraction) -> str:
    """``data/<source>.yaml``: entity → attribute → value, unit, source, quote."""
    data: dict[str, dict[str, dict[str, str]]] = {}
    for entity, f in got.facts:
        row = {"value": f.value, "source": source_id, "quote": f.quote}
        if f.unit:
            row["unit"] = f.unit
        data.setdefault(entity, {})[f.attribute] = row
    head = (f"# Typed facts from source {source_id}, written by extractive ingest.\n"
            "# Each value is stated by its quote; veriwiki check verifies both.\n")
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def plan_extractive_pages(vault: Vault, source: Source, version: int, got: Extraction,
                          model: str, result: IngestResult) -> dict[str, bytes | None]:
    """The files an extractive proposal writes (read from main's HEAD, not the work tree)."""
    git = vault.git
    head = git.head()
    summary_title = clean_title(f"Summary of {source.title}") or f"Summary of {source.id}"
    summary_path = f"{vault.pages_root}/sources/{summary_title}.md".lstrip("./")
    per_page: dict[str, list[tuple[str | None, CheckedClaim]]] = {}
    titles: dict[str, str] = {}
    for c, heading in zip(got.claims, got.headings, strict=True):
        key = fold(c.entity)
        path = got.existing.get(key)
        if path is None and key in got.pages:
            path = f"{vault.pages_root}/{got.pages[key]}.md".lstrip("./")
        if path is None:
            continue  # stays on the summary page only
        per_page.setdefault(path, []).append((heading, c))
        titles[path] = c.entity
    files: dict[str, bytes | None] = {}
    for path, items in per_page.items():
        old = git.read_blobs([f"{head}:{path}"])[0] if head else None
        key = fold(titles[path])
        if old is not None:
            base = old.decode("utf-8", "replace")
        else:
            base = new_page_text(titles[path], got.kinds.get(key, "concept"), source.id)
            if got.aliases.get(key):
                base = base.replace("\nsources:", "\naliases: [" + ", ".join(
                    got.aliases[key]) + "]\nsources:", 1)

        related = [titles[p] for p in per_page if p != path][:8]

        def block(keep: list[str], items: list[tuple[str | None, CheckedClaim]] = items,
                  related: list[str] = related) -> str:
            return render_block(source.id, summary_title, items, keep, related)

        files[path] = merge_block(base, source.id, block).encode()
        (result.pages_created if old is None else result.pages_touched).append(path)
    facts_file = facts_path(source.id) if got.facts else None
    if facts_file:
        files[facts_file] = facts_yaml(source.id, got).encode()
    page_titles = [titles[p] for p in per_page]
    files[summary_path] = summary_text(source, version, summary_title, model, got,
                                       page_titles, facts_file).encode()
    result.pages_created.append(summary_path)
    return files
