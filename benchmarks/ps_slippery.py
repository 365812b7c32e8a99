"""How well can two-layer Projective Simulation do on *slippery* FrozenLake? A small sweep.

On slippery FrozenLake-v1 (4x4) a move goes the intended way only one time in three, and the best
policy reaches the goal about 74% of the time. Q-learning gets there (its preset, within 2000
episodes); PS with the course notebook's settings stays near random. This script studies PS's three
knobs, single-threaded:

* glow damping ``eta``: how far back along the episode a reward reaches;
* h damping ``gamma``: how fast h-values forget back towards 1;
* the hopping policy: ``h / sum(h)`` ("linear") or ``softmax(beta * h)``.

For each setting it trains ``--runs`` agents for ``--episodes`` episodes (the env's own 100-step
limit) and reports the success rate of PS's own stochastic policy over the last 200 training
episodes, and the greedy success rate (``argmax h``, ``rl.evaluate`` over ``--eval`` episodes), as
mean over runs [min, max]. The Q-learning preset and a uniformly random policy are measured the
same way for reference. Then the best settings train for ``--long-episodes`` to see whether more
data alone closes the gap. Prints a Markdown table (the README quotes it)::

    OMP_NUM_THREADS=1 python benchmarks/ps_slippery.py            # ~6 minutes on one core
    OMP_NUM_THREADS=1 python benchmarks/ps_slippery.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import gymnasium as gym
import numpy as np

import rlladder as rl


class Uniform(rl.Agent):
    """The random-policy baseline."""

    def act(self, obs, *, explore=True):
        return int(self.rng.integers(self.action_space.n))

    def learn(self, transition):
        return {}


def measure(agent_name: Any, hp: dict, runs: int, episodes: int, eval_episodes: int) -> dict:
    env = gym.make("FrozenLake-v1", is_slippery=True)
    training, greedy = [], []
    for run in range(runs):
        agent = rl.make_agent(agent_name, env, seed=run, **hp)
        history = rl.train(agent, env, episodes=episodes, seed=run)
        training.append(history["reward"].tail(200).mean())
        scores = rl.evaluate(agent, env, episodes=eval_episodes, seed=100_000 + run)
        greedy.append(scores["reward"].mean())
    return {"training": np.array(training), "greedy": np.array(greedy)}


def describe(hp: dict) -> str:
    policy = hp.get("policy", "linear")
    policy = f"softmax beta={hp['beta']:g}" if policy == "softmax" else "h/sum h"
    return f"{policy}, gamma={hp['gamma']:g}, eta={hp['eta']:g}"


def cell(x: np.ndarray) -> str:
    return f"{x.mean():.3f} [{x.min():.2f}, {x.max():.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=2000)
    parser.add_argument("--eval", type=int, default=1000)
    parser.add_argument("--long-episodes", type=int, default=20_000)
    parser.add_argument("--long-runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="a few settings, few runs")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.episodes, args.eval, args.long_episodes, args.long_runs = (
            2,
            300,
            100,
            600,
            1,
        )

    policies = [{"policy": "linear"}] + [
        {"policy": "softmax", "beta": b}
        for b in ((0.3, 1.0, 3.0, 10.0) if not args.quick else (3.0,))
    ]
    gammas = (0.0, 1e-4, 1e-3) if not args.quick else (0.0,)
    etas = (0.002, 0.005, 0.01, 0.04, 0.2) if not args.quick else (0.04,)
    grid = [{**p, "gamma": g, "eta": e} for p, g, e in itertools.product(policies, gammas, etas)]
    grid += [
        {"policy": "linear", "gamma": 1e-7, "eta": 0.006},  # the notebook's second setting
        {"policy": "linear", "gamma": 0.0, "eta": 1.0},  # no glow: only the last edge learns
    ]

    print(
        f"Slippery FrozenLake-v1 4x4, {args.runs} runs x {args.episodes} episodes, "
        f"greedy success over {args.eval} episodes; mean [min, max] over runs\n"
    )
    header = "| agent | settings | success, last 200 training episodes | greedy success |"
    print(header + "\n|---|---|---|---|")
    rows = []
    start = time.perf_counter()
    for name, hp, label in [
        (Uniform, {}, "uniform random policy"),
        ("q-learning", {}, "preset (decaying eta and epsilon)"),
    ]:
        r = measure(name, hp, args.runs, args.episodes, args.eval)
        title = name if isinstance(name, str) else "random"
        print(f"| {title} | {label} | {cell(r['training'])} | {cell(r['greedy'])} |", flush=True)
    for hp in grid:
        r = measure("ps", hp, args.runs, args.episodes, args.eval)
        rows.append((hp, r))
        print(f"| ps | {describe(hp)} | {cell(r['training'])} | {cell(r['greedy'])} |", flush=True)

    best = sorted(rows, key=lambda row: -row[1]["greedy"].mean())[:2]
    print(
        f"\nThe two best by greedy success, {args.long_runs} runs x {args.long_episodes} episodes:\n"
    )
    print(header + "\n|---|---|---|---|")
    for hp, _ in best:
        r = measure("ps", hp, args.long_runs, args.long_episodes, args.eval)
        print(f"| ps | {describe(hp)} | {cell(r['training'])} | {cell(r['greedy'])} |", flush=True)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
