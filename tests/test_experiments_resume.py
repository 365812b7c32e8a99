"""Results folders: a CSV per finished run, the spec beside them, resume, refuse, overwrite, kill."""

from __future__ import annotations

import dataclasses
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


# -- the resolved configuration is the folder's identity ---------------------------------------
ELSEWHERE = (
    "use another output folder (--out / out=) or overwrite it (--overwrite / overwrite=True)"
)


def changed_preset(monkeypatch, agent: str, env_id: str, **values) -> None:
    """Replace the presets of ``agent`` on ``env_id`` by copies with ``values`` changed (undone
    by monkeypatch at the end of the test)."""
    from rlladder import registry

    patched = [
        dataclasses.replace(p, hyperparameters={**p.hyperparameters, **values})
        if (p.agent, p.env_id) == (agent, env_id)
        else p
        for p in registry._PRESETS
    ]
    monkeypatch.setattr(registry, "_PRESETS", patched)


def test_spec_json_records_the_resolved_hyperparameters_and_who_wrote_each_run(tmp_path):
    rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    spec = json.loads((tmp_path / "spec.json").read_text())
    assert spec["experiment"]["variants"]["PS"] == {"agent": "ps"}  # what was written
    assert spec["resolved"]["PS"] == {  # what ran: the preset for the plain lake, and defaults
        "agent": "ps",
        "gamma": 0.0,
        "eta": 0.04,
        "policy": "softmax",
        "beta": 1.0,
        "bins": None,
        "bounds": None,
    }
    assert spec["resolved"]["Q-learning"]["eta"] == 0.5  # the variant's own
    assert spec["resolved"]["Q-learning"]["exploration"] == "noisy-argmax"  # the preset's
    assert spec["run_versions"] == {"Q-learning": [rl.__version__] * 3, "PS": [rl.__version__] * 3}


def test_a_changed_preset_is_refused_in_one_line_naming_it(tmp_path, monkeypatch):
    """The issue's scenario: 2 runs, the Q-learning preset for FrozenLake changes, resume with 4."""
    exp = experiment(variants={"Q-learning": rl.Variant("q-learning")}, runs=2)
    rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
    before = sorted((tmp_path / "runs").iterdir())
    changed_preset(monkeypatch, "q-learning", "FrozenLake-v1", eta=0.1)
    with pytest.raises(ConfigError) as info:
        rl.run_experiment(exp.replace(runs=4), backend="serial", out=tmp_path, progress=False)
    assert str(info.value) == (
        f"{tmp_path} holds results of a different experiment: variant 'Q-learning': "
        "eta 0.8 -> 0.1 (the preset for q-learning on FrozenLake-v1 (is_slippery=False) "
        f"changed); {ELSEWHERE}"
    )
    assert "\n" not in str(info.value)
    assert sorted((tmp_path / "runs").iterdir()) == before  # nothing was run or removed
    monkeypatch.undo()  # the preset as it was: the folder resumes
    backend = CountingBackend()
    rl.run_experiment(exp.replace(runs=4), backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("Q-learning", 2), ("Q-learning", 3)]


def test_the_dqn_preset_changing_names_the_variant_and_the_value(tmp_path, monkeypatch):
    exp = rl.Experiment(
        env="CartPole-v1", variants={"+ Huber (DQN)": rl.Variant("dqn")}, runs=1, steps=30
    )
    rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
    changed_preset(monkeypatch, "dqn", "CartPole-v1", huber_delta=1.0)
    with pytest.raises(ConfigError) as info:
        rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
    assert (
        "variant '+ Huber (DQN)': huber_delta 10.0 -> 1.0 (the preset for dqn on CartPole-v1 "
        f"changed); {ELSEWHERE}"
    ) in str(info.value)


def test_a_changed_variant_names_what_you_changed(tmp_path):
    rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    other = experiment(
        variants={
            "Q-learning": rl.Variant("q-learning", eta=0.5, epsilon=0.2),
            "PS": rl.Variant("ps"),
        }
    )
    with pytest.raises(ConfigError) as info:
        rl.run_experiment(other, backend="serial", out=tmp_path, progress=False)
    message = str(info.value)
    assert (
        'variant \'Q-learning\': exploration "noisy-argmax" -> "epsilon-greedy", '
        "epsilon None -> 0.2 (the variant's own epsilon changed)"
    ) in message
    assert "preset" not in message


def test_the_same_hyperparameters_written_another_way_resume(tmp_path):
    rl.run_experiment(experiment(runs=2), backend="serial", out=tmp_path, progress=False)
    spelled_out = experiment(
        variants={
            # 1 for 1.0, the preset's own values given explicitly
            "Q-learning": rl.Variant("q-learning", eta=0.5, gamma=0.9, initial_value=0),
            "PS": rl.Variant("ps", eta=0.04, policy="softmax"),
        }
    )
    backend = CountingBackend()
    results = rl.run_experiment(spelled_out, backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("Q-learning", 2), ("PS", 2)]
    pd.testing.assert_frame_equal(
        results, rl.run_experiment(experiment(), backend="serial", progress=False)
    )


def test_a_knob_added_later_at_its_default_resumes_and_off_its_default_is_refused(tmp_path):
    """A folder written before DQN had ``n_step``: its runs did what ``n_step=1`` does."""
    dqn = {"hidden_sizes": (8,), "learning_starts": 10, "batch_size": 4}
    exp = rl.Experiment(env="CartPole-v1", variants={"DQN": rl.Variant("dqn", **dqn)}, steps=60)
    rl.run_experiment(exp.replace(runs=1), backend="serial", out=tmp_path, progress=False)
    path = tmp_path / "spec.json"
    old = json.loads(path.read_text())
    del old["resolved"]["DQN"]["n_step"]
    path.write_text(json.dumps(old))
    backend = CountingBackend()
    rl.run_experiment(exp.replace(runs=2), backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("DQN", 1)]
    assert json.loads(path.read_text())["resolved"]["DQN"]["n_step"] == 1
    path.write_text(json.dumps(old))
    three = exp.replace(variants={"DQN": rl.Variant("dqn", n_step=3, **dqn)}, runs=2)
    with pytest.raises(
        ConfigError, match=r"variant 'DQN': n_step \(unset\) -> 3 \(the variant's own"
    ):
        rl.run_experiment(three, backend="serial", out=tmp_path, progress=False)


def test_an_old_spec_without_resolved_values_is_refused_clearly(tmp_path):
    rl.run_experiment(experiment(runs=1), backend="serial", out=tmp_path, progress=False)
    path = tmp_path / "spec.json"
    old = json.loads(path.read_text())
    del old["resolved"], old["run_versions"]
    path.write_text(json.dumps(old))
    with pytest.raises(ConfigError) as info:
        rl.run_experiment(experiment(), backend="serial", out=tmp_path, progress=False)
    assert str(info.value) == (
        f"{path} records no resolved hyperparameters (it was written by rlladder "
        f"{rl.__version__}, from before they were recorded), so a resume cannot check that new "
        f"runs use the hyperparameters its runs used; {ELSEWHERE}"
    )
    rl.run_experiment(experiment(), backend="serial", out=tmp_path, overwrite=True, progress=False)
    assert "resolved" in json.loads(path.read_text())


def test_another_version_with_the_same_hyperparameters_resumes_and_says_so(
    tmp_path, monkeypatch, capsys
):
    from rlladder.cli import main

    monkeypatch.setattr(rl, "__version__", "0.0.9")
    rl.run_experiment(experiment(runs=2), backend="serial", out=tmp_path, progress=False)
    monkeypatch.undo()
    backend = CountingBackend()
    rl.run_experiment(experiment(), backend=backend, out=tmp_path, progress=False)
    assert backend.ran == [("Q-learning", 2), ("PS", 2)]
    spec = json.loads((tmp_path / "spec.json").read_text())
    assert spec["run_versions"]["PS"] == ["0.0.9", "0.0.9", rl.__version__]
    assert spec["rlladder_version"] == rl.__version__
    assert main(["plot", str(tmp_path)]) == 0
    note = f"note: these runs were made with rlladder versions 0.0.9 (4 runs) and {rl.__version__} (2 runs)"
    assert note in capsys.readouterr().out
    assert note in (tmp_path / "summary.md").read_text()


def test_a_preset_change_is_named_with_the_version_that_wrote_the_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(rl, "__version__", "0.0.9")
    exp = experiment(variants={"PS": rl.Variant("ps")}, runs=1)
    rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
    monkeypatch.undo()
    changed_preset(monkeypatch, "ps", "FrozenLake-v1", beta=2.0)
    with pytest.raises(
        ConfigError,
        match=r"beta 1.0 -> 2.0 \(the preset for ps on FrozenLake-v1 "
        r"\(is_slippery=False\) changed; it was written by rlladder 0.0.9\)",
    ):
        rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
