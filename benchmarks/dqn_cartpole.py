"""Sample efficiency of DQN on CartPole-v1: how many env steps until it balances the pole.

For each seed: train for ``--steps`` env steps, then play 100 greedy episodes. Reported per seed:
the env step at which the 100-episode moving average of the *training* return first reaches 475
(CartPole-v1's "solved" line; training returns include exploration), and the final greedy score.

    python benchmarks/dqn_cartpole.py --seeds 10 --steps 100000          # the `dqn` preset
    python benchmarks/dqn_cartpole.py --agent dqn-target --seeds 3 --set learning_rate=5e-4
    python benchmarks/dqn_cartpole.py --seeds 50 --members-per-group 25 --workers 2

Each run uses one torch thread; ``--workers N`` runs N seeds at once in separate processes
(the figures do not depend on it; the wall time per run does, on a busy machine).
``--members-per-group G`` trains the seeds G at a time as one batched ensemble
(``rlladder.deep.ensemble``): the same figures, number for number, in far less time; each
group's wall time is shared out among its members.
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
from rlladder.deep.ensemble import train_seeds  # noqa: E402

SOLVED = 475.0


def steps_to_solve(history, window: int = 100, threshold: float = SOLVED) -> int | None:
    """First env step where the mean return of the last ``window`` training episodes >= threshold."""
    if len(history) < window:
        return None
    avg = history["reward"].rolling(window).mean().to_numpy()
    hit = np.flatnonzero(avg >= threshold)
    return int(history["env_step"].iloc[hit[0]]) if hit.size else None


def figures(agent_name: str, seed: int, agent: rl.Agent, history, wall: float) -> dict:
    """The figures of one trained seed (its greedy score over 100 episodes included)."""
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


def run_seed(agent_name: str, seed: int, steps: int, overrides: dict) -> dict:
    """Train one seed and evaluate it; returns the figures for that seed."""
    torch.set_num_threads(1)
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(agent_name, env, seed=seed, **overrides)
    start = time.perf_counter()
    history = rl.train(agent, env, steps=steps, seed=seed)
    return figures(agent_name, seed, agent, history, time.perf_counter() - start)


def run_group(agent_name: str, seeds: list[int], steps: int, overrides: dict) -> list[dict]:
    """Train seeds as one ensemble (each exactly its solo run) and evaluate each."""
    torch.set_num_threads(1)
    start = time.perf_counter()
    trained = train_seeds(
        agent_name,
        lambda: gym.make("CartPole-v1"),
        [(s, s) for s in seeds],
        steps=steps,
        **overrides,
    )
    wall = (time.perf_counter() - start) / len(seeds)
    return [figures(agent_name, s, a, h, wall) for s, (a, h) in zip(seeds, trained, strict=True)]


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


def run_job(agent_name: str, seeds: list[int], steps: int, overrides: dict, ensemble: bool):
    """The figures of ``seeds``: trained as one ensemble, or one solo run each."""
    if ensemble:
        return run_group(agent_name, seeds, steps, overrides)
    return [run_seed(agent_name, s, steps, overrides) for s in seeds]


def run_many(
    agents, seeds, steps: int, overrides: dict, workers: int, members_per_group: int = 0
) -> list[dict]:
    """Every (agent, seed), ``workers`` jobs at a time; rows in (agent, seed) order, printed as
    done. A job is one seed, or with ``members_per_group`` that many seeds as one ensemble."""
    seeds = list(seeds)
    size = members_per_group or 1
    jobs = [
        (a, seeds[i : i + size], steps, overrides, members_per_group > 0)
        for a in agents
        for i in range(0, len(seeds), size)
    ]
    rows: list[dict] = []

    def done(result: list[dict]) -> None:
        for row in result:
            print_row(row)
            rows.append(row)

    if workers <= 1:
        for job in jobs:
            done(run_job(*job))
        return rows
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
        for future in [pool.submit(run_job, *job) for job in jobs]:
            done(future.result())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", default="dqn")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--set", nargs="*", default=[], help="hyperparameter overrides key=value")
    parser.add_argument("--workers", type=int, default=1, help="seeds run in parallel")
    parser.add_argument(
        "--members-per-group",
        type=int,
        default=0,
        help="train the seeds this many at a time as one batched ensemble (0: one by one)",
    )
    args = parser.parse_args()
    if args.members_per_group < 0:
        parser.error("--members-per-group must be 0 (solo runs) or more")
    rows = run_many(
        [args.agent],
        range(args.first_seed, args.first_seed + args.seeds),
        args.steps,
        parse_overrides(args.set),
        args.workers,
        args.members_per_group,
    )
    print(summarize(rows, args.steps))


if __name__ == "__main__":
    main()
