"""What to run: an experiment is a value, written in Python or in a TOML file.

::

    exp = rl.Experiment(
        env="FrozenLake-v1", env_kwargs={"is_slippery": False},
        variants={"Q-learning": rl.Variant("q-learning", eta=0.8, gamma=0.9),
                  "PS": rl.Variant("ps"), "mine": rl.Variant(MyAgent)},
        runs=30, episodes=500, seed=0,
    )

The same experiment in TOML (``rlladder run my_experiment.toml``)::

    name = "mine"
    env = "FrozenLake-v1"
    runs = 30
    episodes = 500          # or: steps = 50_000
    seed = 0
    max_episode_steps = 99

    [env_kwargs]
    is_slippery = false

    [variants.Q-learning]
    agent = "q-learning"
    eta = 0.8               # every other key is a hyperparameter of the agent
    gamma = 0.9

    [variants.PS]
    agent = "ps"

    [variants.mine]
    agent = "my_package.agents:MyAgent"   # your own rl.Agent subclass, as "module:Class"

Run ``r`` of every variant gets the same seed (common random numbers): the ``r``-th child of
``numpy.random.SeedSequence(seed)``. Comparing variants run by run then compares the algorithms, not
the luck of their seeds.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.errors import ConfigError, UnknownNameError, check_int, did_you_mean
from rlladder.interface import Agent

__all__ = ["Experiment", "Variant", "run_seeds", "load_experiment", "resolve_target"]

_EXPERIMENT_KEYS = (
    "name",
    "env",
    "env_kwargs",
    "variants",
    "runs",
    "episodes",
    "steps",
    "seed",
    "max_episode_steps",
    "threshold",
)


def resolve_target(path: str, what: str) -> Any:
    """Import ``"package.module:attribute"`` (how a TOML file names your own class or function)."""
    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ConfigError(f"{what} {path!r} must look like 'package.module:Name'")
    try:
        value: Any = importlib.import_module(module)
        for part in attr.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise ConfigError(
            f"cannot import {what} {path!r} ({error}); is the module importable from here?"
        ) from None
    return value


def _qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function, as :func:`resolve_target` reads it back."""
    return f"{obj.__module__}:{obj.__qualname__}"


def _jsonable(value: Any) -> Any:
    """A JSON-friendly copy of a hyperparameter value (classes by name, other objects by repr)."""
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if inspect.isclass(value) or inspect.isfunction(value):
        return _qualified_name(value)
    return repr(value)


@dataclasses.dataclass(frozen=True, init=False)
class Variant:
    """One contender: an agent (registry name, :class:`~rlladder.Agent` subclass, ``"module:Class"``
    or a factory ``f(observation_space, action_space, *, seed, **hyperparameters)``) and its
    hyperparameters.

    Registered names get the tuned preset for the environment first; your keyword arguments win.
    """

    agent: str | type[Agent] | Callable[..., Agent]
    hyperparameters: dict[str, Any]

    def __init__(self, agent: str | type[Agent] | Callable[..., Agent], **hyperparameters: Any):
        if not (isinstance(agent, str) and agent) and not callable(agent):
            raise ConfigError(
                f"Variant needs an agent name (see rl.list_agents()), an rl.Agent subclass or a "
                f"factory function, got {agent!r}"
            )
        object.__setattr__(self, "agent", agent)
        object.__setattr__(self, "hyperparameters", dict(hyperparameters))

    def agent_name(self) -> str:
        """How the agent is written in the saved spec: its name, or ``module:Class``."""
        return self.agent if isinstance(self.agent, str) else _qualified_name(self.agent)

    def check(self, label: str) -> None:
        """Fail early, in the parent process, on an agent name nobody registered."""
        if isinstance(self.agent, str) and ":" not in self.agent:
            from rlladder.registry import resolve_agent

            try:
                resolve_agent(self.agent)
            except UnknownNameError as err:
                raise UnknownNameError(
                    f"variant {label!r}: {err}, or an rl.Agent subclass as 'module:Class'"
                ) from None

    def make(self, env: gym.Env, seed: int) -> Agent:
        """Build this variant's agent for ``env``, seeded."""
        from rlladder.registry import make_agent

        agent = self.agent
        if isinstance(agent, str) and ":" in agent:
            agent = resolve_target(agent, "agent")
        if isinstance(agent, str) or (inspect.isclass(agent) and issubclass(agent, Agent)):
            return make_agent(agent, env, seed=seed, **self.hyperparameters)
        made = agent(env.observation_space, env.action_space, seed=seed, **self.hyperparameters)
        if not isinstance(made, Agent):
            raise TypeError(f"agent factory {agent!r} returned {made!r}, not an rl.Agent")
        return made

    def to_dict(self) -> dict[str, Any]:
        """``{"agent": name, **hyperparameters}``, JSON-friendly (the TOML table of this variant)."""
        return {"agent": self.agent_name(), **_jsonable(self.hyperparameters)}

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self.hyperparameters.items())
        return f"Variant({self.agent_name()!r}{params})"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """Many runs of many variants on one environment.

    Args:
        env: a gymnasium id (``"FrozenLake-v1"``), ``"module:function"``, or a factory callable
            returning a fresh environment (define it at module level so worker processes can
            import it).
        env_kwargs: keyword arguments for ``gym.make`` (or the factory).
        variants: label -> :class:`Variant` (or just an agent name).
        runs: independent runs (seeds) per variant.
        episodes, steps: the training budget of each run, in episodes or env steps (exactly one).
        seed: the experiment seed; run ``r`` of every variant is seeded from its ``r``-th child.
        max_episode_steps: cut episodes after this many steps (as *truncated*).
        threshold: the reward a moving average must reach to count as "solved" in the summary
            (default: the environment's ``reward_threshold``, if it has one).
        name: a short name, used for the default results folder.
    """

    env: str | Callable[..., gym.Env]
    variants: Mapping[str, Variant | str]
    env_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    runs: int = 30
    episodes: int | None = None
    steps: int | None = None
    seed: int = 0
    max_episode_steps: int | None = None
    threshold: float | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        owner = "Experiment"
        if not (isinstance(self.env, str) and self.env) and not callable(self.env):
            raise ConfigError(
                f"{owner}: env must be a gymnasium id such as 'FrozenLake-v1', 'module:function', "
                f"or a function returning an environment, got {self.env!r}"
            )
        if not isinstance(self.env_kwargs, Mapping):
            raise ConfigError(f"{owner}: env_kwargs must be a table/dict, got {self.env_kwargs!r}")
        if not isinstance(self.variants, Mapping) or not self.variants:
            raise ConfigError(
                f"{owner}: variants must be a non-empty dict label -> rl.Variant(...), "
                f"got {self.variants!r}"
            )
        variants: dict[str, Variant] = {}
        for label, variant in self.variants.items():
            if not isinstance(label, str) or not label:
                raise ConfigError(
                    f"{owner}: variant labels must be non-empty strings, got {label!r}"
                )
            if isinstance(variant, str):
                variant = Variant(variant)
            if not isinstance(variant, Variant):
                raise ConfigError(
                    f"{owner}: variant {label!r} must be rl.Variant(...) or an agent name, "
                    f"got {variant!r}"
                )
            variant.check(label)
            variants[label] = variant
        object.__setattr__(self, "variants", variants)
        object.__setattr__(self, "env_kwargs", dict(self.env_kwargs))
        check_int("runs", self.runs, 1, owner=owner)
        if (self.episodes is None) == (self.steps is None):
            raise ConfigError(
                f"{owner}: give exactly one budget, episodes= or steps= (e.g. episodes=500), "
                f"got episodes={self.episodes!r}, steps={self.steps!r}"
            )
        if self.episodes is not None:
            check_int("episodes", self.episodes, 1, owner=owner)
        if self.steps is not None:
            check_int("steps", self.steps, 1, owner=owner)
        if self.max_episode_steps is not None:
            check_int("max_episode_steps", self.max_episode_steps, 1, owner=owner)
        check_int("seed", self.seed, 0, owner=owner)
        if self.threshold is not None and (
            isinstance(self.threshold, bool) or not isinstance(self.threshold, int | float)
        ):
            raise ConfigError(f"{owner}: threshold must be a number, got {self.threshold!r}")
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ConfigError(f"{owner}: name must be a non-empty string, got {self.name!r}")

    # ----------------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """The variant labels, in the order they were given (the order of plots and tables)."""
        return list(self.variants)

    def env_name(self) -> str:
        """The environment as written in the saved spec: its id, or ``module:function``."""
        return self.env if isinstance(self.env, str) else _qualified_name(self.env)

    def make_env(self) -> gym.Env:
        """A fresh environment for one run."""
        env = self.env
        if isinstance(env, str) and ":" in env:
            env = resolve_target(env, "env factory")
        if isinstance(env, str):
            try:
                return gym.make(env, **self.env_kwargs)
            except gym.error.Error as error:
                raise ConfigError(f"cannot make environment {env!r}: {error}") from None
        made = env(**self.env_kwargs)
        if not (hasattr(made, "reset") and hasattr(made, "step")):
            raise TypeError(f"env factory {env!r} returned {made!r}, not a gymnasium environment")
        return made

    def reward_threshold(self) -> float | None:
        """``threshold``, else the environment's registered ``reward_threshold`` (or ``None``)."""
        if self.threshold is not None:
            return float(self.threshold)
        if isinstance(self.env, str) and ":" not in self.env:
            try:
                value = gym.spec(self.env).reward_threshold
            except gym.error.Error:
                return None
            return None if value is None else float(value)
        return None

    def run_seeds(self) -> list[int]:
        """The seed of each run: run ``r`` of every variant gets ``run_seeds()[r]``."""
        return run_seeds(self.seed, self.runs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (what ``spec.json`` in a results folder holds)."""
        return {
            "name": self.name,
            "env": self.env_name(),
            "env_kwargs": _jsonable(self.env_kwargs),
            "variants": {label: v.to_dict() for label, v in self.variants.items()},
            "runs": self.runs,
            "episodes": self.episodes,
            "steps": self.steps,
            "seed": self.seed,
            "max_episode_steps": self.max_episode_steps,
            "threshold": self.threshold,
        }

    def identity(self) -> dict[str, Any]:
        """What must match for two experiments to share a results folder: everything but the
        number of runs (more runs extend a folder) and the name."""
        spec = self.to_dict()
        spec.pop("runs")
        spec.pop("name")
        return json.loads(json.dumps(spec))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "experiment") -> Experiment:
        """Build an experiment from a dict shaped like :meth:`to_dict` (or a parsed TOML file)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: expected a table of experiment settings, got {data!r}")
        unknown = [k for k in data if k not in _EXPERIMENT_KEYS]
        if unknown:
            raise ConfigError(
                f"{source}: unknown key {unknown[0]!r}{did_you_mean(unknown[0], _EXPERIMENT_KEYS)}; "
                f"known keys: {', '.join(_EXPERIMENT_KEYS)}"
            )
        if "env" not in data or "variants" not in data:
            missing = "env" if "env" not in data else "variants"
            raise ConfigError(f"{source}: missing key {missing!r}")
        raw_variants = data["variants"]
        if not isinstance(raw_variants, Mapping):
            raise ConfigError(
                f"{source}: key 'variants' must be a table of [variants.LABEL] tables, "
                f"got {raw_variants!r}"
            )
        variants: dict[str, Variant] = {}
        for label, table in raw_variants.items():
            if isinstance(table, str):
                table = {"agent": table}
            if not isinstance(table, Mapping) or not isinstance(table.get("agent"), str):
                raise ConfigError(
                    f"{source}: [variants.{label}] needs a key 'agent' naming the agent "
                    f'(e.g. agent = "q-learning"), got {table!r}'
                )
            params = dict(table)
            variants[label] = Variant(params.pop("agent"), **params)
        fields = {k: v for k, v in data.items() if k != "variants"}
        for key, kinds, text in (
            ("env", str, "a string"),
            ("name", str, "a string"),
            ("env_kwargs", Mapping, "a table"),
        ):
            if key in fields and fields[key] is not None and not isinstance(fields[key], kinds):
                raise ConfigError(f"{source}: key {key!r} must be {text}, got {fields[key]!r}")
        try:
            return cls(variants=variants, **fields)
        except ConfigError as error:
            raise ConfigError(f"{source}: {error}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> Experiment:
        """Read an experiment from a TOML file; the file's stem is the default ``name``."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"no experiment file {str(path)!r}") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(_toml_error(path, text, error)) from None
        data.setdefault("name", path.stem)
        return cls.from_dict(data, source=str(path))

    def replace(self, **changes: Any) -> Experiment:
        """A copy with some fields changed; ``episodes=``/``steps=`` switch the budget."""
        if changes.get("episodes") is not None:
            changes.setdefault("steps", None)
        if changes.get("steps") is not None:
            changes.setdefault("episodes", None)
        return dataclasses.replace(self, **changes)


def _toml_error(path: Path, text: str, error: tomllib.TOMLDecodeError) -> str:
    """``path:LINE: malformed TOML at key 'KEY': why`` and the offending line, for a student."""
    found = re.search(r"line (\d+)", str(error))
    if found is None:
        return f"{path}: malformed TOML: {error}"
    number = int(found.group(1))
    lines = text.splitlines()
    line = lines[number - 1].strip() if 0 < number <= len(lines) else ""
    key = re.match(r"\s*([A-Za-z0-9_.\"'-]+)\s*=", line)
    where = f" at key {key.group(1).strip(chr(34))!r}" if key else ""
    return f"{path}:{number}: malformed TOML{where} (line {number}: {line!r}): {error}"


def run_seeds(seed: int, runs: int) -> list[int]:
    """Seed of each run: the first 32-bit word of the ``r``-th ``SeedSequence(seed)`` child.

    Children are independent streams and run ``r``'s seed does not depend on ``runs``, so
    adding runs to an experiment keeps the seeds of those already done.
    """
    children = np.random.SeedSequence(seed).spawn(runs)
    return [int(child.generate_state(1)[0]) for child in children]


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment from a TOML file (see :meth:`Experiment.from_toml`)."""
    return Experiment.from_toml(path)
