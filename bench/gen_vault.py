"""Deterministic generator of synthetic veriwiki vaults for benchmarks.

Usage::

    python bench/gen_vault.py OUT_DIR --pages N [--seed 1] [--broken-rate 0.01]

The vault gets ``veriwiki.toml``, ``wiki/`` (N pages in ~20 topic folders, plus
``index.md`` and ``log.md``), empty ``raw/``, ``data/`` and ``schemas/``.  Next to it
the generator writes ``queries.json`` (a labelled query set) and ``bench-manifest.json``
(the parameters and counts, used to decide whether a cached vault can be reused).

Everything comes from one ``random.Random(seed)``: the same arguments give
byte-identical output.  Page bodies are written one file at a time; only a small
amount of per-page metadata (title, folder, headings, block ids, aliases) is kept in
memory so links can point at headings and blocks that exist.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

GENERATOR_VERSION = 2
MANIFEST_NAME = "bench-manifest.json"
QUERIES_NAME = "queries.json"
LOG_DATE = "2026-01-01"  # fixed, so output does not depend on the clock

# --------------------------------------------------------------------------- vocabulary

FOLDERS: dict[str, list[str]] = {
    "attention": [
        "Multi Head Attention", "Grouped Query Attention", "Sliding Window Attention",
        "Flash Attention", "Attention Sink", "Rotary Position Embedding", "ALiBi Bias",
        "Cross Attention", "Linear Attention", "Sparse Attention", "KV Cache",
        "Attention Temperature",
    ],
    "training": [
        "Learning Rate Warmup", "Cosine Schedule", "Gradient Clipping",
        "Mixed Precision Training", "Loss Spike", "Curriculum Learning",
        "Batch Size Scaling", "Weight Decay", "Gradient Accumulation", "Label Smoothing",
        "Dropout", "Checkpoint Averaging",
    ],
    "inference": [
        "Speculative Decoding", "Beam Search", "Nucleus Sampling", "Continuous Batching",
        "Prefix Caching", "Paged Attention", "Temperature Sampling", "Early Exit",
        "Draft Model", "Token Streaming", "Request Scheduling", "Prompt Caching",
    ],
    "alignment": [
        "Reward Model", "Direct Preference Optimization", "Constitutional Training",
        "RLHF Pipeline", "Preference Dataset", "Reward Hacking", "KL Penalty",
        "Rejection Sampling", "Instruction Tuning", "Red Teaming", "Refusal Behaviour",
        "Value Head",
    ],
    "evaluation": [
        "Perplexity", "Held Out Benchmark", "Contamination Check", "Pass At K",
        "Calibration Error", "Win Rate", "Human Evaluation", "LLM Judge", "Exact Match",
        "Few Shot Evaluation", "Leaderboard Drift", "Eval Harness",
    ],
    "tokenization": [
        "Byte Pair Encoding", "SentencePiece Model", "Vocabulary Size", "Byte Fallback",
        "Token Merges", "Unigram Tokenizer", "Pre Tokenizer", "Special Tokens",
        "Tokenizer Drift", "Fertility Ratio", "Whitespace Handling", "Chat Template",
    ],
    "architectures": [
        "Decoder Only Transformer", "Mixture Of Experts", "State Space Model",
        "Encoder Decoder", "Residual Stream", "Layer Norm", "RMSNorm", "SwiGLU Activation",
        "Parallel Blocks", "Tied Embeddings", "Deep Narrow Model", "Hybrid Architecture",
    ],
    "optimization": [
        "Adam Optimizer", "AdamW", "Lion Optimizer", "Second Order Method",
        "Learning Rate Finder", "Sharpness", "Loss Landscape", "Momentum",
        "Gradient Noise", "Weight Averaging", "Optimizer State Sharding", "Adafactor",
    ],
    "retrieval": [
        "Dense Retrieval", "BM25 Ranking", "Reranker", "Embedding Model", "Vector Index",
        "Chunking Strategy", "Hybrid Search", "Query Expansion",
        "Retrieval Augmented Generation", "Late Interaction",
        "Approximate Nearest Neighbour", "Context Packing",
    ],
    "agents": [
        "Tool Calling", "Planning Loop", "ReAct Prompting", "Agent Memory",
        "Function Schema", "Self Reflection", "Task Decomposition", "Multi Agent Debate",
        "Code Interpreter", "Browser Agent", "Agent Sandbox", "Trajectory Logging",
    ],
    "multimodal": [
        "Vision Encoder", "Image Tokens", "Contrastive Pretraining", "Audio Codec",
        "Visual Instruction Tuning", "Patch Embedding", "Cross Modal Alignment",
        "Video Frames", "OCR Pipeline", "Image Captioning", "Speech Recognition",
        "Interleaved Data",
    ],
    "safety": [
        "Jailbreak", "Prompt Injection", "Content Filter", "Model Watermark",
        "Data Poisoning", "Membership Inference", "Output Monitoring",
        "Capability Evaluation", "Refusal Classifier", "Safety Benchmark",
        "Adversarial Suffix", "Guardrail Model",
    ],
    "scaling": [
        "Scaling Law", "Compute Optimal Training", "Chinchilla Ratio", "Emergent Ability",
        "Data Constrained Scaling", "Loss Prediction", "Parameter Count", "Token Budget",
        "Model Family", "Scaling Exponent", "Inference Scaling", "Test Time Compute",
    ],
    "quantization": [
        "Post Training Quantization", "Quantization Aware Training", "Int8 Inference",
        "Four Bit Weights", "GPTQ", "Activation Outliers", "Group Size",
        "Weight Only Quantization", "FP8 Training", "Calibration Set",
        "Dequantization Kernel", "Mixed Precision Quantization",
    ],
    "fine-tuning": [
        "LoRA Adapter", "QLoRA", "Prefix Tuning", "Full Fine Tuning",
        "Catastrophic Forgetting", "Adapter Merging", "Task Vector",
        "Parameter Efficient Tuning", "Domain Adaptation", "Continued Pretraining",
        "Distillation", "Supervised Fine Tuning",
    ],
    "hardware": [
        "GPU Memory", "Tensor Cores", "Interconnect Bandwidth", "Pipeline Parallelism",
        "Tensor Parallelism", "Data Parallelism", "ZeRO Sharding",
        "Activation Checkpointing", "Kernel Fusion", "Memory Bandwidth",
        "Accelerator Cluster", "Collective Communication",
    ],
    "datasets": [
        "Web Crawl", "Deduplication", "Quality Filter", "Synthetic Data", "Code Corpus",
        "Multilingual Data", "Data Mixture", "Instruction Dataset", "Benchmark Leakage",
        "License Filtering", "Toxicity Filter", "Data Card",
    ],
    "benchmarks": [
        "MMLU", "GSM8K", "HumanEval", "BIG Bench", "TruthfulQA", "HellaSwag",
        "ARC Challenge", "MT Bench", "SWE Bench", "Long Context Benchmark",
        "Needle In A Haystack", "Arena Elo",
    ],
    "interpretability": [
        "Sparse Autoencoder", "Probing Classifier", "Attention Head Analysis",
        "Circuit Discovery", "Logit Lens", "Activation Patching", "Feature Visualization",
        "Superposition", "Induction Head", "Steering Vector", "Neuron Attribution",
        "Causal Tracing",
    ],
    "long-context": [
        "Context Window", "Position Interpolation", "YaRN Scaling", "Ring Attention",
        "Memory Tokens", "Context Compression", "Lost In The Middle", "Chunked Prefill",
        "Long Range Dependency", "Recurrent Memory", "Landmark Tokens",
        "Context Extension",
    ],
}

MODIFIERS = [
    "Sparse", "Efficient", "Adaptive", "Hierarchical", "Distributed", "Stochastic",
    "Robust", "Causal", "Multilingual", "Low Rank", "Streaming", "Dynamic", "Gated",
    "Learned", "Quantized", "Recursive", "Local", "Global", "Conditional", "Bidirectional",
]

HEADINGS = [
    "Overview", "Motivation", "Mechanism", "Training Setup", "Inference Cost",
    "Failure Modes", "Related Work", "Open Questions", "Benchmarks",
    "Implementation Notes", "Memory Footprint", "Scaling Behaviour", "Ablations",
    "History", "Variants", "Limitations", "Practical Tips", "Hyperparameters",
    "Evaluation Protocol", "Data Requirements", "Known Results", "Worked Example",
    "Comparison With Baselines", "Numerical Stability", "Hardware Considerations",
    "Theory", "Common Mistakes", "Reproducibility", "Design Choices", "Trade-offs",
    "Interaction With Other Methods", "When Not To Use It", "Debugging Checklist",
    "Cost Model", "Sources Of Variance", "Summary",
]

HEADING_TAILS = [
    "Calibration Schedule", "Warmup Recipe", "Routing Rule", "Memory Layout",
    "Sampling Trick", "Loss Correction", "Stability Fix", "Pruning Criterion",
    "Merge Heuristic", "Decay Policy", "Probe Design", "Cache Policy",
]

NOUNS = [
    "attention pattern", "learning rate", "batch size", "context length", "hidden state",
    "residual stream", "optimizer state", "KV cache", "embedding table",
    "gradient signal", "reward signal", "token distribution", "activation scale",
    "loss curve", "weight matrix", "router", "expert load", "data mixture", "prompt",
    "decoder layer", "sequence length", "softmax temperature", "validation set", "logit",
    "sampling temperature", "checkpoint", "tokenizer", "warmup phase", "preference pair",
    "retrieval index", "attention head", "feed-forward block", "layer norm",
    "position encoding", "draft model", "reward model", "eval harness", "teacher model",
    "calibration set", "quantization grid", "scaling law", "compute budget",
]

ADJECTIVES = [
    "sparse", "dense", "noisy", "stable", "unstable", "large", "small", "long", "short",
    "quantized", "well-tuned", "poorly calibrated", "shared", "frozen", "adaptive",
    "low-rank", "overparameterised", "skewed", "balanced", "deep", "shallow",
    "multilingual", "synthetic", "curated", "causal", "bidirectional", "distilled",
]

VERBS = [
    "stabilises", "degrades", "dominates", "compresses", "amplifies", "regularises",
    "bounds", "saturates", "shifts", "reduces", "increases", "masks", "routes", "caches",
    "aligns", "distorts", "smooths", "dampens", "exposes", "hides",
]

BASE_VERBS = [
    "stabilise", "degrade", "dominate", "compress", "amplify", "regularise", "saturate",
    "shift", "reduce", "increase", "mask", "distort", "smooth", "dampen", "expose",
]

METRICS = [
    "perplexity", "throughput", "latency", "memory footprint", "accuracy", "calibration",
    "win rate", "validation loss", "gradient norm", "token efficiency", "recall",
    "exact match score", "pass rate", "time to first token", "tokens per second",
]

TEMPLATES = [
    "{T} {V} the {N} of the {A} {N2}.",
    "In practice, {T} is {A} when the {N} exceeds {X} thousand tokens.",
    "Most implementations pair {T} with a {A} {N} to keep the {M} stable.",
    "A common failure mode is that the {N} {V} the {N2} before {T} converges.",
    "Reported gains on {M} range from {X} to {Y} percent, depending on the {N}.",
    "The {A} {N} makes {T} cheaper at inference time but harder to train.",
    "Ablations suggest that {T} matters less than the {N} itself.",
    "When the {N} is {A}, {T} tends to {B} the {N2}.",
    "Practitioners usually tune the {N} first and only then revisit {T}.",
    "{T} interacts with the {N}: a {A} {N2} amplifies the effect on {M}.",
    "This section summarises how {T} changes the {M} of a {A} {N}.",
    "Compared with a {A} {N}, {T} needs roughly {X} times more {N2}.",
    "The original description of {T} assumed a {A} {N}, which rarely holds at scale.",
    "Under a fixed compute budget, {T} trades {M} for a {A} {N}.",
    "One open question is whether {T} still helps once the {N} is {A}.",
    "Several groups observed that a {A} {N} {V} the {M} by about {X} percent.",
    "The {N} and the {N2} should be logged together, otherwise {T} is hard to debug.",
    "With {X} billion parameters the {N} {V} the {N2}, so {T} needs care.",
    "It is tempting to blame {T}, but the {A} {N} is usually the cause.",
    "A {A} {N} is cheap to add and rarely hurts {M}.",
    "Later work replaced the {N} with a {A} {N2} and kept {T} unchanged.",
    "The effect of {T} on {M} is small unless the {N} is {A}.",
    "Measured on {X} prompts, the {A} variant {V} the {N} consistently.",
    "The {N} {V} the {M}, which explains most of the gap.",
    "Few papers report the {N} used with {T}, which makes comparisons shaky.",
    "If the {N} is {A}, expect {T} to cost about {X} percent more memory.",
    "{T} was first motivated by a {A} {N} in long training runs.",
    "Logging the {M} every {X} steps is enough to catch problems with {T} early.",
    "The usual explanation is that {T} {V} the {N}; the evidence is mixed.",
    "A {A} {N} combined with {T} gave the best {M} in a sweep of {X} runs.",
    "Teams that skip the {N} often misread the effect of {T} on {M}.",
    "There is no consensus on how {T} should treat a {A} {N2}.",
    "In small models {T} barely moves the {M}; above {X} billion parameters it does.",
    "Replacing the {N} with a {A} one is the cheapest way to test {T}.",
    "The {M} gap closes once the {N} is {A} and {T} is applied after warmup.",
    "Critics argue that {T} only works because the {N} {V} the {N2}.",
    "An easy sanity check: disable {T} and compare the {M} over {X} batches.",
    "Nothing about {T} requires a {A} {N}, but most recipes assume one.",
    "The {N2} is the knob that interacts most strongly with {T}.",
    "Most of the reported variance in {M} comes from the {N}, not from {T}.",
]

LINK_SENTENCES = [
    "See {L} for details.",
    "This builds on {L}.",
    "{L} discusses a related trade-off.",
    "Compare with {L}.",
    "For background, read {L}.",
    "The same effect appears in {L}.",
    "A worked example lives in {L}.",
    "{L} reports the opposite result on a {A} {N}.",
]

LABELS = [
    "this note", "the earlier page", "background", "the variant", "related work",
    "details", "the trade-off", "a counter-example", "the original idea", "the recipe",
]

TAGS = [
    "llm", "attention", "training", "inference", "alignment", "evaluation", "tokenization",
    "architecture", "optimization", "retrieval", "agents", "multimodal", "safety",
    "scaling", "quantization", "fine-tuning", "hardware", "datasets", "benchmarks",
    "interpretability", "long-context", "open-question", "needs-review", "reading-list",
    "ml/theory", "ml/systems", "ml/practice",
]

ALIAS_SUFFIXES = ["LM", "Net", "Former", "Tuner", "Cache", "Router", "Probe", "Mixer"]

SYLLABLES = [
    "quel", "vor", "zan", "trix", "mel", "dax", "bry", "kol", "vex", "nim", "thar",
    "zel", "quin", "mor", "vath", "lux", "pry", "gad", "osk", "rin", "fen", "jor",
    "wyl", "skal", "brev", "tov", "hask", "plim", "drov", "yst",
]

CODE_SNIPPETS = [
    ["# see [[Not A Link]] before changing this", "scores = q @ k.T / math.sqrt(d)",
     "weights = softmax(scores, dim=-1)"],
    ["lr = base_lr * min(1.0, step / warmup)", "# [[Not A Link]] is not a wikilink here",
     "optimizer.step()"],
    ["for batch in loader:", "    loss = model(batch).loss  # ![[Embedded Not A Link]]",
     "    loss.backward()"],
    ["tokens = tokenizer.encode(text)", "assert len(tokens) < 4096  # [[Not A Link|label]]"],
]

TYPES = ["concept", "entity", "synthesis"]
ENTITY_KINDS = ["dataset", "product", "paper", "benchmark", "other"]
QUERY_KINDS = ["title", "alias", "heading", "body"]
LINK_FORMS = ["plain", "label", "heading", "block", "embed", "markdown", "alias"]
LINK_WEIGHTS = [28, 14, 15, 10, 8, 17, 8]


_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiou])")


def _articles(text: str) -> str:
    """Turn ``a`` into ``an`` before a vowel."""
    return _ARTICLE.sub(r"\1n ", text)


def _prose(concept: str) -> str:
    """Render a concept name for use inside a sentence (lower case except acronyms)."""
    words = []
    for w in concept.split():
        keep = any(c.isupper() for c in w[1:]) or any(c.isdigit() for c in w)
        words.append(w if keep else w.lower())
    return " ".join(words)


CONCEPTS: list[tuple[int, str]] = [
    (fi, c) for fi, name in enumerate(FOLDERS) for c in FOLDERS[name]
]
FOLDER_NAMES = list(FOLDERS)
CONCEPT_PROSE = [_prose(c) for _, c in CONCEPTS]


# --------------------------------------------------------------------------- metadata


@dataclass(slots=True)
class Page:
    """Per-page metadata kept in memory while the vault is written."""

    title: str
    folder: int
    concept: int
    headings: tuple[int, ...]  # indices into HEADINGS; -1 means the planted heading
    blocks: tuple[int, ...]
    aliases: tuple[str, ...]


@dataclass(slots=True)
class Label:
    """Marker data for a labelled page (the target of one query)."""

    kind: str
    query: str
    heading: str = ""
    terms: tuple[str, ...] = field(default_factory=tuple)


def page_path(page: Page) -> str:
    """Vault-relative path of a page (forward slashes, not URL-encoded)."""
    return f"wiki/{FOLDER_NAMES[page.folder]}/{page.title}.md"


def _coin(rng: random.Random, used: set[str]) -> str:
    """Invent a pronounceable word that is not in the vocabulary and not used yet."""
    while True:
        n = rng.choice((3, 3, 4))
        word = "".join(rng.choice(SYLLABLES) for _ in range(n))
        stem = word[:7]
        if stem not in used and word not in used:
            used.add(stem)
            used.add(word)
            return word


def _acronym(base: str) -> str:
    """First letters of the words of ``base`` (upper case)."""
    return "".join(w[0] for w in base.split()).upper()


def _plan(rng: random.Random, n_pages: int, n_queries: int) -> tuple[list[Page], dict[int, Label]]:
    """Choose titles, folders, headings, block ids, aliases and labelled pages."""
    labelled_idx = sorted(rng.sample(range(n_pages), min(n_queries, n_pages)))
    kinds = {p: QUERY_KINDS[j % len(QUERY_KINDS)] for j, p in enumerate(labelled_idx)}
    # Half of the title queries are the exact title of an ordinary page (no marker).
    for j, p in enumerate(labelled_idx):
        if kinds[p] == "title" and (j // len(QUERY_KINDS)) % 2 == 1:
            kinds[p] = "title-exact"
    coined: set[str] = set()
    counters: dict[str, int] = {}
    used_aliases: set[str] = set()
    pages: list[Page] = []
    labels: dict[int, Label] = {}
    n_concepts = len(CONCEPTS)
    n_heads = len(HEADINGS)
    for i in range(n_pages):
        ci = rng.randrange(n_concepts)
        folder, concept = CONCEPTS[ci]
        mod = rng.choice(MODIFIERS) if rng.random() < 0.7 else ""
        if mod and mod.split()[0].lower() in concept.lower():
            mod = ""
        kind = kinds.get(i)
        if kind == "title":
            word = _coin(rng, coined).capitalize()
            base = f"{word} {concept}"
            labels[i] = Label(kind, f"{word} {concept}")
        else:
            base = f"{mod} {concept}" if mod else concept
        n = counters.get(base, 0) + 1
        counters[base] = n
        title = f"{base} {n}"
        if kind == "title-exact":
            labels[i] = Label(kind, title)
        heads = list(rng.sample(range(n_heads), rng.randint(3, 6)))
        if kind == "heading":
            word = _coin(rng, coined).capitalize()
            heading = f"{word} {rng.choice(HEADING_TAILS)}"
            heads[rng.randrange(len(heads))] = -1
            labels[i] = Label(kind, heading, heading=heading)
        n_blocks = rng.choice((0, 0, 1, 1, 2, 3))
        blocks = tuple(rng.sample(range(1, 1000), n_blocks))
        aliases: list[str] = []
        if kind == "alias":
            alias = f"{_coin(rng, coined).capitalize()} {rng.choice(ALIAS_SUFFIXES)}"
            aliases.append(alias)
            labels[i] = Label(kind, alias)
        for _ in range(rng.choice((0, 0, 1, 1, 2)) - len(aliases)):
            cand = f"{_acronym(base)}-{n}" if rng.random() < 0.5 else f"{base} v{n}"
            key = cand.casefold()
            if len(cand) > 4 and key not in used_aliases:
                used_aliases.add(key)
                aliases.append(cand)
        if kind == "body":
            terms = (_coin(rng, coined), _coin(rng, coined))
            labels[i] = Label(kind, f"{terms[0]} {terms[1]}", terms=terms)
        pages.append(Page(title, folder, ci, tuple(heads), blocks, tuple(aliases)))
    return pages, labels


# --------------------------------------------------------------------------- writing


class _Writer:
    """Renders and writes pages one at a time."""

    def __init__(self, rng: random.Random, pages: list[Page], labels: dict[int, Label],
                 broken_rate: float) -> None:
        self.rng = rng
        self.pages = pages
        self.labels = labels
        self.broken_rate = broken_rate
        self.links = 0
        self.broken = 0
        self.page_broken_rate = broken_rate
        self.pool = [self._sentence() for _ in range(4096)]

    def _sentence(self) -> str:
        """Fill one template; ``{T}`` stays a placeholder for the page's topic."""
        rng = self.rng
        tpl = rng.choice(TEMPLATES)
        n1, n2 = rng.sample(NOUNS, 2)
        x = rng.randint(2, 64)
        return _articles(tpl.format(
            T="{T}", V=rng.choice(VERBS), B=rng.choice(BASE_VERBS), N=n1, N2=n2,
            A=rng.choice(ADJECTIVES), M=rng.choice(METRICS), X=x, Y=x + rng.randint(1, 30),
        ))

    def heading_text(self, i: int, h: int) -> str:
        """Text of heading ``h`` of page ``i``."""
        return self.labels[i].heading if h < 0 else HEADINGS[h]

    def _target(self, src: int) -> int:
        t = self.rng.randrange(len(self.pages))
        return (t + 1) % len(self.pages) if t == src else t

    def link(self, src: int, target: int | None = None, form: str | None = None) -> str:
        """Render one link from page ``src``; random target and form unless given."""
        rng = self.rng
        self.links += 1
        if target is None and rng.random() < self.page_broken_rate:
            self.broken += 1
            missing = f"Unwritten {CONCEPTS[rng.randrange(len(CONCEPTS))][1]} {rng.randint(1, 999)}"
            if rng.random() < 0.25:
                folder = rng.choice(FOLDER_NAMES)
                return f"[{rng.choice(LABELS)}](../{folder}/{quote(missing)}.md)"
            return f"[[{missing}]]"
        t = self._target(src) if target is None else target
        page = self.pages[t]
        title = page.title
        form = form or rng.choices(LINK_FORMS, LINK_WEIGHTS)[0]
        if form == "block" and not page.blocks:
            form = "heading"
        if form == "alias" and not page.aliases:
            form = "plain"
        if form == "plain":
            return f"[[{title}]]"
        if form == "label":
            return f"[[{title}|{rng.choice(LABELS)}]]"
        if form == "heading":
            return f"[[{title}#{self.heading_text(t, rng.choice(page.headings))}]]"
        if form == "block":
            return f"[[{title}#^b{rng.choice(page.blocks)}]]"
        if form == "embed":
            return f"![[{title}]]"
        if form == "alias":
            return f"[[{rng.choice(page.aliases)}]]"
        href = f"../{FOLDER_NAMES[page.folder]}/{quote(title)}.md"
        if rng.random() < 0.3:
            heading = self.heading_text(t, rng.choice(page.headings))
            href += "#" + "-".join(heading.lower().split())
        return f"[{rng.choice(LABELS)}]({href})"

    def render(self, i: int) -> tuple[str, str]:
        """Return (file text, one-sentence summary) for page ``i``."""
        rng = self.rng
        page = self.pages[i]
        label = self.labels.get(i)
        concept = CONCEPTS[page.concept][1]
        topic = CONCEPT_PROSE[page.concept]
        summary = _articles(f"{page.title} is a {rng.choice(ADJECTIVES)} approach to the "
                            f"{rng.choice(NOUNS)} that mainly affects {rng.choice(METRICS)}.")
        tags = rng.sample(TAGS, rng.randint(1, 3))
        ptype = rng.choice(TYPES)
        fm = [
            "---",
            f"title: {json.dumps(page.title)}",
            f"type: {ptype}",
            "aliases: [" + ", ".join(json.dumps(a) for a in page.aliases) + "]",
            "tags: [" + ", ".join(tags) + "]",
            f"summary: {json.dumps(summary)}",
            "---",
            "",
        ]
        if ptype == "entity":  # the built-in entity schema requires ``kind``
            fm.insert(3, f"kind: {rng.choice(ENTITY_KINDS)}")
        # Paragraphs per section, then link placement.
        sections = [rng.choice((1, 1, 1, 2)) for _ in page.headings]
        n_par = sum(sections)
        paragraphs = [rng.sample(self.pool, rng.randint(2, 4)) for _ in range(n_par)]
        # Ring link to the next page guarantees an inbound link for every page.
        n_links = rng.randint(5, 15)
        # The ring link is never broken; scale the rate so it holds over all links.
        self.page_broken_rate = self.broken_rate * n_links / (n_links - 1)
        embeds: dict[int, list[str]] = {}
        for j in range(n_links):
            if j == 0 and len(self.pages) > 1:
                text = self.link(i, (i + 1) % len(self.pages), "plain")
            else:
                text = self.link(i)
            p = rng.randrange(n_par)
            if text.startswith("!"):
                embeds.setdefault(p, []).append(text)
            else:
                tpl = rng.choice(LINK_SENTENCES)
                sent = _articles(tpl.format(L=text, A=rng.choice(ADJECTIVES),
                                            N=rng.choice(NOUNS)))
                paragraphs[p].insert(rng.randrange(len(paragraphs[p]) + 1), sent)
        if label is not None and label.kind == "body":
            t1, t2 = label.terms
            a, b = rng.sample(range(n_par), 2) if n_par > 1 else (0, 0)
            paragraphs[a].append(f"The {t1} estimator is what makes {topic} work here.")
            paragraphs[b].append(f"Without a {t2} buffer, the {t1} estimator drifts.")
        block_at = dict(zip(rng.sample(range(n_par), len(page.blocks)), page.blocks,
                            strict=True))
        code_at = rng.randrange(len(page.headings)) if rng.random() < 0.3 else -1
        lines = fm
        p = 0
        for s, h in enumerate(page.headings):
            lines.append(f"## {self.heading_text(i, h)}")
            lines.append("")
            for _ in range(sections[s]):
                text = " ".join(paragraphs[p]).replace("{T}", topic)
                if rng.random() < 0.15:
                    text += f" #{rng.choice(TAGS)}"
                if rng.random() < 0.05:
                    text += " Inline code such as `[[Inline Not A Link]]` is ignored."
                if p in block_at:
                    text += f" ^b{block_at[p]}"
                lines.append(text)
                lines.append("")
                for e in embeds.get(p, ()):
                    lines.append(e)
                    lines.append("")
                p += 1
            if s == code_at:
                fence = "~~~" if rng.random() < 0.2 else "```"
                lines.append(fence + "python")
                lines.extend(rng.choice(CODE_SNIPPETS))
                lines.append(fence)
                lines.append("")
        lines.append(f"Related: {concept}. #{tags[0]}")
        lines.append("")
        return "\n".join(lines), summary


def generate(out_dir: str | Path, pages: int, seed: int = 1, broken_rate: float = 0.01,
             n_queries: int = 64) -> dict[str, Any]:
    """Write a synthetic vault to ``out_dir`` and return its manifest.

    ``out_dir`` must not exist or be empty.  Output is a pure function of the
    arguments.
    """
    if pages < 2:
        raise ValueError("need at least 2 pages")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty")
    rng = random.Random(seed)
    plan, labels = _plan(rng, pages, n_queries)
    writer = _Writer(rng, plan, labels, broken_rate)
    wiki = out / "wiki"
    for name in ("raw", "data", "schemas"):
        (out / name).mkdir(parents=True, exist_ok=True)
    for name in FOLDER_NAMES:
        (wiki / name).mkdir(parents=True, exist_ok=True)
    (out / "veriwiki.toml").write_text('[vault]\nname = "bench"\n', encoding="utf-8")
    total_bytes = 0
    edit_page = ""
    with open(wiki / "index.md", "w", encoding="utf-8", newline="\n") as index:
        index.write("# Index\n\n")
        for i, page in enumerate(plan):
            text, summary = writer.render(i)
            data = text.encode("utf-8")
            total_bytes += len(data)
            with open(out / page_path(page), "wb") as fh:
                fh.write(data)
            index.write(f"- [[{page.title}]] — {summary}\n")
            if not edit_page and i not in labels:
                edit_page = page_path(page)
    (wiki / "log.md").write_text(
        f"# Log\n\n## [{LOG_DATE}] generate | {pages} synthetic pages (seed {seed})\n",
        encoding="utf-8",
    )
    # Labels are in page order and kinds were dealt out in turn, so kinds interleave.
    queries = [{"query": lab.query, "kind": lab.kind, "relevant": [page_path(plan[i])]}
               for i, lab in labels.items()]
    with open(out / QUERIES_NAME, "w", encoding="utf-8", newline="\n") as f:
        json.dump(queries, f, indent=1, ensure_ascii=False)
        f.write("\n")
    manifest: dict[str, Any] = {
        "generator_version": GENERATOR_VERSION,
        "pages": pages,
        "seed": seed,
        "broken_rate": broken_rate,
        "n_queries": len(queries),
        "links": writer.links,
        "broken_links": writer.broken,
        "page_bytes": total_bytes,
        "edit_page": edit_page,
    }
    with open(out / MANIFEST_NAME, "w", encoding="utf-8", newline="\n") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


def is_cached(out_dir: str | Path, pages: int, seed: int, broken_rate: float) -> bool:
    """True when ``out_dir`` holds a complete vault generated with these parameters."""
    out = Path(out_dir)
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    same = (manifest.get("generator_version") == GENERATOR_VERSION
            and manifest.get("pages") == pages and manifest.get("seed") == seed
            and manifest.get("broken_rate") == broken_rate)
    return same and (out / QUERIES_NAME).is_file() and (out / "wiki" / "index.md").is_file()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--pages", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--broken-rate", type=float, default=0.01)
    ap.add_argument("--queries", type=int, default=64, help="number of labelled queries")
    ap.add_argument("--force", action="store_true",
                    help="replace OUT_DIR if it holds a previously generated vault")
    args = ap.parse_args(argv)
    out: Path = args.out_dir
    if out.exists() and any(out.iterdir()):
        if not (args.force and (out / MANIFEST_NAME).is_file()):
            print(f"error: {out} is not empty (use --force to replace a generated vault)",
                  file=sys.stderr)
            return 2
        shutil.rmtree(out)
    t0 = time.perf_counter()
    manifest = generate(out, args.pages, args.seed, args.broken_rate, args.queries)
    dt = time.perf_counter() - t0
    print(f"wrote {args.pages} pages ({manifest['page_bytes'] / 1e6:.1f} MB, "
          f"{manifest['links']} links, {manifest['broken_links']} broken, "
          f"{manifest['n_queries']} queries) to {out} in {dt:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
