"""The lecture notebooks in examples/ run top to bottom without an error (``pytest --slow``).

Each notebook is executed by a fresh ``python3`` kernel (ipykernel, from this environment) in an
empty temporary folder, so files it writes (the CartPole GIF) land there. A failing cell fails the
test with the cell's traceback. The notebooks are committed without outputs; these tests also
check that, so a lecturer always opens a clean notebook.

The run is the documentation site's: ``docs/_tools/notebooks.py`` executes it, and the executed
notebook is stored where the docs build renders it from (``.cache/executed-notebooks/``, keyed by
the notebook and rlladder's source), so CI runs each notebook once, here.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))


def load_site_notebooks():
    """docs/_tools/notebooks.py, imported by path: how the site executes and stores a notebook."""
    spec = importlib.util.spec_from_file_location(
        "rlladder_docs_notebooks", ROOT / "docs" / "_tools" / "notebooks.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


site_notebooks = load_site_notebooks()

# what the notebooks may use: rlladder's public face, never its internals
PRIVATE_IMPORT = re.compile(r"\bfrom rlladder\.|\bimport rlladder\.|\brl\.\w+\._")


def test_the_three_lecture_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == ["01_tabular", "02_dqn_ladder", "03_your_own_agent"]


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
    site_notebooks.store(path, nb)  # the docs build renders this run instead of running it again
