"""See the agent: record greedy play as an animated GIF.

::

    rl.record(agent, env, "cartpole.gif", episodes=1)

The agent plays greedily (``act(obs, explore=False)``) through :func:`rlladder.evaluate`, the same
loop as everything else, so recording never changes it. Frames come from gymnasium's own renderer:
the environment must render ``rgb_array`` frames; if it was made without a ``render_mode``,
:func:`record` re-makes it from its spec with ``render_mode="rgb_array"`` (and closes that copy
afterwards). Gymnasium draws its classic-control and toy-text environments with ``pygame``, and
the GIF is written with Pillow: ``pip install "rlladder[render]"`` installs both.

One frame is taken after each reset and after each step, so an episode of ``n`` steps gives
``n + 1`` frames. The GIF format merges consecutive identical frames into one longer frame (an
agent standing still against a wall), so such a file can hold fewer frames than that.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.errors import ConfigError, RLLadderError, check_int, check_range
from rlladder.interface import Agent
from rlladder.loop import evaluate

__all__ = ["record", "FrameRecorder", "RenderDependencyError"]

INSTALL_HINT = 'pip install "rlladder[render]"'


class RenderDependencyError(RLLadderError, ImportError):
    """A package needed to render frames or write the GIF is not installed."""


class FrameRecorder(gym.Wrapper):
    """Keeps a (downscaled) copy of the rendered frame after every reset and every step.

    Like gymnasium's ``RenderCollection``, but it stores small Pillow images as it goes instead of
    full-size arrays, so recording a 500-step CartPole episode does not hold 360 MB of frames.
    """

    def __init__(self, env: gym.Env, *, scale: float = 1.0) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ConfigError(
                f"FrameRecorder needs an environment made with render_mode='rgb_array', got "
                f"render_mode={env.render_mode!r}"
            )
        self.scale = scale
        self.frames: list[Any] = []

    def _grab(self) -> None:
        from PIL import Image

        frame = self.env.render()
        image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
        if self.scale != 1.0:
            width, height = image.size
            size = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        self.frames.append(image)

    def reset(self, **kwargs: Any) -> Any:
        result = self.env.reset(**kwargs)
        self._grab()
        return result

    def step(self, action: Any) -> Any:
        result = self.env.step(action)
        self._grab()
        return result


def _rgb_env(env: gym.Env) -> tuple[gym.Env, bool]:
    """``env`` itself if it renders ``rgb_array`` frames, else a copy re-made from its spec."""
    if getattr(env, "render_mode", None) == "rgb_array":
        return env, False
    spec = getattr(env, "spec", None)
    if spec is None:
        raise ConfigError(
            f"record() cannot render {env!r}: it has no render_mode='rgb_array' and no spec to "
            "re-make it from; make it with gym.make(env_id, render_mode='rgb_array')"
        )
    if "rgb_array" not in (env.metadata or {}).get("render_modes", []):
        raise ConfigError(
            f"record() needs rgb_array frames, but {spec.id} renders only "
            f"{env.metadata.get('render_modes', [])}"
        )
    return gym.make(spec, render_mode="rgb_array"), True


def record(
    agent: Agent,
    env: gym.Env,
    path: str | os.PathLike[str],
    *,
    episodes: int = 1,
    seed: int | None = 0,
    fps: float | None = None,
    scale: float = 1.0,
    max_episode_steps: int | None = None,
) -> Path:
    """Play ``episodes`` greedy episodes of ``agent`` on ``env`` and save them as an animated GIF.

    Args:
        path: where to write the GIF (``.gif``).
        episodes: how many episodes to play, one after the other in the same GIF.
        seed: seeds the first reset, as in :func:`rlladder.evaluate` (the default 0 gives the same
            GIF every time).
        fps: frames per second; defaults to the environment's own ``render_fps`` (50 for CartPole,
            4 for FrozenLake), else 30.
        scale: shrink (or grow) the frames by this factor, e.g. 0.5 for a small GIF.
        max_episode_steps: stop each episode after this many steps (a short clip).

    Returns:
        The path of the GIF.

    Raises:
        RenderDependencyError: pygame or Pillow is missing (``pip install "rlladder[render]"``).
    """
    episodes = check_int("episodes", episodes, 1, owner="record")
    scale = check_range("scale", scale, 0.0, 8.0, low_inclusive=False, owner="record")
    if fps is None:
        fps = float((env.metadata or {}).get("render_fps") or 30)
    fps = check_range("fps", fps, 0.0, 100.0, low_inclusive=False, owner="record")
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ConfigError(
            f"record() writes an animated GIF; give a path ending in .gif, got {path}"
        )
    try:
        import PIL.Image  # noqa: F401 - checked here, used by FrameRecorder
    except ImportError as err:
        raise RenderDependencyError(
            f"record() writes GIFs with Pillow, which is not installed: {INSTALL_HINT}"
        ) from err

    rgb_env, made_here = _rgb_env(env)
    recorder = FrameRecorder(rgb_env, scale=scale)
    try:
        evaluate(agent, recorder, episodes=episodes, seed=seed, max_episode_steps=max_episode_steps)
    except gym.error.DependencyNotInstalled as err:
        raise RenderDependencyError(
            f"record() could not render {getattr(env.spec, 'id', env)!r}: {err}. "
            f"Install the rendering extra: {INSTALL_HINT}"
        ) from err
    finally:
        if made_here:
            rgb_env.close()
    first, *rest = recorder.frames
    path.parent.mkdir(parents=True, exist_ok=True)
    first.save(path, save_all=True, append_images=rest, duration=1000.0 / fps, loop=0)
    return path
