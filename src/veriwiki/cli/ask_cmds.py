"""``ask``: answer a question from the wiki, with verified citations."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from veriwiki.cli.app import State, err, notice, out, print_json
from veriwiki.cli.models import _Progress, new_meter, open_model


def open_embedder(state: State, override: str | None) -> Any:
    """The embedding model (``--embed-model``, env, veriwiki.toml), or None for BM25 only."""
    from veriwiki.vault import model_for

    model_id = model_for(state.vault, "embedder", override)
    if model_id is None:
        return None
    from veriwiki.adapters.llm_provider import open_embedding_model

    return open_embedding_model(model_id)


@click.command("ask")
@click.argument("question")
@click.option("--model", default=None, metavar="ID",
              help="Writer model (an `llm` model id; default: [llm] writer, else SmolLM2).")
@click.option("--embed-model", default=None, metavar="ID",
              help="Embedding model for hybrid retrieval (default: [llm] embedder; "
                   "none: keyword search only).")
@click.option("--limit", "-n", default=5, show_default=True, type=click.IntRange(1, 50),
              help="Pages retrieved before the link hop.")
@click.option("--save", is_flag=True,
              help="Propose the verified sentences as a synthesis page (review it with "
                   "'veriwiki review show ID').")
@click.option("--extract", "extract_only", is_flag=True,
              help="Do not ask the model: quote the wiki's passages that best match the "
                   "question (fast, offline, nothing paraphrased).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def ask_cmd(state: State, question: str, model: str | None, embed_model: str | None,
            limit: int, save: bool, extract_only: bool, as_json: bool) -> None:
    """Answer QUESTION from the wiki; every sentence cites passages and is verified.

    When no sentence of the model's answer verifies, the wiki's passages that best match
    the question are shown instead, labelled as extracted. Exits 0 when there is an
    answer (even if some sentences are unverified), 1 when there is none, 2 on
    configuration errors.
    """
    from veriwiki.services.ask import answer_question

    writer = open_model(state, "writer", model)
    embedder = open_embedder(state, embed_model)
    meter = new_meter(state, writer)
    progress = _Progress("embedding pages")
    try:
        answer = answer_question(state.vault, question, writer, embedder=embedder,
                                 meter=meter, limit=limit, on_progress=progress,
                                 extract_only=extract_only)
    finally:
        progress.close()
    if save:
        from veriwiki.services.ask_save import save_answer

        if answer.answered:
            save_answer(state.vault, answer)
        elif answer.extracted:
            answer.save_note = ("nothing to save: an extracted answer is the wiki's own "
                                "sentences, already on their pages")
        else:
            answer.save_note = "nothing to save: the model gave no answer"
    if as_json:
        print_json(answer.to_json())
        if answer.note:
            notice(answer.note)
    else:
        _print(answer)
        err.print(f"[dim]{escape(meter.describe())}[/]")
    if not answer.has_answer:
        sys.exit(1)


def _print(answer: Any) -> None:
    if answer.note:
        notice(answer.note)
    for s in answer.sentences:
        refs = "".join(f"[{r}]" for r in s.refs)
        if s.verified:
            out.print(f"{escape(s.text)} {escape(refs)}")
        else:
            out.print(f"[red]{escape('[unverified]')}[/] {escape(s.text)} {escape(refs)}")
            for reason in s.reasons:
                out.print(f"    [dim]{escape(reason)}[/]")
    if answer.extracted:
        out.print("[bold]Extracted[/] [dim](the wiki's own sentences, quoted; not written by "
                  "the model)[/]")
        for p in answer.extracted:
            out.print(f"  {escape(f'[{p.ref}]')} \"{escape(p.text)}\"")
            out.print(f"      [dim]{escape(p.path)}:{p.line}[/]")
            for c in p.citations:
                quote = f': "{c.quote}"' if c.quote else ""
                out.print(f"      [dim]@{escape(c.key)}{escape(quote)}[/]")
            if not p.citations:
                out.print("      [dim](page prose without a source citation)[/]")
    cited = answer.cited()
    if answer.sentences:
        verified = sum(1 for s in answer.sentences if s.verified)
        out.print(f"\n[bold]{verified} of {len(answer.sentences)} sentences verified[/]")
    if cited:
        out.print("\n[bold]Citations[/]")
        for p in cited:
            out.print(f"  {escape(f'[{p.ref}]')} {escape(p.path)}:{p.line}  \"{escape(p.text)}\"")
            for c in p.citations:
                quote = f': "{c.quote}"' if c.quote else ""
                out.print(f"      [dim]@{escape(c.key)}{escape(quote)}[/]")
    if answer.retrieval:
        pages = ", ".join(f"{r.title} ({r.via})" for r in answer.retrieval)
        out.print(f"\n[dim]retrieved: {escape(pages)}[/]")
    if answer.proposal is not None:
        out.print(f"\nproposed [bold]{escape(answer.proposal.id)}[/]: review with "
                  f"'veriwiki review show {escape(answer.proposal.id)}'")
    if answer.save_note:
        notice(answer.save_note)
