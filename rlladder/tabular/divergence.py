"""The error a tabular agent raises when a NaN or an infinity is about to enter its table.

Agents check the one number each update adds (Q-learning its TD target, PS its reward) with
``math.isfinite``, before the update: the check costs well under a microsecond a step, the table
is left as it was, and the error says where the value came from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rlladder.errors import DivergenceError

__all__ = ["non_finite"]


def non_finite(
    agent: str,
    what: str,
    value: float,
    *,
    reward: float,
    state: int,
    obs: Any,
    action: int,
    step: int,
    episode: int,
) -> DivergenceError:
    """A one-line :class:`DivergenceError` naming the agent, where it happened and what to check.

    ``step`` and ``episode`` count from 1 (the step being learnt from, in the episode it is in).
    """
    where = f"state {state}"
    if not (isinstance(obs, int | np.integer) and int(obs) == state):
        where += f" (observation {np.asarray(obs).tolist()!r})"
    cause = (
        f"the reward was {reward}: check the environment's reward, and any wrapper that changes it"
        if not math.isfinite(reward)
        else f"the reward was {reward} and the table already held a non-finite value"
    )
    return DivergenceError(
        f"{agent}: the {what} became {value} at env step {step} (episode {episode}), in {where} "
        f"after action {action}; {cause}. The table was left as it was before this step"
    )
