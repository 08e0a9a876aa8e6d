"""Generate a vault for the verification benchmark: pages full of cited claims.

``python bench/gen_claims.py OUT --pages 10000 --claims-per-page 10 --sources 1000``
writes ``raw/<id>/v1.md`` + ``source.yaml`` for each source (the layout ``veriwiki add``
produces) and pages whose sentences cite exact passages of those sources, with the
passage's numbers restated in the sentence. A share of citations (``--bad-rate``) is
planted wrong: a changed word in the quote or a changed number in the sentence.
Deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import shutil
import sys
from pathlib import Path

MODELS = ["Orca", "Falcon", "Heron", "Lynx", "Otter", "Raven", "Sable", "Wren", "Ibis", "Kite"]
NOUNS = ["training corpus", "validation set", "tokenizer", "attention block", "optimizer",
         "learning-rate schedule", "evaluation suite", "data mixture", "context window"]
TEMPLATES = [
    ("The {m} model was trained on {n} billion tokens of filtered web text.",
     "{m} was trained on {n} billion tokens"),
    ("{m} uses {k} layers and {h} attention heads in its largest configuration.",
     "{m} has {k} layers"),
    ("The {noun} of {m} holds {n} million documents after deduplication.",
     "the {noun} of {m} holds {n} million documents"),
    ("A peak learning rate of {r} × 10⁻⁴ was used for {m} with {w} warmup steps.",
     "{m} used {w} warmup steps"),
    ("{m} reaches a context length of {c} tokens after long-context training.",
     "{m} reaches {c} tokens of context"),
]


def _source_text(rng: random.Random, sid: int) -> tuple[str, list[tuple[str, str]]]:
    """A source of ~40 sentences and the (sentence, claim) pairs it supports."""
    lines = [f"# Technical report {sid}", ""]
    facts = []
    for j in range(40):
        tpl, claim = TEMPLATES[rng.randrange(len(TEMPLATES))]
        values = {"m": f"{rng.choice(MODELS)}-{sid}-{j}", "n": rng.randint(2, 900),
                  "k": rng.randint(8, 128), "h": rng.randint(8, 128), "r": rng.randint(1, 9),
                  "w": rng.randint(100, 4000), "c": rng.choice([2048, 4096, 8192, 32768]),
                  "noun": rng.choice(NOUNS)}
        sentence = tpl.format(**values)
        lines.append(sentence)
        facts.append((sentence, claim.format(**values)))
    return "\n".join(lines) + "\n", facts


def generate(out: Path, pages: int, claims_per_page: int, sources: int, bad_rate: float,
             seed: int = 1) -> dict[str, int]:
    """Write the vault; return counts."""
    rng = random.Random(seed)
    if out.exists():
        shutil.rmtree(out)
    (out / "wiki").mkdir(parents=True)
    (out / "veriwiki.toml").write_text(
        '[vault]\nname = "verify-bench"\n\n[checks]\norphan-page = "off"\n'
        'missing-from-index = "off"\n', encoding="utf-8")
    supported: list[list[tuple[str, str]]] = []
    for sid in range(sources):
        text, facts = _source_text(rng, sid)
        data = text.encode("utf-8")
        folder = out / "raw" / f"src{sid}"
        folder.mkdir(parents=True)
        (folder / "v1.md").write_bytes(data)
        (folder / "source.yaml").write_text(
            f"id: src{sid}\ntitle: Technical report {sid}\norigin: null\nlicense: CC-BY-4.0\n"
            f"versions:\n- version: 1\n  file: v1.md\n  sha256: {hashlib.sha256(data).hexdigest()}"
            f"\n  added: '2026-11-01'\n  size: {len(data)}\n  media_type: text/markdown\n",
            encoding="utf-8")
        supported.append(facts)
    bad = 0
    for p in range(pages):
        body = [f"---\ntitle: Page {p}\ntype: concept\n---\n# Page {p}\n"]
        for _ in range(claims_per_page):
            sid = rng.randrange(sources)
            sentence, claim = rng.choice(supported[sid])
            quote = sentence.rstrip(".")
            if rng.random() < bad_rate:
                bad += 1
                if rng.random() < 0.5:
                    quote = quote.replace(" of ", " from ", 1) if " of " in quote else quote + " x"
                else:  # the last number of every claim template is its value
                    m = list(re.finditer(r"\d+", claim))[-1]
                    claim = f"{claim[:m.start()]}{int(m.group()) + 1}{claim[m.end():]}"
            quote = quote.replace('"', '\\"')
            body.append(f'{claim[0].upper()}{claim[1:]} [@src{sid}, "{quote}"].')
        (out / "wiki" / f"Page {p}.md").write_text("\n".join(body) + "\n", encoding="utf-8")
    counts = {"pages": pages, "claims": pages * claims_per_page, "sources": sources,
              "planted": bad}
    (out / "bench-manifest.json").write_text(json.dumps(counts), encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--pages", type=int, default=10_000)
    ap.add_argument("--claims-per-page", type=int, default=10)
    ap.add_argument("--sources", type=int, default=1_000)
    ap.add_argument("--bad-rate", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    counts = generate(args.out, args.pages, args.claims_per_page, args.sources, args.bad_rate,
                      args.seed)
    print(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
