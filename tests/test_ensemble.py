"""The DQN ensemble: every member is its solo run, number for number, for every switch.

Each equality test trains 3 solo agents with ``rl.train`` and the same 3 (agent seed, env seed)
pairs as one ensemble, then asserts the histories equal (``assert_frame_equal``, no tolerance)
and the trained agents equal (weights, target network, optimizer state, counters, generator,
replay buffer: ``torch.equal`` / ``array_equal``). Small networks and budgets keep them fast;
``--slow`` adds the CartPole preset over 20k steps.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import rlladder as rl
from rlladder.deep.dqn import DQN, dqn_loss, update_diagnostics
from rlladder.deep.ensemble import (
    DQNEnsemble,
    clip_member_grad_norms_,
    reproduces,
    train_ensemble,
    train_seeds,
)
from rlladder.deep.networks import QNetwork, q_forward
from rlladder.deep.replay import ReplayBuffer, StackedReplay
from rlladder.errors import ConfigError, DivergenceError
from rlladder.experiments.runner import ensemble_trainer

#: tiny and quick; a hard target copy every 50 updates, and the CartPole preset's other values
SMALL = {
    "hidden_sizes": (16,),
    "batch_size": 8,
    "buffer_size": 400,
    "learning_starts": 100,
    "target_update_every": 50,
    "train_every": 4,
}
STEPS = 2_000
MEMBERS = [(0, 100), (1, 101), (7, 102)]  # (agent seed, env seed)


def solo_runs(name, env_id, seeds=MEMBERS, env_kwargs=None, budget=None, **hyperparameters):
    budget = budget or {"steps": STEPS}
    runs = []
    for agent_seed, env_seed in seeds:
        env = gym.make(env_id, **(env_kwargs or {}))
        agent = rl.make_agent(name, env, seed=agent_seed, **hyperparameters)
        runs.append((agent, rl.train(agent, env, seed=env_seed, **budget)))
    return runs


def ensemble_runs(name, env_id, seeds=MEMBERS, env_kwargs=None, budget=None, **hyperparameters):
    budget = budget or {"steps": STEPS}
    return train_seeds(
        name,
        lambda: gym.make(env_id, **(env_kwargs or {})),
        seeds,
        **budget,
        **hyperparameters,
    )


def assert_same_agent(solo: DQN, member: DQN) -> None:
    for (name, a), b in zip(
        solo.q_net.state_dict().items(), member.q_net.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), f"weights differ: {name}"
    if solo.target_net is not None:
        for a, b in zip(solo.target_net.parameters(), member.target_net.parameters(), strict=True):
            assert torch.equal(a, b), "target network differs"
    opt_a, opt_b = solo.optimizer.state_dict(), member.optimizer.state_dict()
    assert opt_a["param_groups"] == opt_b["param_groups"]
    assert opt_a["state"].keys() == opt_b["state"].keys()
    for key, state in opt_a["state"].items():
        for field, value in state.items():
            other = opt_b["state"][key][field]
            assert torch.equal(value, other), f"optimizer state {key}.{field} differs"
    counters = ("steps_done", "episodes_done", "updates_done")
    assert [getattr(solo, c) for c in counters] == [getattr(member, c) for c in counters]
    assert solo.rng.bit_generator.state == member.rng.bit_generator.state
    a, b = solo.buffer.state_dict(), member.buffer.state_dict()
    assert (a["size"], a["position"]) == (b["size"], b["position"])
    for key in ("obs", "actions", "rewards", "next_obs", "terminated"):
        np.testing.assert_array_equal(a[key], b[key])


def assert_members_are_solo_runs(solo, members) -> None:
    assert len(solo) == len(members)
    for (solo_agent, solo_history), (agent, history) in zip(solo, members, strict=True):
        pd.testing.assert_frame_equal(history, solo_history)
        assert_same_agent(solo_agent, agent)


# -- every switch, number for number ---------------------------------------------------------

CASES = {
    # name, env, overrides: each case flips one or more switches away from the `dqn` rung
    "dqn": ("dqn", "CartPole-v1", {"train_every": 1, "learning_starts": 800}),
    "no-replay-no-target-mse": ("dqn-vanilla", "CartPole-v1", {}),
    "replay-no-target": ("dqn-replay", "CartPole-v1", {}),
    "soft-target-double": ("double-dqn", "CartPole-v1", {"target": "soft", "tau": 0.05}),
    "dueling-mse-clipped": ("dueling-dqn", "CartPole-v1", {"loss": "mse", "max_grad_norm": 0.5}),
    "adamw-no-clip": ("dqn", "CartPole-v1", {"optimizer": "adamw", "max_grad_norm": None}),
    "rmsprop": ("dqn", "CartPole-v1", {"optimizer": "rmsprop", "learning_rate": 1e-3}),
    "sgd-lr-annealed-to-0": (
        "dqn",
        "CartPole-v1",
        {
            "optimizer": "sgd",
            # reaches exactly 0 at step 1200: the last 800 steps take no gradient step
            "learning_rate": {"kind": "linear", "start": 1e-2, "end": 0.0, "duration": 1_200},
        },
    ),
    "gradient-steps-train-every-learning-starts": (
        "dqn",
        "CartPole-v1",
        {"gradient_steps": 2, "train_every": 5, "learning_starts": 0, "batch_size": 4},
    ),
    "epsilon-per-episode": (
        "dqn",
        "CartPole-v1",
        {
            "epsilon": {
                "kind": "exponential",
                "start": 1.0,
                "end": 0.05,
                "decay": 0.9,
                "unit": "episode",
            }
        },
    ),
    "acrobot-3-actions-dueling-double": (
        "dueling-dqn",
        "Acrobot-v1",
        {"double": True, "hidden_sizes": (24, 24), "batch_size": 5},
    ),
    "frozenlake-one-hot": ("dqn", "FrozenLake-v1", {"hidden_sizes": (30,)}),
    "n-step-3": ("nstep-dqn", "CartPole-v1", {"train_every": 2, "learning_starts": 500}),
    "n-step-5-acrobot-double-soft": (
        "nstep-dqn",
        "Acrobot-v1",
        {"n_step": 5, "double": True, "target": "soft", "hidden_sizes": (24,), "batch_size": 5},
    ),
    "n-step-2-frozenlake": ("nstep-dqn", "FrozenLake-v1", {"n_step": 2, "hidden_sizes": (30,)}),
    "probe-1-action": ("dqn", "rlladder/Probe1-v0", {"batch_size": 3, "hidden_sizes": (1,)}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_member_is_its_solo_run(case):
    name, env_id, overrides = CASES[case]
    hp = {**SMALL, **overrides}
    assert_members_are_solo_runs(solo_runs(name, env_id, **hp), ensemble_runs(name, env_id, **hp))


@pytest.mark.parametrize("n_step", [1, 3])
def test_members_own_loop_truncation_and_epsilon_per_step(n_step):
    budget = {"steps": STEPS, "max_episode_steps": 30}
    eps = {"kind": "linear", "start": 1.0, "end": 0.0, "duration": 1_500}
    hp = {**SMALL, "epsilon": eps, "n_step": n_step}
    solo = solo_runs("dqn", "CartPole-v1", budget=budget, **hp)
    assert solo[0][1]["steps"].max() == 30  # the loop's cut, counted as truncated
    assert_members_are_solo_runs(solo, ensemble_runs("dqn", "CartPole-v1", budget=budget, **hp))


def test_episode_budget_lets_each_member_stop_after_its_own_last_episode():
    budget = {"episodes": 25}
    solo = solo_runs("dqn", "CartPole-v1", budget=budget, **SMALL)
    ends = [h["env_step"].iloc[-1] for _, h in solo]
    assert len(set(ends)) == len(ends)  # members finish at different env steps
    progress: list[int] = []
    members = ensemble_runs("dqn", "CartPole-v1", budget=budget, on_steps=progress.append, **SMALL)
    assert_members_are_solo_runs(solo, members)
    assert sum(progress) == sum(ends)  # every env step of every member, reported once


def test_frozenlake_8x8_with_its_own_time_limit_and_six_members():
    seeds = [(k, 50 + k) for k in range(6)]
    hp = {**SMALL, "hidden_sizes": (8,)}
    kwargs = {"map_name": "8x8"}
    budget = {"steps": 1_500}
    solo = solo_runs("dqn", "FrozenLake-v1", seeds, kwargs, budget, **hp)
    assert_members_are_solo_runs(
        solo, ensemble_runs("dqn", "FrozenLake-v1", seeds, kwargs, budget, **hp)
    )


def test_one_member_is_a_solo_run():
    hp = {**SMALL, "double": True}
    seeds = MEMBERS[:1]
    budget = {"steps": 800}
    assert_members_are_solo_runs(
        solo_runs("dqn", "CartPole-v1", seeds, budget=budget, **hp),
        ensemble_runs("dqn", "CartPole-v1", seeds, budget=budget, **hp),
    )


@pytest.mark.parametrize("n_step", [1, 3])
def test_trained_members_continue_as_their_solo_runs(n_step):
    """The write-back is complete: a member trained on with rl.train (solo) continues exactly as
    its solo run does; and an ensemble made of trained agents continues them exactly too (with
    n-step returns, across the episode that the first budget cut)."""
    hp = {**SMALL, "max_grad_norm": 1.0, "target": "soft", "n_step": n_step}
    solo = solo_runs("dqn", "CartPole-v1", budget={"steps": 600}, **hp)
    members = ensemble_runs("dqn", "CartPole-v1", budget={"steps": 600}, **hp)
    # on from the ensemble, solo
    for (s, _), (m, _) in zip(solo[:1], members[:1], strict=True):
        h1 = rl.train(s, gym.make("CartPole-v1"), steps=400, seed=9)
        h2 = rl.train(m, gym.make("CartPole-v1"), steps=400, seed=9)
        pd.testing.assert_frame_equal(h1, h2)
        assert_same_agent(s, m)
    # the other two on from their trained state, as an ensemble
    envs = [gym.make("CartPole-v1") for _ in range(2)]
    continued = train_ensemble([m for m, _ in members[1:]], envs, seeds=[5, 6], steps=400)
    for (s, _), (m, _), history, seed in zip(solo[1:], members[1:], continued, [5, 6], strict=True):
        pd.testing.assert_frame_equal(
            history, rl.train(s, gym.make("CartPole-v1"), steps=400, seed=seed)
        )
        assert_same_agent(s, m)


# -- the pieces ----------------------------------------------------------------------------


@pytest.mark.parametrize("dueling", [False, True])
@pytest.mark.parametrize(
    ("obs_dim", "hidden", "n_actions", "batch"),
    [(4, (128, 128), 2, 128), (6, (30,), 3, 5), (16, (1,), 4, 8), (1, (), 1, 1), (3, (7, 9), 5, 1)],
)
def test_stacked_loss_gradients_and_actions_are_each_networks_own(
    obs_dim, hidden, n_actions, batch, dueling
):
    """The batched math, member by member, bit for bit: loss, diagnostics, every gradient, and
    the Q-values acting uses. The shapes include ones whose members sit unaligned in memory, a
    batch of one and one-column layers (each once broke equality)."""
    members = 5
    g = torch.Generator().manual_seed(obs_dim * 100 + batch)
    nets = []
    for m in range(members):
        torch.manual_seed(m)
        nets.append(QNetwork(obs_dim, n_actions, hidden, dueling=dueling))
    params = [
        torch.stack([p.detach() for p in ps]).requires_grad_()
        for ps in zip(*(n.parameters() for n in nets), strict=True)
    ]
    target = [0.9 * p.detach() for p in params]
    batch_ = [
        torch.randn(members, batch, obs_dim, generator=g),
        torch.randint(0, n_actions, (members, batch), generator=g),
        torch.randn(members, batch, generator=g),
        torch.randn(members, batch, obs_dim, generator=g),
        (torch.rand(members, batch, generator=g) < 0.2).float(),
    ]
    options = {"gamma": 0.9, "loss": "huber", "double": True, "dueling": dueling}
    loss, q_taken, q_values = dqn_loss(params, target, batch_, **options)
    rows = update_diagnostics(loss, q_taken, q_values)
    loss.sum().backward()
    with torch.inference_mode():
        acting = q_forward(params, batch_[0][:, :1], dueling=dueling)
    for m, net in enumerate(nets):
        own = list(net.parameters())
        own_loss, qt, qv = dqn_loss(own, [t[m] for t in target], [b[m] for b in batch_], **options)
        assert torch.equal(update_diagnostics(own_loss, qt, qv), rows[m])
        own_loss.backward()
        for p, stacked in zip(own, params, strict=True):
            assert torch.equal(p.grad, stacked.grad[m])
        with torch.inference_mode():
            assert torch.equal(net.act_forward(batch_[0][m, :1]), acting[m])


def test_member_clip_is_clip_grad_norm_per_member():
    g = torch.Generator().manual_seed(0)
    shapes = [(128, 4), (128,), (30, 128), (30,), (3, 30), (3,), (1, 30), (1,)]
    scale = torch.tensor([0.01, 0.03, 0.1, 0.2, 0.3, 1.0])  # norms of about 1 to 150
    grads = [torch.randn(6, *s, generator=g) * scale.view(6, *[1] * len(s)) for s in shapes]
    stacked = [nn.Parameter(torch.zeros_like(x)) for x in grads]
    for p, x in zip(stacked, grads, strict=True):
        p.grad = x.clone()
    norms = clip_member_grad_norms_(stacked, 10.0)
    clipped = [p.grad for p in stacked]
    for m in range(6):
        params = [nn.Parameter(torch.zeros(s)) for s in shapes]
        for p, x in zip(params, grads, strict=True):
            p.grad = x[m].clone()
        assert torch.equal(nn.utils.clip_grad_norm_(params, 10.0), norms[m])
        for p, x in zip(params, clipped, strict=True):
            assert torch.equal(p.grad, x[m])
    assert (norms > 10).any() and (norms < 10).any()  # both branches of the clip


@pytest.mark.parametrize("n_step", [1, 4])
def test_stacked_replay_samples_as_each_members_buffer_would(n_step):
    buffers = [ReplayBuffer(50, 3, seed=s, n_step=n_step, gamma=0.9) for s in range(3)]
    twins = [ReplayBuffer(50, 3, seed=s, n_step=n_step, gamma=0.9) for s in range(3)]
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.normal(size=(3, 2, 3)).astype(np.float32), rng.integers(0, 2, 3)
        for k in range(3):
            buffers[k].add(t[0][k, 0], t[1][k], 1.0, t[0][k, 1], k == 0)
            twins[k].add(t[0][k, 0], t[1][k], 1.0, t[0][k, 1], k == 0)
    stacked = StackedReplay(buffers)
    for _ in range(70):  # past the ring's end; each member's episodes end at its own steps
        obs = rng.normal(size=(3, 3)).astype(np.float32)
        rewards = rng.normal(size=3).astype(np.float32)
        done = rng.random(3) < 0.2
        terminated = done & (rng.random(3) < 0.5)
        stacked.add(obs, np.array([0, 1, 1]), rewards, obs + 1, terminated, done)
        for k in range(3):
            twins[k].add(obs[k], [0, 1, 1][k], rewards[k], obs[k] + 1, terminated[k], done[k])
    batch = stacked.sample(16)
    stacked.sync()
    for k in range(3):
        want = twins[k].sample(16)
        assert type(batch) is type(want) and len(batch) == (5 if n_step == 1 else 6)
        for got, expected in zip(batch, want, strict=True):
            np.testing.assert_array_equal(got[k], expected)
        assert (buffers[k].size, buffers[k].position) == (twins[k].size, twins[k].position)
        np.testing.assert_array_equal(buffers[k].obs, twins[k].obs)


# -- errors and the API ------------------------------------------------------------------------


def test_divergence_names_the_member_and_its_seeds():
    hp = {**SMALL, "learning_rate": 1e30, "optimizer": "sgd", "max_grad_norm": None}
    with pytest.raises(
        DivergenceError, match=r"member \d \(agent seed \d, env seed 10\d\) diverged.*env step \d+"
    ):
        ensemble_runs("dqn-vanilla", "CartPole-v1", budget={"steps": 500}, **hp)


def test_members_must_share_one_configuration_and_step():
    env = gym.make("CartPole-v1")
    a, b = rl.make_agent("dqn", env, seed=0, **SMALL), rl.make_agent("dqn", env, seed=1, **SMALL)
    c = rl.make_agent("dqn", env, seed=2, **{**SMALL, "double": True})
    envs = [gym.make("CartPole-v1") for _ in range(2)]
    with pytest.raises(ConfigError, match="share one configuration.*group runs"):
        train_ensemble([a, c], envs, seeds=[0, 1], steps=10)
    with pytest.raises(ConfigError, match="one env and one seed per agent"):
        train_ensemble([a, b], envs, seeds=[0], steps=10)
    with pytest.raises(ConfigError, match="exactly one of episodes= or steps="):
        train_ensemble([a, b], envs, seeds=[0, 1])
    rl.train(a, env, steps=5, seed=0)
    with pytest.raises(ConfigError, match="lockstep.*member 1 is at step 0"):
        train_ensemble([a, b], envs, seeds=[0, 1], steps=10)
    with pytest.raises(ConfigError, match="at least one"):
        DQNEnsemble([])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ConfigError, match="CUDA is not available.*device='cpu'"):
        ensemble_runs("dqn", "CartPole-v1", budget={"steps": 10}, device="cuda", **SMALL)


def test_agent_classes_say_whether_they_train_as_an_ensemble():
    class Tweaked(DQN):  # changes nothing the ensemble replays: still an ensemble
        name = "tweaked"

    class OwnAct(DQN):
        def act(self, obs, *, explore=True):
            return 0

    env = gym.make("CartPole-v1")
    space = (env.observation_space, env.action_space)
    assert ensemble_trainer(DQN(*space, **SMALL)) is train_ensemble
    assert ensemble_trainer(Tweaked(*space, **SMALL)) is train_ensemble
    assert ensemble_trainer(OwnAct(*space, **SMALL)) is None and not reproduces(OwnAct)
    assert ensemble_trainer(rl.make_agent("q-learning", gym.make("FrozenLake-v1"))) is None  # solo
    own = [OwnAct(env.observation_space, env.action_space, seed=s, **SMALL) for s in (0, 1)]
    with pytest.raises(ConfigError, match="member 0 is OwnAct: train it solo"):
        train_ensemble(own, [gym.make("CartPole-v1") for _ in own], seeds=[0, 1], steps=10)


def test_progress_counts_every_env_step_in_a_few_calls():
    calls: list[int] = []
    ensemble_runs("dqn", "CartPole-v1", budget={"steps": 1_500}, on_steps=calls.append, **SMALL)
    assert sum(calls) == 1_500 * len(MEMBERS)
    assert 2 <= len(calls) <= 10


def test_dqn_cartpole_benchmark_gives_the_same_figures_as_ensembles():
    path = Path(__file__).parents[1] / "benchmarks" / "dqn_cartpole.py"
    spec = importlib.util.spec_from_file_location("dqn_cartpole", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["dqn_cartpole"] = bench
    spec.loader.exec_module(bench)
    overrides = {"hidden_sizes": [32], "learning_starts": 200}
    solo = bench.run_many(["dqn"], [3, 4], 1_200, overrides, workers=1)
    grouped = bench.run_many(["dqn"], [3, 4], 1_200, overrides, workers=1, members_per_group=2)
    for a, b in zip(solo, grouped, strict=True):
        a.pop("wall_s"), b.pop("wall_s")
        assert a == b
    assert not math.isnan(solo[0]["greedy_score"])


def test_suite_floor_counts_each_updates_matrix_products_by_hand(monkeypatch):
    benchmarks = Path(__file__).parents[1] / "benchmarks"
    monkeypatch.syspath_prepend(str(benchmarks))
    spec = importlib.util.spec_from_file_location("suite_floor", benchmarks / "suite_floor.py")
    floor = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(floor)
    lr = {"kind": "linear", "start": 1e-3, "end": 0.0, "duration": 30}
    env = gym.make("CartPole-v1")
    agent = rl.make_agent(
        "dqn", env, hidden_sizes=(8,), batch_size=4, learning_starts=10, learning_rate=lr
    )
    flops, updates, stepped = floor.run_flops(agent, 40)
    # per sample: forward 4*8 + 8*2 = 48 MACs; backward 48 (weights) + 16 (inputs, not the first)
    assert (updates, stepped) == (30, 19)  # steps 11-40 update; from step 30 the lr is 0
    assert flops == 2 * 4 * (30 * 2 * 48 + 19 * 64)


# -- the preset, at length (--slow) --------------------------------------------------------------


@pytest.mark.slow
def test_three_members_of_the_cartpole_preset_over_20k_steps():
    seeds = [(0, 0), (1, 1), (2, 2)]
    budget = {"steps": 20_000}
    assert_members_are_solo_runs(
        solo_runs("dqn", "CartPole-v1", seeds, budget=budget),
        ensemble_runs("dqn", "CartPole-v1", seeds, budget=budget),
    )


class GreedyProbe:
    """A callback that notes the member's greedy Q-values of a fixed state after each episode,
    and the history it is given at the end."""

    def __init__(self):
        self.seen: list[np.ndarray] = []
        self.history = None

    def __call__(self, record, agent):
        self.seen.append(agent.q_values(np.array([0.01, -0.02, 0.03, 0.0], dtype=np.float32)))

    def on_train_end(self, history):
        self.history = history


def test_member_callbacks_see_what_solo_callbacks_see():
    hp = {**SMALL, "double": True}
    solo_probes, member_probes = [GreedyProbe() for _ in MEMBERS], [GreedyProbe() for _ in MEMBERS]
    for (agent_seed, env_seed), probe in zip(MEMBERS, solo_probes, strict=True):
        env = gym.make("CartPole-v1")
        agent = rl.make_agent("dqn", env, seed=agent_seed, **hp)
        rl.train(agent, env, seed=env_seed, steps=STEPS, callbacks=[probe])
    agents = [rl.make_agent("dqn", gym.make("CartPole-v1"), seed=a, **hp) for a, _ in MEMBERS]
    envs = [gym.make("CartPole-v1") for _ in MEMBERS]
    histories = train_ensemble(
        agents,
        envs,
        seeds=[e for _, e in MEMBERS],
        steps=STEPS,
        callbacks=[[p] for p in member_probes],
    )
    for solo, member, history in zip(solo_probes, member_probes, histories, strict=True):
        assert len(member.seen) == len(history) > 5
        assert all(np.array_equal(a, b) for a, b in zip(solo.seen, member.seen, strict=True))
        assert member.history is history
        pd.testing.assert_frame_equal(member.history, solo.history)


def test_a_member_callback_cannot_stop_the_lockstep():
    agents = [rl.make_agent("dqn", gym.make("CartPole-v1"), seed=a, **SMALL) for a, _ in MEMBERS]
    envs = [gym.make("CartPole-v1") for _ in MEMBERS]
    stop = [[], [lambda record, agent: True], []]
    with pytest.raises(ConfigError, match="member 1 .* asked to stop training"):
        train_ensemble(agents, envs, seeds=[1, 2, 3], steps=500, callbacks=stop)
    with pytest.raises(ConfigError, match="one list of callbacks per member"):
        train_ensemble(agents, envs, seeds=[1, 2, 3], steps=500, callbacks=[[]])
