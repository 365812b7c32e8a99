"""Checkpoints: spaces and generators as plain values, tabular save / load that resumes exactly,
and one-line refusals of files that are not rlladder checkpoints (never running their code)."""

from __future__ import annotations

import collections
import copy
import functools
import json
import os
import pickle
import zipfile

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlladder as rl
from rlladder import checkpoints
from rlladder.errors import CheckpointError

CARTPOLE_BOUNDS = [(-2.4, 2.4), (-3.0, 3.0), (-0.21, 0.21), (-3.5, 3.5)]


# ------------------------------------------------------------------------ spaces, generators
@pytest.mark.parametrize(
    "space",
    [
        spaces.Discrete(5, start=2),
        gym.make("CartPole-v1").observation_space,  # float32, with infinite bounds
        spaces.Box(0, 255, shape=(2, 3), dtype=np.uint8),
        spaces.MultiDiscrete([3, 4], start=[1, -2]),
        spaces.MultiBinary([2, 3]),
        gym.make(
            "Blackjack-v1"
        ).observation_space,  # Tuple(Discrete(32), Discrete(11), Discrete(2))
        spaces.Dict({"pos": spaces.Discrete(4), "vel": spaces.Box(-1.0, 1.0, shape=(2,))}),
    ],
    ids=lambda s: type(s).__name__,
)
def test_every_space_the_agents_take_round_trips_through_json(space):
    saved = checkpoints.space_to_dict(space)
    rebuilt = checkpoints.space_from_dict(json.loads(json.dumps(saved)))
    assert rebuilt == space
    assert rebuilt.dtype == space.dtype


def test_an_unknown_space_asks_for_the_env():
    saved = checkpoints.space_to_dict(spaces.Text(5))
    with pytest.raises(CheckpointError, match=r"pass the environment: DQN.load\(path, env\)"):
        checkpoints.space_from_dict(saved, loader="DQN.load")


def test_the_generator_state_round_trips_through_json():
    rng = np.random.default_rng(7)
    rng.random(5)
    saved = json.loads(json.dumps(checkpoints.rng_state(rng)))
    expected = rng.random(10)
    other = np.random.default_rng(0)
    checkpoints.set_rng_state(other, saved)
    np.testing.assert_array_equal(other.random(10), expected)


# ------------------------------------------------------------------ tabular save and resume
def play(agent, env, obs, steps):
    """``steps`` steps of act / learn from ``obs`` (episodes restart); actions and the last obs."""
    actions = []
    for _ in range(steps):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.learn(rl.Transition(obs, action, reward, next_obs, terminated, truncated))
        actions.append(action)
        obs = next_obs
        if terminated or truncated:
            agent.end_episode()
            obs, _ = env.reset()
            agent.begin_episode()
    return actions, obs


def save_mid_episode_and_resume(agent, env, tmp_path, name):
    """Train, stop in the middle of an episode, save, load; both go on from the same env state."""
    rl.train(agent, env, episodes=30, seed=0)
    obs, _ = env.reset(seed=1)
    agent.begin_episode()
    _, obs = play(agent, env, obs, 3)  # now mid-episode: SARSA holds its next action, PS glows
    path = tmp_path / name
    agent.save(path)
    loaded = type(agent).load(path)
    twin = copy.deepcopy(env)  # the same env state and random stream
    first, _ = play(agent, env, obs, 400)
    second, _ = play(loaded, twin, obs, 400)
    assert first == second
    return loaded


@pytest.mark.parametrize(
    "hyperparameters",
    [
        {"target": "q-learning", "exploration": "noisy-argmax"},
        {
            "target": "sarsa",
            "epsilon": {"kind": "linear", "start": 1.0, "end": 0.1, "duration": 50},
        },
        {
            "target": "expected-sarsa",
            "eta": {"kind": "exponential", "start": 0.5, "end": 0.05, "decay": 0.99},
        },
    ],
    ids=["q-learning", "sarsa", "expected-sarsa"],
)
def test_q_learning_saved_mid_training_acts_and_learns_like_the_original(tmp_path, hyperparameters):
    env = gym.make("FrozenLake-v1", is_slippery=True, max_episode_steps=40)
    agent = rl.QLearning(env.observation_space, env.action_space, seed=3, **hyperparameters)
    loaded = save_mid_episode_and_resume(agent, env, tmp_path, "q.npz")
    np.testing.assert_array_equal(loaded.q, agent.q)
    assert loaded.hyperparameters() == agent.hyperparameters()
    assert (loaded.steps_done, loaded.episodes_done) == (agent.steps_done, agent.episodes_done)
    assert loaded.rng.random() == agent.rng.random()


@pytest.mark.parametrize("policy", ["linear", "softmax"])
def test_ps_saved_mid_episode_acts_and_learns_like_the_original(tmp_path, policy):
    env = gym.make("FrozenLake-v1", is_slippery=False, max_episode_steps=40)
    agent = rl.ProjectiveSimulation(
        env.observation_space, env.action_space, seed=2, policy=policy, gamma=0.01, eta=0.2
    )
    loaded = save_mid_episode_and_resume(agent, env, tmp_path, "ps.npz")
    np.testing.assert_array_equal(loaded.h_matrix, agent.h_matrix)
    np.testing.assert_array_equal(loaded.glow_matrix, agent.glow_matrix)
    assert agent.h_matrix.max() > 1.0  # it did learn something worth saving


def test_a_binned_agent_loads_binning_the_same_way(tmp_path):
    env = gym.make("CartPole-v1")
    agent = rl.QLearning(
        env.observation_space, env.action_space, seed=0, bins=[3, 4, 5, 6], bounds=CARTPOLE_BOUNDS
    )
    rl.train(agent, env, episodes=20, seed=0)
    agent.save(tmp_path / "binned.npz")
    loaded = rl.QLearning.load(tmp_path / "binned.npz")  # the spaces, too, come from the file
    assert loaded.observation_space == env.observation_space
    rng = np.random.default_rng(0)
    observations = rng.uniform(-4, 4, size=(500, 4)).astype(np.float32)
    assert [loaded.adapter(o) for o in observations] == [agent.adapter(o) for o in observations]
    for o in observations[:50]:
        np.testing.assert_array_equal(loaded.q_values(o), agent.q_values(o))


def test_a_box_binned_within_its_own_bounds_and_a_tuple_space_load(tmp_path):
    env = gym.make("MountainCar-v0")  # a bounded Box: bins= alone
    agent = rl.ProjectiveSimulation(env.observation_space, env.action_space, seed=0, bins=7)
    agent.h_matrix[:] = np.arange(agent.h_matrix.size).reshape(agent.h_matrix.shape)
    agent.save(tmp_path / "car.npz")
    loaded = rl.ProjectiveSimulation.load(tmp_path / "car.npz")
    obs = env.observation_space.sample()
    assert loaded.adapter(obs) == agent.adapter(obs)
    np.testing.assert_array_equal(loaded.q_values(obs), agent.q_values(obs))
    blackjack = gym.make("Blackjack-v1")
    q = rl.QLearning(blackjack.observation_space, blackjack.action_space, seed=0)
    q.q[:] = np.random.default_rng(0).random(q.q.shape)
    q.save(tmp_path / "blackjack.npz")
    back = rl.QLearning.load(tmp_path / "blackjack.npz")
    assert back.observation_space == blackjack.observation_space
    np.testing.assert_array_equal(back.q_values((14, 10, 1)), q.q_values((14, 10, 1)))


def test_a_tabular_checkpoint_is_plain_arrays_written_at_the_given_path(tmp_path):
    env = gym.make("FrozenLake-v1")
    agent = rl.QLearning(env.observation_space, env.action_space, seed=0)
    agent.save(tmp_path / "agent")  # no .npz added
    assert [p.name for p in tmp_path.iterdir()] == ["agent"]
    with np.load(tmp_path / "agent", allow_pickle=False) as data:
        assert sorted(data.files) == ["meta", "q"]
        assert all(data[name].dtype != object for name in data.files)
        meta = json.loads(data["meta"].tobytes())
    assert meta["format"] == "rlladder-checkpoint" and meta["agent"] == "QLearning"
    assert meta["format_version"] == checkpoints.FORMAT_VERSION
    assert meta["rlladder_version"] == rl.__version__


def test_loading_with_an_env_of_another_shape_says_so(tmp_path):
    small = gym.make("FrozenLake-v1")
    agent = rl.QLearning(small.observation_space, small.action_space, seed=0)
    agent.save(tmp_path / "q.npz")
    big = gym.make("FrozenLake-v1", map_name="8x8")
    with pytest.raises(CheckpointError, match=r"shape \(16, 4\).*give \(64, 4\)"):
        rl.QLearning.load(tmp_path / "q.npz", big)
    assert rl.QLearning.load(tmp_path / "q.npz", small).q.shape == (16, 4)


# ---------------------------------------------------------------- files that are not ours
class Evil:
    """Unpickling this would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class MyDict(collections.OrderedDict):
    pass


@pytest.fixture()
def files(tmp_path):
    """One of each kind of file that is not what the loader expects."""
    env = gym.make("FrozenLake-v1")
    marker = tmp_path / "code-ran"
    made = {}

    def write(name, data):
        made[name] = tmp_path / name
        made[name].write_bytes(data)

    write("junk.pt", os.urandom(300))
    write("notes.txt", b"epsilon = 0.1\nthese are my notes\n")
    write("empty.pt", b"")
    write("evil.pkl", pickle.dumps(Evil(marker)))
    made["evil.pt"] = tmp_path / "evil.pt"
    torch.save({"agent": Evil(marker)}, made["evil.pt"])
    made["ordered.pt"] = tmp_path / "ordered.pt"
    torch.save(MyDict(q_net=torch.zeros(2)), made["ordered.pt"])
    made["partial.pt"] = tmp_path / "partial.pt"
    torch.save({"f": functools.partial(os.system, f"touch {marker}")}, made["partial.pt"])
    made["tensor.pt"] = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), made["tensor.pt"])
    made["weights.pt"] = tmp_path / "weights.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), made["weights.pt"])
    made["array.npy"] = tmp_path / "array.npy"
    np.save(made["array.npy"], np.zeros(3))
    made["arrays.npz"] = tmp_path / "arrays.npz"
    np.savez(made["arrays.npz"], q=np.zeros((16, 4)))
    made["q.npz"] = tmp_path / "q.npz"
    rl.QLearning(env.observation_space, env.action_space, seed=0).save(made["q.npz"])
    made["ps.npz"] = tmp_path / "ps.npz"
    rl.ProjectiveSimulation(env.observation_space, env.action_space, seed=0).save(made["ps.npz"])
    made["dqn.pt"] = tmp_path / "dqn.pt"
    rl.make_agent("dqn", env, seed=0, hidden_sizes=(8,)).save(made["dqn.pt"])
    yield made
    assert not marker.exists(), "a loader ran code from a file"


DQN_REFUSALS = {
    "junk.pt": "torch could not read it safely: ",
    "notes.txt": "torch could not read it safely: ",
    "empty.pt": "torch could not read it safely: the file is empty or cut short",
    "evil.pkl": "torch could not read it safely: ",
    "evil.pt": r"it holds a pickled posix.system, and reading that would run code",
    "ordered.pt": r"it holds a pickled test_checkpoints.MyDict, and reading that would run code",
    "partial.pt": r"it holds a pickled functools.partial, and reading that would run code",
    "tensor.pt": "it holds a Tensor, not an agent",
    "weights.pt": "it has no rlladder checkpoint header",
    "array.npy": "torch could not read it safely: ",
}


@pytest.mark.parametrize("name", DQN_REFUSALS)
def test_dqn_load_says_in_one_line_that_a_file_is_not_a_checkpoint(files, name):
    with pytest.raises(CheckpointError) as info:
        rl.DQN.load(files[name])
    message = str(info.value)
    assert message.startswith(f"{str(files[name])!r} is not an rlladder DQN checkpoint (")
    assert DQN_REFUSALS[name].replace("\\", "") in message
    assert "\n" not in message and len(message) < 300 + len(str(files[name]))


TABULAR_REFUSALS = {
    "junk.pt": "not a .npz archive",
    "notes.txt": "not a .npz archive",
    "empty.pt": "the file is empty",
    "evil.pkl": "not a .npz archive",
    "evil.pt": "it is a torch file; DQN checkpoints load with rl.DQN.load",
    "array.npy": "not a .npz archive",
    "arrays.npz": "a .npz archive without rlladder's metadata",
    "dqn.pt": "it is a torch file; DQN checkpoints load with rl.DQN.load",
}


@pytest.mark.parametrize("name", TABULAR_REFUSALS)
@pytest.mark.parametrize("agent", [rl.QLearning, rl.ProjectiveSimulation], ids=lambda c: c.__name__)
def test_tabular_load_says_in_one_line_that_a_file_is_not_a_checkpoint(files, name, agent):
    with pytest.raises(CheckpointError) as info:
        agent.load(files[name])
    message = str(info.value)
    assert message == (
        f"{str(files[name])!r} is not an rlladder {agent.__name__} checkpoint "
        f"({TABULAR_REFUSALS[name]})"
    )


@pytest.mark.parametrize(
    "name, loader, kind",
    [
        ("q.npz", rl.DQN, "QLearning"),
        ("q.npz", rl.ProjectiveSimulation, "QLearning"),
        ("ps.npz", rl.QLearning, "ProjectiveSimulation"),
        ("ps.npz", rl.DQN, "ProjectiveSimulation"),
    ],
)
def test_another_agents_checkpoint_names_the_right_loader(files, name, loader, kind):
    with pytest.raises(CheckpointError) as info:
        loader.load(files[name])
    path = str(files[name])
    assert str(info.value) == (
        f"{path!r} is an rlladder {kind} checkpoint, not a {loader.__name__} one; load it with "
        f"rl.{kind}.load({path!r})"
    )


def test_a_newer_format_asks_to_upgrade(tmp_path):
    env = gym.make("FrozenLake-v1")
    rl.QLearning(env.observation_space, env.action_space, seed=0).save(tmp_path / "q.npz")
    with np.load(tmp_path / "q.npz", allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(arrays.pop("meta").tobytes())
    meta["format_version"] = checkpoints.FORMAT_VERSION + 1
    checkpoints.save_npz(tmp_path / "new.npz", meta, arrays)
    with pytest.raises(CheckpointError, match="upgrade rlladder to load it"):
        rl.QLearning.load(tmp_path / "new.npz")


def test_a_dqn_checkpoint_from_before_headers_still_loads(tmp_path):
    """Format 0: DQN.save before checkpoints had a header, its Box bounds as tensors."""
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0, hidden_sizes=(8,), learning_starts=10)
    rl.train(agent, env, steps=50, seed=0)
    space = env.observation_space
    state = agent.state_dict()
    state["spaces"] = {
        "observation": {
            "kind": "Box",
            "low": torch.from_numpy(np.array(space.low)),
            "high": torch.from_numpy(np.array(space.high)),
            "dtype": str(space.dtype),
        },
        "action": {"kind": "Discrete", "n": 2, "start": 0},
    }
    torch.save(state, tmp_path / "old.pt")
    loaded = rl.DQN.load(tmp_path / "old.pt")
    assert loaded.observation_space == space
    obs = space.sample()
    np.testing.assert_array_equal(loaded.q_values(obs), agent.q_values(obs))


def test_a_dqn_checkpoint_has_a_header_and_only_plain_values(tmp_path):
    env = gym.make("CartPole-v1")
    rl.make_agent("dqn", env, seed=0, hidden_sizes=(8,)).save(tmp_path / "dqn.pt")
    state = torch.load(tmp_path / "dqn.pt", weights_only=True)
    assert state["format"] == "rlladder-checkpoint" and state["agent"] == "DQN"
    assert isinstance(state["spaces"]["observation"]["low"], list)
    assert zipfile.is_zipfile(tmp_path / "dqn.pt")
    assert [p.name for p in tmp_path.iterdir()] == ["dqn.pt"]  # no temporary file left


# -- any agent whose state is plain values: the base rl.Agent's save and load ------------------


def test_your_own_agent_saves_and_loads_and_goes_on_number_for_number(tmp_path):
    from own_agents import RunningMeanAgent

    env = gym.make("FrozenLake-v1", is_slippery=True)
    agent = RunningMeanAgent(env.observation_space, env.action_space, seed=3, epsilon=0.3)
    rl.train(agent, env, episodes=40, seed=1)
    path = tmp_path / "mine.npz"
    agent.save(path)
    loaded = RunningMeanAgent.load(path)
    assert type(loaded) is RunningMeanAgent and loaded.epsilon == 0.3 and loaded.seed == 3
    np.testing.assert_array_equal(loaded.q, agent.q)
    np.testing.assert_array_equal(loaded.n, agent.n)
    assert loaded.observation_space == env.observation_space
    # both go on from here exactly alike: same tables, same generator
    ours = rl.train(agent, gym.make("FrozenLake-v1", is_slippery=True), episodes=30, seed=2)
    theirs = rl.train(loaded, gym.make("FrozenLake-v1", is_slippery=True), episodes=30, seed=2)
    assert ours.equals(theirs)
    np.testing.assert_array_equal(loaded.q, agent.q)
    with open(path, "rb") as handle:
        assert b"cnumpy" not in handle.read()  # nothing pickled
    with pytest.raises(CheckpointError, match="is an rlladder RunningMeanAgent checkpoint"):
        rl.QLearning.load(path)


def test_plain_values_tensors_and_generators_round_trip(tmp_path):
    class Holder(rl.Agent):
        def __init__(self, observation_space, action_space, *, seed=None, width=2):
            super().__init__(observation_space, action_space, seed=seed)
            self.width = width
            self.sizes = (1, 2)
            self.table = {"a": [1.5, None], "b": "text"}
            self.weights = torch.arange(6.0).reshape(2, 3).requires_grad_()
            self.count = np.int64(7)
            self.noise = np.random.default_rng(9)

        def act(self, obs, *, explore=True):
            return 0

        def learn(self, transition):
            return {}

    env = gym.make("CartPole-v1")
    agent = Holder(env.observation_space, env.action_space, seed=1, width=5)
    agent.noise.random(3)
    agent.save(tmp_path / "h.npz")
    back = Holder.load(tmp_path / "h.npz")
    assert back.width == 5 and back.sizes == (1, 2) and back.table == agent.table
    assert torch.equal(back.weights, agent.weights) and back.weights.requires_grad
    assert back.count == 7 and back.noise.random() == agent.noise.random()
    assert back.rng.random() == agent.rng.random()


def test_an_attribute_that_cannot_be_saved_is_named_in_one_line(tmp_path):
    from own_agents import RunningMeanAgent

    env = gym.make("FrozenLake-v1")
    agent = RunningMeanAgent(env.observation_space, env.action_space, seed=0)
    agent.net = torch.nn.Linear(2, 2)
    with pytest.raises(CheckpointError) as info:
        agent.save(tmp_path / "x.npz")
    assert str(info.value) == (
        "RunningMeanAgent.save cannot save attribute 'net': it is a "
        "torch.nn.modules.linear.Linear, not a plain value, array, CPU tensor or numpy generator; "
        "keep such state in those, or give RunningMeanAgent its own save and load"
    )
    assert not (tmp_path / "x.npz").exists()
