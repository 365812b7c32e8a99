"""Presets are data in one place (rlladder/presets/*.toml): the registry, the tables on the
documentation's algorithm pages and the DQN docstring's table all come from it."""

from __future__ import annotations

import configparser
import tomllib
import warnings
from importlib import resources
from pathlib import Path

import gymnasium as gym
import pytest

import rlladder as rl
from rlladder import presets, registry
from rlladder.errors import ConfigError, UnknownNameError, UntunedWarning
from rlladder.presets import tables
from rlladder.presets.__main__ import main as presets_main

ROOT = Path(__file__).resolve().parents[1]


def test_the_registry_holds_exactly_the_data():
    for family in presets.load_families():
        for agent in family.agents.values():
            entry = registry._AGENTS[agent.name]
            assert (entry.defaults, entry.description) == (agent.defaults, agent.description)
            assert entry.cls() is registry.AgentEntry(agent.target).cls()
            for alias in agent.aliases:
                assert registry.canonical_name(alias) == agent.name
        for preset in family.presets:
            for name in preset.agents:
                registered = [
                    p
                    for p in registry._PRESETS
                    if p.agent == name and p.env_id == preset.env_id and p.match == preset.match
                ]
                assert len(registered) == 1
                assert registered[0].hyperparameters == preset.for_agent(family.agents[name])


def test_every_preset_key_is_a_hyperparameter_of_its_agent():
    for family in presets.load_families():
        for preset in family.presets:
            env = gym.make(preset.env_id, **preset.match)
            for name in preset.agents:
                resolved = registry.resolve_hyperparameters(name, env)  # checks the keys
                for key, value in preset.for_agent(family.agents[name]).items():
                    assert resolved[key] == value
                assert isinstance(rl.make_agent(name, env, seed=0), rl.Agent)


def test_a_rung_keeps_its_own_switches_over_the_shared_preset():
    cart = gym.make("CartPole-v1")
    assert "learning_starts" not in rl.preset_for("dqn-vanilla", cart)
    assert rl.preset_for("dqn", cart)["learning_starts"] == 1000
    assert rl.preset_for("dqn", cart)["hidden_sizes"] == [128, 128]


#: the documentation page -> the generated tables it shows
PAGES = {
    "docs/algorithms/q-learning.md": ("tabular-presets",),
    "docs/algorithms/projective-simulation.md": ("tabular-presets",),
    "docs/algorithms/dqn-ladder.md": ("dqn-rungs", "dqn-presets"),
}


def test_the_pages_and_the_docstring_tables_are_generated_from_the_data():
    stale = tables.update(ROOT, write=False)
    assert stale == [], (
        f"{[str(p.relative_to(ROOT)) for p in stale]} differ from rlladder/presets/*.toml: "
        "run `python -m rlladder.presets --write`"
    )
    for page, blocks in PAGES.items():
        text = (ROOT / page).read_text(encoding="utf-8")
        for block in blocks:
            assert tables.render(block) in text, f"{page} does not show the table {block}"
    assert tables.render("dqn-rungs-rst") in rl.deep.dqn.__doc__
    assert presets_main(["--check"]) == 0


def test_retuning_is_an_edit_of_one_file_and_a_regeneration(tmp_path, monkeypatch):
    """Change huber_delta in a copy of dqn.toml: the tables of copied pages follow."""
    (tmp_path / "rlladder").mkdir()
    (tmp_path / "README.md").write_text(  # a source checkout's, without tables
        (ROOT / "README.md").read_text(encoding="utf-8"), encoding="utf-8"
    )
    for page in PAGES:
        (tmp_path / page).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / page).write_text((ROOT / page).read_text(encoding="utf-8"), encoding="utf-8")
    ladder, lake = (
        tmp_path / "docs/algorithms/dqn-ladder.md",
        tmp_path / "docs/algorithms/q-learning.md",
    )
    text = (resources.files("rlladder.presets") / "dqn.toml").read_text(encoding="utf-8")
    assert "huber_delta = 10.0\n" in text
    edited = presets._parse(
        "dqn", tomllib.loads(text.replace("huber_delta = 10.0\n", "huber_delta = 3.0\n"))
    )
    real = presets.load_family
    monkeypatch.setattr(tables, "load_family", lambda name: edited if name == "dqn" else real(name))
    assert tables.update(tmp_path, write=False) == [ladder]
    assert presets_main(["--check", "--root", str(tmp_path)]) == 1
    assert presets_main(["--write", "--root", str(tmp_path)]) == 0
    new = ladder.read_text(encoding="utf-8")
    assert "| `huber_delta` | `3.0` |" in new and "| `huber_delta` | `10.0` |" not in new
    assert "| `dqn-vanilla` |" in new  # the rung table is still there
    assert tables.update(tmp_path, write=False) == []
    assert "| `q-learning` |" in lake.read_text(encoding="utf-8")  # the other page, untouched


def test_a_block_nobody_knows_is_an_error(tmp_path):
    (tmp_path / "rlladder").mkdir()
    (tmp_path / "README.md").write_text(
        "a\n<!-- generated: dqn-rung -->\nold\n<!-- /generated: dqn-rung -->\n", encoding="utf-8"
    )
    with pytest.raises(UnknownNameError, match="unknown generated table 'dqn-rung'.*dqn-rungs"):
        tables.update(tmp_path, write=False)
    with pytest.raises(ConfigError, match="needs a source checkout"):
        tables.update(tmp_path / "rlladder", write=False)


def test_values_are_written_as_python_would():
    assert tables.format_switches({"replay": False, "target": "none"}) == (
        '`replay=False, target="none"`'
    )
    eta = {"kind": "linear", "start": 0.5, "end": 0.01, "duration": 2000, "unit": "episode"}
    assert tables.format_switches({"eta": eta, "gamma": 0.99}) == (
        "`eta` linear 0.5 → 0.01 over 2,000 episodes, `gamma=0.99`"
    )
    decay = {"kind": "exponential", "start": 1.0, "end": 0.01, "decay": 0.995, "unit": "episode"}
    assert tables.format_switches({"epsilon": decay}) == (
        "`epsilon` exponential 1.0 → 0.01, ×0.995 per episode"
    )
    assert tables.format_value([128, 128]) == "(128, 128)"
    assert tables.format_value(100_000) == "100_000"


def test_bad_data_is_named_with_its_file_and_key():
    with pytest.raises(ConfigError, match=r"dqn.toml \[agents.x\]: unknown key 'defualts'"):
        presets._parse("dqn", {"agents": {"x": {"class": "a:B", "defualts": {}}}})
    with pytest.raises(ConfigError, match="agent 'dqm' is not one of this file's"):
        presets._parse(
            "dqn",
            {
                "agents": {"dqn": {"class": "a:B"}},
                "presets": [{"agent": "dqm", "env": "E", "hyperparameters": {}}],
            },
        )


def test_the_data_ships_as_package_data():
    names = {p.name for p in resources.files("rlladder.presets").iterdir()}
    assert {f"{family}.toml" for family in presets.FAMILIES} <= names
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert "*.toml" in config["options.package_data"]["rlladder.presets"]


def test_register_preset_stays_for_users(monkeypatch):
    monkeypatch.setattr(registry, "_PRESETS", list(registry._PRESETS))
    rl.register_preset("ps", "FrozenLake-v1", {"eta": 0.5}, match={"map_name": "8x8"})
    assert rl.preset_for("ps", gym.make("FrozenLake-v1", map_name="8x8"))["eta"] == 0.5


def test_each_preset_records_where_it_was_tuned():
    for family in presets.load_families():
        for preset in family.presets:
            assert preset.tuned_on is not None, preset.description  # explicit in the TOML
    fit = registry.preset_fit("q-learning", gym.make("FrozenLake-v1", is_slippery=False))
    assert fit.tuned and fit.label() == "tuned for FrozenLake-v1, 4x4, not slippery"
    assert registry.preset_fit("dqn", gym.make("CartPole-v1")).label() == "tuned for CartPole-v1"


def test_make_agent_warns_once_where_no_preset_applies():
    with pytest.warns(UntunedWarning) as caught:
        rl.make_agent("dqn", gym.make("Acrobot-v1"))
    assert [str(w.message) for w in caught] == [
        "no preset for dqn on Acrobot-v1: DQN's defaults, not tuned"
    ]


def test_make_agent_warns_where_the_preset_was_tuned_on_other_env_kwargs():
    with pytest.warns(UntunedWarning, match="not for map_name='8x8'"):
        rl.make_agent("q-learning", gym.make("FrozenLake-v1", map_name="8x8"))
    with pytest.warns(UntunedWarning, match="not for success_rate=0.5"):
        rl.make_agent("ps", gym.make("FrozenLake-v1", success_rate=0.5))


def test_make_agent_is_silent_where_the_preset_fits_or_you_give_every_value():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rl.make_agent("q-learning", gym.make("FrozenLake-v1"))
        rl.make_agent("dqn", gym.make("CartPole-v1", render_mode="rgb_array"))  # looks only
        everything = rl.resolve_hyperparameters("q-learning")
        rl.make_agent("q-learning", gym.make("FrozenLake-v1", map_name="8x8"), **everything)
        rl.make_agent(rl.QLearning, gym.make("FrozenLake-v1", map_name="8x8"))  # a class: no preset


def test_your_own_registered_class_without_presets_is_not_warned_about(monkeypatch):
    monkeypatch.setattr(registry, "_AGENTS", dict(registry._AGENTS))
    monkeypatch.setattr(registry, "_PRESETS", list(registry._PRESETS))

    class Mine(rl.Agent):
        def __init__(self, observation_space, action_space, *, seed=None, rate=0.1):
            super().__init__(observation_space, action_space, seed=seed)
            self.rate = rate

        def act(self, obs, *, explore=True):
            return 0

        def learn(self, transition):
            return {}

    rl.register_agent("mine-untuned", Mine)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rl.make_agent("mine-untuned", gym.make("CartPole-v1"))  # its defaults are yours
    rl.register_preset("mine-untuned", "FrozenLake-v1", {})
    with pytest.warns(UntunedWarning, match="no preset for mine-untuned on CartPole-v1: Mine's"):
        rl.make_agent("mine-untuned", gym.make("CartPole-v1"))
