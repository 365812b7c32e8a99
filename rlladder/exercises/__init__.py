"""Exercise checks: hold each piece a student writes against the library's own function.

The course has students write the pieces of their agents one at a time: the epsilon schedules,
the replay buffer, the TD target and loss, the target network's update, the tabular Q-learning
update and Projective Simulation's glow and h-matrix updates. Each check here feeds the
student's function hand-made cases that isolate one mistake at a time (a terminal transition,
gamma = 0, ties in the max, a full buffer, ...), then seeded random ones, and compares every
answer with the library's own pure function; there is no second reference implementation::

    import rlladder as rl

    def td_target(rewards, terminated, next_q_target, gamma):
        return rewards + gamma * next_q_target.max(dim=-1).values

    rl.exercises.check_td_target(td_target)
    # ExerciseFailed: check_td_target: case 'a terminal transition' (3 of 13) failed
    #   ...
    #   hint: at a terminal transition the target is just r: multiply the bootstrap term
    #   by (1 - terminated)

A check prints one line when every case passes and raises :class:`ExerciseFailed` (an
``AssertionError``) at the first case that does not, naming the case, the expected value, the
student's value and a hint. The checks of DQN's pieces import torch; the others need numpy only.

| check | the student writes | held against |
| --- | --- | --- |
| :func:`check_linear_schedule` | ``fn(t, start, end, duration) -> float`` | :class:`~rlladder.schedules.LinearSchedule` |
| :func:`check_exponential_schedule` | ``fn(t, start, end, decay) -> float`` | :class:`~rlladder.schedules.ExponentialSchedule` |
| :func:`check_replay_buffer` | ``cls(capacity, obs_dim, seed=0)``, ``add``, ``len``, ``sample`` | :class:`~rlladder.deep.replay.ReplayBuffer` |
| :func:`check_td_target` | ``fn(rewards, terminated, next_q_target, gamma) -> y`` | :func:`~rlladder.deep.dqn.td_target` |
| :func:`check_mse_loss` | ``fn(q_taken, target) -> loss`` | :func:`~rlladder.deep.dqn.td_loss` |
| :func:`check_huber_loss` | ``fn(q_taken, target, delta) -> loss`` | :func:`~rlladder.deep.dqn.td_loss` |
| :func:`check_hard_target_update` | ``fn(target_net, online_net) -> None`` | :func:`~rlladder.deep.dqn.update_target` |
| :func:`check_soft_target_update` | ``fn(target_net, online_net, tau) -> None`` | :func:`~rlladder.deep.dqn.update_target` |
| :func:`check_q_learning_update` | ``fn(q, s, a, reward, next_s, terminated, eta, gamma) -> None`` | :func:`~rlladder.tabular.q_learning.td_update` |
| :func:`check_glow_update` | ``fn(glow, s, a, eta) -> None`` | :func:`~rlladder.tabular.projective_simulation.glow_update` |
| :func:`check_h_update` | ``fn(h, glow, reward, gamma) -> None`` | :func:`~rlladder.tabular.projective_simulation.h_update` |
"""

from __future__ import annotations

from rlladder.exercises.cases import ExerciseFailed
from rlladder.exercises.deep import (
    check_hard_target_update,
    check_huber_loss,
    check_mse_loss,
    check_soft_target_update,
    check_td_target,
)
from rlladder.exercises.replay import check_replay_buffer
from rlladder.exercises.schedules import check_exponential_schedule, check_linear_schedule
from rlladder.exercises.tabular import check_glow_update, check_h_update, check_q_learning_update

__all__ = [
    "ExerciseFailed",
    "check_linear_schedule",
    "check_exponential_schedule",
    "check_replay_buffer",
    "check_td_target",
    "check_mse_loss",
    "check_huber_loss",
    "check_hard_target_update",
    "check_soft_target_update",
    "check_q_learning_update",
    "check_glow_update",
    "check_h_update",
]
