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
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple, overload

import numpy as np
import pandas as pd

from rlladder.errors import ConfigError
from rlladder.experiments.backends import Backend, make_backend
from rlladder.experiments.evaluation import Evaluator, eval_seed
from rlladder.experiments.planning import DEFAULT_COSTS, CostModel, Job, RunCost, balance, run_steps
from rlladder.experiments.progress import ExperimentProgress, ReportEpisodes
from rlladder.experiments.spec import Experiment
from rlladder.experiments.store import ResultsStore, tidy, tidy_evaluations
from rlladder.interface import Agent
from rlladder.loggers.base import Tracker
from rlladder.loggers.tracking import RunTracking, Tracking, as_tracking
from rlladder.loop import train

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
    budgets) or 1 (``episodes=``).
    """
    exp = task.experiment
    agent_seed, env_seed = agent_and_env_seeds(task.seed)
    env = exp.make_env()
    trackers = [] if task.tracking is None else task.tracking.trackers()
    try:
        agent = exp.variants[task.label].make(env, seed=agent_seed)
        evaluator = make_evaluator(exp, agent, task.seed, trackers)
        callbacks = _run_callbacks(evaluator, trackers)
        if report is not None:
            callbacks.append(ReportEpisodes(report, progress_unit(exp)))
        with _OneTorchThread():
            history = train(
                agent,
                env,
                episodes=exp.episodes,
                steps=exp.steps,
                seed=env_seed,
                max_episode_steps=exp.max_episode_steps,
                callbacks=callbacks,
            )
    finally:
        _close(trackers)
        env.close()
    evaluations = None if evaluator is None else evaluator.frame()
    for frame in (history, evaluations):
        _label_columns(frame, task.label, task.run, task.seed)
    return RunResult(history, evaluations)


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
    from rlladder.deep.ensemble import reproduces, train_ensemble

    return train_ensemble if reproduces(cls) else None


def run_group(task: GroupTask, report: Callable[[int], object] | None = None) -> list[RunResult]:
    """Train the runs of ``task`` as one ensemble: each run's agent, environment, seeds and
    evaluator made exactly as :func:`run_one` makes them, so each :class:`RunResult` (in the
    order of ``task.runs``) is the one :func:`run_one` returns for that run.

    ``report(n)``, if given, hears of the units done: env steps (``steps=`` budgets, about every
    thousand) or 1 per finished member episode (``episodes=``).
    """
    exp = task.experiment
    variant = exp.variants[task.label]
    pairs = [agent_and_env_seeds(seed) for seed in task.seeds]
    envs = [exp.make_env() for _ in task.seeds]
    tracking = task.tracking or (None,) * len(task.runs)
    trackers = [[] if t is None else t.trackers() for t in tracking]
    try:
        agents = [variant.make(env, seed=a) for env, (a, _) in zip(envs, pairs, strict=True)]
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


def run_task(
    task: RunTask | GroupTask, report: Callable[[int], object] | None = None
) -> RunResult | list[RunResult]:
    """What a backend runs for each task: :func:`run_group` for a :class:`GroupTask`,
    :func:`run_one` for a :class:`RunTask`."""
    if isinstance(task, GroupTask):
        return run_group(task, report)
    return run_one(task, report)


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


def _preflight(exp: Experiment) -> set[str]:
    """Build every variant's agent once here, so a typo fails now, not in thirty workers; the
    labels of the variants whose agent class trains ensembles."""
    env = exp.make_env()
    grouped = set()
    try:
        for label, variant in exp.variants.items():
            try:
                agent = variant.make(env, seed=0)
            except (ConfigError, TypeError) as error:
                raise type(error)(f"variant {label!r}: {error}") from None
            if ensemble_trainer(agent) is not None:
                grouped.add(label)
    finally:
        env.close()
    return grouped


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

    Returns:
        Columns ``variant, run, seed, episode, env_step, reward, steps`` and the agents'
        diagnostics, sorted by variant (in the experiment's order), run and episode. With
        ``return_evaluations=True``, ``(results, evaluations)``: evaluations have a row per
        greedy episode, columns ``variant, run, seed, eval, env_step, episode, eval_episode,
        reward, steps`` (empty when the experiment does not evaluate).

    Raises:
        ConfigError: bad experiment, or ``out`` holds a different experiment.
        KeyboardInterrupt: on Ctrl-C, after every finished run has been saved.
    """
    exp = _as_experiment(experiment)
    tracking = as_tracking(log)
    runner = make_backend(backend, workers=workers, address=address)
    if not isinstance(ensemble, bool):
        raise TypeError(
            f"run_experiment(ensemble=...) takes True (train each DQN variant's runs together, "
            f"the default) or False (every run on its own), got {ensemble!r}"
        )
    grouped = _preflight(exp)
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
    tasks = plan_tasks(pinned, pending, grouped, runner.workers)
    if tracking is not None:
        tasks = _with_tracking(exp, tasks, tracking)
    histories: list[pd.DataFrame] = []
    evaluations: list[pd.DataFrame] = []
    bar = None
    if progress:
        budget = run_budget(exp)
        sizes = [len(_task_runs(task)) for task in tasks]
        bar = ExperimentProgress(
            [budget * size for size in sizes],
            sizes,
            unit=progress_unit(exp),
            done_units=budget * len(done),
            done_runs=len(done),
            total_runs=len(labels) * exp.runs,
            desc=exp.name or "experiment",
        )
    try:
        if bar is None:
            runs = runner.map(run_task, tasks)
        elif _takes_progress(runner):
            runs = runner.map(run_task, tasks, progress=bar)
        else:  # a Backend of its own that predates progress=: the bar moves as tasks finish
            runs = _count_finished(runner.map(run_task, tasks), tasks, bar)
        with closing(runs):  # the backend's clean-up (workers, channel) runs before we go on
            for task, outcome in runs:
                results_of = outcome if isinstance(task, GroupTask) else [outcome]
                for (run, _), result in zip(_task_runs(task), results_of, strict=True):
                    if store is not None:
                        store.write_run(task.index, task.label, run, *result)
                    else:
                        histories.append(result.history)
                        if result.evaluations is not None:
                            evaluations.append(result.evaluations)
    finally:
        if bar is not None:
            bar.close()
    if store is not None:
        results, evaluated = store.read(spec, evaluations=return_evaluations)
    else:
        results = tidy(pd.concat(histories, ignore_index=True), labels)
        evaluated = tidy_evaluations(
            pd.concat(evaluations, ignore_index=True) if evaluations else pd.DataFrame(), labels
        )
    return (results, evaluated) if return_evaluations else results
