"""Vocabulary for reading numbers in prose: unit words, scale words and label words.

Pure data plus two small lookups, used by :mod:`veriwiki.core.numbers`. A unit word
maps to a canonical unit and a factor folded into the value (``GB`` is
``("byte", 1e9)``, ``ms`` is ``("second", 1e-3)``). Keys are matched as written
first, then lower-cased, so abbreviations such as ``MB`` stay case-sensitive while
``Tokens`` and ``tokens`` both resolve.
"""

from __future__ import annotations


def _words(text: str) -> list[str]:
    return text.split()


def _forms(canonical: str, factor: float, *words: str) -> dict[str, tuple[str, float]]:
    return {w: (canonical, factor) for w in words}


UNIT_WORDS: dict[str, tuple[str, float]] = {
    **_forms("token", 1, "token", "tokens", "tok", "toks"),
    **_forms("parameter", 1, "parameter", "parameters", "param", "params"),
    **_forms("byte", 1, "byte", "bytes"),
    **_forms("byte", 1e3, "KB", "kB", "kilobyte", "kilobytes"),
    **_forms("byte", 1e6, "MB", "megabyte", "megabytes"),
    **_forms("byte", 1e9, "GB", "gigabyte", "gigabytes"),
    **_forms("byte", 1e12, "TB", "terabyte", "terabytes"),
    **_forms("byte", 1e15, "PB", "petabyte", "petabytes"),
    **_forms("byte", 2.0**10, "KiB", "kibibyte", "kibibytes"),
    **_forms("byte", 2.0**20, "MiB", "mebibyte", "mebibytes"),
    **_forms("byte", 2.0**30, "GiB", "gibibyte", "gibibytes"),
    **_forms("byte", 2.0**40, "TiB", "tebibyte", "tebibytes"),
    **_forms("bit", 1, "bit", "bits"),
    **_forms("step", 1, "step", "steps", "iteration", "iterations", "iters", "update",
             "updates"),
    **_forms("layer", 1, "layer", "layers", "block", "blocks"),
    **_forms("head", 1, "head", "heads"),
    **_forms("group", 1, "group", "groups"),
    **_forms("dimension", 1, "dimension", "dimensions", "dimensional", "dims"),
    **_forms("percent", 1, "percent", "pct"),
    **_forms("second", 1, "second", "seconds", "sec", "secs", "s"),
    **_forms("second", 1e-3, "ms", "millisecond", "milliseconds"),
    **_forms("minute", 1, "minute", "minutes", "min", "mins"),
    **_forms("hour", 1, "hour", "hours", "hr", "hrs", "h"),
    **_forms("day", 1, "day", "days"),
    **_forms("week", 1, "week", "weeks"),
    **_forms("month", 1, "month", "months"),
    **_forms("year", 1, "year", "years"),
    **_forms("flop", 1, "FLOP", "FLOPs", "FLOPS", "flop", "flops"),
    **_forms("flop", 1e9, "GFLOP", "GFLOPs"),
    **_forms("flop", 1e12, "TFLOP", "TFLOPs"),
    **_forms("flop", 1e15, "PFLOP", "PFLOPs"),
    **_forms("flop", 1e18, "EFLOP", "EFLOPs"),
    **_forms("petaflop/s-day", 1, "petaflop/s-day", "petaflop/s-days", "pf-day", "pf-days",
             "pfs-day", "pfs-days"),
    **_forms("sample", 1, "sample", "samples", "example", "examples", "instance",
             "instances"),
    **_forms("sequence", 1, "sequence", "sequences", "seqs"),
    **_forms("expert", 1, "expert", "experts"),
    **_forms("epoch", 1, "epoch", "epochs"),
    **_forms("word", 1, "word", "words"),
    **_forms("character", 1, "character", "characters", "chars"),
    **_forms("document", 1, "document", "documents", "docs", "webpage", "webpages",
             "web pages", "article", "articles"),
    **_forms("sentence", 1, "sentence", "sentences"),
    **_forms("paragraph", 1, "paragraph", "paragraphs"),
    **_forms("page", 1, "page", "pages"),
    **_forms("line", 1, "line", "lines"),
    **_forms("file", 1, "file", "files"),
    **_forms("pair", 1, "pair", "pairs"),
    **_forms("conversation", 1, "conversation", "conversations", "dialogue", "dialogues",
             "dialog", "dialogs"),
    **_forms("prompt", 1, "prompt", "prompts"),
    **_forms("question", 1, "question", "questions"),
    **_forms("video", 1, "video", "videos"),
    **_forms("link", 1, "link", "links", "URL", "URLs", "url", "urls"),
    **_forms("user", 1, "user", "users"),
    **_forms("repository", 1, "repository", "repositories", "repo", "repos"),
    **_forms("image", 1, "image", "images"),
    **_forms("language", 1, "language", "languages"),
    **_forms("GPU", 1, "GPU", "GPUs", "gpu", "gpus"),
    **_forms("TPU", 1, "TPU", "TPUs", "tpu", "tpus"),
    **_forms("node", 1, "node", "nodes"),
    **_forms("GPU-hour", 1, "GPU hour", "GPU hours", "GPU-hour", "GPU-hours", "gpu-hours"),
    **_forms("GPU-day", 1, "GPU day", "GPU days", "GPU-day", "GPU-days", "gpu-days"),
    **_forms("TPU-hour", 1, "TPU hour", "TPU hours", "TPU-hour", "TPU-hours"),
    **_forms("percent", 1, "per cent", "percentage point", "percentage points"),
    **_forms("USD", 1, "USD", "dollar", "dollars"),
    **_forms("times", 1, "times", "fold", "x", "X", "×"),
}
"""Surface unit word → (canonical unit, factor folded into the value)."""

# One-word units that must be glued to the digits ("50ms", "24h", "8B"), never a free word.
ATTACHED_ONLY = frozenset({"s", "h", "x", "X", "×"})

SUFFIX_SCALE: dict[str, float] = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "b": 1e9,
                                  "bn": 1e9, "T": 1e12, "tn": 1e12}
"""Letters glued to a number that scale it: ``8K``, ``3.2M``, ``7B``, ``15T``."""

WORD_SCALE: dict[str, float] = {"thousand": 1e3, "million": 1e6, "billion": 1e9,
                                "trillion": 1e12}
"""Scale words after a number: ``175 billion``, ``2 trillion``."""

WRITTEN: dict[str, int] = {
    w: i + 1 for i, w in enumerate(_words(
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty"))
} | {w: 10 * (i + 3) for i, w in enumerate(
    _words("thirty forty fifty sixty seventy eighty ninety"))}
"""Number words read as values (only when a unit or scale word follows them)."""

LABEL_WORDS = frozenset(_words("""
section sections sec secs § table tables tab figure figures fig figs appendix appendices
eq eqs equation equations chapter chapters ch algorithm alg lemma theorem corollary
definition proposition stage phase version ver part parts example listing line lines
page pages pp footnote note row rows column columns col item rule round # step
task exercise question
"""))
"""Words after which a number names something (``Table 4``), it is not a quantity."""

MODEL_FAMILIES = frozenset(_words("""
llama llama2 codellama gpt mistral mixtral qwen gemma gemini falcon pythia opt bloom
deepseek phi yi claude palm t5 mpt olmo starcoder vicuna alpaca baichuan internlm grok
chinchilla gopher bert roberta llava whisper jamba granite command nemotron megatron
"""))
"""Model family names: ``Llama 2`` and ``Mistral 7B`` are names, not claims."""

VALUE_WORDS = frozenset(_words("""
size length dimension dim width rate window vocabulary count batch total about approximately
roughly nearly = : ~ ≈ × x
"""))
"""Words just before a number that make ``2000`` a value rather than a year."""

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""Month abbreviations: a day number after one is part of a date."""

STOP_WORDS = frozenset(_words("""
a an the is are was were be been being has have had with without for on in at by from
to into onto and or but nor of which that than per each as while when where after before
it its their our we this these those via using used can could will would may might
not vs versus compared respectively i.e e.g
"""))
"""Words the unit search does not step over: they end the number's phrase."""


def lookup_unit(word: str) -> tuple[str, float] | None:
    """The (canonical unit, factor) a surface word names, or ``None``."""
    hit = UNIT_WORDS.get(word)
    if hit is None and not word.isupper():
        hit = UNIT_WORDS.get(word.lower())
    return hit


def plural(unit: str) -> str:
    """How a canonical unit reads in a message: ``tokens``, ``bytes``, ``percent``."""
    if unit in {"percent", "times"} or unit.endswith("s"):
        return unit
    if unit == "petaflop/s-day":
        return "petaflop/s-days"
    return unit + "s"
