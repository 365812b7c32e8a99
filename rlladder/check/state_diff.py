"""Where two snapshots of an agent differ: how the check "greedy is pure" sees a side effect.

A snapshot is what ``agent.state_dict()`` returns (nested dicts and lists of numbers, arrays,
tensors, generators, plain objects). :func:`first_difference` walks two of them side by side and
names the first place they differ, e.g. ``"rng"`` or ``"q_net.0.weight"``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["first_difference"]

_MAX_DEPTH = 12  # deeper than any agent's state; stops a walk round a reference cycle


def _as_array(value: Any) -> np.ndarray | None:
    """A numpy array for an array or a tensor (anything with ``.detach()``), else None."""
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        return np.asarray(value.detach().cpu())
    return None


def first_difference(before: Any, after: Any, where: str = "", depth: int = 0) -> str | None:
    """The path of the first place ``before`` and ``after`` differ (``"state"`` at the top), or
    None when they are the same."""
    here = where or "state"
    if depth > _MAX_DEPTH:
        return None
    if type(before) is not type(after):
        return here
    if isinstance(before, np.random.Generator):
        return first_difference(
            before.bit_generator.state, after.bit_generator.state, where, depth + 1
        )
    array = _as_array(before)
    if array is not None:
        other = _as_array(after)
        same = other is not None and array.shape == other.shape
        return None if same and np.array_equal(array, other, equal_nan=True) else here
    if isinstance(before, dict):  # keys in order (they may be tensors: an optimizer's state)
        if len(before) != len(after):  # name a key that came or went, where keys are names
            named = [k for k in [*before, *after] if isinstance(k, str | int)]
            new = [k for k in named if (k in before) != (k in after)]
            return (f"{where}.{new[0]}" if where else str(new[0])) if new else here
        for (key, value), (other_key, other) in zip(before.items(), after.items(), strict=True):
            if first_difference(key, other_key, "", depth + 1):
                return here
            name = key if isinstance(key, str | int) else "[key]"
            found = first_difference(
                value, other, f"{where}.{name}" if where else str(name), depth + 1
            )
            if found:
                return found
        return None
    if isinstance(before, list | tuple):
        if len(before) != len(after):  # name a key that came or went, where keys are names
            named = [k for k in [*before, *after] if isinstance(k, str | int)]
            new = [k for k in named if (k in before) != (k in after)]
            return (f"{where}.{new[0]}" if where else str(new[0])) if new else here
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            found = first_difference(a, b, f"{where}[{i}]", depth + 1)
            if found:
                return found
        return None
    if isinstance(before, float) and before != before and after != after:
        return None  # NaN == NaN here
    try:
        equal = before == after
        if isinstance(equal, bool | np.bool_) and equal:
            return None
    except Exception:  # an object whose == does not compare
        pass
    if hasattr(before, "__dict__"):  # a plain object (a schedule, an adapter): its attributes
        return first_difference(vars(before), vars(after), where, depth + 1)
    return here
