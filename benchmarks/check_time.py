"""How long ``rl.check_agent("dqn")`` takes on one torch thread (the goal: under 60 s).

    python benchmarks/check_time.py            # prints the seconds and the CPU

Run it on an otherwise idle machine: the figure is for one core.
"""

from __future__ import annotations

import time

import torch
from machine import cpu_model

import rlladder as rl


def main() -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    report = rl.check_agent("dqn")
    seconds = time.perf_counter() - start
    print(report)
    print(f"rl.check_agent('dqn'): {seconds:.1f} s on one torch thread, {cpu_model()}")
    if not report.passed:
        raise SystemExit("the check failed: the time is not a valid figure")


if __name__ == "__main__":
    main()
