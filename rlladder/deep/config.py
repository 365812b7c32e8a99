"""The configuration of :class:`~rlladder.deep.dqn.DQN`: every switch and knob, checked.

::

    cfg = DQNConfig(double=True, learning_rate=5e-4).checked()
    cfg.to_dict()                     # plain values: TOML, JSON, weights_only checkpoints

The names a switch may take live here too: :data:`LOSSES`, :data:`OPTIMIZERS`, :data:`TARGETS`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.nn import functional as F

from rlladder.deep.networks import check_hidden_sizes
from rlladder.errors import ConfigError, check_int, check_range, unknown_name
from rlladder.schedules import Schedule, as_schedule

__all__ = ["DQNConfig", "LOSSES", "OPTIMIZERS", "TARGETS", "make_optimizer"]

#: loss name -> elementwise loss of (prediction, target, huber_delta), one value per sample
LOSSES: dict[str, Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]] = {
    "mse": lambda q, y, delta: F.mse_loss(q, y, reduction="none"),
    "huber": lambda q, y, delta: F.huber_loss(q, y, reduction="none", delta=delta),
}
#: optimizer name -> torch optimizer class
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}
TARGETS = ("none", "hard", "soft")


def make_optimizer(name: str, params: Iterable[torch.Tensor], lr: float) -> torch.optim.Optimizer:
    """The optimizer ``name`` over ``params``, in torch's *foreach* implementation.

    On a small network the default (single-tensor) implementation spends much of its time
    launching a dozen kernels per parameter; foreach launches them once for all parameters and
    computes the same numbers, bit for bit. Its arithmetic is elementwise, so one optimizer over
    stacked parameters (an ensemble's) steps each member exactly as the member's own would.
    torch's *fused* implementation is faster still, but its vectorised lanes and its scalar
    tail round differently, so a member's last few elements would not match its solo run's
    (tests/test_ensemble.py).
    """
    return OPTIMIZERS[name](params, lr=lr, foreach=True)


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
    every update, with ``tau``), ``double`` (Double DQN), ``gamma``, ``n_step`` (bootstrap after
    ``n`` rewards instead of one; needs ``replay``).
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
    n_step: int = 1
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
        check_int("n_step", self.n_step, 1, owner=owner)
        if self.n_step > 1 and not self.replay:
            raise ConfigError(
                f"{owner}: n_step={self.n_step} needs replay=True (the n-step return is read off "
                "consecutive transitions in the replay buffer); use replay=True, or n_step=1"
            )
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

    def updates_at(self, step: int) -> bool:
        """Whether the agent updates after its ``step``-th env step (counted from 1)."""
        return step > self.learning_starts and step % self.train_every == 0

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
