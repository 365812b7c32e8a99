"""Agent names, the classes behind them, and tuned presets per environment.

::

    agent = rl.make_agent("q-learning", env, seed=0)        # the preset for env, if there is one
    agent = rl.make_agent("q-learning", env, eta=0.5)       # ... with eta overridden
    rl.list_agents()                                        # every name
    rl.register_agent("mine", MyAgent)                      # your own class, by name, everywhere

A *preset* is a set of hyperparameters tuned for one environment (``FrozenLake-v1`` with
``is_slippery=False``, ``CartPole-v1``, ...). ``make_agent`` merges, later winning: the agent's
defaults, the best-matching preset, then your keyword arguments
(:func:`resolve_hyperparameters` shows the result without building the agent). The built-in
agents and presets are data, in ``rlladder/presets/*.toml``.
"""

from __future__ import annotations

import copy
import inspect
import warnings
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlladder.errors import (
    ConfigError,
    UnknownNameError,
    UntunedWarning,
    did_you_mean,
    unknown_name,
)
from rlladder.interface import Agent
from rlladder.user_code import FORMS, is_import_target, resolve_target

__all__ = [
    "make_agent",
    "resolve_hyperparameters",
    "hyperparameter_sources",
    "list_agents",
    "register_agent",
    "register_preset",
    "resolve_agent",
    "canonical_name",
    "agent_target",
    "preset_for",
    "preset_fit",
    "untuned_problem",
    "PresetFit",
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
            self.target = resolve_target(self.target, "agent")
        return self.target  # type: ignore[return-value]


@dataclass
class Preset:
    """Hyperparameters for ``agent`` on ``env_id`` when the env's kwargs include ``match``;
    ``tuned_on``: the env kwargs it was tuned with (its provenance; ``match`` if not given)."""

    agent: str
    env_id: str
    hyperparameters: dict[str, Any]
    match: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    tuned_on: dict[str, Any] | None = None

    def tuned_for(self) -> str:
        """Where it was tuned, in a few words: ``"FrozenLake-v1, 4x4, slippery"``."""
        kwargs = self.match if self.tuned_on is None else self.tuned_on
        return ", ".join([self.env_id, *(_kwarg_words(k, v) for k, v in kwargs.items())])


def _kwarg_words(key: str, value: Any) -> str:
    """``map_name="4x4"`` -> ``4x4``; ``is_slippery=True`` -> ``slippery`` (False: ``not
    slippery``); anything else ``key=value``."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) and key.startswith("is_"):
        return key[3:] if value else f"not {key[3:]}"
    return f"{key}={value!r}"


#: Env kwargs that change how an environment looks, not what it is: never "not tuned for".
_COSMETIC_KWARGS = ("render_mode",)


@dataclass(frozen=True)
class PresetFit:
    """How the presets of an agent name fit an environment (:func:`preset_fit`).

    Attributes:
        agent: the agent's registered name.
        env_id: the environment's gymnasium id (``None``: it has none).
        preset: the preset that applies (``None``: none does).
        differences: env kwargs where the environment differs from the one the preset was tuned
            on: ``{key: (tuned, now)}``.
    """

    agent: str
    env_id: str | None
    preset: Preset | None
    differences: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def tuned(self) -> bool:
        """Whether a preset applies and was tuned on this very environment."""
        return self.preset is not None and not self.differences

    def label(self) -> str:
        """What a preset value is, for ``rlladder show``: ``"tuned for FrozenLake-v1, 4x4,
        slippery"``, with ``"; not for map_name='8x8'"`` where the environment differs."""
        if self.preset is None:
            return "no preset"
        text = f"tuned for {self.preset.tuned_for()}"
        if self.differences:
            text += f"; not for {', '.join(_kwarg_words(k, now) for k, (_, now) in self.differences.items())}"
        return text

    def problem(self) -> str | None:
        """One line saying the agent's hyperparameters are not tuned for this environment, or
        ``None`` where they are."""
        where = self.env_id or "an environment without a gymnasium id"
        if self.preset is None:
            cls = resolve_agent(self.agent)[0]
            return f"no preset for {self.agent} on {where}: {cls.__name__}'s defaults, not tuned"
        if self.differences:
            return (
                f"the preset for {self.agent} was tuned for {self.preset.tuned_for()}, not for "
                f"{_differences(self.differences)}: its values are not tuned for this environment"
            )
        return None


def _differences(differences: dict[str, tuple[Any, Any]]) -> str:
    return ", ".join(f"{k}={now!r}" for k, (_, now) in differences.items())


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
    tuned_on: dict[str, Any] | None = None,
) -> None:
    """Tune ``agent`` for ``env_id`` (optionally only when the env was made with ``match`` kwargs).

    ``tuned_on`` records the env kwargs the values were tuned with (default: ``match``): where
    an environment's kwargs differ from them (say ``map_name="8x8"`` for a preset tuned on the
    4x4 map), :func:`make_agent` warns that the values are not tuned for it.
    """
    _PRESETS.append(
        Preset(
            agent,
            env_id,
            dict(hyperparameters),
            dict(match or {}),
            description,
            None if tuned_on is None else dict(tuned_on),
        )
    )


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


def canonical_name(name: str) -> str:
    """The registered name ``name`` stands for (itself, or what an alias points to)."""
    return _canonical(name)


def agent_target(text: str) -> Any:
    """An agent given as a string: a registered name stays a name (checked to be registered);
    ``module:Class`` and ``path/to/file.py:Class`` are imported by
    :func:`rlladder.user_code.resolve_target`, the one rule for your own code.

    Returns:
        The name, or what the import target names: an :class:`~rlladder.Agent` subclass or a
        factory function.

    Raises:
        UnknownNameError: a name nobody registered (the message lists the registered ones).
        ConfigError: an import target that does not import.
        TypeError: it names a class that does not subclass :class:`~rlladder.Agent`.
    """
    if is_import_target(text):
        value = resolve_target(text, "agent")
        if inspect.isclass(value) and not issubclass(value, Agent):
            raise TypeError(
                f"agent {text!r} is the class {value.__name__}, which does not subclass rl.Agent: "
                f"define it as class {value.__name__}(rl.Agent), with act() and learn()"
            )
        return value
    try:
        canonical_name(text)
    except UnknownNameError as err:
        raise UnknownNameError(f"{err}; or your own rl.Agent subclass as {FORMS}") from None
    return text


def resolve_agent(name: str) -> tuple[type[Agent], dict[str, Any]]:
    """The class and default hyperparameters behind an agent name."""
    entry = _AGENTS[_canonical(name)]
    return entry.cls(), dict(entry.defaults)


def _constructor_defaults(env: gym.Env) -> dict[str, Any]:
    """The keyword defaults of the env class's constructor."""
    try:
        params = inspect.signature(type(env.unwrapped).__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _env_kwargs(env: gym.Env) -> dict[str, Any]:
    """The kwargs the env was made with, including its constructor's defaults."""
    kwargs = _constructor_defaults(env)
    spec = getattr(env, "spec", None)
    if spec is not None:
        kwargs.update(spec.kwargs or {})
    return kwargs


def _best_preset(name: str, env: gym.Env | None) -> Preset | None:
    spec = getattr(env, "spec", None) if env is not None else None
    if spec is None:
        return None
    kwargs = _env_kwargs(env)  # type: ignore[arg-type]
    best: Preset | None = None
    for preset in _PRESETS:
        if preset.agent != name or preset.env_id != spec.id:
            continue
        if any(kwargs.get(k, object()) != v for k, v in preset.match.items()):
            continue
        if best is None or len(preset.match) >= len(best.match):
            best = preset
    return best


def preset_for(name: str, env: gym.Env | None) -> dict[str, Any]:
    """The hyperparameters of the best-matching preset of agent ``name`` for ``env`` ({} if none)."""
    best = _best_preset(_canonical(name), env)
    return copy.deepcopy(best.hyperparameters) if best else {}


def preset_fit(name: str, env: gym.Env) -> PresetFit:
    """Whether agent ``name``'s preset for ``env`` was tuned on ``env``: which preset applies,
    and the env kwargs where ``env`` differs from the environment it was tuned on (those of
    its ``tuned_on``, and every other kwarg away from its default; ``render_mode`` aside).

    >>> preset_fit("q-learning", gym.make("FrozenLake-v1", map_name="8x8")).problem()
    "the preset for q-learning was tuned for FrozenLake-v1, 4x4, slippery, not for map_name='8x8': its values are not tuned for this environment"
    """
    name = _canonical(name)
    spec = getattr(env, "spec", None)
    preset = _best_preset(name, env)
    if preset is None:
        return PresetFit(name, getattr(spec, "id", None), None)
    defaults = _constructor_defaults(env)
    registered = dict(gym.spec(preset.env_id).kwargs or {})
    tuned_on = preset.match if preset.tuned_on is None else preset.tuned_on
    tuned = _plain({**defaults, **registered, **tuned_on})
    now = _plain(_env_kwargs(env))
    differences = {
        key: (tuned.get(key), now.get(key))
        for key in list(now) + [k for k in tuned if k not in now]
        if key not in _COSMETIC_KWARGS and tuned.get(key) != now.get(key)
    }
    return PresetFit(name, spec.id, preset, differences)


def _has_presets(name: str) -> bool:
    return any(preset.agent == name for preset in _PRESETS)


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively, so that ``(1, 0, 0)`` and ``[1, 0, 0]`` compare equal."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _layers(
    name: str | type[Agent], env: gym.Env | None, overrides: dict[str, Any]
) -> tuple[type[Agent], str, list[tuple[str, dict[str, Any]]]]:
    """The class, its display name, and the hyperparameter layers, later winning."""
    if isinstance(name, str):
        canonical = _canonical(name)
        entry = _AGENTS[canonical]
        cls = entry.cls()
        preset = preset_for(canonical, env)
        # e.g. Q-learning's (exploration, epsilon): your epsilon= replaces a preset's noisy-argmax
        for group in getattr(cls, "linked_hyperparameters", ()):
            if any(key in overrides for key in group):
                for key in group:
                    preset.pop(key, None)
        layers = [
            ("default", cls.default_hyperparameters()),
            ("agent", dict(entry.defaults)),
            ("preset", preset),
            ("given", dict(overrides)),
        ]
        return cls, name, layers
    if inspect.isclass(name) and issubclass(name, Agent):
        return (
            name,
            name.__name__,
            [
                ("default", name.default_hyperparameters()),
                ("given", dict(overrides)),
            ],
        )
    raise TypeError(f"make_agent() needs an agent name or an rl.Agent subclass, got {name!r}")


def resolve_hyperparameters(
    name: str | type[Agent], env: gym.Env | None = None, **overrides: Any
) -> dict[str, Any]:
    """Every hyperparameter an agent ``name`` (or class) gets on ``env``, without building it.

    Merged, later winning: the class's :meth:`~rlladder.Agent.default_hyperparameters`, the
    name's defaults (e.g. a DQN rung's switches), the best-matching preset for ``env``, then
    ``overrides``. Settings that only make sense together (an agent class lists them in
    ``linked_hyperparameters``, e.g. Q-learning's exploration and epsilon) come from one place:
    set one of them yourself and the preset's values for the whole group are dropped.
    :func:`make_agent` builds the agent from exactly this dict. Values are as given (a
    ``Schedule`` stays one); :meth:`rlladder.Variant.resolve` turns them into plain values.

    >>> resolve_hyperparameters("q-learning", gym.make("FrozenLake-v1", is_slippery=False))["eta"]
    0.8
    """
    cls, display, layers = _layers(name, env, overrides)
    params: dict[str, Any] = {}
    for _, layer in layers:
        params.update(layer)
    _check_hyperparameters(cls, params, display)
    return params


def hyperparameter_sources(
    name: str | type[Agent], env: gym.Env | None = None, **overrides: Any
) -> dict[str, str]:
    """Where each of :func:`resolve_hyperparameters`'s values comes from: ``"default"`` (the
    class), ``"agent"`` (the name's defaults), ``"preset"`` or ``"given"`` (``overrides``)."""
    _, _, layers = _layers(name, env, overrides)
    return {key: source for source, layer in layers for key in layer}


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

    Its hyperparameters are :func:`resolve_hyperparameters` of ``name``, ``env`` and
    ``hyperparameters``: the class's defaults, the name's, the preset for ``env`` if one
    matches, then yours.
    """
    if env is not None:
        if not hasattr(env, "observation_space"):
            raise TypeError(f"make_agent() needs a gymnasium environment as env, got {env!r}")
        observation_space = observation_space or env.observation_space
        action_space = action_space or env.action_space
    if observation_space is None or action_space is None:
        raise ConfigError("make_agent() needs env= or both observation_space= and action_space=")
    cls = resolve_agent(name)[0] if isinstance(name, str) else name
    params = resolve_hyperparameters(name, env, **hyperparameters)
    if isinstance(name, str) and env is not None:
        untuned = untuned_problem(name, env, **hyperparameters)
        if untuned is not None:
            warnings.warn(untuned, UntunedWarning, stacklevel=2)
    return cls(observation_space, action_space, seed=seed, **params)


def untuned_problem(name: str, env: gym.Env, **overrides: Any) -> str | None:
    """The line :func:`make_agent` warns with when agent ``name`` on ``env`` gets values that
    were not tuned for ``env`` (no preset applies, or it was tuned on other env kwargs), or
    ``None``: a preset tuned on ``env`` applies, or ``overrides`` give every value the class's
    defaults (or the untuned preset) would, or the name is your own class and has no preset
    anywhere (its defaults are yours)."""
    fit = preset_fit(name, env)
    if fit.tuned:
        return None
    if fit.preset is None and not _has_presets(fit.agent):
        module = resolve_agent(fit.agent)[0].__module__
        if module != "rlladder" and not module.startswith("rlladder."):
            return None  # your own class, with no preset anywhere: its defaults are yours
    sources = hyperparameter_sources(name, env, **overrides)
    untuned = "default" if fit.preset is None else "preset"
    if untuned not in sources.values():
        return None
    return fit.problem()


def _check_hyperparameters(cls: type[Agent], params: dict[str, Any], name: str) -> None:
    """Name a misspelt hyperparameter and list the real ones, instead of Python's bare TypeError.

    A class that takes ``**kwargs`` is checked against its ``default_hyperparameters()`` when it
    lists them itself (``DQN``), and not at all otherwise.
    """
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
        own = getattr(cls.default_hyperparameters, "__func__", None)
        if own is Agent.default_hyperparameters.__func__:
            return
        accepted = list(cls.default_hyperparameters())
        unknown = sorted(set(params) - set(accepted))
        if unknown:  # e.g. DQN: its keywords are DQNConfig's fields (config= is for DQN(...))
            raise unknown_name(f"{cls.__name__} hyperparameter", unknown[0], accepted)
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
# Built-in agents and presets: data, one TOML file per family (rlladder/presets/). Classes are
# imported on first use, so `import rlladder` does not import torch.
# --------------------------------------------------------------------------------------------


def _register_builtins() -> None:
    from rlladder.presets import load_families

    for family in load_families():
        for agent in family.agents.values():
            register_agent(
                agent.name, agent.target, defaults=agent.defaults, description=agent.description
            )
            for alias in agent.aliases:
                _ALIASES[alias] = agent.name
        for preset in family.presets:
            for name in preset.agents:
                register_preset(
                    name,
                    preset.env_id,
                    preset.for_agent(family.agents[name]),
                    match=preset.match,
                    description=preset.description,
                    tuned_on=preset.tuned_on,
                )


_register_builtins()
