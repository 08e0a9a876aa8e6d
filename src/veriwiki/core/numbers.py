"""Numbers in prose: read every number of a sentence, and check a claim's against its quote.

:func:`extract_quantities` finds each number with its value, unit and kind:

- ``quantity`` — a number that states something: ``175 billion parameters``,
  ``3.2M tokens``, ``0.6 × 10^-4``, ``12.5%``, ``4x``, ``eight heads``;
- ``year`` — ``2023`` in "in 2023" or "(Touvron et al., 2023)": a bare integer from
  1900 to 2039 with no unit, unless a word such as "size", "length" or "=" just
  before it makes it a value; also the parts of a date (``July 18``, ``2023-07-18``);
- ``label`` — a number that names rather than counts: model names (``Llama 2``,
  ``GPT-3``, ``Qwen2.5``, ``DeepSeek-V2``, and the size after a model name, as in
  ``Llama 2 70B`` or ``Mistral 7B``), references (``Section 3.2``, ``Table 4``,
  ``Figure 2``, ``Eq. (3)``), citations and footnote marks (``[12]``, ``[^1]``),
  versions (``v2``) and ordinals (``1st``).

Values fold in every scale the text writes: ``8,192`` = ``8192``; ``2.4e-4`` =
``2.4 × 10⁻⁴`` = ``2.4x10^-4`` = ``0.00024``; ``15T`` = ``15 trillion``; ``7B`` =
``7 billion`` = ``7,000,000,000``; ``40GB`` is 40e9 bytes; ``$5.6M`` is 5.6e6 USD.
Number words (``eight``) count only with a unit or scale word (``eight heads``). A
unit word may follow the
number directly or after at most two modifier words (``375M warmup steps``, ``236B
total parameters``); it maps to a canonical unit (see :mod:`veriwiki.core.units`).
In a range or list (``2-4 layers``, ``7B, 13B and 70B parameters``) the unit, and for
a range the scale, of the last number carries back to the earlier ones.

:func:`compare` checks each ``quantity`` of a claim against the numbers of its quote
(years are never compared, labels only ever serve as quote-side candidates when they
carry a size such as ``70B``). Two values are equal when:

1. they agree to a relative 1e-9 (so every written form of one value is equal); or
2. ``K`` is read as 1,000 or 1,024 (``8K`` = ``8192``, ``128K`` = ``131,072``, also
   ``KB``); or
3. the claim has digits after its decimal point and the quote's value rounds to it
   at that precision: claim ``6.7B`` matches quote ``6.74B``, claim ``1.5B`` matches
   ``1,542M``. Rounding stops at the written digits: a whole-number claim must be
   exact (``7B`` does not match ``6.7B``), and a claim more precise than its quote
   (``6.74B`` against ``6.7B``) does not match; or
4. one side is a percentage and the other a bare number a hundred times smaller
   (``10%`` = ``0.1``). A percentage is never equal to a count (``21%`` vs ``21 experts``
   is a unit mismatch).

A claim number with no equal in the quote is a ``number-mismatch``; one whose only
equals carry a different known unit is a ``unit-mismatch`` (``40B tokens`` against
``40GB of text``). A number without a unit on either side is never a unit mismatch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from veriwiki.core.rendered import is_marked_up, render
from veriwiki.core.units import (
    ATTACHED_ONLY,
    LABEL_WORDS,
    MODEL_FAMILIES,
    MONTHS,
    STOP_WORDS,
    SUFFIX_SCALE,
    VALUE_WORDS,
    WORD_SCALE,
    WRITTEN,
    lookup_unit,
    plural,
)

QUANTITY, YEAR, LABEL = "quantity", "year", "label"
NUMBER_MISMATCH, UNIT_MISMATCH = "number-mismatch", "unit-mismatch"


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number as found in a text.

    ``value`` has every scale folded in (``40GB`` → 40e9); ``unit`` is canonical or
    ``None``; ``raw`` is the number with its scale and unit words as a reader sees it
    (``text[start:end]`` unless the text holds markup).
    ``tolerance`` is how far a value may be and still round to this one (half a unit of
    the last written decimal digit, 0 for whole numbers); ``alt_value`` is the
    1,024-based reading of a ``K`` number.
    """

    value: float
    unit: str | None
    raw: str
    start: int
    end: int
    kind: str = QUANTITY
    tolerance: float = 0.0
    alt_value: float | None = None
    factor: float = 1.0  # the unit's factor folded into ``value`` (``GiB``: 2**30)

    @property
    def is_year(self) -> bool:
        """Whether this number is a calendar year."""
        return self.kind == YEAR

    @property
    def values(self) -> tuple[float, ...]:
        """Every value the number can mean (two for ``8K``: 8000 and 8192)."""
        return (self.value,) if self.alt_value is None else (self.value, self.alt_value)


@dataclass(frozen=True, slots=True)
class NumberIssue:
    """A claim number its quote does not back: ``number-mismatch`` or ``unit-mismatch``."""

    kind: str
    claim_raw: str
    quote_raw: str | None
    message: str


_SUP = "⁰¹²³⁴⁵⁶⁷⁸⁹"
_MANT = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]+(?:\.[0-9]+)?|\.[0-9]+"
_EXP = (rf"[eE](?P<e>[-+−]?[0-9]+)(?![A-Za-z0-9])"
        rf"|\s?[×xX*·⋅]\s?10\s?(?:\^\s?\{{?\s?(?P<c>[-+−–]?\s?[0-9]+)(?:\s?\}})?"
        rf"|(?P<s>[⁻⁺]?[{_SUP}]+)|(?P<d>[-−–][0-9]{{1,2}})(?![0-9]))"
        # "2.1 × 108": a superscript flattened by copying from a rendered page
        rf"|(?<=[0-9]\.[0-9])\s?[×·]\s?10(?P<f>[1-9][0-9]?)(?![0-9.,])")
_POW = (rf"\^\s?\{{?\s?(?P<pc>[-+−–]?[0-9]+)(?:\s?\}})?|(?P<ps>[⁻⁺]?[{_SUP}]+)"
        r"|(?<=10)(?<![0-9.,]10)(?P<pm>−[0-9]{1,2})(?![0-9])")  # PDF-flattened "10−5"
_NUMBER = re.compile(
    rf"(?<![0-9])(?<![0-9]\.)(?P<sign>[-+−](?=[.0-9]))?(?P<m>{_MANT})(?:{_EXP}|{_POW})?")
_WRITTEN = re.compile(r"(?<![A-Za-z-])(?P<w>" + "|".join(sorted(WRITTEN, key=len, reverse=True))
                      + r")(?:-(?P<w2>one|two|three|four|five|six|seven|eight|nine))?(?![A-Za-z])",
                      re.IGNORECASE)
_GLUED = re.compile(r"[A-Za-z]+|%|×")
_PERCENT = re.compile(r"\s?%|\s?×(?!\s?[0-9])")
_SCALE_WORD = re.compile(r"(?:\s+|-)(thousand|million|billion|trillion)(?![A-Za-z])", re.I)
_WORD = re.compile(r"(?:\s+|-)([A-Za-z][A-Za-z0-9]*(?:[/-][A-Za-z][A-Za-z0-9]*)*)")
_BEFORE = re.compile(r"([A-Za-z§#][A-Za-z]*)(\.?)\s*\(?$")
_BRACKETS = re.compile(r"\[\^?\s*[0-9]+(?:\s*[,–-]\s*[0-9]+)*\s*\]|\{\{[^}]*\}\}|https?://\S+")
_CITATION = re.compile(r"\[@(?:\"[^\"]*\"|[^\]\"])*\]|\{\{[^}]*\}\}")
_RANGE = {"-", "–", "—", "−", "to"}
_LIST = {",", "and", "or", ", and", ", or", "/", "&"}
_NAME_LIKE = re.compile(r"[A-Z][A-Za-z]*[A-Z][A-Za-z]*")  # "NLG 530B", "PaLM 540B"
_MONTH = re.compile(rf"\b(?:{'|'.join(MONTHS)})[a-z]*\.?\s+$")
_ISO_DATE = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9](?![0-9])")
_SIZED = re.compile(r"[0-9](?:[KkMBbT]|bn)(?![A-Za-z])")


@dataclass(slots=True)
class _Draft:
    """A number being read; becomes a :class:`Quantity` once its kind is known."""

    start: int
    end: int
    base: float  # the value as written, exponent applied, before scale and unit factor
    tolerance: float = 0.0  # likewise before scale and unit factor
    scale: float = 1.0  # "K", "million", ...
    factor: float = 1.0  # from the unit: "GB" is 1e9 bytes
    kilo: bool = False
    plain: bool = False  # digits only: no sign, separators, decimals, scale or exponent
    shape: tuple[int, bool] = (0, False)  # decimals written, exponent written
    unit: str | None = None
    kind: str = QUANTITY

    @property
    def scaled(self) -> bool:
        return self.scale != 1.0

    @property
    def value(self) -> float:
        return self.base * self.scale * self.factor


def _exponent(text: str) -> int:
    text = text.replace(" ", "").replace("−", "-").replace("–", "-")
    table = str.maketrans(_SUP + "⁻⁺", "0123456789-+")
    return int(text.translate(table))


def _read_number(text: str, m: re.Match[str]) -> _Draft:
    mant = m["m"]
    start, end = m.start(), m.end()
    if m["sign"] and start > 0 and (text[start - 1].isalnum() or text[start - 1] in ")]%"):
        start += 1  # "GPT-3": a hyphen, not a minus
    decimals = len(mant.partition(".")[2])
    value = float(mant.replace(",", ""))
    tolerance = 0.5 * 10.0 ** -decimals if decimals else 0.0
    power = m["e"] or m["c"] or m["s"] or m["d"] or m["f"]
    if power is not None:
        exponent = _exponent(power)
        value = float(f"{mant.replace(',', '')}e{exponent}")
        tolerance *= 10.0 ** exponent
    elif m["pc"] is not None or (m["ps"] is not None and mant in ("10", "2")) \
            or m["pm"] is not None:
        value, tolerance = value ** _exponent(m["pc"] or m["ps"] or m["pm"]), 0.0
    elif m["ps"] is not None:
        end = m.end("m")  # "2023¹": a footnote mark
    if m["sign"] and start == m.start() and m["sign"] in "-−":
        value = -value
    plain = end == m.end("m") and start == m.start() and mant.isdigit()
    return _Draft(start, end, value, tolerance, plain=plain, shape=(decimals, power is not None))


def _read_unit(text: str, d: _Draft) -> None:
    """Read scale and unit after the number, extending ``d.end``."""
    pos = d.end
    glued = _GLUED.match(text, pos)
    if glued and glued.group() not in ("%", "×"):
        word, d.end = glued.group(), glued.end()
        hit = lookup_unit(word)
        if word in SUFFIX_SCALE:
            d.scale, d.kilo, pos = SUFFIX_SCALE[word], word in "kK", d.end
        elif hit is None or (word == "s" and d.plain and d.base >= 10 and d.base % 10 == 0) \
                or (word in ("x", "X") and text[d.end:d.end + 1].isdigit()):
            d.kind = LABEL  # "1st", "3D", "1990s", "8x7B": a name or a shape, not a quantity
            return
        else:
            _set_unit(d, hit, word)
            return
    sign = _PERCENT.match(text, pos)
    if sign and not d.scaled:
        d.unit, d.end = ("percent" if "%" in sign.group() else "times"), sign.end()
        return
    word_scale = None if d.scaled else _SCALE_WORD.match(text, pos)
    if word_scale:
        d.scale = WORD_SCALE[word_scale[1].lower()]
        pos = d.end = word_scale.end()
    skipped = 0
    while skipped <= 2:
        w = _WORD.match(text, pos)
        if not w:
            return
        nxt = _WORD.match(text, w.end())
        if nxt and (hit := lookup_unit(f"{w[1]} {nxt[1]}")) is not None:
            _set_unit(d, hit, w[1])
            d.end = nxt.end()
            return
        hit = None if w[1] in ATTACHED_ONLY else lookup_unit(w[1])
        if hit is not None:
            _set_unit(d, hit, w[1])
            d.end = w.end()
            return
        low = w[1].lower()
        if low in STOP_WORDS or low in WORD_SCALE or low in WRITTEN:
            return
        skipped, pos = skipped + 1, w.end()


def _set_unit(d: _Draft, hit: tuple[str, float], word: str) -> None:
    d.unit, d.factor = hit
    if word in ("KB", "kB"):
        d.kilo = True


def _inside(spans: list[tuple[int, int]], pos: int) -> bool:
    return any(a <= pos < b for a, b in spans)


def _classify(text: str, d: _Draft, prev: _Draft | None, refs: list[tuple[int, int]],
              dates: list[tuple[int, int]]) -> None:
    """Mark labels and years; everything else stays a quantity."""
    if d.kind == LABEL:
        return
    s = d.start
    j = s
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_.-:'@"):
        j -= 1
    before = text[max(0, s - 40):s]
    word = _BEFORE.search(before)
    w = (word[1].lower() if word else "")
    if (any(c.isalpha() for c in text[j:s])
            or (s > 0 and text[s - 1] == "^")
            or _inside(refs, s)
            or (d.plain and d.base < 10 and text[s - 1:s] == "(" and text[d.end:d.end + 1] == ")"
                and before[:-1].rstrip()[-1:] in ("", ":", ";", ",", "."))  # "(2) the ..."
            or w in LABEL_WORDS or (word and word[1] in ("No", "p") and word[2])
            or (word and w in MODEL_FAMILIES and word[1][0].isupper() and d.unit is None)
            or (d.scaled and d.unit is None and word and _NAME_LIKE.fullmatch(word[1]))
            or (prev is not None and prev.kind == LABEL and d.scaled and d.unit is None
                and text[prev.end:s].strip() in ("", "-"))):
        d.kind = LABEL
    elif (d.plain and 1 <= d.base <= 31 and _MONTH.search(before)) or _inside(dates, s):
        d.kind = YEAR  # a calendar date: "July 18, 2023", "2023-07-18"
    elif (d.plain and not d.scaled and d.unit is None and 1900 <= d.base <= 2039
          and before.rstrip()[-1:] not in tuple("=:~≈×")
          and not VALUE_WORDS.intersection(before.lower().split()[-2:])):
        d.kind = YEAR


def _propagate(text: str, drafts: list[_Draft]) -> None:
    """Carry unit (and, for ranges, scale) back through ``2-4 layers``, ``7B and 13B``."""
    pairs = list(zip(drafts[:-1], drafts[1:], strict=True))
    links = [" ".join(text[a.end:b.start].split()) for a, b in pairs]
    for (a, b), link in zip(pairs, links, strict=True):  # "Tables 3 and 4", "Llama 2 7B, 13B"
        if (link in _RANGE or link in _LIST) and a.kind == LABEL and b.kind == QUANTITY \
                and b.unit is None and b.scaled == a.scaled:
            b.kind = LABEL
    for (a, b), link in reversed(list(zip(pairs, links, strict=True))):
        if (link not in _RANGE and link not in _LIST) or a.kind != QUANTITY \
                or b.kind != QUANTITY or a.unit is not None or (b.unit is None and not b.scaled):
            continue
        if link in _LIST and (a.scale, a.plain, a.shape) != (b.scale, b.plain, b.shape):
            continue  # "3e-4 and 2000 warmup steps": a list of unlike numbers shares nothing
        if link in _RANGE and not a.scaled:
            a.scale, a.kilo = b.scale, b.kilo
        a.unit, a.factor = b.unit, b.factor


def extract_quantities(text: str) -> list[Quantity]:
    """Every number of ``text`` in order, with value, canonical unit and kind.

    Markup is read as rendered (:func:`veriwiki.core.rendered.render`): ``**2.5**T`` is
    2.5T and ``3 x 10<sup>-4</sup>`` is 3e-4. Offsets refer to ``text``; ``raw`` is the
    number as rendered.
    """
    return list(_quantities(text))


@lru_cache(maxsize=4096)
def _quantities(text: str) -> tuple[Quantity, ...]:
    """:func:`extract_quantities`, remembered: a check reads one quote for every claim
    that cites it (a quarter of the texts at 10k bench pages are read again)."""
    if not is_marked_up(text):
        return tuple(_extract(text))
    view = render(text, numbers=True)
    return tuple(replace(q, start=view.span(q.start, q.end)[0],
                         end=view.span(q.start, q.end)[1]) for q in _extract(view.text))


def _extract(text: str) -> list[Quantity]:
    drafts: list[_Draft] = []
    for m in _NUMBER.finditer(text):
        d = _read_number(text, m)
        _read_unit(text, d)
        if d.unit is None and text[d.start - 1:d.start] == "$":
            d.unit = "USD"
        drafts.append(d)
    for m in _WRITTEN.finditer(text):
        d = _Draft(m.start(), m.end(),
                   float(WRITTEN[m["w"].lower()] + (WRITTEN[m["w2"].lower()] if m["w2"] else 0)))
        _read_unit(text, d)
        if d.kind == QUANTITY and (d.scaled or d.unit is not None):
            drafts.append(d)
    drafts.sort(key=lambda x: x.start)
    refs = [m.span() for m in _BRACKETS.finditer(text)]
    dates = [m.span() for m in _ISO_DATE.finditer(text)]
    for i, d in enumerate(drafts):
        _classify(text, d, drafts[i - 1] if i else None, refs, dates)
    _propagate(text, drafts)
    return [Quantity(d.value, d.unit, text[d.start:d.end], d.start, d.end, d.kind,
                     d.tolerance * d.scale * d.factor, d.value * 1.024 if d.kilo else None,
                     d.factor)
            for d in drafts]


def is_same_value(claim: Quantity, other: Quantity) -> bool:
    """Whether ``other`` states the claim's value, by the rules in the module docstring."""
    shift = 1.0  # 10% and a unitless 0.1 state one value
    if claim.unit == "percent" and other.unit is None:
        shift = 0.01
    elif claim.unit is None and other.unit == "percent":
        shift = 100.0
    if other.unit is None and claim.factor != 1.0:  # "28 GB" against a bare "28"
        bare = replace(claim, value=claim.value / claim.factor,
                       tolerance=claim.tolerance / claim.factor, factor=1.0,
                       alt_value=None if claim.alt_value is None
                       else claim.alt_value / claim.factor)
        if is_same_value(bare, other):
            return True
    for cv in claim.values:
        tol = claim.tolerance * (cv / claim.value if claim.value else 1.0)
        for ov in other.values:
            if abs(cv - ov) <= abs(tol) + 1e-9 * max(abs(cv), abs(ov)):
                return True
            if shift != 1.0 and abs(cv * shift - ov) <= abs(tol * shift) + 1e-9 * abs(ov):
                return True
    return False


def parse_value(text: str) -> Quantity | None:
    """The first quantity of a short text such as a fact's value (``"8K"``, ``"70B"``)."""
    return next((q for q in extract_quantities(text) if q.kind == QUANTITY), None)


def compare(claim: str, quote: str) -> list[NumberIssue]:
    """Issues for the numbers of ``claim`` that ``quote`` does not state.

    Citations (``[@id, "..."]``) and fact references inside the claim are ignored. One
    issue per distinct number as written; an empty list when every number is backed.
    """
    blank = _CITATION.sub(lambda m: " " * len(m.group()), claim)
    candidates = [q for q in extract_quantities(quote)
                  if q.kind == QUANTITY or (q.kind == LABEL and _SIZED.search(q.raw))]
    issues: list[NumberIssue] = []
    seen: set[str] = set()
    for c in extract_quantities(blank):
        if c.kind != QUANTITY or c.raw in seen:
            continue
        seen.add(c.raw)
        same = [q for q in candidates if is_same_value(c, q) and not _scaled_apart(c, q)]
        if same:
            if c.unit is None or any(q.unit in (None, c.unit) for q in same):
                continue
            q = same[0]
            issues.append(NumberIssue(
                UNIT_MISMATCH, c.raw, q.raw, f'"{c.raw}" in the page, but the quote says '
                f'"{q.raw}" ({plural(str(q.unit))}, not {plural(c.unit)})'))
            continue
        other = _other_scale(c, candidates)
        if other is not None:  # "40GB" against "40GiB": the digits agree, the unit does not
            issues.append(NumberIssue(
                UNIT_MISMATCH, c.raw, other.raw, f'"{c.raw}" in the page, but the quote says '
                f'"{other.raw}" (another unit: {_unit_word(other)}, not {_unit_word(c)})'))
            continue
        closest = _closest(c, candidates)
        issues.append(NumberIssue(NUMBER_MISMATCH, c.raw, closest.raw if closest else None,
                                  f'"{c.raw}" in the page does not appear in the quote '
                                  f"({_listing(candidates)})"))
    return issues


def _scaled_apart(c: Quantity, q: Quantity) -> bool:
    """Same digits, same kind of unit, another unit factor: ``0.4 GiB`` and ``0.4 GB``."""
    return c.unit is not None and q.unit == c.unit and q.factor != c.factor and \
        bool(q.value and c.value) and \
        abs(q.value / q.factor - c.value / c.factor) <= 1e-9 * abs(c.value / c.factor)


def _other_scale(c: Quantity, candidates: list[Quantity]) -> Quantity | None:
    """A quote number with the claim's digits and unit kind but another unit factor."""
    return next((q for q in candidates if _scaled_apart(c, q)), None)


def _unit_word(q: Quantity) -> str:
    """The unit as the text writes it (``GiB``), else its canonical name."""
    words = q.raw.split()
    tail = words[-1] if words else ""
    tail = tail.lstrip("0123456789.,")
    return tail or plural(str(q.unit))


def _closest(c: Quantity, candidates: list[Quantity]) -> Quantity | None:
    def distance(q: Quantity) -> tuple[bool, float]:
        compatible = c.unit is None or q.unit in (None, c.unit)
        if c.value and q.value and (c.value > 0) == (q.value > 0):
            gap = abs(math.log(abs(c.value) / abs(q.value)))
        else:
            gap = math.inf
        return (not compatible, gap)

    return min(candidates, key=distance, default=None)


def _listing(candidates: list[Quantity]) -> str:
    raws = list(dict.fromkeys(q.raw for q in candidates))
    if not raws:
        return "it states no number"
    shown = ", ".join(raws[:6]) + (", …" if len(raws) > 6 else "")
    return f"it has {shown}"


__all__ = ["LABEL", "NUMBER_MISMATCH", "QUANTITY", "UNIT_MISMATCH", "YEAR", "NumberIssue",
           "Quantity", "compare", "extract_quantities", "is_same_value", "parse_value"]
