"""Log a run to TensorBoard: scalars per episode at the env step, hyperparameters to HParams.

::

    history = rl.train(agent, env, steps=20_000, callbacks=[rl.loggers.TensorBoard("tb/dqn")])
    # then: tensorboard --logdir tb

It writes through PyTorch's :class:`torch.utils.tensorboard.SummaryWriter` (``pip install
"rlladder[tensorboard]"`` brings the ``tensorboard`` package it needs). The scalars are those of
:mod:`rlladder.loggers.base`; the hyperparameters go to TensorBoard's HParams dashboard as one
session in the run's own folder, so the runs of a folder can be filtered and compared by value.

An episode's scalars travel as one event (one ``Summary`` holding every tag, as
``add_scalar`` would write each), and the events are handed to the writer in bursts, every
``flush_secs`` seconds and at the end: the writer's thread then wakes once per burst rather
than once per scalar, which keeps the cost of logging a short FrozenLake episode small
(``benchmarks/tracking_overhead.py``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rlladder.errors import check_int
from rlladder.loggers.base import Tracker, require

__all__ = ["TensorBoard", "HPARAM_METRICS", "clear_events"]

#: the scalars the HParams dashboard shows beside each run's hyperparameters
HPARAM_METRICS = ("train/reward", "eval/reward_mean")
_EVENTS = "events.out.tfevents."
#: events the writer's queue holds: a burst goes in without waiting for its thread
_QUEUE = 10_000


def clear_events(log_dir: str | Path) -> None:
    """Delete the TensorBoard event files directly in ``log_dir`` (a run being written again
    starts a fresh file rather than doubling its points); other files are left alone."""
    folder = Path(log_dir)
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(_EVENTS) and path.is_file():
                path.unlink()


class TensorBoard(Tracker):
    """A training callback that logs to TensorBoard event files in ``log_dir``.

    Args:
        log_dir: the run's folder (made if missing); give each run its own, and point
            ``tensorboard --logdir`` at their parent.
        hparams: the hyperparameters to record (default: the agent's ``hyperparameters()``).
        flush_secs: how often the points go to the writer, and the writer to disk, in seconds.
        purge_step: passed to the writer: points at or after this env step that an earlier
            writer left in ``log_dir`` are hidden (a run that starts again from 0: ``0``).
        histograms_every: also log a histogram of each weight of a deep agent's network
            (``agent.q_net``, tags ``weights/<parameter>``) after each episode that completes
            another ``histograms_every`` gradient updates (``agent.updates_done``), as the DQN
            chapter's ``wandb.watch`` does; ``None`` (the default): none.

    Raises:
        MissingTrackerError: the ``tensorboard`` package is not installed.
    """

    name = "TensorBoard"

    def __init__(
        self,
        log_dir: str | Path,
        *,
        hparams: Mapping[str, Any] | None = None,
        flush_secs: int = 30,
        purge_step: int | None = None,
        histograms_every: int | None = None,
    ) -> None:
        require("tensorboard", "tensorboard", self.name)
        super().__init__(hparams)
        self.log_dir = Path(log_dir)
        self.flush_secs = flush_secs
        self.purge_step = purge_step
        self.histograms_every = (
            None
            if histograms_every is None
            else check_int("histograms_every", histograms_every, 1, owner="TensorBoard")
        )
        self._histograms_done = 0  # multiples of histograms_every logged so far
        self.advice = f"make {self.log_dir} writable, or log elsewhere"
        self.writer: Any = None
        self._pending: list[tuple[Any, int, float]] = []
        self._sent = 0.0

    def _open(self) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary
        from torch.utils.tensorboard import SummaryWriter

        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.writer = SummaryWriter(
            str(self.log_dir),
            flush_secs=self.flush_secs,
            purge_step=self.purge_step,
            max_queue=_QUEUE,
        )
        self._summary, self._value = Summary, Summary.Value
        self._sent = time.monotonic()

    def _scalars(self, scalars: Mapping[str, float], step: int) -> None:
        value = self._value
        summary = self._summary(
            value=[value(tag=tag, simple_value=v) for tag, v in scalars.items()]
        )
        self._pending.append((summary, step, time.time()))
        if time.monotonic() - self._sent >= self.flush_secs:
            self._send()

    def _after_episode(self, agent: Any, step: int) -> None:
        every, network = self.histograms_every, getattr(agent, "q_net", None)
        if every is None or network is None:
            return
        done = int(getattr(agent, "updates_done", 0)) // every
        if done > self._histograms_done:
            self._histograms_done = done
            for name, weights in network.named_parameters():
                self.writer.add_histogram(f"weights/{name}", weights.detach(), step)

    def _send(self) -> None:
        """Hand the points gathered so far to the writer, in one burst."""
        add = self.writer.file_writer.add_summary
        for summary, step, walltime in self._pending:
            add(summary, step, walltime)
        self._pending.clear()
        self._sent = time.monotonic()

    def _hparams(self, hparams: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        metrics = dict.fromkeys(HPARAM_METRICS, 0.0)
        experiment, start, end = hparams_summary(dict(hparams), metrics)
        _keep_booleans(experiment, start, hparams)
        for summary in (experiment, start, end):
            self.writer.file_writer.add_summary(summary)

    def _close(self) -> None:
        if self.writer is not None:
            try:
                self._send()
            finally:
                self.writer.close()


def _keep_booleans(experiment: Any, start: Any, hparams: Mapping[str, Any]) -> None:
    """Record boolean hyperparameters as booleans (PyTorch's ``hparams`` writes them as 0/1):
    HParams then offers ``True``/``False`` filters, and reads back what ``spec.json`` holds."""
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    flags = {key: value for key, value in hparams.items() if isinstance(value, bool)}
    if not flags:
        return
    parsed = []
    for summary in (experiment, start):
        metadata = summary.value[0].metadata.plugin_data
        parsed.append((metadata, plugin_data_pb2.HParamsPluginData.FromString(metadata.content)))
    (exp_meta, exp_data), (start_meta, start_data) = parsed
    for info in exp_data.experiment.hparam_infos:
        if info.name in flags:
            info.type = api_pb2.DATA_TYPE_BOOL
    for key, value in flags.items():
        start_data.session_start_info.hparams[key].bool_value = value
    exp_meta.content = exp_data.SerializeToString()
    start_meta.content = start_data.SerializeToString()
