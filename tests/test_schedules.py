"""Exploration schedules: values at given times, per step or per episode, and their checks."""

from __future__ import annotations

import pytest

import rlladder as rl
from rlladder.schedules import as_schedule


def test_constant():
    assert rl.ConstantSchedule(0.3)(0) == rl.ConstantSchedule(0.3)(10**6) == 0.3


def test_linear_goes_straight_then_stays():
    eps = rl.LinearSchedule(start=1.0, end=0.05, duration=10_000)
    assert [eps(0), eps(5_000), eps(10_000), eps(20_000)] == pytest.approx([1.0, 0.525, 0.05, 0.05])


def test_exponential_decays_towards_its_end():
    eps = rl.ExponentialSchedule(start=1.0, end=0.1, decay=0.5)
    assert [eps(0), eps(1), eps(2), eps(60)] == pytest.approx([1.0, 0.55, 0.325, 0.1])


def test_unit_chooses_the_counter():
    per_step = rl.LinearSchedule(1.0, 0.0, duration=10)
    per_episode = rl.LinearSchedule(1.0, 0.0, duration=10, unit="episode")
    assert per_step.at(step=5, episode=1) == pytest.approx(0.5)
    assert per_episode.at(step=5, episode=1) == pytest.approx(0.9)


@pytest.mark.parametrize(
    "schedule",
    [
        rl.ConstantSchedule(0.2),
        rl.LinearSchedule(1.0, 0.1, 50, unit="episode"),
        rl.ExponentialSchedule(1.0, 0.01, 0.99),
    ],
)
def test_dict_round_trip(schedule):
    assert as_schedule(schedule.to_dict()) == schedule


def test_as_schedule_accepts_numbers_schedules_and_dicts():
    assert as_schedule(0.1) == rl.ConstantSchedule(0.1)
    sched = rl.LinearSchedule(1.0, 0.0, 10)
    assert as_schedule(sched) is sched
    assert as_schedule({"kind": "linear", "start": 1.0, "end": 0.0, "duration": 10}) == sched


def test_bad_schedules_are_clear_errors():
    with pytest.raises(
        rl.UnknownNameError, match="known schedule kinds: constant, exponential, linear"
    ):
        as_schedule({"kind": "cosine"})
    with pytest.raises(rl.ConfigError, match="bad linear schedule for epsilon"):
        as_schedule({"kind": "linear", "start": 1.0})
    with pytest.raises(rl.ConfigError, match=r"epsilon must be in \[0.0, 1.0\], got 2.0"):
        as_schedule({"kind": "linear", "start": 2.0, "end": 0.0, "duration": 5})
    with pytest.raises(rl.ConfigError, match="epsilon must be a number, a Schedule or a dict"):
        as_schedule("0.1")
    with pytest.raises(rl.ConfigError, match="duration must be > 0"):
        rl.LinearSchedule(1.0, 0.0, duration=0)
    with pytest.raises(rl.ConfigError, match="'step' or 'episode'"):
        rl.ConstantSchedule(0.1, unit="epoch")
    with pytest.raises(rl.ConfigError, match=r"decay must be in \(0.0, 1.0\]"):
        rl.ExponentialSchedule(1.0, 0.0, decay=1.5)
