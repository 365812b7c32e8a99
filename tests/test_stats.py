"""Statistics over runs, checked against numbers worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rlladder import stats
from rlladder.errors import ConfigError


def results_frame() -> pd.DataFrame:
    """Two variants x two runs x four episodes, rewards chosen to make the sums easy."""
    rows = []
    rewards = {
        ("A", 0): [0, 1, 1, 1],
        ("A", 1): [0, 0, 1, 1],
        ("B", 0): [0, 0, 0, 0],
        ("B", 1): [0, 0, 0, 1],
    }
    for (variant, run), values in rewards.items():
        env_step = 0
        for episode, reward in enumerate(values):
            steps = 10 - 2 * episode
            env_step += steps
            rows.append(
                dict(
                    variant=variant,
                    run=run,
                    seed=run,
                    episode=episode,
                    env_step=env_step,
                    reward=float(reward),
                    steps=steps,
                )
            )
    return pd.DataFrame(rows)


def test_moving_average_by_hand():
    out = stats.moving_average([1, 2, 3, 4, 5], 2)
    np.testing.assert_allclose(out, [np.nan, 1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(stats.moving_average([[0, 3, 6], [3, 3, 3]], 3)[:, 2], [3, 3])
    np.testing.assert_allclose(stats.moving_average([4.0, 2.0], 1), [4.0, 2.0])


def test_moving_average_with_partial_windows_at_the_start():
    # what the live plot draws while training runs (was plots.live.trailing_mean)
    out = stats.moving_average(np.array([1, 3, 5, 7.0]), 2, partial=True)
    np.testing.assert_allclose(out, [1, 2, 4, 6])
    np.testing.assert_allclose(stats.moving_average([2.0, 4.0], 10, partial=True), [2, 3])
    assert stats.moving_average(np.array([]), 3, partial=True).size == 0


def test_moving_average_skips_missing_values():
    # diagnostics before the first update are NaN (was plots.diagnostics.nan_moving_average)
    values = [np.nan, np.nan, 1.0, 3.0, np.nan, 5.0]
    expected = [np.nan, np.nan, 1.0, 2.0, 3.0, 5.0]
    np.testing.assert_allclose(stats.moving_average(values, 2, partial=True), expected)
    np.testing.assert_allclose(stats.moving_average(values, 2), expected)
    # a NaN no longer poisons every later window, and the first window-1 stay NaN when full
    np.testing.assert_allclose(
        stats.moving_average([[1.0, np.nan, 3.0, 5.0], [2.0, 2.0, 2.0, np.inf]], 2),
        [[np.nan, 1.0, 3.0, 4.0], [np.nan, 2.0, 2.0, 2.0]],
    )


def test_moving_average_is_bit_for_bit_the_plain_trailing_mean_without_nan():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 200)) * 100
    w = 17
    cumulative = np.cumsum(x, axis=-1)
    plain = np.full_like(x, np.nan)
    plain[:, w - 1] = cumulative[:, w - 1]
    plain[:, w:] = cumulative[:, w:] - cumulative[:, :-w]
    plain[:, w - 1 :] /= w
    assert np.array_equal(stats.moving_average(x, w), plain, equal_nan=True)


def test_window_larger_than_the_episodes_is_refused():
    with pytest.raises(ConfigError, match="window=6 is larger than the 5 episodes"):
        stats.moving_average(np.arange(5), 6)
    with pytest.raises(ConfigError, match="window"):
        stats.summary(results_frame(), window=5)


def test_iqm_by_hand():
    # 8 values sorted -50, 1, 2, 3, 4, 5, 6, 100: drop 2 at each end, average 2, 3, 4, 5
    assert stats.iqm([100, 1, 2, 3, 4, 5, 6, -50]) == pytest.approx(3.5)
    assert stats.iqm([1, 2, 3]) == pytest.approx(2.0)  # n // 4 == 0: the plain mean
    np.testing.assert_allclose(stats.iqm(np.array([[0, 10], [1, 20], [2, 30], [9, 99]])), [1.5, 25])


def test_bootstrap_ci_small_case_by_hand():
    # two runs 0 and 1: resample means are 0 (prob 1/4), 0.5 (1/2) or 1 (1/4), so the 30% and
    # 70% quantiles are both 0.5, the 5% quantile is 0 and the 95% one is 1
    mean, low, high = stats.bootstrap_ci([0.0, 1.0], confidence=0.4, n_boot=20_000, seed=1)
    assert mean == pytest.approx(0.5)
    assert (low, high) == (pytest.approx(0.5), pytest.approx(0.5))
    mean, low, high = stats.bootstrap_ci([0.0, 1.0], confidence=0.9, n_boot=20_000, seed=1)
    assert (low, high) == (pytest.approx(0.0), pytest.approx(1.0))
    # constant data: the interval is that constant; one run: no interval around the mean
    assert stats.bootstrap_ci([2.0, 2.0, 2.0])[1:] == (2.0, 2.0)
    assert stats.bootstrap_ci([3.0])[1:] == (3.0, 3.0)


def test_bootstrap_ci_is_seeded_and_covers_the_true_mean():
    data = np.random.default_rng(1).normal(size=20)
    assert stats.bootstrap_ci(data, seed=3) == stats.bootstrap_ci(data, seed=3)
    assert stats.bootstrap_ci(data, seed=3)[1] != stats.bootstrap_ci(data, seed=4)[1]
    # coverage sanity: 95% intervals of the mean of 30 N(0, 1) samples contain 0 most times,
    # and have about the width of the normal interval 2 * 1.96 / sqrt(30)
    hits, widths = 0, []
    for trial in range(200):
        sample = np.random.default_rng(100 + trial).normal(size=30)
        _, low, high = stats.bootstrap_ci(sample, n_boot=500, seed=trial)
        hits += low <= 0 <= high
        widths.append(high - low)
    assert 0.85 <= hits / 200 <= 0.99
    assert np.mean(widths) == pytest.approx(2 * 1.96 / math.sqrt(30), rel=0.15)


def test_bootstrap_ci_of_curves_keeps_nan_columns():
    mean, low, high = stats.bootstrap_ci(np.array([[np.nan, 1.0], [np.nan, 3.0]]), seed=0)
    assert np.isnan(mean[0]) and np.isnan(low[0]) and np.isnan(high[0])
    assert mean[1] == 2.0 and 1.0 <= low[1] <= 2.0 <= high[1] <= 3.0


def test_first_crossing_by_hand():
    rewards = [0, 1, 0, 1, 1, 1]
    assert stats.first_crossing(rewards, 1.0) == 1
    assert stats.first_crossing(rewards, 1.0, window=2) == 4  # mean(r[3:5]) is the first 1
    assert stats.first_crossing(rewards, 0.5, window=2, at=[10, 20, 30, 40, 50, 60]) == 20
    assert math.isnan(stats.first_crossing(rewards, 2.0))


def test_crossings_per_run_in_episodes_and_env_steps():
    table = stats.crossings(results_frame(), threshold=1.0, window=2)
    # A run 0: r = 0,1,1,1 -> MA(2) = nan, .5, 1, 1 -> episode 2, env_step 10+8+6 = 24
    # A run 1: r = 0,0,1,1 -> episode 3, env_step 28; B never reaches 1 with a window of 2
    assert table["episode"].tolist()[:2] == [2.0, 3.0]
    assert table["env_step"].tolist()[:2] == [24.0, 28.0]
    assert table["episode"].iloc[2:].isna().all()


def test_summary_table_by_hand(tmp_path):
    table = stats.summary(results_frame(), threshold=1.0, window=2)
    a, b = table.loc["A"], table.loc["B"]
    # final = the last 2 episodes: A's runs average 1 and 1, B's runs 0 and 0.5
    assert a["final_mean"] == 1.0 and b["final_mean"] == 0.25 and b["final_iqm"] == 0.25
    # two runs: no bootstrap interval, and the printed tables say why
    assert table[["final_low", "final_high"]].isna().all().all()
    assert a["reached"] == 1.0 and b["reached"] == 0.0
    assert a["episodes_to_threshold"] == 2.5  # median of 2 and 3
    assert a["env_steps_to_threshold"] == 26.0  # median of 24 and 28
    assert math.isinf(b["episodes_to_threshold"])
    assert table["runs"].tolist() == [2, 2] and table["episodes"].tolist() == [4, 4]
    markdown = stats.to_markdown(table)
    lines = markdown.splitlines()
    assert lines[0].startswith("| variant | runs |") and len(lines) == 6
    assert "| A | 2 | 1 | - | 1 | 100% | 2 | 26 |" in markdown
    assert "not reached" in lines[3]
    note = (
        "no 95% CI for every variant: fewer than 3 runs are too few for a bootstrap interval to "
        "mean anything; run at least 3"
    )
    assert lines[5] == f"Note: {note}."
    text = stats.format_table(table)
    assert "A" in text and "not reached" in text and text.splitlines()[-1] == f"note: {note}"
    table.to_csv(tmp_path / "summary.csv")
    back = pd.read_csv(tmp_path / "summary.csv", index_col="variant")
    assert back.loc["B", "final_mean"] == 0.25


def test_curves_in_episodes_and_env_steps():
    curves = stats.curves(results_frame(), window=2)
    a = curves["A"]
    assert a["episode"].tolist() == [1.0, 2.0, 3.0]
    # mean over runs of MA(2): run0 .5, 1, 1; run1 0, .5, 1
    np.testing.assert_allclose(a["mean"], [0.25, 0.75, 1.0])
    steps = stats.curves(results_frame(), "steps", window=1, x="env_step", points=5)["B"]
    assert steps["env_step"].iloc[0] == 10.0 and steps["env_step"].iloc[-1] == 28.0
    np.testing.assert_allclose(steps["mean"].iloc[[0, -1]], [10.0, 4.0])


def test_stats_refuse_what_is_not_results():
    with pytest.raises(TypeError, match="results DataFrame"):
        stats.summary([1, 2, 3])
    with pytest.raises(ConfigError, match="missing: reward"):
        stats.summary(results_frame().drop(columns="reward"))
    with pytest.raises(ConfigError, match="empty"):
        stats.summary(results_frame().iloc[:0])


def test_three_runs_get_a_bootstrap_ci_and_fewer_say_why_per_variant():
    frame = results_frame()
    third = frame[frame["run"] == 1].assign(run=2, seed=2)
    frame = pd.concat([frame, third[third["variant"] == "B"]], ignore_index=True)
    table = stats.summary(frame, window=2)
    b = table.loc["B"]  # runs end at 0, 0.5 and 0.5
    low, high = stats.bootstrap_ci(np.array([0.0, 0.5, 0.5]))[1:]
    assert (b["final_low"], b["final_high"]) == (low, high) and low < b["final_mean"] < high
    assert math.isnan(table.loc["A", "final_low"])
    text = stats.format_table(table)
    assert f"[{low:.3g}, {high:.3g}]" in text
    assert text.splitlines()[-1].startswith("note: no 95% CI for A: fewer than 3 runs")
