"""Hyperparameter values as plain data: how a results folder records them and compares them.

::

    plain((128, 128))                       # [128, 128]
    plain(rl.LinearSchedule(1.0, 0.05, 10)) # {"kind": "linear", "start": 1.0, ...}
    canonical({"kind": "linear", "start": 1.0, "end": 0.05, "duration": 10})  # + "unit": "step"
    same(1, 1.0), same([128, 128], [128.0, 128.0]), same(True, 1)            # True, True, False

``spec.json`` holds :func:`canonical` values, and a resume compares them with :func:`same`: two
ways of writing one setting (a tuple or a list, ``1`` or ``1.0``, a schedule with or without its
default unit) are the same setting, and a switch (``True``) is never a number.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from rlladder.errors import ConfigError
from rlladder.schedules import Schedule, as_schedule

__all__ = ["plain", "canonical", "same", "is_plain", "qualified_name"]


def qualified_name(obj: Any) -> str:
    """``module:qualname`` of a class or function (how a TOML file names your own code)."""
    return f"{obj.__module__}:{obj.__qualname__}"


def plain(value: Any) -> Any:
    """A JSON- and TOML-friendly copy of ``value``.

    Schedules become dicts, tuples and arrays lists, numpy scalars Python numbers, classes and
    functions ``"module:Name"``; any other object becomes its ``repr`` (see :func:`is_plain`).
    """
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Schedule):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(v) for v in value]
    if inspect.isclass(value) or inspect.isfunction(value):
        return qualified_name(value)
    return repr(value)


def is_plain(value: Any) -> bool:
    """Whether :func:`plain` keeps all of ``value`` (``False`` where it falls back to a repr)."""
    if value is None or isinstance(value, bool | int | float | str | np.generic | Schedule):
        return True
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    if isinstance(value, list | tuple | np.ndarray):
        return all(is_plain(v) for v in value)
    return False


def canonical(value: Any) -> Any:
    """:func:`plain`, with each schedule written out in full (every field, its unit too)."""
    value = plain(value)
    if isinstance(value, dict):
        value = {k: canonical(v) for k, v in value.items()}
        if isinstance(value.get("kind"), str):
            try:
                return as_schedule(value, low=-math.inf, high=math.inf).to_dict()
            except (ConfigError, TypeError, ValueError):
                return value  # not a schedule after all: keep the dict as it is
        return value
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Whether two plain values are the same setting: numbers by value (``1`` is ``1.0``, NaN is
    NaN), dicts key by key in any order, lists item by item; a bool only equals a bool."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
