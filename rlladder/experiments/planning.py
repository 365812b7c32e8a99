"""Plan an experiment's tasks by what they cost: a per-run cost model and a balance over workers.

The runner (:func:`~rlladder.experiments.runner.plan_tasks`) asks this module two things: how
long one run of a variant takes (:meth:`CostModel.run_cost`), and how to cut each ensemble
variant's runs into groups and order all the tasks so that the workers finish together
(:func:`balance`). Grouping never changes a result (each member is its solo run, number for
number), so the plan is free to choose; only the wall time depends on it.

**The cost model.** One run's cost, in seconds on the CPU the constants were measured on, in
two parts: what each member of an ensemble pays for itself (``own``), and what one ensemble pays
once for all its members (``shared``)::

    own    = (steps + eval_steps) * step_s + updates * update_flops * flop_s
    shared = updates * update_s
    solo run = own + shared
    group of m = m * own + (group_base + group_per_member * m) * shared

- ``steps``: the run's env steps (an ``episodes=`` budget counts each episode at its time
  limit: an upper bound, the same for every variant);
- ``eval_steps``: the greedy evaluations' steps, each episode counted at the time limit (an
  upper bound, reached by an agent that has learned the task);
- ``step_s``: one env step with a greedy acting pass and the loop's Python;
- ``updates``: the DQN's gradient updates (``gradient_steps`` every ``train_every`` steps after
  ``learning_starts``), none for an agent that is no DQN (a tabular agent's update is part of
  its step);
- ``update_flops``: the matrix products of one update (:func:`update_flops`: online and target
  forward passes and the backward pass, on a batch of ``batch_size``, or of one without
  replay), at ``flop_s`` seconds per floating-point operation: every member computes its own;
- ``update_s``: an update's fixed cost (sampling, the optimizer's bookkeeping, Python, kernel
  launches), which an ensemble pays once per step for its stacked networks: it grows by
  ``group_per_member`` of itself per member, from ``group_base``.

So a rung whose updates are cheap arithmetic and mostly overhead (``dqn-vanilla``: a batch of
one) gains far more from a large group than one whose updates are mostly products (a batch of
128). A group of one would cost ``group_base + group_per_member`` (about 1.3) times the solo
run, so a group is never cut down to one run: a lone run is a solo task.

The default constants (:data:`DEFAULT_COSTS`) were calibrated on a 2-core AMD EPYC with one
torch thread by ``python benchmarks/planning_costs.py``: it times a run that only acts, one
solo run of ``dqn-vanilla`` and one of ``dqn`` (two equations in ``update_s`` and ``flop_s``),
and ensembles of 1 and 5 ``dqn-vanilla`` members (the line ``group_base + group_per_member * m``),
and checks the model against an ensemble of ``dqn`` members; see the benchmarks page, "Planning
groups by cost". Only the constants' ratios matter to the plan, so a CPU uniformly faster or
slower plans the same.

**The balance.** :func:`balance` starts from one group per ensemble variant and, while that
lowers the predicted wall time on ``workers`` workers by more than 1%, cuts a variant's runs
evenly into one group more, cuts a group in two (evenly or not: a few runs split off can fill
a worker's idle end) or moves a run between two groups of a variant. Cutting adds work
(smaller groups share less), so it stops when the workers are even. Tasks are listed longest
first (LPT); the process backend hands each free worker the next task in that order (Ray
schedules its tasks in about the same order). The predicted wall time of such a list is at most
``work / workers + longest task`` (:attr:`Plan.makespan` against :attr:`Plan.lower_bound`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlladder.experiments.spec import Experiment
from rlladder.interface import Agent

__all__ = [
    "DEFAULT_COSTS",
    "CostModel",
    "Job",
    "MIN_GAIN",
    "Plan",
    "PlannedTask",
    "RunCost",
    "balance",
    "run_steps",
    "lpt_makespan",
    "update_flops",
]


def _is_dqn(agent: Agent) -> bool:
    """Whether ``agent`` is a DQN (any class from :mod:`rlladder.deep.dqn` in its MRO), asked
    without importing torch for an agent that is none."""
    return any(c.__module__ == "rlladder.deep.dqn" for c in type(agent).__mro__)


def update_flops(agent: Any, *, backward: bool = True) -> float:
    """Floating-point operations of the matrix products in one update of the DQN ``agent``:
    the online and target forward passes (and Double DQN's second online pass), and with
    ``backward`` the backward pass (weight gradients of every layer, input gradients of all
    but the first), on a batch of ``batch_size`` (of one without replay: the latest transition).

    Args:
        agent: a :class:`~rlladder.deep.dqn.DQN` (its ``config``, ``adapter`` and ``n_actions``).
        backward: count the backward pass (an update at learning rate 0 takes none).

    Returns:
        The FLOPs (a multiply-add counts 2).
    """
    cfg = agent.config
    widths = [agent.adapter.dim, *cfg.hidden_sizes]
    layers = list(zip(widths[:-1], widths[1:], strict=True))
    head = widths[-1] * (agent.n_actions + 1 if cfg.dueling else agent.n_actions)
    macs = sum(i * o for i, o in layers) + head  # per sample, one forward pass
    forwards = 3 if cfg.double else 2
    first = widths[0] * widths[1] if layers else head  # the input needs no gradient
    gradients = macs + (macs - first) if backward else 0
    batch = cfg.batch_size if cfg.replay else 1
    return 2.0 * batch * (forwards * macs + gradients)


def _updates(agent: Any, steps: int) -> int:
    """The updates a DQN makes in ``steps`` env steps (``DQNConfig.updates_at``, counted)."""
    cfg = agent.config
    if steps <= cfg.learning_starts:
        return 0
    every = cfg.train_every
    return (steps // every - cfg.learning_starts // every) * cfg.gradient_steps


@dataclass(frozen=True)
class RunCost:
    """One run's predicted seconds, split by what an ensemble shares (see the module's formula).

    Attributes:
        own: what each member pays for itself (env steps, evaluations, its update's products).
        shared: what one ensemble pays once for its members (the updates' fixed cost), before
            :attr:`CostModel.group_base` and :attr:`CostModel.group_per_member` scale it.
    """

    own: float
    shared: float = 0.0

    @property
    def solo(self) -> float:
        """The run on its own."""
        return self.own + self.shared


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of work (see the module's docstring for the formula).

    Attributes:
        step_s: one env step, with a greedy acting pass and the loop.
        update_s: the fixed cost of one DQN update, solo.
        flop_s: one floating-point operation of an update's matrix products.
        group_base: an ensemble's update overhead, in solo updates, before its members.
        group_per_member: what each member adds to it, in solo updates.
    """

    step_s: float
    update_s: float
    flop_s: float
    group_base: float
    group_per_member: float

    def run_cost(self, agent: Agent, steps: int, eval_steps: int = 0) -> RunCost:
        """Predicted seconds of one run of ``agent``: ``steps`` env steps of training and
        ``eval_steps`` greedy steps of evaluation.

        Args:
            agent: the run's agent, as built (a DQN's updates count; any other agent costs its
                steps only).
            steps: the run's env steps.
            eval_steps: its evaluations' greedy steps.

        Returns:
            The cost, split into what each member pays and what an ensemble shares.
        """
        own = (steps + eval_steps) * self.step_s
        if not _is_dqn(agent):
            return RunCost(own)
        updates = _updates(agent, steps)
        return RunCost(own + updates * update_flops(agent) * self.flop_s, updates * self.update_s)

    def group_cost(self, cost: RunCost, members: int) -> float:
        """Predicted seconds of ``members`` runs of cost ``cost`` trained as one ensemble.

        Args:
            cost: one member's cost (:meth:`CostModel.run_cost`).
            members: the group's size (at least 2; one run is :attr:`RunCost.solo`).

        Returns:
            The predicted seconds.
        """
        return (
            members * cost.own + (self.group_base + self.group_per_member * members) * cost.shared
        )


#: Calibrated by ``python benchmarks/planning_costs.py`` (2-core AMD EPYC, one torch thread,
#: 2026-12-05; see the benchmarks page, "Planning groups by cost").
DEFAULT_COSTS = CostModel(
    step_s=4.9e-5,
    update_s=7.2e-4,
    flop_s=1.58e-11,
    group_base=1.20,
    group_per_member=0.113,
)


@dataclass(frozen=True)
class Job:
    """One variant's pending runs, to plan.

    Attributes:
        label: the variant's label.
        runs: its pending run numbers, in order.
        run_cost: one run's predicted cost.
        grouped: whether its runs may train together as ensembles.
    """

    label: str
    runs: tuple[int, ...]
    run_cost: RunCost
    grouped: bool


@dataclass(frozen=True)
class PlannedTask:
    """One task of a plan: ``runs`` of variant ``label``, as an ensemble when ``group``."""

    label: str
    runs: tuple[int, ...]
    cost: float
    group: bool


@dataclass(frozen=True)
class Plan:
    """The tasks, longest first, with the predicted wall time on the plan's workers.

    Attributes:
        tasks: every pending run exactly once, in dispatch order (longest first).
        makespan: predicted wall time: each free worker takes the next task.
        work: the tasks' summed cost (all workers' busy time).
        lower_bound: no order of these tasks finishes sooner: ``max(work / workers, longest)``.
    """

    tasks: tuple[PlannedTask, ...]
    makespan: float
    work: float
    lower_bound: float


def lpt_makespan(costs: Sequence[float], workers: int) -> float:
    """The wall time of ``costs`` dispatched in the given order, each to the first free worker.

    Args:
        costs: task costs, in dispatch order.
        workers: the workers (at least 1).

    Returns:
        When the last worker finishes.
    """
    loads = [0.0] * max(1, workers)
    for cost in costs:
        i = loads.index(min(loads))
        loads[i] += cost
    return max(loads)


def _tasks(job: Job, sizes: Sequence[int], model: CostModel) -> list[PlannedTask]:
    """``job``'s runs cut into groups of ``sizes`` (in order), or one task per run; a group of
    one run is a solo task."""
    if not job.grouped or len(job.runs) == 1:
        return [PlannedTask(job.label, (run,), job.run_cost.solo, False) for run in job.runs]
    tasks, start = [], 0
    for size in sizes:
        runs = job.runs[start : start + size]
        start += size
        if size == 1:
            tasks.append(PlannedTask(job.label, runs, job.run_cost.solo, False))
        else:
            tasks.append(PlannedTask(job.label, runs, model.group_cost(job.run_cost, size), True))
    return tasks


def _plan(
    jobs: Sequence[Job], sizes: Mapping[str, tuple[int, ...]], workers: int, model: CostModel
) -> Plan:
    """The plan of ``jobs`` cut into groups of ``sizes``, dispatched longest first."""
    tasks = [task for job in jobs for task in _tasks(job, sizes.get(job.label, ()), model)]
    tasks.sort(key=lambda task: -task.cost)  # stable: equal costs keep the variants' order
    costs = [task.cost for task in tasks]
    work = sum(costs)
    longest = max(costs, default=0.0)
    return Plan(
        tasks=tuple(tasks),
        makespan=lpt_makespan(costs, workers),
        work=work,
        lower_bound=max(work / max(1, workers), longest),
    )


def _moves(sizes: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The group sizes one step from ``sizes``: all the runs cut evenly into one group more, a
    group split in two (at any point), or one run moved from one group to another; each sorted
    largest first, without repeats."""
    total, count = sum(sizes), len(sizes) + 1
    found: list[tuple[int, ...]] = []
    if count <= total:
        found.append(tuple(total // count + (k < total % count) for k in range(count)))
    for i, size in enumerate(sizes):
        rest = sizes[:i] + sizes[i + 1 :]
        for part in range(1, size // 2 + 1):
            found.append(rest + (size - part, part))
        for j in range(len(sizes)):
            if j != i and size > 1:
                moved = list(sizes)
                moved[i] -= 1
                moved[j] += 1
                found.append(tuple(moved))
    unique = dict.fromkeys(tuple(sorted(move, reverse=True)) for move in found)
    return [move for move in unique if move != tuple(sorted(sizes, reverse=True))]


#: The least share of the predicted wall time a change to the groups must save: smaller gains
#: are within the cost model's error, and each cut makes the groups share less.
MIN_GAIN = 0.01


def balance(jobs: Sequence[Job], workers: int, model: CostModel = DEFAULT_COSTS) -> Plan:
    """Cut each grouped job into groups and order every task so the workers finish together.

    Starts from one group per grouped job; then, while some step lowers the predicted wall
    time by more than :data:`MIN_GAIN` of it, takes the step that lowers it most (ties: the
    first job, the first step). A step changes one job's groups: all its runs cut evenly into
    one group more, one group cut in two (evenly or not), or one run moved from one group to
    another. A group of one run is a solo task.

    Args:
        jobs: one per variant with pending runs (labels unique).
        workers: the workers the tasks run on (at least 1).
        model: the costs of a group against its members (:meth:`CostModel.group_cost`).

    Returns:
        The plan: every run of every job exactly once, longest task first.
    """
    sizes = {job.label: (len(job.runs),) for job in jobs if job.grouped and len(job.runs) > 1}
    best = _plan(jobs, sizes, workers, model)
    while True:
        trial = None
        for label in sizes:
            for move in _moves(sizes[label]):
                changed = {**sizes, label: move}
                plan = _plan(jobs, changed, workers, model)
                if plan.makespan < (trial[1].makespan if trial else best.makespan * (1 - MIN_GAIN)):
                    trial = (changed, plan)
        if trial is None:
            return best
        sizes, best = trial


def run_steps(exp: Experiment, time_limit: int | None) -> tuple[int, int]:
    """One run of ``exp``, in steps for the cost model: its training steps (an ``episodes=``
    budget at ``time_limit`` steps an episode) and its evaluations' greedy steps (each episode
    at ``time_limit``: upper bounds; 1,000 steps an episode without a limit).

    Args:
        exp: the experiment.
        time_limit: its episodes' step limit (``max_episode_steps``, else the env's own).

    Returns:
        ``(steps, eval_steps)``.
    """
    limit = time_limit or 1000
    budget = exp.steps if exp.steps is not None else exp.episodes or 0
    steps = exp.steps if exp.steps is not None else budget * limit
    if not exp.eval_episodes:
        return steps, 0
    evaluations = math.ceil(budget / exp.eval_every) if exp.eval_every else 1
    return steps, evaluations * exp.eval_episodes * limit
