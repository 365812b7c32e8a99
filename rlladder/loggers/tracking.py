"""What an experiment tracks, as plain values that travel to its workers.

::

    rl.run_experiment(exp, out="results/mine", log="tensorboard:tb")
    rl.run_experiment(exp, log=rl.loggers.Tracking(tensorboard="tb", wandb_project="rlladder",
                                                   wandb_mode="offline"))

A :class:`Tracking` says where to log; the runner turns it into one :class:`RunTracking` per
(variant, run), plain values again (names, a folder, a run id, the hyperparameters), and each
worker makes its own trackers from that (:meth:`RunTracking.trackers`) as the run starts; a live
writer never crosses between processes. A run is named as its results file is
(``00-q-learning-run0000``), grouped by experiment and variant: TensorBoard gets one folder per
variant (``DIR/00-q-learning/run0000``), W&B the experiment's name as ``group`` and the variant's
label as ``job_type``. The W&B run id is derived from the run's identity (the experiment's
resolved configuration, the variant, the run and its seed), so a run that is done again resumes
its own W&B run; its TensorBoard folder loses its old event files first, so its points are
replaced rather than doubled.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlladder.errors import ConfigError
from rlladder.loggers.base import Tracker, TrackingWarning, require

__all__ = ["Tracking", "RunTracking", "as_tracking", "run_id"]


@dataclass(frozen=True)
class Tracking:
    """Where an experiment's runs are logged; any of the two, or both.

    Args:
        tensorboard: a folder for TensorBoard (``tensorboard --logdir`` it).
        wandb_project: a W&B project.
        wandb_mode: ``"online"``, ``"offline"`` or ``"disabled"`` (default: W&B's own,
            ``WANDB_MODE`` or online).
        wandb_entity: the W&B team or user.
        wandb_dir: the folder for W&B's local files (default: W&B's).
        video_every: a short greedy clip every this many episodes of each run, played on a
            fresh environment of the experiment (``None``: none; rendering needs
            ``rlladder[render]``).
    """

    tensorboard: str | None = None
    wandb_project: str | None = None
    wandb_mode: str | None = None
    wandb_entity: str | None = None
    wandb_dir: str | None = None
    video_every: int | None = None

    def __post_init__(self) -> None:
        if self.tensorboard is None and self.wandb_project is None:
            raise ConfigError(
                "Tracking() needs tensorboard=DIR or wandb_project=NAME (or both), e.g. "
                "Tracking(tensorboard='tb')"
            )
        if self.wandb_mode is not None:
            from rlladder.errors import unknown_name
            from rlladder.loggers.wandb import WANDB_MODES

            if self.wandb_mode not in WANDB_MODES:
                raise unknown_name("W&B mode", self.wandb_mode, WANDB_MODES)
        if self.video_every is not None:
            from rlladder.errors import check_int

            check_int("video_every", self.video_every, 1, owner="Tracking")

    def check(self) -> Tracking | None:
        """Before any run starts: the packages are there (else
        :class:`~rlladder.loggers.base.MissingTrackerError`), and the TensorBoard folder can be
        written. A folder that cannot is reported once as a
        :class:`~rlladder.loggers.base.TrackingWarning` and left out; what remains (``None``:
        nothing)."""
        if self.tensorboard is not None:
            require("tensorboard", "tensorboard", "TensorBoard")
        if self.wandb_project is not None:
            require("wandb", "wandb", "W&B")
        if self.tensorboard is None:
            return self
        problem = _unwritable(Path(self.tensorboard))
        if problem is None:
            return self
        warnings.warn(
            f"TensorBoard logging is off ({problem}); the runs train and their results are "
            f"kept: make {self.tensorboard} writable, or pass another folder",
            TrackingWarning,
            stacklevel=3,
        )
        if self.wandb_project is None:
            return None
        return dataclasses.replace(self, tensorboard=None)

    def for_run(
        self,
        *,
        experiment: str,
        index: int,
        label: str,
        run: int,
        seed: int,
        hparams: Mapping[str, Any],
        identity: Mapping[str, Any],
    ) -> RunTracking:
        """The plain description of what run ``run`` of variant ``label`` (the ``index``-th)
        logs: its names, its TensorBoard folder, its W&B id and its hyperparameters."""
        from rlladder.experiments.store import run_file_name

        name = run_file_name(index, label, run).removesuffix(".csv")
        folder = name.removesuffix(f"-run{run:04d}")
        return RunTracking(
            tracking=self,
            name=name,
            experiment=experiment,
            label=label,
            tensorboard_dir=(
                None
                if self.tensorboard is None
                else str(Path(self.tensorboard) / folder / f"run{run:04d}")
            ),
            run_id=run_id(identity, label, run, seed),
            hparams=dict(hparams),
        )


@dataclass(frozen=True)
class RunTracking:
    """What one run of an experiment logs, in plain values (made by :meth:`Tracking.for_run`)."""

    tracking: Tracking
    name: str
    experiment: str
    label: str
    tensorboard_dir: str | None
    run_id: str
    hparams: dict[str, Any] = field(default_factory=dict)

    def trackers(
        self, start_step: int = 0, make_env: Callable[[], Any] | None = None
    ) -> list[Tracker]:
        """This run's trackers, made here (in the worker). The TensorBoard folder's old event
        files are removed first, so a run done again replaces its points; a run that goes on
        from a checkpoint at env step ``start_step`` keeps the points before it and replaces
        those after (TensorBoard's purge step). ``make_env`` makes the clips' environment."""
        from rlladder.loggers.tensorboard import TensorBoard, clear_events
        from rlladder.loggers.wandb import WandB

        made: list[Tracker] = []
        video = {}
        if self.tracking.video_every is not None and make_env is not None:
            video = {"video_every": self.tracking.video_every, "video_env": make_env}
        if self.tensorboard_dir is not None:
            if not start_step:
                try:
                    clear_events(self.tensorboard_dir)
                except OSError:
                    pass  # the tracker reports the folder when it cannot write there
            made.append(
                TensorBoard(
                    self.tensorboard_dir, hparams=self.hparams, purge_step=start_step, **video
                )
            )
        tracking = self.tracking
        if tracking.wandb_project is not None:
            made.append(
                WandB(
                    tracking.wandb_project,
                    mode=tracking.wandb_mode,
                    name=self.name,
                    group=self.experiment,
                    job_type=self.label,
                    run_id=self.run_id,
                    entity=tracking.wandb_entity,
                    dir=tracking.wandb_dir,
                    hparams=self.hparams,
                    **video,
                )
            )
        return made


def run_id(identity: Mapping[str, Any], label: str, run: int, seed: int) -> str:
    """A W&B run id from a run's identity: the first 16 hex digits of the SHA-256 of the
    experiment's identity, the variant, the run and its seed (the same run, the same id)."""
    text = json.dumps([identity, label, run, seed], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def as_tracking(log: Tracking | str | None) -> Tracking | None:
    """``run_experiment(log=...)``'s value as a :class:`Tracking`: one already, ``None``, or
    text: ``"tensorboard:DIR"``, ``"wandb:PROJECT"`` or ``"wandb:PROJECT:offline"``."""
    if log is None or isinstance(log, Tracking):
        return log
    if isinstance(log, str):
        kind, _, rest = log.partition(":")
        if kind == "tensorboard" and rest:
            return Tracking(tensorboard=rest)
        if kind == "wandb" and rest:
            project, _, mode = rest.partition(":")
            return Tracking(wandb_project=project, wandb_mode=mode or None)
    raise ConfigError(
        f"log= takes 'tensorboard:DIR', 'wandb:PROJECT' ('wandb:PROJECT:offline'), or "
        f"rl.loggers.Tracking(...), got {log!r}"
    )


def _unwritable(folder: Path) -> str | None:
    """Why ``folder`` cannot hold event files (``None``: it can)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".rlladder-"):
            pass
    except OSError as error:
        return f"{folder}: {error.strerror or error}"
    if not os.access(folder, os.W_OK):
        return f"{folder} is not writable"
    return None
