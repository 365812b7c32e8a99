"""Replay buffer: ring overwrite, vectorised seeded sampling, terminated kept, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from rlladder.deep.replay import ReplayBuffer
from rlladder.errors import ConfigError


def fill(buffer: ReplayBuffer, n: int) -> None:
    for i in range(n):
        buffer.add([i, -i], i % 3, float(i), [i + 1, -i - 1], i % 2 == 0)


def test_add_stores_every_field():
    buffer = ReplayBuffer(10, 2, seed=0)
    fill(buffer, 3)
    assert len(buffer) == 3
    np.testing.assert_array_equal(buffer.obs[:3], [[0, 0], [1, -1], [2, -2]])
    np.testing.assert_array_equal(buffer.next_obs[:3], [[1, -1], [2, -2], [3, -3]])
    np.testing.assert_array_equal(buffer.actions[:3], [0, 1, 2])
    np.testing.assert_array_equal(buffer.rewards[:3], [0, 1, 2])
    np.testing.assert_array_equal(buffer.terminated[:3], [1, 0, 1])
    assert buffer.obs.dtype == np.float32 and buffer.actions.dtype == np.int64


def test_ring_overwrites_the_oldest():
    buffer = ReplayBuffer(4, 2, seed=0)
    fill(buffer, 6)
    assert len(buffer) == 4 and buffer.position == 2
    assert sorted(buffer.rewards.tolist()) == [2, 3, 4, 5]
    latest = buffer.latest()
    assert latest.rewards.tolist() == [5.0] and latest.obs.shape == (1, 2)


def test_sample_shapes_and_only_stored_rows():
    buffer = ReplayBuffer(100, 2, seed=0)
    fill(buffer, 7)
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 2) and batch.next_obs.shape == (64, 2)
    assert batch.actions.shape == batch.rewards.shape == batch.terminated.shape == (64,)
    assert set(batch.rewards.tolist()) <= set(range(7))
    # rows stay consistent: next_obs = obs + (1, -1)
    np.testing.assert_array_equal(batch.next_obs - batch.obs, np.tile([1, -1], (64, 1)))


def test_seeded_sampling_is_reproducible():
    a, b, c = ReplayBuffer(50, 2, seed=3), ReplayBuffer(50, 2, seed=3), ReplayBuffer(50, 2, seed=4)
    for buf in (a, b, c):
        fill(buf, 50)
    assert np.array_equal(a.sample(32).rewards, b.sample(32).rewards)
    assert not np.array_equal(a.sample(32).rewards, c.sample(32).rewards)


def test_empty_and_bad_arguments():
    with pytest.raises(ConfigError, match="empty"):
        ReplayBuffer(5, 2).sample(1)
    with pytest.raises(ConfigError, match="capacity"):
        ReplayBuffer(0, 2)


def test_state_dict_round_trip():
    a = ReplayBuffer(8, 2, seed=0)
    fill(a, 11)
    b = ReplayBuffer(8, 2, seed=0)
    b.load_state_dict(a.state_dict())
    assert len(b) == 8 and b.position == a.position
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.terminated, b.terminated)
    with pytest.raises(ConfigError, match="mismatch"):
        ReplayBuffer(9, 2).load_state_dict(a.state_dict())
