"""The lecture notebooks in examples/ run top to bottom without an error (``pytest --slow``).

Each notebook is executed by a fresh ``python3`` kernel (ipykernel, from this environment) in an
empty temporary folder, so files it writes (the CartPole GIF) land there. A failing cell fails the
test with the cell's traceback. The notebooks are committed without outputs; these tests also
check that, so a lecturer always opens a clean notebook.

The run is the documentation site's: ``docs/_tools/notebooks.py`` executes it, and the executed
notebook is stored where the docs build renders it from (``.cache/executed-notebooks/``, keyed by
the notebook and rlladder's source), so CI runs each notebook once, here.

Notebook 4 is an exercise notebook: committed as the solution, with the cells the student writes
tagged ``solution``. Its student version (``docs/_tools/student_notebook.py``: each solution
stubbed with a ``NotImplementedError`` that points to the equation) is what the site shows; the
tests check the generator, run the solution top to bottom, and run the student version, which
must stop at its first stub with that stub's message.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def load_tool(name: str):
    """A module of docs/_tools, imported by path: ``notebooks`` (how the site executes and stores
    a notebook), ``student_notebook`` (an exercise notebook's student version)."""
    spec = importlib.util.spec_from_file_location(
        f"rlladder_docs_{name}", ROOT / "docs" / "_tools" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


site_notebooks = load_tool("notebooks")
student_notebook = load_tool("student_notebook")
EXERCISE = EXAMPLES / "04_build_your_own_dqn.ipynb"

# what the notebooks may use: rlladder's public face, never its internals
PRIVATE_IMPORT = re.compile(r"\bfrom rlladder\.|\bimport rlladder\.|\brl\.\w+\._")


def test_the_four_lecture_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_tabular",
        "02_dqn_ladder",
        "03_your_own_agent",
        "04_build_your_own_dqn",
    ]
    assert [p.name for p in NOTEBOOKS if site_notebooks.is_exercise(p)] == [EXERCISE.name]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean_and_uses_the_public_api(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, f"{path.name} has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, (
            f"{path.name}: commit notebooks without outputs (clear them before saving)"
        )
        assert not PRIVATE_IMPORT.search(cell.source), f"{path.name}: {cell.source[:80]}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "$$" in markdown, f"{path.name}: the update equation belongs in a markdown cell"
    assert "Questions to think about" in markdown


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path):
    # one thread (OMP_NUM_THREADS=1), a 400 s limit per cell; raises CellExecutionError, with
    # the failing cell's traceback
    nb = site_notebooks.execute(path, tmp_path)
    executed = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in executed)
    errors = [o for cell in executed for o in cell.outputs if o.output_type == "error"]
    assert errors == []
    figures = [o for c in executed for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 2, f"{path.name}: expected its figures in the outputs"
    if path.stem == "02_dqn_ladder":
        assert (tmp_path / "cartpole.gif").stat().st_size > 0
    if path == EXERCISE:  # the solution passes every exercise check, and rl.check_agent
        printed = "".join(o.get("text", "") for c in executed for o in c.outputs)
        for check in re.findall(r"rl\.exercises\.(check_\w+)\(", source_of(nb)):
            assert f"{check}:" in printed, f"{check} printed no success line"
        assert "every check passed" in printed
        return  # the site shows its student version, never this run
    site_notebooks.store(path, nb)  # the docs build renders this run instead of running it again


# ------------------------------------------------------------ the exercise notebook's two versions


def source_of(nb) -> str:
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


def functions(source: str) -> list[ast.FunctionDef]:
    """Every def in ``source``, methods included, in order."""
    return [n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.FunctionDef)]


@pytest.fixture(scope="module")
def versions():
    solution = nbformat.read(EXERCISE, as_version=4)
    return solution, student_notebook.student_version(solution)


def test_every_solution_cell_is_a_stub_in_the_student_version(versions):
    solution, student = versions
    tagged = [i for i, cell in enumerate(solution.cells) if student_notebook.is_solution(cell)]
    assert len(tagged) >= 6  # schedule, buffer, TD target, loss, target update, the agent
    for i in tagged:
        cell = student.cells[i]
        assert cell.metadata["tags"] == ["exercise"] and cell.outputs == []
        defs = functions(cell.source)
        assert [f.name for f in defs] == [f.name for f in functions(solution.cells[i].source)]
        for f in defs:  # a docstring, then raise NotImplementedError("write NAME: ...")
            docstring, stub = f.body
            assert isinstance(docstring.value, ast.Constant)
            assert isinstance(stub, ast.Raise) and stub.exc.func.id == "NotImplementedError"
            message = stub.exc.args[0].value
            assert message.startswith("write ") and "(see section " in message, f.name


def test_the_other_cells_are_unchanged(versions):
    solution, student = versions
    assert len(student.cells) == len(solution.cells)
    for before, after in zip(solution.cells, student.cells, strict=True):
        if not student_notebook.is_solution(before):
            assert (after.cell_type, after.source) == (before.cell_type, before.source)


def test_the_student_version_holds_no_solution_code(versions):
    solution, student = versions
    text = source_of(student)
    for cell in filter(student_notebook.is_solution, solution.cells):
        for f in functions(cell.source):
            for statement in f.body[1:]:  # all but the docstring
                code = ast.get_source_segment(cell.source, statement)
                assert code not in text, f"{f.name}: {code!r} is in the student version"


def test_a_stub_says_what_to_write_and_where_it_is_explained():
    source = '''# your code
import math


def area(r):
    """π r², the disc's area (see section 1: discs)."""
    return math.pi * r**2


class Disc:
    """A disc."""

    kind = "round"

    @property
    def r(self):
        """Its radius."""
        return 1.0
'''
    assert (
        student_notebook.stub_source(source)
        == '''# your code
import math


def area(r):
    """π r², the disc's area (see section 1: discs)."""
    raise NotImplementedError("write area: π r², the disc's area (see section 1: discs).")


class Disc:
    """A disc."""

    kind = "round"

    @property
    def r(self):
        """Its radius."""
        raise NotImplementedError('write Disc.r: its radius.')'''
    )


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("x = 1", "code cell 3: line 1 (x = 1) is neither an import, a def nor a class"),
        ("def f():\n    return 1", "code cell 3: f() has no docstring"),
        ("%matplotlib inline", "code cell 3 is not plain Python"),
    ],
)
def test_a_solution_cell_that_cannot_be_stubbed_is_named(source, says):
    with pytest.raises(student_notebook.StubError, match=re.escape(says)):
        student_notebook.stub_source(source, where="code cell 3")


def test_the_command_writes_the_student_version(tmp_path, capsys):
    out = tmp_path / "student.ipynb"
    assert student_notebook.main(["--student", str(out)]) == 0
    assert "the student version of 04_build_your_own_dqn.ipynb" in capsys.readouterr().out
    written = nbformat.read(out, as_version=4)
    solution = nbformat.read(EXERCISE, as_version=4)
    assert written.cells == student_notebook.student_version(solution).cells


def test_the_command_writes_the_solution_as_the_site_runs_it(tmp_path, monkeypatch, capsys):
    ran = []

    def execute(path, workdir):  # the site's run, recorded instead of run (the test above runs it)
        ran.append(path)
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])

    monkeypatch.setattr(site_notebooks, "execute", execute)
    monkeypatch.setattr(student_notebook, "_site_notebooks", lambda: site_notebooks)
    out = tmp_path / "solution.ipynb"
    assert student_notebook.main([str(EXERCISE), "--solution", str(out)]) == 0
    assert ran == [EXERCISE] and nbformat.read(out, as_version=4).cells[0].source == "1 + 1"
    assert "run top to bottom, with its outputs" in capsys.readouterr().out


def test_the_command_says_what_is_wrong(tmp_path, capsys):
    with pytest.raises(SystemExit):
        student_notebook.main([str(tmp_path / "missing.ipynb"), "--student", "out.ipynb"])
    assert "no notebook at" in capsys.readouterr().err


def test_the_student_version_stops_at_its_first_stub(tmp_path):
    # a kernel runs the first few cells only (about 5 s), so this one is not marked slow
    student = student_notebook.write_student_version(EXERCISE, tmp_path / "student.ipynb")
    nb = nbformat.read(student, as_version=4)
    first = next(cell for cell in nb.cells if "exercise" in cell.metadata.get("tags", []))
    stub = next(n for n in ast.walk(ast.parse(first.source)) if isinstance(n, ast.Raise))
    message = stub.exc.args[0].value
    assert message.startswith("write linear_schedule: ")
    after = nb.cells[nb.cells.index(first) + 1]  # the check the student runs next
    with pytest.raises(nbclient.exceptions.CellExecutionError) as raised:
        site_notebooks.execute(student, tmp_path)
    # the stub's own error, or the check's ExerciseFailed quoting it ("your function raised ...")
    shown = f"{raised.value.ename}: {raised.value.evalue}"
    assert f"NotImplementedError: {message}" in shown
    assert after.source in str(raised.value)  # the failing cell is the check after the stub
