"""Five probe environments: the smallest tests a value-based agent must pass before CartPole.

Each probe isolates one ability, so when an agent fails one you know where to look:

========  =======  ==========================================  ===================================
probe     actions  what happens                                Q-values a correct agent learns
========  =======  ==========================================  ===================================
Probe1    1        obs ``[0]``, reward +1, ends                Q([0]) = 1            (loss, optimiser)
Probe2    1        obs ``[-1]`` or ``[+1]``, reward = obs      Q([-1]) = -1, Q([1]) = 1  (inputs)
Probe3    1        obs ``[0]`` then ``[1]``, +1 at the end      Q([0]) = gamma, Q([1]) = 1 (bootstrap)
Probe4    2        obs ``[0]``, reward -1 for a0, +1 for a1    Q([0]) = [-1, 1]      (actions)
Probe5    2        obs ``[0]`` or ``[1]``, +1 if action = obs  Q([0]) = [1, -1], Q([1]) = [-1, 1]
========  =======  ==========================================  ===================================

Every episode ends by *termination* (a true end: no bootstrapping), never by truncation.
:data:`PROBE_EXPECTATIONS` holds the probe observations, the expected Q-values and the tolerances
the tests hold agents to. The environments are registered with gymnasium as
``"rlladder/Probe1-v0"`` ... ``"rlladder/Probe5-v0"`` when :mod:`rlladder` is imported.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = [
    "Probe1",
    "Probe2",
    "Probe3",
    "Probe4",
    "Probe5",
    "PROBES",
    "PROBE_EXPECTATIONS",
    "expected_q_values",
]


def _obs(value: float) -> np.ndarray:
    return np.array([value], dtype=np.float32)


class _Probe(gym.Env):
    """Shared plumbing: a one-dimensional float observation and ``render_mode=None``."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, low: float, high: float, n_actions: int) -> None:
        super().__init__()
        self.observation_space = spaces.Box(low, high, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(n_actions)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return _obs(self._start()), {}

    def _start(self) -> float:
        """Begin an episode (after seeding ``self.np_random``); return the first observation."""
        return 0.0


class Probe1(_Probe):
    """One action, constant observation ``[0]``, reward +1, one step: tests the loss and optimiser."""

    def __init__(self) -> None:
        super().__init__(0.0, 1.0, 1)  # a degenerate box (low == high) upsets checkers

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return _obs(0.0), 1.0, True, False, {}


class Probe2(_Probe):
    """One action, observation ``[-1]`` or ``[+1]`` at random, reward equal to it: tests inputs."""

    def __init__(self) -> None:
        super().__init__(-1.0, 1.0, 1)
        self._sign = 1.0

    def _start(self) -> float:
        self._sign = 1.0 if self.np_random.random() < 0.5 else -1.0
        return self._sign

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return _obs(self._sign), self._sign, True, False, {}


class Probe3(_Probe):
    """One action, observation ``[0]`` then ``[1]``, reward +1 only at the end: tests discounting.

    The first state's value is ``gamma * 1``, reachable only by bootstrapping from the second.
    """

    def __init__(self) -> None:
        super().__init__(0.0, 1.0, 1)
        self._t = 0

    def _start(self) -> float:
        self._t = 0
        return 0.0

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        self._t += 1
        if self._t == 1:
            return _obs(1.0), 0.0, False, False, {}
        return _obs(1.0), 1.0, True, False, {}


class Probe4(_Probe):
    """Two actions, observation ``[0]``, reward -1 for action 0 and +1 for action 1: tests actions."""

    def __init__(self) -> None:
        super().__init__(0.0, 1.0, 2)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return _obs(0.0), (1.0 if int(action) == 1 else -1.0), True, False, {}


class Probe5(_Probe):
    """Two actions, observation ``[0]`` or ``[1]`` at random, +1 if the action equals it, else -1.

    Tests that the agent maps observations to actions (it must condition Q on both).
    """

    def __init__(self) -> None:
        super().__init__(0.0, 1.0, 2)
        self._bit = 0

    def _start(self) -> float:
        self._bit = int(self.np_random.random() < 0.5)
        return float(self._bit)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        reward = 1.0 if int(action) == self._bit else -1.0
        return _obs(float(self._bit)), reward, True, False, {}


PROBES: dict[str, type[gym.Env]] = {
    "rlladder/Probe1-v0": Probe1,
    "rlladder/Probe2-v0": Probe2,
    "rlladder/Probe3-v0": Probe3,
    "rlladder/Probe4-v0": Probe4,
    "rlladder/Probe5-v0": Probe5,
}

#: probe number -> (observations to ask about, tolerance); values come from :func:`expected_q_values`
PROBE_EXPECTATIONS: dict[int, tuple[list[list[float]], float]] = {
    1: ([[0.0]], 5e-4),
    2: ([[-1.0], [1.0]], 5e-4),
    3: ([[0.0], [1.0]], 5e-4),
    4: ([[0.0]], 5e-4),
    5: ([[0.0], [1.0]], 1e-3),
}


def expected_q_values(probe: int, gamma: float) -> np.ndarray:
    """The exact Q-values of probe ``probe`` at its :data:`PROBE_EXPECTATIONS` observations."""
    table = {
        1: [[1.0]],
        2: [[-1.0], [1.0]],
        3: [[gamma], [1.0]],
        4: [[-1.0, 1.0]],
        5: [[1.0, -1.0], [-1.0, 1.0]],
    }
    return np.array(table[probe], dtype=np.float64)


def register_probes() -> None:
    """Register the probes with gymnasium (idempotent)."""
    for env_id, cls in PROBES.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=cls, max_episode_steps=None)
