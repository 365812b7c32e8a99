"""Deep Q-Networks: one agent, every rung of the ladder a switch.

DQN (Mnih et al., 2015) learns ``Q(s, a; θ)`` with a neural network by pushing it towards the
one-step TD target

.. math:: y = r + \\gamma (1 - d) \\max_{a'} Q(s', a'; \\theta^-)

where ``d`` is 1 if the episode *terminated* (never merely truncated by a time limit) and
``θ⁻`` are the parameters used for the target. The ladder adds one idea at a time (each rung's
switches, beyond those of the rung it builds on; ``rlladder/presets/dqn.toml`` holds them):

.. generated: dqn-rungs-rst (python -m rlladder.presets --write, from rlladder/presets/dqn.toml)

===============  =====================================================================  ==============================================================
rung             idea                                                                   switch
===============  =====================================================================  ==============================================================
``dqn-vanilla``  online Q-learning on the latest transition, ``θ⁻ = θ``, squared error  ``replay=False, target="none", loss="mse", learning_starts=0``
``dqn-replay``   + random minibatches from a replay buffer                              ``replay=True``
``dqn-target``   + a slowly-moving target network ``θ⁻`` (or ``target="soft"``)         ``target="hard"``
``dqn``          + the Huber loss (bounded gradients)                                   ``loss="huber"``
``double-dqn``   + choose ``a'`` with ``θ``, evaluate with ``θ⁻``                       ``double=True``
``dueling-dqn``  + a ``V(s) + A(s, a)`` network head                                    ``dueling=True``
``nstep-dqn``    + 3-step returns, ``y = r₀ + γr₁ + γ²r₂ + γ³ max Q⁻(s₃, ·)``           ``n_step=3``
===============  =====================================================================  ==============================================================

.. /generated: dqn-rungs-rst

The math is in small pure functions (:func:`td_target`, :func:`td_loss`, :func:`dqn_loss`,
:func:`update_diagnostics`, :func:`gradient_step`, :func:`update_target`) of tensors and
parameter lists. They take one network, or a stack of ``M`` networks with a leading *member*
axis: the :class:`DQN` agent calls them with its own network, and the ensemble
(:mod:`rlladder.deep.ensemble`) trains ``M`` seeds at once through the very same functions, each
member number for number its solo run. The class keeps the bookkeeping: buffer, counters,
schedules, target updates, checkpoints.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlladder import checkpoints
from rlladder.deep.config import (
    _FIELDS,
    LOSSES,
    OPTIMIZERS,
    TARGETS,
    DQNConfig,
    _resolve_device,
    make_optimizer,
)
from rlladder.deep.networks import QNetwork, q_forward
from rlladder.deep.replay import Batch, NStepBatch, ReplayBuffer
from rlladder.errors import DivergenceError, unknown_name
from rlladder.interface import Agent, Transition
from rlladder.schedules import as_schedule
from rlladder.spaces import discrete_actions, vector_adapter

__all__ = [
    "DQN",
    "DQNConfig",
    "td_target",
    "td_loss",
    "dqn_loss",
    "update_diagnostics",
    "gradient_step",
    "update_target",
    "LOSSES",
    "OPTIMIZERS",
    "TARGETS",
]

# ----------------------------------------------------------------------------------------------
# The math: pure functions of tensors, batched over a leading member axis.
# ----------------------------------------------------------------------------------------------


def td_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_q_target: torch.Tensor,
    gamma: float | torch.Tensor,
    next_q_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """The one-step TD target for a batch, ``y = r + γ (1 - d) Q⁻(s', a*)``.

    ``a* = argmax_a' Q⁻(s', a')`` (DQN), or with ``next_q_online`` given, ``argmax_a' Q(s', a')``
    (Double DQN: the online network picks the action, the target network values it, which removes
    the max operator's upward bias). ``terminated`` is 1.0 where the episode truly ended.
    ``gamma`` may be a tensor of per-sample discounts (``γ^k`` of n-step returns). Any
    leading axes (batch, members) pass through; actions are the last axis.

    >>> td_target(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([[2.0, 3.0]]), 0.5)
    tensor([2.5000])
    """
    if next_q_online is None:
        next_value = next_q_target.max(dim=-1).values
    else:
        best = next_q_online.argmax(dim=-1, keepdim=True)
        next_value = next_q_target.gather(-1, best).squeeze(-1)
    return rewards + gamma * (1.0 - terminated) * next_value


def td_loss(
    q_taken: torch.Tensor, target: torch.Tensor, loss: str = "huber", huber_delta: float = 1.0
) -> torch.Tensor:
    """Mean over the batch (the last axis) of the loss between ``Q(s, a)`` and the TD target ``y``.

    ``"mse"``: ``(y - Q)²``. ``"huber"``: ``½(y - Q)²`` while ``|y - Q| <= δ``, then ``δ(|y - Q| - ½δ)``:
    quadratic near zero, linear beyond, so one surprising transition cannot produce a huge step.
    """
    return LOSSES[loss](q_taken, target, huber_delta).mean(dim=-1)


def dqn_loss(
    params: Sequence[torch.Tensor],
    target_params: Sequence[torch.Tensor],
    batch: Sequence[torch.Tensor],
    *,
    gamma: float,
    loss: str = "huber",
    double: bool = False,
    huber_delta: float = 1.0,
    dueling: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The DQN loss as a function of ``(params, batch)``: ``mean_i ℓ(y_i - Q(s_i, a_i))``.

    ``params`` and ``target_params`` are :class:`~rlladder.deep.networks.QNetwork` parameters
    (see :func:`~rlladder.deep.networks.q_forward`; pass ``params`` twice to bootstrap from the
    online network itself). ``batch`` is ``(obs, actions, rewards, next_obs, terminated)`` with a
    leading batch axis, and optionally a sixth tensor, ``discount``: each sample's ``γ^k`` for
    n-step returns (``rewards`` then holds the discounted sums; see
    :func:`~rlladder.deep.replay.n_step_returns`). Returns the loss, ``Q(s, a)`` of the taken
    actions and all of ``Q(s, ·)``.
    No gradient flows through the target. For M stacked networks every tensor has a leading
    member axis and the loss is one per member; members never mix, so the gradient of
    ``loss.sum()`` is each member's own.
    """
    obs, actions, rewards, next_obs, terminated, *per_sample = batch
    discount = per_sample[0] if per_sample else gamma  # an n-step batch's own γ^k per sample
    q_values = q_forward(params, obs, dueling=dueling)
    q_taken = q_values.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        next_q_target = q_forward(target_params, next_obs, dueling=dueling)
        next_q_online = q_forward(params, next_obs, dueling=dueling) if double else None
        y = td_target(rewards, terminated, next_q_target, discount, next_q_online)
    return td_loss(q_taken, y, loss, huber_delta), q_taken, q_values


def update_diagnostics(
    losses: torch.Tensor, q_taken: torch.Tensor, q_values: torch.Tensor
) -> torch.Tensor:
    """The loss, ``q_mean``, then the batch means of the largest and the second-largest
    ``Q(s, ·)`` (just the largest with a single action), in one tensor (a row per member).

    The action gap, the mean largest minus the mean runner-up, is the margin the greedy action
    hangs on: when a network forgets, the gap and ``q_mean`` show it first.
    """
    with torch.no_grad():
        top = q_values.topk(min(2, q_values.shape[-1]), dim=-1).values.mean(dim=-2)
        return torch.cat([losses.unsqueeze(-1), q_taken.mean(dim=-1, keepdim=True), top], dim=-1)


def diagnostics_row(values: Sequence[float], epsilon: float) -> dict[str, float]:
    """What ``learn`` reports, from one member's row of :func:`update_diagnostics`."""
    return {
        "loss": values[0],
        "q_mean": values[1],
        "action_gap": values[2] - values[-1],
        "epsilon": epsilon,
    }


def gradient_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    lr: float,
    *,
    clip: Callable[[], object] | None = None,
) -> None:
    """``θ ← θ - α ∇θ loss`` (an optimizer step at learning rate ``lr``), ``clip`` first.

    ``loss`` may hold one loss per member of a stack: their sum's gradient is each member's own.
    At ``lr`` 0 (a schedule annealed to its end, as the CartPole preset's is after 70k steps)
    the network is frozen: a step would leave every weight as it is, so none is taken.
    """
    for group in optimizer.param_groups:
        group["lr"] = lr
    if lr > 0:
        optimizer.zero_grad()
        loss.sum().backward()
        if clip is not None:
            clip()
        optimizer.step()


def update_target(
    target: Sequence[torch.Tensor],
    online: Sequence[torch.Tensor],
    config: DQNConfig,
    updates_done: int,
) -> None:
    """``θ⁻ ← θ`` every ``target_update_every`` updates (hard), or ``θ⁻ ← τθ + (1-τ)θ⁻`` after
    every update (soft, Polyak averaging)."""
    with torch.no_grad():
        if config.target == "hard" and updates_done % config.target_update_every == 0:
            torch._foreach_copy_(target, online)
        elif config.target == "soft":
            torch._foreach_lerp_(target, online, config.tau)


def divergence_error(loss: float, step: int, update: int, lr: float, who: str) -> DivergenceError:
    """The error a NaN or infinite loss raises: where it happened and what to try."""
    return DivergenceError(
        f"{who} diverged: the loss became {loss} at env step {step} (update {update}). Likely "
        f"causes: a learning rate too large (now {lr:g}; try 10x smaller), rewards on a large "
        "scale (scale or clip them), or no target network / MSE loss on a hard problem (try "
        "target='hard', loss='huber', max_grad_norm=10)"
    )


# ----------------------------------------------------------------------------------------------
# The agent.
# ----------------------------------------------------------------------------------------------


class DQN(Agent):
    """Deep Q-learning with replay, a target network, Huber loss, Double and Dueling as switches.

    ::

        agent = rl.make_agent("dqn", env, seed=0)                    # CartPole-tuned preset
        agent = DQN(env.observation_space, env.action_space, seed=0, replay=False, target="none")
        agent = DQN(env.observation_space, env.action_space, config=DQNConfig(double=True))

    Keyword hyperparameters override the fields of ``config`` (see :class:`DQNConfig`).
    ``learn`` returns diagnostics only on steps where it updated: ``loss``, ``q_mean`` (mean
    ``Q(s, a)`` of the batch's taken actions), ``action_gap`` and ``epsilon``.
    Many seeds of one configuration train together as one ensemble
    (:func:`rlladder.deep.ensemble.train_ensemble`).
    """

    name = "DQN"

    def __init__(
        self,
        observation_space: gym.Space,
        action_space: gym.Space,
        *,
        seed: int | None = None,
        config: DQNConfig | None = None,
        **hyperparameters: Any,
    ) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        unknown = set(hyperparameters) - _FIELDS
        if unknown:
            raise unknown_name("DQN hyperparameter", sorted(unknown)[0], _FIELDS)
        cfg = dataclasses.replace(config or DQNConfig(), **hyperparameters).checked()
        self.config = cfg
        self.n_actions = discrete_actions(action_space, agent="DQN")
        self.adapter = vector_adapter(observation_space, agent="DQN")
        self.device = _resolve_device(cfg.device)
        self._on_cuda = self.device.type == "cuda"
        self.epsilon_schedule = as_schedule(cfg.epsilon, name="epsilon", owner="DQN")
        self.lr_schedule = as_schedule(
            cfg.learning_rate, name="learning_rate", high=math.inf, owner="DQN", positive_start=True
        )

        # Network initialisation draws from torch's generator: fork it so that the agent's seed
        # alone decides the weights and the caller's global torch state is left untouched.
        torch_seed = int(self.rng.integers(2**62))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(torch_seed)
            self.q_net = QNetwork(
                self.adapter.dim, self.n_actions, cfg.hidden_sizes, dueling=cfg.dueling
            ).to(self.device)
        self.target_net: QNetwork | None = None
        if cfg.target != "none":
            self.target_net = copy.deepcopy(self.q_net).requires_grad_(False)
        self._online = list(self.q_net.parameters())
        self._target = list(self.target_net.parameters()) if self.target_net else self._online
        self.optimizer = make_optimizer(cfg.optimizer, self._online, self.lr_schedule(0))
        self._clip = self._clip_gradient if cfg.max_grad_norm is not None else None
        self._loss_options = {
            "gamma": cfg.gamma,
            "loss": cfg.loss,
            "double": cfg.double,
            "huber_delta": cfg.huber_delta,
            "dueling": cfg.dueling,
        }
        # Without replay the buffer holds just the latest transition.
        capacity = cfg.buffer_size if cfg.replay else 1
        self.buffer = ReplayBuffer(
            capacity, self.adapter.dim, rng=self.rng, n_step=cfg.n_step, gamma=cfg.gamma
        )
        self.steps_done = 0  # env steps seen by learn()
        self.episodes_done = 0
        self.updates_done = 0  # gradient steps taken

    @classmethod
    def default_hyperparameters(cls) -> dict[str, Any]:
        """Every field of :class:`DQNConfig` at its default (``make_agent`` and ``Variant`` take
        them as keywords; ``config=`` is for building a DQN directly)."""
        defaults = DQNConfig()
        return {f.name: getattr(defaults, f.name) for f in dataclasses.fields(DQNConfig)}

    # -- acting -----------------------------------------------------------------------------

    @property
    def epsilon(self) -> float:
        """The exploration rate now."""
        return self.epsilon_schedule.at(step=self.steps_done, episode=self.episodes_done)

    def q_values(self, obs: Any) -> np.ndarray:
        """``Q(obs, ·)`` as a numpy array, one value per action."""
        x = torch.as_tensor(self.adapter(obs), device=self.device)
        with torch.inference_mode():
            return self.q_net(x.unsqueeze(0))[0].cpu().numpy()

    def act(self, obs: Any, *, explore: bool = True) -> int:
        """Epsilon-greedy on ``Q(obs, ·)`` when exploring, greedy (no side effects) otherwise."""
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.n_actions))
        x = torch.from_numpy(self.adapter(obs))
        if self._on_cuda:
            x = x.to(self.device)
        with torch.inference_mode():
            return int(self.q_net.act_forward(x.unsqueeze(0)).argmax())

    def begin_episode(self) -> None:
        # the newest stored transition ended an episode, even one a step budget cut short
        self.buffer.end_episode()

    def end_episode(self) -> None:
        self.episodes_done += 1

    # -- learning ---------------------------------------------------------------------------

    def learn(self, transition: Transition) -> dict[str, float]:
        """Store the transition; every ``train_every`` steps (after ``learning_starts``) take
        ``gradient_steps`` updates on minibatches from the buffer, or on the latest transition
        alone without replay. Returns the last update's diagnostics, or ``{}``."""
        cfg = self.config
        t, adapt = transition, self.adapter
        self.buffer.add(adapt(t.obs), t.action, t.reward, adapt(t.next_obs), t.terminated, t.done)
        self.steps_done += 1
        if not cfg.updates_at(self.steps_done):
            return {}
        for _ in range(cfg.gradient_steps):
            batch = self.buffer.sample(cfg.batch_size) if cfg.replay else self.buffer.latest()
            diagnostics = self._update(batch)
        return diagnostics

    def _update(self, batch: Batch | NStepBatch) -> dict[str, float]:
        """One gradient step on ``batch``, then the target update:

        .. math:: y_i = r_i + \\gamma (1 - d_i)\\, Q\\big(s'_i, a^*_i; \\theta^-\\big), \\quad
                  a^*_i = \\operatorname{argmax}_{a'} Q(s'_i, a'; \\theta^-)
                  \\ \\ (\\text{Double DQN: } \\operatorname{argmax}_{a'} Q(s'_i, a'; \\theta))

        .. math:: \\theta \\leftarrow \\theta - \\alpha \\nabla_\\theta \\frac{1}{B} \\sum_i
                  \\ell\\big(y_i - Q(s_i, a_i; \\theta)\\big)

        with ``ℓ`` the squared or Huber loss and ``θ⁻ = θ`` without a target network. With
        ``n_step`` n, ``r_i`` is the discounted sum of the next ``k_i <= n`` rewards, ``s'_i`` the
        state after them and ``γ`` becomes ``γ^{k_i}``
        (:func:`~rlladder.deep.replay.n_step_returns`). ``learn`` samples the batch; the
        ensemble's update (:mod:`rlladder.deep.ensemble`) is this one, with stacked parameters.
        """
        batch = [self._tensor(a) for a in batch]
        loss, q_taken, q_values = dqn_loss(self._online, self._target, batch, **self._loss_options)
        lr = self.lr_schedule.at(step=self.steps_done, episode=self.episodes_done)
        gradient_step(self.optimizer, loss, lr, clip=self._clip)
        self.updates_done += 1
        self._update_target()
        values = update_diagnostics(loss, q_taken, q_values).tolist()  # one transfer
        if not math.isfinite(values[0]):
            lr = self.optimizer.param_groups[0]["lr"]
            raise divergence_error(values[0], self.steps_done, self.updates_done, lr, "DQN")
        return diagnostics_row(values, self.epsilon)

    def _update_target(self) -> None:
        """``θ⁻ ← θ`` every ``target_update_every`` updates (``target="hard"``), or
        ``θ⁻ ← τθ + (1-τ)θ⁻`` after every update (``"soft"``); nothing without a target network."""
        update_target(self._target, self._online, self.config, self.updates_done)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(array)
        return x.to(self.device, non_blocking=True) if self._on_cuda else x

    def _clip_gradient(self) -> None:
        nn.utils.clip_grad_norm_(self._online, self.config.max_grad_norm)

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizer, counters, RNG state and replay buffer, as tensors and plain values.

        Everything in it loads with ``torch.load(..., weights_only=True)``.
        """
        buffer = {
            k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v
            for k, v in self.buffer.state_dict().items()
        }
        return {
            "config": self.config.to_dict(),
            "seed": checkpoints.plain_seed(self.seed),  # the generator's state is saved below
            "q_net": self.q_net.state_dict(),
            "target_net": None if self.target_net is None else self.target_net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "steps_done": self.steps_done,
            "episodes_done": self.episodes_done,
            "updates_done": self.updates_done,
            "rng": checkpoints.rng_state(self.rng),
            "buffer": buffer,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (into an agent built with the same config)."""
        self.q_net.load_state_dict(state["q_net"])
        if self.target_net is not None and state["target_net"] is not None:
            self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.steps_done = int(state["steps_done"])
        self.episodes_done = int(state["episodes_done"])
        self.updates_done = int(state["updates_done"])
        if type(self.rng.bit_generator).__name__ == state["rng"]["bit_generator"]:
            checkpoints.set_rng_state(self.rng, state["rng"])  # in place: the buffer shares it
        else:  # a PCG64DXSM one: the agent and its buffer draw from a new one of that kind
            self.rng = self.buffer.rng = checkpoints.rng_from_state(state["rng"])
        buffer = {
            k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in state["buffer"].items()
        }
        self.buffer.load_state_dict(buffer)

    def save(self, path: str | Path) -> None:
        """Write a checkpoint (with its header and the spaces) that :meth:`DQN.load` restores."""
        state = {
            **checkpoints.header("DQN"),
            **self.state_dict(),
            "spaces": checkpoints.spaces_to_dict(self.observation_space, self.action_space),
        }
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")  # moved into place when whole
        try:
            torch.save(state, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(
        cls,
        path: str | Path,
        env: gym.Env | None = None,
        *,
        device: str | None = None,
    ) -> DQN:
        """Rebuild an agent from :meth:`save` (safely: ``torch.load(weights_only=True)``).

        The spaces come from the checkpoint, or from ``env`` if given; ``device`` overrides the
        saved one (e.g. load a GPU-trained agent on a laptop).

        Raises:
            FileNotFoundError: no file at ``path``.
            CheckpointError: the file is not an rlladder DQN checkpoint (one line saying why:
                not a torch file, pickled code that is never run, another agent's checkpoint).
        """
        state = _read_checkpoint(Path(path))
        obs_space, act_space = checkpoints.spaces_from_dict(state["spaces"], env, loader="DQN.load")
        config = dict(state["config"])
        config["hidden_sizes"] = tuple(config["hidden_sizes"])
        if device is not None:
            config["device"] = device
        agent = cls(obs_space, act_space, seed=state["seed"], **config)
        agent.load_state_dict(state)
        return agent

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"DQN(hidden_sizes={cfg.hidden_sizes}, replay={cfg.replay}, target={cfg.target!r}, "
            f"loss={cfg.loss!r}, double={cfg.double}, dueling={cfg.dueling})"
        )


def _read_checkpoint(path: Path) -> dict[str, Any]:
    """A DQN checkpoint's contents, read with ``weights_only=True``, its header checked."""
    kind = checkpoints.npz_checkpoint_kind(path)
    if kind is not None:  # a tabular agent's .npz
        raise checkpoints.wrong_kind(path, kind, "DQN")
    if not path.is_file():
        raise FileNotFoundError(f"no DQN checkpoint at {str(path)!r}")
    try:
        with warnings.catch_warnings():  # torch warns about pickle protocols before it refuses
            warnings.simplefilter("ignore")
            state = torch.load(path, weights_only=True, map_location="cpu")
    except Exception as error:  # whatever torch says, the file is not a DQN checkpoint
        reason = f"torch could not read it safely: {checkpoints.short_reason(error)}"
        raise checkpoints.not_a_checkpoint(path, "DQN", reason) from None
    if isinstance(state, dict) and "format" not in state and {"config", "q_net"} <= set(state):
        return state  # format 0: written before checkpoints had a header
    checkpoints.check_header(state, path, "DQN")
    return state
