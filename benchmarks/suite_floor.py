"""The matmul floor of a DQN suite on this machine: the time its matrix products alone would take.

Counts, for every DQN variant of the suite (``--runs`` x ``--steps`` each, default the suite's
own), the floating-point operations of the matrix products of its updates: the online and target
forward passes of every update (and Double DQN's second online pass), plus the backward pass of
every update that takes a gradient step (none while the learning rate is exactly 0, as the
CartPole preset's is after 70k steps). Then it times one ``size x size x size`` product on one
thread (``size``: the widest hidden layer) and divides: the seconds on ``--workers`` cores if
every core did nothing but matrix products at that rate. No training runs; it takes seconds.

    python benchmarks/suite_floor.py                               # cartpole-ablation, 2 cores
    python benchmarks/suite_floor.py --suite cartpole-beyond --workers 2
    python benchmarks/suite_floor.py --runs 10 --steps 100000 --workers 2

A suite's wall time cannot go below this floor on this machine without changing what it
computes (a narrower network, a smaller batch, fewer updates): compare it with ``rlladder run``'s
own wall time for the share that is overhead (env steps, Python, small products).
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from ensemble import matmul_rate, update_flops  # noqa: E402 - benchmarks/ensemble.py

import rlladder as rl  # noqa: E402
from rlladder.experiments.suites import get_suite  # noqa: E402


def run_flops(agent: rl.DQN, steps: int) -> tuple[float, int, int]:
    """FLOPs of one run's matrix products; its updates, and those that took a gradient step."""
    cfg = agent.config
    updates = stepped = 0
    for t in range(1, steps + 1):
        if cfg.updates_at(t):
            updates += cfg.gradient_steps
            if agent.lr_schedule(t) > 0:
                stepped += cfg.gradient_steps
    flops = stepped * update_flops(agent) + (updates - stepped) * update_flops(
        agent, backward=False
    )
    return flops, updates, stepped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="cartpole-ablation")
    parser.add_argument("--runs", type=int, default=None, help="default: the suite's")
    parser.add_argument("--steps", type=int, default=None, help="default: the suite's")
    parser.add_argument("--workers", type=int, default=2, help="cores doing products at once")
    args = parser.parse_args()
    torch.set_num_threads(1)
    experiment = get_suite(args.suite)
    if not isinstance(experiment, rl.Experiment) or experiment.steps is None:
        parser.error(f"suite {args.suite!r} is not one experiment with a steps= budget")
    runs = args.runs or experiment.runs
    steps = args.steps or experiment.steps
    env = experiment.make_env()
    total, widest = 0.0, 1
    print(f"{args.suite}: {runs} runs x {steps:,} env steps per variant")
    for label, variant in experiment.variants.items():
        agent = variant.make(env, seed=0)
        if not isinstance(agent, rl.DQN):
            print(f"  {label}: not a DQN, not counted")
            continue
        flops, updates, stepped = run_flops(agent, steps)
        total += runs * flops
        widest = max(widest, *agent.config.hidden_sizes)
        print(
            f"  {label:<24} {updates:>7,} updates ({stepped:,} with a gradient step), "
            f"{flops / 1e12:6.3f} TFLOP per run"
        )
    rate = matmul_rate(1, widest, torch.device("cpu"))
    floor = total / (rate * args.workers)
    print(
        f"total {total / 1e12:.1f} TFLOP; one {widest}^3 product runs at {rate / 1e9:.1f} GFLOP/s "
        f"on one thread here; floor on {args.workers} cores: {floor:.0f} s ({floor / 60:.1f} min)"
    )


if __name__ == "__main__":
    main()
