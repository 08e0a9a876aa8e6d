"""What a site build's own process imports: the check runs in a forked child, so the
parent never imports the rules, the check cache or the schema validator (the child
imports them while the parent collects pages)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Veriwiki

CHECK_ONLY = ("jsonschema", "rapidfuzz", "veriwiki.checks", "veriwiki.services.check",
              "veriwiki.services.check_inputs", "veriwiki.services.check_reuse")

SCRIPT = """
import json, sys
from veriwiki.services.site import build_site
from veriwiki.vault import open_vault
report = build_site(open_vault(sys.argv[1])).to_json()
print(json.dumps({"report": report, "modules": sorted(sys.modules)}))
"""


def _build_in_a_process(vault: Path, env: dict[str, str]) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(vault)], env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="the check forks")
def test_site_build_parent_imports_no_check_code(vw: Veriwiki, vault: Path) -> None:
    (vault / "wiki" / "Alpha.md").write_text(
        "# Alpha\n\nSee [[Beta]] and [[Nowhere]]. It has 12 layers.\n", encoding="utf-8")
    (vault / "wiki" / "Beta.md").write_text("# Beta\n\nBack to [[Alpha]].\n",
                                            encoding="utf-8")
    for _ in range(2):  # a cold build, then a rebuild (stores and caches read back)
        data = _build_in_a_process(vault, vw.env)
        report = data["report"]
        assert isinstance(report, dict)
        # the child's findings reached the parent: the broken link is counted
        assert report["broken_links"] == 1 and report["pages"] >= 2
        modules = data["modules"]
        assert isinstance(modules, list)
        assert [m for m in CHECK_ONLY if m in modules] == []


def test_site_module_leaves_the_template_engine_for_after_the_fork() -> None:
    """Jinja2 and Pygments are imported by the build after its check has been forked
    (the child has no use for them), not when the site module is loaded."""
    code = ("import sys, veriwiki.cli.site_cmds, veriwiki.services.site; "
            "print(sorted(m for m in ('jinja2', 'pygments', 'jsonschema', 'rich.markup') "
            "if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
