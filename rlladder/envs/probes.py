"""Six probe environments: the smallest tests a value-based agent must pass before CartPole.

Each probe isolates one ability, so when an agent fails one you know where to look:

========  =======  ==========================================  ===================================
probe     actions  what happens                                Q-values a correct agent learns
========  =======  ==========================================  ===================================
Probe1    1        obs ``[0]``, reward +1, ends                Q([0]) = 1            (loss, optimiser)
Probe2    1        obs ``[-1]`` or ``[+1]``, reward = obs      Q([-1]) = -1, Q([1]) = 1  (inputs)
Probe3    1        obs ``[0]`` then ``[1]``, +1 at the end      Q([0]) = gamma, Q([1]) = 1 (bootstrap)
Probe4    2        obs ``[0]``, reward -1 for a0, +1 for a1    Q([0]) = [-1, 1]      (actions)
Probe5    2        obs ``[0]`` or ``[1]``, +1 if action = obs  Q([0]) = [1, -1], Q([1]) = [-1, 1]
Probe6    1        obs ``[0]``, reward +1, cut by a time limit  Q([0]) = 1 / (1 - gamma)  (time limit)
========  =======  ==========================================  ===================================

Probes 1-5 are the course chapter's: every episode ends by *termination* (a true end: no
bootstrapping). Probe6, "a time limit is not a failure", never terminates: gymnasium's
``TimeLimit`` cuts every episode after one step as *truncated*, the way CartPole's 500-step limit
cuts a balanced pole. An agent that bootstraps through the cut learns ``1 + gamma + gamma² + ...
= 1 / (1 - gamma)``; one whose target stops at ``done`` (terminated *or* truncated) learns 1, the
one-step reward. :func:`time_limit_floor` is the line between the two for any ``gamma``.

Each probe has a *tabular twin* with a ``Discrete`` observation (state ``i`` stands for the
``i``-th of the probe's ``values``), so that tabular agents can be probed too:
``"rlladder/TabularProbe1-v0"`` ... ``"rlladder/TabularProbe6-v0"``; :func:`probe_observation`
translates. :data:`PROBE_EXPECTATIONS` holds the probe observations, the expected Q-values and the
tolerances the tests hold agents to. The environments are registered with gymnasium as
``"rlladder/Probe1-v0"`` ... ``"rlladder/Probe6-v0"`` (and the twins) when :mod:`rlladder` is
imported.
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
    "Probe6",
    "PROBES",
    "TABULAR_PROBES",
    "PROBE_EXPECTATIONS",
    "TIME_LIMIT_OBSERVATIONS",
    "expected_q_values",
    "time_limit_floor",
    "probe_observation",
]


class _Probe(gym.Env):
    """Shared plumbing: a one-dimensional float observation (or, for the tabular twin, the index
    of the observation value in :attr:`values`) and ``render_mode=None``."""

    metadata: dict[str, Any] = {"render_modes": []}
    #: the observation values this probe shows; the tabular twin numbers them 0, 1, ...
    values: tuple[float, ...] = (0.0,)
    #: how many actions the probe offers
    n_actions: int = 1
    #: the time limit gymnasium's ``TimeLimit`` cuts episodes at (``None``: the probe ends them)
    time_limit: int | None = None

    def __init__(self, *, tabular: bool = False) -> None:
        super().__init__()
        self.tabular = tabular
        if tabular:
            self.observation_space: spaces.Space = spaces.Discrete(len(self.values))
        else:
            low, high = min(self.values), max(self.values)
            high = (
                high if high > low else low + 1.0
            )  # a degenerate box (low == high) upsets checkers
            self.observation_space = spaces.Box(low, high, shape=(1,), dtype=np.float32)
        self.action_space = spaces.Discrete(self.n_actions)

    def _obs(self, value: float) -> np.ndarray | int:
        """The observation for ``value``: ``[value]`` (float32), or its index for the twin."""
        if self.tabular:
            return self.values.index(value)
        return np.array([value], dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray | int, dict]:
        super().reset(seed=seed)
        return self._obs(self._start()), {}

    def _start(self) -> float:
        """Begin an episode (after seeding ``self.np_random``); return the first observation."""
        return 0.0


class Probe1(_Probe):
    """One action, constant observation ``[0]``, reward +1, one step: tests the loss and optimiser."""

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        return self._obs(0.0), 1.0, True, False, {}


class Probe2(_Probe):
    """One action, observation ``[-1]`` or ``[+1]`` at random, reward equal to it: tests inputs."""

    values = (-1.0, 1.0)

    def __init__(self, *, tabular: bool = False) -> None:
        super().__init__(tabular=tabular)
        self._sign = 1.0

    def _start(self) -> float:
        self._sign = 1.0 if self.np_random.random() < 0.5 else -1.0
        return self._sign

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        return self._obs(self._sign), self._sign, True, False, {}


class Probe3(_Probe):
    """One action, observation ``[0]`` then ``[1]``, reward +1 only at the end: tests discounting.

    The first state's value is ``gamma * 1``, reachable only by bootstrapping from the second.
    """

    values = (0.0, 1.0)

    def __init__(self, *, tabular: bool = False) -> None:
        super().__init__(tabular=tabular)
        self._t = 0

    def _start(self) -> float:
        self._t = 0
        return 0.0

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        self._t += 1
        if self._t == 1:
            return self._obs(1.0), 0.0, False, False, {}
        return self._obs(1.0), 1.0, True, False, {}


class Probe4(_Probe):
    """Two actions, observation ``[0]``, reward -1 for action 0 and +1 for action 1: tests actions."""

    n_actions = 2

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        return self._obs(0.0), (1.0 if int(action) == 1 else -1.0), True, False, {}


class Probe5(_Probe):
    """Two actions, observation ``[0]`` or ``[1]`` at random, +1 if the action equals it, else -1.

    Tests that the agent maps observations to actions (it must condition Q on both).
    """

    values = (0.0, 1.0)
    n_actions = 2

    def __init__(self, *, tabular: bool = False) -> None:
        super().__init__(tabular=tabular)
        self._bit = 0

    def _start(self) -> float:
        self._bit = int(self.np_random.random() < 0.5)
        return float(self._bit)

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        reward = 1.0 if int(action) == self._bit else -1.0
        return self._obs(float(self._bit)), reward, True, False, {}


class Probe6(_Probe):
    """A time limit is not a failure: one action, observation ``[0]``, reward +1, never terminates.

    Made with ``gym.make("rlladder/Probe6-v0")``, gymnasium's ``TimeLimit`` cuts every episode
    after one step as *truncated*. The state goes on (it has a value), so a correct agent
    bootstraps through the cut and learns ``Q([0]) = 1 / (1 - gamma)``; an agent whose TD target
    uses ``done`` instead of ``terminated`` learns 1. (Built directly, without ``gym.make``, the
    episode never ends.)
    """

    time_limit = 1

    def step(self, action: int) -> tuple[np.ndarray | int, float, bool, bool, dict]:
        return self._obs(0.0), 1.0, False, False, {}


PROBES: dict[str, type[_Probe]] = {
    "rlladder/Probe1-v0": Probe1,
    "rlladder/Probe2-v0": Probe2,
    "rlladder/Probe3-v0": Probe3,
    "rlladder/Probe4-v0": Probe4,
    "rlladder/Probe5-v0": Probe5,
    "rlladder/Probe6-v0": Probe6,
}

#: the tabular twins: the same probes with a ``Discrete`` observation (the value's index)
TABULAR_PROBES: dict[str, type[_Probe]] = {
    f"rlladder/TabularProbe{i}-v0": cls for i, cls in enumerate(PROBES.values(), start=1)
}

#: probe number -> (observations to ask about, tolerance); values come from :func:`expected_q_values`
PROBE_EXPECTATIONS: dict[int, tuple[list[list[float]], float]] = {
    1: ([[0.0]], 5e-4),
    2: ([[-1.0], [1.0]], 5e-4),
    3: ([[0.0], [1.0]], 5e-4),
    4: ([[0.0]], 5e-4),
    5: ([[0.0], [1.0]], 1e-3),
}

#: Probe6's observations to ask about. Its value only approaches ``1 / (1 - gamma)`` (slowly for
#: gamma near 1), so it is judged against :func:`time_limit_floor`, not with a tolerance.
TIME_LIMIT_OBSERVATIONS: list[list[float]] = [[0.0]]


def expected_q_values(probe: int, gamma: float) -> np.ndarray:
    """The exact Q-values of probe ``probe`` at its :data:`PROBE_EXPECTATIONS` observations
    (for Probe6, at :data:`TIME_LIMIT_OBSERVATIONS`: the limit ``1 / (1 - gamma)``)."""
    table = {
        1: [[1.0]],
        2: [[-1.0], [1.0]],
        3: [[gamma], [1.0]],
        4: [[-1.0, 1.0]],
        5: [[1.0, -1.0], [-1.0, 1.0]],
        6: [[1.0 / (1.0 - gamma) if gamma < 1.0 else np.inf]],
    }
    return np.array(table[probe], dtype=np.float64)


def time_limit_floor(gamma: float) -> float:
    """The value Probe6's learned ``Q([0])`` must exceed: ``1 + gamma / 2``.

    A target that stops at the time limit converges to the one-step reward, 1. A target that
    bootstraps through it reaches ``1 + gamma`` after two backups and keeps climbing towards
    ``1 / (1 - gamma)``. Halfway between 1 and ``1 + gamma`` tells the two apart for any
    ``gamma > 0``, without waiting for ``1 / (1 - gamma)`` (200 for gamma = 0.995).
    """
    return 1.0 + gamma / 2.0


def probe_observation(probe: int, value: list[float], *, tabular: bool = False) -> Any:
    """The observation probe ``probe`` shows for ``value`` (e.g. ``[-1.0]``, as in
    :data:`PROBE_EXPECTATIONS`): a float32 array, or for the tabular twin the state index.

    >>> probe_observation(2, [-1.0], tabular=True)
    0
    """
    cls = PROBES[f"rlladder/Probe{probe}-v0"]
    if tabular:
        return cls.values.index(float(value[0]))
    return np.array(value, dtype=np.float32)


def register_probes() -> None:
    """Register the probes and their tabular twins with gymnasium (idempotent)."""
    for registry, kwargs in ((PROBES, {}), (TABULAR_PROBES, {"tabular": True})):
        for env_id, cls in registry.items():
            if env_id not in gym.registry:
                gym.register(
                    id=env_id,
                    entry_point=cls,
                    kwargs=dict(kwargs),
                    max_episode_steps=cls.time_limit,
                )
