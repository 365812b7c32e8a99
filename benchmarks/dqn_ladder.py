"""The DQN ladder on CartPole-v1: each rung, several seeds, the same CartPole preset.

    python benchmarks/dqn_ladder.py --seeds 5 --steps 100000

Every rung (dqn-vanilla, dqn-replay, dqn-target, dqn) shares the CartPole preset and differs
only in its switches, so the table shows what each idea buys: the final 100-episode training
average, the env steps until the 100-episode training average first reaches 475, and the
greedy score over 100 episodes after training.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dqn_cartpole import run_many  # noqa: E402

RUNGS = ["dqn-vanilla", "dqn-replay", "dqn-target", "dqn"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--rungs", nargs="*", default=RUNGS)
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel")
    args = parser.parse_args()
    all_rows = run_many(args.rungs, range(args.seeds), args.steps, {}, args.workers)
    table = []
    for rung in args.rungs:
        rows = [r for r in all_rows if r["agent"] == rung]
        solved = [r["steps_to_475"] for r in rows if r["steps_to_475"] is not None]
        table.append(
            (
                rung,
                statistics.mean(r["final_train_avg100"] for r in rows),
                statistics.median(r["final_train_avg100"] for r in rows),
                f"{len(solved)}/{len(rows)}",
                f"{statistics.median(solved):.0f}" if solved else "-",
                statistics.median(r["greedy_score"] for r in rows),
            )
        )
    print(f"\nCartPole-v1, {args.seeds} seeds x {args.steps} env steps per rung")
    print(
        f"{'rung':<12} {'avg100 mean':>11} {'avg100 median':>13} {'reached 475':>11} "
        f"{'median steps':>12} {'greedy median':>13}"
    )
    for rung, mean, med, solved, steps, greedy in table:
        print(f"{rung:<12} {mean:>11.1f} {med:>13.1f} {solved:>11} {steps:>12} {greedy:>13.1f}")


if __name__ == "__main__":
    main()
