"""Exercise checks for DQN's pieces, held against :mod:`rlladder.deep.dqn`'s own functions:
the TD target (:func:`~rlladder.deep.dqn.td_target`), the MSE and Huber losses
(:func:`~rlladder.deep.dqn.td_loss`) and the hard and soft target updates
(:func:`~rlladder.deep.dqn.update_target`, on copies of :class:`~rlladder.deep.networks.QNetwork`
parameters).

::

    def td_target(rewards, terminated, next_q_target, gamma):
        return rewards + gamma * (1 - terminated) * next_q_target.max(dim=-1).values

    rl.exercises.check_td_target(td_target)      # check_td_target: 13 cases passed
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from rlladder.deep.config import DQNConfig
from rlladder.deep.dqn import td_loss, td_target, update_target
from rlladder.deep.networks import QNetwork
from rlladder.exercises.cases import Case, CaseRunner, kind_of

__all__ = [
    "check_td_target",
    "check_mse_loss",
    "check_huber_loss",
    "check_hard_target_update",
    "check_soft_target_update",
    "TD_TARGET_HINTS",
    "MSE_LOSS_HINTS",
    "HUBER_LOSS_HINTS",
    "HARD_TARGET_UPDATE_HINTS",
    "SOFT_TARGET_UPDATE_HINTS",
]

RANDOM_CASES = 5


def _tensor(values: Any) -> torch.Tensor:
    return torch.as_tensor(values, dtype=torch.float32).clone()


def _expect_tensor(
    runner: CaseRunner, got: Any, shape: tuple[int, ...], what: str, hint: str = "shape"
) -> None:
    """Fail unless ``got`` is a floating torch tensor of ``shape`` (else with ``hint``)."""
    want = f"a torch.Tensor of shape {shape} ({what})"
    if not isinstance(got, torch.Tensor):
        runner.fail(f"expected {want}, got {kind_of(got)}", hint="shape")
    if tuple(got.shape) != shape:
        runner.fail(f"expected {want}, got {kind_of(got)}", hint=hint)
    if not got.is_floating_point():
        runner.fail(f"expected {want} of floats, got dtype {got.dtype}", hint="shape")


def _call_on_copies(
    runner: CaseRunner, fn: Callable[..., Any], inputs: dict[str, torch.Tensor | float]
) -> Any:
    """``fn`` on clones of ``inputs``; fail if it changed one of them in place."""
    given = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}
    got = runner.call(fn, *given.values())
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor) and not torch.equal(given[name], value):
            runner.fail(f"your function changed its input '{name}' in place", hint="in-place-input")
    return got


# ---------------------------------------------------------------------------------------------
# The TD target
# ---------------------------------------------------------------------------------------------

#: hint key -> hint, for :func:`check_td_target`
TD_TARGET_HINTS = {
    "gamma": "with gamma = 0 the target is just the reward: the next value is multiplied by "
    "gamma, y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')",
    "add": "when the episode goes on (terminated = 0) the target bootstraps: add the discounted "
    "next value to the reward, y = r + gamma * max_a' Q_target(s', a')",
    "terminal": "at a terminal transition the target is just r: multiply the bootstrap term "
    "by (1 - terminated)",
    "max": "bootstrap from the best next action: take the max over the actions, "
    "next_q_target.max(dim=-1).values (not the mean, the sum or the first action)",
    "ties": "when two actions tie for the best, the next value is still that one value: "
    "use .max(dim=-1).values",
    "axis": "take the max over the actions (the last axis, dim=-1), not over the batch (dim=0)",
    "mixed": "each transition of the batch has its own terminated flag: (1 - terminated) "
    "multiplies the bootstrap term element by element",
    "shape": "y has one value per transition: shape (batch,), like rewards "
    "(keep the batch axis; a batch of one is shape (1,), not ())",
    "in-place-input": "compute a new tensor (rewards + ...), do not modify the batch in place "
    "(no +=, add_ or mul_ on your inputs)",
    "random": "y = r + gamma * (1 - terminated) * max_a' Q_target(s', a')",
}


def check_td_target(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor],
) -> None:
    """Check ``fn(rewards, terminated, next_q_target, gamma) -> y`` against
    :func:`rlladder.deep.dqn.td_target`.

    .. math:: y_i = r_i + \\gamma\\,(1 - d_i)\\,\\max_{a'} Q^-(s'_i, a')

    ``rewards`` and ``terminated`` (1.0 where the episode truly ended, never merely truncated)
    have shape ``(batch,)``, ``next_q_target`` has shape ``(batch, n_actions)``, ``gamma`` is a
    float; ``y`` is a float tensor of shape ``(batch,)``. All float32.

    Args:
        fn: the student's TD target.

    Raises:
        ExerciseFailed: on the first case where ``fn`` disagrees with the library, raises,
            changes its inputs, or returns something other than a tensor of shape ``(batch,)``.
    """

    def case(name: str, hint: str, r: Any, d: Any, q: Any, gamma: float) -> Case:
        inputs = {"rewards": _tensor(r), "terminated": _tensor(d), "next_q_target": _tensor(q)}
        return Case(name, hint, {**inputs, "gamma": gamma})

    cases = [
        case("gamma = 0", "gamma", [1.0], [0.0], [[2.0, 3.0]], 0.0),
        case("a single action", "add", [1.0], [0.0], [[2.0]], 0.5),
        case("a terminal transition", "terminal", [1.0], [1.0], [[2.0, 3.0]], 0.9),
        case("the max over three actions", "max", [0.0], [0.0], [[1.0, 5.0, 2.0]], 0.9),
        case("ties in the max", "ties", [0.0], [0.0], [[3.0, 3.0, 1.0]], 0.9),
        case(
            "a batch as wide as it is long",
            "axis",
            [0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [[1.0, 2.0, 3.0], [6.0, 5.0, 4.0], [0.0, -1.0, -2.0]],
            0.5,
        ),
        case(
            "terminal and non-terminal in one batch",
            "mixed",
            [1.0, 2.0, -1.0, 0.5],
            [0.0, 1.0, 0.0, 1.0],
            [[1.0, 2.0], [4.0, 3.0], [0.5, -0.5], [7.0, 7.0]],
            0.99,
        ),
        case("a batch of one", "shape", [0.5], [0.0], [[-1.0, -2.0]], 0.99),
    ]
    gen = torch.Generator().manual_seed(0)
    for i in range(RANDOM_CASES):
        batch, actions = 2 + 7 * i, 2 + i % 3
        cases.append(
            case(
                f"random batch of {batch}",
                "random",
                torch.randn(batch, generator=gen),
                (torch.rand(batch, generator=gen) < 0.3).float(),
                torch.randn(batch, actions, generator=gen) * 3,
                round(0.9 + 0.02 * i, 2),
            )
        )
    runner = CaseRunner("check_td_target", TD_TARGET_HINTS)

    def run_one(c: Case) -> None:
        inputs = dict(c.inputs)
        got = _call_on_copies(runner, fn, inputs)
        expected = td_target(*inputs.values())
        n_actions = inputs["next_q_target"].shape[-1]
        if isinstance(got, torch.Tensor) and got.shape == (n_actions,) != expected.shape:
            hint = "axis"  # one value per action: the max was taken over the batch
        else:
            hint = "shape"
        _expect_tensor(runner, got, tuple(expected.shape), "one target per transition", hint)
        runner.expect_close(expected, got)

    runner.run(cases, run_one)


# ---------------------------------------------------------------------------------------------
# The losses
# ---------------------------------------------------------------------------------------------

_GRADIENT_HINT = (
    "build the loss from q_taken with torch operations (no .item(), .detach(), numpy or "
    "torch.tensor(...) around it), so that loss.backward() reaches the network"
)

#: hint key -> hint, for :func:`check_mse_loss`
MSE_LOSS_HINTS = {
    "square": "the MSE is the mean of the squared errors (y - Q(s, a))**2: square the error, "
    "with no factor 1/2 and no absolute value",
    "mean": "average over the batch: .mean() of the squared errors, not .sum()",
    "shape": "the loss is one number for the whole batch: a scalar tensor (shape ()), "
    "the mean of the squared errors over the batch",
    "gradient": _GRADIENT_HINT,
    "in-place-input": "compute a new tensor, do not modify q_taken or target in place",
    "random": "loss = mean over the batch of (y - Q(s, a))**2",
}

#: hint key -> hint, for :func:`check_huber_loss`
HUBER_LOSS_HINTS = {
    "small": "while |y - Q| <= delta the Huber loss is quadratic: 0.5 * (y - Q)**2",
    "large": "beyond delta the Huber loss grows linearly: delta * (|y - Q| - 0.5 * delta), "
    "so that the two branches meet at |y - Q| = delta",
    "delta": "use the delta you are given, both in the test |y - Q| <= delta and in the "
    "linear branch delta * (|y - Q| - 0.5 * delta)",
    "negative": "the Huber loss depends on the size of the error: test and use |y - Q| "
    "(the absolute value), so that Q above y costs as much as Q below y",
    "mean": "average over the batch: .mean() of the per-transition losses, not .sum()",
    "shape": "the loss is one number for the whole batch: a scalar tensor (shape ()), "
    "the mean of the per-transition losses over the batch",
    "gradient": _GRADIENT_HINT,
    "in-place-input": "compute a new tensor, do not modify q_taken or target in place",
    "random": "loss = mean over the batch of 0.5 * e**2 where |e| <= delta, else "
    "delta * (|e| - 0.5 * delta), with e = y - Q(s, a)",
}


def _loss_case(name: str, hint: str, q: Any, y: Any, **extra: float) -> Case:
    return Case(name, hint, {"q_taken": _tensor(q), "target": _tensor(y), **extra})


def _random_loss_cases(n: int, *, delta: bool) -> list[Case]:
    gen = torch.Generator().manual_seed(0)
    cases = []
    for i in range(n):
        batch = 3 + 9 * i
        extra = {"delta": round(0.5 + 0.5 * i, 2)} if delta else {}
        q = torch.randn(batch, generator=gen) * 3
        y = torch.randn(batch, generator=gen) * 3
        cases.append(
            Case(f"random batch of {batch}", "random", {"q_taken": q, "target": y, **extra})
        )
    return cases


def _check_loss(runner: CaseRunner, fn: Callable[..., Any], cases: list[Case], kind: str) -> None:
    def run_one(c: Case) -> None:
        inputs = dict(c.inputs)
        delta = float(inputs.get("delta", 1.0))
        got = _call_on_copies(runner, fn, inputs)
        expected = td_loss(inputs["q_taken"], inputs["target"], kind, delta)
        _expect_tensor(runner, got, (), "one loss for the batch")
        runner.expect_close(expected, got)
        if c.hint == "gradient":
            q_ref = inputs["q_taken"].clone().requires_grad_(True)
            td_loss(q_ref, inputs["target"], kind, delta).backward()
            q = inputs["q_taken"].clone().requires_grad_(True)
            extra = [inputs["delta"]] if "delta" in inputs else []
            loss = runner.call(fn, q, inputs["target"].clone(), *extra)
            if not isinstance(loss, torch.Tensor) or not loss.requires_grad:
                runner.fail("your loss carries no gradient back to q_taken")
            runner.call(loss.backward, what="loss.backward()")
            got_grad = q.grad if q.grad is not None else torch.zeros_like(q)
            runner.expect_close(q_ref.grad, got_grad, what="the gradient d loss / d q_taken")

    runner.run(cases, run_one)


def check_mse_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    """Check ``fn(q_taken, target) -> loss`` against :func:`rlladder.deep.dqn.td_loss` with
    ``loss="mse"``.

    .. math:: L = \\frac{1}{B} \\sum_{i=1}^{B} \\big(y_i - Q(s_i, a_i)\\big)^2

    ``q_taken`` (``Q(s, a)`` of the actions taken) and ``target`` (``y``) have shape
    ``(batch,)``; the loss is a scalar tensor whose gradient reaches ``q_taken``.

    Args:
        fn: the student's loss.

    Raises:
        ExerciseFailed: on the first case where ``fn`` disagrees with the library (value or
            gradient), raises, changes its inputs, or returns something other than a scalar tensor.
    """
    cases = [
        _loss_case("one transition, error 2", "square", [1.0], [3.0]),
        _loss_case("one transition, error 0.5", "square", [0.0], [-0.5]),
        _loss_case("a batch of three", "mean", [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]),
        _loss_case("the gradient reaches Q(s, a)", "gradient", [1.0, -2.0, 0.5], [0.0, 1.0, 3.0]),
        *_random_loss_cases(RANDOM_CASES, delta=False),
    ]
    _check_loss(CaseRunner("check_mse_loss", MSE_LOSS_HINTS), fn, cases, "mse")


def check_huber_loss(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> None:
    """Check ``fn(q_taken, target, delta) -> loss`` against :func:`rlladder.deep.dqn.td_loss`
    with ``loss="huber"``.

    .. math:: L = \\frac{1}{B} \\sum_{i=1}^{B} \\ell_\\delta\\big(y_i - Q(s_i, a_i)\\big), \\quad
              \\ell_\\delta(e) = \\begin{cases} \\tfrac12 e^2 & |e| \\le \\delta \\\\
              \\delta\\,(|e| - \\tfrac12\\delta) & \\text{otherwise} \\end{cases}

    ``q_taken`` and ``target`` have shape ``(batch,)``, ``delta`` is a positive float; the loss
    is a scalar tensor whose gradient reaches ``q_taken``.

    Args:
        fn: the student's loss.

    Raises:
        ExerciseFailed: on the first case where ``fn`` disagrees with the library (value or
            gradient), raises, changes its inputs, or returns something other than a scalar tensor.
    """
    cases = [
        _loss_case("a small error (|y - Q| < delta)", "small", [0.0], [0.5], delta=1.0),
        _loss_case("a large error (|y - Q| > delta)", "large", [0.0], [3.0], delta=1.0),
        _loss_case("delta = 2, a large error", "delta", [0.0], [3.0], delta=2.0),
        _loss_case("delta = 2, an error of 1.5", "delta", [0.0], [1.5], delta=2.0),
        _loss_case("Q above y (a negative error)", "negative", [3.0], [0.0], delta=1.0),
        _loss_case("a batch of three", "mean", [0.0, 0.0, 0.0], [0.5, 2.0, -3.0], delta=1.0),
        _loss_case(
            "the gradient reaches Q(s, a)",
            "gradient",
            [1.0, -2.0, 0.5],
            [0.0, 1.0, 3.0],
            delta=1.0,
        ),
        *_random_loss_cases(RANDOM_CASES, delta=True),
    ]
    _check_loss(CaseRunner("check_huber_loss", HUBER_LOSS_HINTS), fn, cases, "huber")


# ---------------------------------------------------------------------------------------------
# The target network's update
# ---------------------------------------------------------------------------------------------

_IN_PLACE_NETS = (
    "your function left the target network unchanged: update its parameters in place "
    "(target_param.data.copy_(...) under torch.no_grad(), or target_net.load_state_dict(...)); "
    "assigning a new network to the name target_net inside the function changes nothing outside it"
)

#: hint key -> hint, for :func:`check_hard_target_update`
HARD_TARGET_UPDATE_HINTS = {
    "copy": "a hard update copies every parameter of the online network into the target "
    "network: theta_target <- theta",
    "online": "the online network must not change: copy from online_net into target_net, "
    "not the other way round",
    "alias": "copy the values (target_param.data.copy_(param), or target_net.load_state_dict("
    "online_net.state_dict())): target_param.data = param.data makes both networks share one "
    "tensor, and the target then moves with every gradient step of the online network",
    "unchanged": _IN_PLACE_NETS,
    "random": "theta_target <- theta, for every parameter, in place",
}

#: hint key -> hint, for :func:`check_soft_target_update`
SOFT_TARGET_UPDATE_HINTS = {
    "halfway": "theta_target <- tau * theta + (1 - tau) * theta_target: with tau = 0.5 the "
    "target lands halfway between the two networks",
    "small-tau": "tau weighs the online network and 1 - tau the target network: "
    "theta_target <- tau * theta + (1 - tau) * theta_target (a small tau moves the target a "
    "little towards the online network)",
    "tau-one": "with tau = 1 the soft update is a hard copy: theta_target <- theta",
    "repeated": "each call moves the target a fraction tau of the remaining way towards the "
    "online network, starting from where the target is now",
    "online": "the online network must not change: update target_net only",
    "unchanged": _IN_PLACE_NETS,
    "random": "theta_target <- tau * theta + (1 - tau) * theta_target, for every parameter, "
    "in place",
}


def _network_pair(seed: int, dueling: bool = False) -> tuple[QNetwork, QNetwork]:
    """A target and an online :class:`QNetwork` with different weights (fixed seeds)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        target = QNetwork(3, 2, (8,), dueling=dueling)
        online = QNetwork(3, 2, (8,), dueling=dueling)
    return target, online


def _params(net: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in net.parameters()]


def _expect_nets(
    runner: CaseRunner,
    student: tuple[nn.Module, nn.Module],
    reference: tuple[nn.Module, nn.Module],
    before: list[torch.Tensor],
) -> None:
    """The student's pair equals the reference pair: the online network first, then the target."""
    for got, want in zip(student[1].parameters(), reference[1].parameters(), strict=True):
        runner.expect_close(want, got, what="the online network's parameters", hint="online")
    got_target = _params(student[0])
    if all(torch.equal(g, b) for g, b in zip(got_target, before, strict=True)):
        runner.fail("the target network's parameters did not change", hint="unchanged")
    for (name, _), got, want in zip(
        student[0].named_parameters(), got_target, reference[0].parameters(), strict=True
    ):
        runner.expect_close(want, got, what=f"the target network's {name}")


def _check_target_update(
    runner: CaseRunner,
    cases: list[Case],
    student: Callable[[nn.Module, nn.Module, Case], Any],
    config: Callable[[Case], DQNConfig],
) -> None:
    def run_one(c: Case) -> None:
        target, online = _network_pair(c.inputs["seed"], c.inputs.get("dueling", False))
        ref_target, ref_online = copy.deepcopy(target), copy.deepcopy(online)
        before = _params(target)
        for _ in range(c.inputs.get("updates", 1)):
            student(target, online, c)
            update_target(
                list(ref_target.parameters()), list(ref_online.parameters()), config(c), 0
            )
        _expect_nets(runner, (target, online), (ref_target, ref_online), before)
        if c.hint == "alias":  # the online network takes a gradient step: the target stays
            with torch.no_grad():
                for p in online.parameters():
                    p.add_(1.0)
            for (name, _), got, want in zip(
                target.named_parameters(), target.parameters(), ref_target.parameters(), strict=True
            ):
                runner.expect_close(
                    want, got, what=f"after a step of the online network, the target's {name}"
                )

    runner.run(cases, run_one)


def check_hard_target_update(fn: Callable[[nn.Module, nn.Module], None]) -> None:
    """Check ``fn(target_net, online_net) -> None`` against
    :func:`rlladder.deep.dqn.update_target` with ``target="hard"``.

    .. math:: \\theta^- \\leftarrow \\theta

    ``fn`` copies the online network's parameters into the target network in place (both
    :class:`~rlladder.deep.networks.QNetwork` modules of one architecture); the online network
    is left as it was, and the target keeps its own tensors (a copy, not an alias).

    Args:
        fn: the student's hard update.

    Raises:
        ExerciseFailed: on the first case where the networks ``fn`` leaves differ from the
            library's, or ``fn`` raises.
    """
    cases = [
        Case("one copy", "copy", {"seed": 0}),
        Case("the target copies, not aliases, the tensors", "alias", {"seed": 1}),
        *(Case(f"random networks {i + 1}", "random", {"seed": 10 + i}) for i in range(3)),
        Case("a dueling network", "random", {"seed": 20, "dueling": True}),
    ]
    runner = CaseRunner("check_hard_target_update", HARD_TARGET_UPDATE_HINTS)
    config = DQNConfig(target="hard", target_update_every=1)
    _check_target_update(runner, cases, lambda t, o, c: runner.call(fn, t, o), lambda c: config)


def check_soft_target_update(fn: Callable[[nn.Module, nn.Module, float], None]) -> None:
    """Check ``fn(target_net, online_net, tau) -> None`` against
    :func:`rlladder.deep.dqn.update_target` with ``target="soft"`` (Polyak averaging).

    .. math:: \\theta^- \\leftarrow \\tau\\,\\theta + (1 - \\tau)\\,\\theta^-

    ``fn`` moves the target network's parameters in place a fraction ``tau`` (in (0, 1]) of the
    way towards the online network's; the online network is left as it was.

    Args:
        fn: the student's soft update.

    Raises:
        ExerciseFailed: on the first case where the networks ``fn`` leaves differ from the
            library's, or ``fn`` raises.
    """
    cases = [
        Case("tau = 0.5", "halfway", {"seed": 0, "tau": 0.5}),
        Case("tau = 0.01", "small-tau", {"seed": 1, "tau": 0.01}),
        Case("tau = 1", "tau-one", {"seed": 2, "tau": 1.0}),
        Case("three updates in a row", "repeated", {"seed": 3, "tau": 0.1, "updates": 3}),
        *(
            Case(f"random networks {i + 1}", "random", {"seed": 10 + i, "tau": 0.005 * (i + 1)})
            for i in range(3)
        ),
        Case("a dueling network", "random", {"seed": 20, "tau": 0.05, "dueling": True}),
    ]
    runner = CaseRunner("check_soft_target_update", SOFT_TARGET_UPDATE_HINTS)
    _check_target_update(
        runner,
        cases,
        lambda t, o, c: runner.call(fn, t, o, c.inputs["tau"]),
        lambda c: DQNConfig(target="soft", tau=c.inputs["tau"]),
    )
