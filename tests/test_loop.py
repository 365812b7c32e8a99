"""The one training loop: episodes and step budgets, hooks, terminated vs truncated, diagnostics,
callbacks, seeding, and greedy evaluation that leaves the agent untouched."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from gymnasium import spaces

import rlladder as rl


class Corridor(gym.Env):
    """Cells 0..n-1 from a random start in {0, 1}; action 1 steps right, 0 stays.

    Reaching the last cell terminates with reward 1; every other step gives 0.
    """

    def __init__(self, n: int = 4) -> None:
        self.n = n
        self.observation_space = spaces.Discrete(n)
        self.action_space = spaces.Discrete(2)
        self.steps = 0  # env.step calls over the env's life

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.s = int(self.np_random.integers(2))
        return self.s, {}

    def step(self, action):
        self.steps += 1
        self.s = min(self.s + int(action), self.n - 1)
        terminated = self.s == self.n - 1
        return self.s, float(terminated), terminated, False, {}


class Recorder(rl.Agent):
    """Always plays ``action``; records every call; reports the step number in the episode."""

    def __init__(self, observation_space, action_space, *, seed=None, action: int = 1) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        self.action = action
        self.calls: list[str] = []
        self.transitions: list[rl.Transition] = []
        self.t = 0

    def act(self, obs, *, explore=True):
        self.calls.append("act" if explore else "greedy")
        return self.action

    def learn(self, transition):
        self.calls.append("learn")
        self.transitions.append(transition)
        self.t += 1
        diagnostics: dict[str, Any] = {"t": float(self.t)}
        if self.t % 2 == 0:
            diagnostics["even"] = 1.0
        return diagnostics

    def begin_episode(self):
        self.calls.append("begin")
        self.t = 0

    def end_episode(self):
        self.calls.append("end")


def recorder(env: gym.Env, action: int = 1) -> Recorder:
    return Recorder(env.observation_space, env.action_space, action=action)


# ------------------------------------------------------------------------- episodes and hooks
def test_hooks_wrap_every_training_episode():
    env = Corridor(3)
    agent = Recorder(env.observation_space, env.action_space, action=1)
    history = rl.train(agent, env, episodes=3, seed=0)
    expected = []
    for steps in history["steps"]:
        expected += ["begin"] + ["act", "learn"] * steps + ["end"]
    assert agent.calls == expected


def test_history_rows():
    env = Corridor(4)
    history = rl.train(recorder(env), env, episodes=3, seed=0)
    assert list(history.columns[:4]) == ["episode", "env_step", "reward", "steps"]
    assert history["episode"].tolist() == [0, 1, 2]
    assert (history["reward"] == 1.0).all()
    assert history["env_step"].tolist() == history["steps"].cumsum().tolist()


def test_terminated_is_passed_through():
    env = Corridor(3)
    agent = recorder(env, action=1)
    rl.train(agent, env, episodes=1, seed=1)  # starts at 0: two steps to the end
    assert [(t.terminated, t.truncated) for t in agent.transitions] == [
        (False, False),
        (True, False),
    ]
    assert agent.transitions[-1].done


def test_max_episode_steps_truncates_without_terminating():
    env = Corridor(3)
    agent = recorder(env, action=0)  # never moves: only the cut can end the episode
    history = rl.train(agent, env, episodes=2, seed=0, max_episode_steps=3)
    assert history["steps"].tolist() == [3, 3]
    flags = [(t.terminated, t.truncated) for t in agent.transitions]
    assert flags == [(False, False), (False, False), (False, True)] * 2


def test_an_env_time_limit_truncates_too():
    env = gym.wrappers.TimeLimit(Corridor(3), max_episode_steps=2)
    agent = recorder(env, action=0)
    rl.train(agent, env, episodes=1, seed=0)
    assert [(t.terminated, t.truncated) for t in agent.transitions] == [
        (False, False),
        (False, True),
    ]


def test_a_terminal_step_at_the_cut_is_terminated_not_truncated():
    env = Corridor(3)
    agent = recorder(env, action=1)
    rl.train(agent, env, episodes=1, seed=1, max_episode_steps=2)
    assert [(t.terminated, t.truncated) for t in agent.transitions] == [
        (False, False),
        (True, False),
    ]


def test_a_truncated_transition_bootstraps_in_q_learning():
    """End to end: a time limit's last transition still moves Q towards r + gamma max Q[s']."""
    env = Corridor(3)
    agent = rl.QLearning(env.observation_space, env.action_space, eta=1.0, gamma=0.5, epsilon=0.0)
    agent.q[:] = 1.0
    agent.q[0, 0] = 2.0  # greedy: stay in 0 for ever
    rl.train(agent, env, episodes=1, seed=1, max_episode_steps=1)
    assert agent.q[0, 0] == pytest.approx(0.0 + 0.5 * 2.0)  # bootstrapped, not zeroed


# ------------------------------------------------------------------------- diagnostics
def test_diagnostics_are_averaged_per_episode():
    env = Corridor(4)
    history = rl.train(recorder(env, action=0), env, episodes=2, seed=0, max_episode_steps=5)
    # t = 1..5 each episode: mean 3; "even" came on steps 2 and 4 only: its mean is 1
    assert history["t"].tolist() == [3.0, 3.0]
    assert history["even"].tolist() == [1.0, 1.0]


def test_q_learning_reports_its_mean_epsilon_per_episode():
    env = Corridor(4)
    eps = rl.LinearSchedule(1.0, 0.0, duration=4)
    agent = rl.QLearning(env.observation_space, env.action_space, epsilon=eps, seed=0)
    history = rl.train(agent, env, episodes=1, seed=0, max_episode_steps=4)
    steps = int(history["steps"][0])
    assert history["epsilon"][0] == pytest.approx(np.mean([eps(t) for t in range(steps)]))


# ------------------------------------------------------------------------- step budgets
@pytest.mark.parametrize("budget", [1, 7, 9, 10, 23])
def test_train_with_steps_stops_exactly_at_the_budget(budget):
    env = Corridor(4)
    agent = recorder(env, action=0)
    history = rl.train(agent, env, steps=budget, seed=0, max_episode_steps=3)
    assert env.steps == budget
    assert len(agent.transitions) == budget
    assert len(history) == budget // 3  # only finished episodes are rows
    if len(history):
        assert history["env_step"].iloc[-1] == 3 * (budget // 3)


def test_train_with_steps_and_no_finished_episode_returns_an_empty_history():
    env = Corridor(4)
    history = rl.train(recorder(env, action=0), env, steps=2, max_episode_steps=10)
    assert len(history) == 0 and list(history.columns) == ["episode", "env_step", "reward", "steps"]


# ------------------------------------------------------------------------- callbacks
def test_callbacks_get_each_finished_episode_and_can_stop_training():
    env = Corridor(4)
    seen: list[tuple[int, rl.Agent]] = []

    def spy(record, agent):
        seen.append((record["episode"], agent))

    class StopAfter:
        def __init__(self, n):
            self.n, self.history = n, None

        def __call__(self, record, agent):
            return record["episode"] + 1 >= self.n

        def on_train_end(self, history):
            self.history = history

    agent = recorder(env)
    stop = StopAfter(3)
    history = rl.train(agent, env, episodes=100, seed=0, callbacks=[spy, stop])
    assert len(history) == 3
    assert [episode for episode, _ in seen] == [0, 1, 2]
    assert all(a is agent for _, a in seen)
    pd.testing.assert_frame_equal(stop.history, history)


def test_a_non_callable_callback_is_a_clear_error():
    env = Corridor(4)
    with pytest.raises(TypeError, match="callbacks must be callables taking \\(record, agent\\)"):
        rl.train(recorder(env), env, episodes=1, callbacks=["print"])


# ------------------------------------------------------------------------- seeding
def train_q(env_kwargs, agent_seed, env_seed):
    env = gym.make("FrozenLake-v1", **env_kwargs)
    agent = rl.make_agent("q-learning", env, seed=agent_seed, epsilon=0.3, eta=0.5)
    return rl.train(agent, env, episodes=60, seed=env_seed), agent


def test_the_same_seed_gives_identical_histories():
    slippery = {"is_slippery": True}
    a, agent_a = train_q(slippery, 1, 2)
    b, agent_b = train_q(slippery, 1, 2)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(agent_a.q, agent_b.q)
    c, _ = train_q(slippery, 1, 3)
    d, _ = train_q(slippery, 4, 2)
    assert not a.equals(c) and not a.equals(d)


def test_the_seed_seeds_the_first_reset_and_later_resets_continue_its_stream():
    env = Corridor(8)
    runs = []
    for _ in range(2):
        agent = recorder(env)
        rl.train(agent, env, episodes=20, seed=42)
        ts = agent.transitions
        runs.append([ts[0].obs] + [b.obs for a, b in zip(ts, ts[1:], strict=False) if a.done])
    assert runs[0] == runs[1]  # the same starts, episode by episode
    assert set(runs[0]) == {0, 1}  # not re-seeded identically at every reset


# ------------------------------------------------------------------------- evaluate
def snapshot_equal(a: Any, b: Any) -> bool:
    """Deep equality for state dicts: arrays by value, generators by their bit-generator state."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, np.random.Generator):
        return a.bit_generator.state == b.bit_generator.state
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(snapshot_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(snapshot_equal(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "__dict__") and not isinstance(a, type):
        return type(a) is type(b) and snapshot_equal(vars(a), vars(b))
    return a == b


@pytest.mark.parametrize(
    ("name", "hp"),
    [
        ("q-learning", {"epsilon": 0.3}),
        ("q-learning", {"exploration": "noisy-argmax"}),
        ("sarsa", {"epsilon": 0.3}),
        ("expected-sarsa", {"epsilon": 0.3}),
        ("ps", {}),
        ("ps", {"policy": "softmax"}),
    ],
)
def test_greedy_evaluate_does_not_change_the_agent(name, hp):
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = rl.make_agent(name, env, seed=0, **hp)
    rl.train(agent, env, steps=500, seed=0)  # stops mid-episode: SARSA may hold a next action
    before = agent.state_dict()
    scores = rl.evaluate(agent, env, episodes=20, seed=1)
    assert len(scores) == 20
    after = agent.state_dict()
    assert snapshot_equal(before, after)
    assert not snapshot_equal(before, rl.make_agent(name, env, seed=0, **hp).state_dict())


def test_evaluate_plays_greedily_without_learning():
    env = Corridor(4)
    agent = recorder(env)
    scores = rl.evaluate(agent, env, episodes=3, seed=0)
    assert set(agent.calls) == {"greedy"}
    assert scores["reward"].tolist() == [1.0, 1.0, 1.0]


def test_evaluate_is_repeatable_with_a_seed():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = rl.make_agent("q-learning", env, seed=0, epsilon=0.5)
    rl.train(agent, env, episodes=50, seed=0)
    pd.testing.assert_frame_equal(
        rl.evaluate(agent, env, episodes=30, seed=5), rl.evaluate(agent, env, episodes=30, seed=5)
    )


def test_state_dict_round_trip():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = rl.make_agent("q-learning", env, seed=0, epsilon=0.5)
    saved = agent.state_dict()
    rl.train(agent, env, episodes=20, seed=0)
    trained = agent.state_dict()
    agent.load_state_dict(saved)
    assert snapshot_equal(agent.state_dict(), saved)
    rl.train(agent, env, episodes=20, seed=0)
    assert snapshot_equal(agent.state_dict(), trained)


# ------------------------------------------------------------------------- progress, errors
def test_progress_bar(capsys):
    env = Corridor(4)
    history = rl.train(recorder(env), env, episodes=20, seed=0, progress=True)
    assert len(history) == 20
    assert "20/20" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs exactly one of episodes= or steps="),
        ({"episodes": 5, "steps": 100}, "needs exactly one of episodes= or steps="),
        ({"episodes": 0}, "episodes must be >= 1, got 0"),
        ({"episodes": 2.5}, "episodes must be a whole number"),
        ({"steps": -3}, "steps must be >= 1"),
        ({"episodes": 5, "max_episode_steps": 0}, "max_episode_steps must be >= 1"),
    ],
)
def test_bad_budgets_are_clear_errors(kwargs, message):
    env = Corridor(4)
    with pytest.raises(rl.ConfigError, match=message):
        rl.train(recorder(env), env, **kwargs)


def test_wrong_arguments_are_clear_errors():
    env = Corridor(4)
    with pytest.raises(TypeError, match="needs a gymnasium environment"):
        rl.train(recorder(env), "FrozenLake-v1", episodes=1)
    with pytest.raises(TypeError, match="needs an rl.Agent.*rl.make_agent"):
        rl.train("q-learning", env, episodes=1)
    with pytest.raises(rl.ConfigError, match="evaluate: episodes must be >= 1"):
        rl.evaluate(recorder(env), env, episodes=0)
