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


class LeanDQN:
    """The lean reference DQN with SETTINGS: a preallocated numpy ring buffer, vectorised
    sampling, one plain MSE update, the target copied every ``target_update_every`` updates."""

    def __init__(self, seed: int = 0) -> None:
        s, n = SETTINGS, SETTINGS["buffer_size"]
        self.rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        self.q = nn.Sequential(
            nn.Linear(4, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 2)
        )
        self.q_target = copy.deepcopy(self.q)
        self.opt = torch.optim.Adam(self.q.parameters(), lr=s["learning_rate"])
        self.obs, self.next_obs = np.zeros((n, 4), np.float32), np.zeros((n, 4), np.float32)
        self.act, self.rew = np.zeros(n, np.int64), np.zeros(n, np.float32)
        self.term = np.zeros(n, np.float32)
        self.pos = self.size = self.updates = 0

    def store(self, obs, action, reward, next_obs, terminated) -> None:
        i = self.pos
        self.obs[i], self.act[i], self.rew[i] = obs, action, reward
        self.next_obs[i], self.term[i] = next_obs, terminated
        self.pos, self.size = (i + 1) % len(self.rew), min(self.size + 1, len(self.rew))

    def update(self) -> None:
        s = SETTINGS
        idx = self.rng.integers(0, self.size, s["batch_size"])
        o, a = torch.from_numpy(self.obs[idx]), torch.from_numpy(self.act[idx])
        with torch.no_grad():
            next_max = self.q_target(torch.from_numpy(self.next_obs[idx])).max(1).values
            not_done = 1 - torch.from_numpy(self.term[idx])
            y = torch.from_numpy(self.rew[idx]) + s["gamma"] * next_max * not_done
        loss = F.mse_loss(self.q(o).gather(1, a.unsqueeze(1)).squeeze(1), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.updates += 1
        if self.updates % s["target_update_every"] == 0:
            self.q_target.load_state_dict(self.q.state_dict())


def lean_dqn(steps: int, train_every: int, seed: int = 0) -> float:
    """The minimal DQN loop with SETTINGS; returns env steps per second."""
    s = SETTINGS
    env = gym.make("CartPole-v1")
    dqn = LeanDQN(seed)
    eps = s["epsilon"]
    obs, _ = env.reset(seed=seed)
    start = time.perf_counter()
    for t in range(1, steps + 1):
        epsilon = eps["start"] + min(t / eps["duration"], 1.0) * (eps["end"] - eps["start"])
        if dqn.rng.random() < epsilon:
            action = int(dqn.rng.integers(2))
        else:
            with torch.inference_mode():
                action = int(dqn.q(torch.from_numpy(obs).unsqueeze(0)).argmax())
        next_obs, reward, terminated, truncated, _ = env.step(action)
        dqn.store(obs, action, reward, next_obs, terminated)
        obs = env.reset()[0] if terminated or truncated else next_obs
        if t > s["learning_starts"] and t % train_every == 0:
            dqn.update()
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


def _learner(store: Callable, step: Callable, n_updates: int, seed: int) -> Callable[[int], None]:
    """Fill a buffer through ``store`` with ``buffer_size`` random transitions, then return
    ``run(k)``: ``step`` on each of the next k transitions."""
    n = SETTINGS["buffer_size"]
    transitions = iter(_random_transitions(n + n_updates, seed))
    for _ in range(n):
        store(*next(transitions)[:5])

    def run(k: int) -> None:
        for _ in range(k):
            step(next(transitions))

    return run


def lean_learner(n_updates: int, seed: int = 0) -> Callable[[int], None]:
    """The lean learning step alone (store, sample, update) as ``run(k)``: k more steps."""
    dqn = LeanDQN(seed)

    def step(t: rl.Transition) -> None:
        dqn.store(*t[:5])
        dqn.update()

    return _learner(dqn.store, step, n_updates, seed)


def library_learner(n_updates: int, seed: int = 0) -> Callable[[int], None]:
    """``agent.learn`` alone on the same transitions, one update per call, as ``run(k)``."""
    env = gym.make("CartPole-v1")
    settings = {**SETTINGS, "learning_starts": 0}
    agent = rl.DQN(env.observation_space, env.action_space, seed=seed, train_every=1, **settings)
    return _learner(agent.buffer.add, agent.learn, n_updates, seed)


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
    if args.steps < 1 or args.repeats < 1 or args.chunks < 0:
        parser.error("--steps and --repeats must be at least 1, --chunks at least 0 (0: skip)")
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
