"""Runs in progress write checkpoints; a stopped experiment goes on from them, number for number."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch

import rlladder as rl
from rlladder.deep.ensemble import train_ensemble
from rlladder.envs.env_state import env_state, set_env_state
from rlladder.errors import ConfigError, RunInterrupted
from rlladder.experiments import runner as runner_module
from rlladder.experiments.run_checkpoints import CheckpointWarning

# ----------------------------------------------------------------------------- the stop switch


class StopAfter(gym.Wrapper):
    """Asks the experiment to stop (writes its STOP file) once this env has taken ``after``
    steps, the first time only (``marker`` remembers it): Ctrl-C at a chosen moment."""

    def __init__(self, env: gym.Env, after: int, folder: str, marker: str) -> None:
        super().__init__(env)
        self.after, self.folder, self.marker, self.taken = after, folder, marker, 0

    def step(self, action):
        self.taken += 1
        if self.taken == self.after and self.folder and not Path(self.marker).exists():
            Path(self.marker).touch()
            Path(self.folder, "checkpoints").mkdir(parents=True, exist_ok=True)
            Path(self.folder, "checkpoints", "STOP").touch()
        return self.env.step(action)


def stopping_env(env_id: str, after: int = 0, folder: str = "", marker: str = "", **kwargs):
    return StopAfter(gym.make(env_id, **kwargs), after, folder, marker)


@pytest.fixture(autouse=True)
def poll_every_chance(monkeypatch):
    """Look for the stop file at every chance, so a stop lands where the switch puts it."""
    monkeypatch.setattr(runner_module, "POLL_S", 0.0)


def switch(env_id: str, after: int, folder: Path | str) -> dict:
    """``stopping_env``'s arguments: stop the experiment in ``folder`` after ``after`` steps
    (0, or no folder: never)."""
    marker = str(Path(folder) / "stopped.marker") if folder else ""
    return {"env_id": env_id, "after": after, "folder": str(folder), "marker": marker}


def tabular(after: int, folder: Path | str = "", **changes) -> rl.Experiment:
    base = dict(
        env=stopping_env,
        env_kwargs=switch("FrozenLake-v1", after, folder),
        variants={"Q": rl.Variant("q-learning"), "PS": rl.Variant("ps")},
        runs=2,
        episodes=120,
        max_episode_steps=40,
        eval_episodes=3,
        eval_every=50,
        seed=3,
    )
    base.update(changes)
    return rl.Experiment(**base)


DQN = dict(
    hidden_sizes=(16,),
    learning_starts=60,
    buffer_size=500,
    batch_size=16,
    target_update_every=50,
)


def deep(after: int, folder: Path | str = "", **changes) -> rl.Experiment:
    base = dict(
        env=stopping_env,
        env_kwargs=switch("CartPole-v1", after, folder),
        variants={"DQN": rl.Variant("dqn", **DQN), "double": rl.Variant("dqn", double=True, **DQN)},
        runs=3,
        steps=900,
        eval_episodes=2,
        eval_every=400,
        seed=7,
    )
    base.update(changes)
    return rl.Experiment(**base)


def run(exp, folder, **kwargs):
    return rl.run_experiment(
        exp, out=folder, progress=False, return_evaluations=True, **{"backend": "serial", **kwargs}
    )


def stop_then_resume(exp, folder: Path, **kwargs):
    """Run until the switch stops it, check the checkpoints, run again to the end."""
    with pytest.raises(KeyboardInterrupt):
        run(exp, folder, **kwargs)
    left = sorted((folder / "checkpoints").glob("*.ckpt.npz"))
    assert left, "the stop left no checkpoint"
    assert not (folder / "checkpoints" / "STOP").exists()
    results, evaluations = run(exp, folder, **kwargs)
    assert results.attrs["resumed"] and "resumed at" in results.attrs["resumed"][0]
    assert not list((folder / "checkpoints").glob("*.ckpt.npz"))  # removed when finished
    return results, evaluations, left


def assert_same(got, want):
    pd.testing.assert_frame_equal(got[0], want[0])
    pd.testing.assert_frame_equal(got[1], want[1])


# ------------------------------------------------------------------------------- tabular, solo


@pytest.fixture(scope="module")
def tabular_reference():
    return rl.run_experiment(tabular(0), backend="serial", progress=False, return_evaluations=True)


@pytest.mark.parametrize("after", [30, 900])
def test_tabular_runs_stopped_mid_run_end_as_uninterrupted_ones(tmp_path, tabular_reference, after):
    got = stop_then_resume(tabular(after, tmp_path), tmp_path)
    assert_same(got[:2], tabular_reference)


def test_periodic_checkpoints_change_no_number(tmp_path, tabular_reference):
    exp = tabular(0, tmp_path)
    got = run(exp, tmp_path, checkpoint_every=1e-6)  # a checkpoint at every episode end
    assert_same(got, tabular_reference)
    assert not list((tmp_path / "checkpoints").glob("*.ckpt.npz"))


def test_a_damaged_checkpoint_is_set_aside_and_its_run_starts_over(tmp_path, tabular_reference):
    exp = tabular(30, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(exp, tmp_path)
    saved = sorted((tmp_path / "checkpoints").glob("*.ckpt.npz"))
    saved[0].write_bytes(saved[0].read_bytes()[:100])
    with pytest.warns(CheckpointWarning, match="the run starts over"):
        got = run(exp, tmp_path)
    assert_same(got, tabular_reference)
    assert (saved[0].parent / (saved[0].name + ".damaged")).exists()


def test_a_checkpoint_of_other_code_is_refused(tmp_path, monkeypatch):
    module = tmp_path / "code" / "my_td_agent.py"
    module.parent.mkdir()
    module.write_text(
        "import rlladder as rl\n\nclass Mine(rl.QLearning):\n    pass\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(module.parent))
    folder = tmp_path / "out"
    exp = tabular(30, folder, variants={"mine": rl.Variant("my_td_agent:Mine")})
    with pytest.raises(KeyboardInterrupt):
        run(exp, folder)
    module.write_text(
        "import rlladder as rl\n\nclass Mine(rl.QLearning):\n    x = 1\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"checkpoints of other code: .*Mine") as error:
        run(exp, folder)
    assert "\n" not in str(error.value)


# -------------------------------------------------------------------------- DQN: groups, solo


@pytest.fixture(scope="module")
def deep_reference():
    return rl.run_experiment(deep(0), backend="serial", progress=False, return_evaluations=True)


@pytest.mark.parametrize("after", [40, 700])
@pytest.mark.parametrize("ensemble", [True, False])
def test_dqn_runs_stopped_mid_run_end_as_uninterrupted_ones(
    tmp_path, deep_reference, after, ensemble
):
    got = stop_then_resume(deep(after, tmp_path), tmp_path, ensemble=ensemble)
    assert_same(got[:2], deep_reference)


def test_a_group_whose_members_finished_at_other_steps_goes_on(tmp_path):
    """An ``episodes=`` budget: members finish at different steps; stopped after two of the
    three have finished, the finished ones go on (to their final evaluation) alone, the last
    one as a group of one, mid-episode."""
    from rlladder.experiments.run_checkpoints import read_checkpoint

    want = run(deep(0, steps=None, episodes=25), tmp_path / "whole")
    exp = deep(600, tmp_path, steps=None, episodes=25)
    with pytest.raises(KeyboardInterrupt):
        run(exp, tmp_path)
    positions = [read_checkpoint(p).position for p in (tmp_path / "checkpoints").glob("*.npz")]
    assert sorted(p.finished for p in positions) == [False, True, True]
    assert_same(run(exp, tmp_path), want)


def test_a_group_stopped_with_ensembles_goes_on_without_them(tmp_path, deep_reference):
    exp = deep(500, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        run(exp, tmp_path, ensemble=True)
    assert_same(run(exp, tmp_path, ensemble=False), deep_reference)


def test_dqn_on_the_process_backend(tmp_path, deep_reference):
    got = stop_then_resume(deep(300, tmp_path), tmp_path, backend="process", workers=2)
    assert_same(got[:2], deep_reference)


@pytest.mark.slow
@pytest.mark.parametrize("ensemble", [True, False])
def test_ray_backend(tmp_path, deep_reference, tabular_reference, ensemble):
    pytest.importorskip("ray")
    ray = {"backend": "ray", "workers": 2, "ensemble": ensemble}
    got = stop_then_resume(deep(300, tmp_path / "d"), tmp_path / "d", **ray)
    assert_same(got[:2], deep_reference)
    got = stop_then_resume(tabular(200, tmp_path / "t"), tmp_path / "t", **ray)
    assert_same(got[:2], tabular_reference)


@pytest.mark.slow
def test_tabular_on_the_process_backend(tmp_path, tabular_reference):
    got = stop_then_resume(tabular(200, tmp_path), tmp_path, backend="process", workers=2)
    assert_same(got[:2], tabular_reference)


# ------------------------------------------------------------- the ensemble's own stop and go


class StopAt:
    """Checkpointing for train_ensemble: stop at step ``at``, keep the positions."""

    def __init__(self, at: int) -> None:
        self.at, self.t, self.positions = at, 0, None

    def check(self):
        self.t += 1
        return "stop" if self.t == self.at else None

    def save(self, positions):
        self.positions = positions


def test_train_ensemble_goes_on_from_positions_as_if_never_stopped(tmp_path):
    def fresh():
        envs = [gym.make("CartPole-v1") for _ in range(2)]
        agents = [rl.make_agent("dqn", e, seed=s, **DQN) for s, e in enumerate(envs)]
        return agents, envs

    agents, envs = fresh()
    want = train_ensemble(agents, envs, seeds=[10, 11], steps=600)
    stopped_agents, stopped_envs = fresh()
    stop = StopAt(250)
    with pytest.raises(RunInterrupted):
        train_ensemble(stopped_agents, stopped_envs, seeds=[10, 11], steps=600, checkpoint=stop)
    assert all(p.steps_done == 250 and p.episode is not None for p in stop.positions)
    resumed_agents, resumed_envs = [], []
    for k, (agent, env) in enumerate(zip(stopped_agents, stopped_envs, strict=True)):
        agent.save(tmp_path / f"{k}.pt")
        meta, arrays = env_state(env)
        fresh_env = gym.make("CartPole-v1")
        set_env_state(fresh_env, meta, arrays)
        resumed_agents.append(rl.DQN.load(tmp_path / f"{k}.pt"))
        resumed_envs.append(fresh_env)
    got = train_ensemble(
        resumed_agents, resumed_envs, seeds=[None, None], steps=600, start=stop.positions
    )
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w)
    for a, b in zip(resumed_agents, agents, strict=True):
        for (name, x), (_, y) in zip(
            a.q_net.state_dict().items(), b.q_net.state_dict().items(), strict=True
        ):
            assert torch.equal(x, y), name


def test_train_goes_on_from_a_history(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent("q-learning", env, seed=1)
    want = rl.train(agent, env, episodes=200, seed=4)
    env2 = gym.make("FrozenLake-v1")
    first = rl.make_agent("q-learning", env2, seed=1)
    head = rl.train(first, env2, episodes=80, seed=4)
    first.save(tmp_path / "q.npz")
    meta, arrays = env_state(env2)
    env3 = gym.make("FrozenLake-v1")
    set_env_state(env3, meta, arrays)
    again = rl.QLearning.load(tmp_path / "q.npz")
    got = rl.train(again, env3, episodes=200, history=head)
    pd.testing.assert_frame_equal(got, want)
    np.testing.assert_array_equal(again.q, agent.q)


def test_variants_that_cannot_be_checkpointed_are_said_once(tmp_path):
    from misbehaving_agents import Constant  # noqa: F401 - a plain agent that can be saved

    class Unsavable(rl.QLearning):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.handle = object()

        def save(self, path):
            raise rl.errors.CheckpointError("Unsavable.save cannot save attribute 'handle'")

    exp = tabular(
        0, tmp_path, variants={"u": rl.Variant(Unsavable)}, eval_episodes=None, eval_every=None
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run(exp, tmp_path)
    said = [w for w in caught if issubclass(w.category, CheckpointWarning)]
    assert len(said) == 1 and "'handle'" in str(said[0].message)


def test_checkpoint_every_is_checked(tmp_path):
    with pytest.raises(ConfigError, match="checkpoint_every takes minutes"):
        run(tabular(0, tmp_path), tmp_path, checkpoint_every=0)


# ---------------------------------------------------------------------------- the command line

CLI_TOML = """
name = "stop-and-go"
env = "CartPole-v1"
runs = 2
steps = 12000
seed = 11

[variants.dqn]
agent = "dqn"
hidden_sizes = [32]
learning_starts = 200
"""


@pytest.mark.slow
def test_ctrl_c_on_the_command_line_checkpoints_and_the_same_command_goes_on(tmp_path):
    """A real Ctrl-C (SIGINT) to ``rlladder run``: the runs write checkpoints, the message says
    so; the same command goes on, says where each run resumed, and ends equal to a run never
    interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    (tmp_path / "exp.toml").write_text(CLI_TOML, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    command = [sys.executable, "-m", "rlladder", "run", "exp.toml", "--backend", "serial"]
    common = ["--no-plot", "--quiet"]
    child = subprocess.Popen(
        [*command, "--out", "stopped", *common],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "stopped" / "spec.json").exists():
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(3)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "checkpointed" in err and "go on where they stopped" in err
    again = subprocess.run(
        [*command, "--out", "stopped", *common],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "resumed at env step" in again.stdout
    subprocess.run(
        [*command, "--out", "whole", *common],
        cwd=tmp_path,
        env=env,
        check=True,
        capture_output=True,
    )
    pd.testing.assert_frame_equal(
        rl.load_results(tmp_path / "stopped"), rl.load_results(tmp_path / "whole")
    )


def test_a_resumed_run_logs_to_tensorboard_what_an_uninterrupted_one_logs(tmp_path):
    """TensorBoard keeps the points before the checkpoint and replaces those after it: the
    stopped-and-resumed experiment's scalars equal the uninterrupted one's, point for point."""
    pytest.importorskip("tensorboard")
    from tracker_readers import tensorboard_scalars

    def logged(folder):
        return {
            (run.parent.name, run.name): {
                tag: points
                for tag, points in tensorboard_scalars(run).items()
                if tag != "train/steps_per_second"  # wall time
            }
            for run in sorted(folder.glob("*/run*"))
        }

    run(deep(0, steps=700), tmp_path / "whole", log=f"tensorboard:{tmp_path / 'tb-whole'}")
    exp = deep(450, tmp_path / "stopped", steps=700)
    log = f"tensorboard:{tmp_path / 'tb-stopped'}"
    with pytest.raises(KeyboardInterrupt):
        run(exp, tmp_path / "stopped", log=log)
    run(exp, tmp_path / "stopped", log=log)
    want = logged(tmp_path / "tb-whole")
    assert want and logged(tmp_path / "tb-stopped") == want
