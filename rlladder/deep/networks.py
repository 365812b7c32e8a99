"""Q-networks: a function approximator ``Q(s, ·; θ)`` that outputs one value per action.

Two heads share the same body (a multi-layer perceptron with ReLU activations):

* the plain head is a linear layer with one output per action and **no activation**, since
  Q-values can be any real number;
* the dueling head (Wang et al., 2016) splits the last layer into a state value ``V(s)`` and
  advantages ``A(s, a)`` and recombines them as

  .. math:: Q(s, a) = V(s) + A(s, a) - \\frac{1}{|A|} \\sum_{a'} A(s, a')

  Subtracting the mean advantage makes the split identifiable: without it, any constant could
  move between ``V`` and ``A``.

::

    net = QNetwork(obs_dim=4, n_actions=2, hidden_sizes=(120, 84))
    q = net(torch.zeros(1, 4))          # shape (1, 2)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from rlladder.errors import ConfigError

__all__ = ["QNetwork", "DuelingHead", "mlp", "check_hidden_sizes"]


def check_hidden_sizes(hidden_sizes: Sequence[int], *, owner: str = "") -> tuple[int, ...]:
    """``hidden_sizes`` as a tuple of widths >= 1, or a :class:`ConfigError` saying what would work."""
    where = f"{owner}: " if owner else ""
    try:
        sizes = tuple(hidden_sizes)
    except TypeError:
        raise ConfigError(
            f"{where}hidden_sizes must be a sequence of layer widths such as (120, 84), "
            f"got {hidden_sizes!r}"
        ) from None
    for h in sizes:
        if isinstance(h, bool) or not isinstance(h, int) or h < 1:
            raise ConfigError(
                f"{where}every hidden size must be a whole number >= 1 (e.g. (120, 84)), "
                f"got hidden_sizes={hidden_sizes!r}"
            )
    return sizes


def mlp(in_dim: int, hidden_sizes: Sequence[int]) -> nn.Sequential:
    """Linear + ReLU layers of the given widths (an empty sequence gives the identity)."""
    layers: list[nn.Module] = []
    for width in check_hidden_sizes(hidden_sizes):
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    return nn.Sequential(*layers)


class DuelingHead(nn.Module):
    """``Q = V + A - mean(A)`` from a feature vector of size ``in_dim``."""

    def __init__(self, in_dim: int, n_actions: int) -> None:
        super().__init__()
        self.value = nn.Linear(in_dim, 1)
        self.advantage = nn.Linear(in_dim, n_actions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        advantage = self.advantage(features)
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)


class QNetwork(nn.Module):
    """An MLP mapping a batch of observation vectors ``(B, obs_dim)`` to Q-values ``(B, n_actions)``.

    Args:
        obs_dim: length of the (flattened) observation vector.
        n_actions: number of discrete actions.
        hidden_sizes: widths of the hidden layers, e.g. ``(120, 84)``; ``()`` is a linear model.
        dueling: use a :class:`DuelingHead` instead of a plain linear output layer.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden_sizes: Sequence[int] = (120, 84),
        *,
        dueling: bool = False,
    ) -> None:
        super().__init__()
        sizes = check_hidden_sizes(hidden_sizes)
        if obs_dim < 1 or n_actions < 1:
            raise ConfigError(
                f"QNetwork needs obs_dim >= 1 and n_actions >= 1, got {obs_dim} and {n_actions}"
            )
        body = mlp(obs_dim, sizes)  # built before the head: the order seeds draw weights in
        features = sizes[-1] if sizes else obs_dim
        head = DuelingHead(features, n_actions) if dueling else nn.Linear(features, n_actions)
        # one flat Sequential (hidden layers, then the head): fewer nested module calls per pass
        self.layers = nn.Sequential(*body, head)

    @property
    def head(self) -> nn.Module:
        """The output layer (a Linear, or a :class:`DuelingHead`)."""
        return self.layers[-1]

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.layers(obs)

    def act_forward(self, obs: torch.Tensor) -> torch.Tensor:
        """The same function as :meth:`forward`, minus ``nn.Module`` call overhead (and hooks).

        Acting runs one tiny forward pass per env step, where Python overhead is a large part of
        the cost; the agent uses this under ``torch.inference_mode()``.
        """
        x = obs
        for layer in self.layers:
            if type(layer) is nn.Linear:
                x = F.linear(x, layer.weight, layer.bias)
            elif type(layer) is nn.ReLU:
                x = torch.relu(x)
            else:
                x = layer(x)
        return x
