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

from rlladder.errors import ConfigError, did_you_mean, unknown_name
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
    presets of one class). Re-registering a name needs ``overwrite=True``, and drops the
    presets of the class it replaces.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"an agent name must be a non-empty string, got {name!r}")
    if not isinstance(cls, str) and not (inspect.isclass(cls) and issubclass(cls, Agent)):
        raise TypeError(f"register_agent({name!r}, ...) needs a subclass of rl.Agent, got {cls!r}")
    if (name in _AGENTS or name in _ALIASES) and not overwrite:
        raise ConfigError(
            f"agent {name!r} is already registered; pass overwrite=True to replace it"
        )
    if name in _AGENTS:  # presets tuned for the class this name stood for do not carry over
        _PRESETS[:] = [p for p in _PRESETS if p.agent != name]
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
    then ``hyperparameters``. Settings that only make sense together (an agent class lists them in
    ``linked_hyperparameters``, e.g. Q-learning's exploration and epsilon) come from one place: set
    one of them yourself and the preset's values for the whole group are dropped.
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
        preset = preset_for(name, env)
        # e.g. Q-learning's (exploration, epsilon): your epsilon= replaces a preset's noisy-argmax
        for group in getattr(cls, "linked_hyperparameters", ()):
            if any(key in hyperparameters for key in group):
                for key in group:
                    preset.pop(key, None)
        params.update(preset)
    elif inspect.isclass(name) and issubclass(name, Agent):
        cls, params = name, {}
    else:
        raise TypeError(f"make_agent() needs an agent name or an rl.Agent subclass, got {name!r}")
    params.update(hyperparameters)
    _check_hyperparameters(cls, params, name if isinstance(name, str) else cls.__name__)
    return cls(observation_space, action_space, seed=seed, **params)


def _check_hyperparameters(cls: type[Agent], params: dict[str, Any], name: str) -> None:
    """Name a misspelt hyperparameter and list the real ones, instead of Python's bare TypeError."""
    try:
        signature = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return
    accepted = [
        p.name
        for p in list(signature.parameters.values())[1:]
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        and p.name not in ("observation_space", "action_space", "seed")
    ]
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ConfigError(
            f"agent {name!r} ({cls.__name__}) has no hyperparameter(s) {', '.join(map(repr, unknown))}"
            f"{did_you_mean(unknown[0], accepted)}; "
            f"its hyperparameters are: {', '.join(accepted) or '(none)'}"
        )


def registry_state() -> tuple[dict[str, AgentEntry], dict[str, str], list[Preset]]:
    """Every name, alias and preset known here: what a worker process adopts with
    :func:`set_registry_state`, so that names registered at run time (in a notebook) work there."""
    return dict(_AGENTS), dict(_ALIASES), list(_PRESETS)


def set_registry_state(state: tuple[dict[str, AgentEntry], dict[str, str], list[Preset]]) -> None:
    """Replace the names, aliases and presets with ``state`` from :func:`registry_state`."""
    agents, aliases, presets = state
    _AGENTS.clear()
    _AGENTS.update(agents)
    _ALIASES.clear()
    _ALIASES.update(aliases)
    _PRESETS[:] = presets


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

# Tabular presets for FrozenLake-v1 (README section "Tabular agents"; tests/test_tabular_learning.py
# checks each one learns). Not slippery: the course notebook's settings.
register_preset(
    "q-learning",
    "FrozenLake-v1",
    {"eta": 0.8, "gamma": 0.9, "exploration": "noisy-argmax"},
    match={"is_slippery": False},
    description="the course notebook's: eta 0.8, gamma 0.9, noisy argmax",
)
# Slippery: each move goes sideways 2 times in 3, so the TD targets are noisy. A learning rate
# that decays to 0.01 averages the noise out, gamma 0.99 values the long safe routes, and epsilon
# decays over the first 1500 episodes. Greedy success ~0.74 (the optimum) after 2000 episodes.
register_preset(
    "q-learning",
    "FrozenLake-v1",
    {
        "eta": {"kind": "linear", "start": 0.5, "end": 0.01, "duration": 2000, "unit": "episode"},
        "gamma": 0.99,
        "exploration": "epsilon-greedy",
        "epsilon": {
            "kind": "linear",
            "start": 1.0,
            "end": 0.01,
            "duration": 1500,
            "unit": "episode",
        },
    },
    match={"is_slippery": True},
    description="decaying eta and epsilon over 2000 episodes; greedy success ~0.74",
)
# PS, not slippery: a softmax over h (beta 1) turns the first few rewards into a near-greedy
# policy, where h / sum(h) keeps trying the wrong moves (~0.955 at the end instead of 1.0).
register_preset(
    "ps",
    "FrozenLake-v1",
    {"gamma": 0.0, "eta": 0.04, "policy": "softmax", "beta": 1.0},
    match={"is_slippery": False},
    description="softmax(h) hopping, glow eta 0.04, no damping",
)
# PS, slippery: PS learns only from rewarded episodes, and here luck decides most of them. The best
# of a sweep (benchmarks/ps_slippery.py) glows over the whole episode (eta 0.002) and hops by a
# mild softmax (beta 0.3); it reaches ~0.2 greedy success, a quarter of Q-learning's (README).
register_preset(
    "ps",
    "FrozenLake-v1",
    {"gamma": 0.0, "eta": 0.002, "policy": "softmax", "beta": 0.3},
    match={"is_slippery": True},
    description="best of benchmarks/ps_slippery.py: greedy success ~0.2, Q-learning's ~0.74",
)

# The DQN ladder: one class, each rung a set of switches (see rlladder.deep.dqn).
_DQN_RUNGS: dict[str, tuple[dict[str, Any], str]] = {
    "dqn-vanilla": (
        {"replay": False, "target": "none", "loss": "mse", "learning_starts": 0},
        "online deep Q-learning on the latest transition alone: no replay, no target, MSE",
    ),
    "dqn-replay": (
        {"replay": True, "target": "none", "loss": "mse"},
        "DQN + experience replay (random minibatches); no target network, MSE",
    ),
    "dqn-target": (
        {"replay": True, "target": "hard", "loss": "mse"},
        "DQN + replay + a target network copied every N updates; MSE",
    ),
    "dqn": (
        {"replay": True, "target": "hard", "loss": "huber"},
        "DQN: replay + target network + Huber loss",
    ),
    "double-dqn": (
        {"replay": True, "target": "hard", "loss": "huber", "double": True},
        "Double DQN: online net picks a', target net values it",
    ),
    "dueling-dqn": (
        {"replay": True, "target": "hard", "loss": "huber", "dueling": True},
        "Dueling DQN: Q = V(s) + A(s,a) - mean A",
    ),
}
# Tuned on CartPole-v1 with benchmarks/dqn_cartpole.py: with the `dqn` rung, 18 of seeds 0-19
# reach a 100-episode training average of 475 within 100k steps, and 18 end greedy >= 475.
# Shared by every rung so that the ladder compares switches, not tuning. A rung's own switches
# win over these.
_DQN_CARTPOLE: dict[str, Any] = {
    "hidden_sizes": (128, 128),
    # annealed to exactly 0 by 70k steps: the network stops chasing its own targets once it
    # balances, instead of forgetting what it learnt (see README, "catastrophic forgetting");
    # even 1e-6 left room for a late collapse (3 of 20 seeds with gamma 0.995)
    "learning_rate": {"kind": "linear", "start": 5e-4, "end": 0.0, "duration": 70_000},
    "batch_size": 128,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "train_every": 1,
    "target_update_every": 250,
    "max_grad_norm": 10.0,
    # Huber with delta 1 weighs a failure (a TD error near Q, tens to 200 here) no more than an
    # ordinary step's error of 1, so the rare transitions that say where the pole falls are
    # drowned out: 5/10 seeds reached 475 with delta 1, 10/10 with delta 10 (gamma 0.99 then;
    # README, "Huber").
    "huber_delta": 10.0,
    # A horizon of about 200 steps, not 100: a failure 300 steps after a choice weighs
    # 0.995**300 = 22% in its value, against 0.99**300 = 5%. With 0.99, 3 of 20 seeds had not
    # reached 475 by 100k steps; with 0.995, 1 of 20 (both with lr ending at 1e-6; README,
    # "How far ahead").
    "gamma": 0.995,
    "epsilon": {"kind": "linear", "start": 1.0, "end": 0.01, "duration": 10_000},
}
for _name, (_switches, _description) in _DQN_RUNGS.items():
    register_agent(_name, "rlladder.deep.dqn:DQN", defaults=_switches, description=_description)
    register_preset(
        _name,
        "CartPole-v1",
        {k: v for k, v in _DQN_CARTPOLE.items() if k not in _switches},
        description="tuned on CartPole-v1 for 100k env steps",
    )
