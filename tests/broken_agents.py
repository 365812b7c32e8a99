"""A family of deliberately broken agents, for tests/test_check.py: the checker must be able to fail.

``TableQ`` is a correct Q-learner that keeps its table in a dict keyed by the observation (so it
runs on the Box probes as they are) and behaves uniformly at random (Q-learning is off-policy:
every action's value is still learnt). Each subclass breaks one thing, and :data:`BROKEN` says
which checks of :func:`rlladder.check_agent` must fail for it: exactly those, nothing else.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import rlladder as rl


class TableQ(rl.Agent):
    """Correct tabular Q-learning on any observation; the base of the family."""

    def __init__(self, observation_space, action_space, *, seed=None, gamma=0.9, lr=0.5):
        super().__init__(observation_space, action_space, seed=seed)
        self.gamma, self.lr, self.epsilon = gamma, lr, 1.0
        self.q: dict[tuple, np.ndarray] = {}

    def key(self, obs: Any) -> tuple:
        return tuple(np.asarray(obs).ravel().tolist())

    def values(self, obs: Any) -> np.ndarray:
        return self.q.get(self.key(obs), np.zeros(self.action_space.n))

    def q_values(self, obs: Any) -> np.ndarray:
        return self.values(obs).copy()

    def act(self, obs: Any, *, explore: bool = True) -> int:
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.values(obs)))

    def target(self, t: rl.Transition) -> float:
        return t.reward + (0.0 if t.terminated else self.gamma * self.values(t.next_obs).max())

    def update(self, row: np.ndarray, action: int, target: float) -> None:
        row[action] += self.lr * (target - row[action])

    def learn(self, t: rl.Transition) -> dict[str, float]:
        row = self.q.setdefault(self.key(t.obs), np.zeros(self.action_space.n))
        self.update(row, t.action, self.target(t))
        return {}


class NeverLearns(TableQ):
    def learn(self, t):
        return {}


class IgnoresObservation(TableQ):
    def key(self, obs):
        return ()


class IgnoresAction(TableQ):
    def update(self, row, action, target):
        row[:] += self.lr * (target - row[action])


class NoBootstrap(TableQ):
    def target(self, t):
        return t.reward


class TimeLimitIsTermination(TableQ):
    def target(self, t):  # `done` where it should be `terminated`
        return t.reward + (0.0 if t.done else self.gamma * self.values(t.next_obs).max())


class WrongSign(TableQ):
    def target(self, t):
        return -t.reward + (0.0 if t.terminated else self.gamma * self.values(t.next_obs).max())


class GreedyDrawsRandom(TableQ):
    def act(self, obs, *, explore=True):
        if self.rng.random() < self.epsilon and explore:  # draws even when greedy
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.values(obs)))


#: broken agent -> the checks it must fail (and nothing else)
BROKEN: dict[type[TableQ], set[str]] = {
    NeverLearns: {"probe 1 value"},
    IgnoresObservation: {"probe 2 values"},
    IgnoresAction: {"probe 4 values"},
    NoBootstrap: {"probe 3 values"},
    TimeLimitIsTermination: {"probe 6 time limit"},
    WrongSign: {"probe 1 value"},
    GreedyDrawsRandom: {"greedy is pure"},
}
