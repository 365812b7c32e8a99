"""The tables that show the presets, generated from the data so that they cannot drift from it.

A table lives between two markers in a Markdown file (a page of the documentation site under
``docs/``, or the README) or in a module docstring::

    <!-- generated: tabular-presets (python -m rlladder.presets --write) -->
    ...
    <!-- /generated: tabular-presets -->

    .. generated: dqn-rungs-rst (python -m rlladder.presets --write)
    ...
    .. /generated: dqn-rungs-rst

:func:`update` rewrites what is between them; ``tests/test_presets.py`` fails while a file
differs from what :func:`update` would write.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlladder.errors import ConfigError, UnknownNameError, unknown_name
from rlladder.presets import AgentData, Family, PresetData, load_family

__all__ = ["BLOCKS", "render", "update", "source_files", "format_value", "format_switches"]

_MARKER = re.compile(
    r"^(?P<lead><!--|\.\.) generated: (?P<name>[\w-]+)\b.*\n"
    r"(?P<body>(?:.*\n)*?)"
    r"(?P=lead) /generated: (?P=name)\b.*$",
    re.M,
)


# -- values, as the pages write them -----------------------------------------------------------
def format_value(value: Any) -> str:
    """A hyperparameter value as Python would write it: ``"adam"``, ``False``, ``(128, 128)``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, list | tuple):
        return "(" + ", ".join(format_value(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}": {format_value(v)}' for k, v in value.items()) + "}"
    return repr(value)


def _schedule(value: dict[str, Any]) -> str | None:
    """``linear 0.5 → 0.01 over 2,000 episodes``, or ``None`` if ``value`` is no schedule."""
    unit = value.get("unit", "step")
    if value.get("kind") == "linear":
        return f"linear {value['start']!r} → {value['end']!r} over {value['duration']:,} {unit}s"
    if value.get("kind") == "exponential":
        return f"exponential {value['start']!r} → {value['end']!r}, ×{value['decay']!r} per {unit}"
    if value.get("kind") == "constant":
        return repr(value["value"])
    return None


def format_switches(values: dict[str, Any]) -> str:
    """``replay=False, target="none"``: runs of keyword arguments in one code span, schedules in
    words (`` `eta` linear 0.5 → 0.01 over 2,000 episodes``)."""
    pieces: list[str] = []
    plain: list[str] = []
    for key, value in values.items():
        words = _schedule(value) if isinstance(value, dict) else None
        if words is None:
            plain.append(f"{key}={format_value(value)}")
            continue
        if plain:
            pieces.append(f"`{', '.join(plain)}`")
            plain = []
        pieces.append(f"`{key}` {words}")
    if plain:
        pieces.append(f"`{', '.join(plain)}`")
    return ", ".join(pieces)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _rst(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("=" * w for w in widths)

    def line(row: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    return "\n".join([rule, line(header), rule, *map(line, rows), rule])


def _new_switches(agent: AgentData, family: Family) -> dict[str, Any]:
    """The rung's switches that differ from the rung it builds on (all of them for the first)."""
    base = family.agents[agent.builds_on].defaults if agent.builds_on else {}
    missing = object()
    return {k: v for k, v in agent.defaults.items() if base.get(k, missing) != v}


# -- the tables ---------------------------------------------------------------------------------
def tabular_presets() -> str:
    """The algorithm pages' "Presets for FrozenLake-v1": agent, environment, preset, result."""
    rows = []
    for preset in load_family("tabular").presets:
        match = ", ".join(f"{k}={format_value(v)}" for k, v in preset.match.items())
        origin = f"{preset.origin}: " if preset.origin else ""
        for agent in preset.agents:
            rows.append(
                [
                    f"`{agent}`",
                    f"`{preset.env_id}`" + (f" `{match}`" if match else ""),
                    origin + format_switches(preset.hyperparameters),
                    preset.result,
                ]
            )
    return _markdown(["agent", "environment", "preset", "result"], rows)


def dqn_rungs() -> str:
    """The DQN ladder page's rung table: name, what the rung adds, its switch."""
    family = load_family("dqn")
    rows = [
        [f"`{a.name}`", a.adds, format_switches(_new_switches(a, family))]
        for a in family.agents.values()
    ]
    return _markdown(["name", "what the rung adds", "switch"], rows)


def dqn_rungs_rst() -> str:
    """The rung table of :mod:`rlladder.deep.dqn`'s docstring (reStructuredText)."""
    family = load_family("dqn")
    rows = []
    for agent in family.agents.values():
        switches = ", ".join(
            f"{k}={format_value(v)}" for k, v in _new_switches(agent, family).items()
        )
        rows.append([f"``{agent.name}``", agent.idea or agent.description, f"``{switches}``"])
    return _rst(["rung", "idea", "switch"], rows)


def _preset_table(preset: PresetData) -> str:
    notes = preset.notes if isinstance(preset.notes, dict) else {}
    rows = []
    for key, value in preset.hyperparameters.items():
        words = _schedule(value) if isinstance(value, dict) else None
        rows.append([f"`{key}`", words or f"`{format_value(value)}`", notes.get(key, "")])
    return _markdown(["hyperparameter", "value", "why"], rows)


def dqn_presets() -> str:
    """The DQN ladder page's preset(s): one table per preset, hyperparameter, value and why."""
    parts = []
    for preset in load_family("dqn").presets:
        parts.append(
            f"`{preset.env_id}` ({preset.description}; shared by "
            f"{', '.join(f'`{a}`' for a in preset.agents)}):\n\n{_preset_table(preset)}"
        )
    return "\n\n".join(parts)


#: block name -> the function that renders it
BLOCKS: dict[str, Callable[[], str]] = {
    "tabular-presets": tabular_presets,
    "dqn-rungs": dqn_rungs,
    "dqn-presets": dqn_presets,
    "dqn-rungs-rst": dqn_rungs_rst,
}


def render(name: str) -> str:
    """The text of block ``name``."""
    if name not in BLOCKS:
        raise unknown_name("generated table", name, BLOCKS)
    return BLOCKS[name]()


# -- the files that hold them -------------------------------------------------------------------
def source_files(root: Path) -> list[Path]:
    """The files of a source checkout that may hold generated tables."""
    if not (root / "README.md").exists():
        raise ConfigError(
            f"no README.md in {root}: generating the preset tables needs a source checkout of "
            "rlladder (the tables live in docs/, README.md and the docstrings)"
        )
    files = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    files += sorted(p for p in (root / "rlladder").rglob("*.py") if p != Path(__file__))
    return [p for p in files if p.is_file()]


def _updated(text: str, where: Path) -> str:
    def replace(found: re.Match[str]) -> str:
        body = render(found["name"])
        start, end = found.group(0).split("\n", 1)[0], found.group(0).rsplit("\n", 1)[1]
        return f"{start}\n\n{body}\n\n{end}"

    try:
        return _MARKER.sub(replace, text)
    except UnknownNameError as error:
        raise UnknownNameError(f"{where}: {error}") from None


def update(root: Path, *, write: bool) -> list[Path]:
    """The files under ``root`` whose generated tables differ from the data (rewritten if
    ``write``)."""
    stale = []
    for path in source_files(root):
        text = path.read_text(encoding="utf-8")
        if "generated: " not in text:
            continue
        new = _updated(text, path)
        if new != text:
            stale.append(path)
            if write:
                path.write_text(new, encoding="utf-8")
    return stale
