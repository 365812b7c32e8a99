"""Exercise checks for the tabular updates, held against the library's own functions: the
Q-learning update (:func:`~rlladder.tabular.q_learning.td_target` and
:func:`~rlladder.tabular.q_learning.td_update`) and Projective Simulation's glow and h-matrix
updates (:func:`~rlladder.tabular.projective_simulation.glow_update`,
:func:`~rlladder.tabular.projective_simulation.h_update`).

::

    def q_learning_update(q, s, a, reward, next_s, terminated, eta, gamma):
        target = reward if terminated else reward + gamma * q[next_s].max()
        q[s, a] += eta * (target - q[s, a])

    rl.exercises.check_q_learning_update(q_learning_update)   # ...: 11 cases passed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from rlladder.exercises.cases import Case, CaseRunner
from rlladder.tabular.projective_simulation import glow_update, h_update
from rlladder.tabular.q_learning import td_target, td_update

__all__ = [
    "check_q_learning_update",
    "check_glow_update",
    "check_h_update",
    "Q_LEARNING_UPDATE_HINTS",
    "GLOW_UPDATE_HINTS",
    "H_UPDATE_HINTS",
]

RANDOM_CASES = 5

_UNCHANGED = (
    "your function left {name} unchanged: update the array you are given in place "
    "({example}); a new array that you return, or assign to the name {name} inside the "
    "function, changes nothing outside it"
)


def _check_in_place(
    runner: CaseRunner,
    fn: Callable[..., Any],
    cases: list[Case],
    reference: Callable[..., None],
    arrays: tuple[str, ...],
    changing: str,
    cell: Callable[[Case], tuple[int, int] | None] = lambda c: None,
) -> None:
    """Run ``fn`` and ``reference`` on copies of each case's inputs and compare the arrays.

    ``arrays`` name the inputs that are numpy arrays (copied for each side), ``changing`` the
    one the update must change; where ``cell(case)`` names the one entry that may change, a
    difference elsewhere gets the hint ``"one-entry"``."""

    def run_one(c: Case) -> None:
        mine = {k: v.copy() if k in arrays else v for k, v in c.inputs.items()}
        theirs = {k: v.copy() if k in arrays else v for k, v in c.inputs.items()}
        returned = runner.call(fn, *theirs.values())
        reference(**mine)
        for name in arrays:
            if name == changing:
                continue
            runner.expect_close(
                mine[name], theirs[name], what=f"{name} after the call", hint="reads"
            )
        got, want = theirs[changing], mine[changing]
        if not np.array_equal(want, c.inputs[changing]) and np.array_equal(got, c.inputs[changing]):
            # a new array that came back is the likely mistake; else the case says what is wrong
            hint = "unchanged" if returned is not None else None
            runner.fail(
                f"your function left {changing} as it was",
                expected=want,
                got=got,
                hint=hint,
                compare=True,
            )
        where = cell(c)
        if where is not None:
            others = np.ones(want.shape, dtype=bool)
            others[where] = False
            runner.expect_close(
                want[others], got[others], what=f"{changing} outside {where}", hint="one-entry"
            )
        runner.expect_close(want, got, what=f"{changing} after the call")

    runner.run(cases, run_one)


# ---------------------------------------------------------------------------------------------
# Q-learning
# ---------------------------------------------------------------------------------------------

#: hint key -> hint, for :func:`check_q_learning_update`
Q_LEARNING_UPDATE_HINTS = {
    "eta": "Q[s, a] moves a fraction eta towards the target: "
    "Q[s, a] <- Q[s, a] + eta * (target - Q[s, a])",
    "gamma": "with gamma = 0 the target is just the reward: the next value is multiplied by "
    "gamma, target = r + gamma * max_a' Q[s', a']",
    "max": "bootstrap from the best action in the next state: max over a' of Q[s', a'] "
    "(not the mean, the sum or the first entry of the row)",
    "next-row": "bootstrap from Q[next_s], the row of the state you landed in (not Q[s], and "
    "not the max of the whole table)",
    "terminal": "at a terminal transition the target is just r: nothing follows, so do not add "
    "gamma * max_a' Q[s', a']",
    "estimate": "move Q[s, a] towards the target: add eta * (target - Q[s, a]), not eta * target",
    "one-entry": "the update changes the one entry Q[s, a]; the rest of the table stays as it was",
    "unchanged": _UNCHANGED.format(name="q", example="q[s, a] += ..."),
    "random": "Q[s, a] <- Q[s, a] + eta * (r + gamma * (1 - terminated) * max_a' Q[s', a'] "
    "- Q[s, a])",
}


def _q_learning_reference(
    q: np.ndarray,
    s: int,
    a: int,
    reward: float,
    next_s: int,
    terminated: bool,
    eta: float,
    gamma: float,
) -> None:
    """The library's update, as :class:`~rlladder.tabular.QLearning` runs it (Q-learning)."""
    td_update(q, s, a, td_target(reward, float(q[next_s].max()), gamma, terminated), eta)


def check_q_learning_update(
    fn: Callable[[np.ndarray, int, int, float, int, bool, float, float], None],
) -> None:
    """Check ``fn(q, s, a, reward, next_s, terminated, eta, gamma) -> None`` against
    :func:`rlladder.tabular.q_learning.td_target` and :func:`~rlladder.tabular.q_learning.td_update`.

    .. math:: Q(s, a) \\leftarrow Q(s, a) + \\eta\\,\\big(r + \\gamma\\,(1 - d)\\,
              \\max_{a'} Q(s', a') - Q(s, a)\\big)

    ``q`` is a numpy array of shape ``(n_states, n_actions)`` that ``fn`` updates in place;
    ``terminated`` (``d``) is True where the episode truly ended (not at a time limit).

    Args:
        fn: the student's update.

    Raises:
        ExerciseFailed: on the first case where the table ``fn`` leaves differs from the
            library's, or ``fn`` raises.
    """

    def case(name: str, hint: str, q: Any, s: int, a: int, r: float, s1: int, d: bool,
             eta: float, gamma: float) -> Case:  # fmt: skip
        inputs = {"q": np.array(q, dtype=np.float64), "s": s, "a": a, "reward": r}
        return Case(
            name, hint, {**inputs, "next_s": s1, "terminated": d, "eta": eta, "gamma": gamma}
        )

    zeros = [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]
    cases = [
        case("a zero table and a reward", "eta", zeros, 0, 1, 1.0, 1, False, 0.5, 0.9),
        case("gamma = 0", "gamma", [[0.0, 0.0], [1.0, 3.0], [0.0, 0.0]], 0, 1, 1.0, 1, False, 1.0, 0.0),
        case("the max over the next actions", "max", [[3, 0], [1, 3], [0, 0]], 0, 1, 0.0, 1, False, 1.0, 0.9),
        case("the next state's row", "next-row", [[5, 0], [1, 3], [9, 9]], 0, 1, 0.0, 1, False, 1.0, 0.9),
        case("a terminal transition", "terminal", [[0, 0], [1, 3], [0, 0]], 0, 1, 1.0, 1, True, 1.0, 0.9),
        case("an existing estimate", "estimate", [[0, 2], [0, 0], [0, 0]], 0, 1, 1.0, 2, True, 0.5, 0.9),
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    for i in range(RANDOM_CASES):
        n_states, n_actions = 4 + i, 2 + i % 3
        cases.append(
            case(
                f"random table {i + 1}",
                "random",
                rng.normal(size=(n_states, n_actions)),
                int(rng.integers(n_states)),
                int(rng.integers(n_actions)),
                round(float(rng.normal()), 3),
                int(rng.integers(n_states)),
                bool(i % 2),
                round(float(rng.uniform(0.05, 1.0)), 3),
                round(float(rng.uniform(0.5, 1.0)), 3),
            )
        )
    runner = CaseRunner("check_q_learning_update", Q_LEARNING_UPDATE_HINTS)
    cell = lambda c: (c.inputs["s"], c.inputs["a"])  # noqa: E731
    _check_in_place(runner, fn, cases, _q_learning_reference, ("q",), "q", cell)


# ---------------------------------------------------------------------------------------------
# Projective Simulation
# ---------------------------------------------------------------------------------------------

#: hint key -> hint, for :func:`check_glow_update`
GLOW_UPDATE_HINTS = {
    "edge": "after the step the edge just used glows fully, glow[s, a] = 1: set it after "
    "fading the glow matrix, not before",
    "decay": "every edge's glow fades each step: multiply the whole glow matrix by (1 - eta), "
    "the fraction kept (not by eta), then set glow[s, a] = 1",
    "order": "after the step the edge just used holds exactly 1: first fade everything, "
    "glow *= 1 - eta, then set glow[s, a] = 1 (set it, do not add 1)",
    "unchanged": _UNCHANGED.format(name="glow", example="glow *= 1 - eta"),
    "random": "glow <- (1 - eta) * glow, then glow[s, a] <- 1",
}


def check_glow_update(fn: Callable[[np.ndarray, int, int, float], None]) -> None:
    """Check ``fn(glow, s, a, eta) -> None`` against
    :func:`rlladder.tabular.projective_simulation.glow_update`.

    .. math:: g \\leftarrow (1 - \\eta)\\,g, \\qquad g(s, a) \\leftarrow 1

    ``glow`` is a numpy array of shape ``(n_states, n_actions)`` that ``fn`` updates in place:
    every edge fades by the factor ``1 - eta``, and the edge just used, ``(s, a)``, glows fully.

    Args:
        fn: the student's glow update.

    Raises:
        ExerciseFailed: on the first case where the glow ``fn`` leaves differs from the
            library's, or ``fn`` raises.
    """

    def case(name: str, hint: str, glow: Any, s: int, a: int, eta: float) -> Case:
        return Case(
            name, hint, {"glow": np.array(glow, dtype=np.float64), "s": s, "a": a, "eta": eta}
        )

    cases = [
        case("a zero glow matrix", "edge", [[0.0, 0.0], [0.0, 0.0]], 1, 0, 0.1),
        case("the glow of other edges fades", "decay", [[1.0, 1.0], [0.5, 0.0]], 1, 1, 0.25),
        case("the edge just used had some glow", "order", [[0.0, 0.0], [0.5, 0.0]], 1, 0, 0.25),
        case("eta = 1 forgets everything else", "decay", [[1.0, 0.3], [0.5, 0.2]], 0, 0, 1.0),
    ]
    rng = np.random.default_rng(0)
    for i in range(RANDOM_CASES):
        shape = (3 + i, 2 + i % 2)
        cases.append(
            case(
                f"random glow {i + 1}",
                "random",
                rng.uniform(size=shape),
                int(rng.integers(shape[0])),
                int(rng.integers(shape[1])),
                round(float(rng.uniform(0.01, 0.9)), 3),
            )
        )
    runner = CaseRunner("check_glow_update", GLOW_UPDATE_HINTS)
    _check_in_place(runner, fn, cases, glow_update, ("glow",), "glow")


#: hint key -> hint, for :func:`check_h_update`
H_UPDATE_HINTS = {
    "nothing": "with no reward and no damping (gamma = 0) the h-matrix stays as it is",
    "reward": "the reward reaches each edge in proportion to its glow: h += glow * reward "
    "(not reward to every edge, and not only to the last edge used)",
    "damping": "damping pulls every h-value back towards 1, not towards 0: "
    "h <- h - gamma * (h - 1)",
    "together": "both terms use the h-values from before this step: "
    "h <- h - gamma * (h - 1) + glow * reward",
    "reads": "h_update reads the glow but does not change it (the glow changes in glow_update)",
    "unchanged": _UNCHANGED.format(name="h", example="h -= gamma * (h - 1); h += glow * reward"),
    "random": "h <- h - gamma * (h - 1) + glow * reward",
}


def check_h_update(fn: Callable[[np.ndarray, np.ndarray, float, float], None]) -> None:
    """Check ``fn(h, glow, reward, gamma) -> None`` against
    :func:`rlladder.tabular.projective_simulation.h_update`.

    .. math:: h \\leftarrow h - \\gamma\\,(h - 1) + g\\,r

    ``h`` and ``glow`` are numpy arrays of shape ``(n_states, n_actions)``; ``fn`` updates ``h``
    in place (damping, ``gamma``, pulls every h-value back towards 1; the reward strengthens
    each edge in proportion to its glow) and leaves ``glow`` as it is.

    Args:
        fn: the student's h-matrix update.

    Raises:
        ExerciseFailed: on the first case where the h-matrix ``fn`` leaves differs from the
            library's, ``fn`` changes the glow, or raises.
    """

    def case(name: str, hint: str, h: Any, glow: Any, reward: float, gamma: float) -> Case:
        arrays = {"h": np.array(h, dtype=np.float64), "glow": np.array(glow, dtype=np.float64)}
        return Case(name, hint, {**arrays, "reward": reward, "gamma": gamma})

    h0 = [[1.0, 2.0], [3.0, 1.0]]
    cases = [
        case("no reward, no damping", "nothing", h0, [[1.0, 0.0], [0.5, 0.0]], 0.0, 0.0),
        case("a reward on glowing edges", "reward", h0, [[1.0, 0.0], [0.5, 0.0]], 1.0, 0.0),
        case("damping", "damping", [[3.0, 1.0], [0.5, 1.0]], [[0.0, 0.0], [0.0, 0.0]], 0.0, 0.1),
        case("damping and a reward", "together", h0, [[1.0, 0.0], [0.5, 0.25]], 2.0, 0.5),
    ]
    rng = np.random.default_rng(0)
    for i in range(RANDOM_CASES):
        shape = (3 + i, 2 + i % 2)
        cases.append(
            case(
                f"random h-matrix {i + 1}",
                "random",
                1.0 + rng.exponential(size=shape),
                rng.uniform(size=shape) * (rng.uniform(size=shape) < 0.5),
                round(float(rng.choice([0.0, 1.0, -1.0, 2.5])), 3),
                round(float(rng.uniform(0.0, 0.1)), 4),
            )
        )
    runner = CaseRunner("check_h_update", H_UPDATE_HINTS)
    _check_in_place(runner, fn, cases, h_update, ("h", "glow"), "h")
