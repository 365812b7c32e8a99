"""Live progress of an experiment: env steps (or episodes) summed over all its runs, with an ETA.

Two sides, and a channel between them that fits the backend.

**In the worker**, each task gets a :class:`Reporter`. ``report(n)`` says "``n`` more units
done", in the experiment's unit: env steps for a ``steps=`` budget, episodes for ``episodes=``.
A solo run calls it at the end of each episode (:class:`ReportEpisodes`, an ordinary training
callback: the training loop itself is untouched). A task that trains several runs at once (a
batched ensemble) calls it with the units done since its last call, summed over its runs, so
``on_steps=report`` plugs straight in. The reporter adds the numbers up and sends the running
total at most every :data:`REPORT_INTERVAL_S` seconds, so there is never a message per step.

**In the parent**, :class:`ExperimentProgress` turns the tasks' totals into one tqdm bar over
the whole experiment: a task counts for at most its budget while it runs and for exactly its
budget when it finishes, whatever its reports said, so the bar never goes back, never passes its
total, and ends at the sum of the budgets. Runs already finished in a resumed results folder
count from the start.

**The channels** (each backend opens its own; with ``progress=False`` none is opened):

* serial: :class:`CallbackReporter` calls the bar in the same process.
* process: :class:`SharedMemorySlots`, one int64 slot per task in a
  :class:`multiprocessing.shared_memory.SharedMemory` block. loky's workers are fresh
  interpreters and inherit no ``multiprocessing`` object, but a block is attached by its name,
  a plain string. Each slot has one writer (its task), and the parent reads the block while it
  waits for results. A store into a slot is the whole cost of a report: no extra process (a
  ``multiprocessing.Manager`` queue needs a server process and a socket round trip a message),
  no queue to drain, no files. Later values replace earlier ones, so nothing can pile up, and
  the block is unlinked when the experiment ends, however it ends.
* ray: :class:`RaySlots`, a small named actor holding the slots; workers on any machine of the
  cluster find it by name and send their totals without waiting for an answer.

Progress never stops an experiment: a worker that cannot reach its channel stops reporting, and
its run still counts in full when it finishes.
"""

from __future__ import annotations

import math
import time
import uuid
import warnings
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tqdm.auto import tqdm

from rlladder.interface import Agent

__all__ = [
    "REPORT_INTERVAL_S",
    "POLL_INTERVAL_S",
    "TaskProgress",
    "Reporter",
    "CallbackReporter",
    "SharedMemoryReporter",
    "RayReporter",
    "ReportEpisodes",
    "SharedMemorySlots",
    "RaySlots",
    "ExperimentProgress",
    "open_shared_memory",
]

#: the least time, in seconds, between two sends of one task's total (a send only ever happens
#: inside a ``report(n)`` call, so a solo run sends at most once an episode)
REPORT_INTERVAL_S = 0.25
#: seconds between two reads of the tasks' totals by the parent while it waits for results
POLL_INTERVAL_S = 0.25


class TaskProgress(Protocol):
    """What a backend tells about the progress of its tasks (``index``: position in ``tasks``)."""

    def report(self, index: int, total: int) -> None:
        """Task ``index`` has done ``total`` units so far (a running total, as last sent)."""

    def finished(self, index: int) -> None:
        """Task ``index`` has finished and its result has been handed over."""


class Reporter:
    """Worker side: counts the units one task has done and sends the running total.

    Call it with the units done since the last call (``report(n)``); it sends the total through
    :meth:`send` on the first call and then at most every ``interval`` seconds of ``clock``.
    Units left unsent when the task ends do not matter: a finished task counts in full.
    """

    def __init__(
        self, *, interval: float = REPORT_INTERVAL_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.total = 0
        self._sent_at = -math.inf

    def __call__(self, n: int) -> None:
        self.total += n
        now = self.clock()
        if now - self._sent_at >= self.interval:
            self._sent_at = now
            self.send(self.total)

    def send(self, total: int) -> None:
        """Deliver ``total`` to the parent (the channel's part)."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the channel (called when the task ends)."""


class CallbackReporter(Reporter):
    """Sends each total to ``deliver(total)`` in this process (the serial backend)."""

    def __init__(self, deliver: Callable[[int], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deliver = deliver

    def send(self, total: int) -> None:
        self.deliver(total)


class SharedMemoryReporter(Reporter):
    """Writes each total into slot ``slot`` of the shared-memory block named ``name``.

    Only the name and the slot travel to the worker; the block is attached at the first send.
    """

    def __init__(self, name: str, slot: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name, self.slot = name, slot
        self._memory: Any = None
        self._view: memoryview | None = None
        self._broken = False

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_memory": None, "_view": None}

    def send(self, total: int) -> None:
        if self._view is None:
            if self._broken:
                return
            from multiprocessing import shared_memory

            try:
                self._memory = shared_memory.SharedMemory(name=self.name)
            except OSError:  # the parent has gone, or closed the block: stop reporting
                self._broken = True
                return
            self._view = self._memory.buf.cast("q")
        self._view[self.slot] = total  # one aligned 8-byte store; only this task writes here

    def close(self) -> None:
        if self._view is not None:
            self._view.release()
            self._view = None
        if self._memory is not None:
            self._memory.close()
            self._memory = None


class RayReporter(Reporter):
    """Sends each total to the named Ray actor of a :class:`RaySlots`, without waiting."""

    def __init__(self, actor: str, namespace: str | None, slot: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.actor, self.namespace, self.slot = actor, namespace, slot
        self._handle: Any = None
        self._broken = False

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_handle": None}

    def send(self, total: int) -> None:
        if self._broken:
            return
        import ray

        try:
            if self._handle is None:
                self._handle = ray.get_actor(self.actor, namespace=self.namespace)
            self._handle.set.remote(self.slot, total)
        except (ValueError, ray.exceptions.RayError):  # the actor has gone: stop reporting
            self._broken = True

    def close(self) -> None:
        self._handle = None


class ReportEpisodes:
    """A training callback that reports each finished episode: its steps, or 1 (``unit``)."""

    def __init__(self, report: Callable[[int], object], unit: str) -> None:
        self.report = report
        self.steps = unit == "step"

    def __call__(self, record: dict[str, Any], agent: Agent) -> None:
        self.report(record["steps"] if self.steps else 1)


class SharedMemorySlots:
    """Parent side of the process backend's channel: ``n`` int64 slots in shared memory."""

    def __init__(self, n: int) -> None:
        from multiprocessing import shared_memory

        self.n = n
        self.memory = shared_memory.SharedMemory(create=True, size=8 * max(n, 1))
        self.memory.buf[:] = bytes(len(self.memory.buf))
        self._view: memoryview | None = self.memory.buf.cast("q")

    def reporter(self, slot: int) -> SharedMemoryReporter:
        return SharedMemoryReporter(self.memory.name, slot)

    def totals(self) -> list[int]:
        """Each task's last-sent total."""
        assert self._view is not None
        return self._view.tolist()[: self.n]

    def close(self) -> None:
        """Release and unlink the block (idempotent)."""
        if self._view is None:
            return
        self._view.release()
        self._view = None
        self.memory.close()
        self.memory.unlink()


class _SlotsActor:
    """The Ray actor behind :class:`RaySlots`: the last total each task sent."""

    def __init__(self, n: int) -> None:
        self.values = [0] * n

    def set(self, slot: int, total: int) -> None:
        self.values[slot] = total

    def get(self) -> list[int]:
        return self.values


class RaySlots:
    """Parent side of the ray backend's channel: a named actor holding one total per task.

    It takes no CPU from the runs (``num_cpus=0``) and is killed by :meth:`close`.
    """

    def __init__(self, ray: Any, n: int) -> None:
        self.ray = ray
        self.name = f"rlladder-progress-{uuid.uuid4().hex}"
        self.namespace = ray.get_runtime_context().namespace
        self.actor: Any = (
            ray.remote(num_cpus=0, max_restarts=0)(_SlotsActor).options(name=self.name).remote(n)
        )
        self._last = [0] * n

    def reporter(self, slot: int) -> RayReporter:
        return RayReporter(self.name, self.namespace, slot)

    def totals(self) -> list[int]:
        """Each task's last-sent total (the last known ones if the actor cannot answer now)."""
        try:
            self._last = self.ray.get(self.actor.get.remote(), timeout=10)
        except self.ray.exceptions.RayError:
            pass
        return self._last

    def close(self) -> None:
        if self.actor is not None:
            self.ray.kill(self.actor)
            self.actor = None


class ExperimentProgress:
    """The experiment-wide bar: units done over all runs, with tqdm's rate and time left.

    Args:
        budgets: each task's budget in units (a task of several runs: the sum of theirs).
        runs: how many runs each task holds.
        unit: ``"step"`` or ``"episode"``.
        done_units, done_runs: what a resumed folder already holds; the bar starts there.
        total_runs: runs in the whole experiment.
        desc: the bar's label.
    """

    def __init__(
        self,
        budgets: Sequence[int],
        runs: Sequence[int],
        *,
        unit: str,
        done_units: int = 0,
        done_runs: int = 0,
        total_runs: int | None = None,
        desc: str = "experiment",
    ) -> None:
        if len(budgets) != len(runs):
            raise ValueError("ExperimentProgress() needs one run count per budget")
        self.budgets = list(budgets)
        self.runs = list(runs)
        self.values = [0] * len(self.budgets)
        self.done = [False] * len(self.budgets)
        self.n = done_units
        self._started = False
        self.runs_done = done_runs
        self.total_runs = done_runs + sum(self.runs) if total_runs is None else total_runs
        self.total = done_units + sum(self.budgets)
        self.bar = tqdm(
            total=self.total,
            initial=done_units,
            desc=desc,
            unit=unit,
            unit_scale=True,
            smoothing=0,  # the rate since the start: reports come in bursts, from many workers
            dynamic_ncols=True,
        )
        self.bar.set_postfix_str(self._runs_text(), refresh=False)

    def _runs_text(self) -> str:
        return f"runs {self.runs_done}/{self.total_runs}"

    def report(self, index: int, total: int) -> None:
        """Task ``index`` says it has done ``total`` units: counted up to its budget, never back."""
        if self.done[index]:
            return
        value = min(max(int(total), 0), self.budgets[index])
        if value > self.values[index]:
            self.n += value - self.values[index]
            self.values[index] = value
            if not self._started:  # the clock starts at the first report: the rate and the
                self._started = True  # time left then leave out the workers' start-up
                self.bar.unpause()
            self.bar.update(self.n - self.bar.n)

    def finished(self, index: int) -> None:
        """Task ``index`` has finished: it counts for exactly its budget."""
        if self.done[index]:
            return
        self.report(index, self.budgets[index])
        self.done[index] = True
        self.runs_done += self.runs[index]
        self.bar.set_postfix_str(self._runs_text())

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> ExperimentProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_shared_memory(n: int) -> SharedMemorySlots | None:
    """A :class:`SharedMemorySlots`, or ``None`` (with a warning) where shared memory is not
    available: the bar then moves when runs finish."""
    try:
        return SharedMemorySlots(n)
    except OSError as error:
        warnings.warn(
            f"no shared memory for live progress ({error}); the bar moves as runs finish",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
