"""rlladder: a comparative, tabular-to-deep reinforcement-learning teaching library.

``import rlladder as rl`` gives the whole public face::

    agent = rl.make_agent("q-learning", env, seed=0)
    history = rl.train(agent, env, episodes=500, seed=0)
    rl.evaluate(agent, env, episodes=100)
"""

from __future__ import annotations

import importlib
from typing import Any

from rlladder import envs  # noqa: F401 - registers the probe envs with gymnasium (no torch)
from rlladder.errors import (
    AgentCheckError,
    CheckpointError,
    ConfigError,
    DivergenceError,
    RLLadderError,
    SpaceError,
    UnknownNameError,
)
from rlladder.interface import Agent, Transition
from rlladder.loop import evaluate, run_episode, train
from rlladder.registry import (
    describe_agents,
    list_agents,
    make_agent,
    preset_for,
    register_agent,
    register_preset,
    resolve_hyperparameters,
)
from rlladder.schedules import (
    ConstantSchedule,
    ExponentialSchedule,
    LinearSchedule,
    Schedule,
)
from rlladder.tabular import ProjectiveSimulation, QLearning

__version__ = "0.1.0"

# Heavy parts (torch, matplotlib) load on first use: `import rlladder` stays fast.
_LAZY: dict[str, tuple[str, str | None]] = {
    # deep agents (torch)
    "DQN": ("rlladder.deep.dqn", "DQN"),
    "DQNConfig": ("rlladder.deep.config", "DQNConfig"),
    "ReplayBuffer": ("rlladder.deep.replay", "ReplayBuffer"),
    "deep": ("rlladder.deep", None),
    "envs": ("rlladder.envs", None),
    # exercise checks: a student's pieces against the library's own (torch for the deep ones)
    "exercises": ("rlladder.exercises", None),
    # experiments
    "Experiment": ("rlladder.experiments.spec", "Experiment"),
    "Variant": ("rlladder.experiments.spec", "Variant"),
    "run_experiment": ("rlladder.experiments.runner", "run_experiment"),
    "load_results": ("rlladder.experiments.store", "load_results"),
    "load_evaluations": ("rlladder.experiments.store", "load_evaluations"),
    "list_suites": ("rlladder.experiments.suites", "list_suites"),
    "get_suite": ("rlladder.experiments.suites", "get_suite"),
    "experiments": ("rlladder.experiments", None),
    # statistics over runs (used by experiments and plots alike)
    "stats": ("rlladder.stats", None),
    # plots and lecture tools (matplotlib)
    "plots": ("rlladder.plots", None),
    "record": ("rlladder.recording", "record"),
    # checking a student's agent against the probes
    "check_agent": ("rlladder.check", "check_agent"),
    "CheckReport": ("rlladder.check", "CheckReport"),
    # trackers (TensorBoard, W&B: their packages load when a tracker is made)
    "loggers": ("rlladder.loggers", None),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = importlib.import_module(module)
        value = getattr(value, attr) if attr else value
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rlladder' has no attribute {name!r}")


__all__ = [
    "Agent",
    "Transition",
    "train",
    "evaluate",
    "run_episode",
    "make_agent",
    "list_agents",
    "describe_agents",
    "register_agent",
    "register_preset",
    "preset_for",
    "resolve_hyperparameters",
    "Schedule",
    "ConstantSchedule",
    "LinearSchedule",
    "ExponentialSchedule",
    "QLearning",
    "ProjectiveSimulation",
    "RLLadderError",
    "ConfigError",
    "SpaceError",
    "UnknownNameError",
    "DivergenceError",
    "CheckpointError",
    "AgentCheckError",
    *_LAZY,
]
