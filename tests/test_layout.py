"""The package layout's import rules, read from the source with ``ast`` so they cannot drift back.

* ``rlladder.stats`` sits below ``experiments/``, ``plots/`` and the CLI: it imports neither.
* ``plots/`` never imports ``experiments/``; ``experiments/`` never imports ``plots/``, except
  ``experiments/suites.py`` naming a suite's figure function.
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
