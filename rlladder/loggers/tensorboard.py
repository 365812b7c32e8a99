"""Log a run to TensorBoard: scalars per episode at the env step, hyperparameters to HParams.

::

    history = rl.train(agent, env, steps=20_000, callbacks=[rl.loggers.TensorBoard("tb/dqn")])
    # then: tensorboard --logdir tb

It writes TensorBoard's own event files (``pip install "rlladder[tensorboard]"`` brings the
``tensorboard`` package). The scalars are those of :mod:`rlladder.loggers.base`; the
hyperparameters go to TensorBoard's HParams dashboard as one session in the run's own folder, so
the runs of a folder can be filtered and compared by value.

**What logging costs.** A FrozenLake episode trains in ~190 µs, so a per-episode cost of 10 µs
is already 5%. Three things keep it below that (``benchmarks/tracking_overhead.py``):

* an episode's scalars travel as one event (one ``Summary`` holding every tag, as
  ``add_scalar`` would write each);
* the events go through ``tensorboard``'s own record writer into an ordinary buffered file,
  flushed every ``flush_secs`` seconds and at the end (:class:`EventFile`), where TensorBoard's
  ``EventFileWriter``, without TensorFlow, reopens the file to append each record;
* each record carries two masked CRC-32C checksums, which ``tensorboard`` computes in pure
  Python, a byte at a time (~17 µs an event). ``rlladder[tensorboard]`` also installs
  ``google-crc32c`` (Google's C implementation, ~0.1 µs), and :func:`use_fast_checksums` gives
  it to ``tensorboard``'s record writer: the same checksums (the tests compare the two).
"""

from __future__ import annotations

import functools
import itertools
import os
import socket
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rlladder.loggers.base import Tracker, require

__all__ = [
    "TensorBoard",
    "EventFile",
    "HPARAM_METRICS",
    "clear_events",
    "use_fast_checksums",
    "masked_crc32c",
]

#: the scalars the HParams dashboard shows beside each run's hyperparameters
HPARAM_METRICS = ("train/reward", "eval/reward_mean")
_EVENTS = "events.out.tfevents."
_FILES = itertools.count()  # event files opened by this process (their names differ)


_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data`` (rotated right by 15 bits, plus a constant), the
    checksum computed by ``google-crc32c``'s C code.

    Raises:
        ImportError: ``google-crc32c`` is not installed.
    """
    crc = _crc32c()(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


@functools.cache
def _crc32c() -> Any:
    """``google_crc32c.value``, imported once."""
    import google_crc32c

    return google_crc32c.value


def use_fast_checksums() -> bool:
    """Have ``tensorboard``'s event-file writer checksum its records with :func:`masked_crc32c`
    (C) instead of its own pure-Python function; whether it now does. Nothing changes where
    ``google-crc32c`` is missing, or is only its pure-Python fallback."""
    try:
        import google_crc32c
        from tensorboard.summary.writer import record_writer
    except ImportError:
        return False
    if getattr(google_crc32c, "implementation", None) != "c":
        return False
    record_writer.masked_crc32c = masked_crc32c  # looked up at each write: the same bytes
    return True


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
        video_every, video_env: a short greedy clip (``video/greedy``, an animated GIF in the
            Images tab) every ``video_every`` episodes, played on ``video_env()`` (see
            :class:`~rlladder.loggers.base.Tracker`).

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
        video_every: int | None = None,
        video_env: Callable[[], Any] | None = None,
    ) -> None:
        require("tensorboard", "tensorboard", self.name)
        super().__init__(hparams, histograms_every, video_every=video_every, video_env=video_env)
        self.log_dir = Path(log_dir)
        self.flush_secs = flush_secs
        self.purge_step = purge_step
        self.advice = f"make {self.log_dir} writable, or log elsewhere"
        self.writer: EventFile | None = None
        self._sent = 0.0

    def _open(self) -> None:
        use_fast_checksums()
        self.writer = EventFile(self.log_dir, purge_step=self.purge_step)
        self._sent = time.monotonic()

    def _scalars(self, scalars: Mapping[str, float], step: int) -> None:
        assert self.writer is not None
        self.writer.add_scalars(scalars, step)
        if time.monotonic() - self._sent >= self.flush_secs:
            self.writer.flush()
            self._sent = time.monotonic()

    def _after_episode(self, agent: Any, step: int) -> None:
        network = self._weights_due(agent)
        if network is not None:
            from torch.utils.tensorboard.summary import histogram

            assert self.writer is not None
            for name, weights in network.named_parameters():
                values = weights.detach().cpu().numpy()
                self.writer.add_summary(histogram(f"weights/{name}", values, "auto"), step)

    def _video(self, gif: Path, step: int) -> None:
        """The clip as an animated image (TensorBoard's Images tab plays a GIF), as
        ``add_video`` writes one, without its ``moviepy`` step: the GIF is made already."""
        from PIL import Image
        from tensorboard.compat.proto.summary_pb2 import Summary

        with Image.open(gif) as frames:
            width, height = frames.size
        image = Summary.Image(
            height=height, width=width, colorspace=3, encoded_image_string=gif.read_bytes()
        )
        assert self.writer is not None
        self.writer.add_summary(
            Summary(value=[Summary.Value(tag="video/greedy", image=image)]), step
        )

    def _hparams(self, hparams: Mapping[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        metrics = dict.fromkeys(HPARAM_METRICS, 0.0)
        experiment, start, end = hparams_summary(dict(hparams), metrics)
        _keep_booleans(experiment, start, hparams)
        for summary in (experiment, start, end):
            self.writer.add_summary(summary, 0)

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _newest_stamp(folder: Path) -> int:
    """The time stamp in the name of the newest event file in ``folder`` (0: none).

    TensorBoard reads a folder's event files in the order of their names, and a file that
    purges (a run going on from its checkpoint) must come after the file whose points it
    replaces, even when both were opened in the same second: so a new file's stamp is at least
    one more than any before it."""
    newest = 0
    for path in folder.glob(f"{_EVENTS}*"):
        stamp = path.name[len(_EVENTS) :].split(".", 1)[0]
        if stamp.isdigit():
            newest = max(newest, int(stamp))
    return newest


class EventFile:
    """One TensorBoard event file, written by ``tensorboard``'s own ``RecordWriter`` (the
    TFRecord framing and checksums) onto an ordinary buffered file.

    TensorBoard's ``EventFileWriter``, without TensorFlow, reopens the file to append each
    record (its ``gfile`` stand-in), a few system calls per event; here the records collect in
    the file's buffer and reach the disk at :meth:`flush` (every ``flush_secs`` seconds) and
    :meth:`close`. The file is named and begins as TensorBoard's own writer names and begins
    one: a ``brain.Event:2`` version event, then, with ``purge_step``, a ``SessionLog.START`` at
    that step, which tells TensorBoard to drop the points at or after it that an earlier file
    of the folder holds.
    """

    def __init__(self, log_dir: str | Path, *, purge_step: int | None = None) -> None:
        from tensorboard.compat.proto.event_pb2 import Event, SessionLog
        from tensorboard.summary.writer.record_writer import RecordWriter

        folder = Path(log_dir)
        folder.mkdir(parents=True, exist_ok=True)
        stamp = max(int(time.time()), _newest_stamp(folder) + 1)
        name = f"{_EVENTS}{stamp:010d}.{socket.gethostname()}.{os.getpid()}.{next(_FILES)}"
        self.path = folder / name
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._records = RecordWriter(self._file)
        self._event = Event
        self._scalar_events: dict[tuple[str, ...], tuple[Any, list[Any]]] = {}
        self._write(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge_step is not None:
            start = SessionLog(status=SessionLog.START)
            self._write(Event(wall_time=time.time(), step=purge_step, session_log=start))

    def _write(self, event: Any) -> None:
        self._records.write(event.SerializeToString())

    def add_scalars(self, scalars: Mapping[str, float], step: int) -> None:
        """Write ``scalars`` (tag -> value) as one event at ``step``: one ``Summary`` holding
        every tag. The event of each set of tags is made once and its values filled in again
        (building protocol buffers costs more than filling them)."""
        tags = tuple(scalars)
        made = self._scalar_events.get(tags)
        if made is None:
            from tensorboard.compat.proto.summary_pb2 import Summary

            summary = Summary(value=[Summary.Value(tag=tag, simple_value=0.0) for tag in tags])
            event = self._event(summary=summary)
            made = self._scalar_events[tags] = (event, list(event.summary.value))
        event, slots = made
        for slot, value in zip(slots, scalars.values(), strict=True):
            slot.simple_value = value
        event.step, event.wall_time = int(step), time.time()
        self._records.write(event.SerializeToString())

    def add_summary(self, summary: Any, step: int) -> None:
        """Write ``summary`` (a ``Summary`` protocol buffer) as an event at ``step``."""
        self._write(self._event(wall_time=time.time(), step=int(step), summary=summary))

    def flush(self) -> None:
        """Put what is written so far on disk, where TensorBoard reads it."""
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


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
