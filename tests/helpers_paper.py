"""A real two-column, multi-page PDF paper made with reportlab, for the furniture tests.

Each page has a running header (the title on odd pages, the authors on even pages), a
page number at the foot, and some pages a footnote; the body is set in two columns.
Sentences run across columns and across page breaks, one of them hyphenated at the
break ("inter-" / "national"). The text is written for these tests (CC0).
"""

from __future__ import annotations

import io
import re

TITLE = "Sparse Mixtures for Small Language Models"
AUTHORS = "A. Writer, B. Checker and C. Reader"

# (column lines, footnote) per page; every page holds two columns of body lines.
BODY = [
    "We study small language models that route each token to two of eight feed-",
    "forward experts. Our largest model has 2.4 billion parameters, of which only",
    "600 million are active per token. We train every model on 300 billion tokens",
    "of English web text and code.1 The router is trained jointly with the experts",
    "and uses a load-balancing loss with a weight of 0.01.",
    "Section 2 describes the architecture and Section 3 the training data. We",
    "report results on eleven benchmarks in Section 4.",
    "The architecture follows the decoder-only transformer. Each layer has 16",
    "attention heads in all sizes; the smallest model has fewer layers.",
    "The largest model has a model dimension of 2048. The feed-forward block is",
    "replaced by a sparse mixture of eight experts, each with a hidden size of",
    "5632. We use rotary position embeddings and a vocabulary of 32,000 tokens.",
    "Training used a peak learning rate of 3 x 10^-4 with 2,000 warmup steps and",
    "cosine decay to ten percent of the peak.3 The global batch size was 4 million",
    "tokens and the context length 4096 tokens. All models were trained on 64",
    "GPUs for 21 days, a total of about 32,000 GPU hours, in an inter-",
    "national collaboration between three laboratories. The training data mixes",
    "web pages, books and source code; after deduplication it holds 1.2 billion",
    "documents. We filter documents with a quality classifier trained on 40,000",
    "labelled examples.2 Documents shorter than 200 characters are removed.",
    "Evaluation covers reading comprehension, arithmetic and code generation.",
    "The largest model reaches 61.3 percent on the reading benchmark and 27.5",
    "percent on the arithmetic benchmark. Smaller models trail by five to ten",
    "points. Routing collapse did not occur in any run; the share of tokens sent",
    "to the busiest expert stayed below 18 percent throughout training.",
    "We release the weights of all models under the Apache 2.0 licence together",
    "with the training code and the evaluation harness used in this paper.",
    "Limitations. The models were evaluated in English only. Their knowledge",
    "ends with the crawl date of the web text, which is March 2023. We did not",
    "study fine-tuning or alignment, which we leave to future work.",
    "Acknowledgements. We thank the reviewers for their comments on a draft.",
]
FOOTNOTES = {
    1: "1 The code share is 12 percent of the tokens.",
    2: "2 The classifier is a linear model over hashed n-grams.",
    3: "3 Warmup and decay follow the usual schedule of earlier work.",
}
LINES_PER_COLUMN = 4


def paper_pages() -> list[tuple[list[str], list[str], list[str]]]:
    """Per page: left column lines, right column lines, footnote lines."""
    pages = []
    per_page = 2 * LINES_PER_COLUMN
    for n, start in enumerate(range(0, len(BODY), per_page), 1):
        chunk = BODY[start:start + per_page]
        notes = [text for mark, text in FOOTNOTES.items()
                 if any(re.search(rf"[a-z]\.{mark}(?: |$)", line) for line in chunk)]
        pages.append((chunk[:LINES_PER_COLUMN], chunk[LINES_PER_COLUMN:], notes))
        del n
    return pages


def make_paper_pdf() -> bytes:
    """The paper as PDF bytes (reportlab canvas, Helvetica, US letter)."""
    from reportlab.lib.pagesizes import letter
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=letter, invariant=1)
    c.setTitle(TITLE)
    width, height = letter
    for number, (left, right, notes) in enumerate(paper_pages(), 1):
        c.setFont("Helvetica", 8)
        c.drawCentredString(width / 2, height - 40, TITLE if number % 2 else AUTHORS)
        c.setFont("Helvetica", 7)
        for col, lines in ((0, left), (1, right)):
            y = height - 80
            for line in lines:
                c.drawString(50 + col * 265, y, line)
                y -= 11
        c.setFont("Helvetica", 6)
        y = 80
        for note in notes:
            c.drawString(50, y, note)
            y -= 8
        c.setFont("Helvetica", 8)
        c.drawCentredString(width / 2, 40, str(number))
        c.showPage()
    c.save()
    return buf.getvalue()
