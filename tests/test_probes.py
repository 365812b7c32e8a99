"""Probe environments: registered with gymnasium on import, valid, and doing what they say."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlladder  # noqa: F401 - importing rlladder registers the probes
from rlladder.envs import (
    PROBE_EXPECTATIONS,
    expected_q_values,
    probe_observation,
    time_limit_floor,
)

IDS = [f"rlladder/Probe{i}-v0" for i in range(1, 7)]
TWINS = [f"rlladder/TabularProbe{i}-v0" for i in range(1, 7)]


@pytest.mark.parametrize("env_id", IDS + TWINS)
def test_passes_gymnasium_env_checker(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)


def test_importing_rlladder_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, rlladder, gymnasium; gymnasium.make('rlladder/Probe1-v0'); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def play(env_id: str, actions: list[int], seed: int) -> list[tuple]:
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    out = [(np.asarray(obs).tolist(),)]
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((np.asarray(obs).tolist(), r, term, trunc))
        if term or trunc:
            break
    return out


def test_probe_dynamics():
    assert play(IDS[0], [0], 0) == [([0.0],), ([0.0], 1.0, True, False)]
    for seed in range(6):
        (first,), (_, r, term, trunc) = play(IDS[1], [0], seed)
        assert r == first[0] in (-1.0, 1.0) and term and not trunc
        (first,), (_, r, *_) = play(IDS[4], [1], seed)
        assert r == (1.0 if first[0] == 1.0 else -1.0)
    assert play(IDS[2], [0, 0], 0) == [
        ([0.0],),
        ([1.0], 0.0, False, False),
        ([1.0], 1.0, True, False),
    ]
    assert play(IDS[3], [0], 0)[-1][1] == -1.0 and play(IDS[3], [1], 0)[-1][1] == 1.0


def test_the_time_limit_probe_truncates_and_never_terminates():
    assert play(IDS[5], [0, 0], 0) == [([0.0],), ([0.0], 1.0, False, True)]
    assert gym.make(IDS[5]).spec.max_episode_steps == 1


@pytest.mark.parametrize("probe", range(1, 7))
def test_each_tabular_twin_plays_its_probe_with_state_indices(probe):
    for seed in range(4):
        for actions in ([0, 0], [1, 1]):
            if actions[0] >= gym.make(IDS[probe - 1]).action_space.n:
                continue
            box, twin = play(IDS[probe - 1], actions, seed), play(TWINS[probe - 1], actions, seed)
            as_state = [
                (probe_observation(probe, step[0], tabular=True), *step[1:]) for step in box
            ]
            assert twin == as_state
    assert isinstance(gym.make(TWINS[probe - 1]).observation_space, gym.spaces.Discrete)


def test_random_probes_show_both_observations():
    seen = {tuple(gym.make(IDS[1]).reset(seed=s)[0].tolist()) for s in range(20)}
    assert seen == {(-1.0,), (1.0,)}


def test_time_limit_expectation_and_floor():
    assert expected_q_values(6, 0.99)[0, 0] == pytest.approx(100.0)
    for gamma in (0.1, 0.9, 0.99, 0.995):  # a `done` target's 1 < floor < two backups' 1 + gamma
        assert 1.0 < time_limit_floor(gamma) < 1.0 + gamma


def test_expectations_match_the_chapter():
    assert expected_q_values(3, 0.9).tolist() == [[0.9], [1.0]]
    assert expected_q_values(5, 0.99).tolist() == [[1.0, -1.0], [-1.0, 1.0]]
    assert [tol for _, tol in PROBE_EXPECTATIONS.values()] == [5e-4] * 4 + [1e-3]
    for probe, (obs, _) in PROBE_EXPECTATIONS.items():
        assert np.asarray(obs).shape[0] == expected_q_values(probe, 0.99).shape[0]
