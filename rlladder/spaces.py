"""Observation adapters: how an agent sees an environment's observations.

Tabular agents index a table, so they need a whole-number state ``0 <= s < n``:

* ``Discrete(n)`` is used as it is;
* ``MultiDiscrete`` and tuples of ``Discrete`` (e.g. Blackjack) are numbered with ``ravel_multi_index``;
* ``Box`` (e.g. CartPole) is binned, but only when you ask for it with ``bins=`` (a grid over the
  box, or over ``bounds=`` where the box is unbounded); otherwise it is an error that says so.

Deep agents need a flat float vector: ``Discrete`` states arrive one-hot encoded and any other
space is flattened, both with gymnasium's own ``spaces.flatten``.

Action spaces must be ``Discrete`` for every agent in rlladder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from rlladder.errors import ConfigError, SpaceError

__all__ = [
    "TabularAdapter",
    "VectorAdapter",
    "tabular_adapter",
    "vector_adapter",
    "discrete_actions",
]

_UNBOUNDED = 1e10  # gymnasium marks "no bound" with inf or float32's largest value


class TabularAdapter:
    """Maps an observation to a state index in ``range(self.n)``."""

    def __init__(self, n: int, description: str) -> None:
        self.n = int(n)
        self.description = description

    def __call__(self, obs: Any) -> int:
        return int(obs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, {self.description})"


class _OffsetDiscrete(TabularAdapter):
    def __init__(self, space: spaces.Discrete) -> None:
        super().__init__(int(space.n), f"Discrete(start={int(space.start)})")
        self.start = int(space.start)

    def __call__(self, obs: Any) -> int:
        return int(obs) - self.start


class _Raveled(TabularAdapter):
    """MultiDiscrete or Tuple(Discrete, ...) numbered row-major."""

    def __init__(self, nvec: Sequence[int], starts: Sequence[int], description: str) -> None:
        self.nvec = tuple(int(n) for n in nvec)
        self.starts = np.asarray(starts, dtype=np.int64)
        super().__init__(int(np.prod(self.nvec)), description)

    def __call__(self, obs: Any) -> int:
        idx = np.asarray(obs, dtype=np.int64).ravel() - self.starts
        return int(np.ravel_multi_index(tuple(idx), self.nvec))


class BinningAdapter(TabularAdapter):
    """A uniform grid over a box: ``bins[i]`` cells along dimension ``i`` between ``bounds[i]``.

    Values outside the bounds fall into the first or last cell.
    """

    def __init__(self, space: spaces.Box, bins: int | Sequence[int], bounds: Any = None) -> None:
        low = np.asarray(space.low, dtype=np.float64).ravel()
        high = np.asarray(space.high, dtype=np.float64).ravel()
        dims = low.size
        bins_arr = (
            np.broadcast_to(np.asarray(bins), (dims,)) if np.ndim(bins) == 0 else np.asarray(bins)
        )
        if (
            bins_arr.shape != (dims,)
            or np.any(bins_arr < 1)
            or not np.all(bins_arr == bins_arr.astype(int))
        ):
            raise ConfigError(
                f"bins must be a whole number >= 1 or {dims} of them (one per dimension of {space}), got {bins!r}"
            )
        if bounds is not None:
            b = np.asarray(bounds, dtype=np.float64)
            if b.shape != (dims, 2) or np.any(b[:, 0] >= b[:, 1]):
                raise ConfigError(
                    f"bounds must be {dims} (low, high) pairs with low < high, one per dimension of "
                    f"{space}, got {bounds!r}"
                )
            low, high = b[:, 0].copy(), b[:, 1].copy()
        unbounded = [
            i for i in range(dims) if not (abs(low[i]) < _UNBOUNDED and abs(high[i]) < _UNBOUNDED)
        ]
        if unbounded:
            raise ConfigError(
                f"cannot bin {space}: dimension(s) {unbounded} are unbounded; pass bounds= with a "
                f"(low, high) pair for every dimension, e.g. bounds=[(-2.4, 2.4), (-3, 3), (-0.21, 0.21), (-3.5, 3.5)] for CartPole"
            )
        self.bins = tuple(int(b) for b in bins_arr)
        self.low, self.high = low, high
        # interior edges only: np.digitize then gives 0..bins-1, out-of-range values clamp to the ends
        self.edges = [np.linspace(low[i], high[i], self.bins[i] + 1)[1:-1] for i in range(dims)]
        super().__init__(int(np.prod(self.bins)), f"bins={self.bins}")

    def __call__(self, obs: Any) -> int:
        x = np.asarray(obs, dtype=np.float64).ravel()
        idx = tuple(int(np.digitize(x[i], self.edges[i])) for i in range(x.size))
        return int(np.ravel_multi_index(idx, self.bins))


def tabular_adapter(
    space: spaces.Space,
    *,
    bins: int | Sequence[int] | None = None,
    bounds: Any = None,
    agent: str = "this agent",
) -> TabularAdapter:
    """Choose how a tabular ``agent`` numbers the states of ``space`` (see the module docstring)."""
    if isinstance(space, spaces.Discrete):
        if bins is not None:
            raise ConfigError(
                f"{agent}: bins= only applies to Box observations; {space} is already discrete"
            )
        return _OffsetDiscrete(space)
    if isinstance(space, spaces.MultiDiscrete):
        return _Raveled(space.nvec.ravel(), space.start.ravel(), f"{space}")
    if isinstance(space, spaces.Tuple) and all(
        isinstance(s, spaces.Discrete) for s in space.spaces
    ):
        return _Raveled([s.n for s in space.spaces], [s.start for s in space.spaces], f"{space}")
    if isinstance(space, spaces.Box):
        if bins is None:
            raise SpaceError(
                f"{agent} is tabular and needs a Discrete observation space, got {space}. "
                "Discretise it with bins= (e.g. bins=6, and bounds= for unbounded dimensions), "
                "or use a deep agent such as 'dqn' that takes Box observations as they are"
            )
        return BinningAdapter(space, bins, bounds)
    raise SpaceError(
        f"{agent} is tabular and cannot use observations from {space}; it handles Discrete, "
        "MultiDiscrete, Tuple of Discrete, and Box with bins="
    )


class VectorAdapter:
    """Maps an observation to a flat ``float32`` vector of length ``self.dim``."""

    def __init__(self, space: spaces.Space) -> None:
        self.space = space
        self.dim = int(spaces.flatdim(space))
        self._box = isinstance(space, spaces.Box)

    def __call__(self, obs: Any) -> np.ndarray:
        if self._box:  # the common case, without singledispatch overhead
            return np.asarray(obs, dtype=np.float32).reshape(-1)
        return np.asarray(spaces.flatten(self.space, obs), dtype=np.float32)

    def __repr__(self) -> str:
        return f"VectorAdapter(dim={self.dim}, space={self.space})"


def vector_adapter(space: spaces.Space, *, agent: str = "this agent") -> VectorAdapter:
    """Choose how a deep ``agent`` turns observations of ``space`` into input vectors."""
    try:
        return VectorAdapter(space)
    except (NotImplementedError, ValueError, TypeError):
        raise SpaceError(
            f"{agent} cannot flatten observations from {space}; it handles Box, Discrete (one-hot), "
            "MultiDiscrete, MultiBinary and Tuple/Dict of those"
        ) from None


def discrete_actions(space: spaces.Space, *, agent: str = "this agent") -> int:
    """The number of actions of a ``Discrete`` action space, or a clear error for any other space."""
    if not isinstance(space, spaces.Discrete):
        hint = (
            " (a continuous action space: wrap the env in gymnasium.wrappers.DiscretizeAction, "
            "or use a policy-gradient library)"
            if isinstance(space, spaces.Box)
            else ""
        )
        raise SpaceError(f"{agent} needs a Discrete action space, got {space}{hint}")
    if int(space.start) != 0:
        raise SpaceError(f"{agent} needs a Discrete action space starting at 0, got {space}")
    return int(space.n)
