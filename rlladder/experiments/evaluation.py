"""Greedy evaluation inside an experiment's runs: when, on which environment, in which shape.

::

    exp = rl.Experiment(..., steps=50_000, eval_every=10_000, eval_episodes=100)
    results, evaluations = rl.run_experiment(exp, return_evaluations=True)
    evaluations = rl.load_evaluations("results/mine")      # the same, from a results folder

Training returns include exploration. A run of an experiment with ``eval_episodes=N`` also plays
``N`` greedy episodes through :func:`rl.evaluate` (``explore=False``, no learning: the agent is
left exactly as it was) at its *evaluation points*:

* **When.** Every ``eval_every`` units of the budget (env steps for a ``steps=`` budget,
  episodes for an ``episodes=`` budget), and once more at the end of training
  (:func:`evaluation_points`). Training stops only between episodes, so the evaluation "at step
  10,000" happens at the end of the training episode that crossed step 10,000, and records the
  ``env_step`` and ``episode`` at which it actually happened. A training episode that crosses
  several points gives one evaluation. The final evaluation happens after the last training
  step, at the budget.
* **On what.** Each evaluation makes a fresh environment (``experiment.make_env()``), separate
  from the training one, and seeds its first reset with :func:`eval_seed` of the run's seed. So
  every evaluation of a run plays the same start states (what changes between them is the
  agent), the training environment and the agent's random streams are never touched, and the
  training history is the same, number for number, with evaluation on or off. With
  ``max_episode_steps`` set, evaluation episodes are cut there too.
* **Shape.** A row per greedy episode, :data:`EVAL_COLUMNS`: ``variant, run, seed`` (as in the
  training results), ``eval`` (0, 1, ... within the run), ``env_step`` and ``episode`` (the env
  steps and the number of training episodes finished when it happened), ``eval_episode`` (0 ..
  N-1), and that episode's ``reward`` (its return) and ``steps``.

:func:`evaluate_run` plays one evaluation and :class:`Evaluator` is the training callback that
calls it at the points; a trainer that steps several runs at once calls them per run and gets the
same numbers.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from rlladder.errors import check_int
from rlladder.interface import Agent
from rlladder.loop import evaluate

__all__ = [
    "EVAL_COLUMNS",
    "eval_seed",
    "evaluation_points",
    "evaluation_moments",
    "evaluate_run",
    "Evaluator",
]

#: The columns of an evaluations frame (and of a run's ``.eval.csv`` file), in order.
EVAL_COLUMNS = [
    "variant",
    "run",
    "seed",
    "eval",
    "env_step",
    "episode",
    "eval_episode",
    "reward",
    "steps",
]
_COLUMNS = EVAL_COLUMNS[3:]  # what a run's evaluator produces, before variant/run/seed


def eval_seed(run_seed: int) -> int:
    """The seed of a run's evaluation environment: the third 32-bit word of
    ``numpy.random.SeedSequence(run_seed)``, whose first two seed the agent and the training
    environment (:func:`~rlladder.experiments.runner.agent_and_env_seeds`)."""
    return int(np.random.SeedSequence(run_seed).generate_state(3)[2])


def evaluation_points(budget: int, every: int | None) -> list[int]:
    """Where a run evaluates, in units of its budget: each multiple of ``every`` below
    ``budget``, then ``budget`` itself (the end of training).

    ``evaluation_points(50_000, 20_000) == [20_000, 40_000, 50_000]``;
    ``evaluation_points(500, None) == [500]`` (only at the end).
    """
    budget = check_int("budget", budget, 1, owner="evaluation_points")
    if every is None:
        return [budget]
    every = check_int("eval_every", every, 1, owner="evaluation_points")
    return [*range(every, budget, every), budget]


def _passed(periodic: Sequence[int], counter: int) -> int:
    """How many of the periodic points a run has passed once its counter reads ``counter``."""
    return bisect_right(periodic, counter)


def evaluation_moments(counters: Sequence[int], budget: int, every: int | None) -> list[int]:
    """The training episodes after which a run evaluates periodically (the final evaluation, at
    the budget, comes on top): the indices ``i`` whose counter ``counters[i]`` (env steps done,
    or episodes done) passes a point of :func:`evaluation_points` below the budget that no
    earlier episode passed. :class:`Evaluator` applies the same rule as training runs."""
    periodic = evaluation_points(budget, every)[:-1]
    moments, passed = [], 0
    for i, counter in enumerate(counters):
        now = _passed(periodic, int(counter))
        if now > passed:
            moments.append(i)
            passed = now
    return moments


def evaluate_run(
    agent: Agent,
    make_env: Callable[[], gym.Env],
    run_seed: int,
    *,
    episodes: int,
    max_episode_steps: int | None = None,
) -> pd.DataFrame:
    """One evaluation of a run: ``episodes`` greedy episodes of ``agent`` on a fresh environment
    from ``make_env()``, its first reset seeded with :func:`eval_seed` of ``run_seed``.

    The agent is left exactly as it was (:func:`rl.evaluate` plays ``act(obs, explore=False)``
    and never learns). A greedy ``act`` may still draw from the agent's generator
    ``agent.rng`` (a student's agent breaking ties at random, say): its state is put back
    afterwards, so evaluating never changes what training does next. Returns a row per
    episode: ``eval_episode``, ``reward``, ``steps``.
    """
    rng = getattr(agent, "rng", None)
    saved = rng.bit_generator.state if isinstance(rng, np.random.Generator) else None
    env = make_env()
    try:
        played = evaluate(
            agent,
            env,
            episodes=episodes,
            seed=eval_seed(run_seed),
            max_episode_steps=max_episode_steps,
        )
    finally:
        env.close()
        if saved is not None:
            rng.bit_generator.state = saved  # type: ignore[union-attr]
    return pd.DataFrame(
        {
            "eval_episode": played["episode"].to_numpy(np.int64),
            "reward": played["reward"].to_numpy(np.float64),
            "steps": played["steps"].to_numpy(np.int64),
        }
    )


class Evaluator:
    """The :func:`rl.train` callback that evaluates one run at its points (see the module's
    docstring): after each training episode that passes a periodic point, and at the end of
    training (in ``on_train_end``, which ``rl.train`` calls once its budget is spent).

    Args:
        agent: the run's agent (for the final evaluation; the callback is given it each episode).
        make_env: makes a fresh evaluation environment.
        run_seed: the run's seed; the evaluation environment is seeded with ``eval_seed(run_seed)``.
        episodes: greedy episodes per evaluation.
        budget: the run's training budget, in ``unit``.
        unit: ``"steps"`` (``eval_every`` counts env steps) or ``"episodes"``.
        every: evaluate every this many units (``None``: only at the end).
        max_episode_steps: cut evaluation episodes there, as training episodes are.
        listeners: each is called with every evaluation as it is made (its rows, columns as
            :meth:`frame`'s): a tracker's ``log_evaluation``, say.

    After training, :meth:`frame` holds the evaluations (columns ``eval, env_step, episode,
    eval_episode, reward, steps``).
    """

    def __init__(
        self,
        agent: Agent,
        make_env: Callable[[], gym.Env],
        run_seed: int,
        *,
        episodes: int,
        budget: int,
        unit: str,
        every: int | None = None,
        max_episode_steps: int | None = None,
        listeners: Sequence[Callable[[pd.DataFrame], object]] = (),
    ) -> None:
        if unit not in ("steps", "episodes"):
            raise ValueError(f"unit must be 'steps' or 'episodes', got {unit!r}")
        self.agent = agent
        self.make_env = make_env
        self.run_seed = run_seed
        self.episodes = check_int("eval_episodes", episodes, 1, owner="Evaluator")
        self.budget = budget
        self.unit = unit
        self.max_episode_steps = max_episode_steps
        self.periodic = evaluation_points(budget, every)[:-1]
        self._passed = 0
        self._frames: list[pd.DataFrame] = []
        self.listeners = list(listeners)

    def __call__(self, record: dict[str, Any], agent: Agent) -> None:
        """After a training episode: evaluate if it passed a point no earlier one did."""
        counter = record["env_step"] if self.unit == "steps" else record["episode"] + 1
        passed = _passed(self.periodic, int(counter))
        if passed > self._passed:
            self._passed = passed
            self._evaluate(agent, int(record["env_step"]), int(record["episode"]) + 1)

    @property
    def passed(self) -> int:
        """How many periodic evaluation points training has passed (each evaluated once)."""
        return self._passed

    def restore(self, frame: pd.DataFrame | None, passed: int) -> None:
        """Go on from a checkpoint: the evaluations made so far (:meth:`frame`'s rows) and the
        periodic points passed (:attr:`passed`)."""
        self._passed = int(passed)
        self._frames = []
        if frame is not None and not frame.empty:
            self._frames = [g.reset_index(drop=True) for _, g in frame.groupby("eval", sort=True)]

    def on_train_end(self, history: pd.DataFrame) -> None:
        """The final evaluation, at the end of the budget."""
        episodes = len(history)
        if self.unit == "steps":  # the run trained on all of it, a last partial episode too
            env_step = self.budget
        else:
            env_step = int(history["env_step"].iloc[-1]) if episodes else 0
        self._evaluate(self.agent, env_step, episodes)

    def _evaluate(self, agent: Agent, env_step: int, episode: int) -> None:
        played = evaluate_run(
            agent,
            self.make_env,
            self.run_seed,
            episodes=self.episodes,
            max_episode_steps=self.max_episode_steps,
        )
        played.insert(0, "eval", len(self._frames))
        played.insert(1, "env_step", env_step)
        played.insert(2, "episode", episode)
        self._frames.append(played)
        for listener in self.listeners:
            listener(played)

    def frame(self) -> pd.DataFrame:
        """Every evaluation so far, a row per greedy episode."""
        if not self._frames:
            return pd.DataFrame({c: pd.Series(dtype="int64") for c in _COLUMNS}).astype(
                {"reward": "float64"}
            )
        frame = pd.concat(self._frames, ignore_index=True)
        return frame.astype({c: "int64" for c in _COLUMNS if c != "reward"})
