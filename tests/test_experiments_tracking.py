"""Experiments log one tracker run per (variant, run), the same on every backend and with
ensembles on or off, and a resume neither logs a finished run again nor doubles a redone one.

Read back with tensorboard's event reader and an offline W&B run's own records
(:mod:`tracker_readers`): the reward points equal the results' rewards at their env steps, the
greedy evaluations' means are there, the hyperparameters equal ``spec.json``'s resolved ones.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from tracker_readers import tensorboard_hparams, tensorboard_scalars, wandb_runs

import rlladder as rl
from rlladder.cli import main
from rlladder.loggers.base import flat_hyperparameters

pytest.importorskip("tensorboard")

SMALL = {
    "hidden_sizes": [16],
    "batch_size": 8,
    "buffer_size": 400,
    "learning_starts": 100,
    "target_update_every": 50,
    "train_every": 2,
}

#: a tabular and a DQN variant, step budget, greedy evaluations every 300 steps and at the end
CARTPOLE = rl.Experiment(
    name="tracked",
    env="CartPole-v1",
    variants={
        "DQN": rl.Variant("dqn", **SMALL),
        "+ double": rl.Variant("dqn", double=True, **SMALL),
    },
    runs=3,
    steps=700,
    eval_episodes=2,
    eval_every=300,
    seed=4,
)
LAKE = rl.Experiment(
    name="lake",
    env="FrozenLake-v1",
    variants={"Q-learning": rl.Variant("q-learning"), "PS": rl.Variant("ps")},
    runs=2,
    episodes=30,
    seed=2,
)
#: what differs between two runs of the same numbers: wall time
CLOCK = "train/steps_per_second"


def logged(folder, exp):
    """{(variant folder, run folder): {tag: points}} of a TensorBoard experiment folder."""
    return {
        (run.parent.name, run.name): {
            tag: values for tag, values in tensorboard_scalars(run).items() if tag != CLOCK
        }
        for run in sorted(folder.glob("*/run*"))
    }


def f32(values):
    return np.asarray(values, dtype=np.float32).tolist()


def test_each_run_logs_its_rewards_evaluations_and_spec_hyperparameters(tmp_path):
    out, tb = tmp_path / "results", tmp_path / "tb"
    results, evaluations = rl.run_experiment(
        CARTPOLE.replace(runs=2),
        backend="serial",
        out=out,
        progress=False,
        return_evaluations=True,
        log=f"tensorboard:{tb}",
    )
    spec = json.loads((out / "spec.json").read_text())
    runs = sorted(p.relative_to(tb).as_posix() for p in tb.glob("*/run*"))
    assert runs == ["00-dqn/run0000", "00-dqn/run0001", "01-double/run0000", "01-double/run0001"]
    for index, label in enumerate(CARTPOLE.labels):
        for run in range(2):
            folder = tb / runs[2 * index + run]
            scalars = tensorboard_scalars(folder)
            rows = results[(results["variant"] == label) & (results["run"] == run)]
            assert scalars["train/reward"] == list(
                zip(rows["env_step"].tolist(), f32(rows["reward"]), strict=True)
            )
            mine = evaluations[(evaluations["variant"] == label) & (evaluations["run"] == run)]
            means = mine.groupby("eval").agg(step=("env_step", "first"), mean=("reward", "mean"))
            assert scalars["eval/reward_mean"] == list(
                zip(means["step"].tolist(), f32(means["mean"]), strict=True)
            )
            hparams = tensorboard_hparams(folder)
            expected = flat_hyperparameters(spec["resolved"][label])
            assert {k: hparams[k] for k in expected} == pytest.approx(expected)
            assert (hparams["run"], hparams["seed"]) == (run, spec["run_seeds"][run])


@pytest.fixture(scope="module")
def solo(tmp_path_factory):
    tb = tmp_path_factory.mktemp("solo")
    rl.run_experiment(
        CARTPOLE, backend="serial", ensemble=False, progress=False, log=f"tensorboard:{tb}"
    )
    return logged(tb, CARTPOLE)


@pytest.mark.parametrize("backend", ["serial", "process"])
def test_ensembles_log_what_their_solo_runs_log_point_for_point(solo, tmp_path, backend):
    tb = tmp_path / "tb"
    rl.run_experiment(CARTPOLE, backend=backend, workers=2, progress=False, log=f"tensorboard:{tb}")
    got = logged(tb, CARTPOLE)
    assert len(got) == 6 and got == solo
    assert {"train/loss", "train/q_mean", "train/action_gap", "train/epsilon"} <= set(
        got["00-dqn", "run0000"]
    )


def test_ray_backend_logs_the_same(solo, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        tb = tmp_path / "tb"
        rl.run_experiment(CARTPOLE, backend="ray", progress=False, log=f"tensorboard:{tb}")
    finally:
        ray.shutdown()
    assert logged(tb, CARTPOLE) == solo


def test_resume_logs_only_new_runs_and_a_redone_run_replaces_its_points(tmp_path):
    out, tb = tmp_path / "results", tmp_path / "tb"
    log = f"tensorboard:{tb}"
    rl.run_experiment(LAKE.replace(runs=1), backend="serial", out=out, progress=False, log=log)
    first = {p: p.stat().st_mtime_ns for p in tb.glob("*/run0000/events*")}
    assert len(first) == 2
    rl.run_experiment(LAKE, backend="serial", out=out, progress=False, log=log)
    assert {p: p.stat().st_mtime_ns for p in tb.glob("*/run0000/events*")} == first
    assert len(list(tb.glob("*/run0001/events*"))) == 2
    before = logged(tb, LAKE)
    (out / "runs" / "00-q-learning-run0000.csv").write_text("damaged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rl.run_experiment(LAKE, backend="serial", out=out, progress=False, log=log)
    assert len(list((tb / "00-q-learning" / "run0000").glob("events*"))) == 1  # a fresh file
    assert logged(tb, LAKE) == before  # the same points once, not twice


def test_an_unwritable_tensorboard_folder_costs_no_result(tmp_path, capsys):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    code = main(
        ["run", "frozenlake", "--runs", "1", "--episodes", "20", "--backend", "serial",
         "--quiet", "--no-plot", "--out", str(tmp_path / "results"),
         "--tensorboard", str(blocked / "tb")]
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "TensorBoard" in line]
    assert len(lines) == 1 and lines[0].startswith("rlladder: warning: TensorBoard logging is off")
    assert len(rl.load_results(tmp_path / "results")) > 0


def test_wandb_offline_runs_are_named_and_grouped_as_the_results(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    wb = tmp_path / "wb"
    tracking = rl.loggers.Tracking(
        wandb_project="rlladder-tests", wandb_mode="offline", wandb_dir=str(wb)
    )
    results = rl.run_experiment(LAKE, backend="serial", progress=False, log=tracking)
    runs = {run["name"]: run for run in wandb_runs(wb)}
    assert sorted(runs) == ["00-q-learning-run0000", "00-q-learning-run0001", "01-ps-run0000",
                            "01-ps-run0001"]  # fmt: skip
    for (label, run), rows in results.groupby(["variant", "run"]):
        logged_run = runs[f"{'00-q-learning' if label == 'Q-learning' else '01-ps'}-run{run:04d}"]
        assert (logged_run["group"], logged_run["job_type"]) == ("lake", label)
        history = [row for row in logged_run["history"] if "train/reward" in row]
        assert [(r["env_step"], r["train/reward"]) for r in history] == list(
            zip(rows["env_step"], rows["reward"], strict=True)
        )
        assert logged_run["config"]["run"] == run
    assert len({run["id"] for run in runs.values()}) == 4  # one id per run, from its identity


def test_wandb_ensemble_members_log_what_their_solo_runs_log(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    exp = CARTPOLE.replace(runs=2, eval_episodes=None, eval_every=None, steps=500)
    logged_runs = {}
    for ensemble, backend in ((False, "serial"), (True, "process")):
        folder = tmp_path / str(ensemble)
        tracking = rl.loggers.Tracking(
            wandb_project="rlladder-tests", wandb_mode="offline", wandb_dir=str(folder)
        )
        rl.run_experiment(
            exp, backend=backend, workers=1, ensemble=ensemble, progress=False, log=tracking
        )
        logged_runs[ensemble] = {
            (run["id"], run["name"]): [
                {k: v for k, v in row.items() if k != CLOCK and not k.startswith("_")}
                for row in run["history"]
            ]
            for run in wandb_runs(folder)
        }
    assert len(logged_runs[True]) == 4
    assert logged_runs[True] == logged_runs[False]


def test_a_redone_run_resumes_its_own_wandb_run_and_finished_runs_are_not_logged_again(
    tmp_path, monkeypatch
):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DISABLE_GIT", "true")
    out, wb = tmp_path / "results", tmp_path / "wb"
    log = rl.loggers.Tracking(
        wandb_project="rlladder-tests", wandb_mode="offline", wandb_dir=str(wb)
    )
    exp = LAKE.replace(variants={"Q-learning": rl.Variant("q-learning")})
    rl.run_experiment(exp, backend="serial", out=out, progress=False, log=log)
    first = {run["name"]: run["id"] for run in wandb_runs(wb)}
    (out / "runs" / "00-q-learning-run0001.csv").write_text("damaged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rl.run_experiment(exp, backend="serial", out=out, progress=False, log=log)
    names = [(run["name"], run["id"]) for run in wandb_runs(wb)]
    assert len(names) == 3  # the redone run only, not run 0 again
    assert sorted(names) == sorted(
        [*first.items(), ("00-q-learning-run0001", first["00-q-learning-run0001"])]
    )


def test_wandb_mode_needs_a_project(capsys):
    assert main(["run", "frozenlake", "--wandb-mode", "offline"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "rlladder: error: --wandb-mode needs --wandb PROJECT (e.g. --wandb rlladder)"


def test_greedy_clips_of_ensemble_members_are_their_solo_runs_clips(tmp_path):
    """``Tracking(video_every=N)``: each run's clips, made in its worker on a fresh env of the
    experiment, are the same GIFs with ensembles on and off."""
    pytest.importorskip("pygame")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    def clips(folder):
        found = {}
        for run in sorted(folder.glob("*/run*")):
            events = EventAccumulator(str(run), size_guidance={"images": 0})
            events.Reload()
            found[run.parent.name, run.name] = [
                (c.step, c.encoded_image_string) for c in events.Images("video/greedy")
            ]
        return found

    exp = CARTPOLE.replace(eval_episodes=None, eval_every=None)
    for ensemble in (True, False):
        log = rl.loggers.Tracking(tensorboard=str(tmp_path / str(ensemble)), video_every=4)
        rl.run_experiment(exp, backend="serial", progress=False, ensemble=ensemble, log=log)
    solo = clips(tmp_path / "False")
    assert len(solo) == 6 and all(solo.values())
    assert clips(tmp_path / "True") == solo


def test_wandb_greedy_clips(tmp_path, monkeypatch):
    pytest.importorskip("pygame")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("WANDB_SILENT", "true")
    log = rl.loggers.Tracking(wandb_project="clips", wandb_mode="offline", video_every=5)
    results = rl.run_experiment(LAKE.replace(runs=1), backend="serial", progress=False, log=log)
    runs = wandb_runs(tmp_path)
    assert len(runs) == 2
    for run in runs:
        steps = [row["env_step"] for row in run["history"] if "video/greedy/_type" in row]
        assert steps and all(
            row["video/greedy/_type"] == "video-file"
            for row in run["history"]
            if "video/greedy/_type" in row
        )
        assert len(steps) == len(results) // 2 // 5


def test_video_every_needs_a_tracker(capsys):
    assert main(["run", "frozenlake", "--video-every", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "rlladder: error: --video-every logs clips to a tracker: add --tensorboard DIR or "
        "--wandb PROJECT"
    )


def test_video_every_on_the_command_line(tmp_path, monkeypatch):
    pytest.importorskip("pygame")
    monkeypatch.chdir(tmp_path)
    args = ["run", "frozenlake", "--runs", "1", "--episodes", "10", "--backend", "serial"]
    assert main([*args, "--quiet", "--no-plot", "--tensorboard", "tb", "--video-every", "5"]) == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = next((tmp_path / "tb").glob("00-*/run0000"))
    events = EventAccumulator(str(run), size_guidance={"images": 0})
    events.Reload()
    assert len(events.Images("video/greedy")) == 2
