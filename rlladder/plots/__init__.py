"""Plots: learning curves, grid pictures of FrozenLake-like maps, and a live training plot.

Everything here reads results or agents and returns a matplotlib Figure; nothing here trains.
Submodules load on first use, so ``import rlladder`` does not import matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "learning_curves": "rlladder.plots.curves",
    "policy_map": "rlladder.plots.grid",
    "value_map": "rlladder.plots.grid",
    "h_matrix_map": "rlladder.plots.grid",
    "LivePlot": "rlladder.plots.live",
    "diagnostics_curves": "rlladder.plots.diagnostics",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rlladder.plots' has no attribute {name!r}")


__all__ = list(_LAZY)
