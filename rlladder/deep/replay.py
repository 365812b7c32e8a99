"""Experience replay: a fixed-size ring of past transitions to learn from in random minibatches.

Learning from consecutive transitions feeds the network strongly correlated samples, and each
transition is used once and thrown away. A replay buffer keeps the last ``capacity`` transitions
and samples minibatches uniformly from them, which decorrelates updates and reuses experience.

The buffer is six preallocated numpy arrays written in a ring: :meth:`ReplayBuffer.add` is O(1)
(it overwrites the oldest entry once full), and :meth:`ReplayBuffer.sample` is one fancy-index per
array, with no Python loop over the batch. It stores ``terminated`` (bootstrap or not) apart
from ``done`` (the episode ended here, terminated or truncated): a transition cut by a time limit
is stored as not terminated, so learning still bootstraps from it.

**n-step returns.** A buffer made with ``n_step=n`` samples ``n``-step transitions: for a sampled
step ``t`` it sums ``R = r_t + γ r_{t+1} + ... + γ^{k-1} r_{t+k-1}`` over the next ``k <= n``
stored steps of the same episode (fewer where the episode ends, or at the newest transition),
and returns the state ``s_{t+k}`` to bootstrap from, whether it is terminal, and the discount
``γ^k`` (:func:`n_step_returns`). Values then propagate ``n`` steps per update instead of one.

::

    buffer = ReplayBuffer(capacity=50_000, obs_dim=4, seed=0)
    buffer.add(obs, action, reward, next_obs, terminated)
    batch = buffer.sample(64)          # batch.obs.shape == (64, 4)

:class:`StackedReplay` holds the rings of M ensemble members that add in lockstep, as arrays
with a leading member axis: each member samples with its own generator, and each member's
:class:`ReplayBuffer` reads and writes its row of the stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from rlladder.errors import ConfigError, check_int

__all__ = ["ReplayBuffer", "StackedReplay", "Batch", "NStepBatch", "n_step_returns"]


_FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated", "done")  # what a ring stores
_BATCH = _FIELDS[:5]  # what a one-step minibatch reads


class Batch(NamedTuple):
    """A minibatch of transitions as arrays with a leading batch dimension (after the member
    axis, for a :class:`StackedReplay`)."""

    obs: np.ndarray  # (B, obs_dim) float32
    actions: np.ndarray  # (B,) int64
    rewards: np.ndarray  # (B,) float32
    next_obs: np.ndarray  # (B, obs_dim) float32
    terminated: np.ndarray  # (B,) float32: 1.0 where the episode truly ended


class NStepBatch(NamedTuple):
    """A minibatch of n-step transitions: :class:`Batch`'s fields, ``rewards`` holding each
    sample's discounted n-step return and ``next_obs`` / ``terminated`` those of its last step,
    and the discount ``γ^k`` to bootstrap with (see :func:`n_step_returns`)."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    terminated: np.ndarray
    discount: np.ndarray  # (B,) float32


def n_step_returns(
    rewards: np.ndarray,
    done: np.ndarray,
    idx: np.ndarray,
    *,
    base: np.ndarray | int,
    capacity: int,
    newest: int,
    n: int,
    gamma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n-step return of each ring position in ``idx``: ``(R, last, discount)``.

    .. math:: R_t = \\sum_{j=0}^{k-1} \\gamma^j r_{t+j}, \\qquad
              y_t = R_t + \\gamma^k (1 - d_{t+k-1}) \\max_{a'} Q(s_{t+k}, a')

    ``k`` counts up to ``n`` steps and stops after a step that ends its episode (``done``) or at
    the ring's ``newest`` position; ``last = t + k - 1`` (mod ``capacity``) is the transition
    whose ``next_obs`` and ``terminated`` the target uses, and ``discount`` is ``γ^k``.
    ``rewards`` and ``done`` are flat arrays read at ``base + position`` (``base`` 0 for one
    ring, ``row * capacity`` for the rows of a stack), so one buffer and a stack of them compute
    the same float32 sums element by element.
    """
    powers = (gamma ** np.arange(n + 1)).astype(np.float32)
    returns = rewards[base + idx]
    last = idx
    discount = np.full(idx.shape, powers[1], dtype=np.float32)
    going = ~done[base + idx] & (idx != newest)
    for j in range(1, n):
        step = (idx + j) % capacity
        returns = np.where(going, returns + powers[j] * rewards[base + step], returns)
        last = np.where(going, step, last)
        discount = np.where(going, powers[j + 1], discount)
        going &= ~done[base + step] & (step != newest)
    return returns, last, discount


class ReplayBuffer:
    """A ring buffer of transitions with seeded uniform sampling.

    Args:
        capacity: how many transitions it keeps; the oldest is overwritten first.
        obs_dim: length of an observation vector.
        seed: seeds sampling (or pass ``rng``, a ``numpy.random.Generator`` to share).
        n_step: sample n-step returns (see :func:`n_step_returns`), discounted by ``gamma``.
    """

    def __init__(
        self,
        capacity: int,
        obs_dim: int,
        *,
        seed: int | None = None,
        rng: np.random.Generator | None = None,
        n_step: int = 1,
        gamma: float = 0.99,
    ) -> None:
        self.capacity = check_int("capacity", capacity, 1, owner="ReplayBuffer")
        self.obs_dim = check_int("obs_dim", obs_dim, 1, owner="ReplayBuffer")
        self.n_step = check_int("n_step", n_step, 1, owner="ReplayBuffer")
        self.gamma = float(gamma)
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.obs = np.zeros((self.capacity, self.obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((self.capacity, self.obs_dim), dtype=np.float32)
        self.actions = np.zeros(self.capacity, dtype=np.int64)
        self.rewards = np.zeros(self.capacity, dtype=np.float32)
        self.terminated = np.zeros(self.capacity, dtype=np.float32)
        self.done = np.zeros(self.capacity, dtype=bool)
        self.position = 0  # where the next transition goes
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def add(
        self,
        obs: Any,
        action: int,
        reward: float,
        next_obs: Any,
        terminated: bool,
        done: bool | None = None,
    ) -> None:
        """Store one transition, overwriting the oldest when full. ``done``: the episode ended
        with it (terminated or truncated; ``terminated`` when not given)."""
        i = self.position
        self.obs[i] = obs
        self.actions[i] = action
        self.rewards[i] = reward
        self.next_obs[i] = next_obs
        self.terminated[i] = terminated
        self.done[i] = terminated if done is None else done
        self.position = (i + 1) % self.capacity
        if self.size < self.capacity:
            self.size += 1

    def sample(self, batch_size: int) -> Batch | NStepBatch:
        """``batch_size`` transitions drawn uniformly with replacement (n-step ones with
        ``n_step > 1``)."""
        if self.size == 0:
            raise ConfigError("cannot sample from an empty ReplayBuffer; add transitions first")
        idx = self.rng.integers(0, self.size, size=batch_size)
        return _n_step_batch(self, idx, base=0) if self.n_step > 1 else self._gather(idx)

    def end_episode(self) -> None:
        """Mark the newest transition as the end of its episode (an episode cut by a step
        budget, so that a later n-step return never runs on into the next episode)."""
        if self.size:
            self.done[(self.position - 1) % self.capacity] = True

    def latest(self) -> Batch:
        """The most recently added transition as a batch of one (what learning without replay uses)."""
        return self._gather(np.array([(self.position - 1) % self.capacity]))

    def _gather(self, idx: np.ndarray) -> Batch:
        return Batch(*(self._take(name, idx) for name in _BATCH))

    def _take(self, name: str, idx: np.ndarray) -> np.ndarray:
        return getattr(self, name)[idx]

    def state_dict(self) -> dict[str, Any]:
        """The stored transitions and ring position (arrays are copied)."""
        n = self.size
        return {
            "capacity": self.capacity,
            "obs_dim": self.obs_dim,
            "position": self.position,
            "size": n,
            "obs": self.obs[:n].copy(),
            "actions": self.actions[:n].copy(),
            "rewards": self.rewards[:n].copy(),
            "next_obs": self.next_obs[:n].copy(),
            "terminated": self.terminated[:n].copy(),
            "done": self.done[:n].copy(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (into a buffer of the same shape)."""
        if state["capacity"] != self.capacity or state["obs_dim"] != self.obs_dim:
            raise ConfigError(
                f"replay buffer shape mismatch: saved capacity={state['capacity']}, "
                f"obs_dim={state['obs_dim']}; this one has {self.capacity}, {self.obs_dim}"
            )
        n = int(state["size"])
        for key in _BATCH:
            getattr(self, key)[:n] = np.asarray(state[key])
        # absent from checkpoints written before episode ends were stored: their episodes ended
        # where they terminated (as add() assumes), so n-step returns never run on past them
        self.done[:n] = np.asarray(state["done"] if "done" in state else self.terminated[:n])
        self.size, self.position = n, int(state["position"])


class StackedReplay:
    """The replay rings of M members that add in lockstep: arrays ``(M, capacity, ...)``.

    Built from the members' own :class:`ReplayBuffer` objects (same capacity, size and ring
    position), whose contents it takes over: from then on each member's buffer reads and writes
    its row of the stack, so nothing is copied back. :meth:`sample` draws each member's indices
    from that member's generator, exactly as its own :meth:`ReplayBuffer.sample` would.
    ``rows`` are the members still training (see :meth:`release`); :meth:`sync` hands the
    members' buffers the ring's size and position.
    """

    def __init__(self, buffers: Sequence[ReplayBuffer]) -> None:
        first = buffers[0]
        for b in buffers:
            if (b.capacity, b.obs_dim, b.size, b.position) != (
                first.capacity,
                first.obs_dim,
                first.size,
                first.position,
            ):
                raise ConfigError(
                    "StackedReplay needs buffers of one capacity, obs_dim, size and position "
                    f"(members in lockstep), got {(b.capacity, b.obs_dim, b.size, b.position)} "
                    f"and {(first.capacity, first.obs_dim, first.size, first.position)}"
                )
            if (b.n_step, b.gamma) != (first.n_step, first.gamma):
                raise ConfigError(
                    "StackedReplay needs buffers of one n_step and gamma, got "
                    f"{(b.n_step, b.gamma)} and {(first.n_step, first.gamma)}"
                )
        self.buffers = list(buffers)
        self.n_step, self.gamma = first.n_step, first.gamma
        self.capacity, self.size, self.position = first.capacity, first.size, first.position
        for name in _FIELDS:
            stack = np.stack([getattr(b, name) for b in buffers])
            setattr(self, name, stack)
            for b, row in zip(buffers, stack, strict=True):
                setattr(b, name, row)  # a view: the member's buffer is its row of the stack
        self.rows = np.arange(len(buffers))
        self._rngs = [b.rng for b in buffers]

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        done: np.ndarray | None = None,
    ) -> None:
        """Store one transition per member still training (arrays with a leading member axis);
        ``done``: where each member's episode ended (``terminated`` when not given)."""
        i, rows = self.position, self.rows
        self.obs[rows, i] = obs
        self.actions[rows, i] = actions
        self.rewards[rows, i] = rewards
        self.next_obs[rows, i] = next_obs
        self.terminated[rows, i] = terminated
        self.done[rows, i] = terminated if done is None else done
        self.position = (i + 1) % self.capacity
        if self.size < self.capacity:
            self.size += 1

    def sample(self, batch_size: int) -> Batch | NStepBatch:
        """``batch_size`` transitions per member, each member's drawn by its own generator."""
        idx = np.stack([self._rngs[r].integers(0, self.size, size=batch_size) for r in self.rows])
        if self.n_step > 1:
            return _n_step_batch(self, idx, base=self.rows[:, None] * self.capacity)
        return self._gather(idx)

    def latest(self) -> Batch:
        """Each member's most recent transition, as batches of one."""
        last = np.full((len(self.rows), 1), (self.position - 1) % self.capacity)
        return self._gather(last)

    def _gather(self, idx: np.ndarray) -> Batch:
        return Batch(*(self._take(name, idx) for name in _BATCH))

    def _take(self, name: str, idx: np.ndarray) -> np.ndarray:
        """Field ``name`` at ring positions ``idx`` (one row of positions per training member)."""
        flat = (self.rows[:, None] * self.capacity + idx).ravel()  # rows of (members * capacity)
        array = getattr(self, name)
        tail = array.shape[2:]
        return np.take(array.reshape(-1, *tail), flat, axis=0).reshape(*idx.shape, *tail)

    def sync(self) -> None:
        """Give the members' buffers the ring's size and position (their rows already hold the
        data)."""
        for r in self.rows:
            self.buffers[r].position, self.buffers[r].size = self.position, self.size

    def release(self, member: int) -> None:
        """Stop adding for ``member``: its buffer gets its own copy of its row and keeps it."""
        buffer = self.buffers[member]
        buffer.position, buffer.size = self.position, self.size
        for name in _FIELDS:
            setattr(buffer, name, getattr(self, name)[member].copy())
        self.rows = self.rows[self.rows != member]


def _n_step_batch(
    ring: ReplayBuffer | StackedReplay, idx: np.ndarray, *, base: np.ndarray | int
) -> NStepBatch:
    """The n-step minibatch at ring positions ``idx`` of one ring or a stack of them (``base``:
    where each row starts in the flattened arrays): :func:`n_step_returns`, then the fields."""
    returns, last, discount = n_step_returns(
        ring.rewards.reshape(-1),
        ring.done.reshape(-1),
        idx,
        base=base,
        capacity=ring.capacity,
        newest=(ring.position - 1) % ring.capacity,
        n=ring.n_step,
        gamma=ring.gamma,
    )
    take = ring._take
    return NStepBatch(
        take("obs", idx),
        take("actions", idx),
        returns,
        take("next_obs", last),
        take("terminated", last),
        discount,
    )
