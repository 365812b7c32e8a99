"""What :func:`rlladder.check_agent` checks: a registered name, an ``rl.Agent`` subclass or a
factory, turned into one way to build a fresh agent for a probe.

* A registered name is built with :func:`rlladder.make_agent`, plus :data:`PROBE_SETTINGS` when
  its class is a built-in one: the probes are tiny, so a built-in DQN gets a 16-unit network,
  uniformly random behaviour (Q-learning is off-policy, so every action's value is still learnt)
  and a learning rate that decays over the probe's budget, instead of its CartPole preset.
* A class is built as ``cls(env.observation_space, env.action_space, seed=seed)``, with its own
  defaults: what a student wrote is what gets checked.
* A factory is called as ``factory(env, seed)`` and must return an ``rl.Agent``.

**Box probes or tabular twins.** The agent is first built on ``rlladder/Probe5-v0`` (a
``Box(1,)`` observation) and asked for a greedy action. If either raises (a tabular agent needs a
``Discrete`` observation to size or index its table), it is checked on the tabular twins
(``rlladder/TabularProbe5-v0``, ...) instead, and the report's ``probe`` column says so.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rlladder.check.agent_errors import agent_errors, one_line
from rlladder.errors import AgentCheckError
from rlladder.interface import Agent
from rlladder.registry import make_agent, resolve_agent

__all__ = ["PROBE_STEPS", "PROBE_SETTINGS", "AgentMaker", "agent_maker", "probe_id"]

#: env steps each probe trains for: the built-in agents pass with room to spare (the DQN
#: tests reach the chapter's tolerances in 1000), and the course's own routine gives 3000-5000.
PROBE_STEPS = 3_000

#: hyperparameters a built-in class gets on the probes, by ``module:Class`` (only for
#: registered names; the rest of each name's settings come from make_agent as usual)
PROBE_SETTINGS: dict[str, dict[str, Any]] = {
    "rlladder.deep.dqn:DQN": {
        "hidden_sizes": (16,),
        "batch_size": 32,
        "buffer_size": 500,
        "learning_starts": 32,
        "epsilon": 1.0,
        "learning_rate": {"kind": "linear", "start": 5e-3, "end": 1e-5, "duration": PROBE_STEPS},
        "target_update_every": 50,
    },
    "rlladder.tabular.q_learning:QLearning": {"eta": 0.5, "epsilon": 1.0},
    # a softmax copes with negative rewards (h / sum(h) does not); eta 1: one-step episodes
    "rlladder.tabular.projective_simulation:ProjectiveSimulation": {
        "policy": "softmax",
        "beta": 1.0,
        "eta": 1.0,
    },
}

#: the probe the interface checks and the Box-or-twin decision use (2 observations, 2 actions)
INTERFACE_PROBE = 5


def probe_id(probe: int, tabular: bool) -> str:
    """``"rlladder/Probe3-v0"``, or the twin ``"rlladder/TabularProbe3-v0"``."""
    return f"rlladder/{'Tabular' if tabular else ''}Probe{probe}-v0"


@dataclass
class AgentMaker:
    """How to build a fresh agent for a probe: ``make(env, seed)``, for ``name``.

    ``tabular`` says whether the agent is checked on the tabular twins.
    """

    name: str
    make: Callable[[gym.Env, int], Any]
    tabular: bool = False

    def build(self, env: gym.Env, seed: int) -> Agent:
        """A fresh agent for ``env``; its constructor's error as an :class:`AgentCheckError`."""
        try:
            agent = self.make(env, seed)
        except Exception as error:
            raise AgentCheckError(
                f"{self.name} raised {one_line(error)} in __init__() on probe '{env.spec.id}'"
            ) from error
        if not isinstance(agent, Agent):
            raise TypeError(
                f"check_agent(): the factory for {self.name} returned {agent!r}, not an rl.Agent; "
                "a factory is f(env, seed) -> Agent, e.g. lambda env, seed: MyAgent("
                "env.observation_space, env.action_space, seed=seed)"
            )
        return agent


def _registered(name: str) -> Callable[[gym.Env, int], Agent]:
    cls = resolve_agent(name)[0]
    settings = PROBE_SETTINGS.get(f"{cls.__module__}:{cls.__qualname__}", {})

    def make(env: gym.Env, seed: int) -> Agent:
        return make_agent(name, env, seed=seed, **settings)

    return make


def _class(cls: type[Agent]) -> Callable[[gym.Env, int], Agent]:
    def make(env: gym.Env, seed: int) -> Agent:
        return cls(env.observation_space, env.action_space, seed=seed)

    return make


def _describe(target: object) -> str:
    if inspect.isclass(target):
        return (
            f"the class {target.__module__}.{target.__qualname__}, which does not subclass rl.Agent"
        )
    if isinstance(target, Agent):
        return f"an agent instance ({type(target).__name__}); pass its class: check_agent trains fresh agents"
    return repr(target)


def _try_probe(maker: AgentMaker, env_id: str, seed: int) -> None:
    """Build the agent for ``env_id`` and let it act on its first observation, or raise
    :class:`AgentCheckError`."""
    env = gym.make(env_id)
    agent = maker.build(env, seed)
    obs, _ = env.reset(seed=seed)
    with agent_errors(agent, env_id):
        agent.act(obs, explore=False)


def agent_maker(target: object, seed: int) -> AgentMaker:
    """Turn ``target`` (a registered name, an ``rl.Agent`` subclass, or a factory
    ``f(env, seed)``) into an :class:`AgentMaker`, and decide between Box probes and twins.

    Raises:
        UnknownNameError: ``target`` is a name nobody registered.
        TypeError: ``target`` is none of the three (one line saying what would work).
        AgentCheckError: the agent cannot be built on either kind of probe.
    """
    if isinstance(target, str):
        maker = AgentMaker(target, _registered(target))
    elif inspect.isclass(target) and issubclass(target, Agent):
        if inspect.isabstract(target):
            missing = ", ".join(f"{m}()" for m in sorted(target.__abstractmethods__))
            raise TypeError(
                f"check_agent(): {target.__name__} does not implement {missing}; an rl.Agent "
                "needs act(obs, *, explore=True) -> int and learn(transition) -> dict"
            )
        maker = AgentMaker(target.__name__, _class(target))
    elif callable(target) and not inspect.isclass(target) and not isinstance(target, Agent):
        name = getattr(target, "__name__", type(target).__name__)
        maker = AgentMaker(name, target)  # type: ignore[arg-type]
    else:
        raise TypeError(
            "check_agent() needs a registered agent name (e.g. 'dqn'), an rl.Agent subclass, or a "
            f"factory f(env, seed) -> Agent; got {_describe(target)}"
        )
    try:
        _try_probe(maker, probe_id(INTERFACE_PROBE, tabular=False), seed)
    except AgentCheckError as box_error:
        maker.tabular = True
        try:
            _try_probe(maker, probe_id(INTERFACE_PROBE, tabular=True), seed)
        except AgentCheckError as twin_error:
            cause = twin_error.__cause__ or twin_error
            if "in __init__()" in str(box_error) and "in __init__()" not in str(twin_error):
                # built on the twin and failed in its own method: that is the agent's error
                raise twin_error from cause
            if one_line(cause) == one_line(box_error.__cause__ or box_error):
                raise box_error from box_error.__cause__  # the same error twice: say it once
            raise AgentCheckError(
                f"{box_error} (and {one_line(cause)} on its tabular twin '"
                f"{probe_id(INTERFACE_PROBE, tabular=True)}')"
            ) from box_error
    return maker
