"""Track runs in TensorBoard or Weights & Biases, as :func:`rl.train` callbacks.

::

    rl.train(agent, env, steps=20_000, callbacks=[rl.loggers.TensorBoard("tb/dqn")])
    rl.train(agent, env, steps=20_000, callbacks=[rl.loggers.WandB(project="rlladder")])
    rl.run_experiment(exp, log=rl.loggers.Tracking(tensorboard="tb"))   # one per run

Both are optional: ``pip install "rlladder[tensorboard]"`` or ``"rlladder[wandb]"``. Importing
this module imports neither; a tracker imports its package when it is made.
"""

from rlladder.loggers.base import MissingTrackerError, Tracker, TrackingWarning
from rlladder.loggers.tensorboard import TensorBoard
from rlladder.loggers.tracking import RunTracking, Tracking
from rlladder.loggers.wandb import WandB

__all__ = [
    "TensorBoard",
    "WandB",
    "Tracking",
    "RunTracking",
    "Tracker",
    "TrackingWarning",
    "MissingTrackerError",
]
