"""Diagnostics curves (rl.plots.diagnostics_curves) and the cartpole-forgetting suite's figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import rlladder as rl
from rlladder.cli import main
from rlladder.errors import ConfigError
from rlladder.experiments import suites
from rlladder.experiments.suites import get_suite, register_suite, suite_figure


def synthetic_results(runs: int = 3, episodes: int = 60) -> pd.DataFrame:
    """Two variants; 'forgets' climbs to 500 and collapses at episode 40, 'keeps' stays up.

    Diagnostics are NaN for the first 5 episodes (no gradient update yet), as DQN reports them.
    """
    rows = []
    for variant, collapse in (("forgets", 40), ("keeps", None)):
        for run in range(runs):
            step = 0
            for ep in range(episodes):
                reward = min(500.0, 20.0 * (ep + 1))
                if collapse is not None and ep >= collapse:
                    reward = 30.0
                step += int(reward)
                early = ep < 5
                rows.append(
                    {
                        "variant": variant,
                        "run": run,
                        "seed": run,
                        "episode": ep,
                        "env_step": step,
                        "reward": reward + run,
                        "steps": int(reward),
                        "q_mean": np.nan if early else 10.0 + ep,
                        "action_gap": np.nan if early else 1.0 / (ep + 1),
                        "loss": np.nan if early else 0.5,
                        "epsilon": np.nan if early else max(0.01, 1.0 - ep / 20),
                    }
                )
    return pd.DataFrame(rows)


def test_one_panel_per_column_one_line_per_variant():
    results = synthetic_results()
    columns = ("reward", "q_mean", "action_gap", "loss", "epsilon")
    fig = rl.plots.diagnostics_curves(results, columns=columns, window=5, threshold=500.0)
    try:
        assert len(fig.axes) == len(columns)
        for ax in fig.axes:
            labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
            assert [line.get_label() for line in labelled] == ["forgets", "keeps"]
        # the panels share the env-step axis and say what they show
        assert fig.axes[-1].get_xlabel() == "environment steps"
        assert fig.axes[1].get_ylabel() == "mean Q(s, a) of the batch"
        # threshold line only in the reward panel
        assert any(set(line.get_ydata()) == {500.0} for line in fig.axes[0].get_lines())
    finally:
        plt.close(fig)


def test_curves_show_the_collapse_and_skip_missing_diagnostics():
    results = synthetic_results()
    fig = rl.plots.diagnostics_curves(
        results, columns=("reward", "loss"), window=3, x="episode", points=60
    )
    try:
        reward_forgets, reward_keeps = fig.axes[0].get_lines()[:2]
        # mean over runs 0, 1, 2 adds 1 to the reward; the last point is after the collapse
        assert reward_forgets.get_ydata()[-1] == pytest.approx(31.0)
        assert reward_keeps.get_ydata()[-1] == pytest.approx(501.0)
        loss_line = fig.axes[1].get_lines()[0]
        # the early NaN episodes are skipped, not plotted as zero: the loss is 0.5 throughout
        assert np.allclose(loss_line.get_ydata(), 0.5)
        assert loss_line.get_xdata()[0] == pytest.approx(5.0)
    finally:
        plt.close(fig)


def test_missing_column_is_a_clear_error():
    results = synthetic_results().drop(columns=["loss"])
    with pytest.raises(ConfigError, match="'loss'"):
        rl.plots.diagnostics_curves(results)
    with pytest.raises(ConfigError, match="x must be"):
        rl.plots.diagnostics_curves(synthetic_results(), x="time")


def test_forgetting_suite_compares_constant_and_annealed_learning_rate():
    exp = get_suite("cartpole-forgetting")
    assert exp.env == "CartPole-v1"
    assert exp.steps >= 150_000
    hyper = {label: v.hyperparameters for label, v in exp.variants.items()}
    assert {v.agent for v in exp.variants.values()} == {"dqn"}
    assert sorted(h.get("learning_rate") for h in hyper.values() if h) == [1e-3]
    assert suite_figure("cartpole-forgetting") is not None
    assert suite_figure("frozenlake") is None


def tiny_lake() -> rl.Experiment:
    return rl.Experiment(
        name="test-suite-figure",
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"Q-learning": rl.Variant("q-learning")},
        runs=2,
        episodes=30,
        max_episode_steps=20,
    )


def reward_only(results):
    return rl.plots.diagnostics_curves(results, columns=("reward",), window=5, x="episode")


def test_cli_saves_a_suite_figure_named_after_its_function(tmp_path, monkeypatch):
    monkeypatch.setattr(suites, "_SUITES", dict(suites._SUITES))  # registered for this test only
    register_suite("test-suite-figure", tiny_lake, "test", figure=reward_only, overwrite=True)
    out = tmp_path / "tiny"
    assert (
        main(["run", "test-suite-figure", "--backend", "serial", "--quiet", "--out", str(out)]) == 0
    )
    assert (out / "reward_only.png").exists() and (out / "reward_only.svg").exists()
    with pytest.raises(TypeError, match="figure"):
        register_suite("test-suite-figure", tiny_lake, figure="not a function", overwrite=True)


@pytest.mark.slow
def test_cli_saves_the_forgetting_figure(tmp_path, capsys):
    out = tmp_path / "forgetting"
    args = ["cartpole-forgetting", "--runs", "1", "--steps", "1400", "--backend", "serial"]
    assert main(["run", *args, "--quiet", "--out", str(out)]) == 0
    figure = out / "forgetting_diagnostics.png"
    assert (out / "learning_curves.png").exists()
    assert figure.exists() and figure.stat().st_size > 1000
    figure.unlink()
    assert main(["plot", str(out)]) == 0  # redrawn from the saved results
    assert figure.exists()
    assert "forgetting_diagnostics.png" in capsys.readouterr().out
