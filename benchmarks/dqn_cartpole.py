"""Sample efficiency of DQN on CartPole-v1: how many env steps until it balances the pole.

For each seed: train for ``--steps`` env steps, then play 100 greedy episodes. Reported per seed:
the env step at which the 100-episode moving average of the *training* return first reaches 475
(CartPole-v1's "solved" line; training returns include exploration), and the final greedy score.

    python benchmarks/dqn_cartpole.py --seeds 10 --steps 100000          # the `dqn` preset
    python benchmarks/dqn_cartpole.py --agent dqn-target --seeds 3 --set learning_rate=5e-4

Each run uses one torch thread; ``--workers N`` runs N seeds at once in separate processes
(the figures do not depend on it; the wall time per run does, on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402

SOLVED = 475.0


def steps_to_solve(history, window: int = 100, threshold: float = SOLVED) -> int | None:
    """First env step where the mean return of the last ``window`` training episodes >= threshold."""
    if len(history) < window:
        return None
    avg = history["reward"].rolling(window).mean().to_numpy()
    hit = np.flatnonzero(avg >= threshold)
    return int(history["env_step"].iloc[hit[0]]) if hit.size else None


def run_seed(agent_name: str, seed: int, steps: int, overrides: dict) -> dict:
    """Train one seed and evaluate it; returns the figures for that seed."""
    torch.set_num_threads(1)
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(agent_name, env, seed=seed, **overrides)
    start = time.perf_counter()
    history = rl.train(agent, env, steps=steps, seed=seed)
    wall = time.perf_counter() - start
    greedy = rl.evaluate(agent, gym.make("CartPole-v1"), episodes=100, seed=10_000 + seed)
    return {
        "agent": agent_name,
        "seed": seed,
        "steps_to_475": steps_to_solve(history),
        "final_train_avg100": float(history["reward"].tail(100).mean()),
        "greedy_score": float(greedy["reward"].mean()),
        "episodes": len(history),
        "wall_s": wall,
    }


def summarize(rows: list[dict], steps: int) -> str:
    """Median / spread of steps to 475 and how many seeds passed each bar."""
    solved = sorted(r["steps_to_475"] for r in rows if r["steps_to_475"] is not None)
    n = len(rows)
    lines = [
        f"agent={rows[0]['agent']}  seeds={n}  budget={steps} env steps",
        f"  reached 100-episode training average >= 475: {len(solved)}/{n}",
    ]
    if solved:
        q1, med, q3 = np.percentile(solved, [25, 50, 75]) if len(solved) > 1 else [solved[0]] * 3
        lines.append(
            f"  env steps to 475 (solved seeds): median {med:.0f}, IQR {q1:.0f}-{q3:.0f}, "
            f"range {solved[0]}-{solved[-1]}"
        )
    greedy = [r["greedy_score"] for r in rows]
    lines.append(
        f"  final greedy score (100 episodes) >= 475: {sum(g >= SOLVED for g in greedy)}/{n}; "
        f"median {statistics.median(greedy):.1f}, min {min(greedy):.1f}"
    )
    lines.append(
        "  final 100-episode training average: median "
        f"{statistics.median(r['final_train_avg100'] for r in rows):.1f}"
    )
    lines.append(
        f"  wall time per run: median {statistics.median(r['wall_s'] for r in rows):.1f} s"
    )
    return "\n".join(lines)


def parse_overrides(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def print_row(row: dict) -> None:
    print(
        f"{row['agent']} seed {row['seed']}: steps to 475 = {row['steps_to_475']}, final train "
        f"avg100 = {row['final_train_avg100']:.1f}, greedy = {row['greedy_score']:.1f}, "
        f"episodes = {row['episodes']}, wall = {row['wall_s']:.1f} s",
        flush=True,
    )


def run_many(agents, seeds, steps: int, overrides: dict, workers: int) -> list[dict]:
    """Every (agent, seed), ``workers`` at a time; rows in (agent, seed) order, printed as done."""
    jobs = [(a, s, steps, overrides) for a in agents for s in seeds]
    if workers <= 1:
        rows = []
        for job in jobs:
            rows.append(run_seed(*job))
            print_row(rows[-1])
        return rows
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        futures = [pool.submit(run_seed, *job) for job in jobs]
        for future in futures:
            print_row(future.result())
        return [f.result() for f in futures]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="dqn")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--set", nargs="*", default=[], help="hyperparameter overrides key=value")
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    args = parser.parse_args()
    rows = run_many(
        [args.agent],
        range(args.first_seed, args.first_seed + args.seeds),
        args.steps,
        parse_overrides(args.set),
        args.workers,
    )
    print(summarize(rows, args.steps))


if __name__ == "__main__":
    main()
