"""Run an experiment: every run of every variant, on a backend, saved as it finishes.

::

    results = rl.run_experiment(exp, backend="process", out="results/mine")

Each (variant, run) pair is one independent task: make the environment, make the agent, train,
return the history. Run ``r`` of every variant uses the same seed, so the whole DataFrame is a
function of the experiment alone: the same on every backend and worker count.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rlladder.errors import ConfigError
from rlladder.experiments.backends import Backend, make_backend
from rlladder.experiments.spec import Experiment
from rlladder.experiments.store import ResultsStore, tidy
from rlladder.loop import train

__all__ = ["run_experiment", "run_one", "RunTask", "agent_and_env_seeds"]


@dataclass(frozen=True)
class RunTask:
    """One unit of work: run ``run`` of variant ``label`` (the ``index``-th) of ``experiment``."""

    experiment: Experiment
    index: int
    label: str
    run: int
    seed: int
    progress: bool = False


def agent_and_env_seeds(run_seed: int) -> tuple[int, int]:
    """Two independent seeds from a run's seed: one for the agent, one for the environment.

    (Seeding both with the same number would give them the *same* random stream: numpy's
    ``default_rng(s)`` and gymnasium's ``np_random(s)`` are the same generator.)
    """
    agent_seed, env_seed = np.random.SeedSequence(run_seed).generate_state(2)
    return int(agent_seed), int(env_seed)


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


def run_one(task: RunTask) -> pd.DataFrame:
    """Train one seeded agent on one fresh environment; its history with variant/run/seed columns."""
    exp = task.experiment
    agent_seed, env_seed = agent_and_env_seeds(task.seed)
    env = exp.make_env()
    try:
        agent = exp.variants[task.label].make(env, seed=agent_seed)
        with _OneTorchThread():
            history = train(
                agent,
                env,
                episodes=exp.episodes,
                steps=exp.steps,
                seed=env_seed,
                max_episode_steps=exp.max_episode_steps,
                progress=task.progress,
            )
    finally:
        env.close()
    history.insert(0, "variant", task.label)
    history.insert(1, "run", task.run)
    history.insert(2, "seed", task.seed)
    return history


def _preflight(exp: Experiment) -> None:
    """Build every variant's agent once here, so a typo fails now, not in thirty workers."""
    env = exp.make_env()
    try:
        for label, variant in exp.variants.items():
            try:
                variant.make(env, seed=0)
            except (ConfigError, TypeError) as error:
                raise type(error)(f"variant {label!r}: {error}") from None
    finally:
        env.close()


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


def run_experiment(
    experiment: Experiment | str | Path,
    *,
    backend: str | Backend = "process",
    workers: int | None = None,
    address: str | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> pd.DataFrame:
    """Run every run of every variant and return one tidy DataFrame, a row per episode.

    Args:
        experiment: an :class:`~rlladder.Experiment` (or a suite name, or a ``.toml`` path).
        backend: ``"serial"``, ``"process"`` (all cores) or ``"ray"``, or a Backend object.
        workers: processes / Ray CPUs (default: all cores of this machine).
        address: the ray backend's cluster address (default: start a local cluster).
        out: results folder; each run is saved there as it finishes, and re-running the same
            experiment into it runs only what is missing. ``None``: keep results in memory only.
        overwrite: empty ``out`` first, even if it holds a different experiment.
        progress: a progress bar over runs (and one per run with the serial backend).

    Returns:
        Columns ``variant, run, seed, episode, env_step, reward, steps`` and the agents'
        diagnostics, sorted by variant (in the experiment's order), run and episode.

    Raises:
        ConfigError: bad experiment, or ``out`` holds a different experiment.
        KeyboardInterrupt: on Ctrl-C, after every finished run has been saved.
    """
    exp = _as_experiment(experiment)
    runner = make_backend(backend, workers=workers, address=address)
    _preflight(exp)
    labels, seeds = exp.labels, exp.run_seeds()
    store = ResultsStore(out) if out is not None else None
    done: set[tuple[str, int]] = set()
    if store is not None:
        store.prepare(exp, overwrite=overwrite)
        done = store.finished(labels, exp.runs)
    per_run = progress and runner.per_run_progress
    pinned = exp.pinned()  # every hyperparameter explicit: workers build what spec.json records
    tasks = [
        RunTask(pinned, index, label, run, seeds[run], per_run)
        for run in range(exp.runs)
        for index, label in enumerate(labels)
        if (label, run) not in done
    ]
    frames: list[pd.DataFrame] = []
    bar = tqdm(
        total=len(labels) * exp.runs,
        initial=len(done),
        desc=exp.name or "experiment",
        unit="run",
        disable=not progress,
        dynamic_ncols=True,
    )
    try:
        for task, frame in runner.map(run_one, tasks):
            if store is not None:
                store.write_run(task.index, task.label, task.run, frame)
            else:
                frames.append(frame)
            bar.update(1)
    finally:
        bar.close()
    if store is not None:
        return store.read_runs(labels, exp.runs)
    return tidy(pd.concat(frames, ignore_index=True), labels)
