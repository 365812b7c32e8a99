"""Bad input: every error names what was wrong and what would work."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import rlladder as rl
from rlladder.errors import check_int, check_range, unknown_name


@pytest.fixture(scope="module")
def lake():
    return gym.make("FrozenLake-v1", is_slippery=False)


def message_of(excinfo) -> str:
    return str(excinfo.value)


# ------------------------------------------------------------------------- the error classes
def test_errors_are_standard_exceptions_too():
    assert issubclass(rl.ConfigError, ValueError)
    assert issubclass(rl.UnknownNameError, ValueError)
    assert issubclass(rl.SpaceError, TypeError)
    assert issubclass(rl.DivergenceError, FloatingPointError)
    for cls in (rl.ConfigError, rl.UnknownNameError, rl.SpaceError, rl.DivergenceError):
        assert issubclass(cls, rl.RLLadderError)


def test_check_range():
    assert check_range("gamma", 0.9, 0, 1) == 0.9
    assert check_range("gamma", 1, 0, 1) == 1.0
    with pytest.raises(rl.ConfigError, match=r"Q: gamma must be in \[0, 1\], got 1.5"):
        check_range("gamma", 1.5, 0, 1, owner="Q")
    with pytest.raises(rl.ConfigError, match=r"eta must be in \(0, 1\], got 0"):
        check_range("eta", 0, 0, 1, low_inclusive=False)
    with pytest.raises(rl.ConfigError, match="must be in"):
        check_range("eta", math.nan, 0, 1)
    with pytest.raises(rl.ConfigError, match="eta must be a number, got 'fast'"):
        check_range("eta", "fast", 0, 1)


def test_check_int():
    assert check_int("episodes", 5) == 5
    assert check_int("episodes", 5.0) == 5
    for bad in (True, 2.5, "5", None):
        with pytest.raises(rl.ConfigError, match="episodes must be a whole number >= 1"):
            check_int("episodes", bad)
    with pytest.raises(rl.ConfigError, match="runs must be >= 2, got 1"):
        check_int("runs", 1, 2)


def test_unknown_name_lists_the_known_ones_sorted():
    error = unknown_name("loss", "l3", ["mse", "huber"])
    assert isinstance(error, rl.UnknownNameError)
    assert str(error) == "unknown loss 'l3'; known losses: huber, mse"
    assert "known policies: linear, softmax" in str(
        unknown_name("policy", "x", ["softmax", "linear"])
    )
    assert "known DQN hyperparameters: a" in str(unknown_name("DQN hyperparameter", "x", ["a"]))


# ------------------------------------------------------------------------- the brief's list
def test_tabular_agent_on_cartpole_without_binning():
    cartpole = gym.make("CartPole-v1")
    for name in ("q-learning", "ps"):
        with pytest.raises(rl.SpaceError) as info:
            rl.make_agent(name, cartpole)
        message = message_of(info)
        assert "tabular and needs a Discrete observation space" in message
        assert "Box" in message  # the space it got
        assert "bins=" in message and "bounds=" in message  # what would work
        assert "'dqn'" in message  # ... or another agent


@pytest.mark.parametrize(
    ("hp", "fragment"),
    [
        ({"eta": 0.0}, r"QLearning: eta must be in (0.0, 1.0], got 0.0"),
        ({"eta": 1.5}, r"QLearning: eta must be in (0.0, 1.0], got 1.5"),
        ({"gamma": -0.1}, r"QLearning: gamma must be in [0.0, 1.0], got -0.1"),
        ({"gamma": 1.01}, r"QLearning: gamma must be in [0.0, 1.0], got 1.01"),
        ({"epsilon": 1.2}, r"QLearning: epsilon must be in [0.0, 1.0], got 1.2"),
        ({"epsilon": -0.5}, r"QLearning: epsilon must be in [0.0, 1.0], got -0.5"),
        (
            {"epsilon": {"kind": "linear", "start": 1.0, "end": -0.1, "duration": 10}},
            r"QLearning: epsilon must be in [0.0, 1.0], got -0.1",
        ),
        (
            {"eta": {"kind": "linear", "start": 0.5, "end": 0.0, "duration": 10}},
            "QLearning: eta must stay > 0",
        ),
        ({"epsilon": "high"}, "epsilon must be a number, a Schedule or a dict"),
    ],
)
def test_q_learning_hyperparameters_out_of_range(lake, hp, fragment):
    with pytest.raises(rl.ConfigError) as info:
        rl.make_agent("q-learning", lake, **hp)
    assert fragment in message_of(info)


@pytest.mark.parametrize(
    ("hp", "fragment"),
    [
        ({"eta": 0.0}, r"ProjectiveSimulation: eta must be in (0.0, 1.0], got 0.0"),
        ({"eta": 2.0}, r"ProjectiveSimulation: eta must be in (0.0, 1.0], got 2.0"),
        ({"gamma": 1.5}, r"ProjectiveSimulation: gamma must be in [0.0, 1.0], got 1.5"),
        ({"beta": 0.0}, r"ProjectiveSimulation: beta must be in (0.0, inf], got 0.0"),
    ],
)
def test_ps_hyperparameters_out_of_range(lake, hp, fragment):
    with pytest.raises(rl.ConfigError) as info:
        rl.make_agent("ps", lake, **hp)
    assert fragment in message_of(info)


@pytest.mark.parametrize(
    ("name", "hp", "fragment"),
    [
        (
            "q-learning",
            {"exploration": "boltzmann"},
            "known explorations: epsilon-greedy, noisy-argmax",
        ),
        ("q-learning", {"target": "double"}, "known targets: expected-sarsa, q-learning, sarsa"),
        ("ps", {"policy": "greedy"}, "known policies: linear, softmax"),
    ],
)
def test_unknown_switch_values_list_the_known_ones(lake, name, hp, fragment):
    with pytest.raises(rl.UnknownNameError) as info:
        rl.make_agent(name, lake, **hp)
    assert fragment in message_of(info)


def test_unknown_agent_name(lake):
    with pytest.raises(rl.UnknownNameError) as info:
        rl.make_agent("dqnn", lake)
    message = message_of(info)
    assert "unknown agent 'dqnn'" in message
    assert "q-learning" in message and "ps" in message


@pytest.mark.parametrize("budget", [{}, {"episodes": 10, "steps": 100}])
def test_train_needs_exactly_one_of_episodes_and_steps(lake, budget):
    agent = rl.make_agent("q-learning", lake)
    with pytest.raises(rl.ConfigError) as info:
        rl.train(agent, lake, **budget)
    message = message_of(info)
    assert "train() needs exactly one of episodes= or steps=" in message
    assert "e.g. episodes=500 or steps=50_000" in message


def test_agents_need_gymnasium_spaces():
    with pytest.raises(TypeError, match="needs gymnasium spaces.*rl.make_agent"):
        rl.QLearning(16, 4)


def test_a_misspelt_name_gets_the_closest_known_one():
    env = gym.make("CartPole-v1")
    with pytest.raises(rl.UnknownNameError, match=r"'hubr_delta' \(did you mean 'huber_delta'\?\)"):
        rl.make_agent("dqn", env, hubr_delta=5)
    with pytest.raises(rl.UnknownNameError, match=r"did you mean 'double-dqn'\?"):
        rl.make_agent("doubel-dqn", env)
    with pytest.raises(rl.ConfigError, match=r"'etta' \(did you mean 'eta'\?\)"):
        rl.make_agent("q-learning", gym.make("FrozenLake-v1"), etta=0.1)
