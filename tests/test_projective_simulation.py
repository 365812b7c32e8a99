"""Projective Simulation: the glow and h updates by hand, and equivalence with the notebook's agent."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlladder as rl
from rlladder.tabular.projective_simulation import glow_update, h_update, hopping_probabilities


def step(s, a, r, s1, terminated=False, truncated=False) -> rl.Transition:
    return rl.Transition(s, a, r, s1, terminated, truncated)


# ------------------------------------------------------------------------- pure functions
def test_glow_update_damps_everything_then_lights_the_used_edge():
    glow = np.array([[0.0, 1.0], [0.5, 0.0]])
    glow_update(glow, 1, 1, eta=0.5)
    np.testing.assert_allclose(glow, [[0.0, 0.5], [0.25, 1.0]])


def test_h_update_damps_towards_one_and_rewards_glowing_edges():
    h = np.array([[1.0, 3.0], [2.0, 1.0]])
    glow = np.array([[0.0, 0.5], [1.0, 0.0]])
    h_update(h, glow, reward=2.0, gamma=0.1)
    # h - 0.1 (h - 1) + 2 g
    np.testing.assert_allclose(h, [[1.0, 2.8 + 1.0], [1.9 + 2.0, 1.0]])


def test_hopping_probabilities_linear_and_softmax():
    h = np.array([1.0, 3.0])
    np.testing.assert_allclose(hopping_probabilities(h), [0.25, 0.75])
    e = np.exp([0.0, 2.0 * 2.0])
    np.testing.assert_allclose(hopping_probabilities(h, "softmax", beta=2.0), e / e.sum())


# ------------------------------------------------------------------------- the agent, by hand
def test_glow_and_h_matrix_by_hand():
    agent = rl.ProjectiveSimulation(spaces.Discrete(2), spaces.Discrete(2), gamma=0.1, eta=0.5)
    np.testing.assert_array_equal(agent.h_matrix, np.ones((2, 2)))
    agent.begin_episode()
    agent.learn(step(0, 1, 0.0, 1))
    np.testing.assert_allclose(agent.glow_matrix, [[0, 1], [0, 0]])
    np.testing.assert_allclose(agent.h_matrix, np.ones((2, 2)))  # damping towards 1 keeps 1 at 1
    agent.learn(step(1, 0, 1.0, 0))
    np.testing.assert_allclose(agent.glow_matrix, [[0, 0.5], [1, 0]])
    np.testing.assert_allclose(agent.h_matrix, [[1, 1.5], [2, 1]])
    agent.learn(step(0, 0, 0.0, 1))
    np.testing.assert_allclose(agent.glow_matrix, [[1, 0.25], [0.5, 0]])
    np.testing.assert_allclose(agent.h_matrix, [[1, 1.45], [1.9, 1]])
    agent.begin_episode()  # a new episode starts with no glow, and keeps its h-values
    np.testing.assert_array_equal(agent.glow_matrix, np.zeros((2, 2)))
    np.testing.assert_allclose(agent.h_matrix, [[1, 1.45], [1.9, 1]])


def test_act_samples_the_hopping_probabilities():
    agent = rl.ProjectiveSimulation(spaces.Discrete(1), spaces.Discrete(3), seed=0)
    agent.h_matrix[0] = [1.0, 2.0, 5.0]
    counts = np.bincount([agent.act(0) for _ in range(8000)], minlength=3) / 8000
    np.testing.assert_allclose(counts, [0.125, 0.25, 0.625], atol=0.02)
    np.testing.assert_allclose(agent.probabilities(0), [0.125, 0.25, 0.625])


def test_softmax_policy_samples_the_softmax():
    agent = rl.ProjectiveSimulation(
        spaces.Discrete(1), spaces.Discrete(2), seed=0, policy="softmax", beta=0.5
    )
    agent.h_matrix[0] = [1.0, 1.0 + 2 * np.log(3.0)]  # softmax(0.5 h) = [1/4, 3/4]
    counts = np.bincount([agent.act(0) for _ in range(8000)], minlength=2) / 8000
    np.testing.assert_allclose(counts, [0.25, 0.75], atol=0.02)


def test_greedy_act_has_no_side_effects():
    agent = rl.ProjectiveSimulation(spaces.Discrete(1), spaces.Discrete(3), seed=0)
    agent.h_matrix[0] = [1.0, 4.0, 2.0]
    state = agent.rng.bit_generator.state
    assert {agent.act(0, explore=False) for _ in range(10)} == {1}
    assert agent.rng.bit_generator.state == state


def test_matrices_are_public_arrays():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("ps", env)
    assert isinstance(agent.h_matrix, np.ndarray) and agent.h_matrix.shape == (16, 4)
    assert isinstance(agent.glow_matrix, np.ndarray) and agent.glow_matrix.shape == (16, 4)
    np.testing.assert_array_equal(agent.q_values(0), agent.h_matrix[0])


# ------------------------------------------------------------------------- equivalence
class NotebookPS:
    """The course notebook's agent: ``deliberate`` samples AND glows, ``learn(reward)`` updates h.

    Written here as the notebook structures it, sampling with the same inverse-CDF method and the
    same random stream as rlladder's agent, so any difference can only come from the act()/learn()
    split.
    """

    def __init__(self, gamma, eta, num_states, num_actions, rng):
        self.gamma, self.eta, self.rng = gamma, eta, rng
        self.hmatrix = np.ones((num_states, num_actions))
        self.reset_gmatrix()

    def reset_gmatrix(self):
        self.gmatrix = np.zeros_like(self.hmatrix)

    def deliberate(self, state):
        probs = self.hmatrix[state, :] / np.sum(self.hmatrix[state, :])
        u = self.rng.random()
        action = min(int(np.searchsorted(np.cumsum(probs), u, side="right")), len(probs) - 1)
        self.gmatrix *= 1 - self.eta
        self.gmatrix[state, action] = 1
        return action

    def learn(self, reward):
        self.hmatrix = self.hmatrix - self.gamma * (self.hmatrix - 1) + self.gmatrix * reward


@pytest.mark.parametrize(
    ("is_slippery", "gamma", "eta"), [(False, 0.0, 0.04), (False, 1e-7, 0.006), (True, 0.01, 0.3)]
)
def test_act_learn_split_matches_the_notebooks_deliberate_then_learn(is_slippery, gamma, eta):
    env_lib = gym.make("FrozenLake-v1", is_slippery=is_slippery)
    env_ref = gym.make("FrozenLake-v1", is_slippery=is_slippery)
    lib = rl.ProjectiveSimulation(
        env_lib.observation_space, env_lib.action_space, seed=7, gamma=gamma, eta=eta
    )
    ref = NotebookPS(gamma, eta, 16, 4, np.random.default_rng(7))
    steps = rewards = 0
    for episode in range(300):
        s_lib, _ = env_lib.reset(seed=episode)
        s_ref, _ = env_ref.reset(seed=episode)
        lib.begin_episode()
        ref.reset_gmatrix()
        for _ in range(99):
            a_lib, a_ref = lib.act(s_lib), ref.deliberate(s_ref)
            assert a_lib == a_ref
            s1, r, terminated, truncated, _ = env_lib.step(a_lib)
            s1_ref, r_ref, *_ = env_ref.step(a_ref)
            lib.learn(rl.Transition(s_lib, a_lib, float(r), s1, terminated, truncated))
            ref.learn(r_ref)
            np.testing.assert_allclose(lib.h_matrix, ref.hmatrix, rtol=1e-12, atol=0)
            np.testing.assert_allclose(lib.glow_matrix, ref.gmatrix, rtol=1e-12, atol=0)
            s_lib, s_ref = s1, s1_ref
            steps += 1
            rewards += r
            if terminated or truncated:
                break
        lib.end_episode()
    assert rewards >= 3  # the comparison covered rewarded episodes, where h actually moves
    assert steps > 500


def test_the_loop_drives_ps_like_the_notebook_loop():
    """Through rl.train (hooks, transitions, glow reset) the h-matrix matches the notebook's."""
    env = gym.make("FrozenLake-v1", is_slippery=False)
    lib = rl.ProjectiveSimulation(env.observation_space, env.action_space, seed=3, eta=0.04)
    rl.train(lib, env, episodes=60, seed=11, max_episode_steps=99)

    ref = NotebookPS(0.0, 0.04, 16, 4, np.random.default_rng(3))
    env = gym.make("FrozenLake-v1", is_slippery=False)
    env.reset(seed=11)
    for _ in range(60):
        s, _ = env.reset()
        ref.reset_gmatrix()
        for _ in range(99):
            a = ref.deliberate(s)
            s, r, done, _, _ = env.step(a)
            ref.learn(r)
            if done:
                break
    assert ref.hmatrix.max() > 1  # something was learned
    np.testing.assert_allclose(lib.h_matrix, ref.hmatrix, rtol=1e-12, atol=0)
