"""Exercise checks for the epsilon schedules, held against :class:`rlladder.LinearSchedule` and
:class:`rlladder.ExponentialSchedule`.

::

    def linear_schedule(t, start, end, duration):
        return start + min(t / duration, 1.0) * (end - start)

    rl.exercises.check_linear_schedule(linear_schedule)   # check_linear_schedule: 10 cases passed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlladder.exercises.cases import Case, CaseRunner, as_array, kind_of
from rlladder.schedules import ExponentialSchedule, LinearSchedule

__all__ = [
    "check_linear_schedule",
    "check_exponential_schedule",
    "LINEAR_SCHEDULE_HINTS",
    "EXPONENTIAL_SCHEDULE_HINTS",
]

RANDOM_CASES = 5


def _number(runner: CaseRunner, value: Any) -> float:
    """The student's schedule value as a float, or a failure saying a number was expected."""
    if isinstance(value, bool | str | list | tuple | dict) or value is None:
        runner.fail(f"expected a number (a float), got {kind_of(value)}", hint="number")
    try:
        array = as_array(value)
    except Exception as exc:  # noqa: BLE001 - whatever it is, it is not a number
        runner.fail(f"expected a number (a float), got {kind_of(value)}", hint="number", cause=exc)
    if array.ndim != 0 or array.dtype.kind not in "iuf":
        runner.fail(f"expected a number (a float), got {kind_of(value)}", hint="number")
    return float(array)


def _run(
    runner: CaseRunner, fn: Callable[..., Any], schedule: Callable[[int], float], case: Case
) -> None:
    got = runner.call(fn, *case.inputs.values())
    runner.expect_close(schedule(case.inputs["t"]), _number(runner, got))


#: hint key -> hint, for :func:`check_linear_schedule`
LINEAR_SCHEDULE_HINTS = {
    "start": "at t = 0 epsilon is start: the fraction of the way done is t / duration = 0",
    "line": "epsilon moves in a straight line: start + (t / duration) * (end - start)",
    "true-division": "t / duration is a fraction between 0 and 1: use true division (/), not //",
    "end": "at t = duration epsilon has reached end",
    "clamp": "after duration steps epsilon stays at end: clamp the fraction, "
    "min(t / duration, 1), so that it never goes past end",
    "increasing": "clamp the fraction t / duration, not the value: a schedule may also rise "
    "(start < end), and max(value, end) then returns end from the start",
    "number": "return epsilon as a plain number (a float)",
    "random": "epsilon(t) = start + min(t / duration, 1) * (end - start)",
}


def check_linear_schedule(fn: Callable[[int, float, float, int], float]) -> None:
    """Check ``fn(t, start, end, duration) -> float`` against :class:`rlladder.LinearSchedule`.

    .. math:: \\epsilon(t) = s + \\min(t / T, 1)\\,(e - s)

    where ``s`` is ``start``, ``e`` is ``end`` and ``T`` is ``duration``: a straight line from
    ``start`` at ``t = 0`` to ``end`` at ``t = duration``, then ``end`` for ever after.

    Args:
        fn: the student's schedule.

    Raises:
        ExerciseFailed: on the first case where ``fn`` disagrees with the library, raises, or
            returns something other than a number.
    """
    cases = [
        Case("t = 0 gives start", "start", {"t": 0, "start": 1.0, "end": 0.05, "duration": 100}),
        Case(
            "a third of the way", "true-division", {"t": 1, "start": 1.0, "end": 0.0, "duration": 3}
        ),
        Case("halfway", "line", {"t": 50, "start": 1.0, "end": 0.05, "duration": 100}),
        Case(
            "t = duration gives end", "end", {"t": 100, "start": 1.0, "end": 0.05, "duration": 100}
        ),
        Case(
            "t past the duration stays at end",
            "clamp",
            {"t": 250, "start": 1.0, "end": 0.05, "duration": 100},
        ),
        Case(
            "a rising schedule (start < end)",
            "increasing",
            {"t": 10, "start": 0.0, "end": 1.0, "duration": 100},
        ),
    ]
    rng = np.random.default_rng(0)
    for i in range(RANDOM_CASES):
        duration = int(rng.integers(1, 5_000))
        cases.append(
            Case(
                f"random {i + 1}",
                "random",
                {
                    "t": int(rng.integers(0, 2 * duration)),
                    "start": round(float(rng.uniform(0.5, 1.0)), 3),
                    "end": round(float(rng.uniform(0.0, 0.2)), 3),
                    "duration": duration,
                },
            )
        )
    runner = CaseRunner("check_linear_schedule", LINEAR_SCHEDULE_HINTS)

    def run_one(case: Case) -> None:
        i = case.inputs
        _run(runner, fn, LinearSchedule(i["start"], i["end"], i["duration"]), case)

    runner.run(cases, run_one)


#: hint key -> hint, for :func:`check_exponential_schedule`
EXPONENTIAL_SCHEDULE_HINTS = {
    "start": "at t = 0 epsilon is start: decay ** 0 = 1, so end + (start - end) * 1",
    "factor": "decay is the fraction of the distance to end that is kept each step: multiply "
    "by decay, t times (decay ** t), not by (1 - decay) and not by decay * t",
    "offset": "it is the distance to end that decays: end + (start - end) * decay ** t, "
    "not start * decay ** t (and not max(start * decay ** t, end))",
    "late": "after many steps epsilon approaches end (decay ** t goes to 0)",
    "number": "return epsilon as a plain number (a float)",
    "random": "epsilon(t) = end + (start - end) * decay ** t",
}


def check_exponential_schedule(fn: Callable[[int, float, float, float], float]) -> None:
    """Check ``fn(t, start, end, decay) -> float`` against :class:`rlladder.ExponentialSchedule`.

    .. math:: \\epsilon(t) = e + (s - e)\\,\\lambda^t

    where ``s`` is ``start``, ``e`` is ``end`` and ``λ`` is ``decay`` (in (0, 1]): the distance
    to ``end`` shrinks by the factor ``decay`` every step.

    Args:
        fn: the student's schedule.

    Raises:
        ExerciseFailed: on the first case where ``fn`` disagrees with the library, raises, or
            returns something other than a number.
    """
    cases = [
        Case("t = 0 gives start", "start", {"t": 0, "start": 1.0, "end": 0.05, "decay": 0.9}),
        Case(
            "one step down to end = 0", "factor", {"t": 1, "start": 1.0, "end": 0.0, "decay": 0.9}
        ),
        Case(
            "five steps down to end = 0", "factor", {"t": 5, "start": 1.0, "end": 0.0, "decay": 0.9}
        ),
        Case(
            "one step towards end > 0", "offset", {"t": 1, "start": 1.0, "end": 0.05, "decay": 0.9}
        ),
        Case("many steps", "late", {"t": 2_000, "start": 1.0, "end": 0.05, "decay": 0.995}),
    ]
    rng = np.random.default_rng(0)
    for i in range(RANDOM_CASES):
        cases.append(
            Case(
                f"random {i + 1}",
                "random",
                {
                    "t": int(rng.integers(0, 1_000)),
                    "start": round(float(rng.uniform(0.5, 1.0)), 3),
                    "end": round(float(rng.uniform(0.0, 0.2)), 3),
                    "decay": round(float(rng.uniform(0.9, 0.999)), 4),
                },
            )
        )
    runner = CaseRunner("check_exponential_schedule", EXPONENTIAL_SCHEDULE_HINTS)

    def run_one(case: Case) -> None:
        i = case.inputs
        _run(runner, fn, ExponentialSchedule(i["start"], i["end"], i["decay"]), case)

    runner.run(cases, run_one)
