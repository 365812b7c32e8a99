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
    eval_every = 50         # greedy evaluation every 50 episodes (env steps for a steps budget)
    eval_episodes = 10      # ... of 10 episodes each, and once more at the end

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

A hyperparameter that must be ``None`` is listed in its table's ``none = ["max_grad_norm"]``
(TOML has no null). ``rlladder show`` writes such a file with every hyperparameter resolved.

Run ``r`` of every variant gets the same seed (common random numbers): the ``r``-th child of
``numpy.random.SeedSequence(seed)``. Comparing variants run by run then compares the algorithms, not
the luck of their seeds.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.errors import ConfigError, UnknownNameError, check_int, did_you_mean, unknown_name
from rlladder.experiments.values import canonical, plain, qualified_name, same
from rlladder.interface import Agent
from rlladder.registry import agent_target
from rlladder.user_code import is_import_target, resolve_target

__all__ = [
    "Experiment",
    "Variant",
    "run_seeds",
    "load_experiment",
    "apply_settings",
    "registered_spec",
    "SETTABLE_FIELDS",
    "NONE_KEY",
]

#: The key of a [variants.LABEL] table that lists the hyperparameters set to None (TOML has no null).
NONE_KEY = "none"

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
    "eval_every",
    "eval_episodes",
)


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
        return self.agent if isinstance(self.agent, str) else qualified_name(self.agent)

    def check(self, label: str) -> None:
        """Fail early, in the parent process, on an agent name nobody registered."""
        if isinstance(self.agent, str) and not is_import_target(self.agent):
            try:
                agent_target(self.agent)
            except UnknownNameError as err:
                raise UnknownNameError(f"variant {label!r}: {err}") from None

    def _target(self) -> str | type[Agent] | Callable[..., Agent]:
        """The agent: a registry name, an Agent subclass, or a factory (``module:Name`` and
        ``path/to/file.py:Name`` imported by :func:`rlladder.user_code.resolve_target`)."""
        if isinstance(self.agent, str) and is_import_target(self.agent):
            return agent_target(self.agent)
        return self.agent

    @property
    def agent_code(self) -> type[Agent] | Callable[..., Agent]:
        """The class (a registry name resolved) or factory function that builds this variant's
        agent: the code a results folder fingerprints when it is yours
        (:mod:`~rlladder.experiments.fingerprints`)."""
        target = self._target()
        return _agent_class(target) if isinstance(target, str) else target

    @property
    def is_factory(self) -> bool:
        """Whether the agent is a factory function: only the keyword arguments it is given are
        known, not the defaults it fills in itself."""
        target = self._target()
        return not isinstance(target, str) and not (
            inspect.isclass(target) and issubclass(target, Agent)
        )

    def hyperparameters_for(self, env: gym.Env) -> dict[str, Any]:
        """Every hyperparameter this variant's agent gets on ``env``, as given (a Schedule stays
        one): :func:`rlladder.registry.resolve_hyperparameters`, or just the keyword arguments of
        a factory."""
        from rlladder.registry import resolve_hyperparameters

        if self.is_factory:
            return dict(self.hyperparameters)
        return resolve_hyperparameters(self._target(), env, **self.hyperparameters)

    def resolve(self, env: gym.Env) -> dict[str, Any]:
        """``{"agent": name, **every hyperparameter}`` on ``env``, in plain TOML/JSON values,
        without training: what ``spec.json`` records and ``rlladder show`` prints.

        Merged, later winning: the class's defaults, the name's, the preset for ``env``, then
        this variant's keyword arguments. A factory function gives only its keyword arguments
        (see :attr:`is_factory`).
        """
        from rlladder.registry import canonical_name

        agent = self.agent_name()
        if isinstance(self.agent, str) and ":" not in self.agent:
            agent = canonical_name(self.agent)  # an alias records the name it stands for
        return {"agent": agent, **canonical(self.hyperparameters_for(env))}

    def sources(self, env: gym.Env) -> dict[str, str]:
        """Where each resolved hyperparameter comes from (see
        :func:`rlladder.registry.hyperparameter_sources`); ``"given"`` for a factory's."""
        from rlladder.registry import hyperparameter_sources

        if self.is_factory:
            return {key: "given" for key in self.hyperparameters}
        return hyperparameter_sources(self._target(), env, **self.hyperparameters)

    def pinned(self, env: gym.Env) -> Variant:
        """The same agent on ``env`` with every hyperparameter given explicitly, and the class in
        place of its registry name: it builds the same agent wherever it is unpickled, whatever
        that process's registry holds."""
        if self.is_factory:
            return self
        return Variant(self.agent_code, **self.hyperparameters_for(env))

    def make(self, env: gym.Env, seed: int) -> Agent:
        """Build this variant's agent for ``env``, seeded."""
        from rlladder.registry import make_agent

        agent = self._target()
        if not self.is_factory:
            return make_agent(agent, env, seed=seed, **self.hyperparameters)
        made = agent(env.observation_space, env.action_space, seed=seed, **self.hyperparameters)
        if not isinstance(made, Agent):
            raise TypeError(f"agent factory {agent!r} returned {made!r}, not an rl.Agent")
        return made

    def with_hyperparameter(self, key: str, value: Any) -> Variant:
        """A copy with ``key`` set to ``value`` (``key="agent"`` swaps the agent)."""
        if key == "agent":
            return Variant(value, **self.hyperparameters)
        return Variant(self.agent, **{**self.hyperparameters, key: value})

    def to_dict(self) -> dict[str, Any]:
        """``{"agent": name, **hyperparameters}``, JSON-friendly (the TOML table of this variant)."""
        return {"agent": self.agent_name(), **plain(self.hyperparameters)}

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
        eval_every: evaluate greedily every this many env steps (for a ``steps=`` budget) or
            episodes (for an ``episodes=`` budget), at the end of the training episode that
            reaches the point; ``None`` (the default): only once, at the end of training.
            Needs ``eval_episodes``.
        eval_episodes: greedy episodes each evaluation plays (:func:`rl.evaluate` on a separate
            environment seeded from the run's seed; the agent is left unchanged), at every
            ``eval_every`` and at the end of training; ``None`` or 0 (the default): no
            evaluation (stored as ``None``). See :mod:`rlladder.experiments.evaluation`.
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
    eval_every: int | None = None
    eval_episodes: int | None = None
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
        self._check_evaluation(owner)
        if self.name is not None and (not isinstance(self.name, str) or not self.name):
            raise ConfigError(f"{owner}: name must be a non-empty string, got {self.name!r}")

    def _check_evaluation(self, owner: str) -> None:
        if self.eval_episodes is not None:
            episodes = check_int("eval_episodes", self.eval_episodes, 0, owner=owner)
            # 0 and None both mean: no evaluation
            object.__setattr__(self, "eval_episodes", episodes or None)
        if self.eval_every is not None:
            every = check_int("eval_every", self.eval_every, 1, owner=owner)
            object.__setattr__(self, "eval_every", every)
            if self.eval_episodes is None:
                unit = "env steps" if self.steps is not None else "episodes"
                raise ConfigError(
                    f"{owner}: eval_every={self.eval_every} ({unit}) needs eval_episodes, the "
                    f"greedy episodes each evaluation plays, e.g. eval_episodes=10; or leave "
                    "eval_every out for no evaluation"
                )

    # ----------------------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """The variant labels, in the order they were given (the order of plots and tables)."""
        return list(self.variants)

    def env_name(self) -> str:
        """The environment as written in the saved spec: its id, or ``module:function``."""
        return self.env if isinstance(self.env, str) else qualified_name(self.env)

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

    def run_seeds(self) -> list[int]:
        """The seed of each run: run ``r`` of every variant gets ``run_seeds()[r]``."""
        return run_seeds(self.seed, self.runs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description (what ``spec.json`` in a results folder holds)."""
        return {
            "name": self.name,
            "env": self.env_name(),
            "env_kwargs": plain(self.env_kwargs),
            "variants": {label: v.to_dict() for label, v in self.variants.items()},
            "runs": self.runs,
            "episodes": self.episodes,
            "steps": self.steps,
            "seed": self.seed,
            "max_episode_steps": self.max_episode_steps,
            "threshold": self.threshold,
            "eval_every": self.eval_every,
            "eval_episodes": self.eval_episodes,
        }

    def resolve(self) -> dict[str, dict[str, Any]]:
        """Each variant's ``{"agent": name, **every hyperparameter}``, in plain values, without
        training (see :meth:`Variant.resolve`): what ``spec.json`` records as ``resolved``."""
        env = self.make_env()
        try:
            return {label: _in_variant(label, v.resolve, env) for label, v in self.variants.items()}
        finally:
            env.close()

    def identity(self) -> dict[str, Any]:
        """What must match for two experiments to share a results folder: everything but the
        number of runs (more runs extend a folder) and the name, with each variant as its
        resolved hyperparameters (how it was written does not matter, what it runs does)."""
        spec = self.to_dict()
        spec.pop("runs")
        spec.pop("name")
        spec["variants"] = self.resolve()
        return spec

    def pinned(self) -> Experiment:
        """The same experiment with every variant :meth:`Variant.pinned`: each agent's class and
        all of its hyperparameters given explicitly (what the runner sends to its workers)."""
        env = self.make_env()
        try:
            variants = {
                label: _in_variant(label, v.pinned, env) for label, v in self.variants.items()
            }
        finally:
            env.close()
        return dataclasses.replace(self, variants=variants)

    def differences(self, saved: Mapping[str, Any]) -> list[str]:
        """How this experiment differs from the one a results folder's ``spec.json`` document
        holds, one phrase per difference (``[]``: the same experiment), for example
        ``"variant '+ Huber (DQN)': huber_delta 1.0 -> 10.0 (the preset for dqn on CartPole-v1
        changed)"``. Where a variant's own settings did not change, the phrase says what did.
        A hyperparameter that ``spec.json`` lacks because a later rlladder added it (DQN's
        ``n_step``, say) is no difference while it keeps its class's default, which does what the
        version without it did.
        """
        from rlladder import __version__

        ours = self.identity()
        theirs = {k: v for k, v in saved["experiment"].items() if k not in ("runs", "name")}
        theirs["variants"] = saved["resolved"]
        top = sorted(
            k
            for k in set(ours) | set(theirs)
            if k != "variants" and not same(ours.get(k), theirs.get(k))
        )
        changes = [
            f"{k} {_show(theirs.get(k, _UNSET))} -> {_show(ours.get(k, _UNSET))}" for k in top
        ]
        now, then = ours["variants"], theirs["variants"]
        if list(now) != list(then):
            changes.append(f"variants {list(then)} -> {list(now)}")
            return changes
        version = saved.get("rlladder_version")
        written = f"; it was written by rlladder {version}" if version != __version__ else ""
        given_then = saved["experiment"].get("variants", {})
        env = self.make_env()
        try:
            for label, variant in self.variants.items():
                changed = _changed_keys(then[label], now[label])
                if changed:  # a knob a later rlladder added, at the class's default, is no change
                    sources = variant.sources(env)
                    changed = [
                        k for k in changed if k in then[label] or sources.get(k) != "default"
                    ]
                if not changed:
                    continue
                given_now = variant.to_dict()
                if same(given_now, given_then.get(label)):
                    cause = self._cause(variant, env, changed) + written
                else:
                    own = _changed_keys(given_then.get(label, {}), given_now)
                    cause = f"the variant's own {', '.join(own)} changed"
                steps = ", ".join(
                    f"{k} {_show(then[label].get(k, _UNSET))} -> {_show(now[label].get(k, _UNSET))}"
                    for k in changed
                )
                changes.append(f"variant {label!r}: {steps} ({cause})")
        finally:
            env.close()
        return changes

    def _cause(self, variant: Variant, env: gym.Env, changed: list[str]) -> str:
        """Why a variant whose own settings did not change resolves differently now."""
        agent = variant.agent_name()
        where = self.env_name()
        if self.env_kwargs:
            where += f" ({', '.join(f'{k}={v!r}' for k, v in self.env_kwargs.items())})"
        sources = {k: variant.sources(env).get(k) for k in changed}
        if all(source == "preset" for source in sources.values()):
            return f"the preset for {agent} on {where} changed"
        if variant.is_factory:
            return f"the factory {agent} changed"
        return f"the defaults or the preset of {agent} on {where} changed"

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
            agent = params.pop("agent")
            # TOML has no null: `none = ["max_grad_norm"]` sets those hyperparameters to None
            nones = params.pop(NONE_KEY, [])
            if not isinstance(nones, list) or not all(isinstance(k, str) for k in nones):
                raise ConfigError(
                    f"{source}: [variants.{label}] {NONE_KEY} must be a list of hyperparameter "
                    f'names to set to None, e.g. {NONE_KEY} = ["max_grad_norm"]; got {nones!r}'
                )
            both = sorted(set(nones) & set(params))
            if both:
                raise ConfigError(
                    f"{source}: [variants.{label}] sets {both[0]!r} and lists it in "
                    f"{NONE_KEY} = [...]; keep one"
                )
            variants[label] = Variant(agent, **params, **dict.fromkeys(nones))
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

    def with_settings(self, settings: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> Experiment:
        """A copy with ``settings`` applied, in order (what ``rlladder run --set`` does).

        ``"KEY"`` sets hyperparameter KEY of every variant whose resolved hyperparameters have
        it, or, where KEY is one of :data:`SETTABLE_FIELDS`, that field of the experiment.
        ``"LABEL.KEY"`` sets it in variant LABEL only (split on the last ``.``: labels may hold
        spaces, ``+`` and brackets; keys never hold a dot). ``"env_kwargs.KEY"`` sets a keyword
        argument of the environment. ``"LABEL.agent"`` swaps a variant's agent::

            exp.with_settings({"learning_rate": 1e-4, "+ Huber (DQN).huber_delta": 1.0})

        Raises:
            UnknownNameError: no variant has KEY, or there is no variant LABEL (the message
                lists the known ones).
        """
        return apply_settings({"": self}, settings)[""]

    def replace(self, **changes: Any) -> Experiment:
        """A copy with some fields changed; ``episodes=``/``steps=`` switch the budget.

        Switching the budget's kind (episodes to steps, or back) also drops ``eval_every``,
        whose unit would change with it, unless ``changes`` give it again; the final evaluation
        stays.
        """
        if changes.get("episodes") is not None:
            changes.setdefault("steps", None)
        if changes.get("steps") is not None:
            changes.setdefault("episodes", None)
        switched = (changes.get("steps") is not None and self.steps is None) or (
            changes.get("episodes") is not None and self.episodes is None
        )
        if switched:
            changes.setdefault("eval_every", None)
        return dataclasses.replace(self, **changes)


_UNSET = object()


def _show(value: Any) -> str:
    """A resolved value in a one-line message: as TOML writes it (``None``/unset in words)."""
    from rlladder.experiments.toml_writer import toml_value

    if value is _UNSET:
        return "(unset)"
    if value is None:
        return "None"
    try:
        return toml_value(value)
    except TypeError:
        return repr(value)


def _changed_keys(then: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """The keys whose values differ (or that only one side has), in ``now``'s order."""
    keys = list(now) + [k for k in then if k not in now]
    return [k for k in keys if k not in then or k not in now or not same(then[k], now[k])]


def _in_variant(label: str, fn: Callable[[gym.Env], Any], env: gym.Env) -> Any:
    """``fn(env)``, with the variant's label in front of a configuration error."""
    try:
        return fn(env)
    except (ConfigError, TypeError) as error:
        raise type(error)(f"variant {label!r}: {error}") from None


def _agent_class(name: str) -> type[Agent]:
    from rlladder.registry import resolve_agent

    return resolve_agent(name)[0]


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


#: The experiment fields that ``--set KEY=VALUE`` (without a variant label) can set, and that
#: ``rlladder show`` writes at the top of its file: every key of an experiment file but the tables.
SETTABLE_FIELDS = tuple(k for k in _EXPERIMENT_KEYS if k not in ("variants", "env_kwargs"))


def registered_spec(env_id: str, env_kwargs: Mapping[str, Any]) -> gym.envs.registration.EnvSpec:
    """The gymnasium registration that ``gym.make(env_id, **env_kwargs)`` amounts to:
    ``env_id``'s own, or, where the kwargs contradict it, the registration of the same
    environment class whose kwargs they hold (``FrozenLake-v1`` with ``map_name="8x8"`` is
    ``FrozenLake8x8-v1``: 200 steps, reward threshold 0.85); ``env_id``'s own where none does.

    Raises:
        gymnasium.error.Error: ``env_id`` is not registered.
    """
    own = gym.spec(env_id)
    kwargs = {
        **(own.kwargs or {}),
        **{k: v for k, v in env_kwargs.items() if k != "max_episode_steps"},
    }
    if all(kwargs.get(k) == v for k, v in (own.kwargs or {}).items()):
        return own
    fitting = [
        spec
        for spec in gym.registry.values()
        if spec.entry_point == own.entry_point
        and spec.kwargs
        and all(kwargs.get(k, object()) == v for k, v in spec.kwargs.items())
    ]
    return max(fitting, key=lambda spec: len(spec.kwargs)) if fitting else own


def apply_settings(
    parts: Mapping[str, Experiment], settings: Mapping[str, Any] | Iterable[tuple[str, Any]]
) -> dict[str, Experiment]:
    """:meth:`Experiment.with_settings` for the parts of a suite: each setting applies to every
    part where it fits, and must fit at least one.

    Env kwargs that make a gymnasium id another registered environment (``map_name="8x8"`` of
    ``FrozenLake-v1``: :func:`registered_spec`) take that registration's episode limit (200
    steps), unless the settings give ``max_episode_steps`` (or ``env_kwargs.max_episode_steps``)
    themselves: the limit goes to ``gym.make`` (``env_kwargs.max_episode_steps``) and replaces
    the experiment's own, which was chosen for the other map.
    """
    items = list(settings.items()) if isinstance(settings, Mapping) else list(settings)
    parts = dict(parts)
    before = dict(parts)
    for key, value in items:
        applied = False
        for name, exp in parts.items():
            changed = _apply_setting(exp, key, value)
            if changed is not None:
                parts[name], applied = changed, True
        if not applied:
            raise _no_such_setting(list(parts.values()), key)
    keys = {key for key, _ in items}
    if not keys & {"max_episode_steps", "env_kwargs.max_episode_steps"}:
        for name, exp in parts.items():
            parts[name] = _follow_the_registration(before[name], exp)
    return parts


def _follow_the_registration(before: Experiment, after: Experiment) -> Experiment:
    """``after`` with the episode limit of the gymnasium registration its env kwargs amount to,
    where they changed it from ``before``'s."""
    if not isinstance(after.env, str) or ":" in after.env or before.env_kwargs == after.env_kwargs:
        return after
    try:
        then = registered_spec(before.env, before.env_kwargs)
        now = registered_spec(after.env, after.env_kwargs)
    except gym.error.Error:
        return after
    if now.id == then.id or now.max_episode_steps is None:
        return after
    kwargs = {**after.env_kwargs, "max_episode_steps": now.max_episode_steps}
    return after.replace(env_kwargs=kwargs, max_episode_steps=None)


def _apply_setting(exp: Experiment, key: str, value: Any) -> Experiment | None:
    """``exp`` with one setting applied, or ``None`` where it does not fit."""
    label, dot, name = key.rpartition(".")
    if not dot:
        if name in SETTABLE_FIELDS:
            return exp.replace(**{name: value})
        targets = [lab for lab, params in exp.resolve().items() if name in params]
    elif label == "env_kwargs" and label not in exp.variants:
        return exp.replace(env_kwargs={**exp.env_kwargs, name: value})
    elif label not in exp.variants:
        return None
    else:
        fits = exp.variants[label].is_factory or name in exp.resolve()[label]
        targets = [label] if fits else []
    if not targets:
        return None
    variants = dict(exp.variants)
    for target in targets:
        variants[target] = variants[target].with_hyperparameter(name, value)
    return dataclasses.replace(exp, variants=variants)


def _no_such_setting(parts: list[Experiment], key: str) -> UnknownNameError:
    label, dot, name = key.rpartition(".")
    resolved = [exp.resolve() for exp in parts]
    if not dot:
        known = sorted({k for each in resolved for params in each.values() for k in params})
        known += [*SETTABLE_FIELDS, "env_kwargs.KEY", "LABEL.KEY"]
        return UnknownNameError(
            f"cannot set {key!r}: it is neither a hyperparameter of any variant nor a field of "
            f"the experiment{did_you_mean(name, known)}; known keys: {', '.join(known)}"
        )
    labels = list(dict.fromkeys(lab for each in resolved for lab in each))
    if label not in labels:
        error = unknown_name("variant", label, labels)
        return UnknownNameError(f"cannot set {key!r}: {error}")
    params = next(each[label] for each in resolved if label in each)
    return UnknownNameError(
        f"cannot set {key!r}: variant {label!r} ({params['agent']}) has no hyperparameter "
        f"{name!r}{did_you_mean(name, params)}; its keys: {', '.join(params)}"
    )


def load_experiment(path: str | Path) -> Experiment:
    """Read an experiment from a TOML file (see :meth:`Experiment.from_toml`)."""
    return Experiment.from_toml(path)
