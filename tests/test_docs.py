"""The documentation site: it builds strictly, a broken reference fails it, and its pages show
what they promise (rendered math, the live source of each update, every module in the API).

The builds here skip running the notebooks (``RLLADDER_DOCS_EXECUTE=0``); ``pytest --slow`` runs
them in ``tests/test_notebooks.py``, and the full build in ``.ci/run`` renders those runs.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings_handlers.python")
pytest.importorskip("mkdocs_jupyter")
griffe = pytest.importorskip("griffe")
yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def load_tool(name: str):
    """A module of docs/_tools (the build's hooks and extensions), imported by path."""
    path = DOCS / "_tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"rlladder_docs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


rst = load_tool("rst_docstrings")
api_pages = load_tool("api_pages")
site_notebooks = load_tool("notebooks")
check_catalogue = load_tool("check_catalogue")

#: algorithm page -> the functions whose live source it must show
ALGORITHM_PAGES = {
    "algorithms/q-learning": ["td_target", "td_update", "epsilon_greedy_probs", "learn"],
    "algorithms/projective-simulation": [
        "hopping_probabilities",
        "glow_update",
        "h_update",
        "act",
        "learn",
    ],
    "algorithms/dqn-ladder": [
        "dqn_loss",
        "learn",
        "sample",
        "update_target",
        "td_loss",
        "td_target",
        "forward",
        "_update",
    ],
}


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, site_notebooks.EXECUTE_ENV: "0", "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = build(ROOT, out)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def page(site: Path, name: str) -> str:
    return (site / name / "index.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------- the build


def test_the_strict_build_passes_and_writes_every_page(site):
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    for uri in api_pages.nav_entries(nav):
        name = uri.removesuffix(".md").removesuffix(".ipynb").removesuffix("index")
        assert (site / name / "index.html").exists(), uri


def copy_of_the_docs(tmp_path: Path) -> Path:
    """The repository's docs in tmp_path: mkdocs.yml and docs/ copied, the code linked."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    shutil.copytree(DOCS, root / "docs", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("rlladder", "examples", "CHANGELOG.md"):
        (root / name).symlink_to(ROOT / name)
    return root


def test_a_broken_link_and_a_missing_api_name_fail_the_strict_build(tmp_path):
    root = copy_of_the_docs(tmp_path)
    page_md = root / "docs" / "interface.md"
    page_md.write_text(
        page_md.read_text()
        + "\nSee [the missing page](no-such-page.md) and "
        + "[`rl.gone`][rlladder.loop.no_such_function].\n"
    )
    done = build(root, tmp_path / "site")
    log = done.stdout + done.stderr
    assert done.returncode != 0
    assert "no-such-page.md" in log and "not found" in log
    assert "Could not find cross-reference target 'rlladder.loop.no_such_function'" in log
    assert "Aborted with 2 warnings in strict mode" in log


# -------------------------------------------------------------------------------- the pages


@pytest.mark.parametrize("name", sorted(ALGORITHM_PAGES))
def test_an_algorithm_page_shows_its_math_and_the_live_source_of_its_update(site, name):
    text = page(site, name)
    assert 'class="arithmatex"' in text, f"{name}: no rendered math"
    for function in ALGORITHM_PAGES[name]:
        # the source, highlighted and shown open: its def line, with the name as a function name
        assert re.search(rf'<span class="nf">{re.escape(function)}</span>', text), (
            f"{name}: no source of {function}"
        )
    assert '<details class="mkdocstrings-source" open>' in text


def test_the_math_is_valid_katex(site):
    """Every TeX expression on the site renders with the vendored KaTeX (what the browser runs)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    expressions = []
    for path in site.rglob("*.html"):
        for tex in re.findall(
            r'class="arithmatex">(.*?)</(?:span|div)>', path.read_text(encoding="utf-8"), re.S
        ):
            tex = html.unescape(tex).strip()
            display = tex.startswith("\\[")
            expressions.append((str(path.relative_to(site)), tex[2:-2], display))
    assert len(expressions) > 30
    script = """
const katex = require(process.argv[1]);
const bad = [];
for (const [where, tex, display] of JSON.parse(require("fs").readFileSync(0, "utf8"))) {
  try { katex.renderToString(tex, {throwOnError: true, displayMode: display}); }
  catch (e) { bad.push(where + ": " + e.message); }
}
console.log(JSON.stringify(bad));
"""
    katex = DOCS / "javascripts" / "katex" / "katex.min.js"
    done = subprocess.run(
        [node, "-e", script, str(katex)],
        input=json.dumps(expressions),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_every_rlladder_module_has_an_api_page(site):
    """A new module needs its one line in mkdocs.yml's nav (the API reference's only list)."""
    modules = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in (ROOT / "rlladder").rglob("*.py")
        if p.name == "__init__.py" or not p.name.startswith("_")
    }
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = {api_pages.module_of(uri) for uri in api_pages.nav_entries(nav)} - {None}
    listed.add("rlladder")  # api/index.md
    assert modules - listed == set(), "add these to the API reference in mkdocs.yml"
    assert listed - modules == set(), "these API pages name modules that do not exist"


def test_the_api_pages_render_the_docstrings_as_markdown(site):
    dqn = page(site, "api/rlladder.deep.dqn")
    dqn = re.sub(r'(?s)<details class="mkdocstrings-source".*?</details>', "", dqn)  # the code
    assert ".. math::" not in dqn and ":func:`" not in dqn and "=====" not in dqn
    assert 'class="arithmatex"' in dqn  # the module's TD target, from its .. math:: block
    assert re.search(r"<td><code>dqn-vanilla</code></td>", dqn)  # the rung table, as a table
    assert 'href="#rlladder.deep.dqn.td_target"' in dqn  # :func:`td_target`, a link


def test_the_notebooks_are_pages(site):
    assert len(site_notebooks.notebooks()) == 4
    for path in site_notebooks.notebooks():
        text = page(site, f"{site_notebooks.SITE_FOLDER}/{path.stem}")
        assert "jp-Notebook" in text and "jp-MarkdownOutput" in text
    # the exercise notebook is shown as the student gets it: stubs, never the solution
    text = html.unescape(re.sub(r"<[^>]+>", "", page(site, "notebooks/04_build_your_own_dqn")))
    assert 'raise NotImplementedError("write td_target: y = r + γ (1 − terminated)' in text
    assert "load_state_dict(online_net.state_dict())" not in text


def test_the_getting_started_tutorial_runs(tmp_path, monkeypatch):
    text = (DOCS / "getting-started.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile("\n".join(blocks), "getting-started.md", "exec"), namespace)
    assert namespace["scores"]["reward"].mean() == 1.0  # the page says so
    assert set(namespace["results"]["variant"]) == {"Q-learning", "PS"}
    assert {p.name for p in tmp_path.iterdir()} == {"policy.png", "values.png", "curves.png"}


def test_the_check_page_shows_the_checkers_own_hint_catalogue():
    """ "Check your agent" shows every hint of rlladder.check.HINTS, as the data has it now."""
    from rlladder.check import CHECKS, HINTS

    text = check_catalogue.PAGE.read_text(encoding="utf-8")
    assert check_catalogue.updated(text) == text, (
        "the catalogue on docs/check-your-agent.md is out of date: run "
        "python docs/_tools/check_catalogue.py --write"
    )
    table = text.split(check_catalogue.START)[1].split(check_catalogue.END)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert len(rows) - 1 == sum(len(hints) for hints in HINTS.values())  # - the --- row
    for check in CHECKS:
        assert f"| **{check.name}** (" in table
    assert r"r + gamma \* max Q(s')" in table  # a product, not an emphasis
    assert "{steps} steps of the probe" in table and "{{" not in table


# ------------------------------------------------------------- docstrings from reST to Markdown


def test_a_math_directive_becomes_a_display_block_and_keeps_every_line():
    text = "Update\n\n.. math:: a = b\n          + c\n\nthen more."
    assert rst.convert(text, {}.get) == "Update\n\n$$\na = b\n+ c\n$$\n\nthen more."


def test_roles_become_cross_references_and_unknown_rlladder_names_stay_checkable():
    paths = {
        "td_target": "rlladder.deep.dqn.td_target",
        "rlladder.schedules.Schedule": "x.Schedule",
    }
    text = (
        "See :func:`td_target`, :class:`~rlladder.schedules.Schedule`, "
        ":class:`~concurrent.futures.ProcessPoolExecutor` and :func:`rl.no_such`."
    )
    assert rst.convert(text, paths.get) == (
        "See [`td_target`][rlladder.deep.dqn.td_target], [`Schedule`][x.Schedule], "
        "`ProcessPoolExecutor` and [`rl.no_such`][rl.no_such]."
    )


def test_literal_blocks_doctests_and_tables_become_markdown():
    text = (
        "Use it::\n\n    agent = make()\n    agent.run()\n\n"
        ">>> 1 + 1\n2\n\n"
        "=====  =====\nname   what\n=====  =====\n``a``  first,\n       and more\n``b``  second\n=====  ====="
    )
    assert rst.convert(text, {}.get) == (
        "Use it:\n\n```python\nagent = make()\nagent.run()\n```\n\n"
        "```pycon\n>>> 1 + 1\n2\n```\n\n"
        "| name | what |\n| --- | --- |\n| ``a`` | first, and more |\n| ``b`` | second |"
    )


def test_rest_comments_are_left_out():
    text = "Table:\n\n.. generated: x (python -m tool)\n\nbody\n\n.. /generated: x\n\nEnd."
    assert rst.convert(text, {}.get) == "Table:\n\nbody\n\nEnd."


def test_an_args_entry_for_two_names_becomes_one_per_name():
    text = "Args:\n    bins, bounds: discretise a Box\n        (see spaces).\n    seed: the seed."
    assert rst.convert(text, {}.get) == (
        "Args:\n    bins: discretise a Box\n        (see spaces).\n"
        "    bounds: discretise a Box\n        (see spaces).\n    seed: the seed."
    )


def test_bullet_continuations_move_to_four_spaces_but_math_lines_are_not_bullets():
    text = "* first line\n  continued\n\n  .. math:: x\n            - y\n\n* second"
    assert rst.convert(text, {}.get) == (
        "* first line\n    continued\n\n    $$\n    x\n    - y\n    $$\n\n* second"
    )


def test_names_resolve_from_the_docstring_scope_like_python():
    package = griffe.load("rlladder", search_paths=[str(ROOT)], resolve_aliases=True)
    objects = {obj.path: obj for obj in rst._objects(package)}
    by_name: dict[str, list[str]] = {}
    for obj in objects.values():
        by_name.setdefault(obj.name, []).append(obj.path)
    learn = package["deep.dqn.DQN.learn"]
    resolve = rst.resolver_for(learn, package, by_name, objects)
    assert resolve("state_dict") == "rlladder.deep.dqn.DQN.state_dict"  # the enclosing class
    assert resolve("td_loss") == "rlladder.deep.dqn.td_loss"  # the module
    assert resolve("ConfigError") == "rlladder.errors.ConfigError"  # an import, to its source
    assert resolve("rl.run_experiment") == "rlladder.experiments.runner.run_experiment"  # lazy
    assert resolve("rlladder.evaluate") == "rlladder.loop.evaluate"
    assert resolve("rl.Variant.resolve") == "rlladder.experiments.spec.Variant.resolve"
    assert resolve("no_such_name") is None


# ------------------------------------------------------------------------ executed notebooks


def test_a_stored_run_is_reused_only_while_the_notebook_and_the_code_are_unchanged(
    tmp_path, monkeypatch
):
    nbformat = pytest.importorskip("nbformat")
    examples = tmp_path / "examples"
    examples.mkdir()
    path = examples / "01_demo.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nbformat.write(nb, path)
    monkeypatch.setattr(site_notebooks, "CACHE", tmp_path / "cache")

    def not_again(*args, **kwargs):
        raise AssertionError("executed a notebook whose stored run is current")

    stored = site_notebooks.store(path, nb)
    monkeypatch.setattr(site_notebooks, "execute", not_again)
    assert site_notebooks.executed(path) == stored
    nb.cells.append(nbformat.v4.new_code_cell("2 + 2"))
    nbformat.write(nb, path)  # the notebook changed: its stored run is stale
    with pytest.raises(AssertionError, match="stored run is current"):
        site_notebooks.executed(path)


def test_a_notebook_that_fails_fails_the_build(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from mkdocs.exceptions import PluginError

    examples = tmp_path / "examples"
    examples.mkdir()
    nb = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("1 / 0")]
    )
    nbformat.write(nb, examples / "04_broken.ipynb")
    monkeypatch.setattr(site_notebooks, "EXAMPLES", examples)
    monkeypatch.setattr(site_notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(site_notebooks, "CACHE", tmp_path / "cache")
    monkeypatch.setenv(site_notebooks.EXECUTE_ENV, "1")
    with pytest.raises(
        PluginError, match=r"(?s)examples/04_broken\.ipynb failed.*ZeroDivisionError"
    ):
        site_notebooks.on_files([], None)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_an_exercise_notebook_is_staged_as_its_student_version_and_never_run(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    from types import SimpleNamespace

    examples = tmp_path / "examples"
    examples.mkdir()
    solution = nbformat.v4.new_code_cell('def f():\n    """Twice one."""\n    return 2')
    solution.metadata["tags"] = ["solution"]
    nb = nbformat.v4.new_notebook(cells=[solution, nbformat.v4.new_code_cell("f()")])
    nbformat.write(nb, examples / "05_exercise.ipynb")

    def never(*args, **kwargs):
        raise AssertionError("the site ran an exercise notebook")

    monkeypatch.setattr(site_notebooks, "EXAMPLES", examples)
    monkeypatch.setattr(site_notebooks, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(site_notebooks, "execute", never)
    monkeypatch.setenv(site_notebooks.EXECUTE_ENV, "1")
    config = SimpleNamespace(site_dir=str(tmp_path / "site"), use_directory_urls=True)
    (page,) = site_notebooks.on_files([], config)
    assert page.src_uri == "notebooks/05_exercise.ipynb"
    staged = nbformat.read(Path(page.abs_src_path), as_version=4)
    assert staged.cells[0].source == (
        'def f():\n    """Twice one."""\n    raise NotImplementedError(\'write f: twice one.\')'
    )
    assert staged.cells[1].source == "f()"
