"""The code's layout: no import cycle between the program's modules, nor between its packages
(settings -> components -> the tools), read from the sources' import statements."""

from __future__ import annotations

import ast
from pathlib import Path

from offline.harness import ROOT

PACKAGES = ("settings", "components", "offline", "review", "adoption", "rehearsal", "capacity", "tools", "rotation")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The program's modules ``path`` imports, anywhere in it (a function's import counts too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if name in modules}
    return found


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph, as the path around it, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def _graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    modules = _modules()
    by_module = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    by_package: dict[str, set[str]] = {}
    for name, imported in by_module.items():
        own = name.split(".")[0]
        by_package.setdefault(own, set()).update(other.split(".")[0] for other in imported)
    return by_module, {package: imported - {package} for package, imported in by_package.items()}


def test_no_module_imports_itself_round_a_cycle() -> None:
    by_module, _ = _graphs()
    assert len(by_module) > 50
    assert _cycle(by_module) == []


def test_no_package_imports_itself_round_a_cycle() -> None:
    _, by_package = _graphs()
    assert _cycle(by_package) == []
    assert "offline" not in by_package["capacity"]  # the render uses capacity's cost, never the reverse
    assert by_package["settings"] == set()  # the settings layer stands on its own


def test_a_cycle_is_found() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []
