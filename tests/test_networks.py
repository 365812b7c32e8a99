"""Q-networks: shapes, an unbounded linear output, the dueling identity, bad sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlladder.deep.networks import DuelingHead, QNetwork
from rlladder.errors import ConfigError


def test_shapes_and_hidden_sizes():
    net = QNetwork(4, 3, (32, 16))
    assert net(torch.zeros(5, 4)).shape == (5, 3)
    linears = [m for m in net.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 32), (32, 16), (16, 3)]


def test_output_has_no_activation():
    """The last layer is linear: Q-values can be negative and larger than 1."""
    net = QNetwork(2, 2, (8,))
    assert isinstance(net.head, nn.Linear)
    with torch.no_grad():
        net.head.bias.copy_(torch.tensor([-5.0, 7.0]))
        net.head.weight.zero_()
    assert net(torch.randn(3, 2)).tolist() == [[-5.0, 7.0]] * 3


def test_empty_hidden_sizes_is_a_linear_model():
    net = QNetwork(3, 2, ())
    assert [type(m) for m in net.modules() if not isinstance(m, QNetwork | nn.Sequential)] == [
        nn.Linear
    ]


def test_dueling_head_is_value_plus_centred_advantage():
    head = DuelingHead(4, 3)
    x = torch.randn(6, 4)
    q = head(x)
    v, a = head.value(x), head.advantage(x)
    torch.testing.assert_close(q, v + a - a.mean(dim=1, keepdim=True))
    # the mean over actions of Q is exactly V
    torch.testing.assert_close(q.mean(dim=1, keepdim=True), v)
    assert isinstance(QNetwork(4, 3, (8,), dueling=True).head, DuelingHead)


@pytest.mark.parametrize("sizes", [(0,), (64, 0), (-1,), (2.5,), "abc", 64])
def test_bad_hidden_sizes(sizes):
    with pytest.raises(ConfigError, match="hidden"):
        QNetwork(4, 2, sizes)


@pytest.mark.parametrize("dueling", [False, True])
def test_act_forward_is_forward(dueling):
    net = QNetwork(4, 3, (8, 8), dueling=dueling)
    x = torch.randn(5, 4)
    torch.testing.assert_close(net.act_forward(x), net(x))
