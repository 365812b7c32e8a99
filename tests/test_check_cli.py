"""``rlladder check TARGET`` and ``rlladder run`` of your own agent, as a student runs them: the
installed ``rlladder`` command, in a folder of their own that holds ``my_agent.py``, outside the
package. Exit 0 when every check passes, 1 when one fails, 2 on bad input (one line)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import rlladder as rl

ROOT = Path(__file__).resolve().parents[1]

# A student's file, outside the package: tabular Q-learning, the same with a bug, and two mistakes.
MY_AGENT = """
import numpy as np

import rlladder as rl


class MyQ(rl.Agent):
    \"\"\"Tabular Q-learning, as a student writes it.\"\"\"

    def __init__(self, observation_space, action_space, *, seed=None, eta=0.5, gamma=0.9,
                 epsilon=0.2):
        super().__init__(observation_space, action_space, seed=seed)
        self.eta, self.gamma, self.epsilon = eta, gamma, epsilon
        self.q = np.zeros((observation_space.n, action_space.n))

    def q_values(self, obs):
        return self.q[obs]

    def act(self, obs, *, explore=True):
        if explore and self.rng.random() < self.epsilon:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.q[obs]))

    def learn(self, t):
        target = t.reward + (0.0 if t.terminated else self.gamma * self.q[t.next_obs].max())
        self.q[t.obs, t.action] += self.eta * (target - self.q[t.obs, t.action])
        return {"q_sa": float(self.q[t.obs, t.action])}


class DoneQ(MyQ):
    \"\"\"The same, with the bug of two of the course's four seed texts: a time limit ends it.\"\"\"

    def learn(self, t):
        return super().learn(t._replace(terminated=t.terminated or t.truncated))


class NotAnAgent:
    \"\"\"A class that forgot to subclass rl.Agent.\"\"\"


class Raises(rl.Agent):
    \"\"\"Divides by zero when it acts (on any observation space).\"\"\"

    def act(self, obs, *, explore=True):
        return 1 // 0

    def learn(self, t):
        return {}
"""


def rlladder_command() -> str:
    """The installed console script (not ``python -m rlladder``, which finds the current folder
    by itself)."""
    found = shutil.which("rlladder", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("the rlladder console script is not installed beside this Python")
    return found


def rlladder(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``rlladder ARGS`` run in ``folder``, importing this checkout's rlladder."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [rlladder_command(), *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith("rlladder: error: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stderr
    return done.stderr


@pytest.fixture
def course(tmp_path) -> Path:
    """A student's folder: ``my_agent.py`` and nothing else."""
    (tmp_path / "my_agent.py").write_text(MY_AGENT)
    return tmp_path


# ------------------------------------------------------------------------------- rlladder run
def test_run_a_toml_that_names_my_agent_from_its_folder(course):
    """The installed command imports ``my_agent`` from the current folder, as ``python -m``
    does, and so do its worker processes; the file form names the same class (its workers get it
    by value), so both variants learn the same numbers."""
    (course / "exp.toml").write_text(
        textwrap.dedent(
            """
            name = "mine"
            env = "FrozenLake-v1"
            runs = 2
            episodes = 6
            seed = 2
            [variants.module]
            agent = "my_agent:MyQ"
            epsilon = 0.5
            [variants.file]
            agent = "my_agent.py:MyQ"
            epsilon = 0.5
            """
        )
    )
    done = rlladder(course, "run", "exp.toml", "--workers", "2", "--quiet", "--no-plot")
    assert done.returncode == 0, done.stderr
    assert "mine: 2 variants x 2 runs x 6 episodes (process backend)" in done.stdout
    results = rl.load_results(course / "results" / "mine")
    module, file = (
        results[results["variant"] == label].drop(columns="variant").reset_index(drop=True)
        for label in ("module", "file")
    )
    assert len(module) == 2 * 6 and module["q_sa"].notna().all()
    pd.testing.assert_frame_equal(module, file)


def test_run_names_the_folder_it_searched_for_a_module_that_is_not_there(course):
    (course / "exp.toml").write_text(
        'env = "FrozenLake-v1"\nepisodes = 2\n[variants.mine]\nagent = "mydqn:MyDQN"\n'
    )
    assert_one_line_error(
        rlladder(course, "run", "exp.toml", "--backend", "serial", "--quiet"),
        "cannot import agent 'mydqn:MyDQN'",
        f"no module 'mydqn' in the current folder ({course})",
    )


# ----------------------------------------------------------------------------- rlladder check
def students_class(name: str) -> type[rl.Agent]:
    """The class ``name`` of MY_AGENT, defined here, to check in this process."""
    namespace: dict = {"__name__": "students_file"}
    exec(MY_AGENT, namespace)
    return namespace[name]


def test_check_a_file_and_a_module_from_the_students_folder(course):
    """``my_agent.py:MyQ`` and ``my_agent:MyQ`` check the same class: exit 0, the table on
    stdout, and ``--json`` the report that ``rl.check_agent`` returns in Python."""
    done = rlladder(course, "check", "my_agent.py:MyQ", "--json", "report.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("check_agent('MyQ'): PASSED (")
    expected = rl.check_agent(students_class("MyQ"))
    assert done.stdout == f"{expected}\n"
    assert json.loads((course / "report.json").read_text()) == expected.to_dict()

    done = rlladder(course, "check", "my_agent:MyQ", "--json", "-")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected.to_dict()  # stdout: the JSON alone
    assert done.stderr == f"{expected}\n"  # the table goes to stderr


def test_a_failed_check_exits_1_and_names_it_with_its_hint(course):
    done = rlladder(course, "check", "my_agent.py:DoneQ", "--json", "report.json", "--gamma", "0.9")
    assert done.returncode == 1, done.stderr
    assert done.stdout.startswith("check_agent('DoneQ'): FAILED (")
    report = json.loads((course / "report.json").read_text())
    assert report["agent"] == "DoneQ" and report["passed"] is False
    failed = [row for row in report["checks"] if row["status"] == "failed"]
    assert [row["check"] for row in failed] == ["probe 6 time limit"]
    assert failed[0]["passed"] is False
    assert "your target uses `done`, not `terminated`" in failed[0]["hint"]
    assert failed[0]["hint"] in done.stdout
    skipped = [row for row in report["checks"] if row["status"] == "skipped"]
    assert all(row["passed"] is None and row["detail"] for row in skipped)


@pytest.mark.parametrize(
    "target, words",
    [
        (
            "mydqn:MyDQN",
            ["cannot import agent 'mydqn:MyDQN': no module 'mydqn' in the current folder ({})"],
        ),
        ("agents/mydqn.py:MyDQN", ["no file 'mydqn.py' in {}/agents"]),
        ("my_agent.py:MyDQN", ["my_agent.py has no 'MyDQN'"]),
        ("my_agent.py:NotAnAgent", ["the class NotAnAgent, which does not subclass rl.Agent"]),
        (
            "my_agent.py:Raises",
            [
                "Raises raised ZeroDivisionError: integer division or modulo by zero in act() on "
                "probe 'rlladder/Probe5-v0'"
            ],
        ),
        ("dqm", ["unknown agent 'dqm' (did you mean 'dqn'?)", "'path/to/file.py:Name'"]),
    ],
    ids=["no module", "no file", "no class", "not an agent", "raises in act", "unknown name"],
)
def test_bad_input_exits_2_with_one_line(course, target, words):
    done = rlladder(course, "check", target, "--json", "report.json")
    assert_one_line_error(done, *(word.format(course) for word in words))
    assert done.stdout == "" and not (course / "report.json").exists()


# ------------------------------------------------------------------------- the page's tables
CHECK_PAGE = ROOT / "docs" / "check-your-agent.md"


@pytest.mark.slow
def test_the_pages_dqn_tables_are_what_the_checker_prints():
    """ "Check your agent" pastes the checker's output for its my_dqn.py: it is still that."""
    text = CHECK_PAGE.read_text(encoding="utf-8").split("## A correct DQN and a broken one")[1]
    code = re.findall(r"```python\n(.*?)```", text, re.S)[0]
    good, bad = re.findall(r"```text\n(.*?)\n```", text, re.S)[:2]
    namespace: dict = {"__name__": "my_dqn"}
    exec(code, namespace)
    assert str(rl.check_agent(namespace["MyDQN"])) == good
    assert str(rl.check_agent(namespace["DoneDQN"])) == bad
