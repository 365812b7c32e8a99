"""Q-learning, SARSA and expected SARSA: each update rule against numbers worked out by hand."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from gymnasium import spaces

import rlladder as rl
from rlladder.tabular.q_learning import epsilon_greedy_probs, td_target, td_update

OBS, ACT = spaces.Discrete(3), spaces.Discrete(2)


def make(**hp) -> rl.QLearning:
    hp.setdefault("eta", 0.5)
    hp.setdefault("gamma", 0.9)
    return rl.QLearning(OBS, ACT, seed=0, **hp)


def step(s, a, r, s1, terminated=False, truncated=False) -> rl.Transition:
    return rl.Transition(s, a, r, s1, terminated, truncated)


# ------------------------------------------------------------------------- pure functions
def test_td_target_bootstraps_unless_terminated():
    assert td_target(1.0, 2.0, 0.9, terminated=False) == pytest.approx(2.8)
    assert td_target(1.0, 2.0, 0.9, terminated=True) == 1.0


def test_td_update_moves_a_fraction_eta_and_returns_the_error():
    q = np.zeros((2, 2))
    q[0, 1] = 1.0
    error = td_update(q, 0, 1, target=3.0, eta=0.25)
    assert error == 2.0
    assert q[0, 1] == 1.5
    assert q.sum() == 1.5  # nothing else moved


def test_epsilon_greedy_probabilities_share_the_greedy_mass_between_ties():
    np.testing.assert_allclose(epsilon_greedy_probs(np.array([0.5, 2.0]), 0.2), [0.1, 0.9])
    np.testing.assert_allclose(
        epsilon_greedy_probs(np.array([1.0, 1.0, 0.0]), 0.3), [0.45, 0.45, 0.1]
    )


# ------------------------------------------------------------------------- the three targets
def test_q_learning_update_by_hand():
    agent = make()
    agent.q[1] = [0.5, 2.0]
    agent.learn(step(0, 1, 1.0, 1))
    # target = 1 + 0.9 * max(0.5, 2.0) = 2.8;  Q[0,1] = 0 + 0.5 * (2.8 - 0) = 1.4
    assert agent.q[0, 1] == pytest.approx(1.4)
    agent.learn(step(0, 1, 1.0, 1))
    # target 2.8 again;  Q[0,1] = 1.4 + 0.5 * (2.8 - 1.4) = 2.1
    assert agent.q[0, 1] == pytest.approx(2.1)


def test_terminated_does_not_bootstrap_but_truncated_does():
    terminated, truncated, plain = make(), make(), make()
    for agent in (terminated, truncated, plain):
        agent.q[1] = [0.5, 2.0]
    terminated.learn(step(0, 1, 1.0, 1, terminated=True))
    truncated.learn(step(0, 1, 1.0, 1, truncated=True))
    plain.learn(step(0, 1, 1.0, 1))
    assert terminated.q[0, 1] == pytest.approx(0.5)  # target = r = 1
    assert truncated.q[0, 1] == pytest.approx(1.4)  # target = r + gamma * max Q[s'] = 2.8
    assert truncated.q[0, 1] == plain.q[0, 1]


def test_expected_sarsa_update_by_hand():
    agent = make(target="expected-sarsa", epsilon=0.2)
    agent.q[1] = [0.5, 2.0]
    agent.learn(step(0, 1, 1.0, 1))
    # pi(.|s') = [0.1, 0.9];  V(s') = 0.05 + 1.8 = 1.85;  target = 1 + 0.9 * 1.85 = 2.665
    assert agent.q[0, 1] == pytest.approx(0.5 * 2.665)


@pytest.mark.parametrize("seed", range(5))
def test_sarsa_bootstraps_on_the_action_it_then_takes(seed):
    agent = rl.QLearning(OBS, ACT, seed=seed, eta=0.5, gamma=0.9, target="sarsa", epsilon=1.0)
    agent.q[1] = [0.5, 2.0]
    agent.learn(step(0, 1, 1.0, 1))
    taken = agent.act(1)
    # target = 1 + 0.9 * Q[s', a'] for the a' the agent really takes next
    assert agent.q[0, 1] == pytest.approx(0.5 * (1.0 + 0.9 * agent.q[1, taken]))


def test_sarsa_with_a_greedy_policy_equals_q_learning():
    sarsa, q = make(target="sarsa", epsilon=0.0), make(epsilon=0.0)
    for agent in (sarsa, q):
        agent.q[1] = [0.5, 2.0]
        agent.learn(step(0, 1, 1.0, 1))
    assert sarsa.q[0, 1] == q.q[0, 1]
    assert sarsa.act(1) == 1


def test_sarsa_terminal_step_does_not_choose_a_next_action():
    agent = make(target="sarsa", epsilon=1.0)
    state = agent.rng.bit_generator.state
    agent.learn(step(0, 1, 1.0, 2, terminated=True))
    assert agent.q[0, 1] == pytest.approx(0.5)
    assert agent.rng.bit_generator.state == state  # no random draw for a next action


def test_sarsa_bootstraps_through_a_time_limit():
    """A truncated step still has a next state with a value: SARSA bootstraps on the action its
    policy would take there (found by rl.check_agent's time-limit probe), but keeps none for
    the next act(), which belongs to a new episode."""
    agent = make(target="sarsa", epsilon=1.0)
    agent.q[2] = [4.0, 4.0]
    agent.learn(step(0, 1, 1.0, 2, truncated=True))
    assert agent.q[0, 1] == pytest.approx(0.5 * (1.0 + 0.9 * 4.0))
    assert agent._next_action is None


# ------------------------------------------------------------------------- exploration
def test_epsilon_schedule_decays_per_step_and_is_reported():
    schedule = rl.LinearSchedule(1.0, 0.0, duration=4)
    agent = make(epsilon=schedule)
    seen = [agent.learn(step(0, 0, 0.0, 1))["epsilon"] for _ in range(6)]
    assert seen == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0, 0.0])


def test_epsilon_schedule_per_episode_moves_only_at_episode_ends():
    agent = make(
        epsilon={"kind": "exponential", "start": 1.0, "end": 0.0, "decay": 0.5, "unit": "episode"}
    )
    agent.learn(step(0, 0, 0.0, 1))
    assert agent.epsilon == 1.0
    agent.end_episode()
    agent.end_episode()
    assert agent.epsilon == 0.25


def test_eta_schedule_decays():
    agent = make(eta={"kind": "linear", "start": 0.5, "end": 0.1, "duration": 2, "unit": "episode"})
    agent.end_episode()
    assert agent.eta == pytest.approx(0.3)
    agent.q[1] = [0.0, 1.0]
    agent.learn(step(0, 0, 0.0, 1))
    assert agent.q[0, 0] == pytest.approx(0.3 * 0.9)


def test_epsilon_one_acts_uniformly_and_epsilon_zero_greedily():
    agent = make(epsilon=1.0)
    agent.q[0] = [0.0, 1.0]
    counts = np.bincount([agent.act(0) for _ in range(2000)], minlength=2)
    assert 900 < counts[0] < 1100
    greedy = make(epsilon=0.0)
    greedy.q[0] = [0.0, 1.0]
    assert {greedy.act(0) for _ in range(50)} == {1}


def test_noisy_argmax_noise_shrinks_as_one_over_episode_plus_one():
    agent = make(exploration="noisy-argmax")
    agent.q[0] = [0.0, 0.3]
    for episode in (0, 4):
        while agent.episodes_done < episode:
            agent.end_episode()
        expected_rng = copy.deepcopy(agent.rng)
        for _ in range(20):
            noise = expected_rng.standard_normal(2) / (episode + 1)
            assert agent.act(0) == int(np.argmax(agent.q[0] + noise))


def test_greedy_act_has_no_side_effects():
    agent = make(epsilon=0.5, target="sarsa")
    agent.q[0] = [0.0, 1.0]
    state = agent.rng.bit_generator.state
    assert [agent.act(0, explore=False) for _ in range(10)] == [1] * 10
    assert agent.rng.bit_generator.state == state
    assert agent.steps_done == 0


def test_q_values_is_a_copy():
    agent = make()
    agent.q_values(0)[:] = 5.0
    assert agent.q.sum() == 0.0


def test_initial_value_fills_the_table():
    agent = make(initial_value=1.0)
    np.testing.assert_array_equal(agent.q, np.ones((3, 2)))


def test_expected_sarsa_with_noisy_argmax_is_a_clear_error():
    with pytest.raises(rl.ConfigError, match="epsilon-greedy"):
        make(target="expected-sarsa", exploration="noisy-argmax")


def test_epsilon_with_noisy_argmax_is_a_clear_error():
    with pytest.raises(
        rl.ConfigError, match="epsilon=0.2 only applies to exploration='epsilon-greedy'"
    ):
        make(exploration="noisy-argmax", epsilon=0.2)
