"""Greedy evaluation inside experiments: when it happens, on what, what it leaves alone, where
it is saved, and what the summary, the figure and the CLI make of it."""

from __future__ import annotations

import json

import gymnasium as gym
import matplotlib
import numpy as np
import pandas as pd
import pytest
from own_agents import RunningMeanAgent

import rlladder as rl
from rlladder.cli import main
from rlladder.errors import ConfigError
from rlladder.experiments.evaluation import (
    EVAL_COLUMNS,
    Evaluator,
    eval_seed,
    evaluate_run,
    evaluation_moments,
    evaluation_points,
)
from rlladder.experiments.runner import agent_and_env_seeds

matplotlib.use("Agg")


def lake(**changes) -> rl.Experiment:
    base = dict(
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": True},
        variants={
            "Q-learning": rl.Variant("q-learning"),
            "PS": rl.Variant("ps"),
            "mine": rl.Variant(RunningMeanAgent, epsilon=0.3),  # its greedy act draws from rng
        },
        runs=2,
        episodes=30,
        max_episode_steps=40,
        seed=4,
        eval_every=7,
        eval_episodes=3,
    )
    base.update(changes)
    return rl.Experiment(**base)


@pytest.fixture(scope="module")
def evaluated():
    return rl.run_experiment(lake(), backend="serial", progress=False, return_evaluations=True)


# -- the schedule, by hand -----------------------------------------------------------------------


def test_evaluation_points_are_multiples_below_the_budget_then_the_budget():
    assert evaluation_points(50_000, 20_000) == [20_000, 40_000, 50_000]
    assert evaluation_points(500, 100) == [100, 200, 300, 400, 500]  # 500 once, at the end
    assert evaluation_points(500, None) == [500]
    assert evaluation_points(15, 25) == [15]
    with pytest.raises(ConfigError, match="eval_every"):
        evaluation_points(100, 0)


def test_an_evaluation_waits_for_the_episode_that_crosses_its_point():
    # env steps after each episode; points 10, 20, 30 below the budget of 40
    counters = [4, 9, 13, 35, 38]
    # episode 2 crosses 10; episode 3 crosses both 20 and 30: one evaluation; 38 passes none
    assert evaluation_moments(counters, 40, 10) == [2, 3]
    assert evaluation_moments(counters, 40, None) == []


def test_the_eval_seed_is_the_third_word_of_the_run_seed():
    words = np.random.SeedSequence(1234).generate_state(3)
    assert agent_and_env_seeds(1234) == (int(words[0]), int(words[1]))
    assert eval_seed(1234) == int(words[2])


# -- what evaluation leaves alone ----------------------------------------------------------------


def test_training_is_the_same_with_evaluation_on_and_off(evaluated):
    results, _ = evaluated
    off = rl.run_experiment(
        lake(eval_every=None, eval_episodes=None), backend="serial", progress=False
    )
    pd.testing.assert_frame_equal(results, off)


def test_dqn_training_is_the_same_with_evaluation_on_and_off():
    exp = rl.Experiment(
        env="CartPole-v1",
        variants={"dqn": rl.Variant("dqn", learning_starts=50, buffer_size=500)},
        runs=1,
        steps=400,
        seed=2,
        eval_every=150,
        eval_episodes=2,
    )
    on, evals = rl.run_experiment(exp, backend="serial", progress=False, return_evaluations=True)
    off = rl.run_experiment(
        exp.replace(eval_every=None, eval_episodes=None), backend="serial", progress=False
    )
    pd.testing.assert_frame_equal(on, off)
    assert evals["eval"].max() >= 2  # evaluated at 150, 300 and at the end


def test_evaluate_run_plays_a_fresh_env_seeded_from_the_run_and_leaves_the_agent():
    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = RunningMeanAgent(env.observation_space, env.action_space, seed=3)
    rl.train(agent, env, episodes=50, seed=0)
    before = (agent.q.copy(), agent.rng.bit_generator.state)
    played = evaluate_run(
        agent, lambda: gym.make("FrozenLake-v1", is_slippery=True), 99, episodes=20
    )
    assert np.array_equal(agent.q, before[0]) and agent.rng.bit_generator.state == before[1]
    # the same as rl.evaluate on a fresh env seeded with eval_seed(run seed)
    rng_state = agent.rng.bit_generator.state
    direct = rl.evaluate(
        agent, gym.make("FrozenLake-v1", is_slippery=True), episodes=20, seed=eval_seed(99)
    )
    agent.rng.bit_generator.state = rng_state
    assert played["reward"].tolist() == direct["reward"].tolist()
    assert played["steps"].tolist() == direct["steps"].tolist()
    assert played["eval_episode"].tolist() == list(range(20))


# -- what is recorded ---------------------------------------------------------------------------


def test_evaluations_are_recorded_where_they_happened(evaluated):
    results, evals = evaluated
    assert list(evals.columns) == EVAL_COLUMNS
    for (label, run), mine in evals.groupby(["variant", "run"], sort=False):
        history = results[(results.variant == label) & (results.run == run)]
        per_eval = mine.groupby("eval")[["env_step", "episode"]].first()
        # episodes budget of 30, every 7: after episodes 7, 14, 21, 28, and at the end (30)
        assert per_eval["episode"].tolist() == [7, 14, 21, 28, 30]
        ends = history.set_index("episode")["env_step"]
        assert per_eval["env_step"].tolist() == [ends[e - 1] for e in (7, 14, 21, 28, 30)]
        assert (mine.groupby("eval").size() == 3).all()
        assert mine["eval_episode"].tolist() == [0, 1, 2] * 5
        assert (mine["seed"] == history["seed"].iloc[0]).all()
        assert mine["steps"].max() <= 40  # max_episode_steps cuts evaluation episodes too


def test_with_a_steps_budget_the_evaluation_follows_the_crossing_episode():
    exp = lake(episodes=None, steps=300, eval_every=100, eval_episodes=2, runs=1)
    results, evals = rl.run_experiment(
        exp, backend="serial", progress=False, return_evaluations=True
    )
    for label, mine in evals.groupby("variant", sort=False):
        steps = results.loc[results.variant == label, "env_step"].to_numpy()
        at = mine.groupby("eval")["env_step"].first().to_numpy()
        assert at[-1] == 300  # the final evaluation, at the budget
        for point, step in zip((100, 200), at[:-1], strict=True):
            crossing = steps[np.searchsorted(steps, point)]  # the first episode end >= point
            assert step == crossing


def test_evaluation_episodes_are_cut_at_max_episode_steps():
    # an untrained Q-learning agent's greedy action is 0 (left): it never leaves the start
    exp = lake(variants={"Q": "q-learning"}, episodes=1, max_episode_steps=5, eval_every=None)
    _, evals = rl.run_experiment(exp, backend="serial", progress=False, return_evaluations=True)
    assert (evals["steps"] == 5).all() and (evals["reward"] == 0).all()


def test_evaluations_are_saved_beside_each_run_and_resume(tmp_path, evaluated):
    _, reference = evaluated
    results, evals = rl.run_experiment(
        lake(), backend="serial", out=tmp_path, progress=False, return_evaluations=True
    )
    pd.testing.assert_frame_equal(evals, reference)
    pd.testing.assert_frame_equal(rl.load_evaluations(tmp_path), reference)
    saved = pd.read_csv(tmp_path / "runs" / "02-mine-run0001.eval.csv")
    assert list(saved.columns) == EVAL_COLUMNS and len(saved) == 5 * 3
    spec = json.loads((tmp_path / "spec.json").read_text())["experiment"]
    assert (spec["eval_every"], spec["eval_episodes"]) == (7, 3)

    # a run without its evaluations is not finished: resume runs it again, and only it
    (tmp_path / "runs" / "01-ps-run0000.eval.csv").unlink()
    ran = []

    class Counting(rl.experiments.backends.SerialBackend):
        def map(self, fn, tasks):
            ran.extend((t.label, t.run) for t in tasks)
            yield from super().map(fn, tasks)

    again, evals = rl.run_experiment(
        lake(), backend=Counting(), out=tmp_path, progress=False, return_evaluations=True
    )
    assert ran == [("PS", 0)]
    pd.testing.assert_frame_equal(again, results)
    pd.testing.assert_frame_equal(evals, reference)

    # the evaluation settings are part of the experiment: other settings are refused
    with pytest.raises(ConfigError, match="eval_episodes"):
        rl.run_experiment(lake(eval_episodes=4), backend="serial", out=tmp_path, progress=False)


def test_serial_and_process_give_the_same_evaluations(evaluated):
    _, reference = evaluated
    _, evals = rl.run_experiment(
        lake(), backend="process", workers=2, progress=False, return_evaluations=True
    )
    pd.testing.assert_frame_equal(evals, reference)


def test_an_experiment_without_evaluation_has_none():
    exp = lake(eval_every=None, eval_episodes=0, runs=1, episodes=5)
    assert exp.eval_episodes is None
    results, evals = rl.run_experiment(
        exp, backend="serial", progress=False, return_evaluations=True
    )
    assert evals.empty and list(evals.columns) == EVAL_COLUMNS
    assert "greedy_mean" not in rl.stats.summary(results, window=5, evaluations=evals)


# -- the acceptance scenario: greedy scores are real ----------------------------------------------


def test_a_trained_q_learner_is_greedy_perfect_and_an_untrained_one_is_not():
    """Q-learning with its preset on the non-slippery lake reaches a greedy return of 1.0; an
    agent that trained for one episode does not; serial and process(2) agree."""
    suite = rl.get_suite("frozenlake").replace(
        variants={"Q-learning": rl.Variant("q-learning")}, runs=4, episodes=300, seed=7
    )
    results, evals = rl.run_experiment(
        suite, backend="serial", progress=False, return_evaluations=True
    )
    final = rl.stats.final_greedy(evals)
    assert (final["reward"] == 1.0).all() and (final["episode"] == 300).all()
    table = rl.stats.summary(results, evaluations=evals)
    assert (
        table.loc["Q-learning", ["greedy_mean", "greedy_low", "greedy_high"]].tolist() == [1.0] * 3
    )
    _, again = rl.run_experiment(
        suite, backend="process", workers=2, progress=False, return_evaluations=True
    )
    pd.testing.assert_frame_equal(again, evals)

    untrained = suite.replace(episodes=1)
    _, evals = rl.run_experiment(
        untrained, backend="serial", progress=False, return_evaluations=True
    )
    assert (rl.stats.final_greedy(evals)["reward"] == 0.0).all()


# -- the spec ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        (dict(eval_episodes=-1), ["eval_episodes", ">= 0"]),
        (dict(eval_episodes=2.5), ["eval_episodes", "whole number"]),
        (dict(eval_every=0), ["eval_every", ">= 1"]),
        (dict(eval_every=10, eval_episodes=None), ["eval_every=10 (episodes)", "eval_episodes"]),
        (dict(eval_every=True), ["eval_every", "whole number"]),
    ],
)
def test_bad_evaluation_settings_are_refused(changes, words):
    with pytest.raises(ConfigError) as info:
        lake(**changes)
    for word in words:
        assert word in str(info.value)


def test_evaluation_settings_in_toml_and_to_dict(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text(
        'env = "FrozenLake-v1"\nsteps = 2000\neval_every = 500\neval_episodes = 20\n'
        '[variants.Q]\nagent = "q-learning"\n'
    )
    exp = rl.experiments.load_experiment(path)
    assert (exp.eval_every, exp.eval_episodes) == (500, 20)
    assert exp.to_dict()["eval_every"] == 500 and exp.identity()["eval_episodes"] == 20
    path.write_text(
        'env = "FrozenLake-v1"\nepisodes = 9\neval_evry = 5\n[variants.Q]\nagent = "ps"\n'
    )
    with pytest.raises(ConfigError, match="did you mean 'eval_every'"):
        rl.experiments.load_experiment(path)


def test_switching_the_budget_kind_drops_eval_every():
    exp = lake()  # every 7 episodes
    assert exp.replace(steps=500).eval_every is None
    assert exp.replace(steps=500).eval_episodes == 3
    assert exp.replace(episodes=60).eval_every == 7
    assert exp.replace(steps=500, eval_every=100).eval_every == 100


# -- summary, curves, figure -------------------------------------------------------------------


def synthetic_evaluations() -> pd.DataFrame:
    rows = []
    # variant A: run 0 evaluates at env steps 100 and 300 (returns 1 then 3), run 1 at 120, 300
    for run, points in ((0, ((100, 1.0), (300, 3.0))), (1, ((120, 2.0), (300, 5.0)))):
        for k, (step, reward) in enumerate(points):
            for episode, delta in enumerate((-1.0, 1.0)):  # two episodes, mean = reward
                rows.append(
                    dict(
                        variant="A",
                        run=run,
                        seed=run,
                        eval=k,
                        env_step=step,
                        episode=k + 1,
                        eval_episode=episode,
                        reward=reward + delta,
                        steps=10,
                    )
                )
    return pd.DataFrame(rows)


def test_final_greedy_and_evaluation_curves_by_hand():
    evals = synthetic_evaluations()
    final = rl.stats.final_greedy(evals)
    assert final[["run", "env_step", "reward", "episodes"]].values.tolist() == [
        [0, 300, 3.0, 2],
        [1, 300, 5.0, 2],
    ]
    curve = rl.stats.evaluation_curves(evals)["A"]
    # common range [120, 300]; run 0 interpolated at 120: 1 + (3 - 1) * 20 / 200 = 1.2
    assert curve["env_step"].tolist() == [120.0, 300.0]
    np.testing.assert_allclose(curve["mean"], [(1.2 + 2.0) / 2, (3.0 + 5.0) / 2])


def test_summary_gains_the_final_greedy_score_with_its_ci(evaluated):
    results, evals = evaluated
    table = rl.stats.summary(results, window=5, evaluations=evals)
    final = rl.stats.final_greedy(evals)
    for label in ("Q-learning", "PS", "mine"):
        scores = final.loc[final.variant == label, "reward"].to_numpy()
        assert table.loc[label, "greedy_mean"] == pytest.approx(scores.mean())
        # 2 runs: too few for a bootstrap interval (the table says so; 3 runs get one)
        assert np.isnan(table.loc[label, ["greedy_low", "greedy_high"]].astype(float)).all()
    third = evals[evals["run"] == 1].assign(run=2)
    more = rl.stats.summary(
        pd.concat([results, results[results["run"] == 1].assign(run=2)]),
        window=5,
        evaluations=pd.concat([evals, third]),
    )
    for label in ("Q-learning", "PS", "mine"):
        scores = rl.stats.final_greedy(pd.concat([evals, third]))
        scores = scores.loc[scores.variant == label, "reward"].to_numpy()
        _, low, high = rl.stats.bootstrap_ci(scores)
        assert (more.loc[label, "greedy_low"], more.loc[label, "greedy_high"]) == (low, high)
    assert "note: no 95% CI for every variant: fewer than 3 runs" in rl.stats.format_table(table)
    text = rl.stats.format_table(table)
    assert "greedy score (3 ep.)" in text
    assert "greedy score (3 ep.)" in rl.stats.to_markdown(table)


def test_learning_curves_add_a_greedy_panel(evaluated):
    results, evals = evaluated
    fig = rl.plots.learning_curves(results, window=5, evaluations=evals)
    reward, steps, greedy = fig.axes
    assert greedy.get_ylabel() == "greedy return" and greedy.get_xlabel() == "episode"
    assert greedy.get_title() == "greedy return at each evaluation: 3 episodes per run"
    curves = rl.stats.evaluation_curves(evals, x="episode")
    for line, curve in zip(greedy.get_lines(), curves.values(), strict=True):
        np.testing.assert_allclose(line.get_xdata(), [7, 14, 21, 28, 30])
        np.testing.assert_allclose(line.get_ydata(), curve["mean"])
    matplotlib.pyplot.close(fig)
    # evaluated at the end only: one point per variant, side by side, named on the x axis
    final = evals[evals["eval"] == 4].assign(eval=0)
    fig = rl.plots.learning_curves(results, window=5, evaluations=final)
    ticks = [t.get_text() for t in fig.axes[2].get_xticklabels()]
    assert ticks == ["Q-learning", "PS", "mine"]
    assert "greedy return at the last evaluation: 3 episodes per run" == fig.axes[2].get_title()
    matplotlib.pyplot.close(fig)
    assert len(rl.plots.learning_curves(results, window=5).axes) == 2  # no evaluations: no panel


# -- the command line ---------------------------------------------------------------------------

FAST = ["--runs", "2", "--episodes", "20", "--backend", "serial", "--quiet"]


def test_cli_eval_flags_summary_and_figure(tmp_path, capsys):
    out = tmp_path / "lake"
    code = main(
        [
            "run",
            "frozenlake",
            *FAST,
            "--eval-every",
            "10",
            "--eval-episodes",
            "2",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0 and "greedy evaluation: 2 episodes every 10 episodes and at the end" in text
    assert "greedy score (2 ep.)" in text
    table = pd.read_csv(out / "summary.csv", index_col="variant")
    evals = rl.load_evaluations(out)
    final = rl.stats.final_greedy(evals)
    assert table.loc["PS", "greedy_mean"] == pytest.approx(
        final.loc[final.variant == "PS", "reward"].mean()
    )
    assert "greedy score" in (out / "summary.md").read_text()
    assert (out / "learning_curves.png").stat().st_size > 0
    assert set(evals.groupby("eval")["episode"].first()) == {10, 20}

    code = main(["plot", str(out)])
    assert code == 0 and "greedy score (2 ep.)" in capsys.readouterr().out

    off = tmp_path / "off"
    assert main(["run", "frozenlake", *FAST, "--no-eval", "--out", str(off), "--no-plot"]) == 0
    assert "greedy" not in capsys.readouterr().out
    assert rl.load_evaluations(off).empty and not list(off.glob("runs/*.eval.csv"))
    spec = json.loads((off / "spec.json").read_text())["experiment"]
    assert (spec["eval_every"], spec["eval_episodes"]) == (None, None)
    zero = tmp_path / "zero"
    assert main(["run", "frozenlake", *FAST, "--eval-episodes", "0", "--out", str(zero)]) == 0
    assert rl.load_evaluations(zero).empty


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--eval-every", "10", "--no-eval"], ["--eval-every", "--no-eval"]),
        (["--eval-episodes", "-2"], ["eval_episodes", ">= 0"]),
        (["--eval-every", "0", "--eval-episodes", "3"], ["eval_every", ">= 1"]),
    ],
)
def test_cli_bad_eval_flags_are_one_clear_line(argv, words, tmp_path, capsys):
    code = main(["run", "frozenlake", *FAST, *argv, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("rlladder: error:") and "Traceback" not in err
    for word in words:
        assert word in err


def test_cli_eval_every_needs_eval_episodes(tmp_path, capsys):
    code = main(
        ["run", "cartpole-ablation", "--runs", "1", "--steps", "100", "--eval-episodes", "0"]
        + ["--eval-every", "50", "--out", str(tmp_path / "y"), "--backend", "serial"]
    )
    assert code == 2
    path = tmp_path / "t.toml"
    path.write_text('env = "FrozenLake-v1"\nepisodes = 5\n[variants.Q]\nagent = "q-learning"\n')
    code = main(["run", str(path), "--eval-every", "2", "--out", str(tmp_path / "z")])
    err = capsys.readouterr().err
    assert code == 2 and "--eval-every 2 needs --eval-episodes N" in err


def test_the_dqn_suites_evaluate_100_episodes_at_the_end():
    for name in ("cartpole-ablation", "cartpole-beyond", "cartpole-forgetting"):
        exp = rl.get_suite(name)
        assert (exp.eval_episodes, exp.eval_every) == (100, None), name
    for part in rl.get_suite("tabular-vs-deep").values():
        assert (part.eval_episodes, part.eval_every) == (100, None)


def test_the_evaluator_protocol_a_batched_trainer_would_follow():
    """One evaluator per run, called after each of that run's episodes and at its end, gives the
    frame run_one saves: what a trainer stepping several runs at once must reproduce."""
    exp = lake(runs=1, variants={"PS": "ps"})
    _, reference = rl.run_experiment(exp, backend="serial", progress=False, return_evaluations=True)
    seed = exp.run_seeds()[0]
    agent_seed, env_seed = agent_and_env_seeds(seed)
    env = exp.make_env()
    agent = exp.variants["PS"].make(env, seed=agent_seed)
    evaluator = Evaluator(
        agent,
        exp.make_env,
        seed,
        episodes=3,
        budget=30,
        unit="episodes",
        every=7,
        max_episode_steps=40,
    )
    rl.train(agent, env, episodes=30, seed=env_seed, max_episode_steps=40, callbacks=[evaluator])
    frame = evaluator.frame()
    pd.testing.assert_frame_equal(
        frame, reference.drop(columns=["variant", "run", "seed"]).reset_index(drop=True)
    )
