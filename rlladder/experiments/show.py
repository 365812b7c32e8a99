"""An experiment as a complete, runnable TOML file: every hyperparameter, resolved.

::

    print(experiment_toml(rl.get_suite("cartpole-ablation")))   # what `rlladder show` prints

Each variant's table lists every hyperparameter its agent gets (the class's defaults, the name's,
the preset for the environment, the variant's own; see :meth:`rlladder.Variant.resolve`), each
with a comment saying where it came from. Every value is given explicitly, so the file runs the
same experiment even after a preset changes, and
``rlladder show cartpole-ablation > mine.toml && rlladder run mine.toml`` runs what the suite
runs, into the same results folder. TOML has no null: hyperparameters that are ``None`` are
listed in the table's ``none = [...]``, which :meth:`rlladder.Experiment.from_toml` reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlladder.experiments.spec import NONE_KEY, SETTABLE_FIELDS, Experiment, Variant
from rlladder.experiments.toml_writer import toml_key, toml_line
from rlladder.experiments.values import canonical, is_plain

__all__ = ["experiment_toml", "SOURCES_HELP"]

#: What the comment after each hyperparameter means (header lines).
SOURCES_HELP = (
    "A value's comment says where it comes from: default (the agent class's), the agent's name",
    "(the name's own defaults, e.g. a DQN rung's switches), preset (tuned for this environment),",
    "variant (set in the experiment, or by --set).",
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
    lines.append(toml_line("agent", agent))
    tags = {key: _tag(source, agent) for key, source in sources.items()}
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


def _tag(source: str, agent: str) -> str:
    return {"default": "default", "agent": agent, "preset": "preset", "given": "variant"}[source]
