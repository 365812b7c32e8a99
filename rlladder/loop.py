"""The training loop: the one place where every agent meets every environment.

::

    history = rl.train(agent, env, episodes=500, seed=0)   # a row per episode
    scores = rl.evaluate(agent, env, episodes=100, seed=1)  # greedy, no learning

Each step the loop asks the agent for an action, steps the environment, and hands the agent a
:class:`~rlladder.interface.Transition` that keeps ``terminated`` (a true end: do not bootstrap)
apart from ``truncated`` (a time limit: do bootstrap). It averages the diagnostics ``learn``
returns over the episode and calls your callbacks once per finished episode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from rlladder.errors import ConfigError, check_int
from rlladder.interface import Agent, Transition

__all__ = ["train", "evaluate", "run_episode", "Callback", "EpisodeLog", "RunPosition"]

HISTORY_COLUMNS = ["episode", "env_step", "reward", "steps"]


class Callback(Protocol):
    """Called after every finished training episode with that episode's row and the agent.

    Return ``True`` to stop training early. An object may also define ``on_train_end(history)``,
    called once with the history DataFrame when training stops (e.g. to close a live plot).
    """

    def __call__(self, record: dict[str, Any], agent: Agent) -> bool | None: ...


def run_episode(
    agent: Agent,
    env: gym.Env,
    *,
    learn: bool = True,
    seed: int | None = None,
    max_steps: int | None = None,
    step_budget: int | None = None,
) -> dict[str, Any] | None:
    """Play one episode and return its row: ``reward`` (the return), ``steps``, averaged diagnostics.

    ``learn=True`` explores and learns, calling the agent's episode hooks; ``learn=False`` plays
    greedily (``act(obs, explore=False)``) and touches nothing in the agent. ``max_steps`` cuts the
    episode as *truncated* after that many steps. ``step_budget`` stops mid-episode once that many
    steps are spent and returns ``None`` (the partial episode is not a finished one).
    """
    obs, _ = env.reset(seed=seed)
    if learn:
        agent.begin_episode()
    episode = EpisodeLog(max_steps)
    act, agent_learn, step = agent.act, agent.learn, env.step
    while True:
        action = act(obs, explore=learn)
        next_obs, reward, terminated, truncated, _ = step(action)
        truncated = episode.step(reward, terminated, truncated)
        if learn:
            episode.add(
                agent_learn(
                    Transition(obs, action, float(reward), next_obs, bool(terminated), truncated)
                )
            )
        obs = next_obs
        if terminated or truncated:
            break
        if step_budget is not None and episode.steps >= step_budget:
            return None
    if learn:
        agent.end_episode()
    return episode.record()


class EpisodeLog:
    """One episode's running record: its return, its length, and each diagnostic's mean.

    The loop's own bookkeeping, shared with the batched DQN ensemble so that a member's history
    is built exactly as :func:`run_episode` builds a solo one (the same sums in the same order).
    """

    __slots__ = ("max_steps", "reward", "steps", "sums", "counts")

    def __init__(self, max_steps: int | None = None) -> None:
        self.max_steps = max_steps
        self.reward = 0.0
        self.steps = 0
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def step(self, reward: float, terminated: bool, truncated: bool) -> bool:
        """Count one env step; whether it ends the episode as *truncated* (the env's time limit,
        or ``max_steps`` reached without terminating)."""
        self.steps += 1
        self.reward += float(reward)
        return bool(truncated) or (
            self.max_steps is not None and self.steps >= self.max_steps and not terminated
        )

    def add(self, diagnostics: dict[str, float] | None) -> None:
        """Add what ``learn`` returned (nothing, on a step without an update)."""
        if diagnostics:
            sums, counts = self.sums, self.counts
            for key, value in diagnostics.items():
                sums[key] = sums.get(key, 0.0) + value
                counts[key] = counts.get(key, 0) + 1

    def record(self) -> dict[str, Any]:
        """The episode's row: ``reward``, ``steps``, then the mean of each diagnostic."""
        record: dict[str, Any] = {"reward": self.reward, "steps": self.steps}
        for key, total in self.sums.items():
            record[key] = total / self.counts[key]
        return record


@dataclass
class RunPosition:
    """Where one run stands: what the loop (at an episode end) or the ensemble (at any step)
    says so that it can go on from here.

    Attributes:
        history: the finished episodes (the rows ``rl.train`` returns so far).
        steps_done: env steps taken, a partial episode's included.
        episode: the episode in progress (``None`` at an episode boundary).
        obs: the observation the agent acts on next, in the episode in progress (as the
            ensemble holds it: adapted to the network's input).
        finished: the run has spent its budget (a member of an ensemble that waits for the
            others to finish).
    """

    history: pd.DataFrame
    steps_done: int
    episode: EpisodeLog | None = None
    obs: np.ndarray | None = None
    finished: bool = False


def _check_budget(episodes: int | None, steps: int | None, fn: str) -> None:
    if (episodes is None) == (steps is None):
        raise ConfigError(
            f"{fn}() needs exactly one of episodes= or steps= (e.g. episodes=500 or steps=50_000), "
            f"got episodes={episodes!r}, steps={steps!r}"
        )
    if episodes is not None:
        check_int("episodes", episodes, 1, owner=fn)
    if steps is not None:
        check_int("steps", steps, 1, owner=fn)


def _check_env(env: Any, fn: str) -> None:
    if not (hasattr(env, "reset") and hasattr(env, "step")):
        raise TypeError(
            f"{fn}() needs a gymnasium environment (e.g. gym.make('FrozenLake-v1')), got {env!r}"
        )


def _check_agent(agent: Any, fn: str) -> None:
    if not isinstance(agent, Agent):
        raise TypeError(
            f"{fn}() needs an rl.Agent, got {agent!r}; make one with rl.make_agent('q-learning', "
            "env), or subclass rl.Agent and implement act() and learn()"
        )


def _seed_env(env: gym.Env, seed: int | None) -> None:
    if seed is not None:
        env.action_space.seed(seed)
        env.observation_space.seed(seed)


def train(
    agent: Agent,
    env: gym.Env,
    *,
    episodes: int | None = None,
    steps: int | None = None,
    seed: int | None = None,
    max_episode_steps: int | None = None,
    progress: bool = False,
    callbacks: Iterable[Callback | Callable[..., Any]] = (),
    history: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Train ``agent`` on ``env`` for a number of ``episodes`` or env ``steps`` (exactly one).

    Args:
        seed: seeds the environment (its first reset and its spaces); later resets continue its
            random stream, so the same agent seed and ``seed`` give the same history. The agent is
            seeded when it is made.
        max_episode_steps: cut episodes after this many steps (as *truncated*), on top of any
            time limit the environment has.
        progress: show a tqdm bar.
        callbacks: called after each finished episode with ``(record, agent)``; one returning
            ``True`` stops training.
        history: go on with a run that has played these episodes (what an earlier call
            returned, or a checkpoint holds): they count toward the budget, numbering and
            ``env_step`` go on from them, they start the returned history, and ``env`` is neither
            seeded nor reset first (pass ``seed=None``: it should be where the run left it, at
            an episode's end).

    Returns:
        A DataFrame, a row per finished episode: ``episode`` (from 0), ``env_step`` (total env steps
        when it ended), ``reward`` (its return), ``steps`` (its length), and the mean of each
        diagnostic ``learn`` returned during the episode. With ``steps=``, training stops exactly
        at the budget and an unfinished last episode is not a row.
    """
    _check_budget(episodes, steps, "train")
    _check_agent(agent, "train")
    _check_env(env, "train")
    if max_episode_steps is not None:
        check_int("max_episode_steps", max_episode_steps, 1, owner="train")
    callbacks = list(callbacks)
    for callback in callbacks:
        if not callable(callback):
            raise TypeError(
                f"train() callbacks must be callables taking (record, agent), got {callback!r}; "
                "e.g. callbacks=[lambda record, agent: record['reward'] > 0.9] stops at a success"
            )
    _seed_env(env, seed)
    rows: list[dict[str, Any]] = _rows(history)
    env_step = int(rows[-1]["env_step"]) if rows else 0
    bar = tqdm(
        total=episodes if episodes is not None else steps,
        initial=len(rows) if episodes is not None else env_step,
        unit="ep" if episodes else "step",
        disable=not progress,
        leave=False,
        desc=getattr(agent, "name", "") or type(agent).__name__,
    )
    stop = False
    try:
        while not stop:
            if episodes is not None and len(rows) >= episodes:
                break
            budget = None if steps is None else steps - env_step
            if budget is not None and budget <= 0:
                break
            record = run_episode(
                agent,
                env,
                learn=True,
                seed=seed if not rows else None,
                max_steps=max_episode_steps,
                step_budget=budget,
            )
            if record is None:  # the step budget ran out mid-episode
                bar.update(budget)
                break
            env_step += record["steps"]
            row = {"episode": len(rows), "env_step": env_step, **record}
            rows.append(row)
            bar.update(1 if episodes is not None else record["steps"])
            if progress and len(rows) % 10 == 0:
                recent = rows[-10:]
                bar.set_postfix(reward=f"{sum(r['reward'] for r in recent) / len(recent):.3g}")
            for callback in callbacks:
                if callback(row, agent) is True:
                    stop = True
    finally:
        bar.close()
    history = _to_frame(rows)
    _end_training(callbacks, history)
    return history


def _rows(history: pd.DataFrame | None) -> list[dict[str, Any]]:
    """The rows of a history to go on from, as the loop makes them (a diagnostic an episode did
    not report is left out of its row, as ``learn`` left it)."""
    if history is None or history.empty:
        return []
    missing = history.isna()
    return [
        {k: v for k, v in row.items() if not missing.at[i, k]}
        for i, row in zip(history.index, history.to_dict("records"), strict=True)
    ]


def _end_training(callbacks: Iterable[Callable[..., Any]], history: pd.DataFrame) -> None:
    """Call ``on_train_end(history)`` on each callback that has one (an evaluator's last
    evaluation, say), once training is over."""
    for callback in callbacks:
        on_end = getattr(callback, "on_train_end", None)
        if on_end is not None:
            on_end(history)


def evaluate(
    agent: Agent,
    env: gym.Env,
    *,
    episodes: int = 100,
    seed: int | None = None,
    max_episode_steps: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Play ``episodes`` greedy episodes without learning; the agent is left exactly as it was.

    Returns a DataFrame, a row per episode: ``episode``, ``env_step``, ``reward``, ``steps``.
    ``seed`` seeds the environment's first reset, as in :func:`train`.
    """
    check_int("episodes", episodes, 1, owner="evaluate")
    _check_agent(agent, "evaluate")
    _check_env(env, "evaluate")
    if max_episode_steps is not None:
        check_int("max_episode_steps", max_episode_steps, 1, owner="evaluate")
    _seed_env(env, seed)
    rows: list[dict[str, Any]] = []
    env_step = 0
    for i in tqdm(range(episodes), disable=not progress, leave=False, desc="evaluate"):
        record = run_episode(
            agent, env, learn=False, seed=seed if i == 0 else None, max_steps=max_episode_steps
        )
        assert record is not None
        env_step += record["steps"]
        rows.append({"episode": i, "env_step": env_step, **record})
    return _to_frame(rows)


def _to_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=None if rows else HISTORY_COLUMNS)
    if rows:
        frame = frame.astype(
            {"episode": "int64", "env_step": "int64", "steps": "int64", "reward": "float64"}
        )
    return frame
