"""Tabular agents (numpy only): Q-learning and its SARSA siblings, and Projective Simulation."""

from rlladder.tabular.projective_simulation import ProjectiveSimulation
from rlladder.tabular.q_learning import QLearning

__all__ = ["QLearning", "ProjectiveSimulation"]
