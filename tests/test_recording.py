"""rl.record: greedy play written as an animated GIF, read back with Pillow."""

from __future__ import annotations

import sys

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import rlladder as rl
from rlladder.recording import RenderDependencyError

# The shortest way across the 4x4 FrozenLake map: right, right, down, down, down, right.
LEFT, DOWN, RIGHT, UP = range(4)
SHORTEST_PATH = {0: RIGHT, 1: RIGHT, 2: DOWN, 6: DOWN, 10: DOWN, 14: RIGHT}


class ScriptedAgent(rl.Agent):
    """Follows a fixed state -> action table; counts the calls that could change it."""

    def __init__(self, observation_space, action_space, *, seed=None, table=None):
        super().__init__(observation_space, action_space, seed=seed)
        self.table = dict(table or {})
        self.learn_calls = 0
        self.episode_hooks = 0

    def act(self, obs, *, explore=True):
        return self.table.get(int(obs), LEFT)

    def learn(self, transition):
        self.learn_calls += 1
        return {}

    def begin_episode(self):
        self.episode_hooks += 1


def frames_and_durations(path):
    with Image.open(path) as gif:
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
        return gif.n_frames, durations, gif.size


def test_frozenlake_gif_has_one_frame_per_step_plus_reset(tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = ScriptedAgent(env.observation_space, env.action_space, table=SHORTEST_PATH)
    path = rl.record(agent, env, tmp_path / "lake.gif", episodes=2, fps=4)
    n, durations, size = frames_and_durations(path)
    assert n == 2 * (6 + 1)  # every step moves the elf, so no two frames are merged
    assert durations == [250] * n
    assert size == (256, 256)
    assert agent.learn_calls == 0 and agent.episode_hooks == 0
    assert env.render_mode is None  # the user's env is left as it was


def test_cartpole_gif_frames_match_episode_length(tmp_path):
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(
        "q-learning",
        env,
        seed=0,
        bins=3,
        bounds=[(-2.4, 2.4), (-3, 3), (-0.21, 0.21), (-3.5, 3.5)],
    )
    steps = rl.evaluate(agent, env, episodes=1, seed=3, max_episode_steps=25)["steps"].sum()
    path = rl.record(
        agent, env, tmp_path / "cart.gif", seed=3, fps=10, scale=0.25, max_episode_steps=25
    )
    n, durations, size = frames_and_durations(path)
    # identical consecutive frames are merged by the GIF format, their durations summed
    assert sum(durations) == (steps + 1) * 100
    assert 1 < n <= steps + 1
    assert size == (150, 100)


def test_greedy_play_does_not_change_the_agent(tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env, seed=0)
    rl.train(agent, env, episodes=200, seed=0)
    before = agent.state_dict()
    rng_before = agent.rng.bit_generator.state
    rl.record(agent, env, tmp_path / "a.gif")
    after = agent.state_dict()
    np.testing.assert_array_equal(before["q"], after["q"])
    assert before["steps_done"] == after["steps_done"]
    assert before["episodes_done"] == after["episodes_done"]
    assert agent.rng.bit_generator.state == rng_before


def test_accepts_an_env_already_in_rgb_array_mode(tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=False, render_mode="rgb_array")
    agent = ScriptedAgent(env.observation_space, env.action_space, table=SHORTEST_PATH)
    n, _, _ = frames_and_durations(rl.record(agent, env, tmp_path / "lake.gif"))
    assert n == 7


def test_same_seed_same_gif(tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = rl.make_agent("q-learning", env, seed=0)
    a = rl.record(agent, env, tmp_path / "a.gif", seed=5, episodes=2)
    b = rl.record(agent, env, tmp_path / "b.gif", seed=5, episodes=2)
    assert a.read_bytes() == b.read_bytes()


def test_missing_pygame_names_the_render_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygame", None)  # makes `import pygame` fail
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(
        "q-learning", env, bins=2, bounds=[(-2.4, 2.4), (-3, 3), (-0.21, 0.21), (-3.5, 3.5)]
    )
    with pytest.raises(RenderDependencyError, match=r"rlladder\[render\]"):
        rl.record(agent, env, tmp_path / "cart.gif")
    assert issubclass(RenderDependencyError, ImportError)


def test_bad_arguments_say_what_would_work(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent("q-learning", env)
    with pytest.raises(rl.ConfigError, match=r"\.gif"):
        rl.record(agent, env, tmp_path / "lake.mp4")
    with pytest.raises(rl.ConfigError, match="episodes"):
        rl.record(agent, env, tmp_path / "lake.gif", episodes=0)
    with pytest.raises(rl.ConfigError, match="render_mode='rgb_array'"):
        rl.record(agent, env.unwrapped.__class__(), tmp_path / "lake.gif")
