"""An environment captured mid-episode and restored into a fresh one steps exactly as the original."""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import rlladder  # noqa: F401 - registers the probes
from rlladder.envs.env_state import EnvStateError, env_state, env_state_problem, set_env_state
from rlladder.errors import RLLadderError

PROBES = [f"rlladder/Probe{i}-v0" for i in range(1, 7)]
TABULAR_PROBES = [f"rlladder/TabularProbe{i}-v0" for i in range(1, 7)]

#: (env id, gym.make keywords): every environment the module's docstring says is supported
SUPPORTED: list[tuple[str, dict[str, Any]]] = [
    ("CartPole-v1", {}),
    ("CartPole-v1", {"max_episode_steps": 20}),
    ("Acrobot-v1", {}),
    ("MountainCar-v0", {}),
    ("MountainCarContinuous-v0", {}),
    ("Pendulum-v1", {}),
    ("FrozenLake-v1", {}),
    ("FrozenLake-v1", {"is_slippery": False}),
    ("FrozenLake-v1", {"map_name": "8x8"}),
    ("FrozenLake-v1", {"map_name": "8x8", "is_slippery": False}),
    ("FrozenLake-v1", {"is_slippery": False, "max_episode_steps": 99}),
    ("CliffWalking-v1", {"max_episode_steps": 50}),  # no limit of its own: random play walks on
    ("CliffWalking-v1", {"is_slippery": True, "max_episode_steps": 50}),
    ("Taxi-v4", {}),
    ("Blackjack-v1", {}),
    *[(env_id, {}) for env_id in PROBES + TABULAR_PROBES],
]


def round_trip(
    meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Through JSON and an .npz read without pickle, as a checkpoint file holds them."""
    meta = json.loads(json.dumps(meta, allow_nan=False))  # strict JSON
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer, allow_pickle=False) as data:
        return meta, {name: data[name] for name in data.files}


def assert_same(a: Any, b: Any) -> None:
    """Equal values of equal types (arrays by dtype and content, containers item by item)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), (a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b), (a, b)
        for key in a:
            assert_same(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), (a, b)
        for x, y in zip(a, b, strict=True):
            assert_same(x, y)
    else:
        assert a == b, (a, b)


def seeded(env_id: str, kwargs: dict[str, Any], seed: int) -> tuple[gym.Env, Any]:
    """A made environment with seeded spaces, reset with ``seed``."""
    env = gym.make(env_id, **kwargs)
    env.action_space.seed(seed)
    env.observation_space.seed(seed + 1)
    obs, _ = env.reset(seed=seed)
    return env, obs


def play_until_mid_episode(env: gym.Env, steps: int) -> int:
    """Random steps (unseeded resets after each end), then on until an episode is under way
    (for one-step probes: just after a reset); returns how many episodes ended."""
    ends, t = 0, 0
    while True:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        t += 1
        if terminated or truncated:
            ends += 1
            env.reset()
            if t >= steps:
                return ends
        elif t >= steps:
            return ends


def step_side_by_side(a: gym.Env, b: gym.Env, steps: int) -> int:
    """Step both with the same actions, resetting both unseeded after each end; everything
    they give (and their spaces' samples) must be the same. Returns how many episodes ended."""
    ends = 0
    for _ in range(steps):
        assert_same(a.observation_space.sample(), b.observation_space.sample())
        action = a.action_space.sample()
        assert_same(action, b.action_space.sample())
        result_a, result_b = a.step(action), b.step(action)
        assert_same(result_a, result_b)
        if result_a[2] or result_a[3]:
            ends += 1
            assert_same(a.reset(), b.reset())
    return ends


@pytest.mark.parametrize(("env_id", "kwargs"), SUPPORTED, ids=lambda x: str(x) if x else "")
def test_a_restored_env_steps_and_resets_exactly_as_the_original(env_id, kwargs):
    a, _ = seeded(env_id, kwargs, seed=11)
    horizon = (a.spec.max_episode_steps or 100) + 20  # long enough for an episode to end
    ended_before = play_until_mid_episode(a, horizon)
    assert ended_before >= 1  # the capture comes after an unseeded reset
    assert env_state_problem(a) is None
    meta, arrays = round_trip(*env_state(a))

    b, _ = seeded(env_id, kwargs, seed=99)  # its own seeds: the state must replace all of them
    b.step(b.action_space.sample())
    set_env_state(b, meta, arrays)
    ends = step_side_by_side(a, b, horizon)
    assert ends >= 1
    # the constants came back as the same types: tuples as tuples, int-keyed dicts, bytes maps
    assert_same(vars(a.unwrapped).get("P"), vars(b.unwrapped).get("P"))
    assert_same(vars(a.unwrapped).get("desc"), vars(b.unwrapped).get("desc"))
    assert_same(vars(a.unwrapped).get("reward_range"), vars(b.unwrapped).get("reward_range"))


def test_a_freshly_made_env_that_was_never_reset_takes_the_state():
    a, _ = seeded("FrozenLake-v1", {}, seed=3)
    play_until_mid_episode(a, 40)
    meta, arrays = round_trip(*env_state(a))
    b = gym.make("FrozenLake-v1")  # not reset: no position, no order-enforcing flag yet
    set_env_state(b, meta, arrays)
    step_side_by_side(a, b, 300)


def test_the_tree_keeps_types_json_would_change():
    a, _ = seeded("FrozenLake-v1", {"map_name": "8x8"}, seed=0)
    a.step(1)
    meta, arrays = round_trip(*env_state(a))
    b = gym.make("FrozenLake-v1", map_name="8x8")
    set_env_state(b, meta, arrays)
    lake = b.unwrapped
    assert lake.desc.dtype == np.dtype("S1") and lake.desc.shape == (8, 8)
    assert all(type(key) is int for key in lake.P) and type(lake.P[0][0][0]) is tuple
    assert type(lake.reward_range) is tuple
    assert type(lake.s) is type(a.unwrapped.s) and lake.s == a.unwrapped.s
    assert set(arrays) == {"3.desc", "3.initial_state_distrib"}


def test_a_random_map_comes_back_as_the_original_one():
    kwargs = {"desc": None, "map_name": None}  # FrozenLake draws a new 8x8 map when made
    a, _ = seeded("FrozenLake-v1", kwargs, seed=5)
    play_until_mid_episode(a, 50)
    b = gym.make("FrozenLake-v1", **kwargs)
    set_env_state(b, *round_trip(*env_state(a)))
    assert np.array_equal(a.unwrapped.desc, b.unwrapped.desc)
    step_side_by_side(a, b, 400)


def test_a_time_limit_partway_truncates_at_the_same_step():
    a, _ = seeded("CartPole-v1", {"max_episode_steps": 10}, seed=2)
    for action in (0, 1, 0, 1):
        assert not any(a.step(action)[2:4])
    b = gym.make("CartPole-v1", max_episode_steps=10)
    b.reset(seed=0)
    set_env_state(b, *round_trip(*env_state(a)))
    for t, action in enumerate((0, 1, 0, 1, 0, 1), start=5):
        result_a, result_b = a.step(action), b.step(action)
        assert_same(result_a, result_b)
        assert result_a[3] is (t == 10) and result_a[2] is False
    # the counter restarts for both at the next (unseeded) reset
    assert_same(a.reset(), b.reset())
    step_side_by_side(a, b, 200)


def test_spaces_that_were_never_seeded_stay_unseeded():
    a = gym.make("CartPole-v1")
    a.reset(seed=1)
    assert a.action_space._np_random is None  # env_state must not create one by reading it
    meta, arrays = round_trip(*env_state(a))
    assert a.action_space._np_random is None
    b = gym.make("CartPole-v1")
    b.action_space.seed(4)
    set_env_state(b, meta, arrays)
    assert b.action_space._np_random is None and b.observation_space._np_random is None


def test_the_captured_arrays_do_not_change_as_the_env_goes_on():
    a, _ = seeded("CartPole-v1", {}, seed=1)
    a.step(0)
    _, arrays = env_state(a)
    before = arrays["3.state"].copy()
    a.unwrapped.state[...] = 0.0  # even an environment that writes its arrays in place
    assert np.array_equal(arrays["3.state"], before)


def double(reward: float) -> float:
    return 2.0 * reward


#: gymnasium wrappers whose state is values and whose functions only close over constants
WRAPPERS: dict[str, Any] = {
    "FlattenObservation": lambda: gym.wrappers.FlattenObservation(gym.make("CartPole-v1")),
    "TransformReward": lambda: gym.wrappers.TransformReward(gym.make("CartPole-v1"), double),
    "ClipReward": lambda: gym.wrappers.ClipReward(gym.make("CartPole-v1"), -0.5, 0.5),
    "DtypeObservation": lambda: gym.wrappers.DtypeObservation(gym.make("CartPole-v1"), np.float64),
    "TimeAwareObservation": lambda: gym.wrappers.TimeAwareObservation(gym.make("CartPole-v1")),
    "FrameStackObservation": lambda: gym.wrappers.FrameStackObservation(gym.make("CartPole-v1"), 3),
    "StickyAction": lambda: gym.wrappers.StickyAction(gym.make("CartPole-v1"), 0.25),
    "RescaleAction": lambda: gym.wrappers.RescaleAction(
        gym.make("Pendulum-v1"), np.float32(-0.5), np.float32(0.5)
    ),
    "ClipAction": lambda: gym.wrappers.ClipAction(gym.make("Pendulum-v1")),
}


@pytest.mark.parametrize("name", list(WRAPPERS))
def test_gymnasiums_value_wrappers_are_restored_too(name):
    a = WRAPPERS[name]()
    a.action_space.seed(1)
    a.observation_space.seed(2)
    a.reset(seed=3)
    assert play_until_mid_episode(a, 220) >= 1
    b = WRAPPERS[name]()
    set_env_state(b, *round_trip(*env_state(a)))
    assert step_side_by_side(a, b, 220) >= 1


def test_episode_statistics_are_restored_all_but_the_wall_clock():
    def make() -> gym.Env:
        return gym.wrappers.RecordEpisodeStatistics(gym.make("CartPole-v1"), buffer_length=5)

    a = make()
    a.action_space.seed(1)
    a.reset(seed=3)
    play_until_mid_episode(a, 100)
    b = make()
    set_env_state(b, *round_trip(*env_state(a)))
    assert b.return_queue == a.return_queue and b.return_queue.maxlen == 5
    for _ in range(300):
        action = a.action_space.sample()
        result_a, result_b = a.step(action), b.step(action)
        assert_same(result_a[:4], result_b[:4])
        if result_a[2] or result_a[3]:
            episode_a, episode_b = result_a[4]["episode"], result_b[4]["episode"]
            assert (episode_a["r"], episode_a["l"]) == (episode_b["r"], episode_b["l"])
            assert_same(a.reset(), b.reset())


class ValuesEnv(gym.Env):
    """Every kind of value env_state keeps, set to one of two variants."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, variant: int = 0) -> None:
        shared = np.arange(3.0) + variant
        self.floats = [float("nan"), float("inf"), -0.0, 0.1 + variant]
        self.scalars = (np.float32(1.5 + variant), np.int8(-3), np.bool_(True), np.str_("ab"))
        self.odd_scalars = [np.float64("-inf"), np.bytes_(b"xy"), np.complex64(1 + 2j * variant)]
        self.big = 2**70 + variant
        self.raw = bytes([variant, 255])
        self.keys = {(1, "a"): {2: [None, True]}, np.int64(7): "seven", "s": variant}
        self.queue = deque([1, 2, variant], maxlen=4)
        self.dtype = np.dtype("float32" if variant == 0 else "int16")
        self.shared, self.same_array = shared, shared  # one array held twice
        self.arrays = [np.array([b"S", b"F"], dtype="S1"), np.zeros((2, 2), dtype=np.uint8)]
        self.rngs = [np.random.default_rng(variant)]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        return 0, 0.0, False, False, {}


def test_every_kind_of_value_comes_back_as_it_was():
    a = ValuesEnv(0)
    a.rngs[0].random(3)
    meta, arrays = round_trip(*env_state(a))
    b = ValuesEnv(1)
    set_env_state(b, meta, arrays)
    for name, value in vars(a).items():
        restored = vars(b)[name]
        if name == "floats":
            assert np.isnan(restored[0]) and restored[1:3] == [np.inf, -0.0]
            assert str(restored[2]) == "-0.0" and restored[3] == 0.1
        elif name == "rngs":
            assert restored[0].random() == value[0].random()
        elif name == "queue":
            assert restored == value and restored.maxlen == 4
        else:
            assert_same(value, restored)
    assert b.shared is b.same_array  # held twice, restored once


@pytest.mark.filterwarnings("ignore")
def test_a_rendering_env_is_captured_without_its_window():
    pytest.importorskip("pygame")
    a, _ = seeded("CartPole-v1", {"render_mode": "rgb_array"}, seed=4)
    a.step(0)
    a.render()  # now it holds a pygame surface and clock
    assert env_state_problem(a) is None
    b = gym.make("CartPole-v1", render_mode="rgb_array")
    set_env_state(b, *round_trip(*env_state(a)))
    step_side_by_side(a, b, 5)
    assert np.array_equal(a.render(), b.render())


# ------------------------------------------------------------------------- unsupported envs
class LockedEnv(gym.Env):
    """A tiny environment that holds a lock: nothing env_state can capture as values."""

    observation_space = gym.spaces.Discrete(2)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, holding: Any = None) -> None:
        self.lock = threading.Lock() if holding is None else 0
        if holding is not None:
            self.things = [1, holding]

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        return 0, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        return 0, 0.0, False, False, {}


def test_an_env_holding_an_unknown_object_is_named_and_refused_in_one_line():
    env = gym.wrappers.TimeLimit(LockedEnv(), 5)
    problem = env_state_problem(env)
    assert problem == "LockedEnv: attribute 'lock' of LockedEnv is a _thread.lock"
    with pytest.raises(EnvStateError) as caught:
        env_state(env)
    assert str(caught.value) == problem and "\n" not in problem
    assert isinstance(caught.value, RLLadderError)


def test_an_unknown_object_inside_a_container_is_named_with_its_container():
    problem = env_state_problem(LockedEnv(holding=object()))
    assert problem == "LockedEnv: attribute 'things' of LockedEnv is a list that holds an object"


def test_a_wrapper_with_an_object_of_its_own_or_a_stateful_function_is_refused():
    env = gym.wrappers.NormalizeObservation(gym.make("CartPole-v1"))
    assert env_state_problem(env) == (
        "CartPole-v1: attribute 'obs_rms' of NormalizeObservation is a "
        "gymnasium.wrappers.utils.RunningMeanStd"
    )
    seen: list[float] = []

    def remember(reward: float) -> float:  # a closure over a list it fills: state, not code
        seen.append(reward)
        return reward

    env = gym.wrappers.TransformReward(gym.make("CartPole-v1"), remember)
    assert env_state_problem(env) == (
        "CartPole-v1: attribute 'func' of TransformReward is a function"
    )


def test_an_object_array_is_refused():
    env = gym.make("CartPole-v1")
    env.reset(seed=0)
    env.unwrapped.state = np.array([None, 1.0], dtype=object)
    assert env_state_problem(env) == (
        "CartPole-v1: attribute 'state' of CartPoleEnv is an array of dtype object (Python objects)"
    )


# ----------------------------------------------------------------------------- mismatches
def captured(env_id: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    env, _ = seeded(env_id, kwargs, seed=0)
    env.step(env.action_space.sample())
    return round_trip(*env_state(env))


def test_another_wrapper_chain_is_refused_naming_the_difference():
    meta, arrays = captured("CartPole-v1")
    env = gym.make("CartPole-v1", disable_env_checker=True)
    with pytest.raises(EnvStateError) as caught:
        set_env_state(env, meta, arrays)
    message = str(caught.value)
    assert "\n" not in message
    assert "at position 2: saved gymnasium.wrappers.common.PassiveEnvChecker" in message
    assert "found gymnasium.envs.classic_control.cartpole.CartPoleEnv" in message


def test_another_env_class_is_refused():
    meta, arrays = captured("CartPole-v1")
    with pytest.raises(EnvStateError, match=r"saved .*CartPoleEnv, found .*AcrobotEnv"):
        set_env_state(gym.make("Acrobot-v1"), meta, arrays)


def test_a_missing_time_limit_is_refused():
    meta, arrays = captured("rlladder/Probe1-v0", max_episode_steps=3)
    with pytest.raises(EnvStateError, match=r"at position 0: saved \S+TimeLimit, found \S+Order"):
        set_env_state(gym.make("rlladder/Probe1-v0"), meta, arrays)


def test_other_spaces_are_refused():
    meta, arrays = captured("FrozenLake-v1")
    with pytest.raises(EnvStateError, match=r"observation_space is Discrete\(64\).*Discrete\(16\)"):
        set_env_state(gym.make("FrozenLake-v1", map_name="8x8"), meta, arrays)


def test_a_missing_array_a_damaged_or_a_foreign_tree_is_refused_and_changes_nothing():
    meta, arrays = captured("CartPole-v1")
    env, _ = seeded("CartPole-v1", {}, seed=5)
    before = env.unwrapped.state.copy()
    without_state = {k: v for k, v in arrays.items() if k != "3.state"}
    with pytest.raises(EnvStateError, match="'3.state' is missing"):
        set_env_state(env, meta, without_state)
    damaged = json.loads(json.dumps(meta))
    damaged["chain"][3]["attributes"]["_np_random"]["generator"]["state"] = "x"
    with pytest.raises(EnvStateError, match="damaged"):
        set_env_state(env, damaged, arrays)
    assert np.array_equal(env.unwrapped.state, before)  # half a state is never put in
    with pytest.raises(EnvStateError, match="not an environment state"):
        set_env_state(env, {"chain": []}, arrays)
