"""Replay buffer: ring overwrite, vectorised seeded sampling, terminated kept, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

from rlladder.deep.replay import Batch, ReplayBuffer
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


# -- n-step returns --------------------------------------------------------------------------


def episode_buffer(capacity: int = 20, n_step: int = 3) -> ReplayBuffer:
    """Rewards 1, 2, 3, ... ; one episode of 4 steps that terminates, one of 3 cut by a time
    limit (done, not terminated), then an unfinished one of 2 steps; obs = the step's index."""
    buffer = ReplayBuffer(capacity, 1, seed=0, n_step=n_step, gamma=0.5)
    ends = {3: (True, True), 6: (False, True)}  # index: (terminated, done)
    for i in range(9):
        terminated, done = ends.get(i, (False, False))
        buffer.add([i], 0, float(i + 1), [i + 1], terminated, done)
    return buffer


def sample_at(buffer: ReplayBuffer, positions: list[int]):
    """The batch ``sample`` returns when its generator draws exactly ``positions``."""

    class Fixed:
        def integers(self, low, high, size):
            return np.array(positions)

    buffer.rng = Fixed()
    return buffer.sample(len(positions))


def test_n_step_sums_discounted_rewards_within_the_episode():
    batch = sample_at(episode_buffer(), [0, 1, 2, 3, 4, 5, 6, 7, 8])
    g = 0.5
    # step 0: r1 + g r2 + g^2 r3, bootstrap from s3 (after index 2) with g^3
    expected = [
        1 + g * 2 + g**2 * 3,
        2 + g * 3 + g**2 * 4,  # runs up to the terminal step 3
        3 + g * 4,  # stops after the terminal step: 2 rewards
        4,  # the terminal step itself
        5 + g * 6 + g**2 * 7,  # the truncated episode: stops after its last step (6)
        6 + g * 7,
        7,
        8 + g * 9,  # the unfinished episode: stops at the newest transition
        9,
    ]
    np.testing.assert_allclose(batch.rewards, expected, rtol=1e-6)
    np.testing.assert_array_equal(batch.next_obs[:, 0], [3, 4, 4, 4, 7, 7, 7, 9, 9])
    np.testing.assert_array_equal(batch.terminated, [0, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(batch.discount, [g**k for k in (3, 3, 2, 1, 3, 2, 1, 2, 1)])
    np.testing.assert_array_equal(batch.obs[:, 0], range(9))
    assert batch.rewards.dtype == batch.discount.dtype == np.float32


def test_n_step_wraps_around_a_full_ring_and_stops_at_the_newest():
    buffer = ReplayBuffer(4, 1, seed=0, n_step=3, gamma=0.5)
    for i in range(6):  # positions hold steps 4, 5, 2, 3; the newest (5) is at position 1
        buffer.add([i], 0, float(i), [i + 1], False)
    batch = sample_at(buffer, [3, 0, 1])
    np.testing.assert_allclose(batch.rewards, [3 + 0.5 * 4 + 0.25 * 5, 4 + 0.5 * 5, 5])
    np.testing.assert_array_equal(batch.next_obs[:, 0], [6, 6, 6])


def test_one_step_batches_are_unchanged_and_have_no_discount():
    one = sample_at(episode_buffer(n_step=1), [0, 2, 8])
    assert type(one) is Batch and len(one) == 5
    np.testing.assert_array_equal(one.rewards, [1, 3, 9])
    np.testing.assert_array_equal(one.next_obs[:, 0], [1, 3, 9])


def test_a_new_episode_marks_the_end_of_a_cut_one():
    buffer = ReplayBuffer(10, 1, seed=0, n_step=3, gamma=0.5)
    buffer.end_episode()  # empty: nothing to mark
    buffer.add([0], 0, 1.0, [1], False)
    buffer.add([1], 0, 2.0, [2], False)
    buffer.end_episode()  # a step budget cut the episode after two steps
    buffer.add([5], 0, 4.0, [6], False)
    buffer.add([6], 0, 8.0, [7], False)
    batch = sample_at(buffer, [0])
    np.testing.assert_allclose(batch.rewards, [1 + 0.5 * 2])  # never runs into the new episode
    np.testing.assert_array_equal(batch.next_obs[:, 0], [2])


def test_done_survives_a_checkpoint_and_old_checkpoints_load():
    a = episode_buffer()
    state = a.state_dict()
    b = ReplayBuffer(20, 1, n_step=3, gamma=0.5)
    b.load_state_dict(state)
    np.testing.assert_array_equal(a.done, b.done)
    del state["done"]  # written before episode ends were stored
    c = ReplayBuffer(20, 1, n_step=3, gamma=0.5)
    c.load_state_dict(state)
    np.testing.assert_array_equal(c.rewards, a.rewards)
    np.testing.assert_array_equal(c.done, a.terminated)  # its episodes end where they terminated
    assert c.done.any()


def test_bad_n_step_is_a_clear_error():
    with pytest.raises(ConfigError, match="n_step must be >= 1"):
        ReplayBuffer(5, 2, n_step=0)
