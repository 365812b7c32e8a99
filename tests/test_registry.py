"""Agent names, presets per environment, and a student's own agent plugged in by name."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlladder as rl
from rlladder import registry


@pytest.fixture
def clean_registry(monkeypatch):
    """Let a test register names without leaking them into other tests."""
    monkeypatch.setattr(registry, "_AGENTS", dict(registry._AGENTS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    monkeypatch.setattr(registry, "_PRESETS", list(registry._PRESETS))


class Greedy(rl.Agent):
    def __init__(self, observation_space, action_space, *, seed=None, bias: int = 0):
        super().__init__(observation_space, action_space, seed=seed)
        self.bias = bias

    def act(self, obs, *, explore=True):
        return self.bias

    def learn(self, transition):
        return {}


def test_the_tabular_agents_are_registered():
    names = rl.list_agents()
    assert {"q-learning", "sarsa", "expected-sarsa", "ps"} <= set(names)
    assert names == sorted(names)
    descriptions = dict(rl.describe_agents())
    assert "Q[s,a]" in descriptions["q-learning"]


def test_make_agent_by_name_builds_the_right_class():
    env = gym.make("FrozenLake-v1")
    assert isinstance(rl.make_agent("q-learning", env), rl.QLearning)
    assert rl.make_agent("sarsa", env).target == "sarsa"
    assert rl.make_agent("expected-sarsa", env).target == "expected-sarsa"
    assert isinstance(rl.make_agent("ps", env), rl.ProjectiveSimulation)
    assert isinstance(rl.make_agent("projective-simulation", env), rl.ProjectiveSimulation)


def test_make_agent_from_spaces_or_a_class():
    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent(
        "q-learning", observation_space=env.observation_space, action_space=env.action_space
    )
    assert agent.q.shape == (16, 4)
    assert isinstance(rl.make_agent(Greedy, env, bias=2), Greedy)


def test_unknown_names_list_the_known_ones():
    env = gym.make("FrozenLake-v1")
    with pytest.raises(rl.UnknownNameError) as info:
        rl.make_agent("q-learnin", env)
    message = str(info.value)
    assert "unknown agent 'q-learnin'" in message
    for known in ("expected-sarsa", "ps", "q-learning", "sarsa"):
        assert known in message


def test_a_misspelt_hyperparameter_names_the_real_ones():
    env = gym.make("FrozenLake-v1")
    with pytest.raises(rl.ConfigError) as info:
        rl.make_agent("q-learning", env, etta=0.5)
    message = str(info.value)
    assert "has no hyperparameter(s) 'etta'" in message
    assert "eta" in message and "gamma" in message and "epsilon" in message


def test_register_agent_plugs_a_students_class_in_by_name(clean_registry):
    rl.register_agent("always-down", Greedy, defaults={"bias": 1}, description="goes down")
    assert "always-down" in rl.list_agents()
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("always-down", env)
    assert isinstance(agent, Greedy) and agent.bias == 1
    assert rl.make_agent("always-down", env, bias=2).bias == 2
    history = rl.train(agent, env, episodes=2, seed=0)
    assert history["steps"].tolist() == [3, 3]  # down, down, down: into the hole at the corner
    assert history["reward"].tolist() == [0.0, 0.0]


def test_register_agent_refuses_duplicates_and_non_agents(clean_registry):
    with pytest.raises(rl.ConfigError, match="already registered; pass overwrite=True"):
        rl.register_agent("q-learning", Greedy)
    rl.register_agent("q-learning", Greedy, overwrite=True)
    assert rl.make_agent("q-learning", gym.make("FrozenLake-v1")).__class__ is Greedy
    with pytest.raises(TypeError, match="needs a subclass of rl.Agent"):
        rl.register_agent("nope", object)


def test_a_lazy_module_target_is_imported_on_first_use(clean_registry):
    rl.register_agent("lazy-ps", "rlladder.tabular.projective_simulation:ProjectiveSimulation")
    assert isinstance(rl.make_agent("lazy-ps", gym.make("FrozenLake-v1")), rl.ProjectiveSimulation)


def test_presets_match_the_env_kwargs(clean_registry):
    rl.register_agent("mine", Greedy)
    rl.register_preset("mine", "FrozenLake-v1", {"bias": 1})
    rl.register_preset("mine", "FrozenLake-v1", {"bias": 2}, match={"is_slippery": False})
    rl.register_preset("mine", "FrozenLake-v1", {"bias": 3}, match={"map_name": "8x8"})
    assert rl.make_agent("mine", gym.make("FrozenLake-v1", is_slippery=False)).bias == 2
    assert rl.make_agent("mine", gym.make("FrozenLake-v1", is_slippery=True)).bias == 1
    assert rl.make_agent("mine", gym.make("FrozenLake-v1", map_name="8x8")).bias == 3
    assert rl.make_agent("mine", gym.make("CartPole-v1")).bias == 0
    assert rl.make_agent("mine", gym.make("FrozenLake-v1"), bias=0).bias == 0  # yours win


def test_frozenlake_presets_of_the_tabular_agents():
    plain = gym.make("FrozenLake-v1", is_slippery=False)
    slippery = gym.make("FrozenLake-v1", is_slippery=True)
    q = rl.make_agent("q-learning", plain)
    assert (q.eta, q.gamma, q.exploration) == (0.8, 0.9, "noisy-argmax")
    q = rl.make_agent("q-learning", slippery)
    assert q.exploration == "epsilon-greedy" and q.gamma == 0.99
    assert rl.preset_for("ps", plain) != rl.preset_for("ps", slippery)
    assert rl.preset_for("ps", plain)["policy"] == "softmax"


def test_your_exploration_replaces_the_presets_as_a_whole():
    plain = gym.make("FrozenLake-v1", is_slippery=False)  # preset: noisy-argmax, eta 0.8
    q = rl.make_agent("q-learning", plain, epsilon=0.3)
    assert (q.exploration, q.epsilon, q.eta) == ("epsilon-greedy", 0.3, 0.8)
    slippery = gym.make("FrozenLake-v1", is_slippery=True)  # preset: a decaying epsilon
    q = rl.make_agent("q-learning", slippery, exploration="noisy-argmax")
    assert q.exploration == "noisy-argmax" and q.gamma == 0.99
