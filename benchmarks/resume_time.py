"""A DQN experiment stopped at about 60% of its time goes on from its checkpoints: how long the
rest takes, against the whole run, and that it ends equal to it.

Three runs of one experiment (the ``dqn`` preset on CartPole, ``--runs`` runs of ``--steps``
env steps, trained as ensembles on the process backend, greedy evaluations on):

1. uninterrupted, into folder A: time ``T``;
2. into folder B, stopped at ``--at`` x ``T`` by what Ctrl-C does (the stop file,
   :func:`rlladder.experiments.run_checkpoints.request_stop`): every group writes its
   checkpoint and the experiment raises ``KeyboardInterrupt``;
3. the same call into B again, which goes on from the checkpoints: time ``R``.

It prints ``T``, the stop, ``R`` and ``R / T`` (the goal: under 0.5 for a stop at 60%), and checks
that B's results and evaluations equal A's exactly. The process pool is warmed up first, so
no run pays for starting it.

    python benchmarks/resume_time.py
    python benchmarks/resume_time.py --runs 4 --steps 30000 --at 0.6
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pandas as pd  # noqa: E402
from machine import cpu_model  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.experiments.run_checkpoints import CHECKPOINTS_DIR, STOP_FILE  # noqa: E402


def run(exp: rl.Experiment, out: Path, workers: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return rl.run_experiment(
        exp, backend="process", workers=workers, out=out, progress=False, return_evaluations=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--at", type=float, default=0.6, help="stop at this share of T")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}; {args.workers} workers, one torch thread each", flush=True)
    exp = rl.Experiment(
        name="resume-time",
        env="CartPole-v1",
        variants={"dqn": rl.Variant("dqn")},
        runs=args.runs,
        steps=args.steps,
        eval_episodes=5,
        eval_every=args.steps // 4,
        seed=0,
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        run(exp.replace(runs=1, steps=200, eval_every=None, eval_episodes=None), root / "warm", 1)
        start = time.perf_counter()
        whole = run(exp, root / "A", args.workers)
        total = time.perf_counter() - start
        stop_at = args.at * total

        def press_ctrl_c() -> None:
            (root / "B" / CHECKPOINTS_DIR).mkdir(parents=True, exist_ok=True)
            (root / "B" / CHECKPOINTS_DIR / STOP_FILE).touch()

        timer = threading.Timer(stop_at, press_ctrl_c)
        start = time.perf_counter()
        timer.start()
        try:
            run(exp, root / "B", args.workers)
            raise SystemExit("the experiment finished before the stop: use a larger --steps")
        except KeyboardInterrupt:
            stopped = time.perf_counter() - start
        finally:
            timer.cancel()
        saved = len(list((root / "B" / CHECKPOINTS_DIR).glob("*.ckpt.npz")))
        start = time.perf_counter()
        resumed = run(exp, root / "B", args.workers)
        rest = time.perf_counter() - start
        pd.testing.assert_frame_equal(resumed[0], whole[0])
        pd.testing.assert_frame_equal(resumed[1], whole[1])
    print(
        f"{args.runs} runs x {args.steps:,} steps of dqn on CartPole-v1 (ensembles, process): "
        f"uninterrupted T = {total:.1f} s; stop asked at {stop_at:.1f} s ({args.at:.0%}), "
        f"stopped after {stopped:.1f} s with {saved} checkpoints; the resume took "
        f"R = {rest:.1f} s, R/T = {rest / total:.2f} (goal < 0.5); results and evaluations "
        "equal to the uninterrupted run's",
        flush=True,
    )


if __name__ == "__main__":
    main()
