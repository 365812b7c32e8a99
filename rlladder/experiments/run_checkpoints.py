"""Checkpoints of runs in progress: an interrupted run goes on where it stopped, number for number.

::

    results/cartpole/
      checkpoints/00-dqn-run0003.ckpt.npz   run 3 of dqn, in progress: written every few minutes
                                            and on Ctrl-C, removed when the run finishes
      runs/...                              the finished runs, as before

**What a checkpoint holds.** Everything continuing exactly needs, as arrays and plain values,
never pickled code:

* the agent, as its own checkpoint (``agent.save``; its class's ``load`` rebuilds it): tables,
  networks, optimizer state, replay buffer, counters and random generators;
* the environment's state (:mod:`rlladder.envs.env_state`): its generator, its wrappers'
  counters and, mid-episode, the physics;
* where the run stands: its history so far, the greedy evaluations made so far, and, for a run
  stopped mid-episode, that episode's observation and running sums
  (:class:`~rlladder.loop.EpisodeLog`);
* what it belongs to: the experiment's identity, the variant's resolved hyperparameters, the
  fingerprint of your own code, the run's seed, and the rlladder version.

**Where a run can stop.** A solo run (``rl.train``) writes its checkpoint at the end of an
episode, when the period has passed or Ctrl-C asked it to stop: at an episode boundary the
environment's state is its random generator and its wrappers' counters, which every gymnasium
environment keeps in plain values. The members of a DQN ensemble step in lockstep and are
mid-episode at any step, so a group writes each member's checkpoint at the step it is at, with
the environment's state mid-episode: that needs an environment whose state is plain values
(CartPole, Acrobot, MountainCar, FrozenLake, ... :func:`rlladder.envs.env_state.env_state_problem`
says why one is not). Where an environment's state cannot be saved, or an agent's ``save``
cannot hold its state, its runs are not checkpointed: an interrupt loses them as before, and
the runner says so in one line when the experiment starts.

**Stopping.** Each run polls a :class:`Pause` at its episode ends (a group: at each step): a
clock read, and every :data:`POLL_S` seconds one look for the ``STOP`` file that the runner
writes on the first Ctrl-C. That file is the one signal that reaches every backend's workers
(serial, process, a local Ray cluster). On a Ray cluster of several machines, ``out`` must be on
a file system they share for checkpoints (and the stop) to reach the workers.

**Safety.** A checkpoint is written to a temporary file and moved into place, so it is whole or
absent. One that cannot be read, or was written by another rlladder version, is moved aside with
a warning and its run starts over; one written by other code of yours is refused, as finished
runs are (:mod:`rlladder.experiments.fingerprints`).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from rlladder.checkpoints import header, load_npz, save_npz
from rlladder.errors import CheckpointError, RLLadderWarning
from rlladder.interface import Agent
from rlladder.loop import EpisodeLog, RunPosition

__all__ = [
    "CHECKPOINTS_DIR",
    "STOP_FILE",
    "SUFFIX",
    "POLL_S",
    "DEFAULT_EVERY_MINUTES",
    "CheckpointWarning",
    "CheckpointPlan",
    "Pause",
    "RunPosition",
    "SavedRun",
    "write_checkpoint",
    "read_checkpoint",
    "checkpoint_problem",
    "checkpointing_problem",
    "run_identity",
    "find_checkpoints",
    "remove_checkpoint",
    "request_stop",
    "clear_stop",
    "set_aside",
]

CHECKPOINTS_DIR = "checkpoints"
STOP_FILE = "STOP"
SUFFIX = ".ckpt.npz"
#: seconds between two looks for the stop file (a clock read in between costs ~0.1 µs)
POLL_S = 0.5
#: minutes between two periodic checkpoints of a run in progress
DEFAULT_EVERY_MINUTES = 3.0
_KIND = "run"


class CheckpointWarning(RLLadderWarning):
    """A run's checkpoint could not be used (damaged, or from another rlladder): the run starts over;
    or a variant's runs cannot be checkpointed at all."""


@dataclass(frozen=True)
class CheckpointPlan:
    """Where and when the runs of one experiment write their checkpoints (plain values: it travels
    to the workers with each task).

    ``every_s``: seconds between periodic checkpoints (``None``: only on Ctrl-C); ``poll_s``:
    seconds between two looks for the stop file; ``identity``: what each checkpoint must match
    to be resumed (:func:`run_identity`), per variant label; ``code``: the fingerprints of your
    own code, per variant label.
    """

    folder: str
    every_s: float | None = DEFAULT_EVERY_MINUTES * 60
    poll_s: float = POLL_S
    identity: Mapping[str, Any] = field(default_factory=dict)
    #: label -> the fingerprints of your own code it runs (recorded in each checkpoint)
    code: Mapping[str, Any] = field(default_factory=dict)
    #: the variants whose runs cannot be checkpointed: they stop on Ctrl-C without one
    off: frozenset[str] = frozenset()

    def path(self, name: str) -> Path:
        """The checkpoint of the run whose results file is ``name`` (``00-dqn-run0003.csv``)."""
        return Path(self.folder) / (name.removesuffix(".csv") + SUFFIX)

    @property
    def stop_file(self) -> Path:
        return Path(self.folder) / STOP_FILE

    def stop_requested(self) -> bool:
        """Whether Ctrl-C has asked the runs to stop."""
        return self.stop_file.exists()


class Pause:
    """When a run in progress should write its checkpoint, and whether it must then stop.

    :meth:`check` is called at every chance to stop (a solo run's episode end, a group's step):
    a clock read, and every ``poll_s`` seconds a look for the stop file.
    """

    __slots__ = ("plan", "_next_poll", "_next_save")

    def __init__(self, plan: CheckpointPlan) -> None:
        self.plan = plan
        now = time.monotonic()
        self._next_poll = now + plan.poll_s
        self._next_save = None if plan.every_s is None else now + plan.every_s

    def check(self) -> str | None:
        """``"stop"`` (write the checkpoint, then stop), ``"save"`` (write it, go on) or ``None``."""
        now = time.monotonic()
        if now < self._next_poll:
            return None
        self._next_poll = now + self.plan.poll_s
        if self.plan.stop_requested():
            return "stop"
        if self._next_save is not None and now >= self._next_save:
            self._next_save = now + self.plan.every_s  # type: ignore[operator]
            return "save"
        return None


@dataclass
class SavedRun:
    """A checkpoint as read back: the run's position, its agent and environment state, its
    evaluations so far."""

    path: Path
    meta: dict[str, Any]
    position: RunPosition
    agent_bytes: bytes
    env_meta: dict[str, Any]
    env_arrays: dict[str, np.ndarray]
    evaluations: pd.DataFrame | None
    evaluations_passed: int

    @property
    def label(self) -> str:
        return str(self.meta["label"])

    @property
    def run(self) -> int:
        return int(self.meta["run"])

    def agent(self, cls: type[Agent], env: gym.Env) -> Agent:
        """The saved agent, rebuilt by ``cls.load`` (the class the variant makes)."""
        with tempfile.TemporaryDirectory(prefix="rlladder-agent-") as folder:
            path = Path(folder) / f"agent{self.meta['agent_suffix']}"
            path.write_bytes(self.agent_bytes)
            return cls.load(path, env)

    def restore_env(self, env: gym.Env) -> None:
        """Put a fresh environment of the run into the saved state."""
        from rlladder.envs.env_state import set_env_state

        set_env_state(env, self.env_meta, self.env_arrays)


def _frame_arrays(prefix: str, frame: pd.DataFrame) -> tuple[list[str], dict[str, np.ndarray]]:
    columns = [str(c) for c in frame.columns]
    return columns, {f"{prefix}/{c}": frame[c].to_numpy() for c in columns}


def _frame(prefix: str, columns: list[str], arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({c: arrays[f"{prefix}/{c}"] for c in columns}, columns=columns)


def _agent_bytes(agent: Agent) -> tuple[bytes, str]:
    """The agent's own checkpoint, as bytes, and the file suffix its class writes."""
    deep = any(c.__module__ == "rlladder.deep.dqn" for c in type(agent).__mro__)
    suffix = ".pt" if deep else ".npz"
    with tempfile.TemporaryDirectory(prefix="rlladder-agent-") as folder:
        path = Path(folder) / f"agent{suffix}"
        agent.save(path)
        return path.read_bytes(), suffix


def write_checkpoint(
    path: Path,
    *,
    label: str,
    run: int,
    seed: int,
    identity: Mapping[str, Any],
    agent: Agent,
    env: gym.Env,
    position: RunPosition,
    evaluator: Any = None,
    code: Mapping[str, str | None] | None = None,
) -> None:
    """Write run ``run`` of ``label``'s checkpoint to ``path``, whole or not at all."""
    from rlladder import __version__
    from rlladder.envs.env_state import env_state

    env_meta, env_arrays = env_state(env)
    blob, suffix = _agent_bytes(agent)
    columns, arrays = _frame_arrays("history", position.history)
    arrays["agent"] = np.frombuffer(blob, dtype=np.uint8)
    arrays.update({f"env/{k}": v for k, v in env_arrays.items()})
    episode = None
    if position.episode is not None:
        log = position.episode
        episode = {
            "reward": log.reward,
            "steps": log.steps,
            "sums": log.sums,
            "counts": log.counts,
            "max_steps": log.max_steps,
        }
        arrays["obs"] = np.asarray(position.obs)
    evaluation = None
    if evaluator is not None:
        frame = evaluator.frame()
        eval_columns, eval_arrays = _frame_arrays("eval", frame)
        arrays.update(eval_arrays)
        evaluation = {"columns": eval_columns, "passed": evaluator.passed}
    meta = {
        **header(_KIND),
        "rlladder": __version__,
        "label": label,
        "run": run,
        "seed": seed,
        "identity": json.loads(json.dumps(identity)),
        "code": code,
        "steps_done": position.steps_done,
        "episodes_done": len(position.history),
        "finished": position.finished,
        "history_columns": columns,
        "episode": episode,
        "evaluation": evaluation,
        "env": env_meta,
        "agent_suffix": suffix,
        "agent_class": type(agent).__qualname__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_npz(path, meta, arrays)


def read_checkpoint(path: Path) -> SavedRun:
    """A checkpoint that :func:`write_checkpoint` wrote.

    Raises:
        CheckpointError: the file is not a whole run checkpoint (one line saying why).
    """
    meta, arrays = load_npz(path, _KIND)
    try:
        history = _frame("history", meta["history_columns"], arrays)
        episode = None
        if meta["episode"] is not None:
            saved = meta["episode"]
            episode = EpisodeLog(saved["max_steps"])
            episode.reward = float(saved["reward"])
            episode.steps = int(saved["steps"])
            episode.sums = {k: float(v) for k, v in saved["sums"].items()}
            episode.counts = {k: int(v) for k, v in saved["counts"].items()}
        position = RunPosition(
            history=history,
            steps_done=int(meta["steps_done"]),
            episode=episode,
            obs=arrays.get("obs") if episode is not None else None,
            finished=bool(meta["finished"]),
        )
        evaluation = meta["evaluation"]
        evaluations = None if evaluation is None else _frame("eval", evaluation["columns"], arrays)
        env_arrays = {k.removeprefix("env/"): v for k, v in arrays.items() if k.startswith("env/")}
        return SavedRun(
            path=path,
            meta=meta,
            position=position,
            agent_bytes=arrays["agent"].tobytes(),
            env_meta=meta["env"],
            env_arrays=env_arrays,
            evaluations=evaluations,
            evaluations_passed=0 if evaluation is None else int(evaluation["passed"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise CheckpointError(f"{str(path)!r} is not a whole run checkpoint ({error!r})") from None


def checkpoint_problem(saved: SavedRun, identity: Mapping[str, Any], seed: int) -> str | None:
    """Why ``saved`` cannot continue a run of this experiment (``None``: it can): another
    rlladder, other hyperparameters, another seed."""
    from rlladder import __version__

    if saved.meta.get("rlladder") != __version__:
        return f"it was written by rlladder {saved.meta.get('rlladder')}, this is {__version__}"
    if int(saved.meta.get("seed", -1)) != seed:
        return f"it is of seed {saved.meta.get('seed')}, the run's seed is {seed}"
    if saved.meta.get("identity") != json.loads(json.dumps(identity)):
        return "it was written for other hyperparameters"
    return None


def set_aside(path: Path, problem: str) -> None:
    """Move a checkpoint that cannot be used to ``NAME.damaged``, with a warning."""
    moved = path.with_name(path.name + ".damaged")
    try:
        os.replace(path, moved)
        where = f"moved to {moved.name}"
    except OSError:
        where = "left in place"
    warnings.warn(
        f"{path} cannot continue its run ({problem}); {where}, the run starts over",
        CheckpointWarning,
        stacklevel=3,
    )


def run_identity(experiment: Any, label: str) -> dict[str, Any]:
    """What a checkpoint of a run of ``label`` must match to continue it: the experiment's
    identity with that variant's resolved hyperparameters only (adding a variant or runs to an
    experiment leaves the others' checkpoints good)."""
    identity = experiment.identity()
    variants = identity.pop("variants")
    return json.loads(json.dumps({**identity, "variant": variants[label]}))


def checkpointing_problem(agent: Agent, env: gym.Env) -> str | None:
    """Why runs of ``agent`` on ``env`` cannot be checkpointed (``None``: they can): the env's
    state is not plain values, or the agent's ``save`` cannot hold its state."""
    from rlladder.envs.env_state import env_state_problem

    problem = env_state_problem(env)
    if problem is not None:
        return problem
    try:
        _agent_bytes(agent)
    except Exception as error:  # whatever the agent's own save raises, say it in one line
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return None


def find_checkpoints(
    plan: CheckpointPlan,
    experiment: Any,
    pending: list[tuple[str, int]],
    file_names: Mapping[tuple[str, int], str],
    code: Mapping[str, Mapping[str, Any]],
) -> dict[tuple[str, int], SavedRun]:
    """The checkpoints that continue ``pending`` runs (``(label, run)`` pairs), read and checked.

    One that cannot be read, or belongs to another rlladder version, seed or hyperparameters,
    is moved aside with a :class:`CheckpointWarning` (its run starts over).

    Raises:
        ConfigError: a checkpoint was written by other code of yours (``code``: label -> the
            fingerprints of :func:`~rlladder.experiments.fingerprints.experiment_code`).
    """
    from rlladder.errors import ConfigError
    from rlladder.experiments.fingerprints import code_changes

    seeds = experiment.run_seeds()
    found: dict[tuple[str, int], SavedRun] = {}
    recorded: dict[str, list[Any]] = {}
    for label, run in pending:
        path = plan.path(file_names[label, run])
        if not path.exists():
            continue
        try:
            saved = read_checkpoint(path)
        except (CheckpointError, OSError) as error:
            set_aside(path, str(error))
            continue
        problem = checkpoint_problem(saved, run_identity(experiment, label), seeds[run])
        if problem is not None:
            set_aside(path, problem)
            continue
        found[label, run] = saved
        then = recorded.setdefault(label, [])
        then.extend([None] * (run + 1 - len(then)))
        then[run] = saved.meta.get("code")
    finished = {label: [run for (lb, run) in found if lb == label] for label in recorded}
    changes = code_changes(recorded, code, finished)
    if changes:
        raise ConfigError(
            f"{Path(plan.folder).parent} holds checkpoints of other code: {'; '.join(changes)}; "
            "undo the change to resume them, or overwrite the folder (--overwrite / "
            "overwrite=True) to start over"
        )
    return found


def remove_checkpoint(plan: CheckpointPlan, file_name: str) -> None:
    """Remove a finished run's checkpoint: a finished folder holds what it held before."""
    plan.path(file_name).unlink(missing_ok=True)


def clear_stop(plan: CheckpointPlan) -> None:
    """Remove the stop file (before an experiment starts, and when it ends)."""
    plan.stop_file.unlink(missing_ok=True)


def request_stop(plan: CheckpointPlan) -> None:
    """Ask every run of the experiment to write its checkpoint and stop (the first Ctrl-C)."""
    Path(plan.folder).mkdir(parents=True, exist_ok=True)
    plan.stop_file.touch()
