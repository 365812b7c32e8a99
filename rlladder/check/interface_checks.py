"""The interface checks, run before any probe, on ``rlladder/Probe5-v0`` (or its twin): two
observations, two actions.

* **valid action**: ``act`` returns an action of the action space, exploring or not;
* **learn returns dict**: ``learn`` takes a :class:`~rlladder.Transition` and returns a dict;
* **greedy is pure**: ``act(obs, explore=False)`` twice gives the same action, draws nothing from
  ``self.rng`` and leaves ``state_dict()`` as it was (on a fresh agent and after some training);
* **same seed same history**: two agents with the same seed train to the same history (and the
  same values, where the agent has them);
* **save and load**: where the agent has ``save``/``load``, the loaded agent acts (and values) as
  the saved one.
"""

from __future__ import annotations

import copy
import inspect
import tempfile
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.check.agent_errors import agent_errors, one_line
from rlladder.check.catalogue import LEARN_RETURNS_DICT, VALID_ACTION
from rlladder.check.session import CheckSession, Outcome
from rlladder.check.state_diff import first_difference
from rlladder.check.targets import INTERFACE_PROBE
from rlladder.errors import CheckpointError
from rlladder.interface import Agent, Transition

__all__ = ["INTERFACE_CHECKS", "INTERFACE_STEPS"]

#: env steps of training before the side-effect, seed and save/load checks look at an agent
INTERFACE_STEPS = 100
_VALUES = [[0.0], [1.0]]  # Probe5's two observations


def _observations(session: CheckSession) -> list[Any]:
    return session.observations(INTERFACE_PROBE, _VALUES)


def valid_action(session: CheckSession) -> Outcome:
    env = session.env(INTERFACE_PROBE)
    agent = session.build(env)
    env.reset(seed=session.seed)
    actions = []
    with agent_errors(agent, env.spec.id):
        for explore in (True, False):
            for obs in _observations(session) * 5:
                actions.append(agent.act(obs, explore=explore))
    for action in actions:
        if isinstance(action, bool) or not env.action_space.contains(action):
            detail = f"act() returned {action!r} ({type(action).__name__})"
            return Outcome.failed(
                VALID_ACTION, "invalid", detail, action=action, space=env.action_space
            )
    return Outcome.passed(f"{len(actions)} actions, all in {env.action_space}")


def learn_returns_dict(session: CheckSession) -> Outcome:
    env = session.env(INTERFACE_PROBE)
    agent = session.build(env)
    obs, _ = env.reset(seed=session.seed)
    with agent_errors(agent, env.spec.id):
        action = agent.act(obs)
        if not env.action_space.contains(action):
            action = 0  # "valid action" reports it; learn still gets a transition
        next_obs, reward, terminated, truncated, _ = env.step(action)
        result = agent.learn(
            Transition(obs, action, float(reward), next_obs, bool(terminated), bool(truncated))
        )
    if not isinstance(result, dict):
        detail = f"learn() returned {result!r} ({type(result).__name__})"
        return Outcome.failed(LEARN_RETURNS_DICT, "not_dict", detail, value=result)
    return Outcome.passed(f"learn() returned a dict with {len(result)} diagnostic(s)")


def _snapshot(agent: Agent) -> Any:
    """A deep copy of ``state_dict()`` (its tensors may be the live ones), or None."""
    try:
        return copy.deepcopy(agent.state_dict())
    except Exception:  # a state_dict() that cannot be copied: the rng is still compared
        return None


def _rng_state(agent: Agent) -> Any:
    rng = getattr(agent, "rng", None)
    return copy.deepcopy(rng.bit_generator.state) if isinstance(rng, np.random.Generator) else None


def _side_effect(session: CheckSession, agent: Agent, env: gym.Env, when: str) -> Outcome | None:
    """The failure, if ``act(obs, explore=False)`` has a side effect on ``agent`` now."""
    name = "greedy is pure"
    observations = _observations(session)
    rng_before, state_before = _rng_state(agent), _snapshot(agent)
    first = session.greedy(agent, env, observations)
    second = session.greedy(agent, env, observations)
    if [int(a) for a in first] != [int(a) for a in second]:
        detail = f"{when}: greedy actions {first} then {second} for the same observations"
        return Outcome.failed(name, "actions_differ", detail)
    if rng_before is not None and first_difference(rng_before, _rng_state(agent)):
        return Outcome.failed(name, "rng_drawn", f"{when}: act(explore=False) drew from self.rng")
    changed = first_difference(state_before, _snapshot(agent))
    if changed:
        detail = f"{when}: act(explore=False) changed state_dict()['{changed}']"
        return Outcome.failed(name, "state_changed", detail, what=f"'{changed}'")
    return None


def greedy_is_pure(session: CheckSession) -> Outcome:
    env = session.env(INTERFACE_PROBE)
    agent = session.build(env)
    failure = _side_effect(session, agent, env, "fresh agent")
    if failure is None:
        session.train(agent, env, INTERFACE_STEPS)
        failure = _side_effect(session, agent, env, f"after {INTERFACE_STEPS} steps")
    return failure or Outcome.passed(
        "same actions twice, rng and state_dict() unchanged (fresh, and after "
        f"{INTERFACE_STEPS} steps)"
    )


def same_seed_same_history(session: CheckSession) -> Outcome:
    name = "same seed same history"
    runs = []
    for _ in range(2):
        env = session.env(INTERFACE_PROBE)
        agent = session.build(env)
        history = session.train(agent, env, 2 * INTERFACE_STEPS)
        values = None
        if session.no_values is None:
            values = session.q_values(agent, env, _observations(session))
        runs.append((history, values))
    (first, values_1), (second, values_2) = runs
    if not first.equals(second):
        differs = ~(first["reward"].eq(second["reward"]).reindex(first.index, fill_value=False))
        episode = int(differs.idxmax()) if differs.any() else 0
        detail = f"seed={session.seed} twice: the histories differ (from episode {episode})"
        return Outcome.failed(name, "history_differs", detail, seed=session.seed)
    if values_1 is not None and not np.array_equal(values_1, values_2):
        detail = f"seed={session.seed} twice: same history, different q_values afterwards"
        return Outcome.failed(name, "values_differ", detail, seed=session.seed)
    what = "history and q_values" if values_1 is not None else "history"
    return Outcome.passed(f"seed={session.seed} twice: the same {what} over {len(first)} episodes")


def _load(session: CheckSession, agent: Agent, path: Path, env: gym.Env) -> Agent:
    """The agent ``load`` restores from ``path``: a classmethod's result, or a fresh agent
    loaded in place by an instance method."""
    load = inspect.getattr_static(type(agent), "load")
    if isinstance(load, classmethod | staticmethod):
        return type(agent).load(path)
    fresh = session.build(env)
    restored = fresh.load(path)
    return restored if isinstance(restored, Agent) else fresh


def save_and_load(session: CheckSession) -> Outcome:
    name = "save and load"
    env = session.env(INTERFACE_PROBE)
    agent = session.build(env)
    if not (callable(getattr(agent, "save", None)) and callable(getattr(agent, "load", None))):
        return Outcome.skipped(f"{type(agent).__name__} has no save()/load()")
    session.train(agent, env, INTERFACE_STEPS)
    observations = _observations(session)
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "agent.ckpt"
            agent.save(path)
            loaded = _load(session, agent, path, env)
    except CheckpointError as error:
        if type(agent).save is not Agent.save:
            detail = f"save()/load() raised {one_line(error)}"
            return Outcome.failed(name, "raised", detail, error=one_line(error))
        # rl.Agent's default save cannot hold this agent's state: the student wrote no save to check
        return Outcome.skipped(
            f"rl.Agent's default save() cannot save this agent ({one_line(error)}); "
            f"give {type(agent).__name__} its own save()/load() to check them"
        )
    except Exception as error:
        detail = f"save()/load() raised {one_line(error)}"
        return Outcome.failed(name, "raised", detail, error=one_line(error))
    saved, restored = (
        session.greedy(agent, env, observations),
        session.greedy(loaded, env, observations),
    )
    if [int(a) for a in saved] != [int(a) for a in restored]:
        detail = f"greedy actions {saved} before, {restored} after the round trip"
        return Outcome.failed(name, "actions_differ", detail)
    if session.no_values is None:
        before = session.q_values(agent, env, observations)
        after = session.q_values(loaded, env, observations)
        if before.shape != after.shape or not np.allclose(before, after, rtol=0, atol=1e-6):
            detail = "the loaded agent's q_values differ from the saved one's"
            return Outcome.failed(name, "actions_differ", detail)
    what = "and q_values survive" if session.no_values is None else "survive"
    return Outcome.passed(f"greedy actions {restored} {what} save() and load()")


#: check name -> the function that runs it
INTERFACE_CHECKS = {
    VALID_ACTION: valid_action,
    LEARN_RETURNS_DICT: learn_returns_dict,
    "greedy is pure": greedy_is_pure,
    "same seed same history": same_seed_same_history,
    "save and load": save_and_load,
}
