"""Adam's step on a trained preset network: torch's foreach (what rlladder uses) against the
faster choices it does not use, as ratios in one run, and how far each lands from foreach.

First the ``dqn`` preset trains solo on CartPole-v1 for ``--train-steps`` env steps (agent
seed 0, env seed 0), so the optimizer state is a real one: units that never fire leave exact
zeros in ``exp_avg_sq`` and denormals in ``exp_avg`` (the script counts them). One real
gradient is then taken on a replay minibatch, and the same state and gradient are stepped by:

- ``foreach``: ``torch.optim.Adam(foreach=True)``, rlladder's optimizer (the baseline);
- ``foreach, flush-to-zero``: the same under ``torch.set_flush_denormal(True)``;
- ``fused``: ``torch.optim.Adam(fused=True)``, one vectorised kernel for the whole step.

For each it prints the time of one step as a ratio to foreach's, and after one step from the
same state how many weights differ from foreach's (and by how much at most), and how many of
the running averages ``exp_avg`` and ``exp_avg_sq``. A choice that
differs in any weight would make a run's numbers differ from the runs already recorded (and
the ensemble's members from their solo runs), so it cannot be switched on silently.

    python benchmarks/optimizer_step.py
    python benchmarks/optimizer_step.py --train-steps 20000 --members 10   # a 10-member stack
"""

from __future__ import annotations

import argparse
import contextlib
import os
import time
from collections.abc import Callable, Iterator

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import torch  # noqa: E402

import rlladder as rl  # noqa: E402
from rlladder.deep.dqn import dqn_loss  # noqa: E402

TINY = torch.finfo(torch.float32).tiny  # the smallest normal float32; below it, denormals


def best_time(fn: Callable[[], object], repeats: int = 50, rounds: int = 7) -> float:
    """The fastest of ``rounds`` mean times of ``fn()`` over ``repeats`` calls, in seconds."""
    for _ in range(5):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def trained_state(
    train_steps: int, members: int
) -> tuple[list[torch.Tensor], list[torch.Tensor], list[dict]]:
    """Parameters, one real gradient and the Adam state of the preset after ``train_steps``
    steps, each tensor repeated ``members`` times along a new leading axis (an ensemble's
    stack) when ``members > 1``."""
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0)
    rl.train(agent, env, steps=train_steps, seed=0)
    batch = [torch.from_numpy(a) for a in agent.buffer.sample(agent.config.batch_size)]
    loss, _, _ = dqn_loss(agent._online, agent._target, batch, **agent._loss_options)
    agent.optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(agent._online, agent.config.max_grad_norm)

    def stack(t: torch.Tensor) -> torch.Tensor:
        t = t.detach()
        return t.clone() if members == 1 else torch.stack([t] * members)

    params = [stack(p) for p in agent._online]
    grads = [stack(p.grad) for p in agent._online]
    states = []
    for p in agent._online:
        state = agent.optimizer.state[p]
        states.append({k: stack(v) if v.dim() else v.clone() for k, v in state.items()})
    return params, grads, states


@contextlib.contextmanager
def flush_to_zero(on: bool) -> Iterator[None]:
    """Flush denormals to zero (``torch.set_flush_denormal``) inside, torch's default after."""
    torch.set_flush_denormal(on)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def optimizer(
    kind: str, params: list[torch.Tensor], grads: list[torch.Tensor], states: list[dict]
) -> tuple[torch.optim.Optimizer, list[torch.Tensor]]:
    """A fresh Adam of implementation ``kind`` over copies of ``params`` with copies of
    ``states`` and ``grads``, as the preset's optimizer has them (lr 5e-4)."""
    own = [p.clone().requires_grad_() for p in params]
    opt = torch.optim.Adam(own, lr=5e-4, **{kind: True})
    for p, g, state in zip(own, grads, states, strict=True):
        p.grad = g.clone()
        opt.state[p] = {k: v.clone() for k, v in state.items()}
    return opt, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=8_000)
    parser.add_argument("--members", type=int, default=1)
    args = parser.parse_args()
    if args.train_steps < 1_001 or args.members < 1:
        parser.error("--train-steps must exceed the preset's 1,000 learning_starts; --members >= 1")
    torch.set_num_threads(1)
    params, grads, states = trained_state(args.train_steps, args.members)
    numel = sum(p.numel() for p in params)
    zeros = sum(int((s["exp_avg_sq"] == 0).sum()) for s in states)
    avg = [s["exp_avg"] for s in states]
    denormal = sum(int(((m != 0) & (m.abs() < TINY)).sum()) for m in avg)
    print(
        f"dqn preset after {args.train_steps:,} steps, {args.members} member(s): {numel:,} "
        f"weights; exp_avg_sq exactly 0: {zeros / numel:.1%}, exp_avg denormal: "
        f"{denormal / numel:.1%} (torch {torch.__version__}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, 1 thread)"
    )
    reference, ref_params = optimizer("foreach", params, grads, states)
    reference.step()
    choices = {"foreach": ("foreach", False), "foreach, flush-to-zero": ("foreach", True)}
    choices["fused"] = ("fused", False)
    base = None
    for name, (kind, flush) in choices.items():
        opt, own = optimizer(kind, params, grads, states)
        with flush_to_zero(flush):
            opt.step()  # one step from the shared state, compared with foreach's (below,
            # with flush-to-zero off: on, a comparison would take a denormal for 0)
        pairs = [(a.detach(), b.detach()) for a, b in zip(own, ref_params, strict=True)]
        differ = sum(int((a != b).sum()) for a, b in pairs)
        worst = max(float((a - b).abs().max()) for a, b in pairs)
        moments = [
            (opt.state[a][key], reference.state[b][key])
            for a, b in zip(own, ref_params, strict=True)
            for key in ("exp_avg", "exp_avg_sq")
        ]
        state_differ = sum(int((x != y).sum()) for x, y in moments)
        with flush_to_zero(flush):
            seconds = best_time(opt.step)
        base = base or seconds
        print(
            f"  {name:<23} {seconds * 1e6:8.1f} us per step, ratio {seconds / base:4.2f} | "
            f"one step from the same state: {differ:,} weights differ from foreach's (by at "
            f"most {worst:.1e}), and {state_differ:,} running averages"
        )


if __name__ == "__main__":
    main()
