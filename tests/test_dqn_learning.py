"""DQN learns: every rung on the five probes (to the chapter's tolerances), and CartPole.

Probe settings: a 16-unit hidden layer, uniformly random behaviour (epsilon = 1: Q-learning is
off-policy, so every action's value is still learned), and a learning rate decayed linearly to
almost zero so that Adam settles instead of jittering around the answer. 1000 env steps.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import rlladder as rl
from rlladder.envs import PROBE_EXPECTATIONS, expected_q_values

STEPS = 1_000
PROBE_SETTINGS = {
    "hidden_sizes": (16,),
    "batch_size": 32,
    "buffer_size": 500,
    "learning_starts": 32,
    "epsilon": 1.0,
    "learning_rate": {"kind": "linear", "start": 5e-3, "end": 1e-5, "duration": STEPS},
    "target_update_every": 50,
}
#: Without replay every update fits the single latest transition, so where Probe2/5 alternate
#: observations the last updates pull towards whichever came last: the final error depends on
#: that order (about 6e-5 measured on Probe5). 5e-3 leaves room for that and for other torch
#: builds, and is still 2x tighter than the smallest real mistake a probe catches (Q([0]) = 1
#: instead of gamma = 0.99 on Probe3, an undiscounted bootstrap).
VANILLA_TOLERANCE = 5e-3


def learned_error(name: str, probe: int, seed: int = 0) -> tuple[float, float]:
    env = gym.make(f"rlladder/Probe{probe}-v0")
    agent = rl.make_agent(name, env, seed=seed, **PROBE_SETTINGS)
    rl.train(agent, env, steps=STEPS, seed=seed)
    observations, tolerance = PROBE_EXPECTATIONS[probe]
    q = np.array([agent.q_values(np.array(o, dtype=np.float32)) for o in observations])
    return float(np.abs(q - expected_q_values(probe, agent.config.gamma)).max()), tolerance


@pytest.mark.parametrize("probe", [1, 2, 3, 4, 5])
def test_dqn_learns_every_probe(probe):
    error, tolerance = learned_error("dqn", probe)
    assert error <= tolerance


@pytest.mark.slow
@pytest.mark.parametrize("probe", [1, 2, 3, 4, 5])
@pytest.mark.parametrize(
    "name", ["dqn-replay", "dqn-target", "double-dqn", "dueling-dqn", "nstep-dqn"]
)
def test_every_replay_rung_learns_every_probe(name, probe):
    error, tolerance = learned_error(name, probe)
    assert error <= tolerance


@pytest.mark.slow
@pytest.mark.parametrize("probe", [1, 2, 3, 4, 5])
def test_vanilla_learns_every_probe(probe):
    error, _ = learned_error("dqn-vanilla", probe)
    assert error <= VANILLA_TOLERANCE


@pytest.mark.slow
def test_dqn_preset_solves_cartpole():
    """One seed of the CartPole preset reaches a 100-episode training average of 475 and plays
    greedily at 475 or more afterwards.

    Seed 1 reaches 475 at env step 85,309 and scores 500 greedily (measured with
    benchmarks/dqn_cartpole.py, which runs the full claim over 10 seeds); the test allows the
    whole 100k budget and the 475 bar.
    """
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=1)
    history = rl.train(agent, env, steps=100_000, seed=1)
    average = history["reward"].rolling(100).mean()
    assert (average >= 475).any(), f"best 100-episode average {average.max():.1f}"
    greedy = rl.evaluate(agent, gym.make("CartPole-v1"), episodes=100, seed=10_001)
    assert greedy["reward"].mean() >= 475
