"""Learning quality of the tabular agents on FrozenLake (slow: run with ``pytest --slow``).

The protocol is the course notebook's: 30 runs x 500 episodes on the 4x4 map, at most 99 steps an
episode, and the mean reward of the last 50 episodes averaged over runs. Run ``r`` seeds both the
agent and the environment with ``r``, so every figure here is exactly repeatable.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlladder as rl

pytestmark = pytest.mark.slow


def final_reward(name: str, env_kwargs: dict, runs: int = 30, episodes: int = 500, **hp) -> float:
    """Mean over runs of the mean reward of the last 50 episodes."""
    env = gym.make("FrozenLake-v1", **env_kwargs)
    finals = []
    for run in range(runs):
        agent = rl.make_agent(name, env, seed=run, **hp)
        history = rl.train(agent, env, episodes=episodes, seed=run, max_episode_steps=99)
        finals.append(history["reward"].tail(50).mean())
    return float(np.mean(finals))


def greedy_success(name: str, seed: int, episodes: int = 2000, eval_episodes: int = 1000) -> float:
    """Slippery FrozenLake: train with the preset, then the greedy success rate over 1000 episodes."""
    env = gym.make("FrozenLake-v1", is_slippery=True)  # the env's own 100-step limit
    agent = rl.make_agent(name, env, seed=seed)
    rl.train(agent, env, episodes=episodes, seed=seed)
    return float(
        rl.evaluate(agent, env, episodes=eval_episodes, seed=10_000 + seed)["reward"].mean()
    )


def test_q_learning_solves_frozenlake():
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env)
    assert (agent.eta, agent.gamma, agent.exploration) == (0.8, 0.9, "noisy-argmax")
    assert final_reward("q-learning", {"is_slippery": False}) >= 0.98  # measured: 1.000


def test_projective_simulation_preset_solves_frozenlake():
    assert final_reward("ps", {"is_slippery": False}) >= 0.95  # measured: 1.000


def test_projective_simulation_with_the_notebooks_settings_learns_frozenlake():
    # h / sum(h) keeps exploring, so the notebook's own settings end a little lower (measured 0.955)
    score = final_reward("ps", {"is_slippery": False}, policy="linear", gamma=0.0, eta=0.04)
    assert score >= 0.93


def test_q_learning_preset_reaches_the_optimum_on_slippery_frozenlake():
    scores = np.array([greedy_success("q-learning", seed) for seed in range(10)])
    # the optimum is about 0.74; measured: mean 0.743, all 10 seeds >= 0.72
    assert (scores >= 0.70).sum() >= 9, scores


def test_projective_simulation_on_slippery_frozenlake_beats_random_but_not_q_learning():
    """PS is known to struggle here (docs/studies/ps-slippery.md); this pins its figure."""
    scores = np.array([greedy_success("ps", seed) for seed in range(5)])
    # measured: mean 0.183 (seeds 0-4); a uniformly random policy: 0.013; Q-learning's preset: 0.743
    assert scores.mean() > 0.08, scores
    assert scores.mean() < 0.70  # if PS ever gets here, update the study
