"""Log a run to Weights & Biases: scalars per episode against the env step, hyperparameters to
the run's config.

::

    logger = rl.loggers.WandB(project="rlladder", mode="offline")   # no account, no network
    rl.train(agent, env, steps=20_000, callbacks=[logger])
    # later: wandb sync wandb/offline-run-*

It calls ``wandb.init`` once the first episode ends and ``run.log`` per episode, with
``env_step`` as each scalar's step metric (``run.define_metric``), so tabular and deep runs,
and a run and its resume, line up. ``pip install "rlladder[wandb]"`` brings the package.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rlladder.loggers.base import Tracker, require

__all__ = ["WandB", "WANDB_MODES"]

WANDB_MODES = ("online", "offline", "disabled")


class WandB(Tracker):
    """A training callback that logs to a W&B run.

    Args:
        project: the W&B project.
        mode: ``"online"``, ``"offline"`` (written under ``dir``, sent later with ``wandb sync``)
            or ``"disabled"``; ``None``: W&B's own default (``WANDB_MODE``, else online).
        name: the run's display name.
        group: runs shown together (an experiment's name).
        job_type: a second grouping (a variant's label).
        run_id: the run's id; with ``resume="allow"`` a run started again with the same id
            continues that run rather than making a second one.
        entity: the W&B team or user.
        dir: the folder for W&B's local files (default: W&B's, ``WANDB_DIR`` or ``./wandb``).
        hparams: the run's config (default: the agent's ``hyperparameters()``).
        video_every, video_env: a short greedy clip (``video/greedy``) every ``video_every``
            episodes, played on ``video_env()`` (see :class:`~rlladder.loggers.base.Tracker`).
        histograms_every: also log a histogram of each weight of a deep agent's network
            (``agent.q_net``, keys ``weights/<parameter>``) after each episode that completes
            another ``histograms_every`` gradient updates, as the DQN chapter's
            ``wandb.watch`` does; ``None`` (the default): none.
        init_timeout: seconds ``wandb.init`` may take before the tracker gives up (training
            goes on without it).

    Raises:
        MissingTrackerError: the ``wandb`` package is not installed.
        ConfigError: an unknown ``mode``.
    """

    name = "W&B"

    def __init__(
        self,
        project: str,
        *,
        mode: str | None = None,
        name: str | None = None,
        group: str | None = None,
        job_type: str | None = None,
        run_id: str | None = None,
        entity: str | None = None,
        dir: str | Path | None = None,  # noqa: A002 - wandb.init's own name
        hparams: Mapping[str, Any] | None = None,
        histograms_every: int | None = None,
        video_every: int | None = None,
        video_env: Callable[[], Any] | None = None,
        init_timeout: float = 90.0,
    ) -> None:
        from rlladder.errors import unknown_name

        if mode is not None and mode not in WANDB_MODES:
            raise unknown_name("W&B mode", mode, WANDB_MODES)
        require("wandb", "wandb", self.name)
        super().__init__(hparams, histograms_every, video_every=video_every, video_env=video_env)
        self.project, self.mode, self.entity = project, mode, entity
        self.run_name, self.group, self.job_type, self.run_id = name, group, job_type, run_id
        self.dir = None if dir is None else Path(dir)
        self.init_timeout = init_timeout
        self.advice = (
            "run `wandb login`, or log offline (--wandb-mode offline, WANDB_MODE=offline) "
            "and send it later with `wandb sync`"
        )
        self.run: Any = None

    def _open(self) -> None:
        import wandb

        # WANDB_DIR read now, not by wandb's process-wide settings made at its first run
        folder = self.dir or (
            Path(os.environ["WANDB_DIR"]) if os.environ.get("WANDB_DIR") else None
        )
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.run = wandb.init(
            project=self.project,
            entity=self.entity,
            mode=self.mode,
            name=self.run_name,
            group=self.group,
            job_type=self.job_type,
            id=self.run_id,
            resume="allow" if self.run_id else None,
            dir=None if folder is None else str(folder),
            reinit="create_new",
            settings=wandb.Settings(init_timeout=self.init_timeout, silent=True),
        )
        self.run.define_metric("env_step")
        self.run.define_metric("train/*", step_metric="env_step")
        self.run.define_metric("eval/*", step_metric="env_step")
        self.run.define_metric("weights/*", step_metric="env_step")
        self.run.define_metric("video/*", step_metric="env_step")

    def _scalars(self, scalars: Mapping[str, float], step: int) -> None:
        self.run.log({"env_step": step, **scalars})

    def _after_episode(self, agent: Any, step: int) -> None:
        network = self._weights_due(agent)
        if network is not None:
            import wandb

            weights = {
                f"weights/{name}": wandb.Histogram(p.detach().cpu().numpy())
                for name, p in network.named_parameters()
            }
            self.run.log({"env_step": step, **weights})

    def _video(self, gif: Path, step: int) -> None:
        import wandb

        self.run.log({"env_step": step, "video/greedy": wandb.Video(str(gif), format="gif")})

    def _hparams(self, hparams: Mapping[str, Any]) -> None:
        self.run.config.update(dict(hparams), allow_val_change=True)

    def _close(self) -> None:
        if self.run is not None:
            self.run.finish()
