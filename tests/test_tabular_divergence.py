"""A NaN or infinite reward stops a tabular agent with DivergenceError before it enters the table."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import rlladder as rl


class BadRewardAt(gym.Wrapper):
    """Replaces the reward of env step ``at`` (counted from 1 over the env's life) by ``value``."""

    def __init__(self, env: gym.Env, at: int, value: float = math.nan) -> None:
        super().__init__(env)
        self.at, self.value, self.steps = at, value, 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        return obs, self.value if self.steps == self.at else reward, terminated, truncated, info


def lake(at: int, value: float = math.nan) -> gym.Env:
    return BadRewardAt(
        gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=20), at, value
    )


AGENTS = {
    "q-learning": ("QLearning", "TD target", "q"),
    "sarsa": ("QLearning", "TD target", "q"),
    "expected-sarsa": ("QLearning", "TD target", "q"),
    "ps": ("ProjectiveSimulation", "reward", "h_matrix"),
}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", AGENTS)
def test_a_bad_reward_stops_the_agent_naming_where(name, value):
    env = lake(at=57, value=value)
    agent = rl.make_agent(name, env, seed=0)
    kind, what, table = AGENTS[name]
    before = []

    def keep_table(*_: object) -> None:
        before.append(getattr(agent, table).copy())

    original_learn = agent.learn

    def learn(transition):
        keep_table()
        return original_learn(transition)

    agent.learn = learn
    with pytest.raises(rl.DivergenceError) as info:
        rl.train(agent, env, episodes=200, seed=0)
    message = str(info.value)
    assert message.startswith(f"{kind}: the {what} became ")
    assert "at env step 57 (episode " in message
    assert f"the reward was {value}: check the environment's reward" in message
    assert "wrapper" in message and "\n" not in message
    assert "in state " in message and "after action " in message
    # the table is as it was before the bad step: no NaN or infinity went in
    assert np.isfinite(getattr(agent, table)).all()
    np.testing.assert_array_equal(getattr(agent, table), before[-1])


def test_the_message_names_the_state_and_action_of_the_bad_step():
    agent = rl.QLearning(gym.spaces.Discrete(4), gym.spaces.Discrete(2), seed=0)
    agent.begin_episode()
    agent.learn(rl.Transition(0, 1, 0.0, 1, False, False))
    with pytest.raises(rl.DivergenceError) as info:
        agent.learn(rl.Transition(1, 0, math.nan, 2, False, False))
    assert str(info.value) == (
        "QLearning: the TD target became nan at env step 2 (episode 1), in state 1 after action 0; "
        "the reward was nan: check the environment's reward, and any wrapper that changes it. "
        "The table was left as it was before this step"
    )


def test_a_binned_observation_is_shown_beside_its_state():
    box = gym.spaces.Box(-1.0, 1.0, shape=(2,))
    agent = rl.ProjectiveSimulation(box, gym.spaces.Discrete(2), seed=0, bins=2)
    with pytest.raises(rl.DivergenceError, match=r"in state 3 \(observation \[0.5, 0.5\]\) after"):
        agent.learn(rl.Transition(np.array([0.5, 0.5]), 1, math.nan, np.zeros(2), False, False))


def test_a_non_finite_value_already_in_the_table_is_caught_too():
    agent = rl.QLearning(gym.spaces.Discrete(3), gym.spaces.Discrete(2), seed=0)
    agent.q[2] = math.nan  # e.g. put there by hand or by an old state_dict
    with pytest.raises(rl.DivergenceError, match="the reward was 1.0 and the table already held"):
        agent.learn(rl.Transition(0, 1, 1.0, 2, False, False))


def test_initial_value_must_be_finite():
    with pytest.raises(rl.ConfigError, match="initial_value must be finite"):
        rl.QLearning(gym.spaces.Discrete(3), gym.spaces.Discrete(2), initial_value=math.inf)


def make_bad_lake(**kwargs) -> gym.Env:
    return lake(at=30)


def test_the_error_reaches_an_experiment_from_a_worker_process():
    exp = rl.Experiment(
        env=make_bad_lake, variants={"Q": rl.Variant("q-learning")}, runs=2, episodes=50
    )
    with pytest.raises(
        rl.DivergenceError, match=r"^QLearning: the TD target became nan at env step 30 "
    ):
        rl.run_experiment(exp, backend="process", workers=2, progress=False)
