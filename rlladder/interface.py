"""The one agent interface every rlladder agent implements.

An agent sees the world through two calls::

    action = agent.act(obs)                   # choose
    diagnostics = agent.learn(transition)     # update from what happened

plus two optional hooks, :meth:`Agent.begin_episode` and :meth:`Agent.end_episode`. The loop that
calls them lives in :mod:`rlladder.loop`; every agent, built-in or your own, goes through it.
"""

from __future__ import annotations

import abc
import copy
import inspect
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from rlladder.checkpoints import load_attributes, save_attributes

__all__ = ["Agent", "Transition"]


class Transition(NamedTuple):
    """One step of experience: the agent was in ``obs``, did ``action``, got ``reward``, saw ``next_obs``.

    ``terminated`` means the episode reached a terminal state of the MDP (a hole, the goal, the pole
    fell): the value of ``next_obs`` is zero and agents must not bootstrap from it.
    ``truncated`` means the episode was cut short from outside (a time limit): ``next_obs`` still has
    a value, and agents *must* bootstrap from it. Only ``terminated`` stops bootstrapping.
    """

    obs: Any
    action: int
    reward: float
    next_obs: Any
    terminated: bool
    truncated: bool

    @property
    def done(self) -> bool:
        """Whether the episode is over (terminated or truncated)."""
        return self.terminated or self.truncated


class Agent(abc.ABC):
    """Abstract base class of all agents.

    Subclasses implement :meth:`act` and :meth:`learn`; everything else has a default. The base
    stores the spaces and a seeded ``numpy`` generator ``self.rng`` that a subclass should use for
    all its randomness, so that the same ``seed`` always gives the same numbers.

    A minimal agent::

        class RandomAgent(rl.Agent):
            def act(self, obs, *, explore=True):
                return int(self.rng.integers(self.action_space.n))

            def learn(self, transition):
                return {}
    """

    #: Human-readable name used in error messages and plots; defaults to the class name.
    name: str = ""
    #: Groups of hyperparameters that only make sense together; :func:`rlladder.make_agent` takes
    #: a group from a preset or from you as a whole, never mixed.
    linked_hyperparameters: tuple[tuple[str, ...], ...] = ()

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
    ) -> None:
        if not isinstance(observation_space, gym.Space) or not isinstance(action_space, gym.Space):
            raise TypeError(
                f"{type(self).__name__} needs gymnasium spaces, got observation_space="
                f"{observation_space!r} and action_space={action_space!r}; pass "
                "env.observation_space and env.action_space, or use rl.make_agent(name, env)"
            )
        self.observation_space = observation_space
        self.action_space = action_space
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    @abc.abstractmethod
    def act(self, obs: Any, *, explore: bool = True) -> int:
        """Choose an action for ``obs``.

        With ``explore=False`` the agent acts greedily and must have no side effects (no learning,
        no change to counters or schedules), so that evaluation never changes the agent.
        """

    @abc.abstractmethod
    def learn(self, transition: Transition) -> dict[str, float]:
        """Update from one transition and return diagnostics (e.g. ``{"loss": 0.1}``), maybe empty."""

    @classmethod
    def default_hyperparameters(cls) -> dict[str, Any]:
        """What this class gives each hyperparameter nobody set: the keyword defaults of
        ``__init__`` (all but the spaces and ``seed``).

        :func:`rlladder.registry.resolve_hyperparameters` starts from these. A class that takes
        its hyperparameters as ``**kwargs`` overrides this to list them (``DQN`` returns the
        fields of ``DQNConfig``).
        """
        try:
            parameters = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):
            return {}
        keyword = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        return {
            name: p.default
            for name, p in parameters.items()
            if p.kind in keyword
            and p.default is not inspect.Parameter.empty
            and name not in ("self", "observation_space", "action_space", "seed")
        }

    def begin_episode(self) -> None:  # noqa: B027 - an optional hook, empty on purpose
        """Called by the loop before the first step of every training episode."""

    def end_episode(self) -> None:  # noqa: B027 - an optional hook, empty on purpose
        """Called by the loop after the last step of every training episode."""

    def q_values(self, obs: Any) -> np.ndarray:
        """Action values (or preferences) for ``obs``, one per action; for plots and tests."""
        raise NotImplementedError(f"{type(self).__name__} does not expose action values")

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to restore this agent: by default a deep copy of its attributes."""
        return copy.deepcopy(
            {k: v for k, v in vars(self).items() if k not in ("observation_space", "action_space")}
        )

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
        for key, value in copy.deepcopy(state).items():
            setattr(self, key, value)

    def save(self, path: str | Path) -> None:
        """Write a checkpoint of this agent to ``path`` (a ``.npz`` archive, no pickled code) that
        :meth:`load` restores to act and learn exactly as this agent would from here.

        This default saves every attribute, where each is a plain value (numbers, strings,
        ``None``, lists, tuples and dicts of them), a numpy array, a CPU torch tensor, or a numpy
        generator such as ``self.rng`` (:func:`rlladder.checkpoints.save_attributes`); the
        built-in agents have their own.

        Raises:
            CheckpointError: an attribute is none of those; the line names it.
        """
        save_attributes(self, path)

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> Agent:
        """Rebuild an agent that :meth:`save` wrote, safely (``np.load(allow_pickle=False)``);
        the spaces come from the checkpoint, or from ``env`` if given.

        Raises:
            CheckpointError: ``path`` is not a checkpoint of this class (one line saying so).
        """
        agent: Agent = load_attributes(cls, path, env)
        return agent

    def __repr__(self) -> str:
        return f"{type(self).__name__}(observation_space={self.observation_space}, action_space={self.action_space})"
