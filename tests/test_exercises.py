"""The exercise checks: the library's own functions pass each, and typical wrong versions fail
each with the hint their catalogue names for that mistake."""

from __future__ import annotations

import copy
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import rlladder as rl
from rlladder.deep.config import DQNConfig
from rlladder.deep.dqn import td_loss, td_target, update_target
from rlladder.deep.replay import ReplayBuffer
from rlladder.exercises import deep, replay, schedules, tabular
from rlladder.tabular import q_learning
from rlladder.tabular.projective_simulation import glow_update, h_update

ex = rl.exercises

# ---------------------------------------------------------------------------------------------
# The library's own functions, in the form the student writes them: each check passes them.
# ---------------------------------------------------------------------------------------------


def hard_update(target_net, online_net):
    config = DQNConfig(target="hard", target_update_every=1)
    update_target(list(target_net.parameters()), list(online_net.parameters()), config, 0)


def soft_update(target_net, online_net, tau):
    config = DQNConfig(target="soft", tau=tau)
    update_target(list(target_net.parameters()), list(online_net.parameters()), config, 0)


def q_learning_update(q, s, a, reward, next_s, terminated, eta, gamma):
    target = q_learning.td_target(reward, float(q[next_s].max()), gamma, terminated)
    q_learning.td_update(q, s, a, target, eta)


REFERENCES = {
    "check_linear_schedule": lambda t, s, e, d: rl.LinearSchedule(s, e, d)(t),
    "check_exponential_schedule": lambda t, s, e, k: rl.ExponentialSchedule(s, e, k)(t),
    "check_replay_buffer": ReplayBuffer,
    "check_td_target": td_target,
    "check_mse_loss": lambda q, y: td_loss(q, y, "mse"),
    "check_huber_loss": lambda q, y, delta: td_loss(q, y, "huber", delta),
    "check_hard_target_update": hard_update,
    "check_soft_target_update": soft_update,
    "check_q_learning_update": q_learning_update,
    "check_glow_update": glow_update,
    "check_h_update": h_update,
}


def test_every_check_has_a_reference_here():
    assert set(REFERENCES) == {name for name in ex.__all__ if name.startswith("check_")}


@pytest.mark.parametrize("check", sorted(REFERENCES))
def test_the_library_passes_every_check_with_one_line(check, capsys):
    getattr(ex, check)(REFERENCES[check])
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    count = int(out.split(": ")[1].split()[0])
    assert out == f"{check}: {count} cases passed\n" and count >= 6


# ---------------------------------------------------------------------------------------------
# Typical wrong versions, each with the hint its mistake should get.
# ---------------------------------------------------------------------------------------------


def fails_with(check, fn, hints, key, case=None):
    """Run ``check(fn)``; assert it fails with the hint ``hints[key]`` (and on ``case``)."""
    with pytest.raises(ex.ExerciseFailed) as info:
        check(fn)
    message = str(info.value)
    assert f"hint: {hints[key]}" in message, message
    if case is not None:
        assert f"case '{case}'" in message, message
    return info.value


LINEAR = [
    ("not clamped after the duration", lambda t, s, e, d: s + t / d * (e - s), "clamp"),
    ("integer division", lambda t, s, e, d: s + min(t // d, 1) * (e - s), "true-division"),
    ("clamps the value", lambda t, s, e, d: max(s + t / d * (e - s), e), "increasing"),
    ("forgets end", lambda t, s, e, d: s - min(t / d, 1) * s, "line"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), LINEAR, ids=[m for m, *_ in LINEAR])
def test_wrong_linear_schedules_get_their_hint(mistake, fn, key):
    fails_with(ex.check_linear_schedule, fn, schedules.LINEAR_SCHEDULE_HINTS, key)


EXPONENTIAL = [
    ("start * decay**t", lambda t, s, e, k: s * k**t, "offset"),
    ("max(start * decay**t, end)", lambda t, s, e, k: max(s * k**t, e), "offset"),
    ("(1 - decay)**t", lambda t, s, e, k: e + (s - e) * (1 - k) ** t, "factor"),
    ("one step too many", lambda t, s, e, k: e + (s - e) * k ** (t + 1), "start"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), EXPONENTIAL, ids=[m for m, *_ in EXPONENTIAL])
def test_wrong_exponential_schedules_get_their_hint(mistake, fn, key):
    fails_with(ex.check_exponential_schedule, fn, schedules.EXPONENTIAL_SCHEDULE_HINTS, key)


def test_a_schedule_that_returns_no_number_is_told_so():
    error = fails_with(
        ex.check_linear_schedule, lambda t, s, e, d: [s], schedules.LINEAR_SCHEDULE_HINTS, "number"
    )
    assert "expected a number (a float), got a list" in str(error)


def test_the_students_own_error_is_named_and_chained():
    def broken(t, start, end, duration):
        return start + (end - start) * t / (duration - duration)

    with pytest.raises(ex.ExerciseFailed) as info:
        ex.check_linear_schedule(broken)
    assert isinstance(info.value, AssertionError)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "your function raised ZeroDivisionError: float division by zero" in str(info.value)
    assert "case 't = 0 gives start' (1 of 11)" in str(info.value)


# -- the replay buffer: the library's buffer with one thing broken ----------------------------


class NeverOverwrites(ReplayBuffer):
    def add(self, obs, action, reward, next_obs, terminated):
        if len(self) < self.capacity:
            super().add(obs, action, reward, next_obs, terminated)


class OverwritesTheNewest(ReplayBuffer):
    def add(self, obs, action, reward, next_obs, terminated):
        if len(self) == self.capacity:
            self.position = self.capacity - 1
        super().add(obs, action, reward, next_obs, terminated)


class SamplesBeyondSize(ReplayBuffer):
    def sample(self, batch_size):
        return self._gather(self.rng.integers(0, self.capacity, size=batch_size))


class StoresNotDone(ReplayBuffer):
    """Stores the "not done" mask many codes keep, under the name terminated."""

    def add(self, obs, action, reward, next_obs, terminated):
        super().add(obs, action, reward, next_obs, not terminated)


class FavoursTheNewest(ReplayBuffer):
    def sample(self, batch_size):
        idx = self.rng.integers(0, len(self), size=batch_size)
        idx[: batch_size // 2] = (self.position - 1) % self.capacity
        return self._gather(idx)


class ListBuffer:
    """A list-based buffer that draws its index up to capacity (an IndexError when not full)."""

    def __init__(self, capacity, obs_dim, seed=0):
        self.capacity, self.items = capacity, []
        self.rng = np.random.default_rng(seed)

    def add(self, *transition):
        self.items = [*self.items, transition][-self.capacity :]

    def __len__(self):
        return len(self.items)

    def sample(self, batch_size):
        rows = [self.items[self.rng.integers(0, self.capacity)] for _ in range(batch_size)]
        fields = [np.array(column) for column in zip(*rows, strict=True)]
        return SimpleNamespace(**dict(zip(replay.FIELDS, fields, strict=True)))


class NoSeed(ReplayBuffer):
    def __init__(self, capacity, obs_dim):
        super().__init__(capacity, obs_dim)


class DictBatch(ReplayBuffer):
    def sample(self, batch_size):
        return super().sample(batch_size)._asdict()


BUFFERS = [
    (NeverOverwrites, "overwrite", "a full buffer overwrites the oldest entry"),
    (OverwritesTheNewest, "overwrite", "a full buffer overwrites the oldest entry"),
    (SamplesBeyondSize, "stored-only", "one transition"),
    (StoresNotDone, "terminated", "one transition"),
    (FavoursTheNewest, "uniform", "sampling is uniform"),
    (ListBuffer, "stored-only", "one transition"),
    (DictBatch, "one", "one transition"),
    (NoSeed, "make", "an empty buffer"),
]


@pytest.mark.parametrize(("cls", "key", "case"), BUFFERS, ids=[c.__name__ for c, *_ in BUFFERS])
def test_wrong_replay_buffers_get_their_hint(cls, key, case):
    error = fails_with(ex.check_replay_buffer, cls, replay.REPLAY_BUFFER_HINTS, key, case)
    if cls is ListBuffer:
        assert isinstance(error.__cause__, IndexError)
    if cls is DictBatch:
        assert "without a field 'obs'" in str(error)


def test_a_time_limit_comes_back_not_terminated():
    class StoresDone(ReplayBuffer):  # a truncated transition stored as the episode's end
        def add(self, obs, action, reward, next_obs, terminated, truncated=True):
            super().add(obs, action, reward, next_obs, terminated or truncated)

    error = fails_with(ex.check_replay_buffer, StoresDone, replay.REPLAY_BUFFER_HINTS, "terminated")
    assert "has terminated 1.0; it was added with terminated 0.0" in str(error)


def test_a_buffer_that_returns_tensors_of_any_dtype_passes(capsys):
    class TensorBatch(ReplayBuffer):
        def sample(self, batch_size):
            batch = super().sample(batch_size)
            fields = {f: torch.as_tensor(getattr(batch, f)).double() for f in batch._fields}
            fields["terminated"] = torch.as_tensor(batch.terminated).bool()
            return batch._replace(**fields)

    ex.check_replay_buffer(TensorBatch)
    assert "check_replay_buffer: 11 cases passed" in capsys.readouterr().out


# -- the TD target ------------------------------------------------------------------------------


def _max(q):
    return q.max(dim=-1).values


def in_place(r, d, q, g):
    r += g * (1 - d) * _max(q)
    return r


TD_TARGETS = [
    ("bootstraps on terminal", lambda r, d, q, g: r + g * _max(q), "terminal"),
    ("mean, not max", lambda r, d, q, g: r + g * (1 - d) * q.mean(dim=-1), "max"),
    ("sign error", lambda r, d, q, g: r - g * (1 - d) * _max(q), "add"),
    ("forgets gamma", lambda r, d, q, g: r + (1 - d) * _max(q), "gamma"),
    ("squeezes the batch", lambda r, d, q, g: (r + g * (1 - d) * _max(q)).squeeze(), "shape"),
    ("one flag for the batch", lambda r, d, q, g: r if d.any() else r + g * _max(q), "mixed"),
    ("max over the batch", lambda r, d, q, g: r + g * (1 - d) * q.max(dim=0).values, "axis"),
    ("changes rewards in place", in_place, "in-place-input"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), TD_TARGETS, ids=[m for m, *_ in TD_TARGETS])
def test_wrong_td_targets_get_their_hint(mistake, fn, key):
    fails_with(ex.check_td_target, fn, deep.TD_TARGET_HINTS, key)


def test_a_wrong_axis_on_a_square_batch_gets_its_hint():
    def over_batch(r, d, q, g):  # right for a batch of one, wrong where the batch is square
        return r + g * (1 - d) * (q.max(dim=0).values if q.shape[0] == q.shape[1] else _max(q))

    fails_with(ex.check_td_target, over_batch, deep.TD_TARGET_HINTS, "axis")


def test_a_failure_names_case_expected_and_yours():
    error = fails_with(
        ex.check_td_target, lambda r, d, q, g: r + g * _max(q), deep.TD_TARGET_HINTS, "terminal"
    )
    assert str(error).splitlines()[:4] == [
        "check_td_target: case 'a terminal transition' (3 of 13) failed",
        "  inputs:   rewards=[1.0], terminated=[1.0], next_q_target=[[2.0, 3.0]], gamma=0.9",
        "  expected: [1.0]",
        "  yours:    [3.7]",
    ]


# -- the losses ---------------------------------------------------------------------------------


MSE = [
    ("sum, not mean", lambda q, y: ((y - q) ** 2).sum(), "mean"),
    ("no mean", lambda q, y: (y - q) ** 2, "shape"),
    ("absolute error", lambda q, y: (y - q).abs().mean(), "square"),
    ("a half too many", lambda q, y: 0.5 * ((y - q) ** 2).mean(), "square"),
    ("detached", lambda q, y: torch.tensor(((y - q) ** 2).mean().item()), "gradient"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), MSE, ids=[m for m, *_ in MSE])
def test_wrong_mse_losses_get_their_hint(mistake, fn, key):
    fails_with(ex.check_mse_loss, fn, deep.MSE_LOSS_HINTS, key)


def huber(small, large, test=abs):
    """A Huber loss built from two branches and a test, to break one piece at a time."""

    def loss(q, y, delta):
        e = y - q
        return torch.where(test(e) <= delta, small(e, delta), large(e, delta)).mean()

    return loss


QUADRATIC = lambda e, d: 0.5 * e**2  # noqa: E731
LINEAR_BRANCH = lambda e, d: d * (e.abs() - 0.5 * d)  # noqa: E731

HUBER = [
    ("the right one", huber(QUADRATIC, LINEAR_BRANCH), None),
    ("branches swapped", huber(LINEAR_BRANCH, QUADRATIC), "small"),
    ("linear branch without -delta/2", huber(QUADRATIC, lambda e, d: d * e.abs()), "large"),
    ("delta/2 taken as 1/2", huber(QUADRATIC, lambda e, d: d * (e.abs() - 0.5)), "delta"),
    ("delta ignored", lambda q, y, delta: torch.nn.functional.huber_loss(q, y), "delta"),
    (
        "no absolute value",
        huber(QUADRATIC, lambda e, d: d * (e - 0.5 * d), lambda e: e),
        "negative",
    ),
    ("sum, not mean", lambda q, y, delta: td_loss(q, y, "huber", delta) * len(q), "mean"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), HUBER, ids=[m for m, *_ in HUBER])
def test_wrong_huber_losses_get_their_hint(mistake, fn, key, capsys):
    if key is None:
        ex.check_huber_loss(fn)
        assert capsys.readouterr().out == "check_huber_loss: 12 cases passed\n"
    else:
        fails_with(ex.check_huber_loss, fn, deep.HUBER_LOSS_HINTS, key)


# -- the target updates -------------------------------------------------------------------------


def aliases(target_net, online_net):
    for t, o in zip(target_net.parameters(), online_net.parameters(), strict=True):
        t.data = o.data


def copies_backwards(target_net, online_net):
    online_net.load_state_dict(target_net.state_dict())


def returns_a_copy(target_net, online_net):
    target_net = copy.deepcopy(online_net)
    return target_net


def copies_the_first_layer(target_net, online_net):
    with torch.no_grad():
        next(target_net.parameters()).copy_(next(online_net.parameters()))


HARD = [
    (aliases, "alias"),
    (copies_backwards, "online"),
    (returns_a_copy, "unchanged"),
    (copies_the_first_layer, "copy"),
]


@pytest.mark.parametrize(("fn", "key"), HARD, ids=[f.__name__ for f, _ in HARD])
def test_wrong_hard_updates_get_their_hint(fn, key):
    fails_with(ex.check_hard_target_update, fn, deep.HARD_TARGET_UPDATE_HINTS, key)


def test_a_hard_update_through_the_state_dict_passes(capsys):
    ex.check_hard_target_update(lambda t, o: t.load_state_dict(o.state_dict()))
    assert capsys.readouterr().out.startswith("check_hard_target_update:")


def soft(mix):
    def update(target_net, online_net, tau):
        with torch.no_grad():
            for t, o in zip(target_net.parameters(), online_net.parameters(), strict=True):
                t.copy_(mix(t, o, tau))

    return update


SOFT = [
    ("the right one", soft(lambda t, o, tau: tau * o + (1 - tau) * t), None),
    ("tau and 1 - tau swapped", soft(lambda t, o, tau: (1 - tau) * o + tau * t), "small-tau"),
    ("a hard copy", soft(lambda t, o, tau: o.clone()), "halfway"),
    ("not in place", lambda t, o, tau: copy.deepcopy(o), "unchanged"),
]


@pytest.mark.parametrize(("mistake", "fn", "key"), SOFT, ids=[m for m, *_ in SOFT])
def test_wrong_soft_updates_get_their_hint(mistake, fn, key, capsys):
    if key is None:
        ex.check_soft_target_update(fn)
        assert capsys.readouterr().out == "check_soft_target_update: 8 cases passed\n"
    else:
        fails_with(ex.check_soft_target_update, fn, deep.SOFT_TARGET_UPDATE_HINTS, key)


# -- the tabular updates ------------------------------------------------------------------------


def q_update(next_value=lambda q, s, s1: q[s1].max(), bootstrap_terminal=False, form="td"):
    """A Q-learning update with one piece swappable."""

    def update(q, s, a, reward, next_s, terminated, eta, gamma):
        target = reward
        if bootstrap_terminal or not terminated:
            target = reward + gamma * next_value(q, s, next_s)
        if form == "td":
            q[s, a] += eta * (target - q[s, a])
        elif form == "no-eta":
            q[s, a] = target
        elif form == "no-estimate":
            q[s, a] += eta * target
        elif form == "row":
            q[s] += eta * (target - q[s, a])

    return update


def returns_a_new_table(q, s, a, reward, next_s, terminated, eta, gamma):
    q = q.copy()
    q[s, a] += eta * (reward + gamma * (1 - terminated) * q[next_s].max() - q[s, a])
    return q


Q_UPDATES = [
    ("bootstraps on terminal", q_update(bootstrap_terminal=True), "terminal"),
    ("the current state's row", q_update(lambda q, s, s1: q[s].max()), "next-row"),
    ("the max of the whole table", q_update(lambda q, s, s1: q.max()), "next-row"),
    ("mean, not max", q_update(lambda q, s, s1: q[s1].mean()), "max"),
    ("forgets gamma", lambda q, s, a, r, s1, d, eta, g: q_update()(q, s, a, r, s1, d, eta, 1.0), "gamma"),
    ("no learning rate", q_update(form="no-eta"), "eta"),
    ("adds eta * target", q_update(form="no-estimate"), "estimate"),
    ("updates the whole row", q_update(form="row"), "one-entry"),
    ("returns a new table", returns_a_new_table, "unchanged"),
]  # fmt: skip


@pytest.mark.parametrize(("mistake", "fn", "key"), Q_UPDATES, ids=[m for m, *_ in Q_UPDATES])
def test_wrong_q_learning_updates_get_their_hint(mistake, fn, key):
    fails_with(ex.check_q_learning_update, fn, tabular.Q_LEARNING_UPDATE_HINTS, key)


def glow_not_decayed(glow, s, a, eta):
    glow[s, a] = 1.0


def glow_decayed_by_eta(glow, s, a, eta):
    glow *= eta
    glow[s, a] = 1.0


def glow_set_then_decayed(glow, s, a, eta):
    glow[s, a] = 1.0
    glow *= 1 - eta


def glow_added(glow, s, a, eta):
    glow *= 1 - eta
    glow[s, a] += 1.0


def glow_edge_forgotten(glow, s, a, eta):
    glow *= 1 - eta


GLOWS = [
    (glow_not_decayed, "decay"),
    (glow_decayed_by_eta, "decay"),
    (glow_set_then_decayed, "edge"),
    (glow_added, "order"),
    (glow_edge_forgotten, "edge"),
]


@pytest.mark.parametrize(("fn", "key"), GLOWS, ids=[f.__name__ for f, _ in GLOWS])
def test_wrong_glow_updates_get_their_hint(fn, key):
    fails_with(ex.check_glow_update, fn, tabular.GLOW_UPDATE_HINTS, key)


def h_without_damping(h, glow, reward, gamma):
    h += glow * reward


def h_damped_towards_zero(h, glow, reward, gamma):
    h *= 1 - gamma
    h += glow * reward


def h_reward_to_every_edge(h, glow, reward, gamma):
    h -= gamma * (h - 1)
    h += reward


def h_reward_first(h, glow, reward, gamma):
    h += glow * reward
    h -= gamma * (h - 1)


def h_changes_the_glow(h, glow, reward, gamma):
    glow *= reward
    h -= gamma * (h - 1)
    h += glow


H_UPDATES = [
    (h_without_damping, "damping"),
    (h_damped_towards_zero, "damping"),
    (h_reward_to_every_edge, "reward"),
    (h_reward_first, "together"),
    (h_changes_the_glow, "reads"),
]


@pytest.mark.parametrize(("fn", "key"), H_UPDATES, ids=[f.__name__ for f, _ in H_UPDATES])
def test_wrong_h_updates_get_their_hint(fn, key):
    fails_with(ex.check_h_update, fn, tabular.H_UPDATE_HINTS, key)


def test_every_hint_of_every_catalogue_is_a_sentence():
    catalogues = [
        schedules.LINEAR_SCHEDULE_HINTS,
        schedules.EXPONENTIAL_SCHEDULE_HINTS,
        replay.REPLAY_BUFFER_HINTS,
        deep.TD_TARGET_HINTS,
        deep.MSE_LOSS_HINTS,
        deep.HUBER_LOSS_HINTS,
        deep.HARD_TARGET_UPDATE_HINTS,
        deep.SOFT_TARGET_UPDATE_HINTS,
        tabular.Q_LEARNING_UPDATE_HINTS,
        tabular.GLOW_UPDATE_HINTS,
        tabular.H_UPDATE_HINTS,
    ]
    for hints in catalogues:
        assert "random" in hints
        for key, hint in hints.items():
            assert len(hint) > 20 and "\n" not in hint, (key, hint)
    assert math.isfinite(replay.UNIFORM_TOLERANCE)


def test_the_docs_page_shows_a_real_failure():
    def td_target(rewards, terminated, next_q_target, gamma):
        return rewards + gamma * next_q_target.max(dim=-1).values

    with pytest.raises(ex.ExerciseFailed) as info:
        ex.check_td_target(td_target)
    page = (Path(__file__).parents[1] / "docs" / "exercises.md").read_text(encoding="utf-8")
    assert f"ExerciseFailed: {info.value}\n```" in page
