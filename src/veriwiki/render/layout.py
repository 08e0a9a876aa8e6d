"""Jinja2 templates (autoescape on) that lay rendered fragments out as whole documents."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

if TYPE_CHECKING:
    from jinja2 import Environment

PAGE_TEMPLATES = ("base.html", "page.html")  # what a rebuild of a few pages renders


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment (autoescape on for every template); Jinja2 is imported
    on first use, so a build imports it after its check has been started."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("veriwiki.render", "templates"),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def prepare_templates(names: tuple[str, ...] = PAGE_TEMPLATES) -> None:
    """Compile ``names`` now (the environment keeps them): a build calls it while it
    waits for nothing else, so the pages rendered later do not pay for it."""
    env = environment()
    for name in names:
        env.get_template(name)


def trusted(html: str) -> Markup:
    """Mark a fragment the renderer produced (already sanitized) as safe to insert."""
    return Markup(html)


def render_document(template: str, **context: Any) -> str:
    """A whole HTML document from ``template`` and ``context``."""
    return environment().get_template(template).render(**context)


def stream_document(template: str, **context: Any) -> Iterator[str]:
    """A whole HTML document from ``template``, piece by piece."""
    return iter(environment().get_template(template).generate(**context))


def static_files() -> dict[str, bytes]:
    """The site's CSS and script, by file name."""
    from veriwiki.render.highlight import highlight_css

    base = resources.files("veriwiki.render") / "static"
    css = (base / "site.css").read_bytes() + b"\n" + highlight_css().encode()
    return {"site.css": css, "site.js": (base / "site.js").read_bytes()}


def code_version() -> str:
    """A digest of the renderer's code, templates and static files (incremental builds)."""
    import hashlib

    h = hashlib.sha256()
    pkg = resources.files("veriwiki.render")
    for folder in (pkg, pkg / "templates", pkg / "static"):
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.is_file() and item.name.endswith((".py", ".html", ".css", ".js")):
                h.update(item.name.encode() + b"\0" + item.read_bytes())
    import importlib

    for name in ("site", "site_model", "site_pages", "site_parts", "site_output", "site_render",
                 "site_cache", "site_llms", "site_check", "site_store", "site_derived",
                 "site_terms"):
        mod = importlib.import_module(f"veriwiki.services.{name}")
        if mod.__file__:
            with open(mod.__file__, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()[:24]
