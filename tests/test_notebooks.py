"""The lecture notebooks in examples/ run top to bottom without an error (``pytest --slow``).

Each notebook is executed by a fresh ``python3`` kernel (ipykernel, from this environment) in an
empty temporary folder, so files it writes (the CartPole GIF) land there. A failing cell fails the
test with the cell's traceback. The notebooks are committed without outputs; these tests also
check that, so a lecturer always opens a clean notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CELL_TIMEOUT_S = 400  # the DQN ladder cell is the longest; a hung cell fails instead of hanging CI

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
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the kernel inherits it: one thread, as in CI
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError, with the failing cell's traceback
    executed = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in executed)
    errors = [o for cell in executed for o in cell.outputs if o.output_type == "error"]
    assert errors == []
    figures = [o for c in executed for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(figures) >= 2, f"{path.name}: expected its figures in the outputs"
    if path.stem == "02_dqn_ladder":
        assert (tmp_path / "cartpole.gif").stat().st_size > 0
