"""Text extraction from source bytes: markdown, plain text, JSON and YAML, HTML, PDF.

HTML goes through trafilatura (boilerplate removal) and PDF through pypdf (the text
layer, page by page); both are imported on first use. Every refusal is an
:class:`InputError` naming the file and saying what to do.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from veriwiki.errors import InputError

PAGE_BREAK = "\n\f\n"
EXTRACTOR_FORMAT = 2  # bump when the output of an extractor changes shape


@dataclass(frozen=True, slots=True)
class Extracted:
    """Text pulled from a file, the start offset of each PDF page, and a title guess."""

    text: str
    pages: tuple[int, ...] = ()
    title: str | None = None


def extractor_id(media_type: str) -> str:
    """Name and version of the extractor for ``media_type`` (part of the cache key)."""
    from importlib.metadata import PackageNotFoundError, version

    package = {"text/html": "trafilatura", "application/pdf": "pypdf"}.get(media_type)
    if package is None:
        return f"utf8/{EXTRACTOR_FORMAT}"
    try:
        return f"{package} {version(package)}/{EXTRACTOR_FORMAT}"
    except PackageNotFoundError:
        return f"{package}/{EXTRACTOR_FORMAT}"


def extract(media_type: str, data: bytes, name: str) -> Extracted:
    """Extract the text of ``data`` (a file called ``name``) by its media type."""
    if not data:
        raise InputError("the file is empty; there is nothing to cite", path=name,
                         hint="check that you picked the right file")
    if media_type in ("text/markdown", "text/plain", "application/json", "application/yaml"):
        result = _extract_utf8(data, name, markdown=media_type == "text/markdown")
    elif media_type == "text/html":
        result = _extract_html(data, name)
    elif media_type == "application/pdf":
        result = _extract_pdf(data, name)
    else:
        raise InputError(f"no text extractor for {media_type}", path=name,
                         hint="convert the file to markdown, text, JSON, YAML, HTML or PDF")
    if not result.text.strip():
        raise InputError("the file holds no text (only white space)", path=name,
                         hint="check that you picked the right file")
    return result


def _decode(data: bytes, name: str) -> str:
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InputError(f"file contains NUL bytes (line {line}), so it is binary, not text",
                         path=name, hint="check the file type; save it as UTF-8 text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} at line "
                         f"{line})", path=name,
                         hint="re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _markdown_title(text: str) -> str | None:
    m = re.match(r"---\n(.*?)\n(?:---|\.\.\.)\n", text, re.S)
    if m:
        t = re.search(r"^title:[ \t]*(.+?)[ \t]*$", m.group(1), re.M)
        if t:
            return t.group(1).strip("'\"") or None
    h = re.search(r"^#[ \t]+(.+?)[ \t#]*$", text, re.M)
    return h.group(1) if h else None


def _extract_utf8(data: bytes, name: str, *, markdown: bool) -> Extracted:
    text = _decode(data, name)
    return Extracted(text, (), _markdown_title(text) if markdown else None)


_SUP = re.compile(rb"<sup>\s*((?:[-+0-9]|&minus;|&#8722;|\xe2\x88\x92){1,6})\s*</sup>", re.I)
_SUP_CHARS = {ord(c): f"&#{ord(s)};" for c, s in zip("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻",
                                                      strict=True)}


def _superscripts(data: bytes) -> bytes:
    """``10<sup>-4</sup>`` as ``10⁻⁴``: text extraction would flatten it to ``10-4``."""
    def fold(m: re.Match[bytes]) -> bytes:
        body = m.group(1).replace(b"&minus;", b"-").replace(b"&#8722;", b"-")
        body = body.replace(b"\xe2\x88\x92", b"-")
        return body.decode("ascii").translate(_SUP_CHARS).encode("ascii")

    return _SUP.sub(fold, data)


def _extract_html(data: bytes, name: str) -> Extracted:
    import trafilatura  # deferred: slow to import, needed only for HTML

    text = trafilatura.extract(_superscripts(data), include_comments=False, include_tables=True,
                               deduplicate=False, output_format="txt")
    if not text or not text.strip():
        raise InputError("no main text found in the HTML (the page may be built by "
                         "JavaScript, or hold only navigation)", path=name,
                         hint="save the article as text, markdown or PDF and add that")
    title = None
    from lxml import etree, html

    try:
        found = html.document_fromstring(data).findtext(".//title")
        title = " ".join(found.split()) if found else None
    except (ValueError, TypeError, etree.LxmlError):
        title = None
    return Extracted(text.replace("\r\n", "\n"), (), title or None)


def _pdf_title(reader: object) -> str | None:
    try:
        meta = reader.metadata  # type: ignore[attr-defined]
        title = str(meta.title).strip() if meta is not None and meta.title else ""
    except Exception:  # noqa: BLE001 - broken metadata only loses the title
        return None
    if not title or title.lower().startswith("microsoft word") or re.search(
            r"\.(docx?|tex|dvi|pdf|rtf)$", title, re.I):
        return None
    return title


def _extract_pdf(data: bytes, name: str) -> Extracted:
    import pypdf  # deferred: needed only for PDF

    if b"%PDF-" not in data[:1024]:
        raise InputError("the file is not a PDF (no %PDF- header)", path=name,
                         hint="check the file, or give it the extension of its real type")
    pdf_log = logging.getLogger("pypdf")
    level = pdf_log.level
    pdf_log.setLevel(logging.ERROR)  # font-parsing notes ("fontTools is required …") are noise
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            _decrypt(reader, name)
        texts = [page.extract_text() or "" for page in reader.pages]
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on broken files
        raise InputError(f"the PDF cannot be read: {exc}", path=name,
                         hint="open it in a PDF viewer and save or print it to a new PDF"
                         ) from exc
    finally:
        pdf_log.setLevel(level)
    if not texts:
        raise InputError("the PDF has no pages", path=name, hint="check the file")
    pages, parts, offset = [], [], 0
    for i, page_text in enumerate(texts):
        page_text = page_text.replace("\r\n", "\n").replace("\r", "\n")
        if i:
            parts.append(PAGE_BREAK)
            offset += len(PAGE_BREAK)
        pages.append(offset)
        parts.append(page_text)
        offset += len(page_text)
    text = "".join(parts)
    if not text.replace("\f", "").strip():
        raise InputError("the PDF has no text layer (it may be scanned images)", path=name,
                         hint="run OCR on it (e.g. ocrmypdf) and add the result")
    return Extracted(text, tuple(pages), _pdf_title(reader))


def _decrypt(reader: object, name: str) -> None:
    """Open a PDF encrypted with an empty user password; refuse any other encryption."""
    from pypdf.errors import DependencyError

    try:
        opened = bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except DependencyError:
        raise InputError("the PDF is encrypted with AES, which needs the optional "
                         "'cryptography' package to read", path=name,
                         hint="pip install cryptography, or save an unencrypted copy "
                              "(e.g. 'qpdf --decrypt in.pdf out.pdf') and add that") from None
    except Exception:  # noqa: BLE001 - a damaged encryption dictionary
        opened = False
    if not opened:
        raise InputError("the PDF is encrypted (password-protected), so its text cannot be "
                         "read", path=name,
                         hint="save an unencrypted copy (e.g. 'qpdf --decrypt in.pdf out.pdf') "
                              "and add that")
