"""Filing an answer back into the wiki: a ``synthesis`` page, proposed on a branch.

Only verified sentences become claims, and each re-cites the source citations of the
claims it rests on (``sentence [@src, "quote"]``), so the ordinary ``check`` verifies
the page like any other. A sentence is written only if those citations hold up here and
now: every quote is found in its source, and every number of the sentence is stated by
the quotes (the same test ``number-mismatch`` applies). Sentences that rest only on
uncited prose, or fail those tests, and every unverified sentence, are left out of the
page and listed in the proposal (``veriwiki review show``) with the reason.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from veriwiki.core.answer import CheckedSentence, Passage
from veriwiki.core.claims import Citation
from veriwiki.core.model import Link
from veriwiki.core.resolve import Resolver
from veriwiki.services.ask import Answer
from veriwiki.vault import Vault

ANSWERS_FOLDER = "answers"


def page_title(question: str) -> str:
    """A page title (and file name) made from a question: no characters links refuse."""
    from veriwiki.core.names import title_from

    return title_from(question, max_chars=80, cut=True) or "Answer"


def proposal_id(question: str, content: str) -> str:
    """``ask-<slug of the question, ≤ 40 chars>-<6 hex digits of the page's hash>``."""
    folded = unicodedata.normalize("NFKD", question).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    if len(slug) > 40:  # cut at a word boundary unless that loses half of it
        head = slug[:41].rsplit("-", 1)[0]
        slug = head if len(head) >= 20 else slug[:40]
    slug = slug.rstrip("-") or "question"
    digest = hashlib.sha256(f"{question}\0{content}".encode()).hexdigest()[:6]
    return f"ask-{slug}-{digest}"


def _citation_text(cites: list[Citation]) -> str:
    parts = []
    for c in cites:
        assert c.quote is not None
        locator = f", {c.locator}" if c.locator else ""
        parts.append(f'@{c.key}{locator}, "{c.quote.replace(chr(34), chr(92) + chr(34))}"')
    return "[" + "; ".join(parts) + "]"


def _link_name(resolver: Resolver, path: str, pages_root: str) -> str:
    """The shortest wikilink target that reaches ``path`` unambiguously."""
    stem = path.rsplit("/", 1)[-1].removesuffix(".md")
    res = resolver.resolve(Link("wikilink", stem, None, None, stem, 0, 0), "")
    if res.is_ok and res.path == path:
        return stem
    root = pages_root.strip("/")
    rel = path[len(root) + 1:] if root not in ("", ".") and path.startswith(root + "/") else path
    return rel.removesuffix(".md")


@dataclass
class _Line:
    text: str
    pages: list[str]


def _sound_citations(vault: Vault, passages: list[Passage]) -> list[Citation]:
    """The quoted source citations of ``passages`` whose quotes are in their sources now."""
    from veriwiki.core.quotes import find_quote
    from veriwiki.errors import VeriwikiError
    from veriwiki.services.sources import source_text

    out: dict[tuple[str, str | None, str], Citation] = {}
    for p in passages:
        for c in p.citations:
            if not c.quote or "\\" in c.quote or (c.key, c.locator, c.quote) in out:
                continue
            try:
                text = source_text(vault, c.key)
            except VeriwikiError:
                continue
            if find_quote(text.text, c.quote) is not None:
                out[(c.key, c.locator, c.quote)] = c
    return list(out.values())


def _is_sound(line: str, quotes: list[str]) -> str | None:
    """None when ``line`` parses as exactly one claim whose numbers the quotes state."""
    from veriwiki.core.numbers import compare
    from veriwiki.core.parse import parse_page

    page = parse_page("answer.md", line)
    if len(page.claims) != 1 or page.uncited:
        return "it does not read as a single cited sentence"
    issues = compare(page.claims[0].text, " … ".join(quotes))
    return issues[0].message if issues else None


def _support(sentence: str, cited: list[Passage]) -> list[Passage]:
    """The fewest cited passages that still verify ``sentence`` (most shared words first).

    A model often cites more passages than a sentence rests on; the page re-cites only
    the sources of those it needs.
    """
    from veriwiki.core.answer import MIN_OVERLAP
    from veriwiki.core.numbers import compare
    from veriwiki.core.retrieval import content_words, overlap

    mine = set(content_words(sentence))
    ranked = sorted(cited, key=lambda p: (-len(mine & set(content_words(p.text))), p.ref))
    for n in range(1, len(ranked) + 1):
        chosen = ranked[:n]
        texts = [t for p in chosen for t in (p.text, p.title)]
        if (overlap(sentence, texts)[0] >= MIN_OVERLAP
                and not compare(sentence, " … ".join(p.text for p in chosen))):
            return sorted(chosen, key=lambda p: p.ref)
    return cited


def _compose(vault: Vault, answer: Answer, s: CheckedSentence, resolver: Resolver
             ) -> _Line | str:
    """The page line for a verified sentence, or why it cannot be written."""
    cited = _support(s.text, [p for p in (answer.passage(r) for r in s.refs) if p is not None])
    sound = _sound_citations(vault, cited)
    if not sound:
        return "the passages it rests on carry no source quote that verifies"
    cites = _citation_text(sound)
    quotes = [c.quote or "" for c in sound]
    pages = list(dict.fromkeys(p.path for p in cited))
    body, end = (s.text[:-1], s.text[-1]) if s.text[-1:] in ".!?" else (s.text, ".")
    links = ", ".join(f"[[{_link_name(resolver, p, vault.pages_root)}]]" for p in pages)
    problem = ""
    for line in (f"{body} {cites} (see {links}){end}", f"{body} {cites}{end}"):
        why = _is_sound(line, quotes)
        if why is None:
            return _Line(line, pages)
        problem = why
    return f"its numbers are not all stated by the source quotes: {problem}"


def _target(vault: Vault, title: str, resolver: Resolver) -> tuple[str, str]:
    """(path, title) of the synthesis page; a title another page answers to gets a suffix."""
    root = vault.pages_root.strip("/")
    folder = ANSWERS_FOLDER if root in ("", ".") else f"{root}/{ANSWERS_FOLDER}"
    for name in (title, f"{title} (answer)"):
        path = f"{folder}/{name}.md"
        res = resolver.resolve(Link("wikilink", name, None, None, name, 0, 0), "")
        if res.status == "broken" or (res.is_ok and res.path == path):
            return path, name
    return f"{folder}/{title} (answer).md", f"{title} (answer)"


def render_page(title: str, question: str, model: str, lines: list[_Line],
                resolver: Resolver, pages_root: str) -> str:
    """The synthesis page: frontmatter, the answer's claims, the pages it draws on."""
    import yaml

    front: dict[str, Any] = {"title": title, "type": "synthesis", "question": question,
                             "model": model}
    head = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
    pages = list(dict.fromkeys(p for line in lines for p in line.pages))
    parts = [f"---\n{head}---", f"# {title}", "", "## Answer", ""]
    for line in lines:
        parts += [line.text, ""]
    parts += ["## Evidence", ""]
    parts += [f"- [[{_link_name(resolver, p, pages_root)}]]" for p in pages]
    return "\n".join(parts) + "\n"


def save_answer(vault: Vault, answer: Answer) -> Answer:
    """Propose the verified part of ``answer`` as a synthesis page; sets ``proposal``.

    When nothing can be written, or the same page is already proposed or on main,
    ``save_note`` says so and no proposal is made.
    """
    from veriwiki.services.indexing import build_resolver
    from veriwiki.services.proposals import list_proposals, propose

    resolver = build_resolver(vault)
    lines: list[_Line] = []
    dropped: list[dict[str, str]] = []
    for s in answer.sentences:
        if not s.verified:
            dropped.append({"claim": s.text, "reason": "unverified: " + "; ".join(s.reasons)})
            continue
        made = _compose(vault, answer, s, resolver)
        if isinstance(made, str):
            dropped.append({"claim": s.text, "reason": made})
        elif all(made.text != line.text for line in lines):
            lines.append(made)
    if not lines:
        answer.save_note = ("nothing to save: no verified sentence rests on a source quote "
                            "that verifies")
        return answer
    path, title = _target(vault, page_title(answer.question), resolver)
    text = render_page(title, answer.question, answer.model, lines, resolver, vault.pages_root)
    ident = proposal_id(answer.question, text)
    for p in list_proposals(vault):
        if p.id == ident:
            answer.proposal = p
            answer.save_note = f"already proposed as {p.id}"
            return answer
    git = vault.git
    head = git.head()
    if head and git.read_blobs([f"{head}:{path}"])[0] == text.encode():
        answer.save_note = f"the wiki already holds this answer ({path})"
        return answer
    meta = {"question": answer.question, "model": answer.model,
            "usage": answer.meter.to_json(), "page": path,
            "sentences": {"answered": len(answer.sentences), "saved": len(lines)},
            "pages_cited": sorted({p for line in lines for p in line.pages}),
            "dropped": dropped}
    answer.proposal = propose(vault, "ask", answer.question[:100],
                              {path: text.encode()}, meta, ident)
    return answer
