"""Every backend gives the same DataFrame for the same experiment and seed; own agents run too."""

from __future__ import annotations

import pandas as pd
import pytest
from own_agents import RunningMeanAgent

import rlladder as rl
from rlladder.errors import UnknownNameError
from rlladder.experiments.backends import ProcessBackend, RayBackend, make_backend
from rlladder.experiments.store import ID_COLUMNS

EXPERIMENT = rl.Experiment(
    env="FrozenLake-v1",
    env_kwargs={"is_slippery": True},
    variants={
        "Q-learning": rl.Variant("q-learning"),
        "PS": rl.Variant("ps"),
        "mine": rl.Variant(RunningMeanAgent, epsilon=0.3),
    },
    runs=3,
    episodes=40,
    max_episode_steps=30,
    seed=11,
)


@pytest.fixture(scope="module")
def serial() -> pd.DataFrame:
    return rl.run_experiment(EXPERIMENT, backend="serial", progress=False)


def test_results_have_a_row_per_episode(serial):
    assert list(serial.columns[: len(ID_COLUMNS)]) == ID_COLUMNS
    assert "visits" in serial.columns  # the own agent's diagnostic
    assert len(serial) == 3 * 3 * 40
    assert serial["variant"].unique().tolist() == ["Q-learning", "PS", "mine"]
    for _, run in serial.groupby(["variant", "run"]):
        assert run["episode"].tolist() == list(range(40))
        assert (run["env_step"].diff().dropna() == run["steps"].iloc[1:].to_numpy()).all()
        assert run["steps"].max() <= 30
    # different runs really differ (each run has its own seed)
    q = serial[serial["variant"] == "Q-learning"]
    assert not q[q.run == 0]["steps"].equals(q[q.run == 1]["steps"].reset_index(drop=True))


@pytest.mark.parametrize("workers", [1, 2])
def test_process_backend_equals_serial(serial, workers):
    results = rl.run_experiment(EXPERIMENT, backend="process", workers=workers, progress=False)
    pd.testing.assert_frame_equal(results, serial)


def test_own_agent_in_process_workers_equals_in_process(serial):
    # the class lives in an importable module, so the worker processes unpickle it
    results = rl.run_experiment(EXPERIMENT, backend=ProcessBackend(2), progress=False)
    mine = results[results["variant"] == "mine"]
    assert len(mine) == 3 * 40 and mine["visits"].notna().all()
    pd.testing.assert_frame_equal(results, serial)


@pytest.fixture(scope="module")
def ray_session():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_backend_equals_serial(serial, ray_session):
    # two of the three runs keep the cost of Ray's workers down; run r's seed does not depend
    # on the number of runs, so they equal the first two serial runs
    results = rl.run_experiment(EXPERIMENT.replace(runs=2), backend="ray", progress=False)
    expected = serial[serial["run"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(results, expected)
    assert ray_session.is_initialized()  # an existing session is used, not shut down


def test_make_backend_errors():
    with pytest.raises(UnknownNameError, match="serial"):
        make_backend("threads")
    with pytest.raises(rl.errors.ConfigError, match="ray backend only"):
        make_backend("process", address="auto")
    assert isinstance(make_backend("ray", address="auto"), RayBackend)
