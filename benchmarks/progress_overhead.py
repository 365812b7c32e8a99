"""What the experiment-wide progress bar costs a run: ``rl.train`` with and without its reporter.

The reporter is the process backend's (a shared-memory slot, read by nobody here), hooked in as
the experiments runner hooks it: a training callback at each episode end; the per-step loop is
not touched. Each pair trains the same agent and seed twice, once each way, in alternating
order; the figure is the median ratio of the pairs' wall times (1.00 = no cost), with the
histories checked equal. On a busy machine that ratio is mostly noise, so the script also times
the callback alone and prints what it adds up to: episodes x cost of one call / plain time.

    python benchmarks/progress_overhead.py                 # tabular (FrozenLake) and DQN (CartPole)
    python benchmarks/progress_overhead.py --pairs 9 --dqn-steps 5000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.experiments.progress import ReportEpisodes, SharedMemorySlots  # noqa: E402


def timed_train(agent_name: str, env_id: str, env_kwargs: dict, steps: int, slots=None):
    env = gym.make(env_id, **env_kwargs)
    agent = rl.make_agent(agent_name, env, seed=0)
    callbacks = []
    report = None
    if slots is not None:
        report = slots.reporter(0)
        callbacks.append(ReportEpisodes(report, "step"))
    start = time.perf_counter()
    history = rl.train(agent, env, steps=steps, seed=1, callbacks=callbacks)
    wall = time.perf_counter() - start
    if report is not None:
        report.close()
    return wall, history


def measure(
    label: str, agent: str, env_id: str, env_kwargs: dict, steps: int, pairs: int, per_call: float
) -> None:
    ratios, plain_times, hooked_times = [], [], []
    slots = SharedMemorySlots(1)
    try:
        for pair in range(pairs):
            order = (False, True) if pair % 2 == 0 else (True, False)
            results = {}
            for hooked in order:
                results[hooked] = timed_train(
                    agent, env_id, env_kwargs, steps, slots if hooked else None
                )
            pd.testing.assert_frame_equal(results[False][1], results[True][1])
            plain_times.append(results[False][0])
            hooked_times.append(results[True][0])
            ratios.append(results[True][0] / results[False][0])
        reported = slots.totals()[0]
    finally:
        slots.close()
    episodes = len(results[False][1])
    plain = statistics.median(plain_times)
    print(
        f"{label}: {steps} steps, {episodes} episodes; plain {plain:.3f} s, with reporter "
        f"{statistics.median(hooked_times):.3f} s; median ratio {statistics.median(ratios):.3f} "
        f"(min {min(ratios):.3f}, max {max(ratios):.3f}); callback total "
        f"{episodes * per_call * 1e3:.2f} ms = {episodes * per_call / plain:.4%} of the run "
        f"(last total sent: {reported})"
    )


def callback_cost(calls: int = 200_000) -> float:
    """Seconds of one episode-end callback, as ``train`` calls it (sending, or not, as due)."""
    slots = SharedMemorySlots(1)
    try:
        callback = ReportEpisodes(slots.reporter(0), "step")
        record = {"episode": 0, "env_step": 10, "reward": 0.0, "steps": 10}
        callback(record, None)  # attach the block once
        start = time.perf_counter()
        for _ in range(calls):
            callback(record, None)
        per_call = (time.perf_counter() - start) / calls
        callback.report.close()
    finally:
        slots.close()
    print(f"one episode-end callback: {per_call * 1e9:.0f} ns")
    return per_call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--tabular-steps", type=int, default=50_000)
    parser.add_argument("--dqn-steps", type=int, default=2_000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    per_call = callback_cost()
    measure(
        "q-learning, slippery FrozenLake",
        "q-learning",
        "FrozenLake-v1",
        {"is_slippery": True},
        args.tabular_steps,
        args.pairs,
        per_call,
    )
    measure("dqn preset, CartPole", "dqn", "CartPole-v1", {}, args.dqn_steps, args.pairs, per_call)


if __name__ == "__main__":
    main()
