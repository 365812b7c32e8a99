"""How much does rlladder's one loop cost over the course notebook's plain loops?

Times 30 runs x 500 episodes on FrozenLake-v1 4x4 (``is_slippery=False``, at most 99 steps an
episode) for each tabular agent, twice: through ``rl.train`` and through a plain reference loop
written inline as the notebook writes it (same environment, same update, same run of this script).
Prints the seconds of each and the ratio library / reference. Run it with::

    OMP_NUM_THREADS=1 python benchmarks/tabular.py [--runs 30] [--episodes 500] [--repeats 3]

The Q-learning reference is the notebook's loop (noisy argmax, TD update inline). The PS reference
is the notebook's ``PS_agent`` (``deliberate`` samples with ``choice(p=...)`` and glows, ``learn``
updates h). Each timing is the best of ``--repeats`` (the machine is shared, so the minimum is the
least disturbed measurement); library and reference alternate so both see the same load.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import rlladder as rl

MAX_T = 99


def make_env() -> gym.Env:
    return gym.make("FrozenLake-v1", is_slippery=False)


# --------------------------------------------------------------------------------- references
def reference_q_learning(env, episodes, eta, gamma, rng):
    """The notebook's Q-learning loop, with a seeded generator in place of np.random."""
    n_actions = env.action_space.n
    Q = np.zeros([env.observation_space.n, n_actions])
    rewards = []
    for i in range(episodes):
        s = env.reset()[0]
        r = 0
        for _ in range(MAX_T):
            a = np.argmax(Q[s, :] + rng.standard_normal((1, n_actions)) * (1.0 / (i + 1)))
            s1, r, done, _, _ = env.step(a)
            Q[s, a] = Q[s, a] + eta * (r + gamma * np.max(Q[s1, :]) - Q[s, a])
            s = s1
            if done:
                break
        rewards.append(r)
    return rewards


class ReferencePS:
    """The notebook's two-layer PS agent: ``deliberate`` samples and glows, ``learn`` updates h."""

    def __init__(self, gamma, eta, num_states, num_actions, rng):
        self.gamma, self.eta, self.rng = gamma, eta, rng
        self.hmatrix = np.ones((num_states, num_actions))
        self.reset_gmatrix()

    def reset_gmatrix(self):
        self.gmatrix = np.zeros_like(self.hmatrix)

    def learn(self, reward):
        self.hmatrix = self.hmatrix - self.gamma * (self.hmatrix - 1) + self.gmatrix * reward

    def deliberate(self, state):
        probs = self.hmatrix[state, :] / np.sum(self.hmatrix[state, :])
        action = self.rng.choice(np.arange(len(probs)), p=probs)
        self.gmatrix *= 1 - self.eta
        self.gmatrix[state, action] = 1
        return action


def reference_ps(env, episodes, gamma, eta, rng):
    agent = ReferencePS(gamma, eta, env.observation_space.n, env.action_space.n, rng)
    rewards = []
    for _ in range(episodes):
        s = env.reset()[0]
        r = 0
        agent.reset_gmatrix()
        for _ in range(MAX_T):
            action = agent.deliberate(s)
            s1, r, done, _, _ = env.step(action)
            agent.learn(r)
            s = s1
            if done:
                break
        rewards.append(r)
    return rewards


# --------------------------------------------------------------------------------- timing
def time_reference(kind, runs, episodes):
    env = make_env()
    env.reset(seed=0)
    start = time.perf_counter()
    finals = []
    for run in range(runs):
        rng = np.random.default_rng(run)
        if kind == "q":
            rewards = reference_q_learning(env, episodes, 0.8, 0.9, rng)
        else:
            rewards = reference_ps(env, episodes, 0.0, 0.04, rng)
        finals.append(np.mean(rewards[-50:]))
    return time.perf_counter() - start, float(np.mean(finals))


def time_library(name, hp, runs, episodes):
    env = make_env()
    start = time.perf_counter()
    finals = []
    for run in range(runs):
        agent = rl.make_agent(name, env, seed=run, **hp)
        history = rl.train(
            agent, env, episodes=episodes, seed=run if run == 0 else None, max_episode_steps=MAX_T
        )
        finals.append(history["reward"].tail(50).mean())
    return time.perf_counter() - start, float(np.mean(finals))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    cases = [
        (
            "Q-learning (eta 0.8, gamma 0.9, noisy argmax)",
            "q",
            "q-learning",
            {"eta": 0.8, "gamma": 0.9, "exploration": "noisy-argmax"},
        ),
        (
            "Projective Simulation (h/sum h, gamma 0, eta 0.04)",
            "ps",
            "ps",
            {"policy": "linear", "gamma": 0.0, "eta": 0.04},
        ),
    ]
    print(f"FrozenLake-v1 4x4 not slippery, {args.runs} runs x {args.episodes} episodes,")
    print(f"best of {args.repeats} timings each (seconds)\n")
    print(f"{'agent':52s} {'reference':>9s} {'rlladder':>9s} {'ratio':>6s}   final reward ref/lib")
    for label, kind, name, hp in cases:
        ref_times, lib_times = [], []
        for _ in range(args.repeats):
            t, ref_final = time_reference(kind, args.runs, args.episodes)
            ref_times.append(t)
            t, lib_final = time_library(name, hp, args.runs, args.episodes)
            lib_times.append(t)
        ref, lib = min(ref_times), min(lib_times)
        print(
            f"{label:52s} {ref:9.2f} {lib:9.2f} {lib / ref:6.2f}   "
            f"{ref_final:.3f} / {lib_final:.3f}"
        )
    print("\nratio = rlladder time / plain reference loop time (lower is better)")


if __name__ == "__main__":
    main()
