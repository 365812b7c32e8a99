"""The experiment-wide progress bar: env steps (or episodes) over all runs, live on every backend.

The bar is checked through a recording tqdm put in its place; reporters get a fake clock. No
assertion depends on how long anything takes: a run that must be seen in progress waits (with a
timeout) until the parent has seen it.
"""

from __future__ import annotations

import io
import pickle
from multiprocessing import shared_memory
from pathlib import Path

import pandas as pd
import pytest
from misbehaving_agents import Raises, WaitsForParent
from tqdm.std import tqdm as std_tqdm

import rlladder as rl
from rlladder.experiments import backends, progress
from rlladder.experiments.backends import ProcessBackend, SerialBackend
from rlladder.experiments.progress import (
    CallbackReporter,
    ExperimentProgress,
    SharedMemorySlots,
)

LAKE = rl.Experiment(
    env="FrozenLake-v1",
    variants={"q": rl.Variant("q-learning"), "ps": rl.Variant("ps")},
    runs=3,
    steps=300,
    max_episode_steps=20,
    seed=3,
)


class RecordingBar(std_tqdm):
    """tqdm writing to a string, remembering every value it showed and every postfix."""

    made: list[RecordingBar] = []

    def __init__(self, *args, **kwargs):
        self.options = dict(kwargs)
        super().__init__(*args, file=io.StringIO(), **kwargs)
        self.seen = [self.n]
        self.postfixes: list[str] = []
        self.made.append(self)

    def update(self, n=1):
        result = super().update(n)
        self.seen.append(self.n)
        return result

    def set_postfix_str(self, s="", refresh=True):
        self.postfixes.append(s)
        return super().set_postfix_str(s, refresh=refresh)


def marking_bar(marker: Path) -> type[RecordingBar]:
    """A RecordingBar class that touches ``marker`` once it has shown progress: a run that waits
    for that file proves the parent saw its progress before it finished."""

    class MarkingBar(RecordingBar):
        def update(self, n=1):
            result = super().update(n)
            if self.n > 0:
                marker.touch()
            return result

    return MarkingBar


@pytest.fixture
def bars(monkeypatch):
    monkeypatch.setattr(RecordingBar, "made", [])
    monkeypatch.setattr(progress, "tqdm", RecordingBar)
    return RecordingBar.made


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ the two sides, alone
def test_a_reporter_sends_its_running_total_at_most_every_interval():
    clock, sent = FakeClock(), []
    report = CallbackReporter(sent.append, interval=0.25, clock=clock)
    report(5)  # the first report goes at once
    clock.now = 0.1
    report(3)  # too soon: counted, not sent
    clock.now = 0.3
    report(2)
    clock.now = 0.5
    report(1)  # 0.2 s after the last send: held
    assert sent == [5, 10]
    assert report.total == 11


def test_the_bar_counts_each_task_up_to_its_budget_and_never_back(bars):
    bar = ExperimentProgress([100, 100, 300], [1, 1, 3], unit="step", desc="demo")
    (shown,) = bars
    assert shown.total == 500 and shown.n == 0
    assert shown.options["unit"] == "step" and shown.options["unit_scale"] is True
    bar.report(0, 40)
    bar.report(0, 30)  # an older total: ignored
    bar.report(1, 250)  # past its budget: counted as the budget
    bar.report(2, -5)
    assert shown.n == 40 + 100
    bar.finished(0)  # reported 40 of 100: a finished task counts in full
    bar.report(0, 10)  # nothing moves a finished task
    assert shown.n == 100 + 100
    bar.report(2, 120)
    bar.finished(1)
    bar.finished(2)
    bar.close()
    assert shown.n == shown.total == 500
    assert shown.seen == sorted(shown.seen) and max(shown.seen) == 500
    assert shown.postfixes[0] == "runs 0/5" and shown.postfixes[-1] == "runs 5/5"
    assert shown.postfixes[1:] == ["runs 1/5", "runs 2/5", "runs 5/5"]


def test_shared_memory_slots_cross_a_pickle_and_are_unlinked_on_close():
    slots = SharedMemorySlots(3)
    try:
        # what a worker gets: the block's name and a slot, attached on the first send
        report = pickle.loads(pickle.dumps(slots.reporter(1)))
        report(7)
        report.close()
        assert slots.totals() == [0, 7, 0]
    finally:
        slots.close()
    slots.close()  # twice is fine
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=slots.memory.name)
    late = slots.reporter(2)
    late(1)  # the block is gone: the reporter stops reporting, and the run goes on
    assert late._broken


def test_a_task_of_several_runs_reports_their_sum():
    """The API a group task (a batched ensemble) uses: ``report(n)`` with the units done since
    its last call, summed over its runs; the task counts for the sum of their budgets."""
    clock = FakeClock()
    seen: list[int] = []

    class Recorder:
        def report(self, index, total):
            seen.append((index, total))

        def finished(self, index):
            seen.append((index, "finished"))

    def group(task, report):
        report.clock = clock  # a fake clock, so every call sends
        for _ in range(3):
            clock.now += 1.0
            report(len(task) * 100)  # 100 steps of each member
        return sum(task)

    results = list(SerialBackend().map(group, [(1, 2), (3, 4, 5)], progress=Recorder()))
    assert results == [((1, 2), 3), ((3, 4, 5), 12)]
    assert seen == [
        (0, 200),
        (0, 400),
        (0, 600),
        (0, "finished"),
        (1, 300),
        (1, 600),
        (1, 900),
        (1, "finished"),
    ]


# ------------------------------------------------------------------ through run_experiment
@pytest.mark.parametrize("budget", ["steps", "episodes"])
def test_serial_bar_moves_during_runs_and_ends_at_the_budgets_sum(bars, budget):
    exp = LAKE if budget == "steps" else LAKE.replace(steps=None, episodes=30)
    results = rl.run_experiment(exp, backend="serial")
    (bar,) = bars
    per_run = 300 if budget == "steps" else 30
    assert bar.total == 2 * 3 * per_run
    assert bar.options["unit"] == ("step" if budget == "steps" else "episode")
    assert bar.n == bar.total  # steps=: unfinished last episodes count when their run ends
    assert bar.seen == sorted(bar.seen)
    # the first episode of the first run is shown before that run finishes
    assert any(0 < n < per_run for n in bar.seen)
    assert bar.postfixes[-1] == "runs 6/6"
    pd.testing.assert_frame_equal(results, rl.run_experiment(exp, backend="serial", progress=False))


def test_a_resumed_experiment_starts_at_the_finished_runs(bars, tmp_path):
    rl.run_experiment(LAKE.replace(runs=2), backend="serial", out=tmp_path, progress=False)
    rl.run_experiment(LAKE, backend="serial", out=tmp_path)
    (bar,) = bars
    assert bar.options["initial"] == 2 * 2 * 300 and bar.seen[0] == 1200
    assert bar.total == 2 * 3 * 300 and bar.n == bar.total
    assert bar.postfixes[0] == "runs 4/6" and bar.postfixes[-1] == "runs 6/6"
    assert bar.seen == sorted(bar.seen)


def test_process_worker_progress_reaches_the_parent_before_the_run_ends(
    bars, tmp_path, monkeypatch
):
    """The run waits, after its first episode, until the parent's bar has moved: it can only
    finish having seen the marker if a report from inside the worker got through."""
    marker = tmp_path / "parent-saw-progress"

    monkeypatch.setattr(progress, "tqdm", marking_bar(marker))
    exp = LAKE.replace(variants={"waits": rl.Variant(WaitsForParent, marker=str(marker))}, runs=1)
    results = rl.run_experiment(exp, backend=ProcessBackend(1))
    (bar,) = bars
    assert results["saw_marker"].iloc[0] == 0.0 and results["saw_marker"].iloc[-1] == 1.0
    assert any(0 < n < 300 for n in bar.seen) and bar.n == bar.total == 300


def test_process_bar_ends_at_the_budgets_sum_and_results_are_unchanged(bars, monkeypatch):
    names = []
    opened = backends.open_shared_memory

    def recording(n):
        slots = opened(n)
        names.append(slots.memory.name)
        return slots

    monkeypatch.setattr(backends, "open_shared_memory", recording)
    results = rl.run_experiment(LAKE, backend="process", workers=2)
    (bar,) = bars
    assert bar.n == bar.total == 1800 and bar.seen == sorted(bar.seen)
    assert bar.postfixes[-1] == "runs 6/6"
    pd.testing.assert_frame_equal(
        results, rl.run_experiment(LAKE, backend="serial", progress=False)
    )
    # a run that raises: the error reaches us, and the block is unlinked all the same
    raising = LAKE.replace(variants={"raises": rl.Variant(Raises, at=50)}, runs=2)
    with pytest.raises(rl.ConfigError, match="step 50"):
        rl.run_experiment(raising, backend="process", workers=2)
    assert len(names) == 2
    for name in names:
        with pytest.raises(FileNotFoundError):
            shared_memory.SharedMemory(name=name)


def test_no_progress_opens_no_channel(bars, monkeypatch):
    def refused(*args):
        raise AssertionError("progress=False opened a progress channel")

    monkeypatch.setattr(backends, "open_shared_memory", refused)
    monkeypatch.setattr(backends, "RaySlots", refused)
    monkeypatch.setattr(backends, "CallbackReporter", refused)
    exp = LAKE.replace(runs=1)
    for backend in ("serial", "process"):
        assert len(rl.run_experiment(exp, backend=backend, progress=False))
    assert bars == []


def test_a_backend_of_its_own_without_progress_moves_the_bar_as_runs_finish(bars):
    class Older(SerialBackend):
        def map(self, fn, tasks):  # written before progress= existed
            for task in tasks:
                yield task, fn(task)

    results = rl.run_experiment(LAKE, backend=Older())
    (bar,) = bars
    assert bar.seen == [0, 300, 600, 900, 1200, 1500, 1800]
    assert bar.postfixes[-1] == "runs 6/6"
    pd.testing.assert_frame_equal(
        results, rl.run_experiment(LAKE, backend="serial", progress=False)
    )
