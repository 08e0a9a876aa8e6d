"""A page's local link graph as a small server-side SVG (no client code)."""

from __future__ import annotations

import math
from functools import lru_cache
from html import escape

_MAX_NODES = 24
_W, _H, _R = 320, 240, 95


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=_MAX_NODES + 1)
def _ring(n: int) -> tuple[tuple[tuple[float, float], ...], str]:
    """The places of ``n`` nodes on the circle (in order, the first at the top) and the
    spokes joining them to the centre, as SVG: the same for every page with ``n``."""
    cx, cy = _W / 2, _H / 2
    places = []
    for i in range(n):
        angle = 2 * math.pi * i / max(n, 1) - math.pi / 2
        places.append((round(cx + _R * math.cos(angle), 1),
                       round(cy + 0.8 * _R * math.sin(angle), 1)))
    spokes = "".join(f'<line x1="{cx}" y1="{cy}" x2="{x}" y2="{y}" class="edge"/>'
                     for x, y in places)
    return tuple(places), spokes


def local_graph_svg(center: tuple[str, str], neighbours: list[tuple[str, str, str]],
                    edges: set[tuple[str, str]], total: int | None = None) -> str:
    """An SVG of ``center`` (title, href) and its ``neighbours`` (key, title, href).

    ``edges`` holds pairs of neighbour keys linked to each other; every neighbour is
    joined to the centre. Nodes sit on a circle in the order given (deterministic).
    """
    shown = neighbours[:_MAX_NODES]
    cx, cy = _W / 2, _H / 2
    places, spokes = _ring(len(shown))
    pos = {key: places[i] for i, (key, _, _) in enumerate(shown)}
    if len(pos) < len(shown):  # a key given twice is drawn at its last place
        spokes = "".join(f'<line x1="{cx}" y1="{cy}" x2="{pos[key][0]}" y2="{pos[key][1]}" '
                         'class="edge"/>' for key, _, _ in shown)
    parts = [f'<svg class="local-graph" viewBox="0 0 {_W} {_H}" role="img" '
             f'aria-label="links of {escape(center[0])}" xmlns="http://www.w3.org/2000/svg">',
             spokes]
    for a, b in sorted(edges):
        if a in pos and b in pos:
            (x1, y1), (x2, y2) = pos[a], pos[b]
            parts.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" class="edge side"/>')
    for key, title, href in shown:
        x, y = pos[key]
        parts.append(f'<a href="{escape(href)}"><circle cx="{x}" cy="{y}" r="5" class="node"/>'
                     f'<text x="{x}" y="{y - 8}" text-anchor="middle">'
                     f"{escape(_short(title))}</text><title>{escape(title)}</title></a>")
    parts.append(f'<circle cx="{cx}" cy="{cy}" r="7" class="node center"/>'
                 f'<text x="{cx}" y="{cy + 20}" text-anchor="middle" class="center">'
                 f"{escape(_short(center[0]))}</text>")
    more = (total if total is not None else len(neighbours)) - len(shown)
    if more > 0:
        parts.append(f'<text x="4" y="{_H - 6}" class="more">+{more} more</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart_svg(rows: list[tuple[str, float, str]], width: int = 520) -> str:
    """Horizontal bars: (label, share 0..1, text shown after the bar)."""
    bar_h, gap, label_w = 18, 6, 170
    height = max(1, len(rows)) * (bar_h + gap) + gap
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
             'xmlns="http://www.w3.org/2000/svg">']
    span = width - label_w - 90
    for i, (label, share, text) in enumerate(rows):
        y = gap + i * (bar_h + gap)
        w = round(max(0.0, min(1.0, share)) * span, 1)
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">'
                     f"{escape(_short(label, 26))}</text>"
                     f'<rect x="{label_w}" y="{y}" width="{span}" height="{bar_h}" class="track"/>'
                     f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar_h}" class="bar"/>'
                     f'<text x="{label_w + span + 6}" y="{y + 13}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
