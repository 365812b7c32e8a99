"""The trackers as rl.train callbacks: what they log, read back with each tool's own reader.

TensorBoard through tensorboard's event reader, W&B offline (no account, no network) through
the offline run's own records (:mod:`tracker_readers`). The reward points equal the history's
rewards at its env steps, the agent's diagnostic columns come through, the hyperparameters are
the agent's; a tracker that cannot write costs no result; a missing package names its extra.
"""

from __future__ import annotations

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tracker_readers import tensorboard_hparams, tensorboard_scalars, wandb_runs

import rlladder as rl
from rlladder.loggers.base import MissingTrackerError, TrackingWarning, flat_hyperparameters

pytest.importorskip("tensorboard")

SMALL_DQN = {
    "hidden_sizes": [16],
    "batch_size": 8,
    "buffer_size": 400,
    "learning_starts": 100,
    "target_update_every": 50,
    "train_every": 2,
}


@pytest.fixture
def wandb_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    folder = tmp_path / "wb"
    folder.mkdir()
    for key, value in {
        "WANDB_MODE": "offline",
        "WANDB_DIR": str(folder),
        "WANDB_SILENT": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_API_KEY": "",
    }.items():
        monkeypatch.setenv(key, value)
    return folder


def lake_run(callback):
    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent("q-learning", env, seed=0)
    history = rl.train(agent, env, episodes=40, seed=1, callbacks=[callback])
    return agent, history


def as_float32(values):
    return np.asarray(values, dtype=np.float32).tolist()


def points(history, column):
    rows = history[["env_step", column]].dropna()
    return list(zip(rows["env_step"].tolist(), as_float32(rows[column]), strict=True))


def test_tensorboard_logs_each_episode_at_its_env_step(tmp_path):
    agent, history = lake_run(rl.loggers.TensorBoard(tmp_path / "tb"))
    scalars = tensorboard_scalars(tmp_path / "tb")
    assert scalars["train/reward"] == points(history, "reward")
    assert scalars["train/episode_length"] == points(history, "steps")
    assert scalars["train/epsilon"] == points(history, "epsilon")  # the tabular agent's own
    eta = [v for _, v in scalars["train/learning_rate"]]
    assert eta[-1] == pytest.approx(agent.eta) and eta[0] > eta[-1]  # its step size, decaying
    rates = scalars["train/steps_per_second"]  # every 5 s, and at the end: once, in a short run
    assert [step for step, _ in rates] == [history["env_step"].iloc[-1]] and rates[0][1] > 0
    assert tensorboard_hparams(tmp_path / "tb") == flat_hyperparameters(agent.hyperparameters())


def test_tensorboard_logs_the_dqn_diagnostics_and_learning_rate(tmp_path):
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0, learning_rate=5e-4, **SMALL_DQN)
    history = rl.train(agent, env, steps=600, seed=0, callbacks=[rl.loggers.TensorBoard(tmp_path)])
    scalars = tensorboard_scalars(tmp_path)
    for column in ("reward", "loss", "q_mean", "action_gap", "epsilon"):
        tag = "train/reward" if column == "reward" else f"train/{column}"
        assert scalars[tag] == points(history, column), column
    assert {v for _, v in scalars["train/learning_rate"]} == {np.float32(5e-4)}
    assert tensorboard_hparams(tmp_path)["hidden_sizes"] == "[16]"


def test_projective_simulation_logs_no_learning_rate(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent("ps", env, seed=0)
    history = rl.train(
        agent, env, episodes=20, seed=1, callbacks=[rl.loggers.TensorBoard(tmp_path)]
    )
    scalars = tensorboard_scalars(tmp_path)
    assert "train/learning_rate" not in scalars  # its eta is the glow damping, not a step size
    assert scalars["train/reward"] == points(history, "reward")
    assert tensorboard_hparams(tmp_path)["eta"] == pytest.approx(agent.hyperparameters()["eta"])


def test_throughput_is_logged_every_throughput_secs(tmp_path, monkeypatch):
    monkeypatch.setattr(rl.loggers.Tracker, "throughput_secs", 0.0)  # every episode
    _, history = lake_run(rl.loggers.TensorBoard(tmp_path))
    rates = tensorboard_scalars(tmp_path)["train/steps_per_second"]
    assert [step for step, _ in rates] == history["env_step"].tolist()[1:]
    assert all(rate > 0 for _, rate in rates)


def test_weight_histograms_every_n_updates_hold_the_weights_of_that_moment(tmp_path):
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0, **SMALL_DQN)
    seen = {}

    def remember(record, agent):  # after the tracker: the weights it saw, and the updates
        weights = agent.q_net.state_dict()["layers.0.weight"]
        seen[record["env_step"]] = (agent.updates_done, float(weights.sum()), weights.numel())

    tracker = rl.loggers.TensorBoard(tmp_path, histograms_every=40)
    rl.train(agent, env, steps=600, seed=0, callbacks=[tracker, remember])
    events = EventAccumulator(str(tmp_path), size_guidance={"histograms": 0})
    events.Reload()
    assert "weights/layers.0.weight" in events.Tags()["histograms"]
    logged = events.Histograms("weights/layers.0.weight")
    updates = [seen[h.step][0] for h in logged]
    assert [u // 40 for u in updates] == sorted(set(u // 40 for u, _, _ in seen.values()) - {0})
    for h in logged:
        _, total, count = seen[h.step]
        assert h.histogram_value.num == count
        assert h.histogram_value.sum == pytest.approx(total, rel=1e-5, abs=1e-6)


def test_wandb_offline_logs_the_rewards_and_the_config(wandb_offline):
    logger = rl.loggers.WandB(project="rlladder-tests", mode="offline", name="lake", group="g")
    agent, history = lake_run(logger)
    (run,) = wandb_runs(wandb_offline)
    assert (run["name"], run["group"]) == ("lake", "g")
    episodes = [row for row in run["history"] if "train/reward" in row]
    logged = [(row["env_step"], row["train/reward"]) for row in episodes]
    assert logged == list(zip(history["env_step"], history["reward"], strict=True))
    assert [row["train/epsilon"] for row in episodes] == history["epsilon"].tolist()
    assert run["history"][-1]["train/steps_per_second"] > 0
    assert run["config"] == flat_hyperparameters(agent.hyperparameters())


def test_an_unwritable_folder_costs_no_result_and_is_reported_once(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    env = gym.make("FrozenLake-v1")
    reference = rl.train(rl.make_agent("q-learning", env, seed=0), env, episodes=40, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, history = lake_run(rl.loggers.TensorBoard(blocked / "tb"))
    assert history.equals(reference)
    (warning,) = [w for w in caught if issubclass(w.category, TrackingWarning)]
    message = str(warning.message)
    assert "\n" not in message
    assert message.startswith("TensorBoard logging stopped") and "make " in message


def test_wandb_that_cannot_start_costs_no_result(wandb_offline, monkeypatch):
    import wandb

    def refuse(**kwargs):
        raise wandb.errors.CommError("cannot reach the server")

    monkeypatch.setattr(wandb, "init", refuse)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, history = lake_run(rl.loggers.WandB(project="p"))
    assert len(history) == 40
    (warning,) = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert "W&B logging stopped (cannot reach the server)" in str(warning.message)
    assert "wandb sync" in str(warning.message)


@pytest.mark.parametrize(
    ("package", "make", "extra"),
    [
        ("tensorboard", lambda: rl.loggers.TensorBoard("tb"), "rlladder[tensorboard]"),
        ("wandb", lambda: rl.loggers.WandB(project="p"), "rlladder[wandb]"),
    ],
)
def test_a_missing_package_names_its_extra(monkeypatch, package, make, extra):
    monkeypatch.setitem(sys.modules, package, None)  # `import package` now raises ImportError
    with pytest.raises(MissingTrackerError) as raised:
        make()
    assert f'pip install "{extra}"' in str(raised.value)


def test_bad_settings_are_one_clear_line():
    with pytest.raises(rl.UnknownNameError, match="W&B mode 'offlne' .did you mean 'offline'"):
        rl.loggers.WandB(project="p", mode="offlne")
    with pytest.raises(rl.ConfigError, match="tensorboard=DIR or wandb_project"):
        rl.loggers.Tracking()
    with pytest.raises(rl.ConfigError, match="log= takes 'tensorboard:DIR'"):
        rl.run_experiment("frozenlake-slippery", log="tensorbord:tb")


def test_importing_rlladder_imports_no_tracker():
    code = (
        "import sys, rlladder as rl; rl.loggers.Tracking(tensorboard='tb');"
        "print(sorted(m for m in ('tensorboard', 'wandb', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_fast_checksum_is_tensorboards_own():
    """``google-crc32c`` (C) gives the very checksums tensorboard's pure-Python writer computes,
    and the record writer uses it once a TensorBoard tracker opens."""
    pytest.importorskip("google_crc32c")
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c as slow
    from tensorboard.summary.writer import record_writer

    from rlladder.loggers.tensorboard import masked_crc32c, use_fast_checksums

    rng = np.random.default_rng(0)
    for size in [0, 1, 7, 8, 12, 63, 64, 200, 1000]:
        data = rng.integers(0, 256, size).astype(np.uint8).tobytes()
        assert masked_crc32c(data) == slow(data)
    assert use_fast_checksums() and record_writer.masked_crc32c is masked_crc32c


def test_wandb_weight_histograms_every_n_updates(wandb_offline):
    """The chapter's ``wandb.watch``: a histogram of each weight every N updates, at the env
    step of the episode that completed them, holding the weights of that moment."""
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0, **SMALL_DQN)
    seen = {}

    def remember(record, agent):
        weights = agent.q_net.state_dict()["layers.0.weight"]
        seen[record["env_step"]] = (agent.updates_done, weights.numel())

    logger = rl.loggers.WandB(project="rlladder-tests", mode="offline", histograms_every=40)
    rl.train(agent, env, steps=600, seed=0, callbacks=[logger, remember])
    (run,) = wandb_runs(wandb_offline)
    key = "weights/layers.0.weight"  # W&B's record flattens a histogram to key/_type, ...
    rows = [row for row in run["history"] if f"{key}/_type" in row]
    assert rows
    updates = [seen[row["env_step"]][0] for row in rows]
    assert [u // 40 for u in updates] == sorted(set(u // 40 for u, _ in seen.values()) - {0})
    for row in rows:
        assert row[f"{key}/_type"] == "histogram"
        assert sum(row[f"{key}/values"]) == seen[row["env_step"]][1]


def test_greedy_clips_every_n_episodes_change_no_number(tmp_path):
    """A greedy GIF every 5 episodes, in TensorBoard's Images tab at the env step of the
    episode that completed them; training is the same with clips and without."""
    pytest.importorskip("pygame")
    make = lambda: gym.make("CartPole-v1")  # noqa: E731
    runs = {}
    for clips in (False, True):
        env = make()
        agent = rl.make_agent("dqn", env, seed=0, **SMALL_DQN)
        video = {"video_every": 5, "video_env": make} if clips else {}
        tracker = rl.loggers.TensorBoard(tmp_path / str(clips), **video)
        runs[clips] = rl.train(agent, env, episodes=12, seed=0, callbacks=[tracker])
    pd.testing.assert_frame_equal(runs[True], runs[False])
    events = EventAccumulator(str(tmp_path / "True"), size_guidance={"images": 0})
    events.Reload()
    clips = events.Images("video/greedy")
    history = runs[True]
    assert [c.step for c in clips] == list(history["env_step"].iloc[[4, 9]])
    assert all(c.encoded_image_string[:6] == b"GIF89a" and c.width == 300 for c in clips)


def test_a_clip_that_cannot_be_made_is_said_once_and_logging_goes_on(tmp_path):
    def broken():
        raise RuntimeError("no display here")

    env = gym.make("FrozenLake-v1")
    agent = rl.make_agent("q-learning", env, seed=0)
    tracker = rl.loggers.TensorBoard(tmp_path, video_every=2, video_env=broken)
    with pytest.warns(TrackingWarning, match="greedy clips stopped .no display here.") as caught:
        history = rl.train(agent, env, episodes=10, seed=0, callbacks=[tracker])
    assert len([w for w in caught if issubclass(w.category, TrackingWarning)]) == 1
    assert len(tensorboard_scalars(tmp_path)["train/reward"]) == len(history) == 10


def test_video_every_needs_an_env():
    with pytest.raises(rl.errors.ConfigError, match="needs video_env="):
        rl.loggers.TensorBoard("tb", video_every=3)
