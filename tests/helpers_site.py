"""A vault for the static-site tests: the example pages, a source and hostile pages."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Each payload sets window.__pwned (or opens a dialog) if it ever runs.
PAYLOADS = {
    "wiki/Payload <script>window.__pwned=1<!--.md": """---
title: "T\\"><script>window.__pwned='title'</script>"
aliases: ["<img src=x onerror=window.__pwned='alias'>", "' onmouseover='window.__pwned=2"]
tags: ["<svg/onload=window.__pwned='tag'>"]
summary: "<script>window.__pwned='summary'</script>"
---
# Heading <script>window.__pwned='heading'</script>

[js link](javascript:window.__pwned='mdlink') and [data](data:text/html,<script>window.__pwned='data'</script>)
[[javascript:window.__pwned='wikilink']] and [[Attention|<img src=x onerror=window.__pwned='label'>]]
![[javascript:alert('embed')]] ![x](javascript:window.__pwned='img')

<img src=x onerror="window.__pwned='inline-img'">

<div onclick="window.__pwned='div'"><script>window.__pwned='block-script'</script>
<a href="javascript:window.__pwned='block-a'">a</a><svg><script>window.__pwned='svg'</script></svg>
<iframe src="data:text/html,<script>parent.__pwned='iframe'</script>"></iframe>
<style>body{background:url(javascript:alert(1))}</style></div>

<svg onload="window.__pwned='svg-onload'"><circle/></svg>

The quote is hostile [@llama2, "</q><script>window.__pwned='quote'</script>"]. Bad id [@x-<b>, "q"].

Fact {{<script>window.__pwned='fact'</script>.x}} and #<img src=x onerror=alert(1)>

<span class="citation" data-source="llama2" data-verdict="verified">forged chip</span>

> [!note] <img src=x onerror="window.__pwned='callout'">
> body

<a href="#" style="x" onmouseover="window.__pwned='mouse'">hover me</a>
""",
    "wiki/\"><img src=x onerror=window.__pwned='filename'>.md": "# file name payload\n\n"
    "[[Attention]]\n",
}


def make_site_vault(vw: object, vault: Path) -> None:
    """Copy the example pages, add the Llama 2 source and the hostile pages; commit."""
    shutil.copytree(ROOT / "examples" / "sample", vault / "wiki", dirs_exist_ok=True)
    for rel, text in PAYLOADS.items():
        (vault / rel).write_text(text, encoding="utf-8")
    (vault / "wiki" / "Grounded.md").write_text(
        "---\ntitle: Grounded\ntags: [demo]\n---\n# Grounded\n\n"
        "Llama 2 was pretrained on 2 trillion tokens [@llama2, \"trained on 2 trillion "
        "tokens of data\"]. Llama 2 was pretrained on 3 trillion tokens [@llama2, "
        "\"trained on 2 trillion tokens of data\"]. A made-up line "
        "[@llama2, \"this sentence is not in the paper at all\"]. Unknown "
        "[@nosuch, \"whatever words\"].\n\nSee [[Attention]] and [[No Such Page]].\n",
        encoding="utf-8")
    vw.ok("add", str(ROOT / "examples" / "sources" / "llama2.md"), "--id", "llama2",  # type: ignore[attr-defined]
          "--title", "Llama 2 paper (excerpt)")
