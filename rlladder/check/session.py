"""The plumbing every check shares: the probes' environments, fresh agents, and the agent's
calls (training through :func:`rlladder.train`, greedy actions, values), each with its errors
named (:mod:`rlladder.check.agent_errors`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from rlladder.check.agent_errors import agent_errors
from rlladder.check.catalogue import hint_for
from rlladder.check.targets import AgentMaker, probe_id
from rlladder.envs.probes import probe_observation
from rlladder.errors import AgentCheckError, check_range
from rlladder.interface import Agent
from rlladder.loop import evaluate, train

__all__ = ["Outcome", "CheckSession", "resolve_gamma"]


@dataclass(frozen=True)
class Outcome:
    """A check's result: ``status`` ("passed", "failed", "skipped"), ``detail`` and ``hint``."""

    status: str
    detail: str
    hint: str = ""

    @staticmethod
    def passed(detail: str) -> Outcome:
        return Outcome("passed", detail)

    @staticmethod
    def failed(check: str, symptom: str, detail: str, **fields: Any) -> Outcome:
        """A failure, with the catalogue's hint for ``symptom`` of ``check``."""
        return Outcome("failed", detail, hint_for(check, symptom, **fields))

    @staticmethod
    def skipped(detail: str) -> Outcome:
        return Outcome("skipped", detail)


def resolve_gamma(gamma: float | None, agent: Agent) -> float | None:
    """The discount the value checks assume: ``gamma``, else ``agent.gamma``, else
    ``agent.config.gamma``, else None."""
    if gamma is not None:
        return check_range("gamma", gamma, 0.0, 1.0, owner="check_agent")
    for value in (
        getattr(agent, "gamma", None),
        getattr(getattr(agent, "config", None), "gamma", None),
    ):
        if isinstance(value, int | float | np.floating) and not isinstance(value, bool):
            return float(value)
    return None


@dataclass
class CheckSession:
    """One :func:`~rlladder.check_agent` run: how to build the agent, the seed, the discount."""

    maker: AgentMaker
    seed: int
    gamma: float | None = None
    #: why there are no value checks (None when the agent exposes action values)
    no_values: str | None = None

    def probe(self, probe: int) -> str:
        """The environment id of ``probe`` (or of its tabular twin)."""
        return probe_id(probe, self.maker.tabular)

    def env(self, probe: int) -> gym.Env:
        """A fresh environment of ``probe``."""
        return gym.make(self.probe(probe))

    def build(self, env: gym.Env) -> Agent:
        """A fresh agent for ``env``, built with the session's seed."""
        return self.maker.build(env, self.seed)

    def observations(self, probe: int, values: list[list[float]]) -> list[Any]:
        """The observations ``probe`` shows for ``values`` (arrays, or the twin's states)."""
        return [probe_observation(probe, v, tabular=self.maker.tabular) for v in values]

    def train(self, agent: Agent, env: gym.Env, steps: int) -> pd.DataFrame:
        """``rl.train(agent, env, steps=steps, seed=seed)``, the agent's errors named."""
        with agent_errors(agent, env.spec.id):
            return train(agent, env, steps=steps, seed=self.seed)

    def evaluate(self, agent: Agent, env: gym.Env, episodes: int) -> pd.DataFrame:
        """``rl.evaluate(agent, env, episodes=episodes, seed=seed + 1)``, errors named."""
        with agent_errors(agent, env.spec.id):
            return evaluate(agent, env, episodes=episodes, seed=self.seed + 1)

    def greedy(self, agent: Agent, env: gym.Env, observations: list[Any]) -> list[Any]:
        """``act(obs, explore=False)`` for each observation, as ints."""
        with agent_errors(agent, env.spec.id):
            return [int(agent.act(obs, explore=False)) for obs in observations]

    def q_values(self, agent: Agent, env: gym.Env, observations: list[Any]) -> np.ndarray:
        """``q_values(obs)`` for each observation, as a float array ``(len(observations), n)``
        (``n`` the number of actions).

        Raises:
            AgentCheckError: ``q_values`` raised, or returned other than one value per action.
        """
        n = env.action_space.n
        with agent_errors(agent, env.spec.id):
            rows = [
                np.asarray(agent.q_values(obs), dtype=np.float64).ravel() for obs in observations
            ]
        for row in rows:
            if row.shape != (n,):
                raise AgentCheckError(
                    f"{type(agent).__name__}.q_values(obs) returned {row.size} value(s) on probe "
                    f"'{env.spec.id}', which has {n} action(s): return one value per action"
                )
        return np.array(rows)
