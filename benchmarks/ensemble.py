"""Wall time of M seeds trained as one DQN ensemble, against one solo run, in the same run.

Fixed work: ``--steps`` CartPole-v1 env steps of the ``--agent`` preset (default ``dqn``), one
torch thread. First one solo run (``rl.train``, agent seed 0, env seed 0), then for each
``--members`` M an ensemble of M members (agent seeds 0..M-1, env seeds 0..M-1) through
``rlladder.deep.ensemble.train_seeds``. Member 0 has the solo run's seeds, so its history must
equal the solo history: the script checks it. For each M it prints the ensemble's wall time,
its ratio to the solo run's, and the physical limit: the matrix products of one update (online
and target forward passes, backward pass; FLOPs counted from the network's shape) timed as one
batched product of the preset's size, per env step.

    python benchmarks/ensemble.py                          # 10 members x 20k steps vs 1 solo run
    python benchmarks/ensemble.py --members 1 10 100 --steps 5000
    python benchmarks/ensemble.py --device cuda --members 1 10 100
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.deep.ensemble import train_seeds  # noqa: E402
from rlladder.experiments.planning import update_flops  # noqa: E402


def matmul_rate(members: int, size: int, device: torch.device, repeats: int = 200) -> float:
    """FLOP/s of one batched ``(members, size, size) @ (members, size, size)`` product."""
    a = torch.randn(members, size, size, device=device)
    b = torch.randn(members, size, size, device=device)
    for _ in range(10):
        torch.bmm(a, b)
    best = float("inf")
    for _ in range(5):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(repeats):
            torch.bmm(a, b)
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2.0 * members * size**3 / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[10])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--agent", default="dqn")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.steps < 1 or min(args.members) < 1:
        parser.error("--steps and every --members must be at least 1")
    torch.set_num_threads(1)
    device = torch.device(args.device)
    load = os.getloadavg()
    print(
        f"CartPole-v1, {args.agent} preset, {args.steps} env steps, 1 torch thread, device "
        f"{device}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )

    env = gym.make("CartPole-v1")
    solo = rl.make_agent(args.agent, env, seed=0, device=args.device)
    start = time.perf_counter()
    solo_history = rl.train(solo, env, steps=args.steps, seed=0)
    solo_s = time.perf_counter() - start
    print(f"solo run: {solo_s:.1f} s ({1e3 * solo_s / args.steps:.2f} ms per env step)", flush=True)

    flops = update_flops(solo)
    updates = sum(1 for t in range(1, args.steps + 1) if solo.config.updates_at(t))
    updates *= solo.config.gradient_steps
    for members in args.members:
        seeds = [(k, k) for k in range(members)]
        start = time.perf_counter()
        results = train_seeds(
            args.agent, lambda: gym.make("CartPole-v1"), seeds, steps=args.steps, device=args.device
        )
        wall = time.perf_counter() - start
        same = results[0][1].equals(solo_history)
        pd.testing.assert_frame_equal(results[0][1], solo_history)
        rate = matmul_rate(members, max(solo.config.hidden_sizes), device)
        bound = updates * members * flops / rate
        print(
            f"{members:>4} members: {wall:7.1f} s | ratio to one solo run {wall / solo_s:5.2f} | "
            f"{1e3 * wall / (members * args.steps):.3f} ms per member-step | matmul lower "
            f"bound {bound:6.1f} s ({flops / 1e6:.1f} MFLOP per member-update at "
            f"{rate / 1e9:.0f} GFLOP/s) | member 0 == solo run: {same}",
            flush=True,
        )


if __name__ == "__main__":
    main()
