"""The probe checks: train a fresh agent on a probe through :func:`rlladder.train`, then compare
what it learnt with :func:`~rlladder.envs.expected_q_values` (value checks) and what it does with
:func:`rlladder.evaluate` (behaviour checks, probes 4 and 5).

Each ``probeN`` function below returns the outcome of every check on probe N; the report takes
the ones whose prerequisites passed.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np

from rlladder.check.catalogue import CHECK_TOLERANCE as TOL
from rlladder.check.session import CheckSession, Outcome
from rlladder.check.targets import PROBE_STEPS
from rlladder.envs.probes import (
    PROBE_EXPECTATIONS,
    TIME_LIMIT_OBSERVATIONS,
    expected_q_values,
    time_limit_floor,
)
from rlladder.interface import Agent

__all__ = ["PROBE_CHECKS", "GREEDY_EPISODES", "MIN_GAMMA", "run_probe"]

#: greedy episodes rl.evaluate plays for a behaviour check
GREEDY_EPISODES = 20
#: the smallest discount at which bootstrapping shows: gamma must stand clear of 0 by twice the
#: tolerance (a target without bootstrap gives Q([0]) = 0 on probe 3, and 1 on probe 6)
MIN_GAMMA = 2 * TOL


def _fmt(values: np.ndarray | float) -> str:
    """``0.99`` or ``[1.00, -1.00]``."""
    array = np.asarray(values, dtype=np.float64).ravel()
    text = ", ".join(f"{v:.2f}" for v in array)
    return text if array.size == 1 else f"[{text}]"


def _label(value: list[float]) -> str:
    return f"Q([{value[0]:g}])"


def _learned(values: list[list[float]], q: np.ndarray, expected: np.ndarray) -> str:
    """``Q([0]) = 0.99 (expected 0.99 ± 0.05); Q([1]) = ...``."""
    parts = [
        f"{_label(v)} = {_fmt(row)} (expected {_fmt(want)})"
        for v, row, want in zip(values, q, expected, strict=True)
    ]
    return "; ".join(parts) + f", ± {TOL} after {PROBE_STEPS} steps"


def _close(q: np.ndarray, expected: np.ndarray) -> bool:
    return bool(np.all(np.abs(q - expected) <= TOL))


def _needs_gamma(session: CheckSession) -> Outcome | None:
    """Why a check that needs the discount cannot run, or None."""
    if session.gamma is None:
        return Outcome.skipped(
            "needs the agent's discount: pass gamma= (the agent has no gamma attribute and no "
            "config.gamma)"
        )
    if session.gamma < MIN_GAMMA:
        return Outcome.skipped(
            f"gamma = {session.gamma:g} is too small to tell bootstrapping from none within "
            f"{TOL} (needs gamma >= {MIN_GAMMA:g})"
        )
    return None


# -- the value checks, one per probe ----------------------------------------------------------
def probe1(q: np.ndarray, start: np.ndarray, gamma: float | None) -> Outcome:
    name = "probe 1 value"
    values, _ = PROBE_EXPECTATIONS[1]
    expected = expected_q_values(1, 0.0)
    detail = _learned(values, q, expected)
    fields = {"q": _fmt(q), "q0": _fmt(start), "steps": PROBE_STEPS}
    if _close(q, expected):
        return Outcome.passed(detail)
    if np.allclose(q, start, rtol=0, atol=1e-6):
        return Outcome.failed(name, "not_learning", detail, **fields)
    if _close(q, -expected):
        return Outcome.failed(name, "wrong_sign", detail, **fields)
    return Outcome.failed(name, "other", detail, **fields)


def probe2(q: np.ndarray, start: np.ndarray, gamma: float | None) -> Outcome:
    name = "probe 2 values"
    values, _ = PROBE_EXPECTATIONS[2]
    expected = expected_q_values(2, 0.0)
    detail = _learned(values, q, expected)
    if _close(q, expected):
        return Outcome.passed(detail)
    if abs(q[0, 0] - q[1, 0]) <= TOL:
        return Outcome.failed(name, "same", detail)
    return Outcome.failed(name, "other", detail, q_minus=_fmt(q[0]), q_plus=_fmt(q[1]))


def probe3(q: np.ndarray, start: np.ndarray, gamma: float) -> Outcome:
    name = "probe 3 values"
    values, _ = PROBE_EXPECTATIONS[3]
    expected = expected_q_values(3, gamma)
    detail = _learned(values, q, expected) + f" (gamma {gamma:g})"
    fields = {"q0": _fmt(q[0]), "q1": _fmt(q[1]), "gamma": f"{gamma:g}"}
    if _close(q, expected):
        return Outcome.passed(detail)
    if q[1, 0] > 1.0 + TOL:
        return Outcome.failed(name, "terminal_bootstrap", detail, **fields)
    if abs(q[0, 0]) <= TOL:
        return Outcome.failed(name, "no_bootstrap", detail, **fields)
    if abs(q[0, 0] - 1.0) <= TOL and 1.0 - gamma > 2 * TOL:
        return Outcome.failed(name, "undiscounted", detail, **fields)
    return Outcome.failed(name, "other", detail, **fields)


def probe4(q: np.ndarray, start: np.ndarray, gamma: float | None) -> Outcome:
    name = "probe 4 values"
    values, _ = PROBE_EXPECTATIONS[4]
    expected = expected_q_values(4, 0.0)
    detail = _learned(values, q, expected)
    if _close(q, expected):
        return Outcome.passed(detail)
    if abs(q[0, 0] - q[0, 1]) <= TOL:
        return Outcome.failed(name, "same", detail)
    if _close(q, expected[:, ::-1]):
        return Outcome.failed(name, "swapped", detail)
    return Outcome.failed(name, "other", detail, q=_fmt(q[0]))


def probe5(q: np.ndarray, start: np.ndarray, gamma: float | None) -> Outcome:
    name = "probe 5 values"
    values, _ = PROBE_EXPECTATIONS[5]
    expected = expected_q_values(5, 0.0)
    detail = _learned(values, q, expected)
    if _close(q, expected):
        return Outcome.passed(detail)
    if np.all(np.abs(q[0] - q[1]) <= TOL):
        return Outcome.failed(name, "ignores_obs", detail)
    return Outcome.failed(name, "other", detail, q0=_fmt(q[0]), q1=_fmt(q[1]))


def probe6(q: np.ndarray, start: np.ndarray, gamma: float) -> Outcome:
    name = "probe 6 time limit"
    value = float(q[0, 0])
    floor, limit = time_limit_floor(gamma), float(expected_q_values(6, gamma)[0, 0])
    ceiling = limit + TOL * max(1.0, limit)
    detail = (
        f"Q([0]) = {value:.2f} after {PROBE_STEPS} steps (gamma {gamma:g}: expected at least "
        f"1 + gamma/2 = {floor:.2f}, on its way to 1/(1-gamma) = {limit:.2f}; a target that stops "
        "at the time limit gives 1)"
    )
    fields = {"q": f"{value:.2f}", "floor": f"{floor:.2f}", "limit": f"{limit:.2f}"}
    fields["gamma"] = f"{gamma:g}"
    if floor <= value <= ceiling:
        return Outcome.passed(detail)
    if abs(value - 1.0) <= TOL:
        return Outcome.failed(name, "stops_at_cut", detail, **fields)
    if value > ceiling:
        return Outcome.failed(name, "too_high", detail, **fields)
    return Outcome.failed(name, "other", detail, **fields)


ValueCheck = Callable[[np.ndarray, np.ndarray, float | None], Outcome]

#: probe -> (value check name, its function, the observations it asks about, needs gamma)
PROBE_CHECKS: dict[int, tuple[str, ValueCheck, list[list[float]], bool]] = {
    1: ("probe 1 value", probe1, PROBE_EXPECTATIONS[1][0], False),
    2: ("probe 2 values", probe2, PROBE_EXPECTATIONS[2][0], False),
    3: ("probe 3 values", probe3, PROBE_EXPECTATIONS[3][0], True),
    4: ("probe 4 values", probe4, PROBE_EXPECTATIONS[4][0], False),
    5: ("probe 5 values", probe5, PROBE_EXPECTATIONS[5][0], False),
    6: ("probe 6 time limit", probe6, TIME_LIMIT_OBSERVATIONS, True),
}

#: probe -> (behaviour check name, the best action for each of its observations)
GREEDY_CHECKS: dict[int, tuple[str, list[int]]] = {
    4: ("probe 4 greedy", [1]),
    5: ("probe 5 greedy", [0, 1]),
}


# -- running a probe ---------------------------------------------------------------------------
def _greedy(session: CheckSession, probe: int, agent: Agent, env: gym.Env) -> Outcome:
    """The behaviour check: the greedy action on each observation, and the greedy return."""
    name, best = GREEDY_CHECKS[probe]
    values = PROBE_EXPECTATIONS[probe][0]
    actions = session.greedy(agent, env, session.observations(probe, values))
    score = float(session.evaluate(agent, env, GREEDY_EPISODES)["reward"].mean())
    shown = ", ".join(f"[{v[0]:g}] -> {a}" for v, a in zip(values, actions, strict=True))
    detail = (
        f"greedy {shown} (best {best}); greedy return {score:.2f} over {GREEDY_EPISODES} "
        "episodes (best 1.00)"
    )
    if actions == best and score == 1.0:
        return Outcome.passed(detail)
    symptom = "wrong" if session.no_values is None else "behaviour"
    return Outcome.failed(name, symptom, detail, steps=PROBE_STEPS)


def run_probe(session: CheckSession, probe: int, wanted: set[str]) -> dict[str, Outcome]:
    """Train a fresh agent on ``probe`` and return the outcomes of its checks in ``wanted``
    (without training when none of them can run)."""
    name, value_check, values, needs_gamma = PROBE_CHECKS[probe]
    outcomes: dict[str, Outcome] = {}
    if name in wanted:
        if session.no_values is not None:
            outcomes[name] = Outcome.skipped(f"no value check: {session.no_values}")
        elif needs_gamma and _needs_gamma(session) is not None:
            outcomes[name] = _needs_gamma(session)  # type: ignore[assignment]
    greedy = GREEDY_CHECKS.get(probe, (None, []))[0]
    if name not in wanted - set(outcomes) and greedy not in wanted:
        return outcomes
    env = session.env(probe)
    agent = session.build(env)
    observations = session.observations(probe, values)
    start = None
    if name not in outcomes and name in wanted:
        start = session.q_values(agent, env, observations)
    session.train(agent, env, PROBE_STEPS)
    if start is not None:
        q = session.q_values(agent, env, observations)
        outcomes[name] = value_check(q, start, session.gamma)
    if greedy in wanted:
        outcomes[greedy] = _greedy(session, probe, agent, env)
    return outcomes
