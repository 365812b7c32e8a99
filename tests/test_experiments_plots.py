"""Figures: learning curves from results, and pictures of what a FrozenLake agent learned."""

from __future__ import annotations

import gymnasium as gym
import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import rlladder as rl
from rlladder.errors import ConfigError, SpaceError
from rlladder.plots.grid import ARROWS

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def results():
    exp = rl.Experiment(
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"Q-learning": "q-learning", "PS": "ps"},
        runs=3,
        episodes=60,
        max_episode_steps=50,
        seed=0,
    )
    return rl.run_experiment(exp, backend="serial", progress=False)


@pytest.fixture(scope="module")
def trained():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env, seed=0)
    rl.train(agent, env, episodes=300, seed=0, max_episode_steps=99)
    return agent, env


def _band_count(ax) -> int:
    return sum(isinstance(c, PolyCollection) for c in ax.collections)


def test_learning_curves_reward_and_steps_one_line_and_band_per_variant(results):
    fig = rl.plots.learning_curves(results, window=10, threshold=1.0, title="lake")
    assert isinstance(fig, Figure)
    reward, steps = fig.axes
    assert reward.get_ylabel() == "reward per episode" and steps.get_ylabel() == "steps per episode"
    assert [line.get_label() for line in steps.get_lines()] == ["Q-learning", "PS"]
    assert _band_count(reward) == 2 and _band_count(steps) == 2
    # the reward panel: two variants and the dashed threshold
    assert [line.get_label() for line in reward.get_lines()] == ["Q-learning", "PS", "threshold 1"]
    curve = rl.stats.curves(results, "reward", window=10)["Q-learning"]
    np.testing.assert_allclose(reward.get_lines()[0].get_ydata(), curve["mean"])
    np.testing.assert_allclose(reward.get_lines()[0].get_xdata(), np.arange(9, 60))
    assert fig.get_suptitle() == "lake"
    matplotlib.pyplot.close(fig)


def test_legend_says_how_many_runs_and_whether_there_is_a_band(results):
    fig = rl.plots.learning_curves(results, window=10, confidence=0.9)
    assert fig.axes[0].get_legend().get_title().get_text() == "mean of 3 runs, 90% CI"
    one = rl.plots.learning_curves(results[results["run"] == 0], window=10)
    assert one.axes[0].get_legend().get_title().get_text() == "one run (no confidence band)"
    matplotlib.pyplot.close(fig)
    matplotlib.pyplot.close(one)


def test_learning_curves_over_env_steps(results):
    fig = rl.plots.learning_curves(results, window=5, x="env_step", metrics=("reward",))
    (ax,) = fig.axes
    assert ax.get_xlabel() == "environment steps"
    x = ax.get_lines()[0].get_xdata()
    assert len(x) == 300 and np.all(np.diff(x) > 0)
    q = results[results["variant"] == "Q-learning"]
    assert x[-1] == q.groupby("run")["env_step"].max().min()  # where the shortest run ends
    matplotlib.pyplot.close(fig)


def test_learning_curves_bad_input(results):
    with pytest.raises(ConfigError, match="window=61 is larger than the 60 episodes"):
        rl.plots.learning_curves(results, window=61)
    with pytest.raises(ConfigError, match="x must be"):
        rl.plots.learning_curves(results, x="time")


def test_policy_map_draws_the_greedy_action_of_every_tile(trained):
    agent, env = trained
    fig = rl.plots.policy_map(agent, env)
    texts = [t.get_text() for t in fig.axes[0].texts]
    desc = env.unwrapped.desc.astype(str).ravel()
    expected = []
    for s, tile in enumerate(desc):
        if tile in "HG":
            expected.append("hole" if tile == "H" else "goal")
            continue
        q = agent.q_values(s)
        expected.append("\u00b7" if np.all(q == q[0]) else ARROWS[int(np.argmax(q))])
    assert texts == expected
    assert texts.count("hole") == 4 and texts.count("goal") == 1
    assert texts[0] in ARROWS[1:3]  # from the start the agent learned to go down or right
    matplotlib.pyplot.close(fig)


def test_value_map_and_h_matrix_map_show_the_table(trained):
    agent, env = trained
    table = np.stack([agent.q_values(s) for s in range(16)])
    fig = rl.plots.value_map(agent, env)
    image = fig.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(image, table.max(axis=1).reshape(4, 4))
    assert len(fig.axes[0].texts) == 16
    matplotlib.pyplot.close(fig)
    fig = rl.plots.h_matrix_map(agent, env)
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array(), table)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["left", "down", "right", "up"]
    matplotlib.pyplot.close(fig)


def test_h_matrix_map_of_projective_simulation():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("ps", env, seed=0)
    rl.train(agent, env, episodes=100, seed=0, max_episode_steps=99)
    fig = rl.plots.h_matrix_map(agent)
    assert fig.axes[0].get_title().startswith("h-matrix")
    h = np.stack([agent.q_values(s) for s in range(16)])
    np.testing.assert_allclose(fig.axes[0].get_images()[0].get_array(), h)
    matplotlib.pyplot.close(fig)


def test_grid_pictures_need_a_grid_map(trained):
    agent, _ = trained
    with pytest.raises(SpaceError, match="FrozenLake"):
        rl.plots.policy_map(agent, gym.make("CartPole-v1"))
