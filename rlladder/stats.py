"""Statistics over runs: moving averages, bootstrap confidence intervals, IQM, thresholds.

One run of an RL agent is noisy; an experiment has many. The functions here turn a results
DataFrame (a row per episode) into what a plot or a table shows:

* :func:`moving_average`: the mean of the last ``window`` episodes of a run, the one trailing
  mean every curve, table and live plot of rlladder uses (missing values are skipped);
* :func:`bootstrap_ci`: the mean across runs with a percentile bootstrap confidence interval;
* :func:`iqm`: the interquartile mean, the mean of the middle half of the runs (robust to a few
  outlier runs, yet less noisy than the median);
* :func:`first_crossing`: the first episode / env step at which a run's moving average reaches a
  reward threshold ("steps to solve");
* :func:`final_greedy` and :func:`evaluation_curves`: the greedy evaluations of an experiment
  (:func:`rl.load_evaluations`) per run, and as a curve over training;
* :func:`summary`: one row per variant with all of the above, and :func:`to_markdown` /
  :func:`format_table` to show it.

This module sits below both :mod:`rlladder.experiments` (which makes results) and
:mod:`rlladder.plots` (which draws them); it imports neither.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from rlladder.errors import ConfigError, check_int, check_range

__all__ = [
    "moving_average",
    "bootstrap_ci",
    "iqm",
    "first_crossing",
    "crossings",
    "curves",
    "final_greedy",
    "evaluation_curves",
    "summary",
    "to_markdown",
    "format_table",
    "check_window",
    "ci_note",
    "MIN_CI_RUNS",
]


def check_window(window: int, episodes: int) -> int:
    """``window`` as an int in ``[1, episodes]``, else an error saying what would work."""
    window = check_int("window", window, 1)
    if window > episodes:
        raise ConfigError(
            f"window={window} is larger than the {episodes} episodes every run has; "
            f"use a window of at most {episodes}"
        )
    return window


def moving_average(
    values: Sequence[float] | np.ndarray, window: int, *, partial: bool = False
) -> np.ndarray:
    """Trailing mean of the last ``window`` values, skipping missing ones.

    ``out[i]`` is the mean of the finite values among ``values[i - window + 1 : i + 1]``, so it
    stays aligned with episode ``i``. Non-finite values (NaN, e.g. a diagnostic in the episodes
    before an agent's first update, and +-inf) count as missing; a window holding no finite value
    gives NaN. A 2-D array is averaged along its last axis (one row per run).

    Args:
        values: the values, oldest first.
        window: how many values each mean looks back over (at least 1).
        partial: ``False`` (the default, for curves and tables): only full windows count, so the
            first ``window - 1`` entries are NaN and ``window`` may not exceed the number of
            values. ``True`` (for a plot that grows while training runs): the first entries
            average the fewer values there are, and any ``window`` is fine.
    """
    x = np.asarray(values, dtype=np.float64)
    if partial:
        window = check_int("window", window, 1)
    else:
        window = check_window(window, x.shape[-1])
    if x.shape[-1] == 0:
        return x.copy()
    finite = np.isfinite(x)
    zeros = np.zeros((*x.shape[:-1], 1))
    sums = np.concatenate((zeros, np.cumsum(np.where(finite, x, 0.0), axis=-1)), axis=-1)
    counts = np.concatenate((zeros, np.cumsum(finite, axis=-1, dtype=np.float64)), axis=-1)
    hi = np.arange(1, x.shape[-1] + 1)
    lo = np.maximum(0, hi - window)
    n = counts[..., hi] - counts[..., lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, (sums[..., hi] - sums[..., lo]) / np.maximum(n, 1.0), np.nan)
    if not partial:
        out[..., : window - 1] = np.nan
    return out


def bootstrap_ci(
    samples: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs (axis 0) and its percentile-bootstrap confidence interval.

    Resample the ``n`` runs with replacement ``n_boot`` times, take each resample's mean, and
    report the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of those means.
    A resample is a vector of counts ``w`` (how often each run was drawn), so its mean is
    ``w @ samples / n``: one matrix product for every point of a learning curve at once.
    Seeded: the same samples give the same interval.

    Returns:
        ``(mean, low, high)``, each shaped like ``samples[0]``.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 0 or x.shape[0] == 0:
        raise ConfigError("bootstrap_ci() needs at least one run")
    check_range("confidence", confidence, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    n_boot = check_int("n_boot", n_boot, 1)
    n = x.shape[0]
    mean = x.mean(axis=0)
    if n == 1:
        return mean, mean.copy(), mean.copy()
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)
    flat = x.reshape(n, -1)
    means = counts @ np.nan_to_num(flat) / n
    if np.isnan(flat).any():  # keep NaN where any run is NaN (e.g. before the first full window)
        means[:, np.isnan(flat).any(axis=0)] = np.nan
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=0)
    return mean, low.reshape(mean.shape), high.reshape(mean.shape)


def iqm(samples: Sequence[float] | np.ndarray, axis: int = 0) -> np.ndarray | float:
    """Interquartile mean: drop the lowest and highest quarter of the values, average the rest.

    With ``n`` values, ``floor(n / 4)`` are dropped at each end (the 25% trimmed mean).
    """
    x = np.sort(np.asarray(samples, dtype=np.float64), axis=axis)
    n = x.shape[axis]
    if n == 0:
        raise ConfigError("iqm() needs at least one value")
    cut = n // 4
    middle = np.take(x, np.arange(cut, n - cut), axis=axis)
    result = middle.mean(axis=axis)
    return float(result) if np.ndim(result) == 0 else result


def first_crossing(
    rewards: Sequence[float] | np.ndarray,
    threshold: float,
    window: int = 1,
    at: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Where a run first *reaches* ``threshold``: the first index ``i`` whose moving average over
    the last ``window`` rewards is ``>= threshold`` (``at[i]`` if given, e.g. the env step);
    NaN if it never does."""
    r = np.asarray(rewards, dtype=np.float64)
    if r.size < window:
        return math.nan
    hits = np.flatnonzero(moving_average(r, window) >= threshold)
    if hits.size == 0:
        return math.nan
    return float(hits[0] if at is None else np.asarray(at)[hits[0]])


def _check_results(results: pd.DataFrame, fn: str) -> None:
    if not isinstance(results, pd.DataFrame):
        raise TypeError(
            f"{fn}() needs a results DataFrame (from rl.run_experiment), got {results!r}"
        )
    missing = [c for c in ("variant", "run", "episode", "env_step", "reward") if c not in results]
    if missing:
        raise ConfigError(
            f"{fn}() needs the columns of rl.run_experiment's results; missing: {', '.join(missing)}"
        )
    if results.empty:
        raise ConfigError(f"{fn}() got an empty results DataFrame: no finished run to show")


def variants(results: pd.DataFrame) -> list[str]:
    """Variant labels in order of first appearance (the experiment's order, for tidy results)."""
    return list(dict.fromkeys(results["variant"]))


def crossings(results: pd.DataFrame, threshold: float, window: int = 20) -> pd.DataFrame:
    """Per (variant, run): the first ``episode`` and ``env_step`` at which the moving average of
    the reward reaches ``threshold`` (NaN where it never does)."""
    _check_results(results, "crossings")
    rows = []
    for (label, run), frame in results.groupby(["variant", "run"], sort=False):
        episode = first_crossing(frame["reward"], threshold, window, frame["episode"])
        env_step = first_crossing(frame["reward"], threshold, window, frame["env_step"])
        rows.append({"variant": label, "run": run, "episode": episode, "env_step": env_step})
    return pd.DataFrame(rows)


def _episode_matrix(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """Runs x episodes of ``metric``, cut to the episodes every run finished."""
    table = frame.pivot(index="run", columns="episode", values=metric)
    return table.dropna(axis=1).to_numpy(dtype=np.float64)


def curves(
    results: pd.DataFrame,
    metric: str = "reward",
    *,
    window: int = 20,
    x: str = "episode",
    confidence: float = 0.95,
    points: int = 300,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The learning curve of each variant: moving average of ``metric``, mean across runs and a
    bootstrap confidence band.

    ``x="episode"``: point ``i`` is episode ``i`` (up to the last episode every run reached).
    ``x="env_step"``: runs end their episodes at different env steps, so each run's moving
    average is interpolated linearly onto a common grid of ``points`` env steps, from where every
    run has a full window to where the shortest run ends.

    Returns:
        label -> DataFrame with columns ``x, mean, low, high``.
    """
    _check_results(results, "curves")
    if metric not in results:
        raise ConfigError(f"results have no column {metric!r}; columns: {', '.join(results)}")
    if x not in ("episode", "env_step"):
        raise ConfigError(f"x must be 'episode' or 'env_step', got {x!r}")
    shortest = int(results.groupby(["variant", "run"]).size().min())
    window = check_window(window, shortest)
    out: dict[str, pd.DataFrame] = {}
    for label in variants(results):
        frame = results[results["variant"] == label]
        if x == "episode":
            values = _episode_matrix(frame, metric)
            smooth = moving_average(values, window)[:, window - 1 :]
            grid = np.arange(window - 1, window - 1 + smooth.shape[1], dtype=np.float64)
        else:
            runs = [g for _, g in frame.groupby("run", sort=True)]
            start = max(float(g["env_step"].iloc[window - 1]) for g in runs)
            stop = min(float(g["env_step"].iloc[-1]) for g in runs)
            grid = np.linspace(start, stop, points) if stop > start else np.array([stop])
            smooth = np.stack(
                [
                    np.interp(
                        grid,
                        g["env_step"].to_numpy(np.float64)[window - 1 :],
                        moving_average(g[metric].to_numpy(np.float64), window)[window - 1 :],
                    )
                    for g in runs
                ]
            )
        mean, low, high = bootstrap_ci(smooth, confidence=confidence, seed=seed)
        out[label] = pd.DataFrame({x: grid, "mean": mean, "low": low, "high": high})
    return out


EVAL_COLUMNS = ("variant", "run", "eval", "env_step", "episode", "eval_episode", "reward")


def _check_evaluations(evaluations: pd.DataFrame, fn: str) -> None:
    if not isinstance(evaluations, pd.DataFrame):
        raise TypeError(
            f"{fn}() needs an evaluations DataFrame (from rl.load_evaluations, or "
            f"rl.run_experiment(..., return_evaluations=True)), got {evaluations!r}"
        )
    missing = [c for c in EVAL_COLUMNS if c not in evaluations]
    if missing:
        raise ConfigError(
            f"{fn}() needs the columns of rl.load_evaluations' frame; missing: {', '.join(missing)}"
        )
    if evaluations.empty:
        raise ConfigError(
            f"{fn}() got an empty evaluations DataFrame: the experiment did not evaluate "
            "(give it eval_episodes=, e.g. eval_episodes=100)"
        )


def _per_evaluation(evaluations: pd.DataFrame) -> pd.DataFrame:
    """A row per (variant, run, eval): where it happened and its mean greedy return."""
    return (
        evaluations.groupby(["variant", "run", "eval"], sort=False)
        .agg(
            env_step=("env_step", "first"),
            episode=("episode", "first"),
            reward=("reward", "mean"),
            episodes=("reward", "size"),
        )
        .reset_index()
        .sort_values(["run", "eval"], kind="stable")
    )


def final_greedy(evaluations: pd.DataFrame) -> pd.DataFrame:
    """Each run's last evaluation (the one at the end of training): a row per (variant, run)
    with its ``env_step``, ``episode``, ``episodes`` (greedy episodes played) and ``reward``, the
    mean greedy return over those episodes."""
    _check_evaluations(evaluations, "final_greedy")
    per_eval = _per_evaluation(evaluations)
    last = per_eval.groupby(["variant", "run"], sort=False).tail(1)
    order = {label: i for i, label in enumerate(variants(evaluations))}
    last = last.assign(_order=last["variant"].map(order))
    last = last.sort_values(["_order", "run"], kind="stable").drop(columns=["_order", "eval"])
    return last.reset_index(drop=True)


def evaluation_curves(
    evaluations: pd.DataFrame,
    *,
    x: str = "env_step",
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """The greedy return of each variant over training: mean over runs with a bootstrap band.

    Each evaluation of a run is one point: the mean return of its greedy episodes, at the
    ``env_step`` or ``episode`` where it happened. Runs evaluate at slightly different env steps
    (an evaluation waits for the end of the training episode that crossed its point), so each
    run's points are joined by straight lines and read off at every point any run has, from where
    every run has evaluated to where the first run ends: the mean of piecewise-linear curves,
    exactly. With episode budgets every run evaluates at the same episodes and nothing is
    interpolated.

    Returns:
        label -> DataFrame with columns ``x, mean, low, high`` (a single row when the runs only
        evaluated at the end).
    """
    _check_evaluations(evaluations, "evaluation_curves")
    if x not in ("episode", "env_step"):
        raise ConfigError(f"x must be 'episode' or 'env_step', got {x!r}")
    per_eval = _per_evaluation(evaluations)
    out: dict[str, pd.DataFrame] = {}
    for label in variants(evaluations):
        runs = [
            (g[x].to_numpy(np.float64), g["reward"].to_numpy(np.float64))
            for _, g in per_eval[per_eval["variant"] == label].groupby("run", sort=True)
        ]
        start = max(xs[0] for xs, _ in runs)
        stop = min(xs[-1] for xs, _ in runs)
        every = np.unique(np.concatenate([xs for xs, _ in runs]))
        grid = every[(every >= start) & (every <= stop)]
        if grid.size == 0:
            grid = np.array([stop])
        samples = np.stack([np.interp(grid, xs, ys) for xs, ys in runs])
        mean, low, high = bootstrap_ci(samples, confidence=confidence, seed=seed)
        out[label] = pd.DataFrame({x: grid, "mean": mean, "low": low, "high": high})
    return out


#: The fewest runs a summary gives a bootstrap confidence interval for: resampling 1 run gives
#: that run back ([20.4, 20.4]), and 2 runs give 3 possible means, not a spread worth a bracket.
MIN_CI_RUNS = 3


def summary(
    results: pd.DataFrame,
    *,
    threshold: float | None = None,
    window: int = 20,
    final: int | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    evaluations: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per variant: how well it ends and how fast it gets there.

    * ``final_mean``, ``final_low``, ``final_high``: each run's mean reward over its last
      ``final`` episodes (default: ``window``), averaged over runs, with a bootstrap CI;
    * ``final_iqm``: the interquartile mean of the same per-run numbers;
    * with a ``threshold``: ``reached`` (the fraction of runs whose moving average reached it),
      ``episodes_to_threshold`` and ``env_steps_to_threshold`` (the median over runs of the first
      crossing; infinite when fewer than half the runs got there);
    * with ``evaluations`` (:func:`rl.load_evaluations`) that are not empty: ``greedy_mean``,
      ``greedy_low``, ``greedy_high``: each run's final greedy score (the mean return of its last
      evaluation, at the end of training; see :func:`final_greedy`), averaged over runs, with a
      bootstrap CI; NaN for a variant without evaluations.

    The training numbers include exploration; the greedy ones are what the learned policy does.
    A variant with fewer than :data:`MIN_CI_RUNS` runs gets no interval (its ``_low`` and
    ``_high`` are NaN; :func:`format_table` and :func:`to_markdown` print ``-`` and say why).
    """
    _check_results(results, "summary")
    lengths = results.groupby(["variant", "run"]).size()
    window = check_window(window, int(lengths.min()))
    final = window if final is None else check_window(final, int(lengths.min()))
    cross = crossings(results, threshold, window) if threshold is not None else None
    greedy = None
    if evaluations is not None and not getattr(evaluations, "empty", False):
        greedy = final_greedy(evaluations)
    rows = []
    for label in variants(results):
        frame = results[results["variant"] == label]
        per_run = frame.groupby("run", sort=True)["reward"].apply(
            lambda r: float(r.iloc[-final:].mean())
        )
        mean, low, high = _mean_and_ci(per_run.to_numpy(), confidence, seed)
        row = {
            "variant": label,
            "runs": int(per_run.size),
            "episodes": int(frame.groupby("run").size().median()),
            "final_mean": float(mean),
            "final_low": float(low),
            "final_high": float(high),
            "final_iqm": float(iqm(per_run.to_numpy())),
        }
        if cross is not None:
            mine = cross[cross["variant"] == label]
            row["threshold"] = float(threshold)  # type: ignore[arg-type]
            row["reached"] = float(mine["episode"].notna().mean())
            for column, name in (("episode", "episodes"), ("env_step", "env_steps")):
                row[f"{name}_to_threshold"] = float(np.median(mine[column].fillna(np.inf)))
        if greedy is not None:
            scores = greedy.loc[greedy["variant"] == label, "reward"].to_numpy()
            ci = _mean_and_ci(scores, confidence, seed) if scores.size else None
            mean, low, high = (math.nan,) * 3 if ci is None else ci
            row.update(greedy_mean=mean, greedy_low=low, greedy_high=high)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("variant")
    table.attrs.update(window=window, final=final, confidence=confidence)
    if greedy is not None:
        table.attrs["greedy_episodes"] = int(greedy["episodes"].max())
    return table


def _mean_and_ci(samples: np.ndarray, confidence: float, seed: int) -> tuple[float, float, float]:
    """The mean over runs and its bootstrap interval; NaN bounds under :data:`MIN_CI_RUNS` runs."""
    mean, low, high = bootstrap_ci(samples, confidence=confidence, seed=seed)
    if len(samples) < MIN_CI_RUNS:
        return float(mean), math.nan, math.nan
    return float(mean), float(low), float(high)


def _interval(low: float, high: float) -> str:
    return "-" if math.isnan(low) else f"[{low:.3g}, {high:.3g}]"


def ci_note(table: pd.DataFrame) -> str | None:
    """Why some of :func:`summary`'s intervals are missing, in one line, or ``None``."""
    few = [str(label) for label, runs in table["runs"].items() if runs < MIN_CI_RUNS]
    if not few:
        return None
    confidence = table.attrs.get("confidence", 0.95)
    which = "every variant" if len(few) == len(table) else ", ".join(few)
    return (
        f"no {confidence:.0%} CI for {which}: fewer than {MIN_CI_RUNS} runs are too few for a "
        f"bootstrap interval to mean anything; run at least {MIN_CI_RUNS}"
    )


def _display(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    final = table.attrs.get("final", "")
    confidence = table.attrs.get("confidence", 0.95)
    headers = [
        "variant",
        "runs",
        f"final reward (last {final} ep.)",
        f"{confidence:.0%} CI",
        "IQM",
    ]
    has_threshold = "threshold" in table
    if has_threshold:
        headers += [
            f"reached {table['threshold'].iloc[0]:g}",
            "episodes to it",
            "env steps to it",
        ]
    has_greedy = "greedy_mean" in table
    if has_greedy:
        episodes = table.attrs.get("greedy_episodes", "")
        headers += [f"greedy score ({episodes} ep.)", f"{confidence:.0%} CI"]

    def count(value: float) -> str:
        return "not reached" if not math.isfinite(value) else f"{value:,.0f}"

    rows = []
    for label, row in table.iterrows():
        cells = [
            str(label),
            str(int(row["runs"])),
            f"{row['final_mean']:.3g}",
            _interval(row["final_low"], row["final_high"]),
            f"{row['final_iqm']:.3g}",
        ]
        if has_threshold:
            cells += [
                f"{row['reached']:.0%}",
                count(row["episodes_to_threshold"]),
                count(row["env_steps_to_threshold"]),
            ]
        if has_greedy:
            cells += (
                ["-", "-"]
                if math.isnan(row["greedy_mean"])
                else [
                    f"{row['greedy_mean']:.3g}",
                    _interval(row["greedy_low"], row["greedy_high"]),
                ]
            )
        rows.append(cells)
    return headers, rows


def format_table(table: pd.DataFrame) -> str:
    """:func:`summary`'s table as aligned plain text, for a terminal."""
    headers, rows = _display(table)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
    note = ci_note(table)
    return "\n".join(lines + ([f"note: {note}"] if note else []))


def to_markdown(table: pd.DataFrame) -> str:
    """:func:`summary`'s table as a Markdown table (for a README or lecture notes)."""
    headers, rows = _display(table)
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("| " + " | ".join(["---"] + ["---:"] * (len(headers) - 1)) + " |")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    note = ci_note(table)
    return "\n".join(lines + ([f"\nNote: {note}."] if note else [])) + "\n"
