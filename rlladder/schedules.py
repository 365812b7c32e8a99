"""Exploration schedules: how epsilon (or any other knob) changes as training goes on.

A schedule maps a counter ``t`` (env steps or episodes, see ``unit``) to a value::

    eps = rl.LinearSchedule(start=1.0, end=0.05, duration=10_000)       # per env step
    eps(0), eps(5_000), eps(20_000)                                    # 1.0, 0.525, 0.05
    rl.ExponentialSchedule(1.0, 0.01, decay=0.995, unit="episode")     # per episode

Agents accept a plain number (a constant), a schedule, or a dict such as
``{"kind": "linear", "start": 1.0, "end": 0.05, "duration": 10_000}`` (what a TOML config holds).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from rlladder.errors import ConfigError, check_range, unknown_name

__all__ = [
    "Schedule",
    "ConstantSchedule",
    "LinearSchedule",
    "ExponentialSchedule",
    "as_schedule",
]

Unit = Literal["step", "episode"]


def _check_unit(unit: str) -> None:
    if unit not in ("step", "episode"):
        raise ConfigError(f"schedule unit must be 'step' or 'episode', got {unit!r}")


@dataclass(frozen=True)
class Schedule:
    """Base class: subclasses implement :meth:`__call__`. ``unit`` says what ``t`` counts."""

    def __call__(self, t: int) -> float:
        raise NotImplementedError

    def at(self, *, step: int, episode: int) -> float:
        """The value after ``step`` env steps and ``episode`` finished episodes."""
        return self(step if self.unit == "step" else episode)  # type: ignore[attr-defined]

    def to_dict(self) -> dict[str, Any]:
        """A plain dict that :func:`as_schedule` turns back into this schedule."""
        return {"kind": _KIND_OF[type(self)], **asdict(self)}


@dataclass(frozen=True)
class ConstantSchedule(Schedule):
    """Always ``value``."""

    value: float
    unit: Unit = "step"

    def __post_init__(self) -> None:
        _check_unit(self.unit)

    def __call__(self, t: int) -> float:
        return self.value


@dataclass(frozen=True)
class LinearSchedule(Schedule):
    """From ``start`` to ``end`` in a straight line over ``duration`` units, then ``end``."""

    start: float
    end: float
    duration: int
    unit: Unit = "step"

    def __post_init__(self) -> None:
        _check_unit(self.unit)
        if self.duration <= 0:
            raise ConfigError(f"LinearSchedule duration must be > 0, got {self.duration!r}")

    def __call__(self, t: int) -> float:
        frac = min(max(t, 0) / self.duration, 1.0)
        return self.start + frac * (self.end - self.start)


@dataclass(frozen=True)
class ExponentialSchedule(Schedule):
    """``end + (start - end) * decay**t``: fast at first, then flattening towards ``end``."""

    start: float
    end: float
    decay: float
    unit: Unit = "step"

    def __post_init__(self) -> None:
        _check_unit(self.unit)
        check_range("decay", self.decay, 0.0, 1.0, low_inclusive=False, owner="ExponentialSchedule")

    def __call__(self, t: int) -> float:
        return self.end + (self.start - self.end) * math.pow(self.decay, max(t, 0))


_KINDS: dict[str, type[Schedule]] = {
    "constant": ConstantSchedule,
    "linear": LinearSchedule,
    "exponential": ExponentialSchedule,
}
_KIND_OF = {cls: kind for kind, cls in _KINDS.items()}


def as_schedule(
    value: float | Schedule | dict[str, Any],
    *,
    name: str = "epsilon",
    low: float = 0.0,
    high: float = 1.0,
    owner: str = "",
    positive_start: bool = False,
) -> Schedule:
    """Turn a number, a :class:`Schedule` or a dict into a schedule whose values lie in [low, high].

    With ``positive_start`` the first value must lie strictly above ``low`` (a learning rate may
    anneal to 0, but must not start there)."""
    if isinstance(value, Schedule):
        sched = value
    elif isinstance(value, dict):
        spec = dict(value)
        kind = spec.pop("kind", None)
        if kind not in _KINDS:
            raise unknown_name("schedule kind", kind, _KINDS)
        try:
            sched = _KINDS[kind](**spec)
        except TypeError as exc:
            raise ConfigError(
                f"{owner + ': ' if owner else ''}bad {kind} schedule for {name}: {exc}"
            ) from None
    elif isinstance(value, int | float) and not isinstance(value, bool):
        sched = ConstantSchedule(float(value))
    else:
        raise ConfigError(
            f"{owner + ': ' if owner else ''}{name} must be a number, a Schedule or a dict with a "
            f"'kind' of {', '.join(_KINDS)}; got {value!r}"
        )
    # the end points bound every value these schedules take
    check_range(name, sched(0), low, high, low_inclusive=not positive_start, owner=owner)
    if hasattr(sched, "end"):
        check_range(name, sched.end, low, high, owner=owner)
    return sched
