"""What per-episode TensorBoard logging costs: the same training with and without it.

Two workloads, each trained the same way twice per pair, once with TensorBoard logging and once
without, in alternating order (so a machine that speeds up or slows down during the run weighs
on both sides alike); the figure is the median ratio of the pairs' wall times (1.00 = no cost),
with the results checked equal:

* the CartPole preset: ``rl.train`` of the tuned DQN for ``--dqn-steps`` env steps, with
  ``rl.loggers.TensorBoard`` as its callback;
* the FrozenLake suite: ``rl.run_experiment("frozenlake")`` on the serial backend (60 runs of
  500 episodes), with ``log=`` a TensorBoard folder: one tracker per run, as ``--tensorboard``
  does.

    python benchmarks/tracking_overhead.py
    python benchmarks/tracking_overhead.py --pairs 5 --dqn-steps 10000
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from machine import cpu_model  # noqa: E402
from pairs import alternating_pairs  # noqa: E402

import rlladder as rl  # noqa: E402


def cartpole(steps: int) -> Callable[[str | None], pd.DataFrame]:
    def train(folder: str | None) -> pd.DataFrame:
        env = gym.make("CartPole-v1")
        agent = rl.make_agent("dqn", env, seed=0)
        callbacks = [] if folder is None else [rl.loggers.TensorBoard(folder)]
        return rl.train(agent, env, steps=steps, seed=1, callbacks=callbacks)

    return train


def frozenlake_suite(folder: str | None) -> pd.DataFrame:
    log = None if folder is None else rl.loggers.Tracking(tensorboard=folder)
    return rl.run_experiment("frozenlake", backend="serial", progress=False, log=log)


def measure(label: str, work: Callable[[str | None], pd.DataFrame], pairs: int) -> float:
    ratio, plain, logged, ratios = alternating_pairs(work, pairs)
    print(
        f"{label}: without {plain:.2f} s, with TensorBoard {logged:.2f} s (medians of {pairs}); "
        f"ratio {ratio:.3f} (pairs: {', '.join(f'{r:.3f}' for r in ratios)})",
        flush=True,
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--dqn-steps", type=int, default=5_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CPU: {cpu_model()}; torch {torch.__version__}, one thread", flush=True)
    measure(f"CartPole preset DQN, {args.dqn_steps:,} steps", cartpole(args.dqn_steps), args.pairs)
    measure("FrozenLake suite (60 runs x 500 episodes, serial)", frozenlake_suite, args.pairs)


if __name__ == "__main__":
    main()
