"""Every backend gives the same DataFrame for the same experiment and seed; own agents run too;
workers that raise, die or are interrupted end the experiment cleanly."""

from __future__ import annotations

import importlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from misbehaving_agents import Constant, ExitsProcess, Raises, WaitsForParent
from own_agents import RunningMeanAgent

import rlladder as rl
from rlladder.errors import UnknownNameError
from rlladder.experiments import backends
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


@pytest.mark.parametrize("progress", [False, True])
def test_ray_backend_equals_serial(serial, ray_session, progress):
    # two of the three runs keep the cost of Ray's workers down; run r's seed does not depend
    # on the number of runs, so they equal the first two serial runs
    results = rl.run_experiment(EXPERIMENT.replace(runs=2), backend="ray", progress=progress)
    expected = serial[serial["run"] < 2].reset_index(drop=True)
    pd.testing.assert_frame_equal(results, expected)
    assert ray_session.is_initialized()  # an existing session is used, not shut down


def test_a_run_that_raises_on_ray_reaches_the_caller_as_itself(ray_session):
    exp = EXPERIMENT.replace(variants={"raises": rl.Variant(Raises, at=5)}, runs=1)
    with pytest.raises(rl.ConfigError, match=r"^Raises: step 5 is not allowed$"):
        rl.run_experiment(exp, backend="ray", progress=False)
    # with progress: the same error, and the progress actor is gone
    with pytest.raises(rl.ConfigError, match=r"^Raises: step 5 is not allowed$"):
        rl.run_experiment(exp, backend="ray")
    assert not progress_actors(ray_session)


def progress_actors(ray) -> list[str]:
    names = [actor["name"] for actor in ray.util.list_named_actors(all_namespaces=True)]
    return [name for name in names if name.startswith("rlladder-progress-")]


def test_ray_worker_progress_reaches_the_parent_before_the_run_ends(
    ray_session, tmp_path, monkeypatch
):
    """As for the process backend (tests/test_experiments_progress.py): the run waits until
    the parent's bar has moved, which only a report through the progress actor can do."""
    from test_experiments_progress import RecordingBar, marking_bar

    from rlladder.experiments import progress

    marker = tmp_path / "parent-saw-progress"

    monkeypatch.setattr(RecordingBar, "made", [])
    monkeypatch.setattr(progress, "tqdm", marking_bar(marker))
    exp = rl.Experiment(
        env="FrozenLake-v1",
        variants={"waits": rl.Variant(WaitsForParent, marker=str(marker))},
        runs=1,
        steps=300,
        max_episode_steps=20,
    )
    results = rl.run_experiment(exp, backend="ray")
    (bar,) = RecordingBar.made
    assert results["saw_marker"].iloc[0] == 0.0 and results["saw_marker"].iloc[-1] == 1.0
    assert any(0 < n < 300 for n in bar.seen) and bar.n == bar.total == 300
    assert bar.seen == sorted(bar.seen)
    assert not progress_actors(ray_session)  # killed when the experiment ended


def test_make_backend_errors():
    with pytest.raises(UnknownNameError, match="serial"):
        make_backend("threads")
    with pytest.raises(rl.errors.ConfigError, match="ray backend only"):
        make_backend("process", address="auto")
    assert isinstance(make_backend("ray", address="auto"), RayBackend)


# ------------------------------------------------------------------ workers that fail or stop
def test_a_run_that_raises_reaches_the_caller_as_itself():
    exp = EXPERIMENT.replace(variants={"raises": rl.Variant(Raises, at=5)}, runs=2)
    with pytest.raises(rl.ConfigError, match=r"^Raises: step 5 is not allowed$"):
        rl.run_experiment(exp, backend="process", workers=2, progress=False)


def test_a_dead_worker_is_one_clear_error_and_finished_runs_are_kept(tmp_path):
    exp = EXPERIMENT.replace(
        variants={"fine": rl.Variant(Constant), "exits": rl.Variant(ExitsProcess)}, runs=1
    )
    with pytest.raises(RuntimeError) as info:
        rl.run_experiment(
            exp, backend=ProcessBackend(1), out=tmp_path, progress=False
        )  # one worker: "fine" finishes first, then "exits" ends the worker
    message = str(info.value)
    assert message.startswith("a worker process died (exit codes {EXIT(1)})")
    assert "out of memory" in message and "os._exit" in message and "backend='serial'" in message
    assert "\n" not in message
    assert [p.name for p in (tmp_path / "runs").glob("*.csv")] == ["00-fine-run0000.csv"]
    # the broken pool is replaced: the next experiment runs
    results = rl.run_experiment(EXPERIMENT.replace(runs=1), backend="process", progress=False)
    assert len(results) == 3 * 40


def test_the_pool_is_reused_until_a_source_file_changes(tmp_path, monkeypatch):
    module = tmp_path / "edited_agent.py"
    source = (
        "import rlladder as rl\n\n"
        "class Fixed(rl.Agent):\n"
        "    def act(self, obs, *, explore=True):\n"
        "        return {action}\n\n"
        "    def learn(self, t):\n"
        "        return {{'action': float(t.action)}}\n"
    )
    module.write_text(source.format(action=1))
    monkeypatch.syspath_prepend(str(tmp_path))
    import edited_agent

    exp = rl.Experiment(
        env="FrozenLake-v1", variants={"fixed": rl.Variant(edited_agent.Fixed)}, runs=2, episodes=3
    )
    first = rl.run_experiment(exp, backend="process", workers=2, progress=False)
    pool = backends._process_pool(2, 1)
    assert backends._process_pool(2, 1) is pool  # unchanged sources: the same workers again
    # edit the module (as an editor and %autoreload would) and run the same experiment again
    module.write_text(source.format(action=2))
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    importlib.reload(edited_agent)
    exp = exp.replace(variants={"fixed": rl.Variant(edited_agent.Fixed)})
    second = rl.run_experiment(exp, backend="process", workers=2, progress=False)
    assert set(first["action"]) == {1.0} and set(second["action"]) == {2.0}
    assert backends._process_pool(2, 1) is not pool


CTRL_C_SCRIPT = """
import os
import sys
from pathlib import Path

import rlladder as rl
from misbehaving_agents import Slow
from test_experiments_backends import running

out = Path(sys.argv[1])
pids = out / "pids"
experiment = rl.Experiment(
    env="FrozenLake-v1",
    variants={"fast": rl.Variant(Slow), "slow": rl.Variant(Slow, delay=0.01, pid_dir=str(pids))},
    runs=2,
    episodes=200,
    max_episode_steps=20,
    seed=0,
)
blocks = []
if PROGRESS:  # remember the progress channel's shared-memory block, to check it is unlinked
    from rlladder.experiments import backends

    opened = backends.open_shared_memory
    backends.open_shared_memory = lambda n: blocks.append(opened(n)) or blocks[-1]
try:
    rl.run_experiment(
        experiment, backend="process", workers=2, out=out / "results", progress=PROGRESS
    )
except KeyboardInterrupt:
    alive = [pid.name for pid in pids.iterdir() if running(int(pid.name))]
    (out / "interrupted.txt").write_text(" ".join(alive))
    from multiprocessing import shared_memory

    for block in blocks:
        try:
            shared_memory.SharedMemory(name=block.memory.name).close()
        except FileNotFoundError:
            (out / "unlinked.txt").write_text(block.memory.name)
    sys.exit(130)
"""


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (Linux: from /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+[ZX]", status, re.M)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads process states in /proc")
@pytest.mark.parametrize(
    "to, progress", [("terminal", False), ("kernel", False), ("terminal", True)]
)
def test_ctrl_c_keeps_finished_runs_and_stops_the_workers(tmp_path, to, progress):
    """Ctrl-C in a terminal signals the whole process group; a notebook's interrupt only the
    kernel. Either way the parent raises KeyboardInterrupt, after saving what had finished, and
    no worker is left running; with a progress bar, its shared memory is unlinked too."""
    (tmp_path / "pids").mkdir()
    script = tmp_path / "script.py"
    script.write_text(f"PROGRESS = {progress}\n" + CTRL_C_SCRIPT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], env=env, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not (list(tmp_path.glob("results/runs/*.csv")) and list(tmp_path.glob("pids/*"))):
            assert child.poll() is None, "the experiment ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        if to == "terminal":
            os.killpg(child.pid, signal.SIGINT)
        else:
            child.send_signal(signal.SIGINT)
        assert child.wait(timeout=60) == 130
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
    assert (tmp_path / "interrupted.txt").read_text() == ""  # no worker alive when it returned
    assert (tmp_path / "unlinked.txt").exists() == progress
    workers = [int(p.name) for p in (tmp_path / "pids").iterdir()]
    assert workers and not any(running(pid) for pid in workers)
    saved = sorted(p.name for p in tmp_path.glob("results/runs/*.csv"))
    assert saved and all("fast" in name for name in saved)  # only the fast runs had finished
    for path in tmp_path.glob("results/runs/*.csv"):
        assert len(pd.read_csv(path)) == 200  # each saved run is whole
