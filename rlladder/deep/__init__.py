"""Deep agents (torch): the Q-networks, the replay buffer and the DQN ladder.

::

    from rlladder.deep import DQN, DQNConfig, ReplayBuffer, QNetwork
"""

from __future__ import annotations

from rlladder.deep.dqn import DQN, DQNConfig, dqn_loss, td_loss, td_target
from rlladder.deep.networks import DuelingHead, QNetwork
from rlladder.deep.replay import Batch, ReplayBuffer

__all__ = [
    "DQN",
    "DQNConfig",
    "td_target",
    "td_loss",
    "dqn_loss",
    "QNetwork",
    "DuelingHead",
    "ReplayBuffer",
    "Batch",
]
