"""Plan an experiment's tasks by what they cost: a per-run cost model and a balance over workers.

The runner (:func:`~rlladder.experiments.runner.plan_tasks`) asks this module two things: how
long one run of a variant takes (:meth:`CostModel.run_cost`), and how to cut each ensemble
variant's runs into groups and order all the tasks so that the workers finish together
(:func:`balance`). Grouping never changes a result (each member is its solo run, number for
number), so the plan is free to choose; only the wall time depends on it.

**The cost model.** One run's cost, in seconds on the CPU the constants were measured on::

    cost = steps * step_s + updates * (update_s + update_flops * flop_s)

- ``steps``: the run's env steps (an ``episodes=`` budget counts each episode at its time
  limit: an upper bound, the same for every variant);
- ``step_s``: one env step with the agent's acting pass and the loop's Python;
- ``updates``: the DQN's gradient updates (``gradient_steps`` every ``train_every`` steps after
  ``learning_starts``), none for an agent that is no DQN (a tabular agent's update is part of
  its step);
- ``update_s``: an update's fixed cost (sampling, the optimizer's bookkeeping, Python);
- ``update_flops``: the matrix products of one update (:func:`update_flops`: online and target
  forward passes and the backward pass, on a batch of ``batch_size``, or of one without
  replay), at ``flop_s`` seconds per floating-point operation.

A group of ``m`` members trained as one ensemble costs less than ``m`` solo runs, since one set
of stacked networks pays the per-step overhead for all of them::

    group cost = run cost * (group_base + group_per_member * m)

The default constants (:data:`DEFAULT_COSTS`) were calibrated on a 2-core AMD EPYC with one
torch thread by ``python benchmarks/planning_costs.py``, which times short runs of the ladder's
rungs alone and as ensembles and fits the constants; see the benchmarks page. Only their ratios
matter to the plan, so a faster or slower CPU plans the same.

**The balance.** :func:`balance` starts from one group per ensemble variant and keeps cutting a
variant into one more group (its runs split evenly and in order) while that lowers the predicted
wall time on ``workers`` workers by more than 1%; cutting adds work (smaller groups share less), so it stops when
the workers are even. Tasks are dispatched longest first (LPT), which the backends keep: each
free worker takes the next task. The predicted wall time of such a list is at most
``work / workers + longest task`` (:attr:`Plan.makespan` against :attr:`Plan.lower_bound`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlladder.interface import Agent

__all__ = [
    "DEFAULT_COSTS",
    "CostModel",
    "Job",
    "MIN_GAIN",
    "Plan",
    "PlannedTask",
    "balance",
    "budget_steps",
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
    """The updates a DQN makes in ``steps`` env steps (:meth:`DQNConfig.updates_at`, counted)."""
    cfg = agent.config
    if steps <= cfg.learning_starts:
        return 0
    every = cfg.train_every
    return (steps // every - cfg.learning_starts // every) * cfg.gradient_steps


@dataclass(frozen=True)
class CostModel:
    """Seconds per unit of work (see the module's docstring for the formula).

    Attributes:
        step_s: one env step, with the acting pass and the loop.
        update_s: the fixed cost of one DQN update.
        flop_s: one floating-point operation of an update's matrix products.
        group_base: a group's cost, in solo runs, before its members (the intercept).
        group_per_member: what each member adds to a group's cost, in solo runs.
    """

    step_s: float
    update_s: float
    flop_s: float
    group_base: float
    group_per_member: float

    def run_cost(self, agent: Agent, steps: int) -> float:
        """Predicted seconds of one solo run of ``agent`` for ``steps`` env steps.

        Args:
            agent: the run's agent, as built (a DQN's updates count; any other agent costs its
                env steps only).
            steps: the run's env steps.

        Returns:
            The predicted seconds.
        """
        cost = steps * self.step_s
        if _is_dqn(agent):
            cost += _updates(agent, steps) * (self.update_s + update_flops(agent) * self.flop_s)
        return cost

    def group_cost(self, run_cost: float, members: int) -> float:
        """Predicted seconds of ``members`` runs of cost ``run_cost`` trained as one ensemble.

        Args:
            run_cost: one member's solo cost (:meth:`run_cost`).
            members: the group's size (at least 1).

        Returns:
            The predicted seconds.
        """
        return run_cost * (self.group_base + self.group_per_member * members)


#: Calibrated by ``python benchmarks/planning_costs.py`` (2-core AMD EPYC, one torch thread,
#: 2026-12-05; see the benchmarks page, "Planning groups by cost").
DEFAULT_COSTS = CostModel(
    step_s=1.0e-4,
    update_s=5.0e-4,
    flop_s=1.0e-10,
    group_base=0.6,
    group_per_member=0.44,
)


@dataclass(frozen=True)
class Job:
    """One variant's pending runs, to plan.

    Attributes:
        label: the variant's label.
        runs: its pending run numbers, in order.
        run_cost: one solo run's predicted cost.
        grouped: whether its runs may train together as ensembles.
    """

    label: str
    runs: tuple[int, ...]
    run_cost: float
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


def _tasks(job: Job, groups: int, model: CostModel) -> list[PlannedTask]:
    """``job``'s runs cut into ``groups`` groups (evenly, in order), or one task per run."""
    if not job.grouped or len(job.runs) == 1:
        return [PlannedTask(job.label, (run,), job.run_cost, False) for run in job.runs]
    return [
        PlannedTask(
            label=job.label, runs=runs, cost=model.group_cost(job.run_cost, len(runs)), group=True
        )
        for runs in (tuple(int(r) for r in chunk) for chunk in np.array_split(job.runs, groups))
    ]


def _plan(jobs: Sequence[Job], groups: Mapping[str, int], workers: int, model: CostModel) -> Plan:
    tasks = [task for job in jobs for task in _tasks(job, groups.get(job.label, 1), model)]
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


#: The least share of the predicted wall time a cut must save: smaller gains are within the cost
#: model's error, and each cut makes the groups share less.
MIN_GAIN = 0.01


def balance(jobs: Sequence[Job], workers: int, model: CostModel = DEFAULT_COSTS) -> Plan:
    """Cut each grouped job into groups and order every task so the workers finish together.

    Starts from one group per grouped job; then, while some job cut into one more group lowers
    the predicted wall time by more than :data:`MIN_GAIN`, takes the cut that lowers it most
    (ties: the first job). A job never has more groups than runs.

    Args:
        jobs: one per variant with pending runs (labels unique).
        workers: the workers the tasks run on (at least 1).
        model: the costs of a group against its members (:meth:`CostModel.group_cost`).

    Returns:
        The plan: every run of every job exactly once, longest task first.
    """
    groups = {job.label: 1 for job in jobs if job.grouped and len(job.runs) > 1}
    best = _plan(jobs, groups, workers, model)
    while True:
        trial = None
        for job in jobs:
            if job.label not in groups or groups[job.label] >= len(job.runs):
                continue
            cut = {**groups, job.label: groups[job.label] + 1}
            plan = _plan(jobs, cut, workers, model)
            if plan.makespan < (trial[1].makespan if trial else best.makespan * (1 - MIN_GAIN)):
                trial = (cut, plan)
        if trial is None:
            return best
        groups, best = trial


def budget_steps(steps: int | None, episodes: int | None, time_limit: int | None) -> int:
    """A run's env steps for the cost model: ``steps``, or ``episodes`` at ``time_limit`` steps
    each (an upper bound; 1,000 steps an episode without a limit)."""
    if steps is not None:
        return steps
    return (episodes or 0) * (time_limit or 1000)
