"""Diagnostics curves: the return next to what the agent's insides did, on one time axis.

::

    results = rl.run_experiment(rl.get_suite("cartpole-forgetting"))
    fig = rl.plots.diagnostics_curves(results)          # reward, q_mean, action_gap, loss, epsilon

Made for *catastrophic forgetting*: a DQN balances the pole for 500 steps, keeps training, and
some tens of thousands of steps later the return collapses, then (often) recovers. The reward
panel alone shows *that* it happened; the panels beneath show *what the network was doing* at the
same moment. Once the agent succeeds, its replay buffer fills with balanced states and the
regression towards :math:`y = r + \\gamma \\max_{a'} Q_{\\bar\\theta}(s', a')` keeps moving the
network on those alone. Symptoms to look for: ``q_mean`` climbing past :math:`1 / (1 - \\gamma)`
(overestimation, with a reward of 1 per step), the *action gap*
:math:`\\max_a Q(s, a) - \\max_{a \\ne a^*} Q(s, a)` (how much the network prefers its choice)
shrinking, so that a small drift flips the greedy action on the states that recovery needs, and
the TD loss growing when the agent's play leaves the states the network was fitted on.

Each line is one variant: the moving average (over ``window`` episodes) of each run, put on a
common grid of environment steps, then the mean across runs with a bootstrap confidence band.
Episodes in which the agent reported no diagnostic (before its first update) are skipped, not
counted as zero (:func:`rlladder.stats.moving_average` with ``partial=True``: the first points
average the episodes there are).
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rlladder import stats
from rlladder.errors import ConfigError, check_int
from rlladder.plots.curves import PALETTE, PROJECTOR_STYLE, legend_title

__all__ = ["diagnostics_curves", "DIAGNOSTICS", "DEFAULT_COLUMNS"]

#: The columns plotted by default: the return and the per-episode averages DQN reports.
DEFAULT_COLUMNS = ("reward", "q_mean", "action_gap", "loss", "epsilon")

#: What each diagnostic means, as the y label of its panel.
DIAGNOSTICS = {
    "reward": "return per episode",
    "steps": "steps per episode",
    "q_mean": "mean Q(s, a) of the batch",
    "action_gap": "action gap",
    "loss": "TD loss",
    "epsilon": "exploration rate",
}

_X_LABELS = {"env_step": "environment steps", "episode": "episode"}


def _variant_curve(
    frame: pd.DataFrame, column: str, window: int, x: str, points: int, confidence: float
) -> pd.DataFrame:
    """One variant's curve of ``column``: smoothed per run, on a common x grid, mean and band."""
    runs = []
    for _, run in frame.groupby("run", sort=True):
        smooth = stats.moving_average(run[column].to_numpy(np.float64), window, partial=True)
        xs = run[x].to_numpy(np.float64)
        keep = np.isfinite(smooth)
        if keep.any():
            runs.append((xs[keep], smooth[keep]))
    if not runs:
        return pd.DataFrame({x: [], "mean": [], "low": [], "high": []})
    start = max(xs[0] for xs, _ in runs)
    stop = min(xs[-1] for xs, _ in runs)
    grid = np.linspace(start, stop, points) if stop > start else np.array([stop])
    samples = np.stack([np.interp(grid, xs, ys) for xs, ys in runs])
    mean, low, high = stats.bootstrap_ci(samples, confidence=confidence)
    return pd.DataFrame({x: grid, "mean": mean, "low": low, "high": high})


def diagnostics_curves(
    results: pd.DataFrame,
    *,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    window: int = 20,
    x: str = "env_step",
    confidence: float = 0.95,
    points: int = 300,
    threshold: float | None = None,
    title: str | None = None,
) -> Figure:
    """Plot the return and the agent's diagnostics, one panel per column, stacked on a shared x axis.

    Args:
        results: the tidy DataFrame of :func:`rl.run_experiment` or :func:`rl.load_results`
            (columns ``variant``, ``run``, ``episode``, ``env_step`` and the ones to plot).
        columns: the columns to plot, top to bottom. Columns an agent never reports (a tabular
            agent has no ``loss``) are an error; pick the ones it has.
        window: moving-average window in episodes, per run, before averaging over runs.
        x: ``"env_step"`` (default: forgetting happens at a time, not at an episode number) or
            ``"episode"``.
        confidence: the level of the bootstrap band over runs.
        points: grid points per curve.
        threshold: a dashed line at this return in the ``reward`` panel (500 on CartPole).
        title: a title over all panels.

    Returns:
        The matplotlib Figure, one axis per column (``fig.axes``), one line per variant in each.
    """
    if isinstance(columns, str) or not columns:
        raise ConfigError(
            f"diagnostics_curves(): columns must be a non-empty list of column names, e.g. "
            f"{DEFAULT_COLUMNS}, got {columns!r}"
        )
    if x not in _X_LABELS:
        raise ConfigError(f"diagnostics_curves(): x must be 'env_step' or 'episode', got {x!r}")
    missing = [c for c in (*columns, "variant", "run", x) if c not in results]
    if missing:
        raise ConfigError(
            f"diagnostics_curves(): results have no column(s) {', '.join(map(repr, missing))}; "
            f"columns present: {', '.join(map(str, results.columns))}"
        )
    window = check_int("window", window, 1, owner="diagnostics_curves")
    points = check_int("points", points, 2, owner="diagnostics_curves")
    labels = stats.variants(results)
    with plt.rc_context(PROJECTOR_STYLE):
        fig, axes = plt.subplots(
            len(columns),
            1,
            figsize=(11.0, 2.6 * len(columns) + 0.8),
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        for ax, column in zip(axes[:, 0], columns, strict=True):
            for i, label in enumerate(labels):
                frame = results[results["variant"] == label]
                curve = _variant_curve(frame, column, window, x, points, confidence)
                colour = PALETTE[i % len(PALETTE)]
                ax.plot(curve[x], curve["mean"], color=colour, label=label, lw=2.5)
                ax.fill_between(
                    curve[x], curve["low"], curve["high"], color=colour, alpha=0.2, lw=0
                )
            if threshold is not None and column == "reward":
                ax.axhline(threshold, color="0.4", ls="--", lw=1.5)
            ax.set_ylabel(DIAGNOSTICS.get(column, column), fontsize=14)
        axes[-1, 0].set_xlabel(_X_LABELS[x])
        axes[0, 0].legend(
            title=f"{legend_title(results, confidence)}, window {window}",
            frameon=False,
            loc="best",
            fontsize=12,
            title_fontsize=12,
        )
        if title:
            fig.suptitle(title, fontsize=PROJECTOR_STYLE["axes.titlesize"] + 2)
    return fig
