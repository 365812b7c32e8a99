"""Agent names, the classes behind them, and tuned presets per environment.

::

    agent = rl.make_agent("q-learning", env, seed=0)        # the preset for env, if there is one
    agent = rl.make_agent("q-learning", env, eta=0.5)       # ... with eta overridden
    rl.list_agents()                                        # every name
    rl.register_agent("mine", MyAgent)                      # your own class, by name, everywhere

A *preset* is a set of hyperparameters tuned for one environment (``FrozenLake-v1`` with
``is_slippery=False``, ``CartPole-v1``, ...). ``make_agent`` merges, later winning: the agent's
defaults, the best-matching preset, then your keyword arguments.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlladder.errors import ConfigError, unknown_name
from rlladder.interface import Agent

__all__ = [
    "make_agent",
    "list_agents",
    "register_agent",
    "register_preset",
    "resolve_agent",
    "preset_for",
    "describe_agents",
]


@dataclass
class AgentEntry:
    """What a name stands for: a class (or ``"module:Class"`` imported on first use) and defaults."""

    target: type[Agent] | str
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def cls(self) -> type[Agent]:
        if isinstance(self.target, str):
            module, _, attr = self.target.partition(":")
            self.target = getattr(importlib.import_module(module), attr)
        return self.target  # type: ignore[return-value]


@dataclass
class Preset:
    """Hyperparameters for ``agent`` on ``env_id`` when the env's kwargs include ``match``."""

    agent: str
    env_id: str
    hyperparameters: dict[str, Any]
    match: dict[str, Any] = field(default_factory=dict)
    description: str = ""


_AGENTS: dict[str, AgentEntry] = {}
_ALIASES: dict[str, str] = {}
_PRESETS: list[Preset] = []


def register_agent(
    name: str,
    cls: type[Agent] | str,
    *,
    defaults: dict[str, Any] | None = None,
    description: str = "",
    overwrite: bool = False,
) -> None:
    """Make ``cls`` available as ``name`` in :func:`make_agent`, experiments and the CLI.

    ``defaults`` are hyperparameters this name always starts from (how the DQN ladder's rungs are
    presets of one class). Re-registering a name needs ``overwrite=True``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"an agent name must be a non-empty string, got {name!r}")
    if not isinstance(cls, str) and not (inspect.isclass(cls) and issubclass(cls, Agent)):
        raise TypeError(f"register_agent({name!r}, ...) needs a subclass of rl.Agent, got {cls!r}")
    if (name in _AGENTS or name in _ALIASES) and not overwrite:
        raise ConfigError(
            f"agent {name!r} is already registered; pass overwrite=True to replace it"
        )
    _ALIASES.pop(name, None)
    _AGENTS[name] = AgentEntry(cls, dict(defaults or {}), description)


def register_preset(
    agent: str,
    env_id: str,
    hyperparameters: dict[str, Any],
    *,
    match: dict[str, Any] | None = None,
    description: str = "",
) -> None:
    """Tune ``agent`` for ``env_id`` (optionally only when the env was made with ``match`` kwargs)."""
    _PRESETS.append(Preset(agent, env_id, dict(hyperparameters), dict(match or {}), description))


def list_agents() -> list[str]:
    """The names :func:`make_agent` knows, sorted."""
    return sorted(_AGENTS)


def describe_agents() -> list[tuple[str, str]]:
    """``(name, one-line description)`` for every agent name."""
    return [(name, _AGENTS[name].description) for name in list_agents()]


def _canonical(name: str) -> str:
    if name in _AGENTS:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    raise unknown_name("agent", name, _AGENTS)


def resolve_agent(name: str) -> tuple[type[Agent], dict[str, Any]]:
    """The class and default hyperparameters behind an agent name."""
    entry = _AGENTS[_canonical(name)]
    return entry.cls(), dict(entry.defaults)


def _env_kwargs(env: gym.Env) -> dict[str, Any]:
    """The kwargs the env was made with, including its constructor's defaults."""
    kwargs: dict[str, Any] = {}
    try:
        params = inspect.signature(type(env.unwrapped).__init__).parameters
        kwargs = {
            k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty
        }
    except (TypeError, ValueError):
        pass
    spec = getattr(env, "spec", None)
    if spec is not None:
        kwargs.update(spec.kwargs or {})
    return kwargs


def preset_for(name: str, env: gym.Env | None) -> dict[str, Any]:
    """The hyperparameters of the best-matching preset of agent ``name`` for ``env`` ({} if none)."""
    name = _canonical(name)
    spec = getattr(env, "spec", None) if env is not None else None
    if spec is None:
        return {}
    kwargs = _env_kwargs(env)  # type: ignore[arg-type]
    best: Preset | None = None
    for preset in _PRESETS:
        if preset.agent != name or preset.env_id != spec.id:
            continue
        if any(kwargs.get(k, object()) != v for k, v in preset.match.items()):
            continue
        if best is None or len(preset.match) >= len(best.match):
            best = preset
    return dict(best.hyperparameters) if best else {}


def make_agent(
    name: str | type[Agent],
    env: gym.Env | None = None,
    *,
    observation_space: gym.Space | None = None,
    action_space: gym.Space | None = None,
    seed: int | None = None,
    **hyperparameters: Any,
) -> Agent:
    """Build an agent by name (or class) for ``env`` (or for explicit spaces).

    Hyperparameters are merged as: the name's defaults, then the preset for ``env`` if one matches,
    then ``hyperparameters``.
    """
    if env is not None:
        if not hasattr(env, "observation_space"):
            raise TypeError(f"make_agent() needs a gymnasium environment as env, got {env!r}")
        observation_space = observation_space or env.observation_space
        action_space = action_space or env.action_space
    if observation_space is None or action_space is None:
        raise ConfigError("make_agent() needs env= or both observation_space= and action_space=")
    if isinstance(name, str):
        cls, params = resolve_agent(name)
        params.update(preset_for(name, env))
    elif inspect.isclass(name) and issubclass(name, Agent):
        cls, params = name, {}
    else:
        raise TypeError(f"make_agent() needs an agent name or an rl.Agent subclass, got {name!r}")
    params.update(hyperparameters)
    return cls(observation_space, action_space, seed=seed, **params)


# --------------------------------------------------------------------------------------------
# Built-in agents. Classes are imported on first use, so `import rlladder` does not import torch.
# --------------------------------------------------------------------------------------------

register_agent(
    "q-learning",
    "rlladder.tabular.q_learning:QLearning",
    description="tabular Q-learning: Q[s,a] += eta * (r + gamma * max Q[s'] - Q[s,a])",
)
register_agent(
    "sarsa",
    "rlladder.tabular.q_learning:QLearning",
    defaults={"target": "sarsa"},
    description="tabular SARSA: bootstraps on the action the agent will actually take",
)
register_agent(
    "expected-sarsa",
    "rlladder.tabular.q_learning:QLearning",
    defaults={"target": "expected-sarsa"},
    description="tabular expected SARSA: bootstraps on the policy's expected next value",
)
register_agent(
    "ps",
    "rlladder.tabular.projective_simulation:ProjectiveSimulation",
    description="two-layer Projective Simulation with h and glow matrices",
)
_ALIASES["projective-simulation"] = "ps"
