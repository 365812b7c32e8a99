"""`rlladder show`: an experiment as a complete TOML file that runs the same experiment."""

from __future__ import annotations

import json
import math
import tomllib

import pandas as pd
import pytest

import rlladder as rl
from rlladder.cli import main
from rlladder.experiments.show import experiment_toml
from rlladder.experiments.toml_writer import toml_key, toml_line, toml_value
from rlladder.experiments.values import same

SERIAL = ["--backend", "serial", "--quiet", "--no-plot"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def suite_parts() -> list[tuple[str, str, rl.Experiment]]:
    out = []
    for name in rl.list_suites():
        built = rl.get_suite(name)
        for part, exp in built.items() if isinstance(built, dict) else [("", built)]:
            out.append((name, part, exp))
    return out


@pytest.mark.parametrize(
    "value",
    [
        0.1,
        5e-4,
        1e-300,
        1e16,
        -0.0,
        2.5e-07,
        1 / 3,
        123456789012345678,
        -7,
        True,
        False,
        "adam",
        'say "hi"\\ \n\t\x7f é ∞',
        "",
        [128, 128],
        [],
        [1.0, "a", [True]],
        {"kind": "linear", "start": 1.0, "end": 0.01, "duration": 5000, "unit": "step"},
        {"a b": {"c.d": 1}, "+ Huber (DQN)": 2.0},
        {},
    ],
)
def test_toml_values_read_back_exactly(value):
    read = tomllib.loads(toml_line("x", value))["x"]
    assert read == value and type(read) is type(value)
    if isinstance(value, float):
        assert math.copysign(1, read) == math.copysign(1, value)


def test_special_floats_keys_and_none():
    assert math.isnan(tomllib.loads(toml_line("x", math.nan))["x"])
    assert tomllib.loads(toml_line("x", -math.inf))["x"] == -math.inf
    assert toml_key("Q-learning") == "Q-learning" and toml_key("+ Huber (DQN)") == '"+ Huber (DQN)"'
    assert toml_value((1, 2)) == "[1, 2]"
    with pytest.raises(TypeError, match="no null"):
        toml_value(None)


@pytest.mark.parametrize(("name", "part", "exp"), suite_parts(), ids=lambda x: str(x)[:30])
def test_every_suite_round_trips_to_the_same_experiment(name, part, exp, tmp_path):
    path = tmp_path / "shown.toml"
    path.write_text(experiment_toml(exp))
    back = rl.Experiment.from_toml(path)
    assert same(back.identity(), exp.identity())
    assert (back.name, back.runs, back.labels) == (exp.name, exp.runs, exp.labels)
    for label, variant in back.variants.items():  # every hyperparameter is written out
        assert set(variant.hyperparameters) == set(exp.variants[label].resolve(exp.make_env())) - {
            "agent"
        }


def test_show_then_run_gives_the_same_numbers(tmp_path, capsys):
    tiny = ["--runs", "1", "--steps", "120"]
    code, text, _ = run_cli(capsys, "show", "cartpole-ablation", *tiny)
    assert code == 0
    mine = tmp_path / "mine.toml"
    mine.write_text(text)
    assert (
        run_cli(capsys, "run", "cartpole-ablation", *tiny, *SERIAL, "--out", tmp_path / "a")[0] == 0
    )
    assert run_cli(capsys, "run", mine, *SERIAL, "--out", tmp_path / "b")[0] == 0
    pd.testing.assert_frame_equal(rl.load_results(tmp_path / "a"), rl.load_results(tmp_path / "b"))
    # the file is the suite's experiment: it resumes the suite's folder, running nothing
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "a" / "runs").iterdir()}
    code, _, err = run_cli(capsys, "run", mine, *SERIAL, "--out", tmp_path / "a")
    assert code == 0 and err == ""
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "a" / "runs").iterdir()} == before


def test_the_shown_file_says_where_each_value_comes_from(capsys):
    code, text, _ = run_cli(capsys, "show", "cartpole-ablation", "--set", "vanilla.tau=0.01")
    assert code == 0
    vanilla = text.split("[variants.vanilla]")[1].split("[variants.")[0]
    assert 'agent = "dqn-vanilla"' in vanilla
    for line, tag in [
        ("learning_starts = 0", "dqn-vanilla"),
        ("huber_delta = 10.0", "preset (tuned for CartPole-v1)"),
        ("gradient_steps = 1", "default"),
        ("tau = 0.01", "variant"),
    ]:
        found = [row for row in vanilla.splitlines() if row.startswith(line)]
        assert found and found[0].endswith(f"# {tag}"), (line, found)
    assert "rlladder run mine.toml" in text and '[variants."+ Huber (DQN)"]' in text


def test_none_is_written_as_a_list_and_read_back(tmp_path):
    exp = rl.Experiment(
        env="CartPole-v1", variants={"no clip": rl.Variant("dqn", max_grad_norm=None)}, steps=100
    )
    text = experiment_toml(exp)
    assert 'none = ["max_grad_norm"]' in text and "max_grad_norm =" not in text
    path = tmp_path / "x.toml"
    path.write_text(text)
    back = rl.Experiment.from_toml(path)
    assert back.resolve()["no clip"]["max_grad_norm"] is None  # not the preset's 10.0
    assert same(back.identity(), exp.identity())
    path.write_text(
        text.replace('none = ["max_grad_norm"]', 'none = ["max_grad_norm"]\nmax_grad_norm = 1.0')
    )
    with pytest.raises(rl.ConfigError, match="sets 'max_grad_norm' and lists it in none"):
        rl.Experiment.from_toml(path)


def make_greedy(observation_space, action_space, *, seed=None, bias=0):
    from test_resolve import Greedy

    return Greedy(observation_space, action_space, seed=seed, bias=bias)


def test_a_factory_variant_is_shown_with_a_note():
    exp = rl.Experiment(
        env="FrozenLake-v1", variants={"f": rl.Variant(make_greedy, bias=1)}, episodes=3
    )
    text = experiment_toml(exp)
    assert "# a factory function: only the keyword arguments it is given are known" in text
    assert f'agent = "{__name__}:make_greedy"' in text and "bias = 1" in text


def test_a_suite_of_parts_shows_each_part_or_one(capsys):
    code, text, _ = run_cli(capsys, "show", "tabular-vs-deep")
    assert code == 0
    assert text.count("# part ") == 2 and "--part frozenlake" in text and "--part cartpole" in text
    code, one, _ = run_cli(capsys, "show", "tabular-vs-deep", "--part", "cartpole")
    assert code == 0 and "# part 'cartpole'" in one and one in text
    data = tomllib.loads(one)
    assert data["name"] == "tabular-vs-deep-cartpole"
    assert data["variants"]["Q-learning (binned)"]["bins"] == [3, 3, 8, 8]
    code, _, err = run_cli(capsys, "show", "tabular-vs-deep", "--part", "lake")
    assert code == 2 and "unknown part 'lake'" in err and "cartpole, frozenlake" in err
    code, _, err = run_cli(capsys, "show", "frozenlake", "--part", "x")
    assert code == 2 and "not a suite of parts" in err


def test_show_a_results_folder(tmp_path, capsys, monkeypatch):
    out = tmp_path / "lake"
    args = ["--runs", "1", "--episodes", "5", "--set", "Q-learning.eta=0.3"]
    assert run_cli(capsys, "run", "frozenlake", *args, *SERIAL, "--out", out)[0] == 0
    code, text, err = run_cli(capsys, "show", out)
    assert code == 0 and err == ""
    assert text == run_cli(capsys, "show", "frozenlake", *args)[1].replace(
        "rlladder show frozenlake", f"rlladder show {out}"
    )
    # the preset has changed since: show prints what the runs used, and says so
    from test_experiments_resume import changed_preset

    changed_preset(monkeypatch, "ps", "FrozenLake-v1", beta=5.0)
    code, text, err = run_cli(capsys, "show", out)
    assert code == 0 and "resolves differently now" in err
    ps = tomllib.loads(text)["variants"]["PS"]
    assert ps["beta"] == 1.0
    spec = json.loads((out / "spec.json").read_text())
    assert spec["resolved"]["PS"]["beta"] == 1.0
    code, _, err = run_cli(capsys, "show", tmp_path / "nothing")
    assert code == 2 and "unknown suite" in err and "or a results folder" in err


def test_show_on_the_8x8_map_says_the_4x4_presets_are_not_tuned_for_it(capsys):
    code, text, err = run_cli(
        capsys, "show", "frozenlake-slippery", "--set", "env_kwargs.map_name=8x8"
    )
    assert code == 0 and err == ""
    q = text.split("[variants.Q-learning]")[1].split("[variants.")[0]
    assert q.splitlines()[1] == (
        "# the preset for q-learning was tuned for FrozenLake-v1, 4x4, slippery, not for "
        "map_name='8x8': its values are not tuned for this environment"
    )
    assert "gamma = 0.99" in q
    gamma = next(row for row in q.splitlines() if row.startswith("gamma"))
    assert gamma.endswith("# preset (tuned for FrozenLake-v1, 4x4, slippery; not for 8x8)")
    # gymnasium's 8x8 registration: 200 steps (not the suite's 99 for 4x4), threshold 0.85
    kwargs = text.split("[env_kwargs]")[1].split("[variants.")[0]
    assert "max_episode_steps = 200" in kwargs and "\nmax_episode_steps" not in text.split("[")[0]
    assert (
        "# threshold = 0.85: not set, so the summary uses gymnasium's reward_threshold of "
        "FrozenLake8x8-v1" in text
    )
    exp = rl.get_suite("frozenlake-slippery").with_settings({"env_kwargs.map_name": "8x8"})
    env = exp.make_env()
    assert env.spec.max_episode_steps == 200 and exp.max_episode_steps is None
    # on its own map the suite's values are tuned, and say for what
    code, text, _ = run_cli(capsys, "show", "frozenlake-slippery")
    assert "not tuned" not in text and "max_episode_steps = 99" in text
    assert "# preset (tuned for FrozenLake-v1, 4x4, slippery)" in text


def test_an_episode_limit_set_with_the_map_stays(capsys):
    exp = rl.get_suite("frozenlake").with_settings(
        {"env_kwargs.map_name": "8x8", "max_episode_steps": 150}
    )
    assert exp.max_episode_steps == 150 and "max_episode_steps" not in exp.env_kwargs
    same_map = rl.get_suite("frozenlake").with_settings({"env_kwargs.is_slippery": True})
    assert same_map.max_episode_steps == 99  # still the 4x4 map: the suite's limit stays


def test_no_preset_is_a_comment_in_show():
    exp = rl.Experiment(env="Acrobot-v1", variants={"DQN": rl.Variant("dqn")}, steps=100)
    text = experiment_toml(exp)
    assert "# no preset for dqn on Acrobot-v1: DQN's defaults, not tuned\n" in text
    assert "# preset" not in text
