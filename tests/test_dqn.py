"""DQN: the pure math against hand-computed numbers, the switches, checkpoints, errors."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest
import torch

import rlladder as rl
from rlladder.deep.dqn import DQN, OPTIMIZERS, DQNConfig, dqn_loss, td_loss, td_target
from rlladder.errors import ConfigError, DivergenceError, SpaceError, UnknownNameError

LADDER = ["dqn-vanilla", "dqn-replay", "dqn-target", "dqn", "double-dqn", "dueling-dqn"]


SMALL = {"hidden_sizes": (16,), "batch_size": 8, "buffer_size": 200, "learning_starts": 16}


# -- the math -------------------------------------------------------------------------------


def test_td_target_by_hand():
    rewards = torch.tensor([1.0, 0.5, -1.0])
    terminated = torch.tensor([0.0, 1.0, 0.0])
    next_q = torch.tensor([[2.0, 4.0], [10.0, 10.0], [-3.0, -1.0]])
    y = td_target(rewards, terminated, next_q, 0.5)
    torch.testing.assert_close(y, torch.tensor([1.0 + 0.5 * 4.0, 0.5, -1.0 + 0.5 * -1.0]))


def test_n_step_td_target_discounts_each_sample_by_its_own_gamma_power():
    # returns already summed over k = 3, 1 and 2 steps (gamma 0.5): bootstrap with 0.5 ** k
    rewards = torch.tensor([1.75, 0.5, -1.5])
    terminated = torch.tensor([0.0, 1.0, 0.0])
    next_q = torch.tensor([[2.0, 8.0], [10.0, 10.0], [-4.0, -8.0]])
    discount = torch.tensor([0.125, 0.5, 0.25])
    y = td_target(rewards, terminated, next_q, discount)
    torch.testing.assert_close(y, torch.tensor([1.75 + 0.125 * 8.0, 0.5, -1.5 + 0.25 * -4.0]))


def test_double_td_target_values_the_online_argmax_with_the_target_net():
    rewards, terminated = torch.zeros(2), torch.zeros(2)
    next_q_target = torch.tensor([[1.0, 5.0], [7.0, 2.0]])
    next_q_online = torch.tensor([[3.0, 0.0], [0.0, 3.0]])  # picks a'=0, then a'=1
    y = td_target(rewards, terminated, next_q_target, 1.0, next_q_online)
    torch.testing.assert_close(y, torch.tensor([1.0, 2.0]))


def test_losses_by_hand():
    q, y = torch.tensor([0.0, 0.0]), torch.tensor([0.5, 3.0])
    torch.testing.assert_close(td_loss(q, y, "mse"), torch.tensor((0.25 + 9.0) / 2))
    # Huber: 0.5 * 0.5**2 inside delta=1, 1 * (3 - 0.5) outside
    torch.testing.assert_close(td_loss(q, y, "huber"), torch.tensor((0.125 + 2.5) / 2))


def make(name="dqn", env_id="CartPole-v1", seed=0, **kw):
    env = gym.make(env_id)
    return rl.make_agent(name, env, seed=seed, **{**SMALL, **kw}), env


def test_functional_loss_is_the_modules_math_and_batches_over_members():
    agent, env = make(double=True)
    rl.train(agent, env, steps=60, seed=0)
    batch = agent.buffer.sample(8)
    tensors = [torch.from_numpy(a) for a in batch]
    params = list(agent.q_net.parameters())
    target = list(agent.target_net.parameters())
    loss, q_taken, q_values = dqn_loss(params, target, tensors, gamma=0.99, double=True)
    q_all = agent.q_net(tensors[0])
    with torch.no_grad():
        y = td_target(
            tensors[2], tensors[4], agent.target_net(tensors[3]), 0.99, agent.q_net(tensors[3])
        )
    assert torch.equal(q_values, q_all)
    assert torch.equal(loss, td_loss(q_all.gather(1, tensors[1][:, None]).squeeze(1), y))

    # three networks stacked (a leading member axis), one minibatch each: one call, one loss
    # per member, each exactly the single network's
    stacked = [torch.stack([p.detach()] * 3) for p in params]
    stacked_target = [torch.stack([p.detach()] * 3) for p in target]
    batches = [torch.stack([t] * 3) for t in tensors]
    losses, _, _ = dqn_loss(stacked, stacked_target, batches, gamma=0.99, double=True)
    assert torch.equal(losses, loss.detach().expand(3))

    # and it is a function of (params, batch) that torch.func transforms take
    grads = torch.func.grad(lambda p: dqn_loss(p, target, tensors, gamma=0.99, double=True)[0])(
        [p.detach() for p in params]
    )
    agent.optimizer.zero_grad()
    loss.backward()
    for g, p in zip(grads, params, strict=True):
        torch.testing.assert_close(g, p.grad)


def test_update_is_sample_loss_step_target_on_the_pure_functions():
    """_update is dqn_loss, then one clipped optimizer step, then the target update: done by
    hand on a copy of the agent, the weights come out the same, bit for bit."""
    agent, env = make(max_grad_norm=0.5, target="soft", tau=0.1)
    rl.train(agent, env, steps=40, seed=0)
    twin = copy.deepcopy(agent)
    batch = agent.buffer.sample(8)
    agent._update(batch)

    tensors = [torch.from_numpy(a) for a in batch]
    online, target = list(twin.q_net.parameters()), list(twin.target_net.parameters())
    loss, _, _ = dqn_loss(online, target, tensors, **twin._loss_options)
    twin.optimizer.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(online, 0.5)
    twin.optimizer.step()
    with torch.no_grad():
        for t, p in zip(target, online, strict=True):
            t.lerp_(p, 0.1)
    for a, b in zip(agent.q_net.parameters(), online, strict=True):
        assert torch.equal(a, b)
    for a, b in zip(agent.target_net.parameters(), target, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop", "sgd"])
def test_foreach_optimizers_give_the_default_implementations_numbers(optimizer, monkeypatch):
    """DQN steps its optimizer in torch's foreach implementation (faster on small networks):
    the numbers are those of torch's default single-tensor one, bit for bit."""

    def history(foreach):
        import rlladder.deep.dqn as dqn_module

        monkeypatch.setattr(
            dqn_module,
            "make_optimizer",
            lambda name, params, lr: OPTIMIZERS[name](params, lr=lr, foreach=foreach),
        )
        agent, env = make(optimizer=optimizer, learning_starts=20)
        h = rl.train(agent, env, steps=300, seed=0)
        return h, [p.detach().clone() for p in agent.q_net.parameters()]

    (h1, w1), (h2, w2) = history(True), history(False)
    pd.testing.assert_frame_equal(h1, h2)
    assert all(torch.equal(a, b) for a, b in zip(w1, w2, strict=True))


# -- making agents --------------------------------------------------------------------------


@pytest.mark.parametrize("name", LADDER)
def test_every_rung_is_one_class_with_its_switches(name):
    agent, _ = make(name)
    assert type(agent) is DQN
    cfg = agent.config
    expected = {
        "dqn-vanilla": (False, "none", "mse", False, False),
        "dqn-replay": (True, "none", "mse", False, False),
        "dqn-target": (True, "hard", "mse", False, False),
        "dqn": (True, "hard", "huber", False, False),
        "double-dqn": (True, "hard", "huber", True, False),
        "dueling-dqn": (True, "hard", "huber", False, True),
    }[name]
    assert (cfg.replay, cfg.target, cfg.loss, cfg.double, cfg.dueling) == expected


def test_cartpole_preset_and_overrides():
    env = gym.make("CartPole-v1")
    agent = rl.make_agent("dqn", env, seed=0)
    assert agent.config.hidden_sizes == (128, 128) and agent.config.buffer_size == 100_000
    agent = rl.make_agent("dqn", env, seed=0, batch_size=32, target="soft", tau=0.01)
    assert (agent.config.batch_size, agent.config.target, agent.config.tau) == (32, "soft", 0.01)
    # any combination of switches, e.g. vanilla + Huber
    assert rl.make_agent("dqn-vanilla", env, loss="huber").config.replay is False


def test_frozenlake_observations_arrive_one_hot():
    agent, env = make(env_id="FrozenLake-v1")
    assert agent.adapter.dim == 16
    first = agent.q_net.layers[0]
    assert first.in_features == 16
    obs, _ = env.reset(seed=0)
    assert agent.q_values(obs).shape == (4,)
    rl.train(agent, env, steps=50, seed=0)


# -- errors ---------------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    env = gym.make("CartPole-v1")
    with pytest.raises(SpaceError, match="Discrete action space"):
        rl.make_agent("dqn", gym.make("Pendulum-v1"))
    with pytest.raises(ConfigError, match="hidden size"):
        rl.make_agent("dqn", env, hidden_sizes=(64, 0))
    with pytest.raises(ConfigError, match="batch_size=512 is larger than buffer_size=100"):
        rl.make_agent("dqn", env, batch_size=512, buffer_size=100)
    with pytest.raises(UnknownNameError, match="unknown loss 'l1'.*huber, mse"):
        rl.make_agent("dqn", env, loss="l1")
    with pytest.raises(UnknownNameError, match="optimizer"):
        rl.make_agent("dqn", env, optimizer="adamax")
    with pytest.raises(UnknownNameError, match="unknown DQN hyperparameter 'lr'"):
        rl.make_agent("dqn", env, lr=0.1)
    with pytest.raises(ConfigError, match="gamma"):
        rl.make_agent("dqn", env, gamma=1.5)
    # a learning rate starts above 0 and may anneal to exactly 0, never below
    for bad in (0.0, -1.0, {"kind": "linear", "start": 0.0, "end": 0.0, "duration": 10}):
        with pytest.raises(ConfigError, match=r"learning_rate must be in \(0.0, inf\]"):
            rl.make_agent("dqn", env, learning_rate=bad)
    with pytest.raises(ConfigError, match=r"learning_rate must be in \[0.0, inf\], got -0.1"):
        rl.make_agent(
            "dqn", env, learning_rate={"kind": "linear", "start": 1e-3, "end": -0.1, "duration": 10}
        )
    rl.make_agent(
        "dqn", env, learning_rate={"kind": "linear", "start": 1e-3, "end": 0.0, "duration": 10}
    )
    # without replay the batch is the latest transition, so a big batch is no error
    rl.make_agent("dqn-vanilla", env, batch_size=512, buffer_size=100)
    with pytest.raises(ConfigError, match="DQN: n_step must be >= 1, got 0"):
        rl.make_agent("dqn", env, n_step=0)
    with pytest.raises(ConfigError, match="n_step=3 needs replay=True.*or n_step=1"):
        rl.make_agent("dqn-vanilla", env, n_step=3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_without_cuda_is_a_clear_error():
    with pytest.raises(ConfigError, match="CUDA is not available.*device='cpu'"):
        make(device="cuda")


def test_divergence_stops_training_naming_the_step():
    agent, env = make("dqn-vanilla", learning_rate=1e30, optimizer="sgd")
    with pytest.raises(DivergenceError, match=r"env step \d+.*learning rate.*reward"):
        rl.train(agent, env, steps=500, seed=0)


# -- bookkeeping ----------------------------------------------------------------------------


def test_diagnostics_per_update():
    agent, env = make(learning_starts=10, train_every=4)
    env.reset(seed=0)
    diags = []
    obs = env.reset(seed=0)[0]
    for _ in range(30):
        a = agent.act(obs)
        nxt, r, term, trunc, _ = env.step(a)
        diags.append(agent.learn(rl.Transition(obs, a, r, nxt, term, trunc)))
        obs = env.reset()[0] if term or trunc else nxt
    updated = [i + 1 for i, d in enumerate(diags) if d]
    assert updated == [12, 16, 20, 24, 28]
    assert set(diags[11]) == {"loss", "q_mean", "action_gap", "epsilon"}
    assert diags[11]["action_gap"] >= 0


def test_diagnostics_describe_the_batch_before_the_step():
    """Without replay the batch is the latest transition, so the diagnostics can be checked by
    hand against Q(obs, .) read just before learn(): q_mean is Q(obs, a), the action gap is
    |Q(obs, 0) - Q(obs, 1)|, the loss is the Huber loss of the TD error."""
    agent, env = make("dqn-vanilla", learning_starts=0, loss="huber", huber_delta=1.0)
    obs = env.reset(seed=0)[0]
    for _ in range(5):
        q = agent.q_values(obs)
        a = agent.act(obs)
        nxt, r, term, trunc, _ = env.step(a)
        y = r + agent.config.gamma * (1 - term) * agent.q_values(nxt).max()
        d = agent.learn(rl.Transition(obs, a, r, nxt, term, trunc))
        err = abs(y - q[a])
        huber = 0.5 * err**2 if err <= 1.0 else err - 0.5
        assert d["q_mean"] == pytest.approx(q[a], abs=1e-5)
        assert d["action_gap"] == pytest.approx(abs(q[0] - q[1]), abs=1e-5)
        assert d["loss"] == pytest.approx(huber, rel=1e-4, abs=1e-6)
        obs = env.reset()[0] if term or trunc else nxt


def test_vanilla_learns_from_the_latest_transition_only():
    agent, env = make("dqn-vanilla", learning_starts=0)
    assert agent.buffer.capacity == 1
    obs = env.reset(seed=0)[0]
    nxt, *_ = env.step(0)
    agent.learn(rl.Transition(obs, 0, 1.0, nxt, False, False))
    np.testing.assert_array_equal(agent.buffer.latest().next_obs[0], nxt)
    assert agent.updates_done == 1


def test_hard_and_soft_target_updates():
    agent, env = make(target="hard", target_update_every=5, learning_starts=0)
    rl.train(agent, env, steps=7, seed=0)  # 7 updates: copied at update 5, then 2 more steps
    w_online = agent.q_net.head.weight
    w_target = agent.target_net.head.weight
    assert not torch.equal(w_online, w_target)
    rl.train(agent, env, steps=3, seed=1)  # update 10 copies again
    assert torch.equal(agent.q_net.head.weight, agent.target_net.head.weight)

    agent, env = make(target="soft", tau=0.25, learning_starts=0)
    before = agent.target_net.head.weight.clone()
    rl.train(agent, env, steps=1, seed=0)
    torch.testing.assert_close(
        agent.target_net.head.weight, 0.75 * before + 0.25 * agent.q_net.head.weight
    )


def test_learning_rate_annealed_to_zero_freezes_the_network_without_stepping():
    """Once the schedule reaches exactly 0 no gradient step is taken (it could not change a
    weight), yet every update still reports its diagnostics and keeps the counters."""
    lr = {"kind": "linear", "start": 1e-2, "end": 0.0, "duration": 20}
    agent, env = make(learning_rate=lr, learning_starts=0)
    rl.train(agent, env, steps=20, seed=0)
    adam_steps = agent.optimizer.state_dict()["state"][0]["step"].item()
    assert adam_steps == 19  # steps 1-19 learn; at step 20 the rate is 0
    frozen = {k: v.clone() for k, v in agent.q_net.state_dict().items()}
    history = rl.train(agent, env, steps=30, seed=1)
    assert all(torch.equal(frozen[k], v) for k, v in agent.q_net.state_dict().items())
    assert agent.optimizer.state_dict()["state"][0]["step"].item() == adam_steps
    assert agent.updates_done == 50
    assert history["loss"].notna().all() and history["q_mean"].notna().all()


def test_greedy_act_has_no_side_effects():
    agent, env = make()
    obs = env.reset(seed=0)[0]
    state = agent.rng.bit_generator.state
    actions = {agent.act(obs, explore=False) for _ in range(5)}
    assert len(actions) == 1 and agent.rng.bit_generator.state == state
    assert actions == {int(np.argmax(agent.q_values(obs)))}


def test_same_seed_same_history_different_seed_different():
    def history(seed):
        agent, env = make(seed=seed, learning_starts=50)
        return rl.train(agent, env, steps=400, seed=seed)

    pd.testing.assert_frame_equal(history(3), history(3))
    assert not history(3).equals(history(4))


def test_network_init_leaves_global_torch_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make()
    torch.testing.assert_close(torch.rand(3), expected)


def test_save_load_acts_identically_and_resumes(tmp_path):
    agent, env = make("dueling-dqn", epsilon=0.3)
    rl.train(agent, env, steps=300, seed=0)
    path = tmp_path / "agent.pt"
    agent.save(path)
    torch.load(path, weights_only=True)  # nothing but tensors and plain values inside
    loaded = DQN.load(path)
    assert loaded.config == agent.config
    observations = [env.observation_space.sample() for _ in range(50)]
    assert [agent.act(o, explore=False) for o in observations] == [
        loaded.act(o, explore=False) for o in observations
    ]
    np.testing.assert_array_equal(agent.q_values(observations[0]), loaded.q_values(observations[0]))
    # training on from the checkpoint gives what training on the original gives
    h1 = rl.train(agent, env, steps=100, seed=5)
    h2 = rl.train(loaded, gym.make("CartPole-v1"), steps=100, seed=5)
    pd.testing.assert_frame_equal(h1, h2)


def test_config_object_and_keywords_agree():
    env = gym.make("CartPole-v1")
    a = DQN(env.observation_space, env.action_space, seed=1, config=DQNConfig(**SMALL))
    b = DQN(env.observation_space, env.action_space, seed=1, **SMALL)
    assert a.config == b.config
    obs = env.reset(seed=0)[0]
    np.testing.assert_array_equal(a.q_values(obs), b.q_values(obs))


def test_an_episode_unit_learning_rate_counts_episodes():
    """The optimizer's rate follows the schedule's own unit: a 5-episode decay is spent after
    5 episodes, not after 5 steps (the trackers report the same rate)."""
    env = gym.make("CartPole-v1")
    lr = {"kind": "linear", "start": 1e-3, "end": 1e-5, "duration": 5, "unit": "episode"}
    agent = DQN(env.observation_space, env.action_space, seed=0, learning_rate=lr, **SMALL)
    rates = []

    def remember(record, agent):
        rates.append((agent.episodes_done, agent.optimizer.param_groups[0]["lr"]))

    rl.train(agent, env, episodes=12, seed=0, callbacks=[remember])
    updated = [(episodes, rate) for episodes, rate in rates if episodes >= 2]
    assert len(updated) >= 10 and updated[-1][1] == pytest.approx(1e-5)
    # the rate of the last update in an episode is the schedule's at that episode's start
    for episodes, rate in updated:
        start = episodes - 1
        assert rate == pytest.approx(1e-3 + (1e-5 - 1e-3) * min(start, 5) / 5)
    assert rl.loggers.base.learning_rate(agent) == pytest.approx(1e-5)
