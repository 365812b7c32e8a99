"""Small environments for testing agents; no torch here.

Importing :mod:`rlladder` registers the probe environments (and their tabular twins) with
gymnasium::

    env = gym.make("rlladder/Probe3-v0")
    env = gym.make("rlladder/TabularProbe3-v0")   # the same probe, Discrete observations
"""

from __future__ import annotations

from rlladder.envs.probes import (
    PROBE_EXPECTATIONS,
    PROBES,
    TABULAR_PROBES,
    TIME_LIMIT_OBSERVATIONS,
    Probe1,
    Probe2,
    Probe3,
    Probe4,
    Probe5,
    Probe6,
    expected_q_values,
    probe_observation,
    register_probes,
    time_limit_floor,
)

register_probes()

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
    "register_probes",
]
