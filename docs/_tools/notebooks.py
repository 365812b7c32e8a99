"""The lecture notebooks on the site, executed, with their outputs: an MkDocs hook.

``examples/*.ipynb`` are committed without outputs. For the site each one is run top to bottom
by a fresh ``python3`` kernel in an empty temporary folder, with one thread
(``OMP_NUM_THREADS=1``, see :data:`KERNEL_ENV`), and mkdocs-jupyter renders the executed copy as
``notebooks/<name>/``. A cell that raises fails the build, naming the notebook and the cell.

Executed copies are kept in ``.cache/executed-notebooks/``, under a fingerprint of the notebook
and of rlladder's source: a build reuses a copy only while neither has changed, so the figures on
the site are always the current code's. ``pytest --slow`` (``tests/test_notebooks.py``) executes
the notebooks through the same :func:`execute` and stores its copies there, so CI, which runs the
tests and then the docs build, runs each notebook once.

``RLLADDER_DOCS_EXECUTE=0`` renders the committed notebooks as they are, without running them
(and without outputs): a fast build for writing pages, and for the docs tests.

An exercise notebook (one with cells tagged ``solution``, see ``docs/_tools/student_notebook.py``)
is shown as its student version, never executed: its stubs raise ``NotImplementedError`` by
design, and the site must not hand out the solution. ``pytest --slow`` runs its solution.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CACHE = ROOT / ".cache" / "executed-notebooks"
EXECUTE_ENV = "RLLADDER_DOCS_EXECUTE"
CELL_TIMEOUT_S = 400  # the DQN ladder cell is the longest; a hung cell fails instead of hanging CI
SITE_FOLDER = "notebooks"  # the notebooks' pages: notebooks/01_tabular/ ...


def notebooks() -> list[Path]:
    """The lecture notebooks, in order."""
    return sorted(EXAMPLES.glob("*.ipynb"))


def student_notebook() -> Any:
    """docs/_tools/student_notebook.py (an exercise notebook's student version), imported by
    path: MkDocs loads this hook by path, so its folder is not importable."""
    name = "rlladder_docs_student_notebook"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("student_notebook.py")
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def is_exercise(path: Path) -> bool:
    """Whether the notebook at ``path`` has solution cells: the site shows its student version."""
    import nbformat

    return student_notebook().has_solutions(nbformat.read(path, as_version=4))


def fingerprint(path: Path) -> str:
    """A hash of the notebook, of every rlladder source file and of this file (how it is run):
    what its outputs depend on."""
    digest = hashlib.sha256(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    for source in sorted((ROOT / "rlladder").rglob("*.py")):
        digest.update(str(source.relative_to(ROOT)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def cached_path(path: Path) -> Path:
    """Where the executed copy of ``path`` for its current fingerprint lives."""
    return CACHE / f"{path.stem}-{fingerprint(path)}.ipynb"


#: the kernel's environment: one thread, as in CI; and no tqdm warning that ipywidgets (for
#: progress bars the notebooks never show) is not installed
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore:IProgress not found"}


@contextlib.contextmanager
def _kernel_env() -> Iterator[None]:
    old = {key: os.environ.get(key) for key in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)  # the kernel inherits the environment
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                del os.environ[key]
            else:
                os.environ[key] = value


def execute(path: Path, workdir: Path, timeout: int = CELL_TIMEOUT_S) -> Any:
    """Run the notebook at ``path`` top to bottom in ``workdir``; return the executed notebook.

    Raises ``nbclient.exceptions.CellExecutionError`` (with the failing cell's traceback) when a
    cell raises, and ``nbclient.exceptions.CellTimeoutError`` when one runs past ``timeout``.
    """
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    with _kernel_env():
        client.execute()
    return nb


def store(path: Path, nb: Any) -> Path:
    """Save the executed ``nb`` of the notebook at ``path`` where the docs build will find it."""
    import nbformat

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            _gif_as_html(output)
    CACHE.mkdir(parents=True, exist_ok=True)
    for stale in CACHE.glob(f"{path.stem}-*.ipynb"):
        stale.unlink()
    target = cached_path(path)
    tmp = target.with_suffix(".tmp")
    nbformat.write(nb, tmp)
    tmp.replace(target)
    return target


def _gif_as_html(output: Any) -> None:
    """nbconvert shows PNG, JPEG and SVG but not GIF: give a GIF (``rl.record``) an ``<img>``."""
    data = output.get("data", {})
    if "image/gif" in data and "text/html" not in data:
        gif = data["image/gif"]
        if isinstance(gif, bytes):
            gif = base64.b64encode(gif).decode()
        gif = "".join(gif.split())
        data["text/html"] = f'<img alt="the greedy agent" src="data:image/gif;base64,{gif}">'


def executed(path: Path) -> Path:
    """The executed copy of ``path`` for the current code: from the cache, or run now."""
    cached = cached_path(path)
    if cached.exists():
        return cached
    with tempfile.TemporaryDirectory(prefix=f"{path.stem}-") as workdir:
        nb = execute(path, Path(workdir))
    return store(path, nb)


def should_execute() -> bool:
    """False when ``RLLADDER_DOCS_EXECUTE=0``: render the committed notebooks without outputs."""
    return os.environ.get(EXECUTE_ENV, "1").strip().lower() not in ("0", "false", "no")


# -- the MkDocs hook ----------------------------------------------------------------------------

try:
    from mkdocs.plugins import event_priority
except ImportError:  # the tests import execute() and store() without MkDocs

    def event_priority(priority: float) -> Any:
        return lambda f: f


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Any, config: Any) -> Any:
    """Add ``notebooks/<name>.ipynb`` for every lecture notebook, executed unless turned off;
    an exercise notebook as its student version, without outputs."""
    from mkdocs.exceptions import PluginError
    from mkdocs.structure.files import File
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    run = should_execute()
    # mkdocs-jupyter reads a page's source from its folder in the docs tree (src_dir/src_uri), so
    # each notebook is staged there under the name its page has
    stage = CACHE.parent / "site-notebooks"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / SITE_FOLDER).mkdir(parents=True)
    names = []
    for path in notebooks():
        target = stage / SITE_FOLDER / path.name
        if is_exercise(path):  # the student version, not run: its stubs raise by design
            student_notebook().write_student_version(path, target)
        else:
            try:
                shutil.copyfile(executed(path) if run else path, target)
            except (CellExecutionError, CellTimeoutError) as error:
                message = f"notebook {path.relative_to(ROOT)} failed:\n{error}"
                raise PluginError(message) from error
        names.append(path.name)
    for name in names:
        files.append(
            File(
                f"{SITE_FOLDER}/{name}",
                src_dir=str(stage),
                dest_dir=config.site_dir,
                use_directory_urls=config.use_directory_urls,
            )
        )
    return files
