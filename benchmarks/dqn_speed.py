"""Speed of rlladder's DQN against a minimal DQN loop written inline, same settings, same run.

Fixed work: ``--steps`` CartPole-v1 env steps, CleanRL's DQN settings (MLP 120-84, batch 128,
Adam 2.5e-4, buffer 10k, MSE, target copied every 500 updates... see SETTINGS), one torch
thread, training every ``--train-every`` steps (default: both 10 and 1). The reference loop is
deliberately lean: preallocated numpy ring buffer, vectorised sampling, one forward pass per
greedy action under ``torch.inference_mode()``, no per-step tensor re-allocation beyond the
observation itself. Runs alternate (lean, library, lean, ...) and the best of ``--repeats`` is
kept, to damp the noise of a shared machine.

A third line times the learning step alone, without the environment or acting: "store one
transition, sample a batch, one gradient step" on a buffer filled with the same random
transitions, the lean code against ``agent.learn``. The two alternate in ``--chunks`` chunks of
100 updates and each keeps its fastest chunk. It isolates what the library adds per update (its
diagnostics, schedules, checks) and is steadier than the end-to-end figure.

    python benchmarks/dqn_speed.py                    # train every 10 and every 1, then learn-only
    python benchmarks/dqn_speed.py --train-every 10 --steps 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import copy
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

import rlladder as rl  # noqa: E402

SETTINGS = {
    "hidden_sizes": (120, 84),
    "batch_size": 128,
    "buffer_size": 10_000,
    "learning_rate": 2.5e-4,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "loss": "mse",
    "target": "hard",
    "target_update_every": 500,
    "max_grad_norm": None,
    "epsilon": {"kind": "linear", "start": 1.0, "end": 0.05, "duration": 10_000},
}


def lean_dqn(steps: int, train_every: int, seed: int = 0) -> float:
    """A minimal DQN loop with SETTINGS; returns env steps per second."""
    s = SETTINGS
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    q = nn.Sequential(nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2))
    q_target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=s["learning_rate"])
    n, size, pos = s["buffer_size"], 0, 0
    obs_b = np.zeros((n, 4), np.float32)
    next_b = np.zeros((n, 4), np.float32)
    act_b = np.zeros(n, np.int64)
    rew_b = np.zeros(n, np.float32)
    term_b = np.zeros(n, np.float32)
    eps = s["epsilon"]
    updates = 0
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for t in range(1, steps + 1):
        epsilon = eps["start"] + min(t / eps["duration"], 1.0) * (eps["end"] - eps["start"])
        if rng.random() < epsilon:
            action = int(rng.integers(2))
        else:
            with torch.inference_mode():
                action = int(q(torch.from_numpy(obs).unsqueeze(0)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        obs_b[pos], act_b[pos], rew_b[pos] = obs, action, reward
        next_b[pos], term_b[pos] = next_obs, terminated
        pos, size = (pos + 1) % n, min(size + 1, n)
        obs = env.reset()[0] if terminated or truncated else next_obs
        if t > s["learning_starts"] and t % train_every == 0:
            idx = rng.integers(0, size, s["batch_size"])
            o, a, r = torch.from_numpy(obs_b[idx]), torch.from_numpy(act_b[idx]), rew_b[idx]
            with torch.no_grad():
                next_max = q_target(torch.from_numpy(next_b[idx])).max(1).values
                y = torch.from_numpy(r) + s["gamma"] * next_max * (
                    1 - torch.from_numpy(term_b[idx])
                )
            loss = F.mse_loss(q(o).gather(1, a.unsqueeze(1)).squeeze(1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            updates += 1
            if updates % s["target_update_every"] == 0:
                q_target.load_state_dict(q.state_dict())
    return steps / (time.perf_counter() - start)


def library_dqn(steps: int, train_every: int, seed: int = 0) -> float:
    """rlladder's DQN through rl.train with SETTINGS; returns env steps per second."""
    env = gym.make("CartPole-v1")
    agent = rl.DQN(
        env.observation_space, env.action_space, seed=seed, train_every=train_every, **SETTINGS
    )
    start = time.perf_counter()
    rl.train(agent, env, steps=steps, seed=seed)
    return steps / (time.perf_counter() - start)


def _random_transitions(n: int, seed: int) -> list[rl.Transition]:
    rng = np.random.default_rng(seed)
    obs = rng.normal(size=(n + 1, 4)).astype(np.float32)
    actions = rng.integers(0, 2, n)
    done = rng.random(n) < 0.05
    return [
        rl.Transition(obs[i], int(actions[i]), 1.0, obs[i + 1], bool(done[i]), False)
        for i in range(n)
    ]


def lean_learner(n_updates: int, seed: int = 0) -> Callable[[int], None]:
    """The lean loop's learning step alone (store, sample, update), as ``run(k)``: k more steps."""
    s = SETTINGS
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    q = nn.Sequential(nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2))
    q_target = copy.deepcopy(q)
    opt = torch.optim.Adam(q.parameters(), lr=s["learning_rate"])
    n = s["buffer_size"]
    obs_b, next_b = np.zeros((n, 4), np.float32), np.zeros((n, 4), np.float32)
    act_b, rew_b, term_b = np.zeros(n, np.int64), np.zeros(n, np.float32), np.zeros(n, np.float32)
    transitions = _random_transitions(n + n_updates, seed)
    for i, t in enumerate(transitions[:n]):
        obs_b[i], act_b[i], rew_b[i], next_b[i], term_b[i] = t[:5]
    state = {"pos": 0, "done": 0}

    def run(k: int) -> None:
        pos, done = state["pos"], state["done"]
        for t in transitions[n + done : n + done + k]:
            obs_b[pos], act_b[pos], rew_b[pos], next_b[pos], term_b[pos] = t[:5]
            pos, done = (pos + 1) % n, done + 1
            idx = rng.integers(0, n, s["batch_size"])
            o, a, r = torch.from_numpy(obs_b[idx]), torch.from_numpy(act_b[idx]), rew_b[idx]
            with torch.no_grad():
                next_max = q_target(torch.from_numpy(next_b[idx])).max(1).values
                y = torch.from_numpy(r) + s["gamma"] * next_max * (
                    1 - torch.from_numpy(term_b[idx])
                )
            loss = F.mse_loss(q(o).gather(1, a.unsqueeze(1)).squeeze(1), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if done % s["target_update_every"] == 0:
                q_target.load_state_dict(q.state_dict())
        state.update(pos=pos, done=done)

    return run


def library_learner(n_updates: int, seed: int = 0) -> Callable[[int], None]:
    """``agent.learn`` alone on the same transitions, one update per call, as ``run(k)``."""
    env = gym.make("CartPole-v1")
    settings = {**SETTINGS, "learning_starts": 0}
    agent = rl.DQN(env.observation_space, env.action_space, seed=seed, train_every=1, **settings)
    n = SETTINGS["buffer_size"]
    transitions = _random_transitions(n + n_updates, seed)
    for t in transitions[:n]:
        agent.buffer.add(*t[:5])
    state = {"done": 0}

    def run(k: int) -> None:
        done = state["done"]
        for t in transitions[n + done : n + done + k]:
            agent.learn(t)
        state["done"] = done + k

    return run


def learn_only(chunks: int, chunk: int = 100) -> tuple[float, float]:
    """Updates per second of the lean and the library learning step: the two alternate in short
    chunks and each keeps its fastest chunk, which a busy machine disturbs far less than a
    long run."""
    lean, lib = lean_learner(chunks * chunk), library_learner(chunks * chunk)
    best = {"lean": float("inf"), "lib": float("inf")}
    for _ in range(chunks):
        for name, run in (("lean", lean), ("lib", lib)):
            start = time.perf_counter()
            run(chunk)
            best[name] = min(best[name], time.perf_counter() - start)
    return chunk / best["lean"], chunk / best["lib"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--train-every", type=int, nargs="*", default=[10, 1])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--chunks", type=int, default=40, help="learn-only: chunks of 100 updates each (0: skip)"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"CartPole-v1, {args.steps} env steps, 1 torch thread, best of {args.repeats}")
    for every in args.train_every:
        lean, lib = [], []
        for r in range(args.repeats):
            lean.append(lean_dqn(args.steps, every, seed=r))
            lib.append(library_dqn(args.steps, every, seed=r))
        best_lean, best_lib = max(lean), max(lib)
        print(
            f"train every {every:>2}: lean loop {best_lean:7.0f} steps/s | rlladder DQN "
            f"{best_lib:7.0f} steps/s | ratio rlladder/lean = {best_lib / best_lean:.2f}",
            flush=True,
        )
    if args.chunks:
        lean, lib = learn_only(args.chunks)
        print(
            f"learn only:     lean loop {lean:7.0f} updates/s | rlladder DQN "
            f"{lib:7.0f} updates/s | ratio rlladder/lean = {lib / lean:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
