"""Issue 28: an agent saved at any step boundary and loaded back continues exactly.

Agent A is trained k steps with the loop's protocol (begin_episode, act, env.step, learn,
end_episode), saved, and B = type(A).load(file); then A and B are driven on two envs seeded
alike, and every action, every learn() diagnostic and the final state must be equal.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import rlladder as rl
from rlladder.deep.dqn import DQN
from rlladder.registry import make_agent
from tests.own_agents import RunningMeanAgent

TABULAR = ["q-learning", "sarsa", "expected-sarsa", "ps"]
DQN_NAMES = [
    "dqn-vanilla",
    "dqn-replay",
    "dqn-target",
    "dqn",
    "double-dqn",
    "dueling-dqn",
    "nstep-dqn",
]
SMALL_DQN = {"hidden_sizes": (8,), "learning_starts": 20, "batch_size": 8}


class Driver:
    """One env and the position of the loop in it: steps one (act, step, learn) at a time."""

    def __init__(self, env: gym.Env, seed: int) -> None:
        self.env, self.obs, self.seed = env, None, seed

    def step(self, agent: rl.Agent, log: list[Any]) -> None:
        if self.obs is None:
            agent.begin_episode()
            self.obs, _ = self.env.reset(seed=self.seed)
            self.seed = None
        action = agent.act(self.obs)
        nxt, r, term, trunc, _ = self.env.step(action)
        diag = agent.learn(rl.Transition(self.obs, action, float(r), nxt, term, trunc))
        log.append((action, dict(diag)))
        self.obs = nxt
        if term or trunc:
            agent.end_episode()
            self.obs = None

    def run_to(self, agent: rl.Agent, steps: int, *, boundary: bool) -> None:
        """``steps`` steps, then on to the next episode end if ``boundary``, else to mid-episode."""
        log: list[Any] = []
        for _ in range(steps):
            self.step(agent, log)
        while (self.obs is not None) if boundary else (self.obs is None):
            self.step(agent, log)


def frozen_lake() -> gym.Env:
    return gym.make("FrozenLake-v1", is_slippery=True, map_name="4x4")


def cart_pole() -> gym.Env:
    return gym.make("CartPole-v1", max_episode_steps=60)


def check_continuation(
    agent: rl.Agent, make_env: Any, tmp_path: Path, *, k: int, more: int, boundary: bool
) -> rl.Agent:
    env_a = make_env()
    driver_a = Driver(env_a, seed=3)
    driver_a.run_to(agent, k, boundary=boundary)
    path = tmp_path / "agent.ckpt"
    agent.save(path)
    twin = type(agent).load(path)
    with_env = type(agent).load(path, env=make_env())
    # B's env: a copy of A's env in its current state (toy-text/classic envs deep-copy exactly)
    drivers = [copy.deepcopy(driver_a) for _ in range(2)]
    logs: list[list[Any]] = [[], [], []]
    for _ in range(more):
        driver_a.step(agent, logs[0])
        drivers[0].step(twin, logs[1])
        drivers[1].step(with_env, logs[2])
    if isinstance(agent, DQN):
        assert any(diag for _, diag in logs[0]), "no DQN update after the reload"
    assert logs[1] == logs[0]
    assert logs[2] == logs[0]
    return twin


def assert_same_dqn(a: DQN, b: DQN) -> None:
    for x, y in [(a.q_net, b.q_net)] + ([(a.target_net, b.target_net)] if a.target_net else []):
        sa, sb = x.state_dict(), y.state_dict()
        assert sa.keys() == sb.keys()
        assert all(torch.equal(sa[key], sb[key]) for key in sa)
    oa, ob = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert oa["param_groups"] == ob["param_groups"]
    for key in oa["state"]:
        for name, v in oa["state"][key].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(ob["state"][key][name]))
    assert (a.steps_done, a.episodes_done, a.updates_done) == (
        b.steps_done,
        b.episodes_done,
        b.updates_done,
    )
    assert a.epsilon == b.epsilon
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    ba, bb = a.buffer.state_dict(), b.buffer.state_dict()
    for key in ba:
        assert np.array_equal(np.asarray(ba[key]), np.asarray(bb[key])), key


@pytest.fixture(autouse=True)
def one_thread() -> Any:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.mark.parametrize("boundary", [True, False], ids=["episode-end", "mid-episode"])
@pytest.mark.parametrize("name", TABULAR)
@pytest.mark.filterwarnings("ignore::rlladder.errors.UntunedWarning")
def test_tabular_agent_continues_exactly(name: str, boundary: bool, tmp_path: Path) -> None:
    env = frozen_lake()
    agent = make_agent(name, env, seed=5)
    twin = check_continuation(agent, frozen_lake, tmp_path, k=150, more=400, boundary=boundary)
    checked = 0
    for attr in ("q", "h_matrix", "glow_matrix"):
        if hasattr(agent, attr):
            assert np.array_equal(getattr(agent, attr), getattr(twin, attr)), attr
            checked += 1
    assert checked
    assert agent.rng.bit_generator.state == twin.rng.bit_generator.state


@pytest.mark.parametrize("boundary", [True, False], ids=["episode-end", "mid-episode"])
@pytest.mark.parametrize("name", DQN_NAMES)
def test_dqn_rung_continues_exactly(name: str, boundary: bool, tmp_path: Path) -> None:
    env = cart_pole()
    agent = make_agent(name, env, seed=5, **SMALL_DQN)
    twin = check_continuation(agent, cart_pole, tmp_path, k=60, more=150, boundary=boundary)
    assert_same_dqn(agent, twin)


@pytest.mark.parametrize(
    "options",
    [
        {"target": "soft", "tau": 0.1},
        {"learning_rate": {"kind": "linear", "start": 1e-3, "end": 1e-4, "duration": 200}},
        {"epsilon": rl.ExponentialSchedule(1.0, 0.05, decay=0.8, unit="episode")},
        {"n_step": 3, "double": True, "dueling": True, "train_every": 2, "gradient_steps": 2},
        {"buffer_size": 50, "n_step": 2, "optimizer": "rmsprop", "max_grad_norm": 1.0},
        {"loss": "mse", "optimizer": "sgd", "gamma": 0.9, "pcg64dxsm": True},
    ],
    ids=[
        "soft-target",
        "lr-schedule",
        "episode-epsilon",
        "nstep-double-dueling",
        "ring-wraps",
        "mse-sgd-pcg64dxsm",
    ],
)
def test_dqn_options_continue_exactly(options: dict[str, Any], tmp_path: Path) -> None:
    options = dict(options)
    dxsm = options.pop("pcg64dxsm", False)
    agent = DQN(
        cart_pole().observation_space, cart_pole().action_space, seed=2, **SMALL_DQN, **options
    )
    if dxsm:  # a generator of the other PCG kind, shared with the buffer, comes back as one
        agent.rng = agent.buffer.rng = np.random.Generator(np.random.PCG64DXSM(2))
    twin = check_continuation(agent, cart_pole, tmp_path, k=70, more=150, boundary=False)
    assert_same_dqn(agent, twin)
    assert twin.buffer.rng is twin.rng


@pytest.mark.filterwarnings("ignore::rlladder.errors.UntunedWarning")
@pytest.mark.parametrize("name", ["q-learning", "sarsa"])
def test_tabular_schedules_continue_exactly(name: str, tmp_path: Path) -> None:
    env = frozen_lake()
    epsilon = rl.ExponentialSchedule(1.0, 0.05, decay=0.9, unit="episode")
    eta = {"kind": "linear", "start": 0.5, "end": 0.05, "duration": 600}
    agent = make_agent(name, env, seed=7, epsilon=epsilon, eta=eta)
    twin = check_continuation(agent, frozen_lake, tmp_path, k=150, more=400, boundary=False)
    assert np.array_equal(agent.q, twin.q)
    assert (agent.steps_done, agent.episodes_done) == (twin.steps_done, twin.episodes_done)


@pytest.mark.parametrize(
    "options", [{"policy": "softmax", "beta": 2.0}, {"gamma": 0.01, "eta": 0.2}]
)
def test_ps_variants_continue_exactly(options: dict[str, Any], tmp_path: Path) -> None:
    env = frozen_lake()
    agent = make_agent("ps", env, seed=6, **options)
    twin = check_continuation(agent, frozen_lake, tmp_path, k=150, more=400, boundary=False)
    checked = 0
    for attr in ("h_matrix", "glow_matrix"):
        if hasattr(agent, attr):
            assert np.array_equal(getattr(agent, attr), getattr(twin, attr)), attr
            checked += 1
    assert checked


@pytest.mark.parametrize("boundary", [True, False], ids=["episode-end", "mid-episode"])
@pytest.mark.parametrize("bits", [None, np.random.PCG64DXSM], ids=["pcg64", "pcg64dxsm"])
def test_student_agent_continues_exactly(boundary: bool, bits: Any, tmp_path: Path) -> None:
    env = frozen_lake()
    agent = RunningMeanAgent(env.observation_space, env.action_space, seed=4)
    if bits is not None:  # a generator of the other PCG kind comes back of that kind
        agent.rng = np.random.Generator(bits(4))
    twin = check_continuation(agent, frozen_lake, tmp_path, k=100, more=300, boundary=boundary)
    assert np.array_equal(agent.q, twin.q) and np.array_equal(agent.n, twin.n)


@pytest.mark.parametrize("seed", [np.int64(3), np.random.SeedSequence(8)], ids=["int64", "seq"])
def test_dqn_seeded_with_numpy_values_continues_exactly(seed: Any, tmp_path: Path) -> None:
    # a seed taken from a numpy array (as experiment runners do) once made the file unloadable
    # with weights_only=True; the generator's state is what the file needs
    agent = DQN(cart_pole().observation_space, cart_pole().action_space, seed=seed, **SMALL_DQN)
    twin = check_continuation(agent, cart_pole, tmp_path, k=40, more=100, boundary=False)
    assert_same_dqn(agent, twin)


@pytest.mark.filterwarnings("ignore::rlladder.errors.UntunedWarning")
@pytest.mark.parametrize(
    "name, options",
    [
        ("q-learning", {"exploration": "noisy-argmax", "initial_value": 0.5}),
        ("sarsa", {"exploration": "noisy-argmax"}),
        (
            "expected-sarsa",
            {"epsilon": {"kind": "linear", "start": 1, "end": 0.1, "duration": 300}},
        ),
    ],
    ids=["q-noisy-argmax", "sarsa-noisy-argmax", "expected-sarsa-linear-epsilon"],
)
def test_tabular_options_continue_exactly(
    name: str, options: dict[str, Any], tmp_path: Path
) -> None:
    agent = make_agent(name, frozen_lake(), seed=9, **options)
    twin = check_continuation(agent, frozen_lake, tmp_path, k=150, more=400, boundary=False)
    assert np.array_equal(agent.q, twin.q)
    assert agent.rng.bit_generator.state == twin.rng.bit_generator.state


@pytest.mark.filterwarnings("ignore::rlladder.errors.UntunedWarning")
@pytest.mark.parametrize("name", ["q-learning", "sarsa", "ps"])
def test_binned_agent_continues_exactly(name: str, tmp_path: Path) -> None:
    bounds = [(-2.4, 2.4), (-3.0, 3.0), (-0.21, 0.21), (-3.0, 3.0)]
    agent = make_agent(name, cart_pole(), seed=1, bins=(3, 3, 6, 6), bounds=bounds)
    twin = check_continuation(agent, cart_pole, tmp_path, k=100, more=300, boundary=False)
    table = "q" if hasattr(agent, "q") else "h_matrix"
    assert np.array_equal(getattr(agent, table), getattr(twin, table))
    assert agent.rng.bit_generator.state == twin.rng.bit_generator.state


class FirstVisitMonteCarlo(rl.Agent):
    """A student's Monte Carlo agent: its episode so far is a list of (state, action, reward)
    tuples and first visits are found by tuple membership, so a tuple that came back a list
    would silently count every visit; ``best`` starts at -inf."""

    def __init__(self, observation_space: Any, action_space: Any, *, seed: Any = None) -> None:
        super().__init__(observation_space, action_space, seed=seed)
        self.q = np.zeros((observation_space.n, action_space.n))
        self.n = np.zeros_like(self.q)
        self.episode: list[tuple[int, int, float]] = []
        self.visited: list[tuple[int, int]] = []  # (state, action) pairs seen this episode
        self.best = -float("inf")

    def act(self, obs: Any, *, explore: bool = True) -> int:
        if explore and self.rng.random() < 0.3:
            return int(self.rng.integers(self.action_space.n))
        return int(np.argmax(self.q[obs]))

    def learn(self, transition: rl.Transition) -> dict[str, float]:
        pair = (int(transition.obs), int(transition.action))
        first = pair not in self.visited  # a list in place of the tuple would never match
        if first:
            self.visited.append(pair)
        self.episode.append((*pair, transition.reward if first else 0.0))
        if not (transition.terminated or transition.truncated):
            return {}
        g, updates = 0.0, 0
        for t in reversed(range(len(self.episode))):
            s, a, r = self.episode[t]
            g = 0.9 * g + r
            if (s, a) not in [(x, y) for x, y, _ in self.episode[:t]]:
                self.n[s, a] += 1
                self.q[s, a] += (g - self.q[s, a]) / self.n[s, a]
                updates += 1
        self.best = max(self.best, g)
        self.episode, self.visited = [], []
        return {"first_visits": float(updates), "best": self.best}


@pytest.mark.parametrize("boundary", [True, False], ids=["episode-end", "mid-episode"])
def test_student_agent_with_tuples_and_infinity_continues_exactly(
    boundary: bool, tmp_path: Path
) -> None:
    env = frozen_lake()
    agent = FirstVisitMonteCarlo(env.observation_space, env.action_space, seed=2)
    agent.best = -float("inf")
    twin = check_continuation(agent, frozen_lake, tmp_path, k=3, more=400, boundary=boundary)
    assert np.array_equal(agent.q, twin.q) and np.array_equal(agent.n, twin.n)
    assert twin.episode == agent.episode and twin.visited == agent.visited


@pytest.mark.slow
@pytest.mark.parametrize("name", DQN_NAMES)
def test_dqn_rung_with_its_preset_continues_exactly_for_long(name: str, tmp_path: Path) -> None:
    # the preset's own network and batch sizes, saved mid-episode after many updates
    agent = make_agent(name, gym.make("CartPole-v1"), seed=11, learning_starts=100)
    twin = check_continuation(agent, cart_pole, tmp_path, k=600, more=600, boundary=False)
    assert_same_dqn(agent, twin)


@pytest.mark.filterwarnings("ignore::rlladder.errors.UntunedWarning")
@pytest.mark.parametrize("name", ["sarsa", "ps"])
def test_tabular_agent_with_a_pcg64dxsm_generator_continues_exactly(
    name: str, tmp_path: Path
) -> None:
    agent = make_agent(name, frozen_lake(), seed=3)
    agent.rng = np.random.Generator(np.random.PCG64DXSM(3))
    twin = check_continuation(agent, frozen_lake, tmp_path, k=150, more=300, boundary=False)
    assert isinstance(twin.rng.bit_generator, np.random.PCG64DXSM)
    assert agent.rng.bit_generator.state == twin.rng.bit_generator.state
