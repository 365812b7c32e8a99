"""The ``rlladder`` command: list, run (suites, TOML, overrides), plot, and one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import rlladder as rl
from rlladder.cli import main

EXPERIMENTS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "experiments.md"
FAST = ["--runs", "2", "--episodes", "15", "--backend", "serial", "--quiet"]


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_clean_error(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert err.startswith("rlladder: error:") and "Traceback" not in err
    for word in words:
        assert word in err


def test_list_names_agents_and_suites(capsys):
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    agents, suites = out.split("suites")
    for name in ("q-learning", "ps", "dqn", "dqn-vanilla"):
        assert re.search(rf"^\s+{re.escape(name)}\s", agents, re.M)
    for name in ("frozenlake", "frozenlake-slippery", "cartpole-ablation", "tabular-vs-deep"):
        assert re.search(rf"^\s+{re.escape(name)}\s", suites, re.M)


def test_console_script_runs_in_a_subprocess():
    done = subprocess.run(
        [sys.executable, "-m", "rlladder", "list"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "cartpole-ablation" in done.stdout and "ps" in done.stdout


def test_run_a_suite_with_overrides_then_plot_without_training(tmp_path, capsys):
    out = tmp_path / "lake"
    code, text, _ = run_cli(
        capsys, "run", "frozenlake", *FAST, "--seed", "3", "--out", out, "--no-plot"
    )
    assert code == 0
    assert "2 variants x 2 runs x 15 episodes (serial backend)" in text
    spec = json.loads((out / "spec.json").read_text())["experiment"]
    assert (spec["runs"], spec["episodes"], spec["seed"]) == (2, 15, 3)
    # a CSV per run, and (the suite evaluates greedily) an .eval.csv beside each
    assert len(list((out / "runs").glob("*-run????.csv"))) == 4
    assert len(list((out / "runs").glob("*-run????.eval.csv"))) == 4
    assert "| Q-learning | 2 |" in (out / "summary.md").read_text()
    expected = rl.run_experiment(
        rl.get_suite("frozenlake").replace(runs=2, episodes=15, seed=3),
        backend="serial",
        progress=False,
    )
    pd.testing.assert_frame_equal(rl.load_results(out), expected)
    table = pd.read_csv(out / "summary.csv", index_col="variant")
    assert table.index.tolist() == ["Q-learning", "PS"] and (table["runs"] == 2).all()

    assert not (out / "learning_curves.png").exists()
    runs_before = {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    code, text, _ = run_cli(capsys, "plot", out, "--window", "5")
    assert code == 0 and "moving average over 5 episodes" in text
    for name in ("summary.csv", "summary.md", "learning_curves.png", "learning_curves.svg"):
        assert (out / name).stat().st_size > 0
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == runs_before

    # the same command resumes (nothing left to run); another seed is refused, --overwrite works
    code, _, err = run_cli(capsys, "run", "frozenlake", *FAST, "--seed", "4", "--out", out)
    assert_clean_error(code, err, "different experiment", "--out", "--overwrite")
    code, _, _ = run_cli(
        capsys, "run", "frozenlake", *FAST, "--seed", "4", "--out", out, "--overwrite", "--no-plot"
    )
    assert code == 0 and json.loads((out / "spec.json").read_text())["experiment"]["seed"] == 4


def test_steps_budget_and_process_backend(tmp_path, capsys):
    out = tmp_path / "steps"
    code, text, _ = run_cli(
        capsys,
        "run",
        "frozenlake",
        "--runs",
        "1",
        "--steps",
        "300",
        "--backend",
        "process",
        "--workers",
        "2",
        "--out",
        out,
        "--quiet",
        "--no-plot",
    )
    assert code == 0 and "300 steps (process backend)" in text
    results = rl.load_results(out)
    assert (results.groupby("variant")["env_step"].max() <= 300).all()


def page_toml() -> str:
    text = EXPERIMENTS_PAGE.read_text(encoding="utf-8")
    section = text.split("<!-- section: experiments -->")[1].split("<!-- /section: experiments")[0]
    blocks = re.findall(r"```toml\n(.*?)```", section, re.S)
    assert blocks, "docs/experiments.md's experiments section has no TOML example"
    return blocks[0]


def test_the_experiments_page_toml_example_runs(tmp_path, capsys):
    path = tmp_path / "my_experiment.toml"
    path.write_text(page_toml())
    exp = rl.experiments.load_experiment(path)
    assert exp.name == "my-lake" and set(exp.variants) == {"Q-learning", "PS"}
    out = tmp_path / "out"
    code, text, _ = run_cli(
        capsys,
        "run",
        path,
        "--runs",
        "2",
        "--episodes",
        "20",
        "--backend",
        "serial",
        "--out",
        out,
        "--quiet",
        "--no-plot",
    )
    assert code == 0 and "my-lake" in text
    results = rl.load_results(out)
    assert results.groupby("variant").size().to_dict() == {"PS": 40, "Q-learning": 40}


def test_a_small_toml_file_runs_with_its_own_settings(tmp_path, capsys, monkeypatch):
    path = tmp_path / "tiny.toml"
    path.write_text(
        'env = "FrozenLake-v1"\nruns = 2\nepisodes = 12\nseed = 9\nmax_episode_steps = 30\n'
        '[env_kwargs]\nis_slippery = false\n[variants.own]\nagent = "own_agents:RunningMeanAgent"\n'
    )
    monkeypatch.chdir(tmp_path)  # default folder: results/NAME, NAME from the file name
    code, _, _ = run_cli(capsys, "run", path, "--backend", "serial", "--quiet", "--no-plot")
    assert code == 0
    results = rl.load_results(tmp_path / "results" / "tiny")
    assert len(results) == 24 and set(results["variant"]) == {"own"}
    assert set(results["seed"]) == set(rl.experiments.spec.run_seeds(9, 2))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["run", "frozenlak"],
            ["unknown suite 'frozenlak'", "did you mean 'frozenlake'", "cartpole-ablation", "toml"],
        ),
        (["run", "frozenlake", "--runs", "0"], ["runs", "0"]),
        (
            ["run", "frozenlake", "--runs", "1", "--episodes", "5", "--window", "9"],
            ["window=9", "5 episodes"],
        ),
        (["run", "frozenlake", "--workers", "0"], ["workers"]),
    ],
)
def test_bad_input_is_one_clear_line(argv, words, tmp_path, capsys):
    code, _, err = run_cli(capsys, *argv, "--out", tmp_path / "x", "--backend", "serial", "--quiet")
    assert_clean_error(code, err, *words)


def test_unknown_agent_and_malformed_toml(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text('env = "FrozenLake-v1"\nepisodes = 5\n[variants.x]\nagent = "q-lerning"\n')
    code, _, err = run_cli(capsys, "run", path)
    assert_clean_error(code, err, "unknown agent 'q-lerning'", "did you mean 'q-learning'", "ps")
    path.write_text('env = "FrozenLake-v1"\nruns = 2\nepisodes = = 5\n')
    code, _, err = run_cli(capsys, "run", path)
    assert_clean_error(code, err, "'episodes'", "line 3")


def test_plot_a_folder_without_results(tmp_path, capsys):
    code, _, err = run_cli(capsys, "plot", tmp_path)
    assert_clean_error(code, err, "holds no results", "rlladder run")
    code, _, err = run_cli(capsys, "plot", tmp_path / "missing")
    assert_clean_error(code, err, "no results folder")


# -- --set KEY=VALUE ---------------------------------------------------------------------------
def test_set_changes_what_runs_and_is_recorded(tmp_path, capsys):
    out = tmp_path / "lake"
    code, _, _ = run_cli(
        capsys, "run", "frozenlake", *FAST, "--out", out, "--no-plot", "--set", "eta=0.5"
    )
    assert code == 0
    spec = json.loads((out / "spec.json").read_text())
    # both agents have an eta (PS: its glow damping): both get it, and spec.json says so
    assert spec["resolved"]["Q-learning"]["eta"] == spec["resolved"]["PS"]["eta"] == 0.5
    assert spec["experiment"]["variants"]["PS"] == {"agent": "ps", "eta": 0.5}
    suite = rl.get_suite("frozenlake").replace(runs=2, episodes=15)
    expected = rl.run_experiment(
        suite.replace(
            variants={
                "Q-learning": rl.Variant("q-learning", eta=0.5),
                "PS": rl.Variant("ps", eta=0.5),
            }
        ),
        backend="serial",
        progress=False,
    )
    results = rl.load_results(out)
    pd.testing.assert_frame_equal(results, expected)  # the agents really got eta = 0.5
    unchanged = rl.run_experiment(suite, backend="serial", progress=False)
    assert not results["reward"].equals(unchanged["reward"])


def test_set_one_variant_by_its_label_with_a_toml_schedule(tmp_path, capsys):
    out = tmp_path / "lake"
    schedule = '{kind = "linear", start = 1.0, end = 0.01, duration = 10, unit = "episode"}'
    code, _, _ = run_cli(
        capsys,
        "run",
        "frozenlake",
        *FAST,
        "--out",
        out,
        "--no-plot",
        "--set",
        f"Q-learning.epsilon={schedule}",
        "--set",
        "max_episode_steps=40",
    )
    assert code == 0
    spec = json.loads((out / "spec.json").read_text())
    q = spec["resolved"]["Q-learning"]
    assert q["epsilon"] == {
        "kind": "linear",
        "start": 1.0,
        "end": 0.01,
        "duration": 10,
        "unit": "episode",
    }
    assert q["exploration"] == "epsilon-greedy"  # a preset's linked settings go as a whole
    assert spec["resolved"]["PS"]["eta"] == 0.04 and spec["experiment"]["max_episode_steps"] == 40
    results = rl.load_results(out)
    assert results.loc[results.variant == "Q-learning", "epsilon"].iloc[-1] == pytest.approx(0.01)


def test_set_a_label_with_spaces_plus_and_brackets(capsys):
    code, text, _ = run_cli(
        capsys,
        "show",
        "cartpole-ablation",
        "--set",
        "+ Huber (DQN).huber_delta=1",
        "--set",
        "gamma=0.9",
    )
    assert code == 0
    data = __import__("tomllib").loads(text)["variants"]
    assert data["+ Huber (DQN)"]["huber_delta"] == 1 and data["+ target"]["huber_delta"] == 10.0
    assert {v["gamma"] for v in data.values()} == {0.9}
    code, text, _ = run_cli(capsys, "show", "frozenlake", "--set", "PS.policy=linear")
    assert code == 0 and 'policy = "linear"' in text  # a bare word is a string


@pytest.mark.parametrize(
    ("setting", "words"),
    [
        (
            "lerning_rate=1e-4",
            ["cannot set 'lerning_rate'", "did you mean 'learning_rate'", "known keys: agent,"],
        ),
        (
            "+ Hubr (DQN).gamma=0.9",
            ["unknown variant '+ Hubr (DQN)'", "did you mean '+ Huber (DQN)'"],
        ),
        (
            "vanilla.gama=0.9",
            [
                "variant 'vanilla' (dqn-vanilla) has no hyperparameter 'gama'",
                "did you mean 'gamma'",
            ],
        ),
        ("gamma=0.9.1", ["'0.9.1' is not a TOML value", "inline table"]),
        ("gamma", ["expected KEY=VALUE"]),
        ("gamma=two words", ["'two words' is not a TOML value"]),
        ("runs=0", ["runs must be >= 1"]),
    ],
)
def test_bad_settings_are_one_clear_line(setting, words, capsys):
    code, _, err = run_cli(capsys, "show", "cartpole-ablation", "--set", setting)
    assert_clean_error(code, err, *words)


def test_set_applies_to_the_parts_that_have_it(capsys):
    code, text, _ = run_cli(
        capsys, "show", "tabular-vs-deep", "--set", "Q-learning (binned).eta=0.2"
    )
    assert code == 0
    frozen, cart = text.split("# part 'cartpole'")
    assert "eta = 0.2" in cart and "eta = 0.2" not in frozen
    code, _, err = run_cli(capsys, "show", "tabular-vs-deep", "--set", "Nope.eta=0.2")
    assert_clean_error(code, err, "unknown variant 'Nope'", "Q-learning (binned)")


def test_run_one_part_of_a_suite(tmp_path, capsys):
    code, text, _ = run_cli(
        capsys,
        "run",
        "tabular-vs-deep",
        "--part",
        "frozenlake",
        "--set",
        "DQN.learning_starts=0",
        *FAST,
        "--out",
        tmp_path,
        "--no-plot",
    )
    assert code == 0 and (tmp_path / "frozenlake" / "spec.json").exists()
    assert not (tmp_path / "cartpole").exists()


def test_the_experiments_page_set_examples_work(capsys):
    import shlex

    text = EXPERIMENTS_PAGE.read_text(encoding="utf-8")
    section = text.split("**Changing a hyperparameter: `--set`.**")[1]
    block = re.findall(r"```bash\n(.*?)```", section, re.S)[0]
    commands = [
        line.split("#")[0] for line in block.splitlines() if line.startswith("rlladder run")
    ]
    assert len(commands) == 4
    for command in commands:
        argv = shlex.split(command)[1:]
        argv[0] = "show"  # what it would run, without running it
        code, text, err = run_cli(capsys, *argv)
        assert code == 0, err
    assert 'map_name = "8x8"' in text and "max_episode_steps = 50" in text


def test_set_values_are_toml_or_a_bare_word():
    from rlladder.cli import parse_setting, parse_value

    assert parse_value("1e-4") == 1e-4 and parse_value("1") == 1 and parse_value("true") is True
    assert parse_value("[64, 64]") == [64, 64] and parse_value('"two words"') == "two words"
    assert parse_value("inf") == float("inf")
    assert parse_value("adam") == "adam" and parse_value("8x8") == "8x8"
    assert parse_value("own_agents:RunningMeanAgent") == "own_agents:RunningMeanAgent"
    for bad in ("0.5.3", "two words", "", "1\nx = 2", "[1,"):
        with pytest.raises(rl.ConfigError, match="is not a TOML value"):
            parse_value(bad)
    assert parse_setting('a.b (c).lr="x=1"') == ("a.b (c).lr", "x=1")  # split at the first =
    assert parse_setting(" + Huber (DQN).tau = 0.01") == ("+ Huber (DQN).tau", 0.01)


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"experiment": 5}, ["'experiment' must be an object", "got 5"]),
        ([1, 2], ["the file must be a JSON object"]),
        ({"rlladder_version": "0.1.0"}, ["no 'experiment' key"]),
        ({"experiment": {"env": "FrozenLake-v1", "variants": {}, "seed": 0}}, ["no 'runs' key"]),
        (
            {"experiment": {"env": "FrozenLake-v1", "variants": {"a": 3}, "runs": 1, "seed": 0}},
            ["'experiment.variants.a' must be an object with an 'agent'"],
        ),
        (
            {
                "experiment": {"env": "FrozenLake-v1", "variants": {}, "runs": "3", "seed": 0},
            },
            ["'experiment.runs' must be a whole number", 'got "3"'],
        ),
    ],
)
def test_a_spec_json_of_the_wrong_shape_is_one_line_naming_it(document, words, tmp_path, capsys):
    (tmp_path / "spec.json").write_text(json.dumps(document))
    for argv in (["plot", tmp_path], ["run", "frozenlake", "--out", tmp_path, *FAST]):
        code, _, err = run_cli(capsys, *argv)
        assert_clean_error(code, err, f"{tmp_path / 'spec.json'} is not a results folder's spec")
        assert_clean_error(code, err, *words)
        assert err.count("\n") == 1


def test_out_naming_a_file_says_the_path_is_a_file(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("mine\n")
    code, _, err = run_cli(capsys, "run", "frozenlake", "--out", afile, *FAST)
    assert_clean_error(code, err, f"{afile} is a file, not a folder", "--out")
    assert err.count("\n") == 1
    code, _, err = run_cli(capsys, "run", "frozenlake", "--out", afile / "deeper", *FAST)
    assert_clean_error(code, err, f"cannot make the results folder {afile / 'deeper'}")
    assert f"{afile} is a file, not a folder" in err
    assert afile.read_text() == "mine\n"  # untouched


def test_run_on_the_8x8_map_says_once_per_variant_that_the_presets_are_not_tuned(tmp_path, capsys):
    out = tmp_path / "big"
    argv = ["run", "frozenlake", "--set", "env_kwargs.map_name=8x8", "--out", out]
    code, text, err = run_cli(
        capsys,
        *argv,
        "--runs",
        "1",
        "--episodes",
        "3",
        "--backend",
        "serial",
        "--quiet",
        "--no-plot",
    )
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("rlladder: warning:")]
    assert lines == [
        f"rlladder: warning: the preset for {agent} was tuned for FrozenLake-v1, 4x4, not "
        "slippery, not for map_name='8x8': its values are not tuned for this environment"
        for agent in ("q-learning", "ps")
    ]
    spec = json.loads((out / "spec.json").read_text())["experiment"]
    assert spec["env_kwargs"]["max_episode_steps"] == 200 and spec["max_episode_steps"] is None
    assert "reached 0.85" in text  # gymnasium's threshold for the 8x8 map, not the 4x4's 0.7
