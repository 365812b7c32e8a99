"""Resolved hyperparameters: defaults, the name's, the preset and yours, merged without training,
and exactly what make_agent builds the agent from."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import rlladder as rl
from rlladder import registry
from rlladder.errors import UnknownNameError
from rlladder.experiments.values import canonical, plain, same
from rlladder.registry import hyperparameter_sources, resolve_hyperparameters

PLAIN_LAKE = dict(is_slippery=False)


@pytest.fixture
def clean_registry(monkeypatch):
    monkeypatch.setattr(registry, "_AGENTS", dict(registry._AGENTS))
    monkeypatch.setattr(registry, "_ALIASES", dict(registry._ALIASES))
    monkeypatch.setattr(registry, "_PRESETS", list(registry._PRESETS))


class Greedy(rl.Agent):
    def __init__(self, observation_space, action_space, *, seed=None, bias: int = 0, scale=1.5):
        super().__init__(observation_space, action_space, seed=seed)
        self.bias, self.scale = bias, scale

    def act(self, obs, *, explore=True):
        return self.bias

    def learn(self, transition):
        return {}


class Spy(Greedy):
    """Remembers the keyword arguments it was built with."""

    seen: dict = {}

    def __init__(self, observation_space, action_space, *, seed=None, **kwargs):
        Spy.seen = dict(kwargs)
        super().__init__(observation_space, action_space, seed=seed)


def test_default_hyperparameters_read_the_signature_or_the_dqn_config():
    assert Greedy.default_hyperparameters() == {"bias": 0, "scale": 1.5}
    q = rl.QLearning.default_hyperparameters()
    assert (q["eta"], q["gamma"], q["exploration"], q["epsilon"]) == (
        0.1,
        0.99,
        "epsilon-greedy",
        None,
    )
    assert "seed" not in q and "observation_space" not in q
    assert set(rl.ProjectiveSimulation.default_hyperparameters()) == {
        "gamma",
        "eta",
        "policy",
        "beta",
        "bins",
        "bounds",
    }
    dqn = rl.DQN.default_hyperparameters()
    assert set(dqn) == {f for f in rl.DQNConfig.__dataclass_fields__}
    assert dqn["hidden_sizes"] == (120, 84) and dqn["huber_delta"] == 1.0


def test_resolution_merges_default_name_preset_and_yours_in_that_order(clean_registry):
    rl.register_agent("greedy-2", Greedy, defaults={"bias": 2, "scale": 2.0})
    rl.register_preset("greedy-2", "FrozenLake-v1", {"scale": 3.0})
    lake = gym.make("FrozenLake-v1")
    assert resolve_hyperparameters(Greedy, lake) == {"bias": 0, "scale": 1.5}  # the class's
    assert resolve_hyperparameters("greedy-2", None) == {"bias": 2, "scale": 2.0}  # the name's
    assert resolve_hyperparameters("greedy-2", lake) == {"bias": 2, "scale": 3.0}  # the preset
    assert resolve_hyperparameters("greedy-2", lake, scale=4.0)["scale"] == 4.0  # yours
    sarsa = resolve_hyperparameters("sarsa", gym.make("FrozenLake-v1", **PLAIN_LAKE), gamma=0.5)
    assert (sarsa["target"], sarsa["gamma"], sarsa["eta"]) == ("sarsa", 0.5, 0.1)


def test_sources_say_where_each_value_comes_from():
    lake = gym.make("FrozenLake-v1", **PLAIN_LAKE)
    sources = hyperparameter_sources("q-learning", lake, gamma=0.5)
    assert sources["eta"] == "preset" and sources["exploration"] == "preset"
    assert sources["gamma"] == "given" and sources["initial_value"] == "default"
    assert hyperparameter_sources("sarsa", lake)["target"] == "agent"
    cart = gym.make("CartPole-v1")
    rung = hyperparameter_sources("dqn-vanilla", cart)
    assert rung["learning_starts"] == "agent" and rung["replay"] == "agent"  # the rung's own
    assert rung["huber_delta"] == "preset" and rung["tau"] == "default"
    assert resolve_hyperparameters("dqn-vanilla", cart)["learning_starts"] == 0


def test_linked_hyperparameters_come_from_one_place():
    lake = gym.make("FrozenLake-v1", **PLAIN_LAKE)  # preset: noisy-argmax, eta 0.8
    params = resolve_hyperparameters("q-learning", lake, epsilon=0.3)
    assert (params["exploration"], params["epsilon"], params["eta"]) == ("epsilon-greedy", 0.3, 0.8)


def test_make_agent_builds_from_exactly_the_resolved_dict(clean_registry):
    rl.register_agent("spy", Spy, defaults={"bias": 1})
    rl.register_preset("spy", "CartPole-v1", {"scale": 2.0, "bias": 3})
    env = gym.make("CartPole-v1")
    rl.make_agent("spy", env, scale=9.0)
    assert Spy.seen == resolve_hyperparameters("spy", env, scale=9.0) == {"bias": 3, "scale": 9.0}


@pytest.mark.parametrize("name", ["dqn-vanilla", "dqn-replay", "dqn-target", "dqn", "double-dqn"])
def test_every_dqn_rung_gets_what_is_resolved(name):
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(name, env, seed=0, gamma=0.9)
    resolved = canonical(resolve_hyperparameters(name, env, gamma=0.9))
    assert same(canonical(agent.config.to_dict()), resolved)


def test_tabular_agents_get_what_is_resolved():
    slippery = gym.make("FrozenLake-v1", is_slippery=True)
    agent = rl.make_agent("q-learning", slippery, seed=0)
    resolved = canonical(resolve_hyperparameters("q-learning", slippery))
    assert same(canonical(agent.eta_schedule), resolved["eta"])
    assert same(canonical(agent.epsilon_schedule), resolved["epsilon"])
    assert (agent.gamma, agent.exploration) == (resolved["gamma"], resolved["exploration"])


def test_dqn_takes_its_fields_as_keywords_not_a_config():
    env = gym.make("CartPole-v1")
    with pytest.raises(UnknownNameError, match="unknown DQN hyperparameter 'config'"):
        rl.make_agent("dqn", env, config=rl.DQNConfig())


def test_a_class_gets_its_signature_defaults_and_the_kwargs_given():
    env = gym.make("FrozenLake-v1")
    assert resolve_hyperparameters(Greedy, env, bias=2) == {"bias": 2, "scale": 1.5}
    assert resolve_hyperparameters(Greedy, None) == {"bias": 0, "scale": 1.5}


def test_variant_resolve_gives_plain_values():
    cart = gym.make("CartPole-v1")
    resolved = rl.Variant("dqn", epsilon=rl.LinearSchedule(1.0, 0.1, 500)).resolve(cart)
    assert resolved["agent"] == "dqn"
    assert resolved["hidden_sizes"] == [128, 128]  # tuples are lists
    assert resolved["epsilon"] == {
        "kind": "linear",
        "start": 1.0,
        "end": 0.1,
        "duration": 500,
        "unit": "step",
    }
    assert resolved["learning_rate"]["unit"] == "step"  # every schedule written out in full
    lake = gym.make("FrozenLake-v1", **PLAIN_LAKE)
    assert rl.Variant("projective-simulation").resolve(lake)["agent"] == "ps"  # alias -> name
    own = rl.Variant("own_agents:RunningMeanAgent", epsilon=0.3)
    assert own.resolve(lake) == {"agent": "own_agents:RunningMeanAgent", "epsilon": 0.3}
    assert rl.Variant(Greedy).resolve(lake) == {
        "agent": f"{__name__}:Greedy",
        "bias": 0,
        "scale": 1.5,
    }


def factory(observation_space, action_space, *, seed=None, bias=0, scale=1.0):
    return Greedy(observation_space, action_space, seed=seed, bias=bias, scale=scale)


def test_a_factory_gives_only_the_kwargs_it_was_given():
    lake = gym.make("FrozenLake-v1")
    variant = rl.Variant(factory, bias=1)
    assert variant.is_factory and not rl.Variant(Greedy).is_factory
    assert variant.resolve(lake) == {"agent": f"{__name__}:factory", "bias": 1}
    assert variant.pinned(lake) is variant


def test_pinned_variants_build_the_same_agent_without_the_registry(clean_registry):
    rl.register_agent("greedy", Greedy)
    rl.register_preset("greedy", "FrozenLake-v1", {"bias": 2})
    lake = gym.make("FrozenLake-v1")
    pinned = rl.Variant("greedy", scale=3.0).pinned(lake)
    assert pinned.agent is Greedy and pinned.hyperparameters == {"bias": 2, "scale": 3.0}
    registry._PRESETS.clear()  # what a worker without the preset would see
    agent = pinned.make(lake, seed=0)
    assert (agent.bias, agent.scale) == (2, 3.0)


def test_plain_values_compare_as_values():
    assert same(1, 1.0) and same([128, 128], plain((128, 128))) and same([1, 2.0], [1.0, 2])
    assert not same(True, 1) and not same(False, 0) and same(True, True)
    assert same({"a": 1, "b": [2]}, {"b": [2.0], "a": 1.0})
    assert not same({"a": 1}, {"a": 1, "b": 2}) and not same("1", 1) and same(None, None)
    assert same(math.nan, math.nan) and not same(math.nan, 0.0)
    short = {"kind": "linear", "start": 1, "end": 0, "duration": 10}
    assert canonical(short) == {**short, "unit": "step"}
    assert same(canonical(short), canonical(rl.LinearSchedule(1.0, 0.0, 10)))
    assert canonical({"kind": "mine", "x": 1}) == {"kind": "mine", "x": 1}  # not a schedule
