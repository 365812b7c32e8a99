"""Exercise check for the replay buffer, held against :class:`rlladder.deep.replay.ReplayBuffer`.

The library's buffer, fed the same transitions, says what the student's buffer must hold. The
check never asks for the library's random draws (the two buffers may use their generators
differently): it asks that every sampled transition is one the buffer holds, that every held
transition gets sampled, and that over many draws each is sampled about equally often.

::

    buffer = MyReplayBuffer(capacity, obs_dim, seed=0)
    buffer.add(obs, action, reward, next_obs, terminated)
    len(buffer)
    batch = buffer.sample(batch_size)   # batch.obs, batch.actions, batch.rewards, ...

    rl.exercises.check_replay_buffer(MyReplayBuffer)     # check_replay_buffer: 11 cases passed
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlladder.deep.replay import ReplayBuffer
from rlladder.exercises.cases import ATOL, RTOL, Case, CaseRunner, as_array, kind_of, show

__all__ = ["check_replay_buffer", "REPLAY_BUFFER_HINTS", "FIELDS"]

#: the fields a sampled batch has, in the order ``add`` takes them
FIELDS = ("obs", "actions", "rewards", "next_obs", "terminated")

#: hint key -> hint, for :func:`check_replay_buffer`
REPLAY_BUFFER_HINTS = {
    "make": "the buffer is made as cls(capacity, obs_dim, seed=0): take capacity and obs_dim "
    "as the first two arguments and a keyword seed for its random generator",
    "empty": "a new buffer holds nothing: len(buffer) is 0",
    "one": "add stores one transition; sample(batch_size) returns an object with fields obs "
    "(batch, obs_dim), actions, rewards and terminated (batch,) and next_obs (batch, obs_dim)",
    "length": "len(buffer) is the number of stored transitions: one more per add until the "
    "buffer holds capacity of them, then capacity",
    "terminated": "store the terminated flag you are given, as given: a transition cut by a "
    "time limit is not terminated (store terminated, never done = terminated or truncated), "
    "so that learning still bootstraps from it",
    "field": "store each field exactly as add receives it",
    "stored-only": "sample only transitions that were added: draw indices from 0 to "
    "len(buffer) - 1, not up to capacity (a buffer that is not yet full holds fewer)",
    "overwrite": "once full, a new transition replaces the oldest one: write at position, then "
    "position = (position + 1) % capacity (a ring)",
    "coverage": "every stored transition must be sampled sometimes: draw indices uniformly "
    "from all len(buffer) stored transitions",
    "uniform": "sample uniformly: every stored transition equally likely "
    "(rng.integers(0, len(buffer), size=batch_size))",
    "random": "store every transition as given, overwrite the oldest once full, sample "
    "uniformly among the stored ones",
}

#: how many draws the uniformity case makes, and the largest relative deviation it accepts
UNIFORM_DRAWS, UNIFORM_TOLERANCE = 4_000, 0.15


def _transition(i: int, obs_dim: int, terminated: bool = False) -> tuple[Any, ...]:
    """The ``i``-th transition of a case: every field distinct and non-zero, so that a row the
    buffer never stored (a zero row of a preallocated array) cannot pass for one."""
    obs = np.arange(1, obs_dim + 1, dtype=np.float32) + 10.0 * i
    return obs, i % 3, float(i) + 0.5, obs + 0.25, terminated


def _flat(fields: Sequence[Any]) -> np.ndarray:
    """The fields side by side: one transition as ``(D,)``, a batch as ``(B, D)``, where
    ``D = 2 * obs_dim + 3``."""
    arrays = [np.asarray(f, dtype=np.float64) for f in fields]
    if arrays[1].ndim == 0:  # one transition: obs (obs_dim,), action ()
        return np.concatenate([a.reshape(-1) for a in arrays])
    return np.concatenate([a.reshape(len(a), -1) for a in arrays], axis=1)


class _Stored:
    """What the reference buffer holds after the same adds, and everything that was added."""

    def __init__(self, reference: ReplayBuffer, added: list[tuple[Any, ...]], obs_dim: int) -> None:
        n = len(reference)
        self.obs_dim = obs_dim
        self.rows = _flat([getattr(reference, f)[:n] for f in FIELDS])  # (n, D)
        self.added = np.stack([_flat(t) for t in added])  # (adds, D)

    def field(self, row: np.ndarray, name: str) -> np.ndarray:
        """One field of a flat row."""
        d = self.obs_dim
        where = {
            "obs": slice(0, d),
            "actions": d,
            "rewards": d + 1,
            "next_obs": slice(d + 2, 2 * d + 2),
        }
        return row[where.get(name, 2 * d + 2)]

    def match(self, rows: np.ndarray) -> np.ndarray:
        """For each row of a batch, the index of the stored transition it equals, or -1."""
        close = np.isclose(rows[:, None, :], self.rows[None], rtol=RTOL, atol=ATOL).all(-1)
        return np.where(close.any(1), close.argmax(1), -1)


def _sample(runner: CaseRunner, buffer: Any, batch_size: int, obs_dim: int) -> np.ndarray:
    """``buffer.sample(batch_size)`` as flat rows, after checking its fields and their shapes."""
    try:
        batch = buffer.sample(batch_size)
    except Exception as exc:  # noqa: BLE001 - the student's own error, shown and chained
        hint = "stored-only" if isinstance(exc, IndexError) else None
        runner.fail(f"your sample() raised {type(exc).__name__}: {exc}", hint=hint, cause=exc)
    fields = []
    for name in FIELDS:
        if not hasattr(batch, name):
            runner.fail(
                f"sample() returned {kind_of(batch)} without a field '{name}'; expected an "
                f"object with the fields {', '.join(FIELDS)}",
                hint="one",
            )
        value = getattr(batch, name)
        try:
            array = as_array(value).astype(np.float64)
        except Exception as exc:  # noqa: BLE001 - whatever it is, it is not an array of numbers
            runner.fail(
                f"batch.{name} is {kind_of(value)}, not numbers (a numpy array or a tensor)",
                hint="one",
                cause=exc,
            )
        shape = (batch_size, obs_dim) if name in ("obs", "next_obs") else (batch_size,)
        if array.shape != shape:
            runner.fail(
                f"sample({batch_size}) returned batch.{name} of shape {array.shape}; expected "
                f"shape {shape}",
                hint="one",
            )
        fields.append(array)
    return _flat(fields)


def _diagnose(runner: CaseRunner, row: np.ndarray, stored: _Stored) -> None:
    """Fail for a sampled ``row`` that is none of the stored ones, naming what went wrong."""
    shown = ", ".join(f"{name}={show(stored.field(row, name))}" for name in FIELDS)
    for want in stored.rows:  # the same transition with a field stored wrongly
        if np.allclose(stored.field(row, "obs"), stored.field(want, "obs")):
            for name in FIELDS:
                got, expected = stored.field(row, name), stored.field(want, name)
                if not np.allclose(got, expected, rtol=RTOL, atol=ATOL):
                    runner.fail(
                        f"a sampled transition (obs={show(stored.field(row, 'obs'))}) has "
                        f"{name} {show(got)}; it was added with {name} {show(expected)}",
                        hint="terminated" if name == "terminated" else "field",
                    )
    if np.isclose(row[None], stored.added, rtol=RTOL, atol=ATOL).all(-1).any():
        runner.fail(
            f"sample() returned a transition the buffer should have overwritten ({shown})",
            hint="overwrite",
        )
    runner.fail(
        f"sample() returned a transition that was never added ({shown})", hint="stored-only"
    )


def check_replay_buffer(cls: Callable[..., Any]) -> None:
    """Check a replay buffer class against :class:`rlladder.deep.replay.ReplayBuffer`.

    The student writes ``cls(capacity, obs_dim, seed=0)`` with ``add(obs, action, reward,
    next_obs, terminated)``, ``len(buffer)`` and ``sample(batch_size)``, which returns an object
    (a NamedTuple, or anything with these attributes) with fields ``obs`` ``(batch, obs_dim)``,
    ``actions``, ``rewards``, ``terminated`` ``(batch,)`` and ``next_obs`` ``(batch, obs_dim)``,
    as numpy arrays or tensors of any dtype. The buffer is a ring: once it holds ``capacity``
    transitions each new one overwrites the oldest, and sampling draws uniformly from what it
    holds:

    .. math:: P(\\text{sample transition } i) = \\frac{1}{|\\mathcal{D}|}, \\quad
              |\\mathcal{D}| = \\min(\\text{adds}, \\text{capacity})

    It stores ``terminated`` (the episode truly ended), never ``done``: a transition cut by a
    time limit comes back not terminated. ``sample`` is called with a batch no larger than
    ``len(buffer)``, so sampling with or without replacement both pass.

    Args:
        cls: the student's buffer class (or any factory with the same signature).

    Raises:
        ExerciseFailed: on the first case where the buffer holds, counts or samples differently
            from the library's, or raises.
    """
    cases = [
        Case("an empty buffer", "empty", {"capacity": 5, "obs_dim": 3, "adds": 0}),
        Case("one transition", "one", {"capacity": 5, "obs_dim": 3, "adds": 1}),
        Case(
            "a transition cut by a time limit (terminated=False)",
            "terminated",
            {"capacity": 5, "obs_dim": 2, "adds": 2, "terminated": (False, False)},
        ),
        Case(
            "a terminal transition (terminated=True)",
            "terminated",
            {"capacity": 5, "obs_dim": 2, "adds": 2, "terminated": (True, False)},
        ),
        Case("the length counts to capacity", "length", {"capacity": 4, "obs_dim": 2, "adds": 9}),
        Case(
            "a buffer not yet full samples only what it holds",
            "stored-only",
            {"capacity": 10, "obs_dim": 2, "adds": 3},
        ),
        Case(
            "a full buffer overwrites the oldest entry",
            "overwrite",
            {"capacity": 4, "obs_dim": 2, "adds": 7},
        ),
        Case("sampling is uniform", "uniform", {"capacity": 5, "obs_dim": 2, "adds": 5}),
    ]
    rng = np.random.default_rng(0)
    for i in range(3):
        capacity = int(rng.integers(2, 20))
        cases.append(
            Case(
                f"random buffer {i + 1}",
                "random",
                {
                    "capacity": capacity,
                    "obs_dim": int(rng.integers(1, 6)),
                    "adds": int(rng.integers(1, 3 * capacity)),
                    "terminated": tuple(bool(t) for t in rng.random(3 * capacity) < 0.3),
                },
            )
        )
    runner = CaseRunner("check_replay_buffer", REPLAY_BUFFER_HINTS)

    def run_one(c: Case) -> None:
        capacity, obs_dim, adds = c.inputs["capacity"], c.inputs["obs_dim"], c.inputs["adds"]
        flags = c.inputs.get("terminated", ())
        buffer = runner.call(cls, capacity, obs_dim, seed=0, what="making your buffer", hint="make")
        reference = ReplayBuffer(capacity, obs_dim, seed=0)
        added = []
        for i in range(adds):
            transition = _transition(i, obs_dim, bool(flags[i]) if i < len(flags) else i % 5 == 4)
            runner.call(buffer.add, *transition, what="your add()")
            reference.add(*transition)
            added.append(transition)
        length = runner.call(len, buffer, what="len(buffer)")
        if length != len(reference):
            hint = "empty" if adds == 0 else "length"
            runner.fail(
                f"after {adds} adds", expected=len(reference), got=length, hint=hint, compare=True
            )
        if adds == 0 or c.hint == "length":
            return
        stored = _Stored(reference, added, obs_dim)
        n = len(reference)
        draws = UNIFORM_DRAWS if c.hint == "uniform" else 60 * n
        counts = np.zeros(n, dtype=int)
        for _ in range(max(1, draws // n)):
            rows = _sample(runner, buffer, n, obs_dim)
            which = stored.match(rows)
            if (which < 0).any():
                _diagnose(runner, rows[np.flatnonzero(which < 0)[0]], stored)
            counts += np.bincount(which, minlength=n)
        if (counts == 0).any():
            missing = [
                show(stored.field(stored.rows[k], "rewards")) for k in np.flatnonzero(counts == 0)
            ]
            runner.fail(
                f"in {counts.sum()} draws, sample() never returned the stored transitions with "
                f"rewards {', '.join(missing)} (of {n} stored)",
                hint="overwrite" if c.hint == "overwrite" else "coverage",
            )
        expected = counts.sum() / n
        if c.hint == "uniform" and np.abs(counts / expected - 1).max() > UNIFORM_TOLERANCE:
            runner.fail(
                f"in {counts.sum()} draws from {n} stored transitions, each should come about "
                f"{expected:.0f} times (within {UNIFORM_TOLERANCE:.0%})",
                expected=[round(expected)] * n,
                got=counts,
                compare=True,
            )

    runner.run(cases, run_one)
