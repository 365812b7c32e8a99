"""An experiment as a complete, runnable TOML file: every hyperparameter, resolved.

::

    print(experiment_toml(rl.get_suite("cartpole-ablation")))   # what `rlladder show` prints

Each variant's table lists every hyperparameter its agent gets (the class's defaults, the name's,
the preset for the environment, the variant's own; see :meth:`rlladder.Variant.resolve`), each
with a comment saying where it came from (a preset's says what it was tuned for:
``preset (tuned for FrozenLake-v1, 4x4, slippery)``; a variant whose values were not tuned for
the environment, no preset or one tuned on other env kwargs, says so in a comment above its
table). Every value is given explicitly, so the file runs the
same experiment even after a preset changes, and
``rlladder show cartpole-ablation > mine.toml && rlladder run mine.toml`` runs what the suite
runs, into the same results folder. TOML has no null: hyperparameters that are ``None`` are
listed in the table's ``none = [...]``, which :meth:`rlladder.Experiment.from_toml` reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from rlladder.experiments.spec import (
    NONE_KEY,
    SETTABLE_FIELDS,
    Experiment,
    Variant,
    registered_spec,
)
from rlladder.experiments.toml_writer import toml_key, toml_line
from rlladder.experiments.values import canonical, is_plain
from rlladder.registry import preset_fit, untuned_problem

__all__ = ["experiment_toml", "SOURCES_HELP"]

#: What the comment after each hyperparameter means (header lines).
SOURCES_HELP = (
    "A value's comment says where it comes from: default (the agent class's), the agent's name",
    "(the name's own defaults, e.g. a DQN rung's switches), preset (tuned for the environment it",
    "names), variant (set in the experiment, or by --set).",
)
_COMMENT_COLUMN = 44


def experiment_toml(experiment: Experiment, *, header: Sequence[str] = ()) -> str:
    """``experiment`` as TOML text that :meth:`~rlladder.Experiment.from_toml` reads back as the
    same experiment (the same :meth:`~rlladder.Experiment.identity`), ``header`` lines first as
    comments."""
    lines = [f"# {line}" if line else "#" for line in header]
    spec = experiment.to_dict()
    for key in SETTABLE_FIELDS:
        if spec.get(key) is not None:
            lines.append(toml_line(key, spec[key]))
    lines += _default_threshold(experiment)
    if experiment.env_kwargs:
        lines += ["", "[env_kwargs]"]
        kwargs = canonical(experiment.env_kwargs)
        lines += _table(kwargs, {}, {})
        lines += [f"# {key} = None: TOML cannot write it" for key, v in kwargs.items() if v is None]
    env = experiment.make_env()
    try:
        for label, variant in experiment.variants.items():
            lines += ["", f"[variants.{toml_key(label)}]"]
            lines += _variant(variant, env)
    finally:
        env.close()
    return "\n".join(lines) + "\n"


def _default_threshold(experiment: Experiment) -> list[str]:
    """A comment saying which reward threshold the summary uses when none is set: gymnasium's
    for the environment the env kwargs amount to (the 8x8 map's 0.85, not the 4x4's 0.7)."""
    env = experiment.env
    if experiment.threshold is not None or not isinstance(env, str) or ":" in env:
        return []
    try:
        spec = registered_spec(env, experiment.env_kwargs)
    except gym.error.Error:
        return []
    if spec.reward_threshold is None:
        return []
    return [
        f"# threshold = {spec.reward_threshold}: not set, so the summary uses gymnasium's "
        f"reward_threshold of {spec.id}"
    ]


def _variant(variant: Variant, env: Any) -> list[str]:
    resolved = variant.resolve(env)
    raw = variant.hyperparameters_for(env)
    sources = variant.sources(env)
    agent = resolved.pop("agent")
    lines = []
    if variant.is_factory:
        lines.append(
            "# a factory function: only the keyword arguments it is given are known; "
            "the defaults it fills in itself are not listed"
        )
    preset = "preset"
    if isinstance(variant.agent, str) and ":" not in variant.agent:
        problem = untuned_problem(variant.agent, env, **variant.hyperparameters)
        if problem is not None:
            lines.append(f"# {problem}")
        preset = f"preset ({preset_fit(variant.agent, env).label()})"
    lines.append(toml_line("agent", agent))
    tags = {key: _tag(source, agent, preset) for key, source in sources.items()}
    lossy = {key: not is_plain(value) for key, value in raw.items()}
    lines += _table(resolved, tags, lossy)
    nones = [key for key, value in resolved.items() if value is None]
    if nones:
        text = toml_line(NONE_KEY, nones)
        lines.append(f"{text:<{_COMMENT_COLUMN}}  # TOML has no null: these are None")
    return lines


def _table(values: dict[str, Any], tags: dict[str, str], lossy: dict[str, bool]) -> list[str]:
    lines = []
    for key, value in values.items():
        if value is None:
            continue
        text = toml_line(key, value)
        comment = tags.get(key, "")
        if lossy.get(key):
            comment += " (a Python object, written as its repr: give a plain value to run this)"
        lines.append(f"{text:<{_COMMENT_COLUMN}}  # {comment.strip()}" if comment else text)
    return lines


def _tag(source: str, agent: str, preset: str) -> str:
    return {"default": "default", "agent": agent, "preset": preset, "given": "variant"}[source]
