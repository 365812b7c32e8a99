"""rl.plots.LivePlot: a training callback that redraws learning curves at a bounded rate."""

from __future__ import annotations

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

import rlladder as rl
from rlladder.plots.live import LivePlot
from rlladder.stats import moving_average


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def feed(live, clock, n, dt, *, start=0):
    """Call the plot as rl.train would after ``n`` episodes, each taking ``dt`` seconds."""
    for i in range(start, start + n):
        clock.now += dt
        live({"episode": i, "env_step": 10 * (i + 1), "reward": float(i), "steps": 10}, None)


def test_refreshes_by_wall_clock_interval(tmp_path):
    clock = FakeClock()
    live = LivePlot(interval=1.0, max_overhead=None, path=tmp_path / "p.png", clock=clock)
    feed(live, clock, 10, 0.3)  # the first episode starts the clock; due at 1.2 s and 2.4 s
    assert live.draws == 2
    feed(live, clock, 1, 5.0, start=10)
    assert live.draws == 3


def test_refreshes_every_n_episodes(tmp_path):
    clock = FakeClock()
    live = LivePlot(every=5, interval=None, path=tmp_path / "p.png", clock=clock)
    feed(live, clock, 23, 0.0)
    assert live.draws == 4  # after episodes 5, 10, 15, 20


def test_postpones_a_refresh_that_would_cost_too_much(tmp_path):
    clock = FakeClock()
    live = LivePlot(interval=0.1, max_overhead=0.1, path=tmp_path / "p.png", clock=clock)
    show = live._show

    def slow_show():  # every draw takes 0.5 s of the fake clock
        clock.now += 0.5
        show()

    live._show = slow_show
    feed(live, clock, 2, 0.2)  # first due refresh: no cost known yet, so it draws
    assert live.draws == 1
    feed(live, clock, 20, 0.2, start=2)  # 0.5 s per draw is 10% of 5 s: one more in 4 s
    assert live.draws == 1
    feed(live, clock, 6, 0.2, start=22)
    assert live.draws == 2


def test_draws_the_moving_average_into_the_png_and_the_figure(tmp_path):
    path = tmp_path / "live.png"
    live = LivePlot(window=2, path=path, dpi=50)
    assert live.mode == "file"  # tests run on the headless Agg backend
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env, seed=0)
    history = rl.train(agent, env, episodes=30, seed=0, callbacks=[live])
    assert live.draws >= 1  # the final frame is always drawn
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (400, 150)
    ax_reward, ax_steps = live.figure.axes
    raw, smooth = ax_reward.lines
    np.testing.assert_array_equal(raw.get_xdata(), history["episode"])
    np.testing.assert_allclose(
        smooth.get_ydata(), moving_average(history["reward"].to_numpy(), 2, partial=True)
    )
    np.testing.assert_allclose(ax_steps.lines[0].get_ydata(), history["steps"])
    assert "30 episodes" in live.figure.get_suptitle()


def test_closes_cleanly_and_leaks_no_pyplot_figure(tmp_path):
    open_before = plt.get_fignums()
    live = LivePlot(path=tmp_path / "p.png", every=1)
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env, seed=0)
    rl.train(agent, env, episodes=3, seed=0, callbacks=[live])
    assert plt.get_fignums() == open_before
    assert not list(tmp_path.glob("*.tmp"))  # written by rename, nothing half-written left
    with pytest.raises(RuntimeError, match="new rl.plots.LivePlot"):
        live({"episode": 3, "reward": 0.0, "steps": 1}, agent)


def test_plots_a_diagnostic_column(tmp_path):
    live = LivePlot(columns=["reward", "epsilon"], path=tmp_path / "p.png")
    env = gym.make("FrozenLake-v1", is_slippery=False)
    agent = rl.make_agent("q-learning", env, seed=0, epsilon=0.3)
    rl.train(agent, env, episodes=5, seed=0, callbacks=[live])
    np.testing.assert_allclose(live.figure.axes[1].lines[0].get_ydata(), [0.3] * 5)


def test_training_is_unchanged_by_the_plot(tmp_path):
    env = gym.make("FrozenLake-v1", is_slippery=True)
    plain = rl.train(rl.make_agent("q-learning", env, seed=1), env, episodes=50, seed=2)
    live = LivePlot(path=tmp_path / "p.png", every=7)
    watched = rl.train(
        rl.make_agent("q-learning", env, seed=1), env, episodes=50, seed=2, callbacks=[live]
    )
    assert plain.equals(watched)


def test_notebook_mode_updates_one_display_in_place(tmp_path, monkeypatch):
    calls = []

    class Handle:
        def update(self, obj):
            calls.append(("update", obj))

    def display(obj, display_id=False):
        calls.append(("display", obj))
        assert display_id is True
        return Handle()

    monkeypatch.setattr("IPython.display.display", display)
    clock = FakeClock()
    live = LivePlot(mode="notebook", every=2, interval=None, clock=clock)
    feed(live, clock, 6, 0.1)
    live.on_train_end()
    assert [kind for kind, _ in calls] == ["display", "update", "update", "update"]
    assert calls[0][1].data[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_settings_say_what_would_work():
    with pytest.raises(rl.ConfigError, match="interval= .* or every="):
        LivePlot(interval=None, every=None)
    with pytest.raises(rl.ConfigError, match="columns"):
        LivePlot(columns="reward")
    with pytest.raises(rl.UnknownNameError, match="notebook"):
        LivePlot(mode="browser")
