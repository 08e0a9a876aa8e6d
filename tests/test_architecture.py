"""The shape of the code, kept by tests: layers, no import cycles, modules one can read.

Read with ast, so imports inside functions count too. A package importing its own
submodules (a registry loading its rules) is not a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
MAX_LINES = 470  # "about 450": a module longer than this is split by what it does


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "veriwiki").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The veriwiki modules ``name`` imports, anywhere in the file."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        wanted: list[str] = []
        if isinstance(node, ast.Import):
            wanted = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if is_package else name.split(".")[:-1]
                package = package[:len(package) - (node.level - 1)]
                base = ".".join([*package, base] if base else package)
            wanted = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                      for a in node.names]
        for target in wanted:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("veriwiki") and target != name \
                    and not target.startswith(name + "."):  # a package's own submodule
                targets.add(target)
    return targets


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_has_no_cycles() -> None:
    assert cycles(graph()) == []


def test_no_check_rule_imports_a_service_or_the_vault() -> None:
    """Rules read CheckInputs; the services build it."""
    bad = {name: sorted(t for t in targets
                        if t.startswith(("veriwiki.services", "veriwiki.cli", "veriwiki.web",
                                         "veriwiki.mcp_server")) or t == "veriwiki.vault")
           for name, targets in graph().items() if name.startswith("veriwiki.checks")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_the_core_does_no_io_and_knows_no_outer_layer() -> None:
    outer = ("veriwiki.services", "veriwiki.adapters", "veriwiki.cli", "veriwiki.web",
             "veriwiki.mcp_server", "veriwiki.vault", "veriwiki.ai", "veriwiki.render")
    bad = {name: sorted(t for t in targets if t.startswith(outer))
           for name, targets in graph().items() if name.startswith("veriwiki.core")}
    assert {k: v for k, v in bad.items() if v} == {}


def test_no_module_is_too_long_to_read() -> None:
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_git_is_reached_through_the_vault() -> None:
    """Services and front ends use ``vault.git`` (one GitRepo per vault, the composition
    root's), never a repository of their own on the vault's folder, nor git itself."""
    found = []
    for name, path in modules().items():
        if not name.startswith(("veriwiki.services", "veriwiki.web", "veriwiki.cli",
                                "veriwiki.mcp_server", "veriwiki.checks")):
            continue
        text = path.read_text()
        if "GitRepo(vault.root)" in text or '["git",' in text or "['git'," in text:
            found.append(name)
    assert found == []
