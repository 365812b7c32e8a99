"""The errors (and warnings) rlladder raises, and the small checks that raise them.

Every error a user can trigger names what was wrong and what would work. They all derive from
``ValueError`` (or ``TypeError`` for wrong spaces), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable
from typing import Any


class RLLadderError(Exception):
    """Base class of every error rlladder raises on purpose."""


class ConfigError(RLLadderError, ValueError):
    """A hyperparameter, experiment field or config file value is out of range or malformed."""


class SpaceError(RLLadderError, TypeError):
    """An agent was given an observation or action space it cannot handle."""


class UnknownNameError(RLLadderError, ValueError):
    """A name (agent, suite, loss, schedule, ...) is not one rlladder knows."""


class DivergenceError(RLLadderError, FloatingPointError):
    """Training produced a NaN or infinite value."""


class CheckpointError(RLLadderError, ValueError):
    """A file is not an rlladder checkpoint of the agent asked for, or cannot be restored."""


class RunInterrupted(RLLadderError):
    """A run stopped on request (Ctrl-C) after writing its checkpoint; the runner resumes it."""


class RLLadderWarning(UserWarning):
    """Base class of every warning rlladder gives on purpose (the CLI prints each as one line,
    ``rlladder: warning: ...``)."""


class UntunedWarning(RLLadderWarning):
    """An agent gets hyperparameters that were not tuned for its environment: no preset exists
    for it, or the preset was tuned on other environment settings."""


class UncheckedCodeWarning(RLLadderWarning):
    """A results folder cannot check your own code: its source was not found, or saved runs were
    made before rlladder recorded it."""


class AgentCheckError(RLLadderError, RuntimeError):
    """An agent raised inside ``act``, ``learn`` (or its constructor) while
    :func:`rlladder.check_agent` probed it: its own error, named, with the probe it was on."""


def _plural(noun: str) -> str:
    """``policy`` -> ``policies``, ``loss`` -> ``losses``, ``agent`` -> ``agents``."""
    if noun.endswith("y") and noun[-2:-1] not in ("a", "e", "i", "o", "u"):
        return noun[:-1] + "ies"
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    return noun + "s"


def unknown_name(kind: str, name: object, known: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown ``kind`` called ``name``, listing the ``known`` ones.

    >>> str(unknown_name("policy", "greedy", ["softmax", "linear"]))
    "unknown policy 'greedy'; known policies: linear, softmax"
    """
    known = sorted(known)
    return UnknownNameError(
        f"unknown {kind} {name!r}{did_you_mean(name, known)}; "
        f"known {_plural(kind)}: {', '.join(known)}"
    )


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """``" (did you mean 'X'?)"`` for the known name closest to a misspelt ``name``, else ``""``."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_range(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    owner: str = "",
) -> float:
    """Return ``value`` as a float if it lies in the interval, else raise a :class:`ConfigError`.

    >>> check_range("gamma", 0.9, 0, 1)
    0.9
    """
    where = f"{owner}: " if owner else ""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}{name} must be a number, got {value!r}") from None
    ok_low = x >= low if low_inclusive else x > low
    ok_high = x <= high if high_inclusive else x < high
    if not (ok_low and ok_high) or math.isnan(x):
        lb = "[" if low_inclusive else "("
        hb = "]" if high_inclusive else ")"
        raise ConfigError(f"{where}{name} must be in {lb}{low}, {high}{hb}, got {value!r}")
    return x


def check_int(name: str, value: Any, low: int = 1, *, owner: str = "") -> int:
    """Return ``value`` as an int ``>= low`` or raise a :class:`ConfigError`."""
    where = f"{owner}: " if owner else ""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise ConfigError(f"{where}{name} must be a whole number >= {low}, got {value!r}")
    if value < low:
        raise ConfigError(f"{where}{name} must be >= {low}, got {value!r}")
    return int(value)
