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

The module holds the parameters; :func:`q_forward` is the same function of a parameter list,
for one network (``obs (B, obs_dim) -> (B, n_actions)``, exactly ``net(obs)``) or for a stack of
M networks (parameters and inputs with a leading *member* axis, ``(M, B, obs_dim) ->
(M, B, n_actions)``), which is how :mod:`~rlladder.deep.ensemble` trains many seeds at once.
Member ``m`` of a stack computes exactly what network ``m`` alone computes, bit for bit
(:func:`linear` says how).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from rlladder.errors import ConfigError

__all__ = [
    "QNetwork",
    "DuelingHead",
    "mlp",
    "check_hidden_sizes",
    "q_forward",
    "linear",
    "aligned_empty",
]


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


def q_forward(
    params: Sequence[torch.Tensor], obs: torch.Tensor, *, dueling: bool = False
) -> torch.Tensor:
    """``Q(obs, ·)`` as a function of a :class:`QNetwork`'s parameters (``net.parameters()`` order).

    One network: ``obs (B, obs_dim) -> (B, n_actions)``, exactly ``net(obs)``. A stack of M
    networks: every parameter and ``obs`` with a leading member axis, ``(M, B, obs_dim) -> (M, B,
    n_actions)``. The parameters are ``(weight, bias)`` per hidden layer (ReLU after each), then
    the head's, or with ``dueling`` the value's and the advantages' (``Q = V + A - mean_a A``).
    """
    n_hidden = (len(params) - (4 if dueling else 2)) // 2
    x = obs
    for i in range(n_hidden):
        x = torch.relu_(linear(x, params[2 * i], params[2 * i + 1]))  # in place: no copy
    if not dueling:
        return linear(x, params[-2], params[-1])
    value, advantage = linear(x, params[-4], params[-3]), linear(x, params[-2], params[-1])
    return value + advantage - advantage.mean(dim=-1, keepdim=True)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``x Wᵀ + b``: ``F.linear`` for one network, ``_StackedLinear`` for a stack
    (``x (M, B, in)``, ``weight (M, out, in)``, ``bias (M, out)``), whose member ``m`` is
    ``F.linear(x[m], weight[m], bias[m])`` bit for bit, forwards and backwards."""
    if weight.dim() == 2:
        return F.linear(x, weight, bias)
    if torch.is_grad_enabled() and (x.requires_grad or weight.requires_grad or bias.requires_grad):
        return _StackedLinear.apply(x, weight, bias)
    return _matmul(_aligned(x), _aligned(weight).transpose(1, 2), bias)  # no graph to record


#: below this many multiply-adds torch's batched product uses a loop of its own, not BLAS
#: (``contraction * rows * cols < 400`` in ATen's ``bmm``), while ``F.linear`` always uses BLAS
_BMM_NAIVE_BELOW = 400


def aligned_empty(members: int, rows: int, cols: int, like: torch.Tensor) -> torch.Tensor:
    """An uninitialised ``(members, rows, cols)`` tensor whose members each start on a 64-byte
    boundary (each member's rows contiguous), as a tensor of their own would; never contiguous
    as a whole, so torch multiplies into it one member at a time."""
    stride = -(-rows * cols // 16) * 16 + 16  # whole 64-byte lines, plus one
    return torch.empty_strided(
        (members, rows, cols), (stride, cols, 1), dtype=like.dtype, device=like.device
    )


def _aligned(t: torch.Tensor) -> torch.Tensor:
    """``t``, or a copy of it in :func:`aligned_empty`, so that every member starts on a 16-byte
    boundary and has contiguous rows, as a tensor of its own does."""
    members, rows, cols = t.shape
    itemsize = t.element_size()
    if (
        t.stride(2) == 1
        and t.stride(1) == cols
        and t.data_ptr() % 16 == 0
        and t.stride(0) * itemsize % 16 == 0
    ):
        return t
    out = aligned_empty(members, rows, cols, t)
    out.copy_(t)
    return out


def _matmul(a: torch.Tensor, b: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Member by member ``a[m] @ b[m] (+ bias[m])``, each exactly as the 2-D product of its own
    (``torch.mm`` / ``torch.addmm``) computes it. ``a`` and ``b`` come aligned (or as transposed
    views of aligned tensors)."""
    members, rows, inner = a.shape
    cols = b.shape[2]
    if inner * rows * cols < _BMM_NAIVE_BELOW:  # a product this small costs nothing: loop
        if bias is None:
            return torch.stack([torch.mm(a[m], b[m]) for m in range(members)])
        return torch.stack([torch.addmm(bias[m], a[m], b[m]) for m in range(members)])
    out = aligned_empty(members, rows, cols, a)
    if bias is None:  # beta=0: out's contents are ignored (and never propagate NaN)
        return torch.baddbmm(out, a, b, beta=0, out=out)
    return torch.baddbmm(bias.unsqueeze(1), a, b, out=out)


class _StackedLinear(torch.autograd.Function):
    """``x Wᵀ + b`` for M stacked networks, each member exactly as ``F.linear`` computes it.

    A batched product is not bit-identical to the products of its members taken one by one,
    for two reasons, both met on this CPU (torch 2.13, MKL): MKL's sums depend on alignment (an
    operand or an output 4 or 8 bytes off a 16-byte boundary is summed in another order), and
    members laid end to end in one tensor start wherever the previous one ended; and torch
    computes very small batched products with a loop of its own instead of BLAS. So every
    operand is aligned per member (copied if it is not), every output goes to
    :func:`aligned_empty` (which also makes torch run one BLAS product per member), the tiny
    products are taken member by member, and the backward pass computes what autograd computes
    for ``F.linear``: ``dL/dx = dL/dy W``, ``dL/dW = (dL/dy)ᵀ x``, ``dL/db = Σ_batch dL/dy``.
    """

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
    ) -> torch.Tensor:
        x, weight = _aligned(x), _aligned(weight)
        ctx.save_for_backward(x, weight)
        return _matmul(x, weight.transpose(1, 2), bias)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, weight = ctx.saved_tensors
        grad = _aligned(grad)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = _matmul(grad, weight)
        if ctx.needs_input_grad[1]:
            grad_w = _matmul(grad.transpose(1, 2), x)
        if ctx.needs_input_grad[2]:
            grad_b = grad.sum(dim=1)
        return grad_x, grad_w, grad_b
