"""One rule for naming your own code in a string: ``module:Name`` imports from the current folder
first, ``path/to/file.py:Name`` imports that file; everything that takes such a string uses it,
and a target that does not import is a one-line error that says where it looked."""

from __future__ import annotations

import sys
import textwrap

import gymnasium as gym
import pandas as pd
import pytest

import rlladder as rl
from rlladder.errors import ConfigError, UnknownNameError
from rlladder.registry import agent_target
from rlladder.user_code import FILE_MODULE_PREFIX, resolve_target

AGENT = '''
import numpy as np

import rlladder as rl
{extra}

class Bandit(rl.Agent):
    """A running average of the immediate reward per state and action, epsilon-greedy."""

    def __init__(self, observation_space, action_space, *, seed=None, epsilon=0.3):
        super().__init__(observation_space, action_space, seed=seed)
        self.epsilon = epsilon
        self.q = np.zeros((observation_space.n, action_space.n))

    def act(self, obs, *, explore=True):
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.q[obs]))

    def learn(self, t):
        self.q[t.obs, t.action] += 0.5 * (t.reward - self.q[t.obs, t.action])
        return {{"q_sa": float(self.q[t.obs, t.action]) + OFFSET}}
'''


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """Run in ``tmp_path`` with this test's own copy of ``sys.path``, and forget the modules it
    imported."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield tmp_path
    for name in list(sys.modules):  # the students' modules this test wrote and imported
        if name.startswith(("uc_", FILE_MODULE_PREFIX + "uc_")):
            del sys.modules[name]


def write_agent(path, extra: str = "OFFSET = 0.0") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENT.format(extra=extra))


def test_a_module_in_the_current_folder_imports_and_the_folder_goes_first_on_the_path(isolated):
    write_agent(isolated / "uc_beside.py")
    cls = resolve_target("uc_beside:Bandit", "agent")
    assert issubclass(cls, rl.Agent) and cls.__module__ == "uc_beside"
    assert sys.path[0] == str(isolated)  # as `python -m rlladder` has it; workers get it too
    assert resolve_target("uc_beside:Bandit.act", "agent") is cls.act  # a dotted name


def test_a_file_imports_by_path_once_and_can_import_the_modules_beside_it(isolated, monkeypatch):
    write_agent(isolated / "course" / "uc_file.py", extra="from uc_helper import OFFSET")
    (isolated / "course" / "uc_helper.py").write_text("OFFSET = 0.25\n")
    monkeypatch.chdir(isolated / "course")
    cls = resolve_target("uc_file.py:Bandit", "agent")
    monkeypatch.chdir(isolated)
    again = resolve_target("course/uc_file.py:Bandit", "agent")
    assert again is cls  # the same file, the same module: one class
    assert cls.__module__.startswith(FILE_MODULE_PREFIX + "uc_file_")
    assert sys.modules[cls.__module__].OFFSET == 0.25
    # a file of the same name elsewhere is another module
    write_agent(isolated / "other" / "uc_file.py")
    assert resolve_target("other/uc_file.py:Bandit", "agent") is not cls


@pytest.mark.parametrize("backend", ["process", pytest.param("ray", marks=pytest.mark.slow)])
def test_a_file_target_runs_on_every_backend_as_on_serial(isolated, backend):
    """The workers cannot import the file by its sys.modules name: its classes go by value."""
    if backend == "ray":
        pytest.importorskip("ray")
    write_agent(isolated / "agents" / "uc_worker.py", extra="OFFSET = 1.0")
    exp = rl.Experiment(
        env="FrozenLake-v1",
        variants={"file": rl.Variant("agents/uc_worker.py:Bandit", epsilon=0.5)},
        runs=2,
        episodes=8,
        seed=4,
    )
    serial = rl.run_experiment(exp, backend="serial", progress=False)
    other = rl.run_experiment(exp, backend=backend, workers=2, progress=False)
    pd.testing.assert_frame_equal(other, serial)
    assert (serial["q_sa"] >= 1.0).all()  # the file's own OFFSET, in every run
    assert exp.to_dict()["variants"]["file"]["agent"] == "agents/uc_worker.py:Bandit"


def test_a_toml_names_a_module_beside_it_and_a_file(isolated):
    write_agent(isolated / "uc_toml.py")
    path = isolated / "exp.toml"
    path.write_text(
        textwrap.dedent(
            """
            env = "FrozenLake-v1"
            runs = 2
            episodes = 6
            [variants.module]
            agent = "uc_toml:Bandit"
            [variants.file]
            agent = "uc_toml.py:Bandit"
            """
        )
    )
    results = rl.run_experiment(rl.Experiment.from_toml(path), backend="serial", progress=False)
    module, file = (
        results[results["variant"] == v].drop(columns="variant") for v in ("module", "file")
    )
    pd.testing.assert_frame_equal(module.reset_index(drop=True), file.reset_index(drop=True))


def test_a_name_stays_a_name_and_a_class_is_imported():
    assert agent_target("dqn") == "dqn"
    assert agent_target("rlladder.tabular.q_learning:QLearning") is rl.QLearning
    with pytest.raises(
        UnknownNameError,
        match=r"unknown agent 'dqm'.*did you mean 'dqn'.*"
        r"'path/to/file.py:Name'",
    ):
        agent_target("dqm")


def one_line(error: pytest.ExceptionInfo) -> str:
    text = str(error.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_module_that_is_not_there_names_the_folder_searched(isolated):
    with pytest.raises(ConfigError) as error:
        resolve_target("uc_missing:MyDQN", "agent")
    assert one_line(error) == (
        f"cannot import agent 'uc_missing:MyDQN': no module 'uc_missing' in the current folder "
        f"({isolated}) nor among the installed packages; run from the folder that holds "
        "uc_missing.py, or give its path: 'path/to/uc_missing.py:MyDQN'"
    )


def test_a_file_that_is_not_there_names_its_folder(isolated):
    with pytest.raises(ConfigError) as error:
        resolve_target("sub/uc_none.py:MyDQN", "agent")
    assert one_line(error) == (
        f"cannot import agent 'sub/uc_none.py:MyDQN': no file 'uc_none.py' in {isolated / 'sub'}"
    )


def test_a_missing_class_is_named_with_the_closest_one(isolated):
    write_agent(isolated / "uc_typo.py")
    for target in ("uc_typo:Bandt", "uc_typo.py:Bandt"):
        with pytest.raises(ConfigError) as error:
            resolve_target(target, "agent")
        assert one_line(error).endswith("has no 'Bandt' (did you mean 'Bandit'?)")


@pytest.mark.parametrize(
    "source, raised",
    [
        (
            "import numpy as np\n\nx = np.zeros(2)\ny = undefined_name\n",
            "NameError: name 'undefined_name' is not defined (uc_broken.py, line 4)",
        ),
        (
            "class A:\n    def f(self)\n        pass\n",
            "SyntaxError: expected ':' (uc_broken.py, line 2)",
        ),
        (
            "import uc_nowhere_module\n",
            "ModuleNotFoundError: No module named 'uc_nowhere_module' (uc_broken.py, line 1)",
        ),
    ],
)
def test_an_error_inside_the_users_file_is_named_with_its_line(isolated, source, raised):
    (isolated / "uc_broken.py").write_text(source)
    with pytest.raises(ConfigError) as error:
        resolve_target("uc_broken:A", "agent")
    assert (
        one_line(error) == f"cannot import agent 'uc_broken:A': importing uc_broken raised {raised}"
    )
    with pytest.raises(ConfigError) as error:
        resolve_target("uc_broken.py:A", "agent")
    assert one_line(error) == f"cannot import agent 'uc_broken.py:A': uc_broken.py raised {raised}"
    assert not [m for m in sys.modules if m.startswith(FILE_MODULE_PREFIX + "uc_broken")]


@pytest.mark.parametrize("target", ["no_colon", ":Name", "module:"])
def test_a_malformed_target_says_what_would_work(target):
    with pytest.raises(ConfigError, match="must look like 'module:Name'.*'path/to/file.py:Name'"):
        resolve_target(target, "agent")


def test_an_env_factory_in_a_file(isolated):
    (isolated / "uc_envs.py").write_text(
        "import gymnasium as gym\n\ndef lake(**kwargs):\n    return gym.make('FrozenLake-v1', **kwargs)\n"
    )
    exp = rl.Experiment(
        env="uc_envs.py:lake", env_kwargs={"map_name": "8x8"}, variants={"ps": "ps"}, episodes=1
    )
    assert exp.make_env().observation_space.n == 64


def test_a_name_registered_for_a_file_imports_it_on_first_use(isolated):
    from rlladder.registry import registry_state, set_registry_state

    write_agent(isolated / "uc_registered.py", extra="OFFSET = 0.5")
    saved = registry_state()
    try:
        rl.register_agent("uc-registered", "uc_registered.py:Bandit", defaults={"epsilon": 0.0})
        lake = gym.make("FrozenLake-v1")
        agent = rl.make_agent("uc-registered", lake, seed=0)
        assert type(agent).__name__ == "Bandit" and agent.epsilon == 0.0
        assert type(agent) is resolve_target("uc_registered.py:Bandit", "agent")
    finally:
        set_registry_state(saved)
