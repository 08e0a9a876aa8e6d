"""Ingest quality bench: how well a model's ingest extracts verifiable claims.

``python bench/run_quality.py --model SmolLM2`` ingests every labelled source of
bench/quality/ (in order, into one fresh vault, approving each proposal so later
sources merge into the pages earlier ones made) and measures, per source and overall:

* quote share: proposed claims whose quote occurs in the source;
* verified share: proposed claims that pass every ingest check (quote, numbers,
  entity named, wording supported) and so are written, cited;
* recall: labelled claims matched by a verified claim (its quote overlaps the labelled
  quote and it names the same entity or one of its listed spellings);
* on a label: verified claims whose quote is a labelled quote (a rough precision);
* pages touched per source, seconds and tokens per source;
* after the last source, the citation and fact errors ``check`` finds in the vault.

``--mode extractive|write`` picks the ingest mode (default: as ``ingest`` would, by
model capability); ``--questions factual,subject`` lets extractive ingest ask the model
those narrow questions. Any `llm` model id works (``--model gpt-4o-mini``, ``--model
claude-3.5-haiku``, an Ollama model …) once its plugin and key are set up. Results are
printed as a markdown table and written to bench/results/quality-<model>-<mode>.json.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
DATA = HERE / "quality"


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w.%]+", " ", text.casefold()).split())


def overlaps(a: str, b: str) -> bool:
    """True when one quote contains the other, or they share most of their words."""
    fa, fb = _fold(a), _fold(b)
    if not fa or not fb:
        return False
    if fa in fb or fb in fa:
        return True
    wa, wb = set(fa.split()), set(fb.split())
    return len(wa & wb) / max(1, min(len(wa), len(wb))) >= 0.8


def entity_matches(proposed: str, canonical: str, spellings: list[str]) -> bool:
    """Same entity: the canonical name or a listed spelling (case and punctuation folded)."""
    names = {_fold(canonical), *(_fold(s) for s in spellings)}
    p = _fold(proposed)
    return p in names or any(n and (n in p or p in n) for n in names if len(p) >= 3)


def score_source(label: dict[str, Any], entities: dict[str, list[str]],
                 claims: list[dict[str, Any]]) -> dict[str, Any]:
    """Recall and shares for one source."""
    verified = [c for c in claims if c["verified"]]
    quoted = [c for c in claims if c["reason"] != "the quote does not occur in the source"]
    hit = 0
    for want in label["claims"]:
        spellings = entities.get(want["entity"], [])
        if any(overlaps(c["quote"], want["quote"]) and
               entity_matches(c["entity"], want["entity"], spellings) for c in verified):
            hit += 1
    # written claims whose quote is some labelled quote (whatever entity they name)
    on_label = sum(1 for c in verified
                   if any(overlaps(c["quote"], w["quote"]) for w in label["claims"]))
    n = len(claims)
    return {"labelled": len(label["claims"]), "recalled": hit, "proposed": n,
            "on_label": on_label,
            "quote_ok": len(quoted), "verified": len(verified),
            "recall": hit / len(label["claims"]),
            "quote_share": len(quoted) / n if n else None,
            "verified_share": len(verified) / n if n else None}


def run(writer: Any, limit: int | None, extraction: str, mode: str = "auto",
        questions: tuple[str, ...] = (), show_findings: bool = False) -> dict[str, Any]:
    """Ingest the labelled sources with ``writer`` (a veriwiki TextModel) and score them."""
    from veriwiki.ai.provider import Meter
    from veriwiki.errors import VeriwikiError
    from veriwiki.services.ingest import ingest_source
    from veriwiki.services.review import approve
    from veriwiki.services.sources import add_source
    from veriwiki.services.vault_ops import init_vault
    from veriwiki.vault import open_vault

    labels = yaml.safe_load((DATA / "labels.yaml").read_text())
    entities: dict[str, list[str]] = labels.get("entities", {})
    sources = labels["sources"][:limit] if limit else labels["sources"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
        os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@localhost")
        os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
        os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@localhost")
        init_vault(Path(tmp) / "v")
        vault = open_vault(Path(tmp) / "v")
        if extraction != "auto":
            vault.config.llm.extraction = extraction
        vault.config.llm.extractive_questions = list(questions)
        used_mode = mode if mode != "auto" else (
            "extractive" if getattr(writer, "local", False) else "write")
        for label in sources:
            add_source(vault, DATA / "sources" / label["file"], source_id=label["id"],
                       title=label["title"])
            local = getattr(writer, "local", False)
            meter = Meter(local=frozenset({writer.model_id} if local else set()))
            start = time.perf_counter()
            try:
                result = ingest_source(vault, label["id"], writer, meter=meter,
                                       mode=used_mode)
                error = None
            except VeriwikiError as exc:
                result, error = None, str(exc)
            seconds = time.perf_counter() - start
            claims = [c.to_json() for c in result.claims] if result else []
            row = {"id": label["id"], "kind": label["kind"], "seconds": round(seconds, 2),
                   "error": error, **score_source(label, entities, claims)}
            usage = meter.roles.get("writer")
            row["input_tokens"] = usage.input_tokens if usage else 0
            row["output_tokens"] = usage.output_tokens if usage else 0
            row["calls"] = usage.calls if usage else 0
            row["pages_touched"] = (len(result.pages_created) + len(result.pages_touched)
                                    if result else 0)
            if result and result.proposal:
                try:
                    approve(vault, result.proposal.id)
                    row["approved"] = True
                except VeriwikiError as exc:
                    row["approved"] = False
                    row["approve_error"] = str(exc)
            rows.append(row)
            print(f"{label['id']}: recall {row['recalled']}/{row['labelled']}, "
                  f"{row['verified']}/{row['proposed']} verified, {seconds:.1f} s",
                  file=sys.stderr)
        from veriwiki.services.check import check_vault

        findings = check_vault(vault).findings
        if show_findings:
            for f in findings:
                print(f.rule, f.path, f.line, f.message[:120], file=sys.stderr)
        vault.close()
    claim_rules = ("quote-not-found", "number-mismatch", "unit-mismatch", "unknown-source",
                   "fact-citation", "fact-conflict", "fact-contradiction")
    check = {"claim_errors": sum(1 for f in findings if f.rule in claim_rules),
             "by_rule": dict(sorted(collections.Counter(f.rule for f in findings).items()))}
    total = {k: sum(r[k] for r in rows) for k in
             ("labelled", "recalled", "proposed", "quote_ok", "verified", "on_label",
              "input_tokens",
              "output_tokens", "calls", "pages_touched")}
    n = len(rows)
    summary = {
        "sources": n,
        "recall": total["recalled"] / total["labelled"] if total["labelled"] else 0.0,
        "quote_share": total["quote_ok"] / total["proposed"] if total["proposed"] else None,
        "verified_share": total["verified"] / total["proposed"] if total["proposed"] else None,
        "on_label_share": total["on_label"] / total["verified"] if total["verified"] else None,
        "pages_touched_per_source": total["pages_touched"] / n if n else 0.0,
        "seconds_per_source": sum(r["seconds"] for r in rows) / n if n else 0.0,
        "tokens_per_source": (total["input_tokens"] + total["output_tokens"]) / n if n else 0,
        "calls_per_source": total["calls"] / n if n else 0,
        **total,
    }
    return {"model": writer.model_id, "mode": used_mode, "questions": list(questions),
            "extraction": extraction,
            "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.system()}",
            "date": time.strftime("%Y-%m-%d"), "summary": summary, "check": check,
            "sources": rows}


def table(report: dict[str, Any]) -> str:
    """The report as a markdown table."""
    lines = ["| source | kind | labelled | recalled | proposed | quote ok | verified | "
             "pages | calls | tokens | s |", "|" + "---|" * 11]
    for r in report["sources"]:
        lines.append(f"| {r['id']} | {r['kind']} | {r['labelled']} | {r['recalled']} | "
                     f"{r['proposed']} | {r['quote_ok']} | {r['verified']} | "
                     f"{r['pages_touched']} | {r['calls']} | "
                     f"{r['input_tokens'] + r['output_tokens']} | {r['seconds']} |")
    s = report["summary"]

    def pct(x: float | None) -> str:
        return "n/a" if x is None else f"{100 * x:.1f}%"

    lines.append("")
    how = (report["mode"] if report["mode"] == "extractive" else
           f"{report['mode']}, {report['extraction']}")
    if report.get("questions"):
        how += ", asks " + "+".join(report["questions"])
    lines.append(f"model {report['model']} ({how}): recall {pct(s['recall'])}, "
                 f"quotes verify {pct(s['quote_share'])}, claims verified "
                 f"{pct(s['verified_share'])}, {s['verified']} written of which "
                 f"{pct(s['on_label_share'])} on a labelled quote, "
                 f"{report['check']['claim_errors']} citation/fact errors from check, "
                 f"{s['pages_touched_per_source']:.1f} pages touched/source, "
                 f"{s['seconds_per_source']:.1f} s/source, "
                 f"{s['tokens_per_source']:.0f} tokens/source")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="SmolLM2", help="any `llm` model id or alias")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sources")
    parser.add_argument("--extraction", default="auto", choices=["auto", "passage", "sentence"])
    parser.add_argument("--mode", default="auto", choices=["auto", "extractive", "write"],
                        help="ingest mode (auto: extractive for local models)")
    parser.add_argument("--questions", default="",
                        help="extractive: comma-separated model questions to ask (factual)")
    parser.add_argument("--out", default=None, help="JSON output path")
    parser.add_argument("--show-findings", action="store_true",
                        help="print the final check's findings to standard error")
    args = parser.parse_args()
    from veriwiki.adapters.llm_provider import open_text_model

    questions = tuple(q for q in args.questions.split(",") if q)
    report = run(open_text_model(args.model), args.limit, args.extraction, args.mode, questions,
                 args.show_findings)
    print(table(report))
    out = Path(args.out) if args.out else (
        HERE / "results" / f"quality-{re.sub(r'[^A-Za-z0-9.-]+', '_', args.model)}-"
        f"{report['mode']}{'-' + '-'.join(questions) if questions else ''}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
