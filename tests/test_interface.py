"""The agent interface: what a subclass must write, what it gets for free, and the "Write your
own agent" example of the documentation's interface page, executed so that it can never rot."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import rlladder as rl
from rlladder import registry

INTERFACE_PAGE = Path(__file__).resolve().parents[1] / "docs" / "interface.md"


class Coin(rl.Agent):
    def act(self, obs, *, explore=True):
        return int(self.rng.integers(self.action_space.n)) if explore else 0

    def learn(self, transition):
        self.last = transition
        return {}


def coin(seed=None) -> Coin:
    return Coin(spaces.Discrete(3), spaces.Discrete(2), seed=seed)


def test_transition_fields_and_done():
    t = rl.Transition(obs=0, action=1, reward=0.5, next_obs=2, terminated=False, truncated=True)
    assert (t.obs, t.action, t.reward, t.next_obs) == (0, 1, 0.5, 2)
    assert t.done
    assert not rl.Transition(0, 1, 0.0, 2, False, False).done
    assert rl.Transition(0, 1, 0.0, 2, True, False).done


def test_act_and_learn_are_the_only_abstract_methods():
    assert rl.Agent.__abstractmethods__ == frozenset({"act", "learn"})

    class Half(rl.Agent):
        def act(self, obs, *, explore=True):
            return 0

    with pytest.raises(TypeError, match="learn"):
        Half(spaces.Discrete(3), spaces.Discrete(2))


def test_defaults_a_subclass_gets_for_free():
    agent = coin(seed=3)
    assert agent.begin_episode() is None and agent.end_episode() is None
    assert agent.observation_space == spaces.Discrete(3)
    assert "Coin(observation_space=Discrete(3)" in repr(agent)
    with pytest.raises(NotImplementedError, match="Coin does not expose action values"):
        agent.q_values(0)


def test_the_seeded_rng_gives_the_same_numbers():
    a, b, c = coin(seed=1), coin(seed=1), coin(seed=2)
    draws = [[x.act(0) for _ in range(30)] for x in (a, b, c)]
    assert draws[0] == draws[1] != draws[2]


def test_state_dict_is_a_deep_copy_without_the_spaces():
    agent = rl.QLearning(spaces.Discrete(3), spaces.Discrete(2), seed=0)
    state = agent.state_dict()
    assert "observation_space" not in state and "action_space" not in state
    assert {"q", "rng", "steps_done", "episodes_done"} <= set(state)
    state["q"][:] = 7.0
    assert agent.q.sum() == 0.0
    agent.load_state_dict(state)
    assert agent.q.sum() == 7.0 * 6
    state["q"][:] = 0.0
    assert agent.q.sum() == 7.0 * 6  # loading copied, too


def test_load_state_dict_restores_the_random_stream():
    agent = coin(seed=0)
    saved = agent.state_dict()
    first = [agent.act(0) for _ in range(20)]
    agent.load_state_dict(saved)
    assert [agent.act(0) for _ in range(20)] == first


def test_the_docstring_minimal_agent_trains():
    env = gym.make("FrozenLake-v1")
    agent = Coin(env.observation_space, env.action_space, seed=0)
    history = rl.train(agent, env, episodes=3, seed=0)
    assert len(history) == 3
    assert isinstance(agent.last, rl.Transition)


# --------------------------------------------------------------- the interface page's example
def page_section(name: str) -> str:
    text = INTERFACE_PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- section: {name} -->(.*?)<!-- /section: {name} -->", text, re.S)
    assert match, f"docs/interface.md has no '{name}' section"
    return match.group(1)


def test_the_write_your_own_agent_example_runs(monkeypatch, capsys):
    monkeypatch.setattr(registry, "_AGENTS", dict(registry._AGENTS))  # keep its name local
    blocks = re.findall(r"```python\n(.*?)```", page_section("own-agent"), re.S)
    assert blocks, "the own-agent section has no python code block"
    code = blocks[0]
    assert 15 <= len(code.strip().splitlines()) <= 40  # a complete example, still short
    namespace: dict = {"__name__": "interface_page_example"}
    exec(compile(code, str(INTERFACE_PAGE), "exec"), namespace)
    assert "double-q" in rl.list_agents()
    assert namespace["score"] == 1.0  # the greedy policy reaches the goal
    assert "td_error" in namespace["history"].columns
    assert "greedy success rate 1.00" in capsys.readouterr().out
    q = namespace["agent"].qa + namespace["agent"].qb
    assert np.argmax(q[14]) == 2  # next to the goal: go right
