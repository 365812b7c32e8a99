"""Watch an agent learn: a training callback that redraws its learning curves while it trains.

::

    live = rl.plots.LivePlot()
    history = rl.train(agent, env, episodes=500, callbacks=[live])

Where the picture goes depends on where the code runs:

* in a Jupyter notebook, one image in the cell's output, updated in place (an IPython display
  handle), so the notebook keeps a single figure rather than hundreds;
* in a script with an interactive matplotlib backend (a desktop), a window;
* in a headless script (the ``Agg`` backend, CI, a server), a PNG file rewritten at each refresh:
  open it in an image viewer that reloads changed files, or in your editor.

Drawing costs tens of milliseconds, far more than a tabular episode, so the plot does not redraw
after every episode. It redraws when ``interval`` seconds of wall-clock time have passed (or every
``every`` episodes, if you ask), and it postpones a refresh while drawing would take more than
``max_overhead`` of the training time since the last one: at the defaults training runs at least
95% as fast as without the plot (``benchmarks/live_plot.py`` measures it). The last frame is
always drawn when training ends.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from matplotlib.figure import Figure

from rlladder.errors import ConfigError, check_int, check_range, unknown_name
from rlladder.stats import moving_average

__all__ = ["LivePlot"]

MODES = ("auto", "notebook", "window", "file")
_NON_INTERACTIVE = {"agg", "pdf", "pgf", "ps", "svg", "cairo", "template"}


def _in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (where IPython display handles work)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _interactive_backend() -> bool:
    import matplotlib

    backend = matplotlib.get_backend().lower()
    return backend not in _NON_INTERACTIVE and "inline" not in backend


class LivePlot:
    """A training callback that plots the moving average of reward and steps as training runs.

    Args:
        columns: which columns of the per-episode record to plot, one panel each; any diagnostic
            the agent reports works too, e.g. ``("reward", "steps", "q_mean")``.
        window: episodes in the moving average (the faint line underneath is the raw value); the
            first episodes average the fewer there are, and missing values (NaN, e.g. a loss
            before the first update) are skipped (:func:`rlladder.stats.moving_average`).
        interval: seconds of wall-clock time between refreshes (``None``: no time trigger).
        every: also refresh every this many episodes (``None``: no episode trigger).
        max_overhead: postpone a due refresh while the time spent drawing would exceed this
            fraction of the time since the last refresh (``None``: never postpone).
        mode: ``"auto"`` (notebook if in one, else a window on an interactive backend, else a
            file), or one of ``"notebook"``, ``"window"``, ``"file"``.
        path: the PNG to (re)write; in ``"file"`` mode defaults to ``live_plot.png``. Given in
            another mode, the PNG is written as well.
        title: the figure title; defaults to the agent's name.
        dpi: resolution of the notebook image and the PNG.
        clock: the time source (tests pass a fake one).

    After training, :attr:`figure` holds the final matplotlib Figure and :attr:`draws` counts the
    refreshes.
    """

    def __init__(
        self,
        columns: Sequence[str] = ("reward", "steps"),
        *,
        window: int = 20,
        interval: float | None = 1.0,
        every: int | None = None,
        max_overhead: float | None = 0.05,
        mode: Literal["auto", "notebook", "window", "file"] = "auto",
        path: str | os.PathLike[str] | None = None,
        title: str | None = None,
        dpi: int = 80,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        owner = type(self).__name__
        if isinstance(columns, str) or not columns or not all(isinstance(c, str) for c in columns):
            raise ConfigError(
                f"{owner}: columns must be a non-empty list of column names, e.g. "
                f"('reward', 'steps'), got {columns!r}"
            )
        if mode not in MODES:
            raise unknown_name("mode", mode, MODES)
        if interval is None and every is None:
            raise ConfigError(
                f"{owner}: give interval= (seconds) or every= (episodes), or both; with neither "
                "the plot would only be drawn at the end"
            )
        self.columns = tuple(columns)
        self.window = check_int("window", window, 1, owner=owner)
        self.interval = None if interval is None else check_range("interval", interval, 0.0)
        self.every = None if every is None else check_int("every", every, 1, owner=owner)
        self.max_overhead = (
            None
            if max_overhead is None
            else check_range("max_overhead", max_overhead, 0.0, 1.0, low_inclusive=False)
        )
        self.dpi = check_int("dpi", dpi, 10, owner=owner)
        self.title = title
        self.clock = clock
        if mode == "auto":
            mode = "notebook" if _in_notebook() else "window" if _interactive_backend() else "file"
        self.mode = mode
        if path is None and mode == "file":
            path = "live_plot.png"
        self.path = None if path is None else Path(path)

        self.data: dict[str, list[float]] = {c: [] for c in self.columns}
        self.episodes: list[int] = []
        self.draws = 0
        self.draw_seconds = 0.0
        self.figure: Figure | None = None
        self._lines: list[tuple[Any, Any, Any]] = []
        self._handle: Any = None
        self._last_time: float | None = None
        self._last_episode = 0
        self._last_cost = 0.0
        self._closed = False

    # ---- the callback protocol -----------------------------------------------------------------

    def __call__(self, record: dict[str, Any], agent: Any) -> None:
        """Store this episode's values and redraw if a refresh is due. Never stops training."""
        if self._closed:
            raise RuntimeError(
                "this LivePlot is closed (its training ended); make a new rl.plots.LivePlot() "
                "for the next rl.train(...)"
            )
        if self.title is None:
            self.title = (
                (getattr(agent, "name", "") or type(agent).__name__) if agent else "training"
            )
        self.episodes.append(int(record.get("episode", len(self.episodes))))
        for column in self.columns:
            self.data[column].append(float(record.get(column, np.nan)))
        now = self.clock()
        if self._last_time is None:  # the first episode starts the clock; nothing to show yet
            self._last_time = now
            return None
        if self._refresh_due(now):
            self.draw()
        return None

    def on_train_end(self, history: Any = None) -> None:
        """Draw the final frame and release the figure (called by ``rl.train`` at the end)."""
        if self.episodes and not self._closed:
            self.draw()
        self.close()

    # ---- refreshing ----------------------------------------------------------------------------

    def _refresh_due(self, now: float) -> bool:
        assert self._last_time is not None
        elapsed = now - self._last_time
        n = len(self.episodes)
        due = (self.every is not None and n - self._last_episode >= self.every) or (
            self.interval is not None and elapsed >= self.interval
        )
        if due and self.max_overhead is not None:
            # a refresh costs about what the last one did: wait until that is a small share
            due = self._last_cost <= self.max_overhead * elapsed
        return due

    def draw(self) -> None:
        """Redraw now with every episode seen so far, and show it where this plot shows things."""
        start = self.clock()
        if self.figure is None:
            self._build()
        self._update_lines()
        self._show()
        end = self.clock()
        self.draws += 1
        self._last_cost = end - start
        self.draw_seconds += self._last_cost
        self._last_time = end
        self._last_episode = len(self.episodes)

    def close(self) -> None:
        """Stop updating. A window stays open for ``plt.show()``; nothing else is kept."""
        self._closed = True
        self._handle = None

    # ---- drawing -------------------------------------------------------------------------------

    def _build(self) -> None:
        n = len(self.columns)
        size = (4.0 * n, 3.0)
        if self.mode == "window":
            import matplotlib.pyplot as plt

            plt.ion()
            figure = plt.figure(figsize=size)
        else:  # not registered with pyplot: the notebook shows only our image, nothing leaks
            figure = Figure(figsize=size)
        axes = figure.subplots(1, n, squeeze=False)[0]
        self._lines = []
        for ax, column in zip(axes, self.columns, strict=True):
            (raw,) = ax.plot([], [], color="C0", alpha=0.25, linewidth=0.8)
            (smooth,) = ax.plot([], [], color="C0", linewidth=2.0)
            ax.set_xlabel("episode")
            ax.set_ylabel(column)
            ax.set_title(f"{column}, moving average of {self.window}", fontsize=10)
            ax.grid(alpha=0.3)
            self._lines.append((ax, raw, smooth))
        # fixed margins: a layout engine would re-measure every label and double the cost of a draw
        figure.subplots_adjust(
            left=0.5 / size[0] + 0.05, right=0.98, bottom=0.17, top=0.8, wspace=0.35
        )
        self.figure = figure

    def _update_lines(self) -> None:
        assert self.figure is not None
        x = np.asarray(self.episodes)
        for (ax, raw, smooth), column in zip(self._lines, self.columns, strict=True):
            y = np.asarray(self.data[column])
            raw.set_data(x, y)
            smooth.set_data(x, moving_average(y, self.window, partial=True))
            ax.relim()
            ax.autoscale_view()
        self.figure.suptitle(f"{self.title} - {len(self.episodes)} episodes")

    def _png(self) -> bytes:
        assert self.figure is not None
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=self.dpi)
        return buffer.getvalue()

    def _show(self) -> None:
        assert self.figure is not None
        png = self._png() if self.mode in ("notebook", "file") or self.path else b""
        if self.path is not None:
            # write then rename, so a viewer never reads a half-written file
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_bytes(png)
            os.replace(tmp, self.path)
        if self.mode == "notebook":
            from IPython.display import Image, display

            image = Image(data=png, format="png")
            if self._handle is None:
                self._handle = display(image, display_id=True)
            else:
                self._handle.update(image)
        elif self.mode == "window":
            self.figure.canvas.draw_idle()
            self.figure.canvas.flush_events()

    def __repr__(self) -> str:
        where = self.mode if self.path is None else f"{self.mode}, {self.path}"
        return f"LivePlot(columns={self.columns}, {where}, draws={self.draws})"
