"""Speed of rlladder's DQN against a minimal DQN loop written inline, same settings, same run.

Fixed work: ``--steps`` CartPole-v1 env steps, CleanRL's DQN settings (MLP 120-84, batch 128,
Adam 2.5e-4, buffer 10k, MSE, target copied every 500 updates... see SETTINGS), one torch
thread, training every ``--train-every`` steps (default: both 10 and 1). The reference loop is
deliberately lean: preallocated numpy ring buffer, vectorised sampling, one forward pass per
greedy action under ``torch.inference_mode()``, no per-step tensor re-allocation beyond the
observation itself. Runs alternate (lean, library, lean, ...) and the best of ``--repeats`` is
kept, to damp the noise of a shared machine.

    python benchmarks/dqn_speed.py                    # train every 10 and every 1
    python benchmarks/dqn_speed.py --train-every 10 --steps 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import copy
import os
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--train-every", type=int, nargs="*", default=[10, 1])
    parser.add_argument("--repeats", type=int, default=3)
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


if __name__ == "__main__":
    main()
