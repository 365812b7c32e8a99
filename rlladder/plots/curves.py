"""Learning curves: reward and episode length side by side, one colour per variant.

::

    results = rl.run_experiment(exp)               # or rl.load_results("results/frozenlake")
    fig = rl.plots.learning_curves(results, window=20)
    fig.savefig("frozenlake.png")

    results, evals = rl.run_experiment(exp, return_evaluations=True)  # exp has eval_episodes
    fig = rl.plots.learning_curves(results, evaluations=evals)        # + a greedy-return panel

Each line is the moving average (over ``window`` episodes) of the mean across runs; the band is a
bootstrap confidence interval of that mean over runs. The greedy panel shows each evaluation's
mean return (no exploration), averaged over runs, with its band. Made for a projector: large type, thick
lines, and the Okabe-Ito palette, which stays distinguishable with colour-blindness.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from rlladder import stats

__all__ = ["learning_curves", "PALETTE", "PROJECTOR_STYLE"]

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with the common colour-blindnesses.
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)

#: Matplotlib settings readable from the back of a lecture hall.
PROJECTOR_STYLE = {
    "font.size": 16,
    "axes.titlesize": 18,
    "axes.labelsize": 17,
    "xtick.labelsize": 14,
    "ytick.labelsize": 14,
    "legend.fontsize": 15,
    "lines.linewidth": 3.0,
    "axes.linewidth": 1.2,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
}

_LABELS = {
    "reward": "reward per episode",
    "steps": "steps per episode",
    "episode": "episode",
    "env_step": "environment steps",
}


def learning_curves(
    results: pd.DataFrame,
    *,
    window: int = 20,
    x: str = "episode",
    metrics: Sequence[str] = ("reward", "steps"),
    confidence: float = 0.95,
    title: str | None = None,
    threshold: float | None = None,
    evaluations: pd.DataFrame | None = None,
) -> Figure:
    """Plot each variant's learning curves, one panel per metric (reward and steps by default).

    Args:
        results: the tidy DataFrame of :func:`rl.run_experiment` or :func:`rl.load_results`.
        window: moving-average window in episodes (at most the episodes of the shortest run).
        x: ``"episode"`` or ``"env_step"`` (runs are interpolated onto a common step grid, so a
            fast-but-long-episode agent is not flattered).
        metrics: the columns to plot, one panel each.
        confidence: the level of the bootstrap band, e.g. 0.95.
        title: a title over both panels.
        threshold: draw a dashed line at this reward (e.g. the env's "solved" level).
        evaluations: greedy evaluations (:func:`rl.load_evaluations`, or
            ``rl.run_experiment(..., return_evaluations=True)``): if given and not empty, a last
            panel plots the greedy return against ``x``, one marker per evaluation, the mean over
            runs with its band (:func:`rl.stats.evaluation_curves`).

    Returns:
        The matplotlib Figure (save it with ``fig.savefig(...)``; in a notebook it shows itself).
    """
    if not metrics:
        raise ValueError("learning_curves() needs at least one metric, e.g. metrics=('reward',)")
    per_metric = {
        m: stats.curves(results, m, window=window, x=x, confidence=confidence) for m in metrics
    }
    greedy = None
    if evaluations is not None and not getattr(evaluations, "empty", False):
        greedy = stats.evaluation_curves(evaluations, x=x, confidence=confidence)
    panels = len(metrics) + (greedy is not None)
    with plt.rc_context(PROJECTOR_STYLE):
        fig, axes = plt.subplots(
            1, panels, figsize=(7.5 * panels, 5.5), squeeze=False, layout="constrained"
        )
        for ax, metric in zip(axes[0][: len(metrics)], metrics, strict=True):
            for i, (label, curve) in enumerate(per_metric[metric].items()):
                colour = PALETTE[i % len(PALETTE)]
                ax.plot(curve[x], curve["mean"], color=colour, label=label)
                ax.fill_between(
                    curve[x], curve["low"], curve["high"], color=colour, alpha=0.2, lw=0
                )
            if threshold is not None and metric == "reward":
                ax.axhline(
                    threshold, color="0.4", ls="--", lw=1.5, label=f"threshold {threshold:g}"
                )
            ax.set_xlabel(_LABELS.get(x, x))
            ax.set_ylabel(_LABELS.get(metric, metric))
            ax.set_title(f"{metric}: moving average over {window} episodes")
        if greedy is not None:
            _greedy_panel(axes[0][-1], greedy, evaluations, x, threshold)  # type: ignore[arg-type]
        axes[0][0].legend(title=legend_title(results, confidence), frameon=False, loc="best")
        if title:
            fig.suptitle(title, fontsize=PROJECTOR_STYLE["axes.titlesize"] + 2)
    return fig


def _greedy_panel(
    ax: plt.Axes,
    greedy: dict[str, pd.DataFrame],
    evaluations: pd.DataFrame,
    x: str,
    threshold: float | None,
) -> None:
    """The greedy return per evaluation, mean over runs with its band. Evaluated only at the end,
    each variant is one point with its interval, side by side; else a line with a marker per
    evaluation."""
    played = int(evaluations.groupby(["variant", "run", "eval"]).size().max())
    episodes = f"{played} episode{'s' if played > 1 else ''}"
    final_only = all(len(curve) == 1 for curve in greedy.values())
    for i, curve in enumerate(greedy.values()):
        colour = PALETTE[i % len(PALETTE)]
        if final_only:
            mean = float(curve["mean"].iloc[0])
            low, high = float(curve["low"].iloc[0]), float(curve["high"].iloc[0])
            ax.errorbar(
                [i],
                [mean],
                yerr=[[mean - low], [high - mean]],
                color=colour,
                marker="o",
                markersize=11,
                capsize=8,
                lw=3,
            )
        else:
            ax.plot(curve[x], curve["mean"], color=colour, marker="o", markersize=6)
            ax.fill_between(curve[x], curve["low"], curve["high"], color=colour, alpha=0.2, lw=0)
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls="--", lw=1.5)
    ax.set_ylabel("greedy return")
    # titled by what the panel shows: where each run's last evaluation falls differs between
    # variants (a steps budget ends each run's episodes where they end), so no x is named
    if final_only:
        ax.set_xticks(range(len(greedy)), list(greedy), rotation=20, ha="right")
        ax.set_xlim(-0.5, len(greedy) - 0.5)
        ax.set_title(f"greedy return at the last evaluation: {episodes} per run")
    else:
        ax.set_xlabel(_LABELS.get(x, x))
        ax.set_title(f"greedy return at each evaluation: {episodes} per run")


def legend_title(results: pd.DataFrame, confidence: float) -> str:
    """What the curves are: the mean of N runs with its confidence band, or a single run."""
    runs = int(results.groupby("variant")["run"].nunique().min())
    if runs == 1:
        return "one run (no confidence band)"
    return f"mean of {runs} runs, {confidence:.0%} CI"
