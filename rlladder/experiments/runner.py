"""Run an experiment: every run of every variant, on a backend, saved as it finishes.

::

    results = rl.run_experiment(exp, backend="process", out="results/mine")

Each (variant, run) pair is one independent run: make the environment, make the agent, train,
return the history (and, if the experiment evaluates, the greedy evaluations made during
training: :mod:`~rlladder.experiments.evaluation`). Run ``r`` of every variant uses the same seed,
so the whole DataFrame is a function of the experiment alone: the same on every backend and
worker count. One bar shows the env steps (or episodes) done over all runs, live, with the time
left (:mod:`~rlladder.experiments.progress`).

**Ensembles.** For an agent class the ensemble reproduces (:func:`ensemble_trainer`: a DQN,
trained by :func:`rlladder.deep.ensemble.train_ensemble`), the pending runs of each variant are trained
together in groups, a :class:`GroupTask` each, split so that the groups keep every worker busy:
one set of stacked networks pays the per-step overhead for all its members. A member's history
and evaluations are its solo run's, number for number, so grouping changes no result (the tests
hold every backend to it, ensembles on and off); a group's runs are saved as soon as it
finishes. Agents without a trainer (tabular ones, a student's own) run one task per run.
``ensemble=False`` runs every run on its own.
"""

from __future__ import annotations

import dataclasses
import inspect
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

import numpy as np
import pandas as pd

from rlladder.errors import ConfigError, RunInterrupted
from rlladder.experiments.backends import Backend, make_backend
from rlladder.experiments.evaluation import Evaluator, eval_seed
from rlladder.experiments.fingerprints import experiment_code
from rlladder.experiments.planning import DEFAULT_COSTS, CostModel, Job, RunCost, balance, run_steps
from rlladder.experiments.progress import ExperimentProgress, ReportEpisodes
from rlladder.experiments.run_checkpoints import (
    CHECKPOINTS_DIR,
    DEFAULT_EVERY_MINUTES,
    POLL_S,
    CheckpointPlan,
    CheckpointWarning,
    Pause,
    SavedRun,
    checkpointing_problem,
    clear_stop,
    find_checkpoints,
    read_checkpoint,
    remove_checkpoint,
    request_stop,
    run_identity,
    write_checkpoint,
)
from rlladder.experiments.spec import Experiment
from rlladder.experiments.store import ResultsStore, run_file_name, tidy, tidy_evaluations
from rlladder.interface import Agent
from rlladder.loggers.base import Tracker
from rlladder.loggers.tracking import RunTracking, Tracking, as_tracking
from rlladder.loop import RunPosition, _rows, _to_frame, train

__all__ = [
    "run_experiment",
    "run_one",
    "run_budget",
    "progress_unit",
    "run_group",
    "run_task",
    "plan_tasks",
    "RunTask",
    "GroupTask",
    "RunResult",
    "agent_and_env_seeds",
    "eval_seed",
    "make_evaluator",
    "ensemble_trainer",
]


@dataclass(frozen=True)
class RunTask:
    """One unit of work: run ``run`` of variant ``label`` (the ``index``-th) of ``experiment``."""

    experiment: Experiment
    index: int
    label: str
    run: int
    seed: int
    #: what the run logs to TensorBoard / W&B (``None``: nothing)
    tracking: RunTracking | None = None
    #: where and when it writes its checkpoint (``None``: it writes none)
    checkpoint: CheckpointPlan | None = None
    #: go on from its checkpoint
    resume: bool = False


@dataclass(frozen=True)
class GroupTask:
    """Runs ``runs`` (with seeds ``seeds``) of variant ``label`` (the ``index``-th) of
    ``experiment``, trained together by the agent class's ensemble trainer."""

    experiment: Experiment
    index: int
    label: str
    runs: tuple[int, ...]
    seeds: tuple[int, ...]
    #: what each run logs, in the order of ``runs`` (``None``: nothing)
    tracking: tuple[RunTracking, ...] | None = None
    #: where and when its runs write their checkpoints (``None``: they write none)
    checkpoint: CheckpointPlan | None = None
    #: go on from its runs' checkpoints (all at one step)
    resume: bool = False


def agent_and_env_seeds(run_seed: int) -> tuple[int, int]:
    """Two independent seeds from a run's seed: one for the agent, one for the environment.

    They are the first two 32-bit words of ``numpy.random.SeedSequence(run_seed)``; the third,
    :func:`eval_seed`, seeds the run's evaluation environment. (Seeding the agent and the
    environment with the same number would give them the *same* random stream: numpy's
    ``default_rng(s)`` and gymnasium's ``np_random(s)`` are the same generator.)
    """
    agent_seed, env_seed = np.random.SeedSequence(run_seed).generate_state(2)
    return int(agent_seed), int(env_seed)


class RunResult(NamedTuple):
    """What one run produces: its training ``history`` (a row per episode) and its greedy
    ``evaluations`` (a row per greedy episode; ``None`` when the experiment does not evaluate),
    both with ``variant, run, seed`` columns first."""

    history: pd.DataFrame
    evaluations: pd.DataFrame | None


def make_evaluator(
    exp: Experiment, agent: Agent, run_seed: int, trackers: Sequence[Tracker] = ()
) -> Evaluator | None:
    """The training callback that evaluates ``agent`` for run seed ``run_seed`` as ``exp``
    asks (every ``eval_every``, and at the end), or ``None`` if ``exp`` does not evaluate.
    Each evaluation also goes to the ``trackers``."""
    if not exp.eval_episodes:
        return None
    steps = exp.steps is not None
    return Evaluator(
        agent,
        exp.make_env,
        run_seed,
        episodes=exp.eval_episodes,
        budget=exp.steps if steps else exp.episodes,  # type: ignore[arg-type]
        unit="steps" if steps else "episodes",
        every=exp.eval_every,
        max_episode_steps=exp.max_episode_steps,
        listeners=[tracker.log_evaluation for tracker in trackers],
    )


def _run_callbacks(
    evaluator: Evaluator | None, trackers: list[Tracker]
) -> list[Callable[..., object]]:
    """A run's training callbacks: the evaluator first (a tracker logs what it evaluated), then
    the trackers, whose clocks start now."""
    for tracker in trackers:
        tracker.start_clock()
    return [*([] if evaluator is None else [evaluator]), *trackers]


def _close(trackers: list[Tracker]) -> None:
    """Close the trackers (training ended, or stopped with an error)."""
    for tracker in trackers:
        tracker.close()


class _OneTorchThread:
    """Train with one torch thread (if torch is loaded), so numbers match the worker processes'."""

    def __enter__(self) -> None:
        self.torch = sys.modules.get("torch")
        if self.torch is not None:
            self.saved = self.torch.get_num_threads()
            self.torch.set_num_threads(1)

    def __exit__(self, *exc: object) -> None:
        if self.torch is not None:
            self.torch.set_num_threads(self.saved)


def progress_unit(exp: Experiment) -> str:
    """What the experiment's budget counts: ``"step"`` (``steps=``) or ``"episode"``."""
    return "step" if exp.steps is not None else "episode"


def run_budget(exp: Experiment) -> int:
    """One run's budget in :func:`progress_unit` units."""
    return exp.steps if exp.steps is not None else exp.episodes  # type: ignore[return-value]


def run_one(task: RunTask, report: Callable[[int], object] | None = None) -> RunResult:
    """Train one seeded agent on one fresh environment, evaluating it greedily if the experiment
    asks; its history and evaluations, with variant/run/seed columns.

    ``report(n)``, if given, hears of each finished episode: its env steps (``steps=``
    budgets) or 1 (``episodes=``). With ``task.checkpoint``, the run writes its checkpoint at
    the end of an episode when the period has passed or a stop was asked
    (:mod:`~rlladder.experiments.run_checkpoints`); with ``task.resume`` it goes on from it.

    Raises:
        RunInterrupted: a stop was asked; the checkpoint is written.
    """
    exp = task.experiment
    agent_seed, env_seed = agent_and_env_seeds(task.seed)
    plan = task.checkpoint
    if plan is not None and plan.stop_requested():
        raise RunInterrupted("stopped before it started")
    saved = _saved(task, task.run) if task.resume else None
    env = exp.make_env()
    start = 0 if saved is None else saved.position.steps_done
    trackers = [] if task.tracking is None else task.tracking.trackers(start, exp.make_env)
    try:
        agent = exp.variants[task.label].make(env, seed=agent_seed)
        if saved is not None:
            agent = saved.agent(type(agent), env)
            saved.restore_env(env)
        evaluator = make_evaluator(exp, agent, task.seed, trackers)
        if saved is not None and evaluator is not None:
            evaluator.restore(saved.evaluations, saved.evaluations_passed)
        callbacks = _run_callbacks(evaluator, trackers)
        if report is not None:
            callbacks.append(ReportEpisodes(report, progress_unit(exp)))
        if plan is not None:
            callbacks.append(
                _SoloCheckpoint(task, plan, agent, env, evaluator, saved)  # the last: after all
            )
        with _OneTorchThread():
            history = train(
                agent,
                env,
                episodes=exp.episodes,
                steps=exp.steps,
                seed=env_seed if saved is None else None,
                max_episode_steps=exp.max_episode_steps,
                callbacks=callbacks,
                history=None if saved is None else saved.position.history,
            )
    finally:
        _close(trackers)
        env.close()
    evaluations = None if evaluator is None else evaluator.frame()
    for frame in (history, evaluations):
        _label_columns(frame, task.label, task.run, task.seed)
    return RunResult(history, evaluations)


def _saved(task: RunTask | GroupTask, run: int) -> SavedRun:
    """The checkpoint ``task`` goes on from for ``run`` (the runner checked it)."""
    assert task.checkpoint is not None
    name = run_file_name(task.index, task.label, run)
    return read_checkpoint(task.checkpoint.path(name))


class _SoloCheckpoint:
    """The last training callback of a checkpointed solo run: at an episode end, when the
    :class:`~rlladder.experiments.run_checkpoints.Pause` says so, write the run's checkpoint
    (and stop, after Ctrl-C)."""

    def __init__(
        self,
        task: RunTask,
        plan: CheckpointPlan,
        agent: Agent,
        env: Any,
        evaluator: Evaluator | None,
        saved: SavedRun | None,
    ) -> None:
        self.task, self.plan, self.agent, self.env, self.evaluator = (
            task,
            plan,
            agent,
            env,
            evaluator,
        )
        self.pause = Pause(plan)
        self.rows: list[dict[str, Any]] = [] if saved is None else _rows(saved.position.history)
        self.path = plan.path(run_file_name(task.index, task.label, task.run))

    def __call__(self, record: dict[str, Any], agent: Agent) -> None:
        self.rows.append(record)
        what = self.pause.check()
        if what is None:
            return
        task = self.task
        if task.label in self.plan.off:  # nothing to write: stop when asked, go on otherwise
            if what == "stop":
                raise RunInterrupted("stopped; its runs cannot be checkpointed")
            return
        write_checkpoint(
            self.path,
            label=task.label,
            run=task.run,
            seed=task.seed,
            identity=self.plan.identity.get(task.label, {}),
            code=self.plan.code.get(task.label),
            agent=agent,
            env=self.env,
            position=RunPosition(_to_frame(self.rows), int(record["env_step"])),
            evaluator=self.evaluator,
        )
        if what == "stop":
            raise RunInterrupted(f"stopped at env step {int(record['env_step']):,}")


class _GroupCheckpoint:
    """What a checkpointed ensemble group gives :func:`~rlladder.deep.ensemble.train_ensemble`:
    the pause to check after each step, and how to write each member's checkpoint."""

    def __init__(
        self,
        task: GroupTask,
        agents: list[Agent],
        envs: list[Any],
        evaluators: list[Evaluator | None],
    ) -> None:
        assert task.checkpoint is not None
        self.task, self.plan = task, task.checkpoint
        self.agents, self.envs, self.evaluators = agents, envs, evaluators
        self.check = Pause(self.plan).check

    def save(self, positions: list[RunPosition]) -> None:
        task, plan = self.task, self.plan
        if task.label in plan.off:
            return
        for k, (run, seed) in enumerate(_task_runs(task)):
            write_checkpoint(
                plan.path(run_file_name(task.index, task.label, run)),
                label=task.label,
                run=run,
                seed=seed,
                identity=plan.identity.get(task.label, {}),
                code=plan.code.get(task.label),
                agent=self.agents[k],
                env=self.envs[k],
                position=positions[k],
                evaluator=self.evaluators[k],
            )


def _label_columns(frame: pd.DataFrame | None, label: str, run: int, seed: int) -> None:
    if frame is not None:
        frame.insert(0, "variant", label)
        frame.insert(1, "run", run)
        frame.insert(2, "seed", seed)


def ensemble_trainer(agent: Agent) -> Callable[..., list[pd.DataFrame]] | None:
    """The function that trains many runs of ``agent``'s class at once, or ``None``:
    :func:`rlladder.deep.ensemble.train_ensemble` for a class the ensemble reproduces
    (:func:`rlladder.deep.ensemble.reproduces`: :class:`~rlladder.deep.dqn.DQN`, or a subclass
    that keeps its ``act`` and ``learn``).

    The runner sits above both the agent and the ensemble, so it asks; the agent does not know
    of the ensemble. Only a DQN can be reproduced, and a class that is no DQN does not import
    the ensemble (and torch) to learn that.
    """
    cls = type(agent)
    if not any(c.__module__ == "rlladder.deep.dqn" for c in cls.__mro__):
        return None
    from rlladder.deep.ensemble import reproduces, shares_learning_rate, train_ensemble

    return train_ensemble if reproduces(cls) and shares_learning_rate(agent) else None


def run_group(task: GroupTask, report: Callable[[int], object] | None = None) -> list[RunResult]:
    """Train the runs of ``task`` as one ensemble: each run's agent, environment, seeds and
    evaluator made exactly as :func:`run_one` makes them, so each :class:`RunResult` (in the
    order of ``task.runs``) is the one :func:`run_one` returns for that run.

    ``report(n)``, if given, hears of the units done: env steps (``steps=`` budgets, about every
    thousand) or 1 per finished member episode (``episodes=``).
    """
    exp = task.experiment
    variant = exp.variants[task.label]
    if task.checkpoint is not None and task.checkpoint.stop_requested():
        raise RunInterrupted("stopped before it started")
    pairs = [agent_and_env_seeds(seed) for seed in task.seeds]
    saved = [_saved(task, run) for run in task.runs] if task.resume else None
    envs = [exp.make_env() for _ in task.seeds]
    tracking = task.tracking or (None,) * len(task.runs)
    starts = [0] * len(task.runs) if saved is None else [s.position.steps_done for s in saved]
    trackers = [
        [] if t is None else t.trackers(s, exp.make_env)
        for t, s in zip(tracking, starts, strict=True)
    ]
    try:
        agents = [variant.make(env, seed=a) for env, (a, _) in zip(envs, pairs, strict=True)]
        if saved is not None:
            agents = [s.agent(type(a), e) for s, a, e in zip(saved, agents, envs, strict=True)]
            for s, e in zip(saved, envs, strict=True):
                s.restore_env(e)
        trainer = ensemble_trainer(agents[0])
        if trainer is None:
            raise ConfigError(
                f"variant {task.label!r}: {type(agents[0]).__name__} has no ensemble trainer; "
                "run it with ensemble=False"
            )
        evaluators = [
            make_evaluator(exp, a, s, t)
            for a, s, t in zip(agents, task.seeds, trackers, strict=True)
        ]
        if saved is not None:
            for evaluator, s in zip(evaluators, saved, strict=True):
                if evaluator is not None:
                    evaluator.restore(s.evaluations, s.evaluations_passed)
        callbacks = [_run_callbacks(e, t) for e, t in zip(evaluators, trackers, strict=True)]
        on_steps = None
        if report is not None:
            if exp.steps is not None:
                on_steps = report
            else:
                for member in callbacks:
                    member.append(ReportEpisodes(report, "episode"))
        with _OneTorchThread():
            histories = trainer(
                agents,
                envs,
                seeds=[e for _, e in pairs],
                episodes=exp.episodes,
                steps=exp.steps,
                max_episode_steps=exp.max_episode_steps,
                on_steps=on_steps,
                callbacks=callbacks,
                start=None if saved is None else [s.position for s in saved],
                checkpoint=None
                if task.checkpoint is None
                else _GroupCheckpoint(task, agents, envs, evaluators),
            )
    finally:
        for member in trackers:
            _close(member)
        for env in envs:
            env.close()
    results = []
    for run, seed, history, evaluator in zip(
        task.runs, task.seeds, histories, evaluators, strict=True
    ):
        evaluations = None if evaluator is None else evaluator.frame()
        for frame in (history, evaluations):
            _label_columns(frame, task.label, run, seed)
        results.append(RunResult(history, evaluations))
    return results


class Stopped(NamedTuple):
    """What a task returns when Ctrl-C stopped it: its runs' checkpoints are written (or, for a
    task that had not started, there was nothing to write)."""

    runs: tuple[int, ...]


def run_task(
    task: RunTask | GroupTask, report: Callable[[int], object] | None = None
) -> RunResult | list[RunResult] | Stopped:
    """What a backend runs for each task: :func:`run_group` for a :class:`GroupTask`,
    :func:`run_one` for a :class:`RunTask`; :class:`Stopped` if a stop was asked (the task
    returns, rather than raises, so that the backend waits for every other task's checkpoint)."""
    try:
        if isinstance(task, GroupTask):
            return run_group(task, report)
        return run_one(task, report)
    except RunInterrupted:
        return Stopped(tuple(run for run, _ in _task_runs(task)))


def plan_tasks(
    exp: Experiment,
    pending: list[tuple[str, int]],
    grouped: set[str],
    workers: int,
    *,
    costs: CostModel = DEFAULT_COSTS,
) -> list[RunTask | GroupTask]:
    """The tasks for the ``pending`` (variant, run) pairs of ``exp``, longest first.

    The runs of a variant in ``grouped`` form :class:`GroupTask` ensembles, cut by what they
    cost (:func:`rlladder.experiments.planning.balance`): each variant's run cost comes from its
    resolved configuration (:meth:`~rlladder.experiments.planning.CostModel.run_cost`), and a
    variant is cut into more groups (its runs split evenly and in order) while that lowers the
    predicted wall time on ``workers`` workers, so an expensive rung is split more than a cheap
    one; a lone run stays a :class:`RunTask`. The other runs are a :class:`RunTask` each. The
    tasks come longest first, so each free worker takes the longest one left.

    Args:
        exp: the experiment (pinned: every hyperparameter explicit).
        pending: the (variant label, run) pairs still to run.
        grouped: the labels whose runs may train together.
        workers: the backend's workers.
        costs: the cost model (its constants only weigh the rungs against each other).

    Returns:
        Every pending run in exactly one task.
    """
    seeds = exp.run_seeds()
    index = {label: i for i, label in enumerate(exp.labels)}
    runs_of: dict[str, list[int]] = {}
    for label, run in pending:
        runs_of.setdefault(label, []).append(run)
    run_costs: dict[str, RunCost] = {}
    if runs_of:
        env = exp.make_env()
        try:
            limit = exp.max_episode_steps or (env.spec.max_episode_steps if env.spec else None)
            steps, eval_steps = run_steps(exp, limit)
            for label in runs_of:
                agent = exp.variants[label].make(env, seed=0)
                run_costs[label] = costs.run_cost(agent, steps, eval_steps)
        finally:
            env.close()
    jobs = [
        Job(label, tuple(runs), run_costs[label], label in grouped)
        for label, runs in runs_of.items()
    ]
    tasks: list[RunTask | GroupTask] = []
    for planned in balance(jobs, workers, costs).tasks:
        label = planned.label
        if planned.group:
            members = planned.runs
            group_seeds = tuple(seeds[r] for r in members)
            tasks.append(GroupTask(exp, index[label], label, members, group_seeds))
        else:
            (run,) = planned.runs
            tasks.append(RunTask(exp, index[label], label, run, seeds[run]))
    return tasks


def _task_runs(task: RunTask | GroupTask) -> list[tuple[int, int]]:
    """(run, seed) of each run in ``task``."""
    if isinstance(task, GroupTask):
        return list(zip(task.runs, task.seeds, strict=True))
    return [(task.run, task.seed)]


def _preflight(exp: Experiment, *, checkpoints: bool = False) -> tuple[set[str], dict[str, str]]:
    """Build every variant's agent once here, so a typo fails now, not in thirty workers: the
    labels of the variants whose agent class trains ensembles, and (with ``checkpoints``) why
    the runs of a variant cannot be checkpointed, where they cannot
    (:func:`~rlladder.experiments.run_checkpoints.checkpointing_problem`)."""
    env = exp.make_env()
    grouped, problems = set(), {}
    try:
        for label, variant in exp.variants.items():
            try:
                agent = variant.make(env, seed=0)
            except (ConfigError, TypeError) as error:
                raise type(error)(f"variant {label!r}: {error}") from None
            if ensemble_trainer(agent) is not None:
                grouped.add(label)
            problem = checkpointing_problem(agent, env) if checkpoints else None
            if problem is not None:
                problems[label] = problem
    finally:
        env.close()
    return grouped, problems


def _takes_progress(backend: Backend) -> bool:
    """Whether ``backend.map`` takes ``progress=`` (the built-in backends do)."""
    try:
        return "progress" in inspect.signature(backend.map).parameters
    except (TypeError, ValueError):
        return False


def _count_finished(
    runs: Iterator[tuple[RunTask | GroupTask, Any]],
    tasks: list[RunTask | GroupTask],
    bar: ExperimentProgress,
) -> Iterator[tuple[RunTask | GroupTask, Any]]:
    """Pass ``runs`` on, telling ``bar`` of each finished task."""
    position = {(task.label, _task_runs(task)[0][0]): i for i, task in enumerate(tasks)}
    with closing(runs):
        for task, result in runs:
            yield task, result
            bar.finished(position[task.label, _task_runs(task)[0][0]])


def _with_tracking(
    exp: Experiment, tasks: list[RunTask | GroupTask], tracking: Tracking
) -> list[RunTask | GroupTask]:
    """``tasks`` with the plain description of what each of their runs logs (see
    :mod:`rlladder.loggers.tracking`); unchanged if no tracker can log."""
    checked = tracking.check()
    if checked is None:
        return tasks
    resolved, identity = exp.resolve(), exp.identity()
    env = exp.env_name()

    def describe(task: RunTask | GroupTask, run: int, seed: int) -> RunTracking:
        hparams = {**resolved[task.label], "env": env, "run": run, "seed": seed}
        return checked.for_run(
            experiment=exp.name or "experiment",
            index=task.index,
            label=task.label,
            run=run,
            seed=seed,
            hparams=hparams,
            identity=identity,
        )

    tracked: list[RunTask | GroupTask] = []
    for task in tasks:
        if isinstance(task, GroupTask):
            members = tuple(describe(task, r, s) for r, s in _task_runs(task))
            tracked.append(dataclasses.replace(task, tracking=members))
        else:
            tracked.append(dataclasses.replace(task, tracking=describe(task, task.run, task.seed)))
    return tracked


def _as_experiment(experiment: Experiment | str | Path) -> Experiment:
    if isinstance(experiment, Experiment):
        return experiment
    if isinstance(experiment, str | Path) and str(experiment).endswith(".toml"):
        return Experiment.from_toml(experiment)
    if isinstance(experiment, str):
        from rlladder.experiments.suites import get_suite

        suite = get_suite(experiment)
        if isinstance(suite, Experiment):
            return suite
        raise ConfigError(
            f"suite {experiment!r} has several parts ({', '.join(suite)}); run each with "
            f"rl.run_experiment(rl.get_suite({experiment!r})[part])"
        )
    raise TypeError(f"run_experiment() needs an rl.Experiment, got {experiment!r}")


@overload
def run_experiment(
    experiment: Experiment | str | Path,
    *,
    backend: str | Backend = ...,
    workers: int | None = ...,
    address: str | None = ...,
    out: str | Path | None = ...,
    overwrite: bool = ...,
    progress: bool = ...,
    ensemble: bool = ...,
    return_evaluations: Literal[False] = ...,
    log: Tracking | str | None = ...,
    checkpoint_every: float | None = ...,
) -> pd.DataFrame: ...


@overload
def run_experiment(
    experiment: Experiment | str | Path,
    *,
    backend: str | Backend = ...,
    workers: int | None = ...,
    address: str | None = ...,
    out: str | Path | None = ...,
    overwrite: bool = ...,
    progress: bool = ...,
    ensemble: bool = ...,
    return_evaluations: Literal[True],
    log: Tracking | str | None = ...,
    checkpoint_every: float | None = ...,
) -> tuple[pd.DataFrame, pd.DataFrame]: ...


def run_experiment(
    experiment: Experiment | str | Path,
    *,
    backend: str | Backend = "process",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
    ensemble: bool = True,
    return_evaluations: bool = False,
    log: Tracking | str | None = None,
    checkpoint_every: float | None = DEFAULT_EVERY_MINUTES,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Run every run of every variant and return one tidy DataFrame, a row per episode.

    Args:
        experiment: an :class:`~rlladder.Experiment` (or a suite name, or a ``.toml`` path).
        backend: ``"serial"``, ``"process"`` (all cores) or ``"ray"``, or a Backend object.
        workers: processes / Ray CPUs (default: all cores of this machine).
        address: the ray backend's cluster address (default: start a local cluster).
        out: results folder; each run is saved there as it finishes, and re-running the same
            experiment into it runs only what is not finished (a damaged run file is moved aside
            to ``NAME.damaged`` and its run is run again). ``None``: keep results in memory only.
        overwrite: empty ``out`` first, even if it holds a different experiment.
        progress: one bar over the env steps (``steps=``) or episodes (``episodes=``) of all
            runs, moving while runs train on any backend, with the rate, the time left and the
            runs done. ``False``: no bar, and no progress channel to the workers.
        ensemble: train the runs of each variant whose agent class has an ensemble trainer
            (the DQN) together, in groups spread over the workers; each run's numbers are
            exactly its solo run's, so this changes the wall time only. ``False``: every run
            on its own.
        return_evaluations: also return the greedy evaluations (see the experiment's
            ``eval_episodes``), as ``(results, evaluations)``. For a results folder on disk,
            :func:`rl.load_evaluations` reads them.
        log: track each run in TensorBoard or W&B: ``"tensorboard:DIR"``, ``"wandb:PROJECT"``
            (``"wandb:PROJECT:offline"``) or an :class:`rl.loggers.Tracking`. One tracker run
            per (variant, run) that runs now (a finished run is not logged again), named as its
            results file; see :mod:`rlladder.loggers.tracking`. A tracker that fails is
            reported once and training goes on.
        checkpoint_every: with ``out``, each run in progress writes a checkpoint into
            ``out/checkpoints/`` every this many minutes (``None``: only on Ctrl-C). The first
            Ctrl-C asks every run to write its checkpoint and stop; running the experiment into
            the folder again goes on from them, and each resumed run ends exactly as an
            uninterrupted one would (see :mod:`~rlladder.experiments.run_checkpoints`). A run's
            checkpoint is removed when it finishes.

    Returns:
        Columns ``variant, run, seed, episode, env_step, reward, steps`` and the agents'
        diagnostics, sorted by variant (in the experiment's order), run and episode. With
        ``return_evaluations=True``, ``(results, evaluations)``: evaluations have a row per
        greedy episode, columns ``variant, run, seed, eval, env_step, episode, eval_episode,
        reward, steps`` (empty when the experiment does not evaluate).

    Raises:
        ConfigError: bad experiment, or ``out`` holds a different experiment.
        KeyboardInterrupt: on Ctrl-C, after every finished run has been saved and every run in
            progress has written its checkpoint (a second Ctrl-C stops at once).
    """
    exp = _as_experiment(experiment)
    tracking = as_tracking(log)
    runner = make_backend(backend, workers=workers, address=address)
    if not isinstance(ensemble, bool):
        raise TypeError(
            f"run_experiment(ensemble=...) takes True (train each DQN variant's runs together, "
            f"the default) or False (every run on its own), got {ensemble!r}"
        )
    _check_every(checkpoint_every)
    grouped, problems = _preflight(exp, checkpoints=out is not None)
    if not ensemble:
        grouped = set()
    labels, spec = exp.labels, exp.to_dict()
    store = ResultsStore(out) if out is not None else None
    done: set[tuple[str, int]] = set()
    if store is not None:
        store.prepare(exp, overwrite=overwrite)
        done = store.finished(spec, set_aside=True)
    pinned = exp.pinned()  # every hyperparameter explicit: workers build what spec.json records
    pending = [
        (label, run) for run in range(exp.runs) for label in labels if (label, run) not in done
    ]
    plan: CheckpointPlan | None = None
    saved: dict[tuple[str, int], SavedRun] = {}
    if store is not None:
        plan = _checkpoint_plan(exp, store, checkpoint_every, problems)
        clear_stop(plan)
        for label, run in done:  # a run saved just before its checkpoint was removed
            remove_checkpoint(plan, run_file_name(labels.index(label), label, run))
        names = {pair: run_file_name(labels.index(pair[0]), *pair) for pair in pending}
        saved = find_checkpoints(plan, exp, pending, names, experiment_code(exp))
    tasks = _resumed_tasks(pinned, saved)
    fresh = [pair for pair in pending if pair not in saved]
    tasks += plan_tasks(pinned, fresh, grouped, runner.workers)
    if plan is not None:
        tasks = [dataclasses.replace(task, checkpoint=plan) for task in tasks]
    if tracking is not None:
        tasks = _with_tracking(exp, tasks, tracking)
    histories: list[pd.DataFrame] = []
    evaluations: list[pd.DataFrame] = []
    unit = progress_unit(exp)
    resumed = [_resumed_text(s, unit) for _, s in sorted(saved.items())]
    bar = None
    if progress:
        budget = run_budget(exp)
        sizes = [len(_task_runs(task)) for task in tasks]
        ahead = [
            sum(_units_done(saved[task.label, run], unit) for run, _ in _task_runs(task))
            if task.resume
            else 0
            for task in tasks
        ]
        bar = ExperimentProgress(
            [budget * size - a for size, a in zip(sizes, ahead, strict=True)],
            sizes,
            unit=unit,
            done_units=budget * len(done) + sum(ahead),
            done_runs=len(done),
            total_runs=len(labels) * exp.runs,
            desc=exp.name or "experiment",
        )
        for line in resumed:
            bar.bar.write(f"{exp.name or 'experiment'}: {line}")
    stopped = 0
    try:
        with _ctrl_c_stops_runs(plan):
            stopped = _run_tasks(runner, tasks, bar, store, plan, histories, evaluations)
    except Exception as error:
        if plan is not None and plan.stop_requested():  # Ctrl-C was pressed: say that, not
            raise KeyboardInterrupt(f"stopped ({error})") from error  # what it broke on its way
        raise
    finally:
        if bar is not None:
            bar.close()
        if plan is not None:
            clear_stop(plan)
    if stopped:
        runner.stop_workers()
        raise KeyboardInterrupt(f"{stopped} runs stopped; their checkpoints are written")
    if store is not None:
        results, evaluated = store.read(spec, evaluations=return_evaluations)
    else:
        results = tidy(pd.concat(histories, ignore_index=True), labels)
        evaluated = tidy_evaluations(
            pd.concat(evaluations, ignore_index=True) if evaluations else pd.DataFrame(), labels
        )
    results.attrs["resumed"] = resumed
    return (results, evaluated) if return_evaluations else results


def _run_tasks(
    runner: Backend,
    tasks: list[RunTask | GroupTask],
    bar: ExperimentProgress | None,
    store: ResultsStore | None,
    plan: CheckpointPlan | None,
    histories: list[pd.DataFrame],
    evaluations: list[pd.DataFrame],
) -> int:
    """Run ``tasks`` on ``runner``, saving (or keeping) each run as it finishes; how many runs
    a stop (Ctrl-C) left unfinished, checkpointed."""
    stopped = 0
    if bar is None:
        runs = runner.map(run_task, tasks)
    elif _takes_progress(runner):
        runs = runner.map(run_task, tasks, progress=bar)
    else:  # a Backend of its own that predates progress=: the bar moves as tasks finish
        runs = _count_finished(runner.map(run_task, tasks), tasks, bar)
    with closing(runs):  # the backend's clean-up (workers, channel) runs before we go on
        for task, outcome in runs:
            if isinstance(outcome, Stopped):
                stopped += len(outcome.runs)
                continue
            results_of = outcome if isinstance(task, GroupTask) else [outcome]
            for (run, _), result in zip(_task_runs(task), results_of, strict=True):
                if store is not None:
                    path = store.write_run(task.index, task.label, run, *result)
                    if plan is not None:
                        remove_checkpoint(plan, path.name)
                else:
                    histories.append(result.history)
                    if result.evaluations is not None:
                        evaluations.append(result.evaluations)
    return stopped


def _checkpoint_plan(
    exp: Experiment, store: ResultsStore, every_minutes: float | None, problems: dict[str, str]
) -> CheckpointPlan:
    """Where and when the runs of ``exp`` write checkpoints into ``store``'s folder; a variant
    whose runs cannot be checkpointed (``problems``: label -> why) is said once
    (:class:`CheckpointWarning`), and its runs stop on Ctrl-C without one."""
    for label, problem in problems.items():
        warnings.warn(
            f"variant {label!r}: its runs in progress cannot be checkpointed ({problem}); "
            "a stop (Ctrl-C) loses them, finished runs are kept",
            CheckpointWarning,
            stacklevel=3,
        )
    code = experiment_code(exp)
    return CheckpointPlan(
        folder=str(store.folder / CHECKPOINTS_DIR),
        every_s=None if every_minutes is None else float(every_minutes) * 60,
        poll_s=POLL_S,
        identity={label: run_identity(exp, label) for label in exp.labels},
        code={label: {n: p.digest for n, p in prints.items()} for label, prints in code.items()},
        off=frozenset(problems),
    )


def _check_every(every_minutes: Any) -> None:
    if every_minutes is not None and (
        isinstance(every_minutes, bool)
        or not isinstance(every_minutes, int | float)
        or not every_minutes > 0
    ):
        raise ConfigError(
            f"checkpoint_every takes minutes between checkpoints (e.g. 3.0), or None for "
            f"checkpoints on Ctrl-C only; got {every_minutes!r}"
        )


def _resumed_tasks(
    exp: Experiment, saved: dict[tuple[str, int], SavedRun]
) -> list[RunTask | GroupTask]:
    """The tasks that go on from checkpoints: a run saved at an episode's end (or finished)
    goes on alone, with ``rl.train``; runs saved mid-episode by an ensemble go on together,
    those of one variant at one step forming a group (first: they are the long tasks)."""
    seeds = exp.run_seeds()
    index = {label: i for i, label in enumerate(exp.labels)}
    solo: list[RunTask | GroupTask] = []
    groups: dict[tuple[str, int], list[int]] = {}
    for label, run in sorted(saved, key=lambda pair: (index[pair[0]], pair[1])):
        position = saved[label, run].position
        if position.episode is None or position.finished:
            solo.append(RunTask(exp, index[label], label, run, seeds[run], resume=True))
        else:
            groups.setdefault((label, position.steps_done), []).append(run)
    grouped: list[RunTask | GroupTask] = [
        GroupTask(exp, index[label], label, tuple(runs), tuple(seeds[r] for r in runs), resume=True)
        for (label, _), runs in groups.items()
    ]
    return grouped + solo


def _units_done(saved: SavedRun, unit: str) -> int:
    """What a checkpointed run has done, in the progress bar's unit."""
    return saved.position.steps_done if unit == "step" else len(saved.position.history)


def _resumed_text(saved: SavedRun, unit: str) -> str:
    """``run 3 of 'dqn' resumed at env step 41,200``."""
    where = f"env step {saved.position.steps_done:,}"
    if unit == "episode":
        where = f"episode {len(saved.position.history):,} ({where})"
    return f"run {saved.run} of {saved.label!r} resumed at {where}"


@contextmanager
def _ctrl_c_stops_runs(plan: CheckpointPlan | None) -> Iterator[None]:
    """While the runs train, the first Ctrl-C asks each of them to write its checkpoint and stop
    (:func:`~rlladder.experiments.run_checkpoints.request_stop`); a second one stops at once.
    Only in the main thread, and only with checkpoints (a results folder)."""
    if plan is None or threading.current_thread() is not threading.main_thread():
        yield
        return
    asked: list[bool] = []

    def stop(signum: int, frame: Any) -> None:
        if asked:
            raise KeyboardInterrupt
        asked.append(True)
        request_stop(plan)
        print(
            "\nrlladder: stopping; each run writes its checkpoint first (Ctrl-C again to stop now)",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
