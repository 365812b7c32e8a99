"""The planner cuts ensemble variants into groups by what their runs cost, and balances workers.

Every test gives the costs (a :class:`CostModel` of round numbers, or :class:`Job` run costs), so
the plans are exact and deterministic; no test times anything.
"""

from __future__ import annotations

import itertools

import gymnasium as gym
import pytest

import rlladder as rl
from rlladder.experiments.planning import (
    DEFAULT_COSTS,
    CostModel,
    Job,
    RunCost,
    balance,
    lpt_makespan,
    run_steps,
    update_flops,
)
from rlladder.experiments.runner import GroupTask, RunTask, plan_tasks

#: a group of m costs (0.5 + 0.5 m) times its shared part: 10 members of RunCost(0, c) cost 5.5 c
HALF = CostModel(step_s=1.0, update_s=0.0, flop_s=0.0, group_base=0.5, group_per_member=0.5)


def shared(cost: float) -> RunCost:
    """A run whose cost an ensemble shares entirely."""
    return RunCost(own=0.0, shared=cost)


def every_run(plan) -> list[tuple[str, int]]:
    return sorted((task.label, run) for task in plan.tasks for run in task.runs)


def test_lpt_makespan_dispatches_each_task_to_the_first_free_worker():
    assert lpt_makespan([5, 4, 3, 3], workers=2) == 8  # 5 | 4, then 4+3 | 5+3
    assert lpt_makespan([3, 3, 2, 2, 2], workers=2) == 7
    assert lpt_makespan([1, 1, 1], workers=5) == 1
    assert lpt_makespan([], workers=2) == 0


def test_an_expensive_variant_is_split_more_than_a_cheap_one():
    jobs = [
        Job("cheap", tuple(range(10)), run_cost=shared(1.0), grouped=True),
        Job("dear", tuple(range(10)), run_cost=shared(10.0), grouped=True),
    ]
    plan = balance(jobs, workers=3, model=HALF)
    groups = {
        label: [t.runs for t in plan.tasks if t.label == label] for label in ("cheap", "dear")
    }
    assert groups == {
        "dear": [(0, 1, 2, 3), (4, 5, 6), (7, 8, 9)],
        "cheap": [(0, 1, 2, 3, 4), (5, 6, 7, 8, 9)],
    }
    # dear's groups cost 10 * (0.5 + 0.5 m): 25, 20, 20; cheap's 3 and 3 go to the two 20s
    assert [t.cost for t in plan.tasks] == [25, 20, 20, 3, 3]
    assert plan.makespan == 25 == plan.lower_bound
    # the count-based plan (two groups a variant, the cheap first) ended at 3 + 30 = 33
    assert lpt_makespan([3, 3, 30, 30], 3) == 33


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_every_pending_run_is_planned_once_within_the_list_scheduling_bound(workers):
    jobs = [
        Job("vanilla", (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), shared(1.0), grouped=True),
        Job(
            "replay", (0, 2, 3, 5, 6, 7, 8, 9), shared(7.0), grouped=True
        ),  # runs 1 and 4 were done
        Job("target", tuple(range(10)), shared(7.5), grouped=True),
        Job("lone", (4,), RunCost(4.0, 5.0), grouped=True),  # one pending run: a solo task
        Job("tabular", (0, 1, 2), RunCost(0.5), grouped=False),  # no ensemble: one task per run
    ]
    plan = balance(jobs, workers, HALF)
    assert every_run(plan) == sorted((j.label, r) for j in jobs for r in j.runs)
    assert not any(t.group for t in plan.tasks if t.label in ("lone", "tabular"))
    assert plan.work == pytest.approx(sum(t.cost for t in plan.tasks))
    longest = plan.tasks[0].cost
    assert plan.lower_bound == pytest.approx(max(plan.work / workers, longest))
    # list scheduling never leaves a worker idle while a task waits: Graham's bound
    assert plan.lower_bound <= plan.makespan <= plan.work / workers + longest * (1 - 1 / workers)
    # and cutting only ever helps: no worse than one group per variant, longest first
    uncut = [HALF.group_cost(j.run_cost, len(j.runs)) for j in jobs[:3]]
    uncut += [9.0, 0.5, 0.5, 0.5]
    assert plan.makespan <= lpt_makespan(sorted(uncut, reverse=True), workers)
    assert balance(jobs, workers, HALF) == plan


def test_on_two_workers_the_plan_is_near_the_best_cut_of_the_ladder():
    """Against every way of cutting the four rungs into 1..4 groups (each dispatched longest
    first), the greedy plan is within 5% of the best."""
    costs = {"vanilla": 1.0, "replay": 6.0, "target": 6.2, "dqn": 6.2}
    jobs = [
        Job(label, tuple(range(10)), shared(cost), grouped=True) for label, cost in costs.items()
    ]
    plan = balance(jobs, workers=2, model=HALF)
    best = float("inf")
    for cuts in itertools.product(range(1, 5), repeat=4):
        tasks = []
        for job, k in zip(jobs, cuts, strict=True):
            sizes = [len(job.runs) // k + (i < len(job.runs) % k) for i in range(k)]
            tasks += [
                HALF.group_cost(job.run_cost, m) if m > 1 else job.run_cost.solo for m in sizes
            ]
        best = min(best, lpt_makespan(sorted(tasks, reverse=True), 2))
    assert best <= plan.makespan <= 1.05 * best
    # the count-based plan ran the four rungs one group each, in the variants' order
    count_based = lpt_makespan([HALF.group_cost(shared(c), 10) for c in costs.values()], 2)
    assert plan.makespan < count_based


def test_run_cost_counts_env_steps_updates_and_their_products():
    env = gym.make("CartPole-v1")
    vanilla = rl.make_agent("dqn-vanilla", env, seed=0)
    dqn = rl.make_agent("dqn", env, seed=0)
    # 4-128-128-2: 17,152 multiply-adds a forward pass; two forward passes and the backward
    # pass (less the input layer's input gradients) on a batch of 128 (of 1 without replay)
    macs = 4 * 128 + 128 * 128 + 128 * 2
    assert update_flops(dqn) == 2.0 * 128 * (2 * macs + 2 * macs - 4 * 128)
    assert update_flops(vanilla) == update_flops(dqn) / 128
    model = CostModel(step_s=1.0, update_s=10.0, flop_s=1e-6, group_base=1.0, group_per_member=0.5)
    assert dqn.config.learning_starts == 1000 and dqn.config.train_every == 1
    assert model.run_cost(dqn, 1000) == RunCost(1000.0, 0.0)  # no update before learning_starts
    # 3000 steps and 200 greedy ones each pay for themselves, and so do 2000 updates' products;
    # the updates' fixed cost is what an ensemble shares
    cost = model.run_cost(dqn, 3000, eval_steps=200)
    assert cost.own == pytest.approx(3200 + 2000 * update_flops(dqn) / 1e6)
    assert cost.shared == pytest.approx(2000 * 10)
    assert cost.solo == cost.own + cost.shared
    assert model.group_cost(cost, 4) == pytest.approx(4 * cost.own + (1.0 + 0.5 * 4) * cost.shared)
    assert model.run_cost(vanilla, 500) == RunCost(
        pytest.approx(500 * (1 + update_flops(vanilla) / 1e6)), 500 * 10
    )
    tabular = rl.make_agent("q-learning", gym.make("FrozenLake-v1"), seed=0)
    assert model.run_cost(tabular, 700) == RunCost(700.0)  # any other agent: its env steps
    env.close()


def test_the_default_costs_rank_the_ladder_and_share_the_vanilla_rung_most():
    env = gym.make("CartPole-v1")
    cost = {
        name: DEFAULT_COSTS.run_cost(rl.make_agent(name, env, seed=0), 20_000)
        for name in ("dqn-vanilla", "dqn-replay", "dqn-target", "dqn")
    }
    env.close()
    solo = {name: c.solo for name, c in cost.items()}
    assert solo["dqn-vanilla"] < solo["dqn-replay"] == solo["dqn-target"] == solo["dqn"]
    group = {name: DEFAULT_COSTS.group_cost(c, 10) / c.solo for name, c in cost.items()}
    assert group["dqn-vanilla"] < group["dqn"] < 10  # 10 members cost fewer than 10 solo runs


def test_run_steps_counts_training_and_every_evaluation_at_the_time_limit():
    steps = rl.Experiment(env="CartPole-v1", variants={"a": rl.Variant("dqn")}, runs=1, steps=5_000)
    assert run_steps(steps, 500) == (5_000, 0)
    assert run_steps(steps.replace(eval_episodes=10), 500) == (5_000, 10 * 500)  # at the end
    # every 2,000 steps (2,000 and 4,000) and at the end: 3 evaluations of 10 episodes
    assert run_steps(steps.replace(eval_episodes=10, eval_every=2_000), 500) == (5_000, 15_000)
    episodes = steps.replace(steps=None, episodes=30, eval_episodes=2, eval_every=10)
    assert run_steps(episodes, 25) == (30 * 25, 3 * 2 * 25)


def test_plan_tasks_cuts_the_dear_rung_and_lists_the_longest_task_first():
    exp = rl.Experiment(
        name="planning",
        env="CartPole-v1",
        variants={
            "vanilla": rl.Variant("dqn-vanilla", hidden_sizes=[16]),
            "replay": rl.Variant("dqn", hidden_sizes=[16], learning_starts=100),
        },
        runs=6,
        steps=2_000,
        seed=3,
    )
    pending = [(label, r) for r in range(6) for label in exp.labels]
    # updates cost 100 env steps on a batch of 128 and 1 on a batch of one: replay is dear
    model = CostModel(step_s=0.0, update_s=0.0, flop_s=1.0, group_base=0.5, group_per_member=0.5)
    tasks = plan_tasks(exp, pending, set(exp.labels), workers=2, costs=model)
    seeds = exp.run_seeds()
    assert [(t.label, t.runs) for t in tasks] == [
        ("replay", (0, 1, 2)),
        ("replay", (3, 4, 5)),
        ("vanilla", (0, 1, 2, 3, 4, 5)),  # cut, it would save 0.6% of the wall time
    ]
    assert all(
        isinstance(t, GroupTask) and t.seeds == tuple(seeds[r] for r in t.runs) for t in tasks
    )
    # without ensembles: one RunTask per run, the dear rung's first
    solo = plan_tasks(exp, pending, set(), workers=2, costs=model)
    assert all(isinstance(t, RunTask) for t in solo)
    assert [(t.label, t.run) for t in solo] == [("replay", r) for r in range(6)] + [
        ("vanilla", r) for r in range(6)
    ]
    assert plan_tasks(exp, [], set(exp.labels), workers=2) == []
