"""Agents that misbehave inside a worker process: end it, raise, or take their time.

Used by the backend tests (an importable module, so the classes travel by reference).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import rlladder as rl


class Constant(rl.Agent):
    """Always action 0; learns nothing."""

    def act(self, obs: Any, *, explore: bool = True) -> int:
        return 0

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        return {}


class ExitsProcess(Constant):
    """Ends its process at its first step, the way an out-of-memory kill or a crash would."""

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        os._exit(1)


class Raises(Constant):
    """Raises ``rl.ConfigError`` at step ``at`` of its run."""

    def __init__(self, *args: Any, at: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.at, self.steps = at, 0

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        self.steps += 1
        if self.steps == self.at:
            raise rl.ConfigError(f"Raises: step {self.steps} is not allowed")
        return {}


class Slow(Constant):
    """Sleeps ``delay`` seconds a step; records its process id in ``pid_dir`` at the first step."""

    def __init__(self, *args: Any, delay: float = 0.0, pid_dir: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.delay, self.pid_dir, self.recorded = delay, pid_dir, False

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        if self.pid_dir and not self.recorded:
            (Path(self.pid_dir) / str(os.getpid())).touch()
            self.recorded = True
        if self.delay:
            time.sleep(self.delay)
        return {}


class WaitsForParent(Constant):
    """After its first episode, waits (at most ``timeout`` seconds) until the file ``marker``
    exists; its diagnostic ``saw_marker`` is 1.0 once it has seen the file, 0.0 before (and
    after a timeout)."""

    def __init__(self, *args: Any, marker: str = "", timeout: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marker, self.timeout = Path(marker), timeout
        self.episodes, self.waited, self.saw = 0, False, False

    def end_episode(self) -> None:
        self.episodes += 1

    def act(self, obs: Any, *, explore: bool = True) -> int:
        if self.episodes and not self.waited:
            self.waited = True
            deadline = time.monotonic() + self.timeout
            while not self.marker.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            self.saw = self.marker.exists()
        return 0

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        return {"saw_marker": float(self.saw)}
