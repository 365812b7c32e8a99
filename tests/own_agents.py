"""A student's own agent, in an importable module so that worker processes can unpickle it.

Used by the experiment tests: it runs in an experiment next to the built-in agents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import rlladder as rl


class RunningMeanAgent(rl.Agent):
    """Epsilon-greedy on the running mean reward of each (state, action): a bandit per state.

    ``Q(s, a) <- Q(s, a) + (r - Q(s, a)) / N(s, a)`` (the sample mean of the rewards seen).
    """

    name = "running-mean"

    def __init__(
        self, observation_space: Any, action_space: Any, *, seed: Any = None, epsilon: float = 0.2
    ) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        self.epsilon = epsilon
        self.q = np.zeros((observation_space.n, action_space.n))
        self.n = np.zeros_like(self.q)

    def act(self, obs: Any, *, explore: bool = True) -> int:
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.action_space.n))
        row = self.q[obs]
        return int(self.rng.choice(np.flatnonzero(row == row.max())))

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        s, a = transition.obs, transition.action
        self.n[s, a] += 1
        self.q[s, a] += (transition.reward - self.q[s, a]) / self.n[s, a]
        return {"visits": float(self.n[s, a])}

    def q_values(self, obs: Any) -> np.ndarray:
        return self.q[obs].copy()
