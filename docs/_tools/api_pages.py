"""The API reference: a page per module listed in mkdocs.yml's nav (an MkDocs hook).

The nav is the one list of modules. An entry ``api/rlladder.deep.dqn.md`` that has no file in
``docs/`` becomes a generated page: the module's title and ``::: rlladder.deep.dqn``, which
mkdocstrings renders from the docstrings (a package that only gathers its modules' names shows
its docstring only, since each of its modules has a page of its own). Adding a module to the reference is one nav line::

    - api/rlladder.deep.ensemble.md

A module that does not exist (renamed, moved) fails the strict build.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FOLDER = "api/"


def nav_entries(nav: Any) -> Iterator[str]:
    """Every page path in a (nested) MkDocs nav."""
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from nav_entries(value)
    elif isinstance(nav, list):
        for item in nav:
            yield from nav_entries(item)


def module_of(uri: str) -> str | None:
    """``api/rlladder.loop.md`` -> ``rlladder.loop``; None for anything else."""
    if not (uri.startswith(FOLDER) and uri.endswith(".md")):
        return None
    name = uri[len(FOLDER) : -len(".md")]
    return name if name.startswith("rlladder") and "/" not in name else None


def is_reexporting_package(module: str) -> bool:
    """A package whose ``__init__`` defines no class or function of its own: it only gathers
    its modules' names (each module has its own page), so its page is its docstring."""
    init = ROOT.joinpath(*module.split(".")) / "__init__.py"
    if not init.exists():
        return False
    tree = ast.parse(init.read_text(encoding="utf-8"))
    defines = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return not any(isinstance(node, defines) for node in tree.body)


def page(module: str) -> str:
    """The Markdown of a module's reference page: the module's own heading is the page's title."""
    members = "      members: false\n" if is_reexporting_package(module) else ""
    return (
        f"---\ntitle: {module}\n---\n\n::: {module}\n"
        "    options:\n      show_root_heading: true\n      heading_level: 1\n" + members
    )


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for uri in nav_entries(config.nav or []):
        module = module_of(uri)
        if module is not None and files.get_file_from_path(uri) is None:
            files.append(File.generated(config, uri, content=page(module)))
    return files
