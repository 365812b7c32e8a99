"""What every tracker logs, and how a tracker fails without costing a result.

:class:`Tracker` is the :func:`rl.train` callback both trackers share
(:class:`~rlladder.loggers.TensorBoard`, :class:`~rlladder.loggers.WandB`). After each finished
episode it turns the episode's row into scalars, with the env step as the x axis:

* ``train/reward`` (the return), ``train/episode_length``, and ``train/<column>`` for every
  diagnostic the agent reports (``loss``, ``q_mean``, ``action_gap``, ``epsilon``; a tabular
  agent's own);
* ``train/learning_rate`` where the agent has one (:func:`learning_rate`);
* ``train/steps_per_second``, the env steps per second of wall time, every
  :attr:`Tracker.throughput_secs` seconds and once more when training ends (a rate per episode
  would be noise on short episodes, and cost as much to write as the episode's own scalars);
* ``eval/reward_mean``, ``eval/reward_std``, ``eval/reward_min``, ``eval/reward_max`` and
  ``eval/episode_length`` for each greedy evaluation an experiment makes
  (:meth:`Tracker.log_evaluation`).

The hyperparameters (given, or the agent's own ``hyperparameters()``) are flattened to plain
values (:func:`flat_hyperparameters`) and sent once, when the first episode ends.

Optionally, a tracker also logs a deep agent's weight histograms every ``histograms_every``
gradient updates, and a short greedy clip (``video/greedy``) every ``video_every`` episodes: one
greedy episode on a fresh environment from ``video_env``, recorded by :func:`rlladder.recording.record`
(at most :attr:`Tracker.video_steps` steps, frames scaled by :attr:`Tracker.video_scale`), which
never changes the agent. A clip that cannot be made (no ``pygame`` to render) is reported once
and clips stop; the rest of the logging goes on.

If the tracker fails (a folder it cannot write, a W&B service that does not start), training goes
on: the failure is reported once, as a :class:`TrackingWarning` of one line naming the tracker
and what to do, and the tracker stays silent from then on.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from rlladder.errors import RLLadderError, RLLadderWarning

__all__ = [
    "Tracker",
    "TrackingWarning",
    "MissingTrackerError",
    "require",
    "learning_rate",
    "agent_hyperparameters",
    "flat_hyperparameters",
    "episode_scalars",
    "evaluation_scalars",
]

#: the row's columns that are not logged as ``train/<column>`` (the axis, and renamed ones)
_NOT_SCALARS = ("variant", "run", "seed", "episode", "env_step", "reward", "steps")


class TrackingWarning(RLLadderWarning):
    """A tracker stopped logging; the training it watched goes on and its results are kept."""


class MissingTrackerError(RLLadderError, ImportError):
    """The package a tracker needs is not installed (the message names the extra to install)."""


def require(module: str, extra: str, tracker: str) -> Any:
    """Import ``module`` for ``tracker``, or raise :class:`MissingTrackerError` naming
    ``pip install "rlladder[extra]"``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingTrackerError(
            f'{tracker} logging needs the {extra} package: pip install "rlladder[{extra}]"'
        ) from None


def learning_rate(agent: Any) -> float | None:
    """The agent's learning rate now: a DQN's ``lr_schedule`` at its steps done, a Q-learning
    agent's step size ``eta`` (its ``eta_schedule`` now), or ``None`` for an agent without one
    (Projective Simulation's ``eta`` is its glow damping, not a step size)."""
    schedule = getattr(agent, "lr_schedule", None)
    if hasattr(schedule, "at"):  # a DQN's: counts env steps or episodes, as its unit says
        step, episode = getattr(agent, "steps_done", 0), getattr(agent, "episodes_done", 0)
        return float(schedule.at(step=step, episode=episode))
    if callable(schedule):
        return float(schedule(getattr(agent, "steps_done", 0)))
    if getattr(agent, "eta_schedule", None) is not None:
        return float(agent.eta)
    return None


def agent_hyperparameters(agent: Any) -> dict[str, Any]:
    """What an agent says it was built with: its ``hyperparameters()`` (the tabular agents),
    else its ``config`` dataclass's fields (the DQN's
    :class:`~rlladder.deep.config.DQNConfig`), else nothing."""
    own = getattr(agent, "hyperparameters", None)
    if callable(own):
        return dict(own())
    config = getattr(agent, "config", None)
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    return {}


def flat_hyperparameters(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``values`` as one level of plain values a tracker can filter by: nested tables become
    ``outer.inner`` keys, lists and ``None`` become their JSON text; numbers, strings and
    booleans stay as they are."""
    flat: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flat_hyperparameters(value, f"{name}."))
        elif isinstance(value, bool | int | float | str):
            flat[name] = value
        else:
            flat[name] = json.dumps(value, default=str)
    return flat


def episode_scalars(record: Mapping[str, Any], agent: Any) -> dict[str, float]:
    """The scalars of one finished episode's row (see the module docstring), without the
    throughput, which needs a clock."""
    scalars = {"train/reward": float(record["reward"]), "train/episode_length": record["steps"]}
    for key, value in record.items():
        if key not in _NOT_SCALARS and isinstance(value, int | float) and math.isfinite(value):
            scalars[f"train/{key}"] = float(value)
    rate = learning_rate(agent)
    if rate is not None:
        scalars["train/learning_rate"] = rate
    return scalars


def evaluation_scalars(frame: pd.DataFrame) -> dict[str, float]:
    """The scalars of one greedy evaluation (its rows of an evaluations frame)."""
    rewards = frame["reward"].to_numpy(float)
    return {
        "eval/reward_mean": float(rewards.mean()),
        "eval/reward_std": float(rewards.std()),
        "eval/reward_min": float(rewards.min()),
        "eval/reward_max": float(rewards.max()),
        "eval/episode_length": float(frame["steps"].to_numpy(float).mean()),
    }


class Tracker:
    """The :func:`rl.train` callback a tracker builds on: it logs each episode's scalars at its
    env step, the hyperparameters once, greedy evaluations when an experiment makes them, and
    never stops training (see the module docstring).

    A subclass names itself (``name``), says what to do when it fails (``advice``) and writes:
    ``_open`` (once, before the first point), ``_scalars``, ``_hparams`` and ``_close``.

    Args:
        hparams: the hyperparameters to record (default: :func:`agent_hyperparameters`).
        histograms_every: weight histograms every this many gradient updates (``None``: none).
        video_every: a greedy clip every this many episodes (``None``: none); needs
            ``video_env``.
        video_env: makes the environment the clips are played on (e.g.
            ``lambda: gym.make("CartPole-v1")``).
    """

    name = "tracker"
    advice = "check its settings"
    #: seconds of wall time each ``train/steps_per_second`` point averages over
    throughput_secs = 5.0
    #: a clip's longest episode, in steps, and its frames' scale (a short, small GIF)
    video_steps = 200
    video_scale = 0.5

    def __init__(
        self,
        hparams: Mapping[str, Any] | None = None,
        histograms_every: int | None = None,
        *,
        video_every: int | None = None,
        video_env: Callable[[], Any] | None = None,
    ) -> None:
        from rlladder.errors import ConfigError, check_int

        if video_every is not None:
            check_int("video_every", video_every, 1, owner=self.name)
            if not callable(video_env):
                raise ConfigError(
                    f"{self.name}(video_every={video_every}) needs video_env=, a function that "
                    "makes the environment to play the clips on, e.g. "
                    "video_env=lambda: gym.make('CartPole-v1')"
                )
        self.video_every, self.video_env = video_every, video_env
        self.hparams = None if hparams is None else dict(hparams)
        self.histograms_every = (
            None
            if histograms_every is None
            else check_int("histograms_every", histograms_every, 1, owner=self.name)
        )
        self._histograms_done = 0  # multiples of histograms_every logged so far
        self.failure: str | None = None
        self._opened = False
        self._closed = False
        self._clock: float | None = None
        self._clock_step = 0  # the env step when the clock last read
        self._step = 0  # the env step of the last episode logged

    # -- the callback ------------------------------------------------------------------------
    def __call__(self, record: dict[str, Any], agent: Any) -> None:
        """After a training episode: log its scalars at ``record["env_step"]``."""
        now = time.perf_counter()
        step = int(record["env_step"])
        if not self._ready(agent):
            return
        scalars = episode_scalars(record, agent)
        if self._clock is None:
            self._clock = now
        elif now - self._clock >= self.throughput_secs:
            scalars.update(self._throughput(now, step))
        self._step = step
        try:
            self._scalars(scalars, step)
            self._after_episode(agent, step)
        except Exception as error:  # noqa: BLE001 - a tracker never stops training
            self._fail(error)
            return
        if self.video_every is not None and (int(record["episode"]) + 1) % self.video_every == 0:
            self._clip(agent, step)

    def _clip(self, agent: Any, step: int) -> None:
        """Play one greedy episode on a fresh ``video_env()``, record it, and log it; a clip
        that cannot be made is said once, and clips stop."""
        from rlladder.recording import record

        try:
            env = self.video_env()  # type: ignore[misc]
            try:
                with tempfile.TemporaryDirectory(prefix="rlladder-clip-") as folder:
                    path = record(
                        agent,
                        env,
                        Path(folder) / "greedy.gif",
                        seed=0,
                        scale=self.video_scale,
                        max_episode_steps=self.video_steps,
                    )
                    self._video(path, step)
            finally:
                env.close()
        except Exception as error:  # noqa: BLE001 - a clip never stops training or logging
            self.video_every = None
            what = " ".join(str(error).split()) or type(error).__name__
            warnings.warn(
                f"{self.name}: greedy clips stopped ({what}); the rest is still logged",
                TrackingWarning,
                stacklevel=3,
            )

    def _throughput(self, now: float, step: int) -> dict[str, float]:
        """``train/steps_per_second`` since the clock last read (which it now reads)."""
        rate = (step - self._clock_step) / (now - self._clock) if now > self._clock else 0.0
        self._clock, self._clock_step = now, step
        return {"train/steps_per_second": rate}

    def start_clock(self) -> None:
        """Count the throughput from now (the runner calls it as training starts; without it,
        the clock starts when the first episode ends)."""
        self._clock = time.perf_counter()

    def log_evaluation(self, frame: pd.DataFrame) -> None:
        """Log one greedy evaluation (rows with ``env_step``, ``reward`` and ``steps``) at the
        env step it was made."""
        if frame.empty or not self._ready(None):
            return
        self._guard(self._scalars, evaluation_scalars(frame), int(frame["env_step"].iloc[0]))

    def on_train_end(self, history: pd.DataFrame) -> None:
        """Log the last stretch's throughput, then flush and close the tracker."""
        if self._clock is not None and self._step > self._clock_step and self._ready(None):
            now = time.perf_counter()
            self._guard(self._scalars, self._throughput(now, self._step), self._step)
        self.close()

    def close(self) -> None:
        """Flush and close (again: nothing)."""
        if self._opened and not self._closed and self.failure is None:
            self._guard(self._close)
        self._closed = True

    # -- failing without costing a result -----------------------------------------------------
    def _ready(self, agent: Any) -> bool:
        """Open the tracker on first use; whether it can log."""
        if self.failure is not None or self._closed:
            return False
        if not self._opened:
            self._opened = True
            if self.hparams is None and agent is not None:
                self.hparams = agent_hyperparameters(agent)
            if not self._guard(self._open):
                return False
            if self.hparams:
                self._guard(self._hparams, flat_hyperparameters(self.hparams))
        return self.failure is None

    def _guard(self, action: Any, *args: Any) -> bool:
        """Run ``action(*args)``; on an error, report it once and stop logging."""
        try:
            action(*args)
        except Exception as error:  # noqa: BLE001 - a tracker never stops training
            self._fail(error)
            return False
        return True

    def _fail(self, error: BaseException) -> None:
        what = " ".join(str(error).split()) or type(error).__name__
        self.failure = f"{self.name} logging stopped ({what}); training goes on: {self.advice}"
        warnings.warn(self.failure, TrackingWarning, stacklevel=4)
        try:
            self._close()
        except Exception:  # noqa: BLE001 - already failed; nothing more to report
            pass

    def _weights_due(self, agent: Any) -> Any:
        """The deep agent's network (``agent.q_net``) when another ``histograms_every`` gradient
        updates (``agent.updates_done``) have passed since the last histograms, else ``None``."""
        every, network = self.histograms_every, getattr(agent, "q_net", None)
        if every is None or network is None:
            return None
        done = int(getattr(agent, "updates_done", 0)) // every
        if done <= self._histograms_done:
            return None
        self._histograms_done = done
        return network

    # -- what a tracker writes ----------------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _scalars(self, scalars: Mapping[str, float], step: int) -> None:
        raise NotImplementedError

    def _hparams(self, hparams: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def _after_episode(self, agent: Any, step: int) -> None:
        """Anything more a tracker logs after an episode (default: nothing)."""

    def _video(self, gif: Path, step: int) -> None:
        """Log the animated GIF ``gif`` as ``video/greedy`` at ``step``."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError
