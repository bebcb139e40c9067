"""The architecture, checked on every run: games <- engine <- league <- arena_cli, and no import circles.

Every import counts, those inside functions too: a lazy import is still a dependency, and a circle
that only runs late is still a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("games", "engine", "league", "arena_cli")  # each may import only those before it


def _modules() -> dict[str, Path]:
    found = {}
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import names (`engine.nn.Evaluator` -> `engine.nn`), or None."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_of(module: str) -> set[str]:
    """The project modules `module` imports. `from pkg import sub` counts the submodule, not pkg's
    __init__; a module's own ancestor packages are left out (Python has them loaded already)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [_resolve(alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            subs = [f"{base}.{alias.name}" for alias in node.names]
            targets = [s for s in subs if s in MODULES]
            if len(targets) < len(subs):
                targets.append(_resolve(base))
        else:
            continue
        found.update(t for t in targets if t and t != module and not module.startswith(t + "."))
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def test_the_tree_is_found():
    assert {"games", "engine", "league", "arena_cli"} <= set(MODULES)
    assert len(MODULES) > 50


@pytest.mark.parametrize("layer", LAYERS)
def test_no_package_imports_a_layer_above_it(layer):
    above = LAYERS[LAYERS.index(layer) + 1:]
    wrong = sorted(f"{m} imports {t}" for m, targets in GRAPH.items() if m.split(".")[0] == layer
                   for t in targets if t.split(".")[0] in above)
    assert not wrong, "\n".join(wrong)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for start in GRAPH:
        if start in index:
            continue
        work = [(start, iter(sorted(GRAPH[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(GRAPH[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
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


def test_no_import_circles():
    circles = _cycles()
    assert not circles, "\n".join(" <-> ".join(c) for c in circles)


def test_a_circle_would_be_found():
    GRAPH["games.wins"].add("games.catalogue")  # catalogue -> encoders -> wins -> catalogue
    try:
        assert any("games.wins" in c for c in _cycles())
    finally:
        GRAPH["games.wins"].discard("games.catalogue")
