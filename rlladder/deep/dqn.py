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
===============  =====================================================================  ==============================================================

.. /generated: dqn-rungs-rst

The math is in small pure functions (:func:`td_target`, :func:`td_loss`, :func:`dqn_loss`) that
take tensors and parameters and have no per-sample Python logic, so they can be tested against
hand-computed numbers and batched over seeds with ``torch.func.vmap``. The :class:`DQN` class
keeps the bookkeeping: buffer, counters, schedules, target updates, checkpoints.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rlladder import checkpoints
from rlladder.deep.networks import QNetwork, check_hidden_sizes
from rlladder.deep.replay import Batch, ReplayBuffer
from rlladder.errors import (
    ConfigError,
    DivergenceError,
    check_int,
    check_range,
    unknown_name,
)
from rlladder.interface import Agent, Transition
from rlladder.schedules import ConstantSchedule, Schedule, as_schedule
from rlladder.spaces import discrete_actions, vector_adapter

__all__ = ["DQN", "DQNConfig", "td_target", "td_loss", "dqn_loss", "LOSSES", "OPTIMIZERS"]

#: loss name -> elementwise loss of (prediction, target), averaged over the batch
LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "mse": lambda q, y, delta: F.mse_loss(q, y),
    "huber": lambda q, y, delta: F.huber_loss(q, y, delta=delta),
}
#: optimizer name -> torch optimizer class
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
TARGETS = ("none", "hard", "soft")


# ----------------------------------------------------------------------------------------------
# The math: pure functions of tensors.
# ----------------------------------------------------------------------------------------------


def td_target(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    next_q_target: torch.Tensor,
    gamma: float,
    next_q_online: torch.Tensor | None = None,
) -> torch.Tensor:
    """The one-step TD target for a batch, ``y = r + γ (1 - d) Q⁻(s', a*)``.

    ``a* = argmax_a' Q⁻(s', a')`` (DQN), or with ``next_q_online`` given, ``argmax_a' Q(s', a')``
    (Double DQN: the online network picks the action, the target network values it, which removes
    the max operator's upward bias). ``terminated`` is 1.0 where the episode truly ended.

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
    """Mean over the batch of the loss between ``Q(s, a)`` and the (constant) TD target ``y``.

    ``"mse"``: ``(y - Q)²``. ``"huber"``: ``½(y - Q)²`` while ``|y - Q| <= δ``, then ``δ(|y - Q| - ½δ)``:
    quadratic near zero, linear beyond, so one surprising transition cannot produce a huge step.
    """
    return LOSSES[loss](q_taken, target, huber_delta)


def dqn_loss(
    network: nn.Module,
    params: dict[str, torch.Tensor],
    target_params: dict[str, torch.Tensor],
    batch: Sequence[torch.Tensor],
    *,
    gamma: float,
    loss: str = "huber",
    double: bool = False,
    huber_delta: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The DQN loss as a function of ``(params, batch)``: ready for ``torch.func.grad`` and ``vmap``.

    ``batch`` is ``(obs, actions, rewards, next_obs, terminated)`` as tensors. Returns the loss and
    ``Q(s, a)`` of the taken actions. No gradient flows through the target.
    """
    obs, actions, rewards, next_obs, terminated = batch
    call = torch.func.functional_call
    q_taken = call(network, params, (obs,)).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    next_q_target = call(network, target_params, (next_obs,)).detach()
    next_q_online = call(network, params, (next_obs,)).detach() if double else None
    y = td_target(rewards, terminated, next_q_target, gamma, next_q_online)
    return td_loss(q_taken, y, loss, huber_delta), q_taken


# ----------------------------------------------------------------------------------------------
# The configuration.
# ----------------------------------------------------------------------------------------------


def _default_epsilon() -> dict[str, Any]:
    return {"kind": "linear", "start": 1.0, "end": 0.05, "duration": 10_000}


@dataclass
class DQNConfig:
    """Every switch and knob of :class:`DQN`; the agent also takes each as a keyword argument.

    Network: ``hidden_sizes`` (widths of the hidden layers), ``dueling`` (V + A head).
    Optimisation: ``optimizer`` (adam, adamw, rmsprop, sgd), ``learning_rate`` (a number or a
    schedule over env steps), ``loss`` (``"mse"`` or ``"huber"``, with ``huber_delta``),
    ``max_grad_norm`` (clip the gradient's global norm; ``None`` = no clipping).
    Data: ``replay`` (off = each update uses the latest transition alone), ``buffer_size``,
    ``batch_size``, ``learning_starts`` (env steps before the first update), ``train_every``
    (env steps between updates), ``gradient_steps`` (updates each time).
    Target: ``target`` (``"none"``: bootstrap from the online network itself; ``"hard"``: copy
    the online network every ``target_update_every`` updates; ``"soft"``: θ⁻ ← τθ + (1-τ)θ⁻ after
    every update, with ``tau``), ``double`` (Double DQN), ``gamma``.
    Exploration: ``epsilon`` (a number, a :class:`~rlladder.schedules.Schedule`, or a dict).
    ``device``: ``"cpu"`` (default) or ``"cuda"``.
    """

    hidden_sizes: tuple[int, ...] = (120, 84)
    dueling: bool = False
    optimizer: str = "adam"
    learning_rate: float | Schedule | dict[str, Any] = 1e-3
    loss: str = "huber"
    huber_delta: float = 1.0
    max_grad_norm: float | None = None
    gamma: float = 0.99
    replay: bool = True
    buffer_size: int = 50_000
    batch_size: int = 128
    learning_starts: int = 1_000
    train_every: int = 1
    gradient_steps: int = 1
    target: str = "hard"
    target_update_every: int = 500
    tau: float = 0.005
    double: bool = False
    epsilon: float | Schedule | dict[str, Any] = field(default_factory=_default_epsilon)
    device: str = "cpu"

    def checked(self, owner: str = "DQN") -> DQNConfig:
        """Validate every field (clear errors naming the field and what would work); return self."""
        self.hidden_sizes = check_hidden_sizes(self.hidden_sizes, owner=owner)
        if self.loss not in LOSSES:
            raise unknown_name("loss", self.loss, LOSSES)
        if self.optimizer not in OPTIMIZERS:
            raise unknown_name("optimizer", self.optimizer, OPTIMIZERS)
        if self.target not in TARGETS:
            raise unknown_name("target", self.target, TARGETS)
        check_range("gamma", self.gamma, 0.0, 1.0, owner=owner)
        check_range("huber_delta", self.huber_delta, 0.0, low_inclusive=False, owner=owner)
        check_range("tau", self.tau, 0.0, 1.0, low_inclusive=False, owner=owner)
        if self.max_grad_norm is not None:
            check_range("max_grad_norm", self.max_grad_norm, 0.0, low_inclusive=False, owner=owner)
        for name in ("buffer_size", "batch_size", "train_every", "gradient_steps"):
            check_int(name, getattr(self, name), 1, owner=owner)
        check_int("target_update_every", self.target_update_every, 1, owner=owner)
        check_int("learning_starts", self.learning_starts, 0, owner=owner)
        if self.replay and self.batch_size > self.buffer_size:
            raise ConfigError(
                f"{owner}: batch_size={self.batch_size} is larger than buffer_size="
                f"{self.buffer_size}; use a batch no larger than the buffer (e.g. batch_size=128, "
                "buffer_size=50_000)"
            )
        as_schedule(self.epsilon, name="epsilon", owner=owner)
        as_schedule(
            self.learning_rate,
            name="learning_rate",
            high=math.inf,
            owner=owner,
            positive_start=True,
        )
        if not isinstance(self.device, str | torch.device):
            raise ConfigError(f"{owner}: device must be 'cpu' or 'cuda', got {self.device!r}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain values only (schedules as dicts): safe for TOML, JSON and ``weights_only`` loads."""
        out = dataclasses.asdict(self)
        for key in ("epsilon", "learning_rate"):
            value = getattr(self, key)
            if isinstance(value, Schedule):
                out[key] = value.to_dict()
        out["hidden_sizes"] = list(self.hidden_sizes)
        out["device"] = str(self.device)
        return out


_FIELDS = {f.name for f in dataclasses.fields(DQNConfig)}


def _resolve_device(device: str | torch.device) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            f"DQN: device={str(device)!r} was asked for but CUDA is not available on this machine "
            "(torch.cuda.is_available() is False); use device='cpu'"
        )
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"DQN: device must be 'cpu' or 'cuda', got {str(device)!r}")
    return dev


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
            self._soft_pairs = (list(self.target_net.parameters()), list(self.q_net.parameters()))
        self._lr_varies = not isinstance(self.lr_schedule, ConstantSchedule)
        self.optimizer = OPTIMIZERS[cfg.optimizer](self.q_net.parameters(), lr=self.lr_schedule(0))
        # Without replay the buffer holds just the latest transition.
        capacity = cfg.buffer_size if cfg.replay else 1
        self.buffer = ReplayBuffer(capacity, self.adapter.dim, rng=self.rng)
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

    def end_episode(self) -> None:
        self.episodes_done += 1

    # -- learning ---------------------------------------------------------------------------

    def learn(self, transition: Transition) -> dict[str, float]:
        """Store the transition; every ``train_every`` steps take ``gradient_steps`` updates of

        .. math:: \\theta \\leftarrow \\theta - \\alpha \\nabla_\\theta \\frac{1}{B} \\sum_i
                  \\ell\\big(r_i + \\gamma (1 - d_i) \\max_{a'} Q(s'_i, a'; \\theta^-)
                  - Q(s_i, a_i; \\theta)\\big)

        on minibatches from the buffer (or the latest transition alone without replay), with
        ``ℓ`` the squared or Huber loss, then update the target network ``θ⁻``.
        """
        cfg = self.config
        t, adapt = transition, self.adapter
        self.buffer.add(adapt(t.obs), t.action, t.reward, adapt(t.next_obs), t.terminated)
        self.steps_done += 1
        if self.steps_done <= cfg.learning_starts or self.steps_done % cfg.train_every:
            return {}
        for _ in range(cfg.gradient_steps):
            batch = self.buffer.sample(cfg.batch_size) if cfg.replay else self.buffer.latest()
            diagnostics = self._update(batch)
        return diagnostics

    def _update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on ``batch``, then the target-network update."""
        cfg = self.config
        obs, actions, rewards, next_obs, terminated = (
            torch.from_numpy(a).to(self.device, non_blocking=True)
            if self._on_cuda
            else torch.from_numpy(a)
            for a in batch
        )
        q_all = self.q_net.layers(obs)
        q_taken = q_all.gather(1, actions.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            bootstrap_net = self.target_net if self.target_net is not None else self.q_net
            next_q_target = bootstrap_net.layers(next_obs)
            next_q_online = self.q_net.layers(next_obs) if cfg.double else None
            y = td_target(rewards, terminated, next_q_target, cfg.gamma, next_q_online)
        loss = td_loss(q_taken, y, cfg.loss, cfg.huber_delta)

        if self._lr_varies:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_schedule(self.steps_done)
        # A schedule that has annealed to exactly 0 (the CartPole preset, after 70k steps) has
        # frozen the network: a step would leave every weight as it is, so none is taken.
        if self.optimizer.param_groups[0]["lr"] > 0:
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.q_net.parameters(), cfg.max_grad_norm)
            self.optimizer.step()
        self.updates_done += 1
        self._update_target()

        # Diagnostics, read in one transfer. The action gap, max_a Q - second max_a Q averaged
        # over the batch, is the margin the greedy action hangs on: when a network forgets, the
        # gap and q_mean show it first. It is the mean of the top values minus the mean of the
        # runners-up (with a single action both are the top value, and the gap is 0).
        with torch.no_grad():
            top = q_all.topk(min(2, self.n_actions), dim=1).values.mean(0)
            values = torch.cat([loss.view(1), q_taken.mean().view(1), top]).tolist()
        gap = values[2] - values[-1]
        if not math.isfinite(values[0]):
            raise DivergenceError(
                f"DQN diverged: the loss became {values[0]} at env step {self.steps_done} "
                f"(update {self.updates_done}). Likely causes: a learning rate too large "
                f"(now {self.optimizer.param_groups[0]['lr']:g}; try 10x smaller), rewards on a "
                "large scale (scale or clip them), or no target network / MSE loss on a hard "
                "problem (try target='hard', loss='huber', max_grad_norm=10)"
            )
        return {
            "loss": values[0],
            "q_mean": values[1],
            "action_gap": gap,
            "epsilon": self.epsilon,
        }

    def _update_target(self) -> None:
        cfg = self.config
        if self.target_net is None:
            return
        if cfg.target == "hard":
            if self.updates_done % cfg.target_update_every == 0:
                self.target_net.load_state_dict(self.q_net.state_dict())
        else:  # soft (Polyak): θ⁻ ← τ θ + (1 - τ) θ⁻
            with torch.no_grad():
                target, online = self._soft_pairs
                torch._foreach_lerp_(target, online, cfg.tau)

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
            "seed": self.seed,
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
        checkpoints.set_rng_state(self.rng, state["rng"])
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
