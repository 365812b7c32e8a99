"""Speed-up of the process backend over the serial one, measured in the same run.

    python benchmarks/parallel.py                 # 2 workers, tabular and DQN experiments
    python benchmarks/parallel.py --workers 4 --repeat 3

For each experiment the serial backend is timed first, then the process backend with
``--workers`` processes; the script prints the ratio serial time / process time (ideal: the
number of workers, if the machine's cores are free), and checks that both gave the same
DataFrame. The process backend pays for starting its workers (loky's fresh interpreters and
their imports; a later experiment reuses them), so tiny experiments gain less. Figures are
ratios, so they compare across machines; the machine's load during the run matters (others' jobs
take cores away), so it is printed too.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402

import rlladder as rl  # noqa: E402

TABULAR = rl.Experiment(
    name="tabular",
    env="FrozenLake-v1",
    env_kwargs={"is_slippery": True},
    variants={"Q-learning": rl.Variant("q-learning"), "PS": rl.Variant("ps")},
    runs=8,
    episodes=5000,
    max_episode_steps=99,
    seed=0,
)

DQN = rl.Experiment(
    name="dqn",
    env="CartPole-v1",
    variants={"DQN": rl.Variant("dqn")},
    runs=6,
    steps=8000,
    seed=0,
)


def timed(exp: rl.Experiment, backend: str, workers: int | None) -> tuple[float, pd.DataFrame]:
    start = time.perf_counter()
    results = rl.run_experiment(exp, backend=backend, workers=workers, progress=False)
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="take the best of this many timings")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{'experiment':<10} {'tasks':>5} {'serial s':>9} {'process s':>10} {'speed-up':>9}")
    for exp in (TABULAR, DQN):
        serial_times, process_times = [], []
        for _ in range(args.repeat):
            seconds, serial = timed(exp, "serial", None)
            serial_times.append(seconds)
            seconds, parallel = timed(exp, "process", args.workers)
            process_times.append(seconds)
            pd.testing.assert_frame_equal(serial, parallel)  # the same numbers, only faster
        best_serial, best_process = min(serial_times), min(process_times)
        tasks = len(exp.variants) * exp.runs
        print(
            f"{exp.name:<10} {tasks:>5} {best_serial:>9.2f} {best_process:>10.2f} "
            f"{best_serial / best_process:>8.2f}x"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f} (process backend: {args.workers} workers)")


if __name__ == "__main__":
    main()
