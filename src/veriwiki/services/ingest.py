"""Ingest: turn a source into a proposal of verified claims merged into wiki pages.

Two modes: ``extractive`` (:mod:`veriwiki.services.extractive`, the default for local
models) quotes the source's informative sentences as claims; ``write`` (this module)
lets the model write them. In write mode the writer model reads the source passage by
passage (or sentence by sentence) and proposes claims, each with
the sentence of the source that supports it. Source text is data: it goes to the model
fenced and labelled as such, and nothing the model returns can do more than propose a
claim — every claim is then checked here by the same deterministic code ``check`` uses
(:mod:`veriwiki.core.claim_verify`: the quote must occur in the source; every number
in the claim must be stated by the quote; the entity must be named in the source). Claims
that fail are dropped (or, with
``[llm] keep_unverified``, written visibly marked unverified and never cited). Pages
are only ever written under the pages folder, never in raw/, and the result is a
proposal on its own branch for a person to review.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from veriwiki.ai.ingest_prompts import (
    SYSTEM,
    ClaimList,
    ExtractedClaim,
    SentenceClaim,
    build_prompt,
    request_schema,
    sentence_prompt,
    sentence_schema,
)
from veriwiki.ai.provider import Meter, TextModel
from veriwiki.ai.structured import StructuredOutputError, ask_structured
from veriwiki.core.claim_blocks import (
    merge_block,
    new_page_text,
    passage_sentences,
    passages,
    render_block,
    summary_text,
)
from veriwiki.core.claim_verify import (
    INJECTION,
    CheckedClaim,
    clean_title,
    hidden_spans,
    instruction_spans,
    names_in,
    verify_claim,
    visible_text,
)
from veriwiki.core.model import Source
from veriwiki.errors import AmbiguousPageError, InputError, PageNotFoundError
from veriwiki.services.ingest_result import IngestResult
from veriwiki.services.proposals import list_proposals, propose
from veriwiki.vault import Vault

Progress = Callable[[int, int], None]


def _find_existing(vault: Vault, title: str, resolver: Any) -> str | None:
    from rapidfuzz import fuzz

    from veriwiki.services.indexing import find_page, search

    try:
        return find_page(vault, title, resolver)
    except AmbiguousPageError:
        return None
    except PageNotFoundError:
        pass
    for hit in search(vault, title, 3, refresh=False):
        if fuzz.ratio(names_in(hit.title), names_in(title)) >= 90:
            return hit.path
    return None


# -- the operation -------------------------------------------------------------------------------


def _resolve_source(vault: Vault, ref: str, on_notice: Callable[[str], None] | None
                    ) -> tuple[Source, int]:
    """A file is added first (a no-op when its bytes are already stored); else an id."""
    from veriwiki.services.sources import add_source, get_source

    path = Path(ref)
    if path.is_file():
        added = add_source(vault, path, on_notice=on_notice)
        source, version = get_source(vault, f"{added.id}:v{added.version}")
        return source, version.version
    try:
        source, version = get_source(vault, ref)
    except InputError as exc:
        raise InputError(f"{ref!r} is neither a file nor a source in raw/ ({exc.message})",
                         hint=exc.hint) from None
    return source, version.version


def ingest_source(vault: Vault, ref: str, writer: TextModel, *, meter: Meter,
                  on_progress: Progress | None = None,
                  on_notice: Callable[[str], None] | None = None,
                  mode: str | None = None) -> IngestResult:
    """Ingest one source into a proposal (or report why nothing needs doing).

    ``mode`` is ``extractive`` (source sentences quoted verbatim; the model only answers
    narrow questions) or ``write`` (the model writes claims); None takes ``[llm]
    ingest_mode``, whose ``auto`` means extractive for local models, write otherwise.
    """
    from veriwiki.services.extractive import MODES, default_mode, ingest_extractive
    from veriwiki.services.indexing import update_index
    from veriwiki.services.sources import source_text
    from veriwiki.services.write import recover_pending

    if mode not in (None, "auto", *MODES):
        raise InputError(f"unknown ingest mode {mode!r}", hint="use extractive or write")
    recover_pending(vault, on_notice)
    source, version = _resolve_source(vault, ref, on_notice)
    proposal_id = f"ingest-{source.id}-v{version}"
    result = IngestResult(source.id, version, None)
    for p in list_proposals(vault):
        if p.id == proposal_id:
            result.noop = f"already proposed as {p.id}; see 'veriwiki review show {p.id}'"
            result.proposal = p
            return result
    update_index(vault)
    stamp = f"{source.id}:v{version}"
    summaries = [path for path, row in vault.index.catalog_rows().items()
                 if row[2] == "source-summary"]
    for page in vault.index.load_pages(summaries):
        if page.frontmatter.get("ingested") == stamp:
            result.noop = f"{stamp} is already ingested ({page.path})"
            return result

    text = source_text(vault, f"{source.id}:v{version}")
    settings = vault.config.llm
    mode = mode or settings.ingest_mode
    if mode == "auto":
        mode = default_mode(writer)
    if mode == "extractive":
        result.proposal = ingest_extractive(vault, source, version, text, writer, meter,
                                            result, proposal_id, on_progress)
        return result
    chunks = passages(visible_text(text.text), settings.passage_chars)
    folded = names_in(text.text)
    suspicious = instruction_spans(text.text) + hidden_spans(text.text)
    claims: list[CheckedClaim] = []
    seen: set[tuple[str, str]] = set()

    def keep(raw: ExtractedClaim) -> None:
        checked = verify_claim(raw, text, folded, suspicious)
        key = (checked.entity.casefold(), checked.claim.casefold())
        if key not in seen:
            seen.add(key)
            claims.append(checked)

    failures: list[StructuredOutputError] = []
    mode = settings.extraction
    if mode == "auto":
        mode = "sentence" if getattr(writer, "local", False) else "passage"
    if mode == "sentence":
        sentences = [s for chunk in chunks for s in passage_sentences(chunk)
                     if not INJECTION.search(s)]
        for i, sentence in enumerate(sentences):
            try:
                one = ask_structured(writer, sentence_prompt(source.title, sentence),
                                     SentenceClaim, system=SYSTEM,
                                     json_schema=sentence_schema(), retries=settings.retries,
                                     max_tokens=300, meter=meter, what="claim")
            except StructuredOutputError as exc:
                failures.append(exc)
            else:
                keep(ExtractedClaim(entity=one.entity, kind=one.kind, claim=one.claim,
                                    quote=sentence))
            if on_progress:
                on_progress(i + 1, len(sentences))
        asked = len(sentences)
    else:
        for i, chunk in enumerate(chunks):
            sentences = passage_sentences(chunk)
            try:
                reply = ask_structured(
                    writer, build_prompt(source.title, chunk, settings.max_claims_per_passage),
                    ClaimList, system=SYSTEM,
                    json_schema=request_schema(sentences, settings.max_claims_per_passage),
                    retries=settings.retries, max_tokens=900, meter=meter,
                    what="list of claims")
            except StructuredOutputError as exc:
                failures.append(exc)
            else:
                for raw in reply.claims[:settings.max_claims_per_passage]:
                    keep(raw)
            if on_progress:
                on_progress(i + 1, len(chunks))
        asked = len(chunks)
    if failures and len(failures) == asked:
        raise failures[-1]  # the model never answered validly: a clear failure, no proposal
    if failures and on_notice:
        on_notice(f"{source.id}: the model gave no valid reply for {len(failures)} of "
                  f"{asked} {'sentences' if mode == 'sentence' else 'passages'}; they were "
                  "skipped")
    result.claims = claims
    files = plan_pages(vault, source, version, claims, writer.model_id, result)
    meta = {"sources": [stamp], "model": writer.model_id, "usage": meter.to_json(),
            "instructions_in_source": len(suspicious),
            "unanswered": {"count": len(failures), "of": asked,
                           "last_error": str(failures[-1]) if failures else None},
            "claims": {"proposed": len(claims), "verified": len(result.verified)},
            "dropped": [c.to_json() for c in claims if not c.verified][:200],
            "pages_created": result.pages_created, "pages_touched": result.pages_touched}
    result.proposal = propose(vault, "ingest", f"{source.title} ({stamp})", files, meta,
                              proposal_id)
    return result


def plan_pages(vault: Vault, source: Source, version: int, claims: list[CheckedClaim],
               model: str, result: IngestResult) -> dict[str, bytes | None]:
    """The page contents the proposal writes (read from main's HEAD, never the work tree)."""
    from veriwiki.services.indexing import build_resolver

    git = vault.git
    head = git.head()
    resolver = build_resolver(vault)  # ingest_source refreshed the index
    keep_unverified = vault.config.llm.keep_unverified
    summary_title = clean_title(f"Summary of {source.title}") or f"Summary of {source.id}"
    summary_path = f"{vault.pages_root}/sources/{summary_title}.md".lstrip("./")
    by_entity: dict[str, list[CheckedClaim]] = {}
    for c in claims:
        if c.verified or (keep_unverified and c.entity):
            by_entity.setdefault(c.entity.casefold(), []).append(c)
    targets: dict[str, tuple[str, str]] = {}  # key → (path, title)
    for key, group in by_entity.items():
        if not any(c.verified for c in group):
            continue  # no page is created or touched for unverified claims alone
        title = group[0].entity
        path = (_find_existing(vault, title, resolver)
                or f"{vault.pages_root}/{title}.md".lstrip("./"))
        targets[key] = (path, title)
    files: dict[str, bytes | None] = {}
    titles = {key: title for key, (_, title) in targets.items()}
    for key, (path, title) in sorted(targets.items()):
        group = by_entity[key]
        old = files.get(path) or (git.read_blobs([f"{head}:{path}"])[0] if head else None)
        base = (old.decode("utf-8", "replace") if old is not None
                else new_page_text(title, group[0].kind, source.id))
        related = sorted(t for k, t in titles.items() if k != key)[:8]

        def block(keep: list[str], group: list[CheckedClaim] = group,
                  related: list[str] = related) -> str:
            return render_block(source.id, summary_title, group, related, keep)

        files[path] = merge_block(base, source.id, block).encode()
        (result.pages_created if old is None else result.pages_touched).append(path)
    page_titles = sorted({Path(p).stem for p in files})
    files[summary_path] = summary_text(source, version, summary_title, page_titles, claims,
                                       model).encode()
    result.pages_created.append(summary_path)
    return files
