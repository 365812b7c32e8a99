"""Results folders: a CSV per finished run, the spec beside them, resume, refuse, overwrite, kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import rlladder as rl
from rlladder.errors import ConfigError
from rlladder.experiments.backends import SerialBackend
from rlladder.experiments.store import load_results


def experiment(**changes) -> rl.Experiment:
    base = dict(
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"Q-learning": rl.Variant("q-learning", eta=0.5), "PS": rl.Variant("ps")},
        runs=3,
        episodes=25,
        max_episode_steps=50,
        seed=5,
    )
    base.update(changes)
    return rl.Experiment(**base)


class CountingBackend(SerialBackend):
    """The serial backend, remembering which (variant, run) it was asked to run."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[tuple[str, int]] = []

    def map(self, fn, tasks):
        self.ran += [(task.label, task.run) for task in tasks]
        yield from super().map(fn, tasks)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return rl.run_experiment(experiment(), backend="serial", progress=False)


def test_folder_holds_a_csv_per_run_and_the_spec(tmp_path, reference):
    results = rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    pd.testing.assert_frame_equal(results, reference)
    files = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert files == [
        f"{i:02d}-{v}-run{r:04d}.csv" for i, v in enumerate(["q-learning", "ps"]) for r in range(3)
    ]
    first = pd.read_csv(tmp_path / "runs" / "01-ps-run0002.csv")
    assert len(first) == 25 and set(first["variant"]) == {"PS"} and set(first["run"]) == {2}
    spec = json.loads((tmp_path / "spec.json").read_text())
    assert spec["rlladder_version"] == rl.__version__
    assert spec["experiment"]["seed"] == 5
    assert spec["experiment"]["variants"]["Q-learning"] == {"agent": "q-learning", "eta": 0.5}
    assert spec["run_seeds"] == experiment().run_seeds()
    pd.testing.assert_frame_equal(load_results(tmp_path), reference)


def test_resume_runs_only_the_missing_runs(tmp_path, reference):
    rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    (tmp_path / "runs" / "00-q-learning-run0001.csv").unlink()
    kept = tmp_path / "runs" / "01-ps-run0000.csv"
    before = kept.stat().st_mtime_ns
    backend = CountingBackend()
    results = rl.run_experiment(experiment(), backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("Q-learning", 1)]
    assert kept.stat().st_mtime_ns == before
    pd.testing.assert_frame_equal(results, reference)


def test_more_runs_extend_the_folder(tmp_path, reference):
    rl.run_experiment(experiment(runs=2), backend="serial", out=tmp_path, progress=False)
    backend = CountingBackend()
    results = rl.run_experiment(experiment(), backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("Q-learning", 2), ("PS", 2)]
    pd.testing.assert_frame_equal(results, reference)


def test_a_different_experiment_is_refused_then_overwrite_works(tmp_path):
    rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    other = experiment(seed=6, runs=1)
    with pytest.raises(ConfigError) as info:
        rl.run_experiment(other, backend="serial", out=tmp_path, progress=False)
    message = str(info.value)
    assert "different experiment" in message and "seed" in message
    assert "--out" in message and "--overwrite" in message
    results = rl.run_experiment(
        other, backend="serial", out=tmp_path, overwrite=True, progress=False
    )
    assert len(list((tmp_path / "runs").glob("*.csv"))) == 2  # the old runs are gone
    expected = rl.run_experiment(other, backend="serial", progress=False)
    pd.testing.assert_frame_equal(results, expected)
    assert json.loads((tmp_path / "spec.json").read_text())["experiment"]["seed"] == 6


def test_loading_a_folder_without_results_says_so(tmp_path):
    with pytest.raises(ConfigError, match="no results folder"):
        load_results(tmp_path / "nope")
    with pytest.raises(ConfigError, match="holds no results"):
        load_results(tmp_path)


SCRIPT = """
import sys
import rlladder as rl
from test_experiments_resume import experiment
rl.run_experiment(experiment(**{kwargs}), backend="serial", out=sys.argv[1], progress=False)
"""
SLOW = dict(env_kwargs={"is_slippery": True}, runs=5, episodes=500, max_episode_steps=100)
TASKS = 2 * 5


@pytest.mark.slow
def test_a_killed_experiment_keeps_whole_runs_and_resumes(tmp_path):
    out = tmp_path / "killed"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), *sys.path]))
    script = SCRIPT.format(kwargs=repr(SLOW))
    child = subprocess.Popen([sys.executable, "-c", script, str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while len(list(out.glob("runs/*.csv"))) < 2:
            assert child.poll() is None, "the experiment ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    reference = rl.run_experiment(experiment(**SLOW), backend="serial", progress=False)
    finished = sorted(out.glob("runs/*.csv"))
    assert 2 <= len(finished) < TASKS
    for path in finished:  # every saved run is whole: equal to the same run done uninterrupted
        saved = pd.read_csv(path)
        label, run = saved["variant"].iloc[0], int(saved["run"].iloc[0])
        expected = reference[(reference.variant == label) & (reference.run == run)]
        assert saved["reward"].tolist() == expected["reward"].tolist()
        assert saved["env_step"].tolist() == expected["env_step"].tolist()
    backend = CountingBackend()
    resumed = rl.run_experiment(experiment(**SLOW), backend=backend, out=out, progress=False)
    assert len(backend.ran) == TASKS - len(finished)
    pd.testing.assert_frame_equal(resumed, reference)
