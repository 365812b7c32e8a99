"""Tabular Q-learning, with SARSA and expected SARSA one switch away.

Q-learning keeps a table ``Q[s, a]`` of how much reward it expects from doing ``a`` in ``s`` and
then acting greedily. After every step it moves the entry a fraction ``eta`` towards a better
estimate, the *TD target*::

    Q[s, a] <- Q[s, a] + eta * (target - Q[s, a])
    target   = r + gamma * max_a' Q[s', a']          (Q-learning: the best next action)
             = r + gamma * Q[s', a']                  (SARSA: the next action actually taken)
             = r + gamma * sum_a' pi(a'|s') Q[s', a'] (expected SARSA: the policy's average)
             = r                                      (whatever the rule, when s' is terminal)

Exploration is epsilon-greedy (a random action with probability epsilon, any schedule), or the
course notebook's *noisy argmax*: ``argmax(Q[s] + N(0, 1) / (episode + 1))``, random at first and
greedy later.

A TD target that is NaN or infinite (a NaN reward, say) stops the agent with
:class:`~rlladder.DivergenceError` before it enters the table. ``agent.save("q.npz")`` writes a
checkpoint that ``QLearning.load("q.npz")`` restores exactly (see :mod:`rlladder.checkpoints`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import gymnasium as gym
import numpy as np

from rlladder import checkpoints
from rlladder.errors import ConfigError, check_range, unknown_name
from rlladder.interface import Agent, Transition
from rlladder.schedules import ConstantSchedule, Schedule, as_schedule
from rlladder.spaces import discrete_actions, tabular_adapter
from rlladder.tabular.divergence import non_finite

__all__ = ["QLearning", "td_target", "td_update", "epsilon_greedy_probs"]

TARGETS = ("q-learning", "sarsa", "expected-sarsa")
EXPLORATIONS = ("epsilon-greedy", "noisy-argmax")


def td_target(reward: float, next_value: float, gamma: float, terminated: bool) -> float:
    """``r + gamma * V(s')``, or just ``r`` when ``s'`` is terminal (never cut on truncation)."""
    return reward if terminated else reward + gamma * next_value


def td_update(q: np.ndarray, s: int, a: int, target: float, eta: float) -> float:
    """Move ``q[s, a]`` a fraction ``eta`` towards ``target`` in place; return the TD error."""
    error = target - q[s, a]
    q[s, a] += eta * error
    return float(error)


def epsilon_greedy_probs(q_row: np.ndarray, epsilon: float) -> np.ndarray:
    """Action probabilities of epsilon-greedy over ``q_row`` (ties share the greedy mass)."""
    n = q_row.shape[0]
    best = q_row == q_row.max()
    return epsilon / n + (1.0 - epsilon) * best / best.sum()


class QLearning(Agent):
    """Tabular Q-learning (``target="q-learning"``), SARSA or expected SARSA.

    Args:
        eta: learning rate, in (0, 1]: a number, or a schedule (or dict) that decays it, e.g.
            ``{"kind": "linear", "start": 0.5, "end": 0.01, "duration": 2000, "unit": "episode"}``;
            on a stochastic environment a decaying ``eta`` averages out the noise in the targets.
        gamma: discount factor, in [0, 1].
        exploration: ``"epsilon-greedy"`` or ``"noisy-argmax"`` (the course notebook's).
        epsilon: for epsilon-greedy (default 0.1): a number, a
            :class:`~rlladder.schedules.Schedule`, or a dict; an error with noisy-argmax.
        target: ``"q-learning"``, ``"sarsa"`` or ``"expected-sarsa"``.
        initial_value: the value every ``Q[s, a]`` starts from (optimism explores).
        bins, bounds: discretise a ``Box`` observation space (see :mod:`rlladder.spaces`).
    """

    name = "Q-learning"
    #: make_agent: setting either of these yourself drops both from a preset
    linked_hyperparameters = (("exploration", "epsilon"),)

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
        eta: float | Schedule | dict[str, Any] = 0.1,
        gamma: float = 0.99,
        exploration: Literal["epsilon-greedy", "noisy-argmax"] = "epsilon-greedy",
        epsilon: float | Schedule | dict[str, Any] | None = None,
        target: Literal["q-learning", "sarsa", "expected-sarsa"] = "q-learning",
        initial_value: float = 0.0,
        bins: int | Sequence[int] | None = None,
        bounds: Any = None,
    ) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        owner = type(self).__name__
        if isinstance(eta, int | float) and not isinstance(eta, bool):
            check_range("eta", eta, 0.0, 1.0, low_inclusive=False, owner=owner)
        self.eta_schedule = as_schedule(eta, name="eta", owner=owner)
        if min(self.eta_schedule(0), getattr(self.eta_schedule, "end", 1.0)) <= 0.0:
            raise ConfigError(f"{owner}: eta must stay > 0 (a zero learning rate learns nothing)")
        self.gamma = check_range("gamma", gamma, 0.0, 1.0, owner=owner)
        if exploration not in EXPLORATIONS:
            raise unknown_name("exploration", exploration, EXPLORATIONS)
        if target not in TARGETS:
            raise unknown_name("target", target, TARGETS)
        if target == "expected-sarsa" and exploration == "noisy-argmax":
            raise ConfigError(
                f"{owner}: expected SARSA needs the policy's probabilities, which noisy-argmax does "
                "not have; use exploration='epsilon-greedy' or target='sarsa'"
            )
        if epsilon is not None and exploration == "noisy-argmax":
            raise ConfigError(
                f"{owner}: epsilon={epsilon!r} only applies to exploration='epsilon-greedy'; "
                "noisy-argmax explores by its own noise (scale 1 / (episode + 1))"
            )
        self.exploration = exploration
        self.target = target
        self.epsilon_schedule = as_schedule(
            0.1 if epsilon is None else epsilon, name="epsilon", owner=owner
        )
        self.initial_value = check_range("initial_value", initial_value, owner=owner)
        if not math.isfinite(self.initial_value):
            raise ConfigError(f"{owner}: initial_value must be finite, got {initial_value!r}")
        self.adapter = tabular_adapter(observation_space, bins=bins, bounds=bounds, agent=owner)
        self.n_actions = discrete_actions(action_space, agent=owner)
        self.q = np.full((self.adapter.n, self.n_actions), self.initial_value)
        self.steps_done = 0
        self.episodes_done = 0
        self._next_action: tuple[int, int] | None = None  # SARSA: (state, action) already chosen

    @property
    def eta(self) -> float:
        """The current learning rate of the schedule."""
        return self.eta_schedule.at(step=self.steps_done, episode=self.episodes_done)

    @property
    def epsilon(self) -> float:
        """The current epsilon of the schedule."""
        return self.epsilon_schedule.at(step=self.steps_done, episode=self.episodes_done)

    def q_values(self, obs: Any) -> np.ndarray:
        """A copy of the row ``Q[s]`` for observation ``obs``."""
        return self.q[self.adapter(obs)].copy()

    def _explore(self, s: int) -> int:
        q = self.q[s]
        if self.exploration == "noisy-argmax":
            noise = self.rng.standard_normal(self.n_actions) / (self.episodes_done + 1)
            return int(np.argmax(q + noise))
        if self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        best = np.flatnonzero(q == q.max())
        return int(best[0] if best.size == 1 else best[self.rng.integers(best.size)])

    def act(self, obs: Any, *, explore: bool = True) -> int:
        s = self.adapter(obs)
        if not explore:
            return int(np.argmax(self.q[s]))
        if self._next_action is not None and self._next_action[0] == s:
            action = self._next_action[1]
            self._next_action = None
            return action
        return self._explore(s)

    def learn(self, transition: Transition) -> dict[str, float]:
        """One TD update: ``Q[s,a] += eta * (r + gamma * V(s') - Q[s,a])``, ``V(s')`` per ``target``."""
        s, s1 = self.adapter(transition.obs), self.adapter(transition.next_obs)
        diagnostics = {"epsilon": self.epsilon} if self.exploration == "epsilon-greedy" else {}
        eta = self.eta
        self.steps_done += 1  # from here on, the policy is the one that acts in s'
        next_q = self.q[s1]
        if self.target == "q-learning":
            next_value = next_q.max()
        elif self.target == "expected-sarsa":
            next_value = float(epsilon_greedy_probs(next_q, self.epsilon) @ next_q)
        else:  # sarsa: choose the next action now, and take it in the next act()
            next_value = 0.0
            if not transition.terminated:  # a time limit still bootstraps, on the policy's a'
                a1 = self._explore(s1)
                next_value = next_q[a1]
                if not transition.truncated:  # after a cut, the next act() is a new episode's
                    self._next_action = (s1, a1)
        target = td_target(transition.reward, float(next_value), self.gamma, transition.terminated)
        if not math.isfinite(target):  # one scalar check: NaN never enters the table
            raise non_finite(
                type(self).__name__,
                "TD target",
                target,
                reward=float(transition.reward),
                state=s,
                obs=transition.obs,
                action=int(transition.action),
                step=self.steps_done,
                episode=self.episodes_done + 1,
            )
        td_update(self.q, s, int(transition.action), target, eta)
        return diagnostics

    def begin_episode(self) -> None:
        self._next_action = None

    def end_episode(self) -> None:
        self.episodes_done += 1

    # -- checkpoints ------------------------------------------------------------------------

    def hyperparameters(self) -> dict[str, Any]:
        """The keyword arguments that build this agent again, as plain values (a constant as a
        number, another schedule as a dict, binning as ``bins`` / ``bounds`` lists)."""
        noisy = self.exploration == "noisy-argmax"
        return {
            "eta": _plain(self.eta_schedule),
            "gamma": self.gamma,
            "exploration": self.exploration,
            "epsilon": None if noisy else _plain(self.epsilon_schedule),
            "target": self.target,
            "initial_value": self.initial_value,
            **checkpoints.adapter_to_dict(self.adapter),
        }

    def save(self, path: str | Path) -> None:
        """Write a checkpoint to ``path`` (a ``.npz`` archive: no pickled code) that
        :meth:`QLearning.load` restores to act and learn exactly as this agent would from here."""
        meta = {
            **checkpoints.header(type(self).__name__),
            "seed": checkpoints.plain_seed(self.seed),
            "hyperparameters": self.hyperparameters(),
            "spaces": checkpoints.spaces_to_dict(self.observation_space, self.action_space),
            "state": {
                "steps_done": self.steps_done,
                "episodes_done": self.episodes_done,
                "next_action": None if self._next_action is None else list(self._next_action),
                "rng": checkpoints.rng_state(self.rng),
            },
        }
        checkpoints.save_npz(path, meta, {"q": self.q})

    @classmethod
    def load(cls, path: str | Path, env: gym.Env | None = None) -> QLearning:
        """Rebuild an agent from :meth:`save`, safely (``np.load(allow_pickle=False)``).

        The spaces come from the checkpoint, or from ``env`` if given.

        Raises:
            CheckpointError: ``path`` is not a checkpoint of this agent, or ``env``'s spaces give
                a table of another shape.
        """
        meta, arrays = checkpoints.load_npz(path, cls.__name__)
        obs_space, act_space = checkpoints.spaces_from_dict(
            meta["spaces"], env, loader=f"{cls.__name__}.load"
        )
        agent = cls(obs_space, act_space, seed=meta["seed"], **meta["hyperparameters"])
        checkpoints.restore_array(agent.q, arrays.get("q"), path, "Q-table")
        state = meta["state"]
        agent.steps_done = int(state["steps_done"])
        agent.episodes_done = int(state["episodes_done"])
        pending = state["next_action"]
        agent._next_action = None if pending is None else (int(pending[0]), int(pending[1]))
        agent.rng = checkpoints.rng_from_state(state["rng"])  # PCG64 or PCG64DXSM
        return agent


def _plain(schedule: Schedule) -> float | dict[str, Any]:
    """A constant per-step schedule as its number, any other as its dict."""
    if isinstance(schedule, ConstantSchedule) and schedule.unit == "step":
        return schedule.value
    return schedule.to_dict()
