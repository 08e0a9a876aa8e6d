"""Names in a source: which capitalised runs are names, which the source defines or
repeats, what the source is mainly about, and which name a sentence opens with.

Pure and deterministic; used by extractive ingest (``core.extractive``) to file each
sentence under a page.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NameInfo:
    """A name found in the source: how often it occurs and whether the source defines it."""

    name: str
    count: int
    defined: bool
    aliases: tuple[str, ...] = ()


def fold(text: str) -> str:
    """Lower case, punctuation to spaces, white space collapsed (for matching names)."""
    return " ".join(re.sub(r"[^\w]+", " ", text.casefold()).split())


# -- names ------------------------------------------------------------------------------------

_COMMON = frozenset(fold("""a an the this that these those it its we our i my you your he she
they their there here what which who how why when where yes no not also so but and or if then
however for with on in at by from to of as after before during since until over once next
today yesterday tomorrow now each every all some many most more less one two three both
either neither please note see thanks thank hello hi update updates new old last first
second third final overall finally honestly sadly luckily well would could should can may
might will must do does did is are was were be been being has have had upgrading fixed added
removed changed deprecated security abstract introduction results discussion conclusion
limitations protocol deployment setup what's why's here's let's i'm i've i'd we've we're
january february march april may june july august september october november december
figure fig table section appendix chapter equation eq step steps page version
monday tuesday wednesday thursday friday saturday sunday q1 q2 q3 q4 faq http https
ah mah wh kwh mwh hz khz mhz ghz tflops gflops pflops flops
url json csv pdf html gb tb mb kb gib tib w kw v s ms mb/s gb/s tb/s""").split())
# Capitalised words that are not worth a page by themselves (plan names, document words).
_GENERIC = frozenset(fold("""license licence readme team free enterprise pro basic premium plan
plans version release
notes note update updates changes card model models api cloud database engine server service
figure table section appendix chapter page report paper blog post abstract data health
performance fixes features deprecations limits""").split())
_DOC_WORDS = frozenset(fold("""release notes changelog update updates changes specification spec
announcement faq report overview guide documentation docs frequently asked questions
rate limits""").split())

_TOKEN = r"[A-Za-z][\w'’.+/-]*[\w+]|[A-Za-z]"
_NAME_TOKEN = re.compile(rf"(?<![\w-])(?:{_TOKEN})(?![\w-])")
_SUFFIX = re.compile(r" (v?\d+(?:\.\d+)+|v\d+|\d{1,2}|\d+(?:\.\d+)?[BMKT])(?!\d|\.\d|%|,\d|[\w-])")
_VERSION = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+(?![\w.])|(?<![\w.])v\d+(?![\w.])")
_ABBR_DEF = re.compile(r"\b((?:[A-Za-z][\w-]*\s+){0,4}[A-Za-z][\w-]*)\s+\(([A-Z][A-Za-z0-9-]{1,9})\)")
_DEFINITION = re.compile(r"^(?:{name})\s+(?:is|are|refers to|means|stands for)\s+"
                         r"(?:a|an|the|one|when|how)\b")


def _is_name_token(token: str, first: bool, proper: frozenset[str] = frozenset()) -> bool:
    if fold(token) in _COMMON or len(token) < 2 or "_" in token:
        return False
    head = token[0]
    has_digit = any(c.isdigit() for c in token)
    inner_cap = any(c.isupper() for c in token[1:])
    if re.search(r"-[a-z]+$", token) and not has_digit and fold(token) not in proper:
        return False   # "ML-based", "Cold-start": adjectives, not names
    if head.isupper():
        return not first or has_digit or inner_cap or fold(token) in proper
    return False


def proper_words(sentences: Iterable[str]) -> frozenset[str]:
    """Words the text capitalises where a sentence does not start (``Marigold``), so the
    same word opening a sentence is read as a name too."""
    out = set()
    for text in sentences:
        for m in _NAME_TOKEN.finditer(text):
            token = re.sub(r"['’]s$", "", m.group(0)).rstrip(".")
            before = text[:m.start()].rstrip()
            if before and not before.endswith((".", "!", "?", ":")) and \
                    _is_name_token(token, False):
                out.add(fold(token))
        opening = re.match(r"(?:The\s+)?([A-Z][\w-]+)\s+(?:is|are)\s+(?:a|an)\s", text)
        if opening and fold(opening.group(1)) not in _COMMON | _GENERIC:
            out.add(fold(opening.group(1)))   # "Tern is a command-line tool …"
    return frozenset(out)


def name_runs(sentence: str, proper: frozenset[str] = frozenset()) -> list[str]:
    """Runs of capitalised tokens (``Tidewater Labs``, ``Orca-7 v1.1``, ``Basalt-2``).

    A sentence's first word counts only when it looks like a name by itself (a digit, an
    inner capital or a hyphen); possessive ``'s`` is dropped.
    """
    runs: list[list[str]] = []
    current: list[str] = []
    last_end = -1
    for m in _NAME_TOKEN.finditer(sentence):
        token = re.sub(r"['’]s$", "", m.group(0)).rstrip(".")
        gap = sentence[last_end:m.start()] if last_end >= 0 else ""
        joined = current and gap.strip() == "" and not re.search(r"[,;:()]", gap)
        first = m.start() == 0 or sentence[:m.start()].strip() in ("", "The", "A", "An")
        if _is_name_token(token, first and not current, proper):
            if not joined:
                if current:
                    runs.append(current)
                current = []
            current.append(token)
        elif current and joined and _VERSION.fullmatch(token):
            current.append(token)
        else:
            if current:
                runs.append(current)
            current = []
        last_end = m.end()
        if m.group(0).endswith(("'s", "’s")) and current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    out = []
    for run in runs:
        name = " ".join(run)
        tail = sentence[sentence.find(name) + len(name):] if name in sentence else ""
        while (suffix := _SUFFIX.match(tail)) is not None and len(name.split()) < 6:
            name = f"{name} {suffix.group(1)}"       # "Llama 2", "Llama 3 405B", "Orca-7 v1.1"
            tail = tail[suffix.end():]
        out.append(name)
    return out


def abbreviations(text: str) -> dict[str, str]:
    """``long name (ABBR)`` definitions: abbreviation → the long name as written."""
    found: dict[str, str] = {}
    for m in _ABBR_DEF.finditer(text):
        abbr, words = m.group(2), m.group(1).split()
        letters = "".join(c for c in abbr if c.isupper())
        for take in range(1, len(words) + 1):
            long = words[-take:]
            initials = "".join(part[0].upper() for w in long for part in w.split("-") if part)
            if initials == letters:
                found.setdefault(abbr, " ".join(long))
                break
    return found


def find_names(sentences: Sequence[str], title: str) -> dict[str, NameInfo]:
    """Names in the source (title included), with counts and whether each is defined.

    Defined: the source opens a sentence with ``Name is a …`` or spells it out as
    ``long name (ABBR)``. Names are keyed by their folded form.
    """
    counts: Counter[str] = Counter()
    spelled: dict[str, str] = {}
    defined: set[str] = set()
    proper = proper_words(sentences)
    for text in [title, *sentences]:
        for name in name_runs(text, proper):
            key = fold(name)
            counts[key] += 1
            spelled.setdefault(key, name)
            parts = name.split()
            for n in range(1, len(parts)):
                sub = fold(" ".join(parts[:n]))
                if sub in spelled or n == 1:
                    counts[sub] += 0  # make the prefix known; it counts when it stands alone
            lead = re.escape(name)
            if re.match(_DEFINITION.pattern.format(name=lead), text) or re.search(
                    rf"(?<![\w-]){lead},\s+(?:a|an|the|its)\s", text):
                defined.add(key)
    aliases: dict[str, list[str]] = {}
    full = " ".join(sentences)
    for abbr, long in abbreviations(full).items():
        key = fold(long)
        counts[key] += 1 + counts.get(fold(abbr), 0)
        spelled[key] = long[0].upper() + long[1:]
        defined.add(key)
        aliases.setdefault(key, []).append(abbr)
        counts.pop(fold(abbr), None)
    return {k: NameInfo(spelled.get(k, k), c, k in defined, tuple(aliases.get(k, ())))
            for k, c in counts.items() if c > 0 and k in spelled}


def occurrences(name: str, folded_text: str) -> int:
    """How often ``name`` occurs as whole words in already folded text."""
    key = fold(name)
    return len(re.findall(rf"(?<!\w){re.escape(key)}(?!\w)", folded_text)) if key else 0


def main_subject(title: str, text: str, proper: frozenset[str] = frozenset()) -> str | None:
    """The source's main subject: the name in the title (before any colon) that the body
    uses most, as written; a longer name wins a tie, document words (``Release Notes``)
    are dropped. A single title-case word needs two uses in the body unless the body
    capitalises it where a sentence does not start (``proper``) or it looks like a name
    (``Orca-7``): "Language Models are …" does not make "Language" a subject."""
    body = text.replace(title, " ", 1)
    lines = body.lstrip().split("\n", 1)
    if lines and fold(lines[0]) == fold(title):     # a title line without the colon etc.
        body = lines[1] if len(lines) > 1 else ""
    best: tuple[int, int, int, str] | None = None
    runs = name_runs(title.split(":")[0], proper | _title_words(title)) or \
        name_runs(title, proper | _title_words(title))
    for pos, run in enumerate(runs):
        parts = run.split()
        while len(parts) > 1 and fold(parts[-1]) in _DOC_WORDS:
            parts.pop()
        for n in range(len(parts), 0, -1):
            name = " ".join(parts[:n])
            if n < len(parts) and re.fullmatch(r"\d{1,2}", parts[n]):
                continue   # "Llama 2" is one name: never cut it to "Llama"
            if n == 1 and (fold(name) in _GENERIC or fold(name) in _DOC_WORDS):
                continue
            shaped = any(_shaped(w) for w in parts[:n])
            count = len(re.findall(rf"(?<![\w-]){re.escape(name)}(?![\w-])",
                                   text if shaped else body))   # "Llama 2" may be title-only
            plain = n == 1 and fold(name) not in proper and not shaped
            if count >= (2 if plain else 1):
                rank = (count, n, -pos, name)
                if best is None or rank[:3] > best[:3]:
                    best = rank
    return best[3] if best else None


def _shaped(word: str) -> bool:
    """A word that is a name by its shape: a digit or an inner capital (``Orca-7``,
    ``LanternQA``, ``Sparrow-MoE``), not title case (``Few-Shot``, ``Decoder-Only``)."""
    return any(c.isdigit() for c in word) or any(
        any(c.isupper() for c in part[1:]) for part in word.split("-"))


def _title_words(title: str) -> frozenset[str]:
    """Title words that may open a name run in the title (``Heliograph Cloud API``)."""
    return frozenset(fold(w) for w in re.findall(r"[A-Z][\w-]*", title)
                     if fold(w) not in _COMMON)


_NOUN_AFTER = re.compile(r"^[\s,]*(?:(?:an?|the|its|our)\s+)?(?:[\w-]+\s+){0,4}?"
                         r"(model|card|cards|database|engine|benchmark|api|paper|report|"
                         r"library|tool|service|dataset|method|system|project|release|"
                         r"accelerator|chip|index|suite|platform|framework|product)s?\b")


def head_nouns(sentences: Sequence[str], names: Iterable[str]) -> dict[str, Counter[str]]:
    """Noun → names it stands for: ``Basalt-2 cards``, ``Orca-7, a … model``, ``X is a
    … card`` let a later ``The card …`` mean that name."""
    out: dict[str, Counter[str]] = {}
    wanted = sorted({n for n in names if n}, key=len, reverse=True)
    for text in sentences:
        for name in wanted:
            for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                tail = text[m.end():]
                lead = re.match(r"\s+(?:is|are|was)\s+|,\s+|\s+", tail)
                if not lead:
                    continue
                noun = _NOUN_AFTER.match(tail[lead.end():] if lead.group(0).strip()
                                         else tail)
                if noun and (lead.group(0).strip() or noun.start(1) <= 1 + len(lead.group(0))):
                    key = noun.group(1).rstrip("s") if noun.group(1) != "series" else "series"
                    out.setdefault(key, Counter())[name] += 1
    return out


def page_worthy(info: NameInfo) -> bool:
    """A name deserves a page of its own: it recurs or is defined, and is not a bare unit
    or a generic word (``Team``, ``Release Notes``)."""
    letters = re.sub(r"[^A-Za-z]", "", info.name)
    if len(letters) < 2 or (info.name.isupper() and len(info.name) <= 3 and not info.defined):
        return False
    words = fold(info.name).split()
    if all(w in _GENERIC or w in _DOC_WORDS or w in _COMMON for w in words):
        return False
    return info.count >= 2 or info.defined



LEAD = re.compile(r"^(?:(?:on|in|at|for|with|under|after|before|since|during|across|"
                   r"compared (?:to|with)|as of|by|from)\b[^,]{0,80},\s*|(?:also|however|"
                   r"today|now|finally|overall),\s*)", re.I)


def subject_of(sentence: str, names_here: list[str]) -> str | None:
    """The name a sentence opens with (after a leading ``On X,`` phrase), if any."""
    body = LEAD.sub("", sentence, count=1)
    body = re.sub(r"^(?:the|a|an)\s+", "", body, flags=re.I)
    for name in names_here:
        if fold(body).startswith(fold(name)):
            return name
    return None


