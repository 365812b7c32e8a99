"""Projective Simulation (PS), the two-layer version: percepts connect straight to actions.

The agent's memory is a graph from percept clips (states) to action clips. Each edge has a weight,
its *h-value*, all starting at 1. In state ``s`` the agent hops along an edge with probability::

    p(a | s) = h[s, a] / sum_b h[s, b]                  (or a softmax of beta * h[s] as an option)

Rewards often come long after the actions that earned them, so PS keeps a *glow* matrix ``g`` that
remembers recently used edges, fading by a factor ``1 - eta`` each step::

    g <- (1 - eta) * g ;  g[s, a] <- 1                  (the edge just used glows fully)
    h <- h - gamma * (h - 1) + g * r                    (forget towards 1, reward glowing edges)

``gamma`` (damping) slowly pulls every h-value back to 1, so the agent can forget; ``eta`` (glow
damping) sets how far back a reward reaches: small ``eta``, long memory. The glow is cleared at the
start of every episode.

The linear rule keeps exploring: with h-values 1, 1, 1 and 20 an agent still takes a wrong turn
one time in eight, at every step. The softmax makes the same h-values nearly greedy, which is why
the FrozenLake preset uses it (the documentation's Projective Simulation page). PS learns only
from rewarded episodes, so where rewards are rare and luck decides them (slippery FrozenLake) it
learns slowly (the study ``docs/studies/ps-slippery.md``).

The course notebook updates the glow when it chooses the action (``deliberate``) and h after the
step (``learn``). Here ``act`` only chooses and ``learn`` does both updates, in the same order, so
the h-matrix is the same step by step (``tests/test_projective_simulation.py`` proves it).

A reward that is NaN or infinite stops the agent with :class:`~rlladder.DivergenceError` before it
enters the h-matrix. ``agent.save("ps.npz")`` writes a checkpoint that
``ProjectiveSimulation.load("ps.npz")`` restores exactly (see :mod:`rlladder.checkpoints`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlladder import checkpoints
from rlladder.errors import check_range, unknown_name
from rlladder.interface import Agent, Transition
from rlladder.spaces import discrete_actions, tabular_adapter
from rlladder.tabular.divergence import non_finite

__all__ = ["ProjectiveSimulation", "glow_update", "h_update", "hopping_probabilities"]

POLICIES = ("linear", "softmax")


def glow_update(glow: np.ndarray, s: int, a: int, eta: float) -> None:
    """In place: ``g <- (1 - eta) g``, then ``g[s, a] <- 1``."""
    glow *= 1.0 - eta
    glow[s, a] = 1.0


def h_update(h: np.ndarray, glow: np.ndarray, reward: float, gamma: float) -> None:
    """In place: ``h <- h - gamma (h - 1) + g r`` (terms that are exactly zero are skipped)."""
    if gamma:
        h -= gamma * (h - 1.0)
    if reward:
        h += glow * reward


def hopping_probabilities(
    h_row: np.ndarray, policy: str = "linear", beta: float = 1.0
) -> np.ndarray:
    """``h / sum(h)`` (linear) or ``softmax(beta * h)`` over one row of the h-matrix."""
    if policy == "softmax":
        z = np.exp(beta * (h_row - h_row.max()))
        return z / z.sum()
    return h_row / h_row.sum()


class ProjectiveSimulation(Agent):
    """Two-layer Projective Simulation with an h-matrix and a glow matrix.

    Args:
        gamma: damping of h-values towards 1, in [0, 1] (0: never forget).
        eta: glow damping, in (0, 1] (1: only the last edge is rewarded, as without glow).
        policy: ``"linear"`` (``h / sum h``) or ``"softmax"`` (``softmax(beta * h)``).
        beta: the softmax's inverse temperature ``1 / T``, > 0: small beta explores, large beta
            is nearly greedy. Only used with ``policy="softmax"``.
        bins, bounds: discretise a ``Box`` observation space (see :mod:`rlladder.spaces`).

    Attributes:
        h_matrix: the h-values, ``(n_states, n_actions)``, initialised to 1.
        glow_matrix: the glow values, same shape, reset to 0 at each episode start.
    """

    name = "Projective Simulation"
    #: its ``q_values`` are h-values (preferences), not expected returns: rl.check_agent gives it
    #: behaviour checks only
    has_action_values = False

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
        gamma: float = 0.0,
        eta: float = 0.04,
        policy: Literal["linear", "softmax"] = "linear",
        beta: float = 1.0,
        bins: int | Sequence[int] | None = None,
        bounds: Any = None,
    ) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        owner = type(self).__name__
        self.gamma = check_range("gamma", gamma, 0.0, 1.0, owner=owner)
        self.eta = check_range("eta", eta, 0.0, 1.0, low_inclusive=False, owner=owner)
        if policy not in POLICIES:
            raise unknown_name("policy", policy, POLICIES)
        self.policy = policy
        self.beta = check_range("beta", beta, 0.0, low_inclusive=False, owner=owner)
        self.adapter = tabular_adapter(observation_space, bins=bins, bounds=bounds, agent=owner)
        self.n_actions = discrete_actions(action_space, agent=owner)
        self.h_matrix = np.ones((self.adapter.n, self.n_actions))
        self.glow_matrix = np.zeros_like(self.h_matrix)
        self.steps_done = 0  # counted for the error messages and the checkpoints
        self.episodes_done = 0

    def probabilities(self, obs: Any) -> np.ndarray:
        """The hopping probabilities ``p(a | s)`` for observation ``obs``."""
        return hopping_probabilities(self.h_matrix[self.adapter(obs)], self.policy, self.beta)

    def q_values(self, obs: Any) -> np.ndarray:
        """A copy of the h-values ``h[s]`` for observation ``obs``."""
        return self.h_matrix[self.adapter(obs)].copy()

    def act(self, obs: Any, *, explore: bool = True) -> int:
        s = self.adapter(obs)
        h = self.h_matrix[s]
        if not explore:
            return int(np.argmax(h))
        if self.policy == "linear":
            cumulative = np.cumsum(h)  # sampling by inverse CDF: far cheaper than rng.choice
        else:
            cumulative = np.cumsum(hopping_probabilities(h, "softmax", self.beta))
        u = self.rng.random() * cumulative[-1]
        return min(int(np.searchsorted(cumulative, u, side="right")), self.n_actions - 1)

    def learn(self, transition: Transition) -> dict[str, float]:
        """Glow the edge just used, then ``h <- h - gamma (h - 1) + g r``."""
        s = self.adapter(transition.obs)
        reward = float(transition.reward)
        self.steps_done += 1
        if not math.isfinite(reward):  # one scalar check: NaN never enters the h-matrix
            raise non_finite(
                type(self).__name__,
                "reward",
                reward,
                reward=reward,
                state=s,
                obs=transition.obs,
                action=int(transition.action),
                step=self.steps_done,
                episode=self.episodes_done + 1,
            )
        glow_update(self.glow_matrix, s, int(transition.action), self.eta)
        h_update(self.h_matrix, self.glow_matrix, reward, self.gamma)
        return {}

    def begin_episode(self) -> None:
        self.glow_matrix[:] = 0.0

    def end_episode(self) -> None:
        self.episodes_done += 1

    # -- checkpoints ------------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The keyword arguments that build this agent again, as plain values."""
        return {
            "gamma": self.gamma,
            "eta": self.eta,
            "policy": self.policy,
            "beta": self.beta,
            **checkpoints.adapter_to_dict(self.adapter),
        }

    def save(self, path: str | Path) -> None:
        """Write a checkpoint to ``path`` (a ``.npz`` archive: no pickled code) that
        :meth:`ProjectiveSimulation.load` restores to act and learn exactly as this agent would
        from here (the glow included, so it may be saved in the middle of an episode)."""
        meta = {
            **checkpoints.header(type(self).__name__),
            "seed": checkpoints.plain_seed(self.seed),
            "hyperparameters": self.hyperparameters(),
            "spaces": checkpoints.spaces_to_dict(self.observation_space, self.action_space),
            "state": {
                "steps_done": self.steps_done,
                "episodes_done": self.episodes_done,
                "rng": checkpoints.rng_state(self.rng),
            },
        }
        arrays = {"h_matrix": self.h_matrix, "glow_matrix": self.glow_matrix}
        checkpoints.save_npz(path, meta, arrays)

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> ProjectiveSimulation:
        """Rebuild an agent from :meth:`save`, safely (``np.load(allow_pickle=False)``).

        The spaces come from the checkpoint, or from ``env`` if given.

        Raises:
            CheckpointError: ``path`` is not a checkpoint of this agent, or ``env``'s spaces give
                matrices of another shape.
        """
        meta, arrays = checkpoints.load_npz(path, cls.__name__)
        obs_space, act_space = checkpoints.spaces_from_dict(
            meta["spaces"], env, loader=f"{cls.__name__}.load"
        )
        agent = cls(obs_space, act_space, seed=meta["seed"], **meta["hyperparameters"])
        checkpoints.restore_array(agent.h_matrix, arrays.get("h_matrix"), path, "h-matrix")
        checkpoints.restore_array(agent.glow_matrix, arrays.get("glow_matrix"), path, "glow matrix")
        state = meta["state"]
        agent.steps_done = int(state["steps_done"])
        agent.episodes_done = int(state["episodes_done"])
        agent.rng = checkpoints.rng_from_state(state["rng"])  # PCG64 or PCG64DXSM
        return agent
