"""Many seeds at once: M members of one DQN configuration trained together, each as a solo run.

::

    from rlladder.deep.ensemble import train_ensemble, train_seeds

    # M agents and M environments, made exactly as for solo runs
    agents = [rl.make_agent("dqn", gym.make("CartPole-v1"), seed=s) for s in (0, 1, 2)]
    envs = [gym.make("CartPole-v1") for _ in agents]
    histories = train_ensemble(agents, envs, seeds=[10, 11, 12], steps=20_000)
    # the same DataFrames, and the same trained agents, as
    # [rl.train(a, e, steps=20_000, seed=s) for a, e, s in zip(agents, envs, [10, 11, 12])]

    # or from (agent seed, env seed) pairs:
    for agent, history in train_seeds("dqn", lambda: gym.make("CartPole-v1"),
                                      [(0, 10), (1, 11)], steps=20_000):
        rl.evaluate(agent, gym.make("CartPole-v1"), episodes=100)

**The contract.** :func:`train_ensemble` is ``rl.train`` for M (agent, env, seed) triples at
once: member ``k``'s history equals ``rl.train(agents[k], envs[k], seed=seeds[k], ...)``
(``pd.testing.assert_frame_equal``, no tolerance) and its trained weights, optimizer state,
counters, generator and replay buffer are the solo agent's (``torch.equal``). It trains the
agents in place and returns their histories. tests/test_ensemble.py holds it to that for every
switch, on CartPole, Acrobot (3 actions) and one-hot FrozenLake.

**For the experiments runner.** :func:`reproduces` says whether the ensemble trains a class
exactly as its solo runs: ``True`` for :class:`~rlladder.deep.dqn.DQN` and the subclasses that
keep its ``act`` and ``learn``, ``False`` for classes that train solo (tabular agents, a
student's own, a DQN subclass that changes ``act`` or ``learn``). The runner asks it
(:func:`rlladder.experiments.runner.ensemble_trainer`); the DQN does not know of the ensemble.
Runs that share one resolved configuration (same class, same
:class:`~rlladder.deep.config.DQNConfig`, same environment) can form one ensemble: make each
run's agent and env exactly as for a solo run, call :func:`train_ensemble` with the runs' env
seeds, and save each history. ``on_steps(n)`` is called every ~1000 env steps (summed over the
members) with the env steps done since the last call, for one progress bar over all runs.
Divergence raises :class:`~rlladder.errors.DivergenceError` naming the member and its seeds.

**How.** The members' parameters are stacked with ``torch.func.stack_module_state`` (a leading
member axis). The loss is :func:`~rlladder.deep.dqn.dqn_loss`, the very function the solo
agent's update calls, given the stack instead of one network, and the step, the target update
and the diagnostics are the solo update's functions too (:func:`~rlladder.deep.dqn.gradient_step`,
:func:`~rlladder.deep.dqn.update_target`, :func:`~rlladder.deep.dqn.update_diagnostics`). One
optimizer steps the stack, in torch's foreach implementation, whose elementwise arithmetic
moves each member exactly as an optimizer of its own would. The replay rings are one
:class:`~rlladder.deep.replay.StackedReplay`; each member keeps its own numpy generator (its
epsilon draws, random actions and minibatch indices come in exactly the solo order), its own
gradient-norm clip (:func:`clip_member_grad_norms_`, equal to ``nn.utils.clip_grad_norm_``), its
own epsilon (an episode-unit schedule differs between members) and its own environment. Members
step in lockstep, so they share the env-step count, the update times and the learning rate, and
the learning-rate freeze at 0 skips the step for all of them, as solo. With an ``episodes=``
budget a member that has played its last episode is written back to its agent and leaves the
stack: it changes no more.

**Why not** ``vmap(functional_call(...))``. On this CPU (torch 2.13, MKL), the vmapped forward
pass and gradient of a per-member loss are not bit-identical to a single network's in several of
the ladder's cases (the dueling head, a batch of one, layers of odd widths): vmap turns each
layer into one batched product, whose sums are not the single network's. Two causes, both
measured: MKL sums in another order when an operand or the output is not 16-byte aligned (in a
stack, a member starts wherever the previous one ended), and torch computes very small batched
products with a loop of its own instead of BLAS. :func:`~rlladder.deep.networks.linear` runs a
stack's layers so that each member's products are exactly ``F.linear``'s, forwards and
backwards. The fused optimizers are not used for a like reason: their vectorised lanes and
their scalar tail round differently, so members laid end to end would not match.

**Why a list of environments,** not a gymnasium vector env. Each member's env must be seeded,
reset and cut exactly as ``rl.train`` does it: spaces seeded, first ``reset(seed=s)``, later
resets unseeded, the loop's own ``max_episode_steps`` truncation, and members that stop at
different episodes. A list of independent envs stepped in lockstep does that with
``rl.loop``'s own bookkeeping and no autoreset to undo; ``SyncVectorEnv`` is itself a Python
loop over its envs, so it would save nothing. Never a vector env that shares one random stream
between its sub-envs (gymnasium's ``CartPoleVectorEnv`` does): the members would not be solo
runs.

``device="cuda"`` puts the stack on the GPU (member equality with solo is tested on CPU).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from rlladder.deep.config import make_optimizer
from rlladder.deep.dqn import (
    DQN,
    diagnostics_row,
    divergence_error,
    dqn_loss,
    gradient_step,
    update_diagnostics,
    update_target,
)
from rlladder.deep.networks import q_forward
from rlladder.deep.replay import Batch, NStepBatch, StackedReplay
from rlladder.errors import ConfigError, RunInterrupted, check_int
from rlladder.loop import (
    EpisodeLog,
    RunPosition,
    _check_agent,
    _check_budget,
    _check_env,
    _end_training,
    _rows,
    _seed_env,
    _to_frame,
)
from rlladder.registry import make_agent

__all__ = [
    "train_ensemble",
    "train_seeds",
    "DQNEnsemble",
    "clip_member_grad_norms_",
    "reproduces",
    "shares_learning_rate",
]

#: the DQN methods the ensemble replays for the whole stack; a subclass that overrides one of them
#: trains solo (the episode hooks, ``begin_episode`` and ``end_episode``, are the agents' own)
_REPLAYED = ("act", "learn", "_update", "_update_target", "_clip_gradient", "epsilon")


def shares_learning_rate(agent: Any) -> bool:
    """Whether ``agent``'s learning rate is read at the env step (then members in lockstep share
    it, as one stacked optimizer needs); an episode-unit ``learning_rate`` schedule is not."""
    return getattr(getattr(agent, "lr_schedule", None), "unit", "step") == "step"


def reproduces(cls: type) -> bool:
    """Whether the ensemble trains ``cls`` exactly as its solo runs would: :class:`DQN` itself,
    or a subclass that keeps every method the ensemble replays (``act``, ``learn``, ...)."""
    return (
        isinstance(cls, type)
        and issubclass(cls, DQN)
        and all(getattr(cls, name) is getattr(DQN, name) for name in _REPLAYED)
    )


def clip_member_grad_norms_(params: Sequence[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Clip each member's gradient to a global 2-norm of at most ``max_norm``; the members' norms.

    ``params`` are stacked parameters (a leading member axis). A member's norm is the norm of
    its per-parameter norms, and its gradients are scaled by ``min(1, max_norm / (norm +
    1e-6))``: the arithmetic of ``torch.nn.utils.clip_grad_norm_``, which gives the same
    numbers, member by member (tests/test_ensemble.py).
    """
    grads = [p.grad for p in params if p.grad is not None]
    per_param = torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in grads], 1)
    norms = torch.linalg.vector_norm(per_param, dim=1)
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.view(-1, *([1] * (g.dim() - 1))))
    return norms


def _check_members(agents: Sequence[DQN]) -> None:
    first = agents[0]
    for k, agent in enumerate(agents):
        if not reproduces(type(agent)):
            raise ConfigError(
                f"the DQN ensemble trains rl.DQN agents (or subclasses that keep its act/learn); "
                f"member {k} is {type(agent).__name__}: train it solo with rl.train"
            )
        if type(agent) is not type(first) or agent.config != first.config:
            raise ConfigError(
                f"the members of one ensemble share one configuration; member {k} differs from "
                f"member 0 ({agent!r} with {agent.config} vs {first.config}): group runs by "
                "their resolved configuration"
            )
        if (agent.adapter.dim, agent.n_actions) != (first.adapter.dim, first.n_actions):
            raise ConfigError(
                f"the members of one ensemble share one environment; member {k} sees "
                f"{agent.adapter.dim} inputs and {agent.n_actions} actions, member 0 "
                f"{first.adapter.dim} and {first.n_actions}"
            )
        if getattr(agent.lr_schedule, "unit", "step") != "step":
            raise ConfigError(
                "the members of one ensemble share one learning rate, read at their shared env "
                f"step; member {k}'s learning_rate schedule counts episodes, which differ between "
                "members: train it solo with rl.train"
            )
        if (agent.steps_done, agent.updates_done) != (first.steps_done, first.updates_done):
            raise ConfigError(
                "the members of one ensemble step in lockstep and must start at one env step; "
                f"member {k} is at step {agent.steps_done} (update {agent.updates_done}), "
                f"member 0 at {first.steps_done} ({first.updates_done})"
            )


def _stack_state(states: list[dict[str, Any]], param: torch.Tensor) -> dict[str, Any]:
    """The optimizer state of a stacked parameter from its members' states: their tensors
    stacked, except the step count, which members in lockstep share."""
    stacked = {}
    for key, first in states[0].items():
        if isinstance(first, torch.Tensor) and first.dim() and first.shape == param.shape[1:]:
            stacked[key] = torch.stack([s[key] for s in states])
        else:
            stacked[key] = first.clone() if isinstance(first, torch.Tensor) else first
    return stacked


def _member_state(state: dict[str, Any], param: torch.Tensor, row: int) -> dict[str, Any]:
    """Member ``row``'s part of a stacked parameter's optimizer state."""
    own = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            own[key] = (value[row] if value.shape == param.shape else value).clone()
        else:
            own[key] = value
    return own


class DQNEnsemble:
    """The stacked state of M :class:`DQN` agents of one configuration, and their update.

    Made from the agents as they are (fresh or trained, all at one env step); :meth:`write_back`
    puts each member's parameters, optimizer state, target network and buffer back into its
    agent. The counters and generators are the agents' own throughout. ``labels`` name the
    members in errors (e.g. ``"member 3 (agent seed 3, env seed 103)"``).
    """

    def __init__(self, agents: Sequence[DQN], labels: Sequence[str] | None = None) -> None:
        if not agents:
            raise ConfigError("an ensemble needs at least one member agent")
        _check_members(agents)
        self.agents = list(agents)
        self.labels = (
            list(labels) if labels is not None else [f"member {k}" for k in range(len(agents))]
        )
        lead = self.agents[0]
        self.config = lead.config
        self.device = lead.device
        self._loss_options = lead._loss_options
        self.buffer = StackedReplay([a.buffer for a in self.agents])
        self.members = list(range(len(self.agents)))  # indices of the members still training
        self._stack()

    # -- the stack ----------------------------------------------------------------------------

    @property
    def alive(self) -> list[DQN]:
        """The agents still training, in stack order."""
        return [self.agents[k] for k in self.members]

    def _stack(self) -> None:
        """Stack the members' parameters, target parameters and optimizer state."""
        alive, cfg = self.alive, self.config
        params, _ = torch.func.stack_module_state([a.q_net for a in alive])
        self.params = list(params.values())
        self.target = None
        if cfg.target != "none":
            self.target = [
                torch.stack([p.detach() for p in ps])
                for ps in zip(*(a.target_net.parameters() for a in alive), strict=True)
            ]
        lr = alive[0].optimizer.param_groups[0]["lr"]
        self.optimizer = make_optimizer(cfg.optimizer, self.params, lr)
        for i, p in enumerate(self.params):
            states = [a.optimizer.state.get(a._online[i], {}) for a in alive]
            if all(states):
                self.optimizer.state[p] = _stack_state(states, p)
            elif any(states):
                raise ConfigError(
                    "the members of one ensemble must all have taken gradient steps, or none"
                )
        self._clip = (
            partial(clip_member_grad_norms_, self.params, cfg.max_grad_norm)
            if cfg.max_grad_norm is not None
            else None
        )

    def write_back(self) -> None:
        """Put each training member's parameters, optimizer state, target and buffer into its
        agent (the counters and generators are the agents' own already)."""
        self.buffer.sync()
        lr = self.optimizer.param_groups[0]["lr"]
        with torch.no_grad():
            for row, agent in enumerate(self.alive):
                for p, stacked in zip(agent._online, self.params, strict=True):
                    p.copy_(stacked[row])
                    if stacked in self.optimizer.state:
                        state = self.optimizer.state[stacked]
                        agent.optimizer.state[p] = _member_state(state, stacked, row)
                if self.target is not None:
                    for t, stacked in zip(agent._target, self.target, strict=True):
                        t.copy_(stacked[row])
                for group in agent.optimizer.param_groups:
                    group["lr"] = lr

    def sync_network(self, row: int) -> None:
        """Copy the stack's row ``row`` into that member's own network (``agent.q_net``), so that
        it acts as the member does now (the rest is written back by :meth:`write_back`)."""
        with torch.no_grad():
            for p, stacked in zip(self.alive[row]._online, self.params, strict=True):
                p.copy_(stacked[row])

    def release(self, finished: Sequence[int]) -> None:
        """Members (indices into ``agents``) that have finished: written back, out of the stack."""
        self.write_back()
        for k in finished:
            self.buffer.release(k)
            self.members.remove(k)
        if self.members:
            self._stack()

    # -- acting and learning ------------------------------------------------------------------

    def act(self, obs: np.ndarray) -> list[int]:
        """Each training member's epsilon-greedy action for its row of ``obs`` (adapted
        observations, one row per member in stack order), drawn as :meth:`DQN.act` draws it."""
        actions: list[int] = []
        greedy: list[int] | None = None
        for row, agent in enumerate(self.alive):
            rng = agent.rng
            if rng.random() < agent.epsilon:
                actions.append(int(rng.integers(agent.n_actions)))
                continue
            if greedy is None:
                x = self._tensor(obs).unsqueeze(1)  # (M, 1, obs_dim): a batch of one each
                with torch.inference_mode():
                    q = q_forward(self.params, x, dueling=self.config.dueling)
                    greedy = q.argmax(dim=-1).squeeze(1).tolist()
            actions.append(greedy[row])
        return actions

    def learn(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        done: np.ndarray | None = None,
    ) -> list[dict[str, float]] | None:
        """:meth:`DQN.learn` for every training member at once: store one transition each, and
        when updates are due, update; each member's diagnostics, or ``None`` without an update.
        ``done``: where each member's episode ended (terminated or truncated)."""
        cfg = self.config
        self.buffer.add(obs, actions, rewards, next_obs, terminated, done)
        alive = self.alive
        for agent in alive:
            agent.steps_done += 1
        if not cfg.updates_at(alive[0].steps_done):
            return None
        for _ in range(cfg.gradient_steps):
            batch = self.buffer.sample(cfg.batch_size) if cfg.replay else self.buffer.latest()
            values = self._update(batch)
        return [diagnostics_row(v, agent.epsilon) for v, agent in zip(values, alive, strict=True)]

    def _update(self, batch: Batch | NStepBatch) -> list[list[float]]:
        """:meth:`DQN._update` for the stack: the same loss, step, target update, diagnostics."""
        cfg, alive = self.config, self.alive
        lead = alive[0]
        batch = [self._tensor(a) for a in batch]
        target = self.target if self.target is not None else self.params
        losses, q_taken, q_values = dqn_loss(self.params, target, batch, **self._loss_options)
        gradient_step(self.optimizer, losses, lead.lr_schedule(lead.steps_done), clip=self._clip)
        for agent in alive:
            agent.updates_done += 1
        if self.target is not None:
            update_target(self.target, self.params, cfg, lead.updates_done)
        values = update_diagnostics(losses, q_taken, q_values).tolist()
        for row, v in enumerate(values):
            if not np.isfinite(v[0]):
                lr = self.optimizer.param_groups[0]["lr"]
                who = f"DQN ensemble {self.labels[self.members[row]]}"
                raise divergence_error(v[0], lead.steps_done, lead.updates_done, lr, who)
        return values

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(array)
        return x.to(self.device, non_blocking=True) if self.device.type == "cuda" else x


class _Member:
    """One member's environment and episode, stepped as :func:`rlladder.loop.run_episode` does."""

    __slots__ = ("agent", "env", "seed", "max_steps", "rows", "env_step", "episode", "obs", "next")

    def __init__(self, agent: DQN, env: gym.Env, seed: int | None, max_steps: int | None) -> None:
        self.agent, self.env, self.seed, self.max_steps = agent, env, seed, max_steps
        self.rows: list[dict[str, Any]] = []
        self.env_step = 0
        _seed_env(env, seed)
        self.begin()

    @classmethod
    def resumed(
        cls, agent: DQN, env: gym.Env, max_steps: int | None, position: RunPosition
    ) -> _Member:
        """A member that goes on from ``position``, mid-episode (its env already in the saved
        state, its agent rebuilt from its checkpoint)."""
        member = cls.__new__(cls)
        member.agent, member.env, member.seed, member.max_steps = agent, env, None, max_steps
        member.rows = _rows(position.history)
        member.env_step = int(member.rows[-1]["env_step"]) if member.rows else 0
        member.episode = position.episode
        member.obs = np.asarray(position.obs)
        return member

    def position(self, steps_done: int, finished: bool) -> RunPosition:
        """Where this member stands: mid-episode while it trains, its history when finished."""
        if finished:
            return RunPosition(_to_frame(self.rows), self.env_step, finished=True)
        return RunPosition(_to_frame(self.rows), steps_done, self.episode, self.obs)

    def begin(self) -> None:
        """Reset for a new episode: with the seed the first time, unseeded after (rl.train)."""
        obs, _ = self.env.reset(seed=self.seed if not self.rows else None)
        self.agent.begin_episode()
        self.episode = EpisodeLog(self.max_steps)
        self.obs = self.agent.adapter(obs)

    def step(self, action: int) -> tuple[float, bool, bool]:
        """Step the env; (reward, terminated, episode over)."""
        next_obs, reward, terminated, truncated, _ = self.env.step(action)
        truncated = self.episode.step(reward, terminated, truncated)
        self.next = self.agent.adapter(next_obs)
        return float(reward), bool(terminated), bool(terminated or truncated)

    def end(self) -> None:
        """The episode is over: the agent's hook, then its row in the history."""
        self.agent.end_episode()
        record = self.episode.record()
        self.env_step += record["steps"]
        self.rows.append({"episode": len(self.rows), "env_step": self.env_step, **record})


def train_ensemble(
    agents: Sequence[DQN],
    envs: Sequence[gym.Env],
    *,
    seeds: Sequence[int | None],
    episodes: int | None = None,
    steps: int | None = None,
    max_episode_steps: int | None = None,
    on_steps: Callable[[int], object] | None = None,
    callbacks: Sequence[Sequence[Callable[..., Any]]] | None = None,
    start: Sequence[RunPosition] | None = None,
    checkpoint: Checkpointing | None = None,
) -> list[pd.DataFrame]:
    """Train each ``agents[k]`` on ``envs[k]`` seeded with ``seeds[k]``, all at once, as
    ``rl.train(agents[k], envs[k], seed=seeds[k], episodes=..., steps=...,
    max_episode_steps=..., callbacks=callbacks[k])`` would one by one: the same histories, the
    same trained agents.

    The agents must be :class:`DQN` agents of one configuration at one env step (fresh ones
    are). ``on_steps(n)``: called every ~1000 env steps summed over the members, with the env
    steps done since its last call (their total is ``steps * len(agents)`` with ``steps=``).
    ``callbacks[k]``: member ``k``'s ``rl.train`` callbacks, called after each of its episodes
    with ``(record, agent)``, the agent's network then holding the member's parameters of that
    moment (a greedy evaluation sees what solo training would show it); each one's
    ``on_train_end(history)``, if it has one, is called at the end with the fully written-back
    agent. A callback cannot stop one member of a lockstep ensemble: returning ``True`` is a
    :class:`~rlladder.errors.ConfigError` (train such runs solo with ``rl.train``).
    Returns one history per member, in order.

    Stopping and going on (what the experiments runner's checkpoints use):
    ``checkpoint.check()`` is asked after every step; when it answers ``"save"`` or ``"stop"``,
    every agent is brought up to date and ``checkpoint.save(positions)`` is given each member's
    :class:`~rlladder.loop.RunPosition` (mid-episode, or ``finished``); after ``"stop"``,
    :class:`~rlladder.errors.RunInterrupted` is raised. ``start``: go on from such positions
    instead (none finished, all at one step; the agents rebuilt from their checkpoints and the
    envs put back in their saved state, so ``seeds`` are not used): the histories are then
    those of an uninterrupted run, number for number.
    """
    _check_budget(episodes, steps, "train_ensemble")
    if not agents:
        raise ConfigError("train_ensemble() needs at least one agent")
    if not (len(agents) == len(envs) == len(seeds)):
        raise ConfigError(
            f"train_ensemble() needs one env and one seed per agent, got {len(agents)} agents, "
            f"{len(envs)} envs and {len(seeds)} seeds"
        )
    for agent in agents:
        _check_agent(agent, "train_ensemble")
    for env in envs:
        _check_env(env, "train_ensemble")
    if max_episode_steps is not None:
        check_int("max_episode_steps", max_episode_steps, 1, owner="train_ensemble")
    member_callbacks = _check_callbacks(callbacks, len(agents))
    labels = [
        f"member {k} (agent seed {a.seed}, env seed {s})"
        for k, (a, s) in enumerate(zip(agents, seeds, strict=True))
    ]
    ensemble = DQNEnsemble(agents, labels)
    if start is None:
        members = [
            _Member(a, e, s, max_episode_steps) for a, e, s in zip(agents, envs, seeds, strict=True)
        ]
        t = 0
    else:
        t = _check_start(start, len(agents))
        members = [
            _Member.resumed(a, e, max_episode_steps, p)
            for a, e, p in zip(agents, envs, start, strict=True)
        ]
    report_every = max(1, 1000 // len(members))
    pending = 0
    try:
        while ensemble.members:
            live = [members[k] for k in ensemble.members]
            obs = np.stack([m.obs for m in live])
            actions = ensemble.act(obs)
            outcomes = [m.step(a) for m, a in zip(live, actions, strict=True)]
            rewards, terminated, over = zip(*outcomes, strict=True)
            next_obs = np.stack([m.next for m in live])
            diagnostics = ensemble.learn(
                obs,
                np.array(actions),
                np.array(rewards),
                next_obs,
                np.array(terminated),
                np.array(over),
            )
            t += 1
            last = steps is not None and t >= steps
            finished = []
            for row, m in enumerate(live):
                m.episode.add(diagnostics[row] if diagnostics else None)
                m.obs = m.next
                if over[row]:
                    m.end()
                    k = ensemble.members[row]
                    if member_callbacks[k]:
                        ensemble.sync_network(row)
                        _call_back(member_callbacks[k], m.rows[-1], m.agent, labels[k])
                    if episodes is not None and len(m.rows) >= episodes:
                        finished.append(ensemble.members[row])
                    elif not last:
                        ensemble.buffer.sync()  # the agent's episode hook marks its newest step
                        m.begin()
            pending += len(live)
            if on_steps is not None and t % report_every == 0:
                on_steps(pending)
                pending = 0
            if last:
                break
            if finished:
                ensemble.release(finished)
            if checkpoint is not None and ensemble.members:
                what = checkpoint.check()
                if what is not None:
                    ensemble.write_back()
                    alive = set(ensemble.members)
                    checkpoint.save([m.position(t, k not in alive) for k, m in enumerate(members)])
                    if what == "stop":
                        raise RunInterrupted(f"stopped at step {t:,} after its checkpoint")
    finally:
        if ensemble.members:
            ensemble.write_back()
    if on_steps is not None and pending:
        on_steps(pending)
    histories = [_to_frame(m.rows) for m in members]
    for member, history in zip(member_callbacks, histories, strict=True):
        _end_training(member, history)
    return histories


class Checkpointing(Protocol):
    """What :func:`train_ensemble` asks, after each step, whether to save (and stop)."""

    def check(self) -> str | None: ...

    def save(self, positions: list[RunPosition]) -> None: ...


def _check_start(start: Sequence[RunPosition], members: int) -> int:
    """The step the members of ``start`` are at (one, shared: they step in lockstep)."""
    if len(start) != members or any(p.finished or p.episode is None for p in start):
        raise ConfigError(
            f"train_ensemble(start=...) needs one mid-episode position per member ({members}) "
            "of members still training; a finished member goes on with rl.train(history=...)"
        )
    steps = {p.steps_done for p in start}
    if len(steps) != 1:
        raise ConfigError(
            f"train_ensemble(start=...): the members step in lockstep, but their positions are at "
            f"steps {sorted(steps)}"
        )
    return steps.pop()


def _check_callbacks(
    callbacks: Sequence[Sequence[Callable[..., Any]]] | None, members: int
) -> list[list[Callable[..., Any]]]:
    """One list of ``rl.train`` callbacks per member (empty lists without ``callbacks``)."""
    if callbacks is None:
        return [[] for _ in range(members)]
    if isinstance(callbacks, str) or len(callbacks) != members:
        raise ConfigError(
            f"train_ensemble() callbacks= needs one list of callbacks per member ({members}), "
            f"got {callbacks!r}"
        )
    checked = []
    for member in callbacks:
        member = list(member)
        for callback in member:
            if not callable(callback):
                raise TypeError(
                    f"train_ensemble() callbacks must be callables taking (record, agent), "
                    f"got {callback!r}"
                )
        checked.append(member)
    return checked


def _call_back(
    callbacks: list[Callable[..., Any]], record: dict[str, Any], agent: DQN, label: str
) -> None:
    for callback in callbacks:
        if callback(record, agent) is True:
            raise ConfigError(
                f"a callback of {label} asked to stop training, which one member of an "
                "ensemble cannot do (its members step together); train that run solo with "
                "rl.train, or run the experiment with ensemble=False"
            )


def train_seeds(
    agent: str | type[DQN],
    make_env: Callable[[], gym.Env],
    member_seeds: Sequence[tuple[int, int]],
    *,
    episodes: int | None = None,
    steps: int | None = None,
    max_episode_steps: int | None = None,
    on_steps: Callable[[int], object] | None = None,
    **hyperparameters: Any,
) -> list[tuple[DQN, pd.DataFrame]]:
    """Train one member per ``(agent_seed, env_seed)`` pair; each member's agent and history.

    Member ``k`` is the solo run ``agent = rl.make_agent(agent, env, seed=agent_seed,
    **hyperparameters); rl.train(agent, env, seed=env_seed, ...)`` on ``env = make_env()``
    (``agent`` may also be a :class:`DQN` class, built on the env's spaces).
    """
    envs = [make_env() for _ in member_seeds]
    agents = []
    for env, (agent_seed, _) in zip(envs, member_seeds, strict=True):
        if isinstance(agent, str):
            made = make_agent(agent, env, seed=agent_seed, **hyperparameters)
        else:
            made = agent(
                env.observation_space, env.action_space, seed=agent_seed, **hyperparameters
            )
        agents.append(made)
    histories = train_ensemble(
        agents,
        envs,
        seeds=[env_seed for _, env_seed in member_seeds],
        episodes=episodes,
        steps=steps,
        max_episode_steps=max_episode_steps,
        on_steps=on_steps,
    )
    return list(zip(agents, histories, strict=True))
