"""Calibrate the planner's cost model on this machine, and compare the plans of a suite.

The runner cuts each DQN rung's runs into ensemble groups by what they cost
(:mod:`rlladder.experiments.planning`). Its model has five constants; this script measures them
with short runs on CartPole-v1, one torch thread, ``--steps`` env steps each:

1. one run of the ``dqn`` preset that never updates and always acts greedily
   (``learning_starts`` = the budget, ``epsilon`` 0): ``step_s``;
2. one run of ``dqn-vanilla`` (an update a step on the latest transition) and one of ``dqn``
   (an update a step after 1,000, on a batch of 128): two equations in ``update_s`` (an
   update's fixed cost) and ``flop_s`` (seconds per FLOP of its products);
3. ensembles of 1 and ``--members`` ``dqn-vanilla`` members (``train_seeds``), whose updates are
   nearly all overhead: the line ``group_base + group_per_member * m`` through the two points;
4. ensembles of 1 and ``--members`` ``dqn`` members, predicted by the fitted model and timed:
   the check.

Then, for ``--suite`` with ``--runs`` x ``--suite-steps`` on ``--workers`` workers, it prints the
predicted wall time of the count-based plan (before: ``ceil(workers / variants)`` groups a
variant, in the variants' order) and of the cost-based plan (now), against the work divided by
the workers (no worker idle).

    python benchmarks/planning_costs.py                         # 3,000 steps, 5 members
    python benchmarks/planning_costs.py --steps 2000 --members 4 --suite-steps 20000
"""

from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.deep.ensemble import train_seeds  # noqa: E402
from rlladder.experiments.planning import (  # noqa: E402
    CostModel,
    Job,
    balance,
    lpt_makespan,
    run_steps,
    update_flops,
)
from rlladder.experiments.runner import ensemble_trainer  # noqa: E402
from rlladder.experiments.suites import get_suite  # noqa: E402


def solo_seconds(name: str, steps: int, **hyperparameters: object) -> tuple[float, rl.Agent]:
    """Wall time of one ``rl.train`` of preset ``name`` for ``steps`` steps; the agent."""
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(name, env, seed=0, **hyperparameters)
    start = time.perf_counter()
    rl.train(agent, env, steps=steps, seed=0)
    return time.perf_counter() - start, agent


def ensemble_seconds(name: str, steps: int, members: int) -> float:
    """Wall time of ``members`` runs of preset ``name`` trained as one ensemble."""
    start = time.perf_counter()
    train_seeds(
        name, lambda: gym.make("CartPole-v1"), [(k, k) for k in range(members)], steps=steps
    )
    return time.perf_counter() - start


def fit(steps: int, members: int) -> CostModel:
    """Measure and fit the five constants, then check them on ``dqn`` ensembles (printing all)."""
    act, _ = solo_seconds("dqn", steps, learning_starts=steps, epsilon=0.0)
    vanilla, v_agent = solo_seconds("dqn-vanilla", steps)
    dqn, d_agent = solo_seconds("dqn", steps)
    step_s = act / steps
    v_updates = steps - v_agent.config.learning_starts
    d_updates = steps - d_agent.config.learning_starts
    v_per = (vanilla - act) / v_updates
    d_per = (dqn - act) / d_updates
    v_flops, d_flops = update_flops(v_agent), update_flops(d_agent)
    flop_s = (d_per - v_per) / (d_flops - v_flops)
    update_s = v_per - v_flops * flop_s
    print(
        f"solo, {steps} steps: greedy acting only {act:.2f} s, dqn-vanilla {vanilla:.2f} s, "
        f"dqn {dqn:.2f} s -> step {1e6 * step_s:.0f} us, update {1e6 * update_s:.0f} us + "
        f"{d_flops / 1e6:.1f} MFLOP (dqn) / {v_flops / 1e6:.3f} MFLOP (vanilla) at "
        f"{1e-9 / flop_s:.1f} GFLOP/s",
        flush=True,
    )
    # an ensemble of m: m * own + (base + per * m) * shared; solve for base + per * m at m = 1, M
    own = steps * step_s + v_updates * v_flops * flop_s
    shared = v_updates * update_s
    times = {m: ensemble_seconds("dqn-vanilla", steps, m) for m in (1, members)}
    factor = {m: (t - m * own) / shared for m, t in times.items()}
    per = (factor[members] - factor[1]) / (members - 1)
    model = CostModel(step_s, update_s, flop_s, factor[1] - per, per)
    print(
        f"dqn-vanilla ensembles: 1 member {times[1]:.2f} s, {members} members "
        f"{times[members]:.2f} s -> update overhead ({model.group_base:.2f} + {per:.3f} m) x solo",
        flush=True,
    )
    cost = model.run_cost(d_agent, steps)
    for m in (1, members):
        measured = ensemble_seconds("dqn", steps, m)
        print(
            f"check, dqn ensemble of {m}: {measured:.2f} s, predicted "
            f"{model.group_cost(cost, m):.2f} s (solo run {dqn:.2f} s, predicted {cost.solo:.2f})",
            flush=True,
        )
    return model


def count_based(jobs: list[Job], workers: int, model: CostModel) -> list[float]:
    """The task costs of the count-based plan (main before cost planning), in its order."""
    per_variant = math.ceil(workers / len(jobs))
    costs = []
    for job in jobs:
        for chunk in np.array_split(np.array(job.runs), min(per_variant, len(job.runs))):
            costs.append(model.group_cost(job.run_cost, len(chunk)))
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3_000, help="env steps of each timed run")
    parser.add_argument("--members", type=int, default=5, help="the larger ensemble timed")
    parser.add_argument("--suite", default="cartpole-ablation")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--suite-steps", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if args.steps <= 1_000 or args.members < 2:
        parser.error("--steps must exceed dqn's learning_starts (1000) and --members be >= 2")
    torch.set_num_threads(1)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", flush=True)
    model = fit(args.steps, args.members)
    print(model, flush=True)
    print(f"{args.suite}, {args.runs} runs x {args.suite_steps} steps, {args.workers} workers")

    exp = get_suite(args.suite).replace(runs=args.runs, steps=args.suite_steps)
    pinned = exp.pinned()
    env = exp.make_env()
    steps, eval_steps = run_steps(pinned, pinned.max_episode_steps or env.spec.max_episode_steps)
    agents = {label: v.make(env, seed=0) for label, v in pinned.variants.items()}
    jobs = [
        Job(label, tuple(range(args.runs)), model.run_cost(agent, steps, eval_steps), True)
        for label, agent in agents.items()
        if ensemble_trainer(agent) is not None
    ]
    for job in jobs:
        print(f"  {job.label}: {job.run_cost.solo:.1f} s a solo run (predicted)")
    before = count_based(jobs, args.workers, model)
    plan = balance(jobs, args.workers, model)
    for name, costs, makespan in (
        ("count-based", before, lpt_makespan(before, args.workers)),
        ("cost-based", [t.cost for t in plan.tasks], plan.makespan),
    ):
        work = sum(costs)
        idle = 1 - work / (args.workers * makespan)
        print(
            f"{name}: tasks {', '.join(f'{c:.0f}' for c in costs)} s -> predicted wall "
            f"{makespan:.0f} s, work / workers {work / args.workers:.0f} s, workers idle "
            f"{100 * idle:.0f}% of the wall time",
            flush=True,
        )
    print("cost-based groups:", [(t.label, len(t.runs)) for t in plan.tasks])


if __name__ == "__main__":
    main()
