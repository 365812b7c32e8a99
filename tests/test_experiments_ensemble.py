"""Experiments train each DQN variant's runs as ensembles, and no number changes for it.

The reference is always the plain path: ``ensemble=False`` on the serial backend, one
``rl.train`` per run. Against it, with ensembles on: the serial, process and ray backends, a
mixed experiment (tabular, own and DQN agents), episode and step budgets, periodic greedy
evaluations, resume into a folder, and the progress bar's totals.
"""

from __future__ import annotations

import pandas as pd
import pytest
from own_agents import RunningMeanAgent

import rlladder as rl
from rlladder.cli import main
from rlladder.errors import DivergenceError
from rlladder.experiments.planning import CostModel
from rlladder.experiments.progress import ExperimentProgress
from rlladder.experiments.runner import GroupTask, RunTask, plan_tasks, run_group, run_one
from rlladder.experiments.show import experiment_toml

#: a small, quick DQN; the preset's other values
SMALL = {
    "hidden_sizes": [16],
    "batch_size": 8,
    "buffer_size": 400,
    "learning_starts": 100,
    "target_update_every": 50,
    "train_every": 2,
}

#: step budget, two grouped DQN variants, greedy evaluations every 400 steps and at the end
CARTPOLE = rl.Experiment(
    name="ensemble-cartpole",
    env="CartPole-v1",
    variants={
        "DQN": rl.Variant("dqn", **SMALL),
        "+ double, dueling": rl.Variant("dqn", double=True, dueling=True, **SMALL),
    },
    runs=3,
    steps=1_200,
    eval_episodes=2,
    eval_every=400,
    seed=5,
)

#: episode budget on one-hot FrozenLake: a tabular, an own and a DQN variant side by side
LAKE = rl.Experiment(
    name="ensemble-lake",
    env="FrozenLake-v1",
    env_kwargs={"is_slippery": True},
    variants={
        "Q-learning": rl.Variant("q-learning"),
        "mine": rl.Variant(RunningMeanAgent, epsilon=0.3),
        "DQN": rl.Variant("dqn", **{**SMALL, "learning_starts": 30}),
    },
    runs=3,
    episodes=30,
    max_episode_steps=25,
    eval_episodes=2,
    eval_every=10,
    seed=3,
)


def run(exp, **options):
    return rl.run_experiment(exp, progress=False, return_evaluations=True, **options)


@pytest.fixture(scope="module")
def solo():
    return {exp.name: run(exp, backend="serial", ensemble=False) for exp in (CARTPOLE, LAKE)}


def assert_same(got, expected):
    for frame, reference in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(frame, reference)


@pytest.mark.parametrize("exp", [CARTPOLE, LAKE], ids=["steps", "episodes"])
def test_serial_ensembles_equal_solo_runs(solo, exp):
    results, evaluations = solo[exp.name]
    assert evaluations["eval"].nunique() > 1  # periodic evaluations, not only the final one
    assert_same(run(exp, backend="serial"), solo[exp.name])


@pytest.mark.parametrize("workers", [1, 2])
def test_process_ensembles_equal_solo_runs(solo, workers):
    for exp in (CARTPOLE, LAKE):
        assert_same(run(exp, backend="process", workers=workers), solo[exp.name])


def test_ray_ensembles_equal_solo_runs(solo):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        assert_same(run(CARTPOLE, backend="ray"), solo[CARTPOLE.name])
    finally:
        ray.shutdown()


#: what a run costs the planner here: its updates (env steps free), a group of m 0.5 + 0.5 m runs
UPDATES = CostModel(step_s=0.0, update_s=1.0, flop_s=0.0, group_base=0.5, group_per_member=0.5)


def test_groups_keep_the_workers_busy_and_leave_other_agents_alone():
    lake = LAKE.replace(runs=5)
    pending = [(label, r) for r in range(5) for label in lake.labels]
    tasks = plan_tasks(lake, pending, {"DQN"}, workers=2, costs=UPDATES)
    groups = [t for t in tasks if isinstance(t, GroupTask)]
    assert [g.runs for g in groups] == [(0, 1, 2), (3, 4)]  # one variant, two workers
    assert tasks[:2] == groups  # the longest tasks first
    seeds = lake.run_seeds()
    assert [g.seeds for g in groups] == [tuple(seeds[r] for r in g.runs) for g in groups]
    solo = [(t.label, t.run) for t in tasks if isinstance(t, RunTask)]
    assert solo == [(label, r) for label in ("Q-learning", "mine") for r in range(5)]
    # two grouped variants of one cost on two workers: one group each; a lone run stays solo
    two = plan_tasks(
        CARTPOLE,
        [(lb, r) for r in range(3) for lb in CARTPOLE.labels],
        set(CARTPOLE.labels),
        2,
        costs=UPDATES,
    )
    assert [(t.label, t.runs) for t in two] == [(lb, (0, 1, 2)) for lb in CARTPOLE.labels]
    lone = plan_tasks(CARTPOLE, [("DQN", 2)], {"DQN"}, workers=4)
    assert lone == [RunTask(CARTPOLE, 0, "DQN", 2, CARTPOLE.run_seeds()[2])]
    # no ensembles: a task per run, the DQN's (the dear ones) first, then variant by variant
    by_cost = [(label, r) for label in ("DQN", "Q-learning", "mine") for r in range(5)]
    assert plan_tasks(lake, pending, set(), workers=2, costs=UPDATES) == [
        RunTask(lake, lake.labels.index(lb), lb, r, seeds[r]) for lb, r in by_cost
    ]


def test_a_group_gives_each_run_what_run_one_gives_it():
    exp = CARTPOLE.pinned()
    seeds = exp.run_seeds()
    group = run_group(GroupTask(exp, 1, "+ double, dueling", (0, 2), (seeds[0], seeds[2])))
    for result, r in zip(group, (0, 2), strict=True):
        alone = run_one(RunTask(exp, 1, "+ double, dueling", r, seeds[r]))
        pd.testing.assert_frame_equal(result.history, alone.history)
        pd.testing.assert_frame_equal(result.evaluations, alone.evaluations)


def test_resume_runs_only_the_missing_runs_as_groups_with_the_same_numbers(solo, tmp_path):
    out = tmp_path / "results"
    run(CARTPOLE.replace(runs=1), backend="serial", out=out)  # a lone run: trained solo
    written = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.csv")}
    got = run(CARTPOLE, backend="process", workers=2, out=out)
    assert_same(got, solo[CARTPOLE.name])
    for name, mtime in written.items():  # finished runs were not run again
        assert (out / "runs" / name).stat().st_mtime_ns == mtime
    # the same numbers either way, so how runs were grouped is not part of the folder's identity:
    # resuming with ensembles off adds to the same folder
    more = run(CARTPOLE.replace(runs=4), backend="serial", out=out, ensemble=False)
    assert_same([f[f["run"] < 3].reset_index(drop=True) for f in more], solo[CARTPOLE.name])


def test_progress_counts_every_unit_of_every_run(monkeypatch):
    bars: list[ExperimentProgress] = []
    original = ExperimentProgress.close

    def close(self):
        bars.append(self)
        original(self)

    monkeypatch.setattr(ExperimentProgress, "close", close)
    for exp in (
        CARTPOLE.replace(eval_episodes=None, eval_every=None),
        LAKE.replace(eval_episodes=None, eval_every=None),
    ):
        rl.run_experiment(exp, backend="serial", progress=True)
        budget = exp.steps if exp.steps is not None else exp.episodes
        total = budget * exp.runs * len(exp.variants)
        assert bars[-1].total == total and bars[-1].n == total
        assert bars[-1].runs_done == exp.runs * len(exp.variants)


def test_a_diverging_group_keeps_the_groups_that_finished(tmp_path):
    exp = CARTPOLE.replace(
        variants={
            "DQN": CARTPOLE.variants["DQN"],
            "too fast": rl.Variant("dqn", **{**SMALL, "learning_rate": 1e30}),
        },
        eval_episodes=None,
        eval_every=None,
    )
    out = tmp_path / "results"
    with pytest.raises(DivergenceError, match=r"member \d \(agent seed"):
        rl.run_experiment(exp, backend="serial", out=out, progress=False)
    saved = sorted(p.name for p in (out / "runs").glob("*.csv"))
    assert len(saved) == 3 and all(name.startswith("00-dqn-") for name in saved)


def test_cli_ensemble_flags(tmp_path, monkeypatch, capsys):
    seen: list[bool] = []
    import rlladder.experiments.runner as runner

    original = runner.run_experiment

    def spy(*args, **kwargs):
        seen.append(kwargs["ensemble"])
        return original(*args, **kwargs)

    monkeypatch.setattr(runner, "run_experiment", spy)
    toml = tmp_path / "small.toml"
    toml.write_text(
        experiment_toml(LAKE.replace(runs=2, episodes=5, eval_episodes=None, eval_every=None))
    )
    for flags, expected in (([], True), (["--no-ensemble"], False), (["--ensemble"], True)):
        code = main(
            [
                "run",
                str(toml),
                "--backend",
                "serial",
                "--quiet",
                "--no-plot",
                "--out",
                str(tmp_path / "out"),
                "--overwrite",
                *flags,
            ]
        )
        assert code == 0 and seen[-1] is expected


def test_ensemble_takes_a_bool():
    with pytest.raises(TypeError, match=r"ensemble=\.\.\.\) takes True .* or False .*got 'yes'"):
        rl.run_experiment(LAKE, backend="serial", ensemble="yes", progress=False)


def test_an_episode_unit_learning_rate_trains_solo_with_the_same_numbers():
    """Members in lockstep share one learning rate, read at their env step; an episode-unit
    schedule would differ between them, so the runner trains such a variant's runs solo (and
    ``train_ensemble`` refuses them in one line)."""
    import gymnasium as gym

    from rlladder.deep.ensemble import train_ensemble
    from rlladder.errors import ConfigError

    lr = {"kind": "linear", "start": 1e-3, "end": 1e-5, "duration": 5, "unit": "episode"}
    small = {"hidden_sizes": [16], "batch_size": 8, "buffer_size": 200, "learning_starts": 20}
    exp = rl.Experiment(
        env="CartPole-v1",
        variants={"dqn": rl.Variant("dqn", learning_rate=lr, **small)},
        runs=2,
        steps=300,
        seed=1,
    )
    on = rl.run_experiment(exp, backend="serial", progress=False, ensemble=True)
    off = rl.run_experiment(exp, backend="serial", progress=False, ensemble=False)
    pd.testing.assert_frame_equal(on, off)
    envs = [gym.make("CartPole-v1") for _ in range(2)]
    agents = [
        rl.make_agent("dqn", e, seed=s, learning_rate=lr, **small) for s, e in enumerate(envs)
    ]
    with pytest.raises(ConfigError, match="counts episodes, which differ between members"):
        train_ensemble(agents, envs, seeds=[0, 1], steps=10)
