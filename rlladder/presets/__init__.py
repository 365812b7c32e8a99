"""The built-in agents and their tuned presets, as data: one TOML file per agent family.

::

    rlladder/presets/tabular.toml   Q-learning, SARSA, expected SARSA, PS; FrozenLake-v1 presets
    rlladder/presets/dqn.toml       the DQN ladder's rungs; the CartPole-v1 preset they share

:mod:`rlladder.registry` registers every agent and preset in them when it is imported (your own
go through :func:`rlladder.register_agent` and :func:`rlladder.register_preset`). Re-tuning a
preset is an edit of one file, then ``python -m rlladder.presets --write``, which regenerates the
tables that show the presets, on the documentation site's algorithm pages (``docs/algorithms/``)
and in :mod:`rlladder.deep.dqn` (:mod:`rlladder.presets.tables`).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rlladder.errors import ConfigError, did_you_mean, unknown_name

__all__ = ["FAMILIES", "AgentData", "PresetData", "Family", "load_family", "load_families"]

#: The agent families, in the order they are registered (one ``NAME.toml`` each).
FAMILIES = ("tabular", "dqn")

_AGENT_KEYS = ("class", "defaults", "description", "aliases", "builds_on", "adds", "idea")
_PRESET_KEYS = (
    "agent",
    "agents",
    "env",
    "match",
    "tuned_on",
    "hyperparameters",
    "description",
    "origin",
    "result",
    "notes",
)


@dataclass(frozen=True)
class AgentData:
    """One ``[agents.NAME]`` table: the name, its ``module:Class``, and what it starts from."""

    name: str
    target: str
    defaults: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    aliases: tuple[str, ...] = ()
    builds_on: str | None = None
    adds: str = ""
    idea: str = ""


@dataclass(frozen=True)
class PresetData:
    """One ``[[presets]]`` entry: hyperparameters of ``agents`` on ``env_id`` when ``match`` holds.

    ``tuned_on`` is the env kwargs the values were tuned with (``None``: ``match``'s), so that
    an agent on other kwargs (the 8x8 map) is told its values are not tuned for them.

    ``notes`` is why: one text for the whole preset, or one per hyperparameter.
    """

    agents: tuple[str, ...]
    env_id: str
    hyperparameters: dict[str, Any]
    match: dict[str, Any] = field(default_factory=dict)
    tuned_on: dict[str, Any] | None = None
    description: str = ""
    origin: str = ""
    result: str = ""
    notes: str | dict[str, str] = ""

    def for_agent(self, agent: AgentData) -> dict[str, Any]:
        """The hyperparameters this preset gives ``agent``: a rung's own switches win over a
        preset that several rungs share."""
        return {k: v for k, v in self.hyperparameters.items() if k not in agent.defaults}


@dataclass(frozen=True)
class Family:
    """The agents and presets of one ``NAME.toml``."""

    name: str
    agents: dict[str, AgentData]
    presets: list[PresetData]


def _check_keys(table: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in known:
            raise ConfigError(
                f"{where}: unknown key {key!r}{did_you_mean(key, known)}; "
                f"known keys: {', '.join(known)}"
            )


def _table(value: Any, what: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {what} must be a table, got {value!r}")
    return dict(value)


def _parse(name: str, data: dict[str, Any]) -> Family:
    source = f"rlladder/presets/{name}.toml"
    _check_keys(data, ("agents", "presets"), source)
    agents: dict[str, AgentData] = {}
    for agent, table in _table(data.get("agents", {}), "[agents]", source).items():
        where = f"{source} [agents.{agent}]"
        table = _table(table, f"[agents.{agent}]", source)
        _check_keys(table, _AGENT_KEYS, where)
        if not isinstance(table.get("class"), str) or ":" not in table["class"]:
            raise ConfigError(f"{where}: needs class = 'package.module:Class'")
        if table.get("builds_on") is not None and table["builds_on"] not in agents:
            raise ConfigError(
                f"{where}: builds_on = {table['builds_on']!r} must name an agent above it"
            )
        agents[agent] = AgentData(
            name=agent,
            target=table["class"],
            defaults=_table(table.get("defaults", {}), "defaults", where),
            description=str(table.get("description", "")),
            aliases=tuple(table.get("aliases", ())),
            builds_on=table.get("builds_on"),
            adds=str(table.get("adds", "")),
            idea=str(table.get("idea", "")),
        )
    presets: list[PresetData] = []
    for i, table in enumerate(data.get("presets", [])):
        where = f"{source} [[presets]] #{i + 1}"
        table = _table(table, "each [[presets]] entry", source)
        _check_keys(table, _PRESET_KEYS, where)
        names = table.get("agents", [table["agent"]] if "agent" in table else [])
        if not names or not isinstance(table.get("env"), str):
            raise ConfigError(f"{where}: needs agent = NAME (or agents = [...]) and env = ID")
        for agent in names:
            if agent not in agents:
                raise ConfigError(
                    f"{where}: agent {agent!r} is not one of this file's"
                    f"{did_you_mean(agent, agents)}: {', '.join(agents)}"
                )
        notes = table.get("notes", "")
        presets.append(
            PresetData(
                agents=tuple(names),
                env_id=table["env"],
                hyperparameters=_table(table.get("hyperparameters"), "hyperparameters", where),
                match=_table(table.get("match", {}), "match", where),
                tuned_on=(
                    _table(table["tuned_on"], "tuned_on", where) if "tuned_on" in table else None
                ),
                description=str(table.get("description", "")),
                origin=str(table.get("origin", "")),
                result=str(table.get("result", "")),
                notes=dict(notes) if isinstance(notes, dict) else str(notes),
            )
        )
    return Family(name, agents, presets)


def load_family(name: str) -> Family:
    """Read ``rlladder/presets/NAME.toml`` (shipped as package data)."""
    if name not in FAMILIES:
        raise unknown_name("agent family", name, FAMILIES)
    text = resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"rlladder/presets/{name}.toml: malformed TOML: {error}") from None
    return _parse(name, data)


def load_families() -> list[Family]:
    """Every built-in family, in :data:`FAMILIES` order."""
    return [load_family(name) for name in FAMILIES]
