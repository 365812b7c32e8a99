"""An exercise notebook's two versions from one source: the solution, and the student's.

A lecture notebook with exercises (``examples/04_build_your_own_dqn.ipynb``) is committed as the
**solution**: it runs top to bottom, and the cells the student writes carry the cell tag
``solution`` (Jupyter: View > Cell Toolbar > Tags). The **student version** is made from it:
each tagged cell keeps its imports and the signature and docstring of every ``def`` and
``class``, and each function body becomes::

    raise NotImplementedError("write td_target: <the docstring's first paragraph>")

so the docstring is the one place a lecturer writes the hint (the equation, and the section that
explains it). Everything else in a tagged cell is kept as it is: a class's attributes, a
``NamedTuple``'s fields. Untagged cells are copied unchanged, and every output is cleared.

::

    python docs/_tools/student_notebook.py --student student.ipynb    # hand this out
    python docs/_tools/student_notebook.py --solution solution.ipynb  # the solution, run, outputs in

Both take the notebook as an optional first argument (default: every exercise notebook in
``examples/``, when there is one). The site (``docs/_tools/notebooks.py``) shows the student
version; ``tests/test_notebooks.py`` runs the solution, and the student version up to its first
stub.
"""

from __future__ import annotations

import argparse
import ast
import copy
import importlib.util
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SOLUTION_TAG = "solution"  # the tag a lecturer puts on the cells the student writes
EXERCISE_TAG = "exercise"  # what the student version tags the stubbed cells with


class StubError(ValueError):
    """A solution cell the generator cannot turn into a stub (it says which, and what to change)."""


def tags(cell: Any) -> list[str]:
    """The cell's tags (``metadata.tags``), or an empty list."""
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell: Any) -> bool:
    """Whether ``cell`` is a code cell tagged ``solution``."""
    return cell.get("cell_type") == "code" and SOLUTION_TAG in tags(cell)


def has_solutions(nb: Any) -> bool:
    """Whether the notebook has solution cells: an exercise notebook, whose site page and
    hand-out are its student version."""
    return any(is_solution(cell) for cell in nb.cells)


def hint(node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, where: str) -> str:
    """The stub's message: ``write NAME: <the first paragraph of its docstring, on one line>``."""
    doc = ast.get_docstring(node)
    if not doc:
        raise StubError(
            f"{where}: {qualname}() has no docstring; give it one: its first paragraph is the "
            "hint the student's stub raises (the equation, and the section that explains it)"
        )
    first = " ".join(doc.split("\n\n")[0].split())
    word = first.split(" ", 1)[0]
    if word.isalpha() and word.istitle() and len(word) > 1:  # "Store the ..." -> "store the ..."
        first = first[0].lower() + first[1:]
    return f"write {qualname}: {first}"


def _lines(source: list[str], first: int, last: int) -> list[str]:
    """Lines ``first`` to ``last`` of the cell (1-based, both included)."""
    return source[first - 1 : last]


def _start(node: ast.stmt) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([node.lineno, *(d.lineno for d in decorators)])


def _function_stub(
    node: ast.FunctionDef | ast.AsyncFunctionDef, source: list[str], qualname: str, where: str
) -> list[str]:
    message = hint(node, qualname, where)
    docstring = node.body[0]  # hint() made sure there is one
    indent = " " * docstring.col_offset
    header = _lines(source, _start(node), docstring.end_lineno)
    return [*header, f"{indent}raise NotImplementedError({message!r})"]


def _class_stub(node: ast.ClassDef, source: list[str], where: str) -> list[str]:
    body = node.body
    if ast.get_docstring(node) is not None:  # the header and the docstring
        out, rest = _lines(source, _start(node), body[0].end_lineno), body[1:]
    else:
        out, rest = _lines(source, _start(node), _start(body[0]) - 1), body
    end = _start(node) + len(out) - 1
    for statement in rest:
        out += _lines(source, end + 1, _start(statement) - 1)  # blank lines, comments
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
            out += _function_stub(statement, source, f"{node.name}.{statement.name}", where)
        else:  # a class attribute, a NamedTuple field: part of the interface, kept
            out += _lines(source, _start(statement), statement.end_lineno)
        end = statement.end_lineno
    return out


def stub_source(source: str, where: str = "solution cell") -> str:
    """The student's version of one solution cell's code.

    Imports, and the comments and blank lines between statements, are kept; each ``def`` keeps its decorators, signature and docstring, and its body
    becomes ``raise NotImplementedError(hint)``; each ``class`` keeps its header, docstring and
    attributes, and its methods become such stubs. Any other statement raises
    :class:`StubError`: it would hand the student part of the solution.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as error:
        raise StubError(f"{where} is not plain Python ({error.msg}, line {error.lineno})") from None
    lines = source.splitlines()
    out: list[str] = []
    end = 0  # the last line handled
    for node in tree.body:
        out += _lines(lines, end + 1, _start(node) - 1)  # blank lines, comments
        if isinstance(node, ast.Import | ast.ImportFrom):
            out += _lines(lines, node.lineno, node.end_lineno)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            out += _function_stub(node, lines, node.name, where)
        elif isinstance(node, ast.ClassDef):
            out += _class_stub(node, lines, where)
        else:
            code = textwrap.shorten(ast.unparse(node), 60)
            raise StubError(
                f"{where}: line {node.lineno} ({code}) is neither an import, a def nor a class, "
                "so the student version cannot stub it; move it to an untagged cell"
            )
        end = node.end_lineno
    return "\n".join(out).strip("\n")


def student_version(nb: Any) -> Any:
    """A copy of the notebook for the student: every solution cell stubbed (and tagged
    ``exercise`` instead), every other cell as it is, no outputs."""
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        if cell.get("cell_type") != "code":
            continue
        if is_solution(cell):
            cell.source = stub_source(cell.source, where=f"code cell {index}")
            cell.metadata["tags"] = [EXERCISE_TAG if t == SOLUTION_TAG else t for t in tags(cell)]
        cell.outputs = []
        cell.execution_count = None
    return student


def write_student_version(path: Path, out: Path) -> Path:
    """Write the student version of the notebook at ``path`` to ``out``; return ``out``."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    nbformat.write(student_version(nb), out)
    return out


def exercise_notebooks() -> list[Path]:
    """The notebooks in ``examples/`` that have solution cells."""
    import nbformat

    return [
        path
        for path in sorted(EXAMPLES.glob("*.ipynb"))
        if has_solutions(nbformat.read(path, as_version=4))
    ]


def _site_notebooks() -> Any:
    """docs/_tools/notebooks.py (how the site and the tests run a notebook), imported by path."""
    name = "rlladder_docs_notebooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("notebooks.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def main(argv: list[str] | None = None) -> int:
    """The command line: ``--student OUT`` or ``--solution OUT`` (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        prog="python docs/_tools/student_notebook.py",
        description="Write an exercise notebook's student version (solution cells stubbed) or "
        "its solution version (run top to bottom, outputs in).",
    )
    parser.add_argument("notebook", nargs="?", type=Path, help="default: the exercise notebook")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--student", type=Path, metavar="OUT", help="write the student version")
    mode.add_argument("--solution", type=Path, metavar="OUT", help="run and write the solution")
    args = parser.parse_args(argv)
    path = args.notebook
    if path is None:
        found = exercise_notebooks()
        if len(found) != 1:
            parser.error(f"name the notebook: {len(found)} exercise notebooks in {EXAMPLES}")
        path = found[0]
    if not path.is_file():
        parser.error(f"no notebook at {path}")
    if args.student:
        write_student_version(path, args.student)
        print(f"wrote {args.student}: the student version of {path.name}")
        return 0
    import nbformat

    with tempfile.TemporaryDirectory(prefix=f"{path.stem}-") as workdir:
        nb = _site_notebooks().execute(path.resolve(), Path(workdir))
    nbformat.write(nb, args.solution)
    print(f"wrote {args.solution}: {path.name} run top to bottom, with its outputs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
