"""Small environments for testing agents; no torch here.

Importing :mod:`rlladder` registers the probe environments with gymnasium::

    env = gym.make("rlladder/Probe3-v0")
"""

from __future__ import annotations

from rlladder.envs.probes import (
    PROBE_EXPECTATIONS,
    PROBES,
    Probe1,
    Probe2,
    Probe3,
    Probe4,
    Probe5,
    expected_q_values,
    register_probes,
)

register_probes()

__all__ = [
    "Probe1",
    "Probe2",
    "Probe3",
    "Probe4",
    "Probe5",
    "PROBES",
    "PROBE_EXPECTATIONS",
    "expected_q_values",
    "register_probes",
]
