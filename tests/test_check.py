"""rl.check_agent: the broken-agent family fails exactly its named checks, every built-in agent
passes everything that applies to it, the time-limit probe tells bootstrapping from `done`, and
bad input gets a one-line error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from broken_agents import BROKEN, TableQ, TimeLimitIsTermination

import rlladder as rl
from rlladder.check import CHECKS

NAMES = [c.name for c in CHECKS]
TABULAR = ["q-learning", "sarsa", "expected-sarsa", "ps"]
DQN = ["dqn-vanilla", "dqn-replay", "dqn-target", "dqn", "double-dqn", "dueling-dqn", "nstep-dqn"]


def statuses(report: rl.CheckReport) -> dict[str, str]:
    return dict(zip(report.table["check"], report.table["status"], strict=True))


def row(report: rl.CheckReport, check: str) -> pd.Series:
    return report.table.set_index("check").loc[check]


# -- the checker can fail ---------------------------------------------------------------------
@pytest.mark.parametrize("cls", list(BROKEN), ids=lambda c: c.__name__)
def test_each_broken_agent_fails_exactly_its_named_checks(cls):
    report = rl.check_agent(cls)
    assert set(report.failed) == BROKEN[cls]
    assert not report.passed
    failed = report.table[report.table["status"] == "failed"]
    assert (failed["hint"].str.len() > 20).all()  # every failure names the likely bug
    skipped = report.table[report.table["status"] == "skipped"]
    for detail in skipped["detail"]:  # a skip says why: a failed prerequisite, or no save()
        assert any(f"fix {name} first" in detail for name in BROKEN[cls]) or "save()" in detail


def test_the_correct_member_of_the_family_passes_everything():
    report = rl.check_agent(TableQ)
    assert report.passed and report.failed == []
    assert statuses(report) == {**dict.fromkeys(NAMES, "passed"), "save and load": "skipped"}
    assert row(report, "save and load")["detail"].startswith(
        "rl.Agent's default save() cannot save this agent (CheckpointError: TableQ.save cannot save "
        "attribute 'q'"
    )


def test_the_hints_name_the_bug():
    hints = {cls.__name__: rl.check_agent(cls).table["hint"].str.cat() for cls in BROKEN}
    assert (
        "Q([-1]) and Q([+1]) are equal: the network is not reading its input"
        in hints["IgnoresObservation"]
    )
    assert (
        "Q([0]) = 1.00 where the time limit should have bootstrapped: your target uses `done`"
        in (hints["TimeLimitIsTermination"])
    )
    assert "does not bootstrap" in hints["NoBootstrap"]
    assert "ignores the action taken" in hints["IgnoresAction"]
    assert "wrong sign" in hints["WrongSign"]
    assert "did not move from its start" in hints["NeverLearns"]
    assert "drew from self.rng" in hints["GreedyDrawsRandom"]


@pytest.mark.parametrize("gamma", [0.9, 0.99, 0.995])
def test_the_time_limit_probe_tells_bootstrapping_from_done(gamma):
    def correct(env, seed):
        return TableQ(env.observation_space, env.action_space, seed=seed, gamma=gamma)

    def done_bug(env, seed):
        return TimeLimitIsTermination(
            env.observation_space, env.action_space, seed=seed, gamma=gamma
        )

    good, bad = rl.check_agent(correct), rl.check_agent(done_bug)
    assert good.passed and row(good, "probe 6 time limit")["status"] == "passed"
    assert bad.failed == ["probe 6 time limit"]
    assert "Q([0]) = 1.00 after" in row(bad, "probe 6 time limit")["detail"]
    assert f"(gamma {gamma:g}:" in row(good, "probe 6 time limit")["detail"]


@pytest.mark.slow
@pytest.mark.parametrize("gamma", [0.9, 0.99, 0.995])
def test_the_time_limit_probe_tells_a_dqn_from_one_whose_target_uses_done(gamma):
    from rlladder.check.targets import PROBE_SETTINGS

    class DoneDQN(rl.DQN):
        def learn(self, t):
            return super().learn(t._replace(terminated=t.done))  # the bug, in one place

    settings = {**PROBE_SETTINGS["rlladder.deep.dqn:DQN"], "gamma": gamma}

    def factory(cls):
        return lambda env, seed: cls(env.observation_space, env.action_space, seed=seed, **settings)

    good, bad = rl.check_agent(factory(rl.DQN)), rl.check_agent(factory(DoneDQN))
    assert good.passed, str(good)
    assert bad.failed == ["probe 6 time limit"]
    assert "your target uses `done`, not `terminated`" in row(bad, "probe 6 time limit")["hint"]


# -- built-in agents pass -----------------------------------------------------------------------
def test_every_built_in_agent_is_checked_here():
    from rlladder.presets import load_families

    built_in = {name for family in load_families() for name in family.agents}
    assert built_in == set(TABULAR + DQN) and built_in <= set(rl.list_agents())


@pytest.mark.parametrize("name", TABULAR)
def test_every_tabular_agent_passes_on_the_tabular_twins(name):
    report = rl.check_agent(name)
    assert report.passed, str(report)
    assert report.table["probe"].str.startswith("TabularProbe").all()
    passed = set(report.table.loc[report.table["status"] == "passed", "check"])
    if name == "ps":  # no action values: behaviour checks only, and the table says why
        assert passed == set(NAMES) - {
            n for n in NAMES if n.startswith("probe") and "greedy" not in n
        }
        assert row(report, "probe 3 values")["detail"].startswith(
            "no value check: ProjectiveSimulation has no action values"
        )
    else:
        assert passed == set(NAMES)


@pytest.mark.slow
@pytest.mark.parametrize("name", DQN)
def test_every_dqn_rung_passes_everything(name):
    report = rl.check_agent(name)
    assert report.passed, str(report)
    assert statuses(report) == dict.fromkeys(NAMES, "passed")


# -- what an agent gets checked with --------------------------------------------------------------
class NeedsDiscrete(TableQ):
    """A table sized by ``observation_space.n``, as a student's tabular agent is."""

    def __init__(self, observation_space, action_space, **kwargs):
        super().__init__(observation_space, action_space, **kwargs)
        self.n_states = observation_space.n


class IndexesByObservation(TableQ):
    """A table with a row per state, indexed by the observation itself: builds on a Box
    observation, but cannot act on one."""

    def __init__(self, observation_space, action_space, **kwargs):
        super().__init__(observation_space, action_space, **kwargs)
        self.table = np.zeros((2, action_space.n))

    def values(self, obs):
        return self.table[obs]

    def learn(self, t):
        self.update(self.table[t.obs], t.action, self.target(t))
        return {}


@pytest.mark.parametrize("cls", [NeedsDiscrete, IndexesByObservation], ids=lambda c: c.__name__)
def test_an_agent_that_needs_discrete_observations_gets_the_tabular_twins(cls):
    report = rl.check_agent(cls)
    assert report.passed, str(report)
    assert report.table["probe"].tolist()[-1] == "TabularProbe6"


class NoValues(TableQ):
    q_values = rl.Agent.q_values  # raises NotImplementedError


class NoValuesNeverLearns(NoValues):
    def learn(self, t):
        return {}


def test_an_agent_without_q_values_gets_behaviour_checks_and_is_told_why():
    report = rl.check_agent(NoValues)
    assert report.passed
    assert row(report, "probe 4 greedy")["status"] == "passed"
    assert row(report, "probe 1 value")["detail"] == (
        "no value check: NoValues does not expose q_values(obs) (define it to get value checks)"
    )
    broken = rl.check_agent(NoValuesNeverLearns)
    assert broken.failed == ["probe 4 greedy"]
    assert row(broken, "probe 5 greedy")["detail"] == "fix probe 4 greedy first"
    assert "does not learn which action is rewarded" in row(broken, "probe 4 greedy")["hint"]


class NoGamma(TableQ):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.discount = self.__dict__.pop("gamma")

    def target(self, t):
        return t.reward + (0.0 if t.terminated else self.discount * self.values(t.next_obs).max())


def test_without_a_discount_the_checks_that_need_one_say_to_pass_gamma():
    report = rl.check_agent(NoGamma)
    assert report.passed
    for check in ("probe 3 values", "probe 6 time limit"):
        assert row(report, check)["status"] == "skipped"
        assert "pass gamma=" in row(report, check)["detail"]
    assert rl.check_agent(NoGamma, gamma=0.9).failed == []
    assert row(rl.check_agent(NoGamma, gamma=0.9), "probe 3 values")["status"] == "passed"
    wrong = rl.check_agent(NoGamma, gamma=0.5)  # the agent discounts by 0.9
    assert wrong.failed == ["probe 3 values"]


class LearnReturnsNone(TableQ):
    def learn(self, t):
        super().learn(t)


class ActReturnsFloat(TableQ):
    def act(self, obs, *, explore=True):
        return float(super().act(obs, explore=explore))


class CountsGreedySteps(TableQ):
    def act(self, obs, *, explore=True):
        self.calls = getattr(self, "calls", 0) + 1
        return super().act(obs, explore=explore)


class GlobalRandom(TableQ):
    def act(self, obs, *, explore=True):
        if explore:
            return int(np.random.randint(self.action_space.n))  # noqa: NPY002 - the bug
        return super().act(obs, explore=False)


class SaveForgets(TableQ):
    def save(self, path):
        Path(path).write_text("nothing")

    @classmethod
    def load(cls, path):
        import gymnasium as gym

        env = gym.make("rlladder/Probe5-v0")
        return cls(env.observation_space, env.action_space, seed=1)


@pytest.mark.parametrize(
    "cls, failed, words",
    [
        (LearnReturnsNone, ["learn returns dict"], "learn() returned None"),
        (ActReturnsFloat, ["valid action"], "act() returned"),
        (CountsGreedySteps, ["greedy is pure"], "changed state_dict()['calls']"),
        (GlobalRandom, ["same seed same history"], "the histories differ"),
        (SaveForgets, ["save and load"], "after the round trip"),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_the_interface_checks_catch_their_bug(cls, failed, words):
    report = rl.check_agent(cls)
    assert report.failed == failed
    assert words in row(report, failed[0])["detail"]
    if failed[0] in ("valid action", "learn returns dict"):  # nothing else can be trusted
        rest = report.table[~report.table["check"].isin(["valid action", "learn returns dict"])]
        assert set(rest["status"]) == {"skipped"}


def test_built_in_save_and_load_round_trip_is_checked():
    assert row(rl.check_agent("q-learning"), "save and load")["status"] == "passed"


# -- the report -------------------------------------------------------------------------------------
def test_the_report_table_dict_and_text():
    report = rl.check_agent(TimeLimitIsTermination)
    table = report.table
    assert list(table.columns) == [
        "check",
        "probe",
        "ability",
        "status",
        "passed",
        "detail",
        "hint",
    ]
    assert table["check"].tolist() == NAMES
    assert str(table["passed"].dtype) == "boolean"
    assert table.loc[table["status"] == "skipped", "passed"].isna().all()
    assert table.loc[table["status"] == "failed", "passed"].tolist() == [False]
    data = json.loads(json.dumps(report.to_dict()))
    assert data["agent"] == "TimeLimitIsTermination" and data["passed"] is False
    assert [c["passed"] for c in data["checks"]].count(None) == 1  # save and load
    text = str(report)
    assert text.splitlines()[0] == (
        "check_agent('TimeLimitIsTermination'): FAILED (11 passed, 1 failed, 1 skipped)"
    )
    assert all(name in text for name in NAMES) and "probe 6 time limit" in text


def test_the_same_check_twice_gives_the_same_table():
    pd.testing.assert_frame_equal(rl.check_agent(TableQ).table, rl.check_agent(TableQ).table)


# -- bad input: one line ------------------------------------------------------------------------------
class NotAnAgent:
    pass


class Abstract(rl.Agent):
    def act(self, obs, *, explore=True):
        return 0


class RaisesInAct(TableQ):
    def act(self, obs, *, explore=True):
        raise ValueError("the student's own error")


class RaisesOnProbe3(TableQ):
    def learn(self, t):
        if t.reward == 0.0 and not t.done:  # only probe 3's first step looks like this
            raise RuntimeError("no bootstrap for you")
        return super().learn(t)


@pytest.mark.parametrize(
    "target, error, message",
    [
        (NotAnAgent, TypeError, "test_check.NotAnAgent, which does not subclass rl.Agent"),
        (
            TableQ(rl.envs.Probe1().observation_space, rl.envs.Probe1().action_space),
            TypeError,
            "pass its class",
        ),
        (Abstract, TypeError, "Abstract does not implement learn()"),
        (42, TypeError, "a factory f(env, seed) -> Agent; got 42"),
        (lambda env, seed: "agent", TypeError, "returned 'agent', not an rl.Agent"),
        ("dqm", rl.UnknownNameError, "unknown agent 'dqm' (did you mean 'dqn'?)"),
        (
            RaisesInAct,
            rl.AgentCheckError,
            "RaisesInAct raised ValueError: the student's own error in act() on probe "
            "'rlladder/Probe5-v0'",
        ),
        (
            RaisesOnProbe3,
            rl.AgentCheckError,
            "RaisesOnProbe3 raised RuntimeError: no bootstrap for you in learn() on probe "
            "'rlladder/Probe3-v0'",
        ),
    ],
    ids=["not-an-agent", "an-instance", "abstract", "a-number", "factory", "name", "act", "learn"],
)
def test_bad_input_gets_a_one_line_error(target, error, message):
    with pytest.raises(error) as info:
        rl.check_agent(target)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_an_agent_that_cannot_be_built_says_its_error_once():
    class Broken(TableQ):
        def __init__(self, *args, **kwargs):
            raise KeyError("hidden_size")

    with pytest.raises(rl.AgentCheckError) as info:
        rl.check_agent(Broken)
    assert str(info.value) == (
        "Broken raised KeyError: 'hidden_size' in __init__() on probe 'rlladder/Probe5-v0'"
    )


def test_a_tabular_agent_that_raises_in_act_gets_its_own_error_first():
    """Built on the twin (its table needs a Discrete space), it fails in act: that error is the
    agent's own, and the Box probe's unrelated constructor error is not in front of it."""

    class TabularRaises(rl.Agent):
        def __init__(self, observation_space, action_space, *, seed=None):
            super().__init__(observation_space, action_space, seed=seed)
            self.q = np.zeros((observation_space.n, action_space.n))

        def act(self, obs, *, explore=True):
            return 1 // 0

        def learn(self, transition):
            return {}

    with pytest.raises(rl.AgentCheckError) as info:
        rl.check_agent(TabularRaises)
    assert str(info.value) == (
        "TabularRaises raised ZeroDivisionError: integer division or modulo by zero in act() on "
        "probe 'rlladder/TabularProbe5-v0'"
    )
