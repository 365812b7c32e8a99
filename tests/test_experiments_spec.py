"""Experiment specs: seeds, the saved description, TOML, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest

import rlladder as rl
from rlladder.errors import ConfigError, UnknownNameError
from rlladder.experiments.spec import run_seeds


def small(**changes):
    base = dict(
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"Q": rl.Variant("q-learning", eta=0.5), "PS": rl.Variant("ps")},
        runs=3,
        episodes=10,
        seed=7,
    )
    base.update(changes)
    return rl.Experiment(**base)


def test_run_seeds_are_seedsequence_children_and_do_not_depend_on_runs():
    children = np.random.SeedSequence(7).spawn(3)
    expected = [int(c.generate_state(1)[0]) for c in children]
    assert run_seeds(7, 3) == expected
    assert run_seeds(7, 5)[:3] == expected  # adding runs keeps the seeds of those done
    assert len(set(run_seeds(7, 50))) == 50
    assert small().run_seeds() == expected


def test_every_variant_gets_the_same_seed_for_run_r():
    results = rl.run_experiment(small(), backend="serial", progress=False)
    seeds = results.groupby(["variant", "run"])["seed"].unique()
    for run, expected in enumerate(run_seeds(7, 3)):
        assert seeds[("Q", run)].tolist() == [expected]
        assert seeds[("PS", run)].tolist() == [expected]


def test_to_dict_keeps_hyperparameters_and_identity_ignores_runs():
    spec = small().to_dict()
    assert spec["variants"] == {"Q": {"agent": "q-learning", "eta": 0.5}, "PS": {"agent": "ps"}}
    assert spec["seed"] == 7 and spec["episodes"] == 10 and spec["steps"] is None
    assert small(runs=9).identity() == small().identity()
    assert small(seed=8).identity() != small().identity()


def test_replace_switches_the_budget():
    exp = small().replace(steps=500)
    assert exp.steps == 500 and exp.episodes is None


def test_toml_round_trip(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'env = "FrozenLake-v1"\nruns = 2\nepisodes = 10\nseed = 3\n'
        "[env_kwargs]\nis_slippery = false\n"
        '[variants.Q]\nagent = "q-learning"\neta = 0.5\n'
        '[variants.own]\nagent = "own_agents:RunningMeanAgent"\nepsilon = 0.1\n'
    )
    exp = rl.experiments.load_experiment(path)
    assert exp.name == "mine"
    assert exp.env_kwargs == {"is_slippery": False}
    assert exp.variants["Q"].hyperparameters == {"eta": 0.5}
    assert exp.variants["own"].to_dict() == {
        "agent": "own_agents:RunningMeanAgent",
        "epsilon": 0.1,
    }


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"runs": 0}, ["runs", "0"]),
        ({"episodes": None}, ["exactly one budget"]),
        ({"steps": 100}, ["exactly one budget"]),
        ({"variants": {}}, ["variants"]),
        ({"seed": -1}, ["seed"]),
    ],
)
def test_bad_experiments_are_refused_with_a_clear_message(changes, words):
    with pytest.raises(ConfigError) as info:
        small(**changes)
    for word in words:
        assert word in str(info.value)


def test_unknown_agent_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        small(variants={"x": rl.Variant("q-lerning")})
    message = str(info.value)
    assert "'q-lerning'" in message and "q-learning" in message and "ps" in message


def test_unknown_suite_lists_the_known_ones():
    with pytest.raises(UnknownNameError) as info:
        rl.get_suite("frozenlak")
    assert "frozenlake" in str(info.value) and "cartpole-ablation" in str(info.value)


def test_malformed_toml_names_the_key_and_the_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('env = "FrozenLake-v1"\nruns = 2\nepisodes = fifty\n')
    with pytest.raises(ConfigError) as info:
        rl.experiments.load_experiment(path)
    message = str(info.value)
    assert "'episodes'" in message and "line 3" in message


def test_toml_with_unknown_key_or_bad_value(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('env = "FrozenLake-v1"\nrunz = 2\nepisodes = 5\n[variants.Q]\nagent="ps"\n')
    with pytest.raises(ConfigError, match=r"unknown key 'runz' \(did you mean 'runs'\?\)"):
        rl.experiments.load_experiment(path)
    path.write_text('env = "FrozenLake-v1"\nruns = 0\nepisodes = 5\n[variants.Q]\nagent="ps"\n')
    with pytest.raises(ConfigError, match="runs"):
        rl.experiments.load_experiment(path)
