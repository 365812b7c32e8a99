"""How much does watching training live slow it down?

Trains the same agent twice in this run, with and without ``rl.plots.LivePlot()`` at its default
refresh (writing a PNG, as in a headless script; a notebook encodes the same PNG), and prints the
seconds of each and the ratio watched / plain. Two workloads: tabular Q-learning on slippery
FrozenLake (very cheap episodes, the worst case for a per-episode callback) and, if the deep agents
are installed, DQN on CartPole. Run it with::

    OMP_NUM_THREADS=1 python benchmarks/live_plot.py [--repeats 3] [--seconds 20]

Each timing is the best of ``--repeats`` (the machine may be shared; the minimum is the least
disturbed measurement); plain and watched alternate so both see the same load.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import torch

import rlladder as rl
from rlladder.plots.live import LivePlot


def tabular_run(episodes: int) -> Callable[[list], object]:
    env = gym.make("FrozenLake-v1", is_slippery=True)

    def run(callbacks: list) -> object:
        agent = rl.make_agent("q-learning", env, seed=0)
        return rl.train(agent, env, episodes=episodes, seed=0, callbacks=callbacks)

    return run


def dqn_run(steps: int) -> Callable[[list], object]:
    env = gym.make("CartPole-v1")

    def run(callbacks: list) -> object:
        agent = rl.make_agent("dqn", env, seed=0)
        return rl.train(agent, env, steps=steps, seed=0, callbacks=callbacks)

    return run


def best_of(repeats: int, run: Callable[[list], object], folder: Path) -> tuple[float, float, int]:
    plain, watched, draws = float("inf"), float("inf"), 0
    for i in range(repeats):
        start = time.perf_counter()
        run([])
        plain = min(plain, time.perf_counter() - start)
        live = LivePlot(mode="file", path=folder / f"live{i}.png")
        start = time.perf_counter()
        run([live])
        watched = min(watched, time.perf_counter() - start)
        draws = live.draws
    return plain, watched, draws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--episodes", type=int, default=20_000, help="tabular episodes")
    parser.add_argument("--steps", type=int, default=10_000, help="DQN env steps")
    args = parser.parse_args()
    torch.set_num_threads(1)
    workloads = {f"q-learning FrozenLake, {args.episodes} episodes": tabular_run(args.episodes)}
    if "dqn" in rl.list_agents():
        workloads[f"dqn CartPole, {args.steps} steps"] = dqn_run(args.steps)
    print(f"{'workload':42s} {'plain s':>8s} {'live s':>8s} {'draws':>6s} {'live/plain':>10s}")
    with tempfile.TemporaryDirectory() as folder:
        for name, run in workloads.items():
            plain, watched, draws = best_of(args.repeats, run, Path(folder))
            print(f"{name:42s} {plain:8.2f} {watched:8.2f} {draws:6d} {watched / plain:10.3f}")


if __name__ == "__main__":
    main()
