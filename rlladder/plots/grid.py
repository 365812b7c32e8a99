"""Pictures of what a tabular agent learned on a grid map (FrozenLake and friends).

::

    env = gym.make("FrozenLake-v1", is_slippery=False)
    rl.plots.policy_map(agent, env)     # the greedy action of every tile, as arrows over the map
    rl.plots.value_map(agent, env)      # max_a Q(s, a) of every tile, as a heatmap
    rl.plots.h_matrix_map(ps_agent, env)  # the whole table: states x actions

They read ``agent.q_values(obs)`` (Projective Simulation: its h-values) and the map the env
carries in ``env.unwrapped.desc``; each returns a matplotlib Figure.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from rlladder.errors import SpaceError
from rlladder.interface import Agent
from rlladder.plots.curves import PROJECTOR_STYLE

__all__ = ["policy_map", "value_map", "h_matrix_map", "action_table"]

#: FrozenLake's actions: 0 left, 1 down, 2 right, 3 up.
ARROWS = ("\u2190", "\u2193", "\u2192", "\u2191")
ACTION_NAMES = ("left", "down", "right", "up")
_TILE_COLOURS = {"S": "#BFD7EA", "F": "#EAF2F8", "H": "#4D4D4D", "G": "#009E73"}
_TILE_NAMES = {"S": "start", "F": "frozen", "H": "hole", "G": "goal"}


def _grid(env: gym.Env, fn: str) -> np.ndarray:
    """The map as an array of one-letter strings (rows x columns)."""
    desc = getattr(getattr(env, "unwrapped", env), "desc", None)
    if desc is None:
        raise SpaceError(
            f"{fn}() needs a grid-map environment with a .desc map, such as "
            f"gym.make('FrozenLake-v1'); got {env}"
        )
    grid = np.asarray(desc)
    if grid.dtype.kind == "S":
        grid = np.char.decode(grid, "ascii")
    return grid.astype(str)


def action_table(agent: Agent, n_states: int) -> np.ndarray:
    """``agent.q_values(s)`` for every state ``s``: the Q-table (or PS h-matrix), states x actions."""
    if not callable(getattr(agent, "q_values", None)):
        raise TypeError(f"expected an rl.Agent with q_values(obs), got {agent!r}")
    try:
        return np.stack([np.asarray(agent.q_values(s), dtype=np.float64) for s in range(n_states)])
    except NotImplementedError:
        raise TypeError(
            f"{type(agent).__name__} does not expose q_values(obs), which these pictures read; "
            "tabular agents (Q-learning, PS) and DQN do"
        ) from None


def _n_states(env: gym.Env, grid: np.ndarray) -> int:
    space = env.observation_space
    return int(space.n) if isinstance(space, gym.spaces.Discrete) else grid.size


def _draw_tiles(ax: Any, grid: np.ndarray) -> None:
    letters = sorted(_TILE_COLOURS)
    codes = np.vectorize(lambda c: letters.index(c) if c in letters else letters.index("F"))(grid)
    cmap = ListedColormap([_TILE_COLOURS[c] for c in letters])
    ax.imshow(codes, cmap=cmap, vmin=-0.5, vmax=len(letters) - 0.5)
    _cell_lines(ax, grid.shape)


def _cell_lines(ax: Any, shape: tuple[int, ...]) -> None:
    rows, cols = shape
    ax.set_xticks(np.arange(-0.5, cols, 1), minor=True)
    ax.set_yticks(np.arange(-0.5, rows, 1), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.grid(which="major", visible=False)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)


def policy_map(agent: Agent, env: gym.Env, *, title: str | None = None) -> Figure:
    """The greedy action ``argmax_a Q(s, a)`` of every tile as an arrow over the map.

    Holes and the goal get no arrow (nothing to choose there); a tile whose values are all equal
    (never learned about) gets a dot.
    """
    grid = _grid(env, "policy_map")
    table = action_table(agent, _n_states(env, grid))
    with plt.rc_context(PROJECTOR_STYLE):
        fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 1, 1.3 * grid.shape[0] + 1))
        _draw_tiles(ax, grid)
        for s, row in enumerate(table[: grid.size]):
            r, c = divmod(s, grid.shape[1])
            tile = grid[r, c]
            if tile in "HG":
                ax.text(
                    c,
                    r,
                    _TILE_NAMES[tile],
                    ha="center",
                    va="center",
                    color="white",
                    fontsize=13,
                    fontweight="bold",
                )
                continue
            glyph = "\u00b7" if np.all(row == row[0]) else ARROWS[int(np.argmax(row))]
            ax.text(c, r, glyph, ha="center", va="center", fontsize=30, fontweight="bold")
        ax.set_title(title or f"greedy policy of {_agent_name(agent)}")
    return fig


def value_map(agent: Agent, env: gym.Env, *, title: str | None = None) -> Figure:
    """``V(s) = max_a Q(s, a)`` of every tile as a heatmap, the value written in each cell."""
    grid = _grid(env, "value_map")
    table = action_table(agent, _n_states(env, grid))
    values = table[: grid.size].max(axis=1).reshape(grid.shape)
    with plt.rc_context(PROJECTOR_STYLE):
        fig, ax = plt.subplots(figsize=(1.3 * grid.shape[1] + 2.5, 1.3 * grid.shape[0] + 1))
        image = ax.imshow(values, cmap="viridis")
        _cell_lines(ax, grid.shape)
        threshold = (np.nanmax(values) + np.nanmin(values)) / 2
        for (r, c), value in np.ndenumerate(values):
            colour = "black" if value > threshold else "white"
            ax.text(
                c,
                r,
                f"{grid[r, c]}\n{value:.2g}",
                ha="center",
                va="center",
                color=colour,
                fontsize=12,
            )
        fig.colorbar(image, ax=ax, label="max over actions")
        ax.set_title(title or f"state values of {_agent_name(agent)}")
    return fig


def h_matrix_map(agent: Agent, env: gym.Env | None = None, *, title: str | None = None) -> Figure:
    """The agent's whole table as a heatmap: a row per state, a column per action.

    For Projective Simulation that is the h-matrix (how strongly each percept is connected to each
    action clip); for Q-learning, the Q-table. With a grid ``env``, rows are labelled with tiles.
    """
    if env is not None:
        grid = _grid(env, "h_matrix_map")
        n_states = _n_states(env, grid)
        tiles = [grid.flat[s] if s < grid.size else "" for s in range(n_states)]
    else:
        space = getattr(agent, "observation_space", None)
        if not isinstance(space, gym.spaces.Discrete):
            raise SpaceError(
                "h_matrix_map() needs env= unless the agent's observations are Discrete"
            )
        n_states, tiles = int(space.n), [""] * int(space.n)
    table = action_table(agent, n_states)
    n_actions = table.shape[1]
    is_ps = hasattr(agent, "h_matrix")
    with plt.rc_context(PROJECTOR_STYLE):
        fig, ax = plt.subplots(figsize=(2 + 1.2 * n_actions, 1 + 0.4 * n_states))
        image = ax.imshow(table, cmap="viridis", aspect="auto")
        names = ACTION_NAMES if n_actions == len(ACTION_NAMES) else range(n_actions)
        ax.set_xticks(range(n_actions), [str(a) for a in names])
        ax.set_yticks(
            range(n_states), [f"{s} {t}".strip() for s, t in enumerate(tiles)], fontsize=11
        )
        ax.grid(False)
        ax.set_xlabel("action")
        ax.set_ylabel("state")
        fig.colorbar(image, ax=ax, label="h-value" if is_ps else "Q-value")
        ax.set_title(
            title
            or (
                f"h-matrix of {_agent_name(agent)}" if is_ps else f"Q-table of {_agent_name(agent)}"
            )
        )
    return fig


def _agent_name(agent: Agent) -> str:
    return getattr(agent, "name", "") or type(agent).__name__
