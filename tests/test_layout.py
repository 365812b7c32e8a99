"""The package layout's import rules, read from the source with ``ast`` so they cannot drift back.

* ``rlladder.stats`` sits below ``experiments/``, ``plots/`` and the CLI: it imports neither.
* ``plots/`` never imports ``experiments/``; ``experiments/`` never imports ``plots/``, except
  ``experiments/suites.py`` naming a suite's figure function.
* No module imports another in a cycle, counting imports inside functions (a lazy import hides a
  cycle from Python, not from the reader).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rlladder"


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function (absolute names)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def imports_of(folder: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE.parent)): imported_modules(path)
        for path in sorted((PACKAGE / folder).glob("*.py"))
    }


def reaching(imports: dict[str, set[str]], prefix: str) -> dict[str, list[str]]:
    return {
        file: sorted(m for m in modules if m == prefix or m.startswith(prefix + "."))
        for file, modules in imports.items()
        if any(m == prefix or m.startswith(prefix + ".") for m in modules)
    }


def test_the_checker_sees_imports_inside_functions():
    assert "rlladder.plots.diagnostics" in imported_modules(PACKAGE / "experiments" / "suites.py")
    assert "rlladder.stats" in imported_modules(PACKAGE / "plots" / "curves.py")


def test_plots_never_import_experiments():
    assert reaching(imports_of("plots"), "rlladder.experiments") == {}


def test_experiments_import_plots_only_to_name_a_suite_figure():
    found = reaching(imports_of("experiments"), "rlladder.plots")
    assert set(found) <= {"rlladder/experiments/suites.py"}


@pytest.mark.parametrize("below", ["rlladder.experiments", "rlladder.plots"])
def test_stats_imports_neither_experiments_nor_plots(below):
    modules = imported_modules(PACKAGE / "stats.py")
    assert not [m for m in modules if m == below or m.startswith(below + ".")]


def test_there_is_one_stats_module_and_plots_use_it():
    assert not (PACKAGE / "experiments" / "stats.py").exists()
    users = reaching(imports_of("plots"), "rlladder.stats")
    assert {"rlladder/plots/curves.py", "rlladder/plots/diagnostics.py"} <= set(users)
    assert "rlladder/plots/live.py" in users  # the live plot's trailing mean is the same one


def module_name(path: Path) -> str:
    """``rlladder/deep/dqn.py`` -> ``rlladder.deep.dqn``; a package's ``__init__.py`` -> its name."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each module of the package -> the package's modules it imports (top level or in a function).

    A module's own ancestor packages are left out: Python imports ``rlladder`` (and
    ``rlladder.deep``) before any module inside them, so ``from rlladder import __version__`` in a
    function reads a name of a package already imported; it is no edge back.
    """
    paths = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    return {
        name: {
            m
            for m in imported_modules(path)
            if m in paths and m != name and not name.startswith(m + ".")
        }
        for name, path in paths.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (an import cycle), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_a_cycle_through_a_lazy_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_lazy_imports_and_leaves_out_the_ancestor_packages():
    graph = import_graph()
    assert "rlladder.deep.ensemble" in graph["rlladder.experiments.runner"]  # in a function
    assert "rlladder.deep.dqn" in graph["rlladder.deep.ensemble"]
    assert "rlladder" not in graph["rlladder.checkpoints"]  # reads rlladder.__version__


def test_no_module_imports_another_in_a_cycle():
    assert cycles(import_graph()) == []
