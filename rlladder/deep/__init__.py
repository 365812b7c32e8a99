"""Deep agents (torch): the Q-networks, the replay buffer, the DQN ladder, and its ensembles.

::

    from rlladder.deep import DQN, DQNConfig, ReplayBuffer, QNetwork
    from rlladder.deep import train_ensemble, train_seeds   # many seeds at once
"""

from __future__ import annotations

from rlladder.deep.config import DQNConfig
from rlladder.deep.dqn import DQN, dqn_loss, td_loss, td_target
from rlladder.deep.ensemble import DQNEnsemble, train_ensemble, train_seeds
from rlladder.deep.networks import DuelingHead, QNetwork
from rlladder.deep.replay import Batch, ReplayBuffer, StackedReplay

__all__ = [
    "DQN",
    "DQNConfig",
    "td_target",
    "td_loss",
    "dqn_loss",
    "QNetwork",
    "DuelingHead",
    "ReplayBuffer",
    "StackedReplay",
    "Batch",
    "train_ensemble",
    "train_seeds",
    "DQNEnsemble",
]
