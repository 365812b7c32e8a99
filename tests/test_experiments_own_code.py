"""A script's or a notebook's own agent and env factory run on every backend, as on serial.

The code under test is written into ``tmp_path`` and run as a user runs it: ``python script.py``
for a script without a ``__main__`` guard, and a Jupyter kernel (nbclient) for a notebook. Both
define an agent class and an env factory in ``__main__``, register the class by name, and save
their results to files, which the test compares with the serial backend's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

# What both the script and the notebook define: an agent class, an env factory and an experiment
# that uses the class itself, the class by a name registered here, and a built-in agent.
OWN_CODE = '''
import gymnasium as gym
import numpy as np

import rlladder as rl


class Greedy0(rl.Agent):
    """Epsilon-greedy on a running average of the immediate reward (a bandit per state)."""

    def __init__(self, observation_space, action_space, *, seed=None, epsilon=0.2):
        super().__init__(observation_space, action_space, seed=seed)
        self.epsilon = epsilon
        self.q = np.zeros((observation_space.n, action_space.n))

    def act(self, obs, *, explore=True):
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.q[obs]))

    def learn(self, t):
        self.q[t.obs, t.action] += 0.5 * (t.reward - self.q[t.obs, t.action])
        return {"q_sa": float(self.q[t.obs, t.action])}


def make_lake(**kwargs):
    return gym.make("FrozenLake-v1", **kwargs)


rl.register_agent("greedy0", Greedy0, defaults={"epsilon": 0.5}, overwrite=True)
experiment = rl.Experiment(
    env=make_lake,
    env_kwargs={"is_slippery": True},
    variants={
        "class": rl.Variant(Greedy0, epsilon=0.3),
        "registered name": rl.Variant("greedy0"),
        "Q-learning": rl.Variant("q-learning"),
    },
    runs=3,
    episodes=30,
    max_episode_steps=30,
    seed=3,
)
'''

SCRIPT = f"""
import sys
from pathlib import Path

out = Path(sys.argv[1])
with open(out / "body-ran.txt", "a") as counter:  # one line each time this file's body runs
    counter.write("ran\\n")
{OWN_CODE}
for backend in sys.argv[2:]:
    results = rl.run_experiment(experiment, backend=backend, workers=2, progress=False)
    results.to_pickle(out / f"{{backend}}.pkl")
"""

BACKENDS = ["process", pytest.param("ray", marks=pytest.mark.slow)]  # Ray starts in ~5 s


def check_results(folder: Path, backend: str) -> None:
    serial = pd.read_pickle(folder / "serial.pkl")
    assert serial["variant"].unique().tolist() == ["class", "registered name", "Q-learning"]
    assert len(serial) == 3 * 3 * 30 and serial["q_sa"].notna().any()
    pd.testing.assert_frame_equal(pd.read_pickle(folder / f"{backend}.pkl"), serial)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_script_without_main_guard_runs_its_own_agent(tmp_path, backend):
    if backend == "ray":
        pytest.importorskip("ray")
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "serial", backend],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    check_results(tmp_path, backend)
    # the workers did not import the script: its body ran once, in the parent
    assert (tmp_path / "body-ran.txt").read_text().splitlines() == ["ran"]


# A class redefined in a later cell must reach the workers as redefined, even where they are
# reused from the experiment before (the process backend's pool stays up between experiments).
REDEFINE = """
class Fixed(rl.Agent):
    def act(self, obs, *, explore=True):
        return {action}

    def learn(self, t):
        return {{"action": float(t.action)}}


fixed = rl.Experiment(env="FrozenLake-v1", variants={{"fixed": rl.Variant(Fixed)}}, runs=2, episodes=3)
rl.run_experiment(fixed, backend={backend!r}, workers=2, progress=False).to_pickle("fixed{action}.pkl")
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_notebook_runs_its_own_agent(tmp_path, backend, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    if backend == "ray":
        pytest.importorskip("ray")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))  # the kernel imports this rlladder
    run = f"""
    for backend in ["serial", {backend!r}]:
        results = rl.run_experiment(experiment, backend=backend, workers=2, progress=False)
        results.to_pickle(f"{{backend}}.pkl")
    """
    cells = [OWN_CODE, textwrap.dedent(run)]
    if backend == "process":  # (a local Ray cluster is new for each experiment anyway)
        cells += [REDEFINE.format(action=a, backend=backend) for a in (1, 2)]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in cells]
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError with the cell's traceback
    check_results(tmp_path, backend)
    if backend == "process":
        assert set(pd.read_pickle(tmp_path / "fixed1.pkl")["action"]) == {1.0}
        assert set(pd.read_pickle(tmp_path / "fixed2.pkl")["action"]) == {2.0}


def test_a_notebook_class_is_fingerprinted_by_its_cell(tmp_path, monkeypatch):
    """In a real kernel, a class has no module file; its fingerprint is its cell's source, and a
    results folder records it (tests/test_experiments_fingerprints.py holds the rest)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(sys.path))
    check = textwrap.dedent("""
        import json
        from rlladder.experiments.fingerprints import fingerprint

        found = fingerprint(Greedy0)
        rl.run_experiment(experiment, backend="serial", out="results", progress=False)
        prints = json.load(open("results/spec.json"))["fingerprints"]
        json.dump({"where": found.where, "digest": found.digest, "spec": prints},
                  open("found.json", "w"))
    """)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(cell) for cell in (OWN_CODE, check)]
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    found = json.loads((tmp_path / "found.json").read_text())
    assert found["where"].startswith("the cell ") and found["digest"]
    cell = found["digest"]  # the class and the env factory share one cell
    mine = {"__main__:Greedy0": cell, "__main__:make_lake": cell}
    lake = {"__main__:make_lake": cell}  # Q-learning is rlladder's; the env factory is yours
    assert found["spec"] == {
        "class": [mine] * 3,
        "registered name": [mine] * 3,
        "Q-learning": [lake] * 3,
    }
