"""Your own code is part of a results folder's identity: edit it, and a resume is refused."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import linecache
import sys
import textwrap
import warnings

import gymnasium as gym
import pandas as pd
import pytest

import rlladder as rl
from rlladder.errors import ConfigError, UncheckedCodeWarning
from rlladder.experiments.fingerprints import experiment_code, fingerprint

MODULE = """
import gymnasium as gym
import numpy as np
import rlladder as rl


class Mine(rl.Agent):
    def __init__(self, observation_space, action_space, *, seed=None, rate=0.5):
        super().__init__(observation_space, action_space, seed=seed)
        self.rate = rate
        self.q = np.zeros((observation_space.n, action_space.n))

    def act(self, obs, *, explore=True):
        if explore and self.rng.random() < 0.2:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.q[obs]))

    def learn(self, t):
        self.q[t.obs, t.action] += self.rate * (t.reward - self.q[t.obs, t.action])
        return {}
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A student's module ``mine_agents.py`` in ``tmp_path``, importable; ``edit(text)`` rewrites
    it and forgets the imported module, as a new Python process would."""
    path = tmp_path / "mine_agents.py"
    path.write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))

    def edit(text: str) -> None:
        path.write_text(text)
        sys.modules.pop("mine_agents", None)
        importlib.invalidate_caches()

    yield path, edit
    sys.modules.pop("mine_agents", None)


def experiment(**changes) -> rl.Experiment:
    base = dict(
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"mine": rl.Variant("mine_agents:Mine"), "Q-learning": rl.Variant("q-learning")},
        runs=2,
        episodes=10,
        max_episode_steps=20,
        seed=3,
    )
    base.update(changes)
    return rl.Experiment(**base)


def run(out, exp=None, **kwargs) -> pd.DataFrame:
    return rl.run_experiment(
        exp or experiment(), backend="serial", out=out, progress=False, **kwargs
    )


def test_spec_json_records_a_fingerprint_of_your_code_per_run(tmp_path, user_module):
    path, _ = user_module
    out = tmp_path / "out"
    run(out)
    spec = json.loads((out / "spec.json").read_text())
    digest = hashlib.sha256(path.read_text().encode() + b"\0").hexdigest()
    assert spec["fingerprints"] == {"mine": [{"mine_agents:Mine": digest}] * 2}  # not Q-learning


def test_an_edited_module_is_refused_in_one_line_naming_the_class(tmp_path, user_module):
    path, edit = user_module
    out = tmp_path / "out"
    run(out)
    edit(MODULE.replace("self.rate * (", "2 * self.rate * ("))  # a "fix"
    with pytest.raises(ConfigError) as info:
        run(out, experiment(runs=3))
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        f"{out} holds runs of other code: variant 'mine': the source of mine_agents:Mine "
        f"({path}) changed since runs 0, 1 were made; undo the change to resume, or use another "
        "output folder (--out / out=) or overwrite it (--overwrite / overwrite=True)"
    )
    assert len(list((out / "runs").glob("*.csv"))) == 4  # nothing was run or lost


def test_an_unchanged_module_resumes_and_a_comment_is_a_change(tmp_path, user_module):
    _, edit = user_module
    out = tmp_path / "out"
    run(out)
    edit(MODULE)  # rewritten, the same text: the same code
    with warnings.catch_warnings():
        warnings.simplefilter("error", UncheckedCodeWarning)
        results = run(out, experiment(runs=3))
    assert sorted(set(zip(results["variant"], results["run"], strict=True))) == [
        (v, r) for v in ("Q-learning", "mine") for r in range(3)
    ]
    spec = json.loads((out / "spec.json").read_text())
    assert len({json.dumps(p) for p in spec["fingerprints"]["mine"]}) == 1
    edit(MODULE + "# a comment\n")  # the source is the identity: any edit counts
    with pytest.raises(ConfigError, match="mine_agents:Mine .* changed since runs 0, 1, 2"):
        run(out, experiment(runs=4))
    run(out, experiment(runs=1), overwrite=True)  # overwrite starts over with the new code


def test_a_folder_from_before_fingerprints_resumes_and_says_it_cannot_check(tmp_path, user_module):
    _, edit = user_module
    out = tmp_path / "out"
    run(out)
    spec_path = out / "spec.json"
    old = json.loads(spec_path.read_text())
    del old["fingerprints"]  # as an older rlladder wrote it
    spec_path.write_text(json.dumps(old))
    edit(MODULE.replace("0.2", "0.3"))
    with pytest.warns(UncheckedCodeWarning) as caught:
        run(out, experiment(runs=3))
    assert [str(w.message) for w in caught] == [
        f"{out}: variant 'mine': runs 0, 1 of mine_agents:Mine: saved without a fingerprint of "
        "the source (before rlladder recorded it, or no source was found), so not checked "
        "against the code of today"
    ]
    prints = json.loads(spec_path.read_text())["fingerprints"]["mine"]
    assert prints[:2] == [None, None] and prints[2] is not None  # unknown stays unknown


def test_the_env_factory_is_fingerprinted_too(tmp_path, user_module):
    path, edit = user_module
    edit(MODULE + "\n\ndef lake(**kwargs):\n    return gym.make('FrozenLake-v1', **kwargs)\n")
    exp = experiment(env="mine_agents:lake", variants={"Q-learning": rl.Variant("q-learning")})
    code = experiment_code(exp)
    assert list(code) == ["Q-learning"] and list(code["Q-learning"]) == ["mine_agents:lake"]
    out = tmp_path / "out"
    run(out, exp)
    edit(path.read_text() + "# edited\n")
    with pytest.raises(ConfigError, match="variant 'Q-learning': the source of mine_agents:lake"):
        run(out, exp)


def test_rlladder_own_code_and_gymnasium_ids_have_no_fingerprint():
    assert fingerprint(rl.QLearning) is None and fingerprint(rl.DQN) is None
    assert experiment_code(experiment(variants={"q": rl.Variant("q-learning")})) == {}


def test_a_registered_name_of_your_class_is_your_code(tmp_path, user_module):
    from mine_agents import Mine

    rl.register_agent("mine-registered", Mine, overwrite=True)
    code = experiment_code(experiment(variants={"r": rl.Variant("mine-registered")}))
    assert list(code["r"]) == ["mine_agents:Mine"] and code["r"]["mine_agents:Mine"].digest


def notebook_class(source: str, cell: str) -> type:
    """Define a class as a notebook does: compiled from a cell whose text only linecache holds,
    in a module that has no file."""
    linecache.cache[cell] = (len(source), None, source.splitlines(True), cell)
    namespace = {"__name__": "__main__"}
    exec(compile(source, cell, "exec"), namespace)
    return namespace["Cell"]


CELL = textwrap.dedent("""
    import rlladder as rl

    class Cell(rl.Agent):
        def act(self, obs, *, explore=True):
            return 0

        def learn(self, t):
            return {}
""")


def test_a_notebook_class_is_fingerprinted_by_its_cell():
    cell = "/tmp/ipykernel_0/123456.py"  # how ipykernel names a cell; no such file
    try:
        first = fingerprint(notebook_class(CELL, cell))
        same = fingerprint(notebook_class(CELL, cell))
        other = fingerprint(notebook_class(CELL.replace("return 0", "return 1"), cell))
    finally:
        linecache.cache.pop(cell, None)
    assert first is not None and first.digest is not None
    assert first.where == f"the cell {cell}" and first.name == "__main__:Cell"
    assert same == first and other.digest != first.digest


def test_code_without_source_runs_and_says_it_cannot_be_checked(tmp_path):
    namespace = {"__name__": "nowhere"}
    exec(compile(CELL, "<string>", "exec"), namespace)  # no file, nothing in linecache
    cls = namespace["Cell"]
    assert fingerprint(cls).digest is None
    exp = experiment(variants={"cell": rl.Variant(cls)}, runs=1, episodes=2)
    with pytest.warns(UncheckedCodeWarning) as caught:
        run(tmp_path / "out", exp)
    assert [str(w.message) for w in caught] == [
        f"no source found for nowhere:Cell (<string>): a resume of {tmp_path / 'out'} cannot "
        "check that its runs used the same nowhere:Cell"
    ]
    prints = json.loads((tmp_path / "out" / "spec.json").read_text())["fingerprints"]
    assert prints == {"cell": [{"nowhere:Cell": None}]}
    with pytest.warns(UncheckedCodeWarning) as caught:  # resumes: unknown is no change
        run(tmp_path / "out", dataclasses.replace(exp, runs=2))
    assert len(caught) == 1 and "no source found for nowhere:Cell" in str(caught[0].message)


def test_a_class_defined_in_a_test_function_is_fingerprinted_by_its_module():
    class Local(rl.Agent):
        def act(self, obs, *, explore=True):
            return 0

        def learn(self, t):
            return {}

    found = fingerprint(Local)
    assert found.where == __file__ and found.digest is not None


def test_a_base_class_of_yours_in_another_module_counts(tmp_path, user_module):
    path, edit = user_module
    (tmp_path / "mine_sub.py").write_text(
        "from mine_agents import Mine\n\n\nclass Sub(Mine):\n    pass\n"
    )
    sys.modules.pop("mine_sub", None)
    from mine_sub import Sub

    found = fingerprint(Sub)
    assert found.where == f"{tmp_path / 'mine_sub.py'}, {path}"
    env = gym.make("FrozenLake-v1")
    assert isinstance(Sub(env.observation_space, env.action_space), rl.Agent)
    sys.modules.pop("mine_sub", None)
