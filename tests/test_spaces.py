"""Observation adapters: tabular state numbering, Box binning on request, and clear errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlladder as rl
from rlladder.spaces import discrete_actions, tabular_adapter, vector_adapter

CARTPOLE_BOUNDS = [(-2.4, 2.4), (-3.0, 3.0), (-0.21, 0.21), (-3.5, 3.5)]


def test_discrete_is_used_as_it_is_and_start_is_removed():
    assert tabular_adapter(spaces.Discrete(16)).n == 16
    shifted = tabular_adapter(spaces.Discrete(3, start=5))
    assert [shifted(5), shifted(7)] == [0, 2]


def test_tuple_of_discrete_is_numbered_row_major():
    adapter = tabular_adapter(
        spaces.Tuple((spaces.Discrete(32), spaces.Discrete(11), spaces.Discrete(2)))
    )
    assert adapter.n == 32 * 11 * 2
    assert adapter((0, 0, 1)) == 1
    assert adapter((1, 0, 0)) == 22
    assert adapter((31, 10, 1)) == adapter.n - 1


def test_multidiscrete():
    adapter = tabular_adapter(spaces.MultiDiscrete([3, 4]))
    assert adapter.n == 12
    assert adapter(np.array([2, 1])) == 9


def test_box_is_binned_per_dimension_on_request():
    box = spaces.Box(low=np.array([0.0, -1.0], np.float32), high=np.array([1.0, 1.0], np.float32))
    adapter = tabular_adapter(box, bins=(2, 4))
    assert adapter.n == 8
    assert adapter(np.array([0.1, -0.9])) == 0
    assert adapter(np.array([0.9, 0.9])) == 7
    assert adapter(np.array([0.9, -0.4])) == 4 + 1
    assert adapter(np.array([5.0, -5.0])) == 4  # outside the bounds: the end cells


def test_all_states_of_a_grid_are_distinct_and_in_range():
    adapter = tabular_adapter(spaces.Box(-1.0, 1.0, shape=(2,)), bins=3)
    centres = [-2 / 3, 0.0, 2 / 3]
    states = {adapter(np.array([x, y])) for x in centres for y in centres}
    assert states == set(range(9))


def test_cartpole_needs_bounds_for_its_unbounded_dimensions():
    env = gym.make("CartPole-v1")
    with pytest.raises(
        rl.ConfigError, match=r"dimension\(s\) \[1, 3\] are unbounded; pass bounds="
    ):
        tabular_adapter(env.observation_space, bins=6)
    adapter = tabular_adapter(env.observation_space, bins=(1, 1, 6, 6), bounds=CARTPOLE_BOUNDS)
    assert adapter.n == 36
    obs, _ = env.reset(seed=0)
    assert 0 <= adapter(obs) < 36


def test_tabular_agent_on_cartpole_without_bins_says_what_would_work():
    env = gym.make("CartPole-v1")
    with pytest.raises(rl.SpaceError) as info:
        rl.make_agent("q-learning", env)
    message = str(info.value)
    assert "QLearning is tabular and needs a Discrete observation space" in message
    assert "Box" in message and "bins=" in message and "'dqn'" in message


def test_tabular_agent_with_bins_learns_on_cartpole():
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("q-learning", env, seed=0, bins=(1, 1, 6, 6), bounds=CARTPOLE_BOUNDS)
    history = rl.train(agent, env, episodes=5, seed=0)
    assert len(history) == 5
    assert np.count_nonzero(agent.q) > 0


def test_bad_bins_and_bounds_are_clear_errors():
    box = spaces.Box(-1.0, 1.0, shape=(2,))
    with pytest.raises(rl.ConfigError, match="bins must be a whole number >= 1 or 2 of them"):
        tabular_adapter(box, bins=(2, 3, 4))
    with pytest.raises(rl.ConfigError, match="bins must be"):
        tabular_adapter(box, bins=0)
    with pytest.raises(
        rl.ConfigError, match=r"bounds must be 2 \(low, high\) pairs with low < high"
    ):
        tabular_adapter(box, bins=2, bounds=[(1, 0), (0, 1)])
    with pytest.raises(rl.ConfigError, match="already discrete"):
        tabular_adapter(spaces.Discrete(4), bins=3)


def test_unsupported_spaces_are_clear_errors():
    with pytest.raises(rl.SpaceError, match="handles Discrete, MultiDiscrete, Tuple of Discrete"):
        tabular_adapter(spaces.MultiBinary(3))
    with pytest.raises(rl.SpaceError, match="needs a Discrete action space.*DiscretizeAction"):
        discrete_actions(spaces.Box(-1.0, 1.0, shape=(1,)))
    with pytest.raises(rl.SpaceError, match="starting at 0"):
        discrete_actions(spaces.Discrete(2, start=1))


def test_vector_adapter_one_hot_and_flatten():
    one_hot = vector_adapter(spaces.Discrete(4))
    np.testing.assert_array_equal(one_hot(2), [0, 0, 1, 0])
    assert one_hot(2).dtype == np.float32
    flat = vector_adapter(spaces.Box(-1.0, 1.0, shape=(2, 2)))
    assert flat.dim == 4 and flat(np.zeros((2, 2))).shape == (4,)
