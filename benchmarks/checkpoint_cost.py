"""What checkpointing runs in progress costs on the ladder, at the default period (3 minutes).

Two parts, measured apart and added up:

* **polling**: every step of an ensemble group (and every episode of a solo run) asks its
  :class:`~rlladder.experiments.run_checkpoints.Pause` whether to write; a clock read, and twice
  a second a look for the stop file. Measured as the ratio of the same training with and without
  it, in alternating pairs (median): a 5-member group of the ladder's ``+ Huber (DQN)`` rung
  (``train_ensemble``), and a FrozenLake Q-learning run (``rl.train``) with the runner's own
  checkpoint callback;
* **writing**: one checkpoint of a whole ladder group, 10 members, each with a *full* replay
  buffer (100,000 transitions, the preset's size), its env state and a 500-episode history,
  written with the runner's own ``write_checkpoint``; at the default period each group writes
  one every 180 s, in its own worker, so its share of the wall time is ``time / 180 s``.

    python benchmarks/checkpoint_cost.py
    python benchmarks/checkpoint_cost.py --pairs 5 --steps 4000
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.deep.ensemble import train_ensemble  # noqa: E402
from rlladder.experiments.run_checkpoints import (  # noqa: E402
    DEFAULT_EVERY_MINUTES,
    CheckpointPlan,
    Pause,
    write_checkpoint,
)
from rlladder.experiments.runner import RunTask, _SoloCheckpoint  # noqa: E402
from rlladder.loop import RunPosition  # noqa: E402

LADDER = "cartpole-ablation"
RUNG = "+ Huber (DQN)"


class Polling:
    """What the runner gives a group: the pause to check each step; nothing is ever written
    (no period, no stop file), so this is the polling alone."""

    def __init__(self, folder: str) -> None:
        self.check = Pause(CheckpointPlan(folder=folder, every_s=None)).check

    def save(self, positions: list[RunPosition]) -> None:  # never called: no period, no stop
        raise AssertionError("a checkpoint was written")


from machine import cpu_model  # noqa: E402
from pairs import alternating_pairs  # noqa: E402


def group(exp: rl.Experiment, members: int, steps: int) -> Callable[[str | None], object]:
    variant = exp.variants[RUNG]

    def train(folder: str | None) -> list[pd.DataFrame]:
        envs = [exp.make_env() for _ in range(members)]
        agents = [variant.make(env, seed=k) for k, env in enumerate(envs)]
        checkpoint = None if folder is None else Polling(folder)
        return train_ensemble(
            agents, envs, seeds=list(range(100, 100 + members)), steps=steps, checkpoint=checkpoint
        )

    return train


def solo(episodes: int) -> Callable[[str | None], object]:
    exp = rl.Experiment(
        env="FrozenLake-v1", variants={"q": rl.Variant("q-learning")}, episodes=episodes
    )

    def train(folder: str | None) -> pd.DataFrame:
        env = gym.make("FrozenLake-v1")
        agent = rl.make_agent("q-learning", env, seed=0)
        callbacks = []
        if folder is not None:
            task = RunTask(exp, 0, "q", 0, 0)
            plan = CheckpointPlan(folder=folder, every_s=None)
            callbacks.append(_SoloCheckpoint(task, plan, agent, env, None, None))
        return rl.train(agent, env, episodes=episodes, seed=1, callbacks=callbacks)

    return train


def pairs(label: str, work: Callable[[str | None], object], count: int) -> tuple[float, float]:
    """The median ratio of alternating pairs (with / without polling), and the median time
    without; a first run warms up (imports, allocator) and is not counted."""
    ratio, plain, polled, ratios = alternating_pairs(work, count, warm_up=True)
    print(
        f"polling, {label}: without {plain:.2f} s, with {polled:.2f} s; ratio {ratio:.4f} "
        f"(pairs: {', '.join(f'{r:.3f}' for r in ratios)})",
        flush=True,
    )
    return ratio, plain


def poll_seconds() -> float:
    """Seconds one ``Pause.check()`` takes, between two looks for the stop file (what nearly
    every call is) and with its look every ``POLL_S``, on average over a million calls."""
    with tempfile.TemporaryDirectory() as folder:
        check = Pause(CheckpointPlan(folder=folder, every_s=None)).check
        calls = 1_000_000
        start = time.perf_counter()
        for _ in range(calls):
            check()
        return (time.perf_counter() - start) / calls


def group_write(exp: rl.Experiment, members: int, repeats: int) -> tuple[float, int]:
    """Seconds to write one checkpoint of a ``members`` group of the rung (full buffers), and
    the bytes one member's file takes."""
    variant = exp.variants[RUNG]
    envs = [exp.make_env() for _ in range(members)]
    agents = [variant.make(env, seed=k) for k, env in enumerate(envs)]
    rng = np.random.default_rng(0)
    for agent, env in zip(agents, envs, strict=True):
        buffer = agent.buffer
        for name in ("obs", "next_obs", "rewards"):
            array = getattr(buffer, name)
            array[...] = rng.standard_normal(array.shape)  # incompressible, as real data is
        buffer.size, buffer.position = buffer.capacity, 0
        env.reset(seed=0)
    history = rl.train(
        rl.make_agent("q-learning", gym.make("FrozenLake-v1"), seed=0),
        gym.make("FrozenLake-v1"),
        episodes=500,
        seed=0,
    )
    obs = np.zeros(4, dtype=np.float32)
    times, size = [], 0
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeats):
            start = time.perf_counter()
            for k, (agent, env) in enumerate(zip(agents, envs, strict=True)):
                position = RunPosition(history, 50_000, rl.loop.EpisodeLog(None), obs)
                path = Path(folder) / f"member{k}.ckpt.npz"
                write_checkpoint(
                    path,
                    label=RUNG,
                    run=k,
                    seed=k,
                    identity={},
                    agent=agent,
                    env=env,
                    position=position,
                )
            times.append(time.perf_counter() - start)
            size = (Path(folder) / "member0.ckpt.npz").stat().st_size
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3_000, help="env steps of the group")
    parser.add_argument("--episodes", type=int, default=3_000, help="episodes of the solo run")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, one thread", flush=True)
    exp = rl.get_suite(LADDER)
    group_ratio, group_time = pairs(
        f"5-member '{RUNG}' group, {args.steps:,} steps", group(exp, 5, args.steps), args.pairs
    )
    solo_ratio, solo_time = pairs(
        f"FrozenLake Q-learning, {args.episodes:,} episodes", solo(args.episodes), args.pairs
    )
    per_call = poll_seconds()
    group_share = per_call * args.steps / group_time  # one check a step
    solo_share = per_call * args.episodes / solo_time  # one check an episode
    print(
        f"polling, counted: Pause.check() {per_call * 1e6:.3f} us a call; one a group step is "
        f"{100 * group_share:.3f}% of the group's time, one an episode {100 * solo_share:.3f}% "
        "of the FrozenLake run's (the pairs' ratios above are this plus the machine's noise)",
        flush=True,
    )
    seconds, size = group_write(exp, 10, 3)
    period = DEFAULT_EVERY_MINUTES * 60
    share = seconds / period
    print(
        f"writing: one checkpoint of a 10-member group (full 100k buffers) {seconds:.2f} s, "
        f"{size / 1e6:.1f} MB a member; at the default period ({period:.0f} s) "
        f"{100 * share:.2f}% of the wall time",
        flush=True,
    )
    print(
        f"total on the ladder's groups: {100 * (group_share + share):.2f}% of the wall time "
        f"(polling {100 * group_share:.3f}%, writing {100 * share:.2f}%; goal: at most 2%)",
        flush=True,
    )


if __name__ == "__main__":
    main()
