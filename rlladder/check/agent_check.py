"""``check_agent``: any agent against the interface checks and the six probes, in order.

Checks run in :data:`~rlladder.check.catalogue.CHECKS` order. A check whose prerequisite failed is
skipped and names it ("fix probe 1 value first"), so one bug shows as one failed row.
"""

from __future__ import annotations

from typing import Any

from rlladder.check.agent_errors import agent_errors
from rlladder.check.catalogue import CHECKS, Check
from rlladder.check.interface_checks import INTERFACE_CHECKS
from rlladder.check.probe_checks import run_probe
from rlladder.check.report import CheckReport, make_table
from rlladder.check.session import CheckSession, Outcome, resolve_gamma
from rlladder.check.targets import INTERFACE_PROBE, agent_maker

__all__ = ["check_agent"]


def _values_missing(session: CheckSession) -> str | None:
    """Why the agent gets no value checks (None when it exposes action values)."""
    env = session.env(INTERFACE_PROBE)
    agent = session.build(env)
    name = type(agent).__name__
    if getattr(agent, "has_action_values", True) is False:
        return f"{name} has no action values (its q_values are preferences, not returns)"
    obs, _ = env.reset(seed=session.seed)
    try:
        with agent_errors(agent, env.spec.id):
            agent.q_values(obs)
    except Exception as error:
        if isinstance(error.__cause__, NotImplementedError):
            return f"{name} does not expose q_values(obs) (define it to get value checks)"
        raise
    return None


def check_agent(target: Any, *, gamma: float | None = None, seed: int = 0) -> CheckReport:
    """Check an agent against the interface checks and the probe environments.

    Each probe isolates one ability (:mod:`rlladder.envs.probes`); the agent trains on it through
    :func:`rlladder.train` for a fixed budget and the report compares what it learnt with the
    expected Q-values (agents that expose ``q_values(obs)``) and what it does greedily.

    ::

        report = rl.check_agent("dqn")
        report = rl.check_agent(MyDQN)                    # your rl.Agent subclass
        report = rl.check_agent(lambda env, seed: MyDQN(env.observation_space,
                                                        env.action_space, seed=seed, lr=1e-3))
        print(report)                                      # the table
        assert report.passed

    Args:
        target: a registered agent name (built with :func:`rlladder.make_agent` and the
            built-in classes' probe settings, :data:`~rlladder.check.targets.PROBE_SETTINGS`), an
            ``rl.Agent`` subclass (built as ``cls(observation_space, action_space, seed=seed)``),
            or a factory ``f(env, seed) -> Agent``. An agent that cannot be built on a ``Box``
            observation is checked on the probes' tabular twins.
        gamma: the discount the agent uses, for the checks that need it (probes 3 and 6);
            default: the agent's ``gamma`` attribute, else its ``config.gamma``.
        seed: seeds every agent built and every environment.

    Returns:
        A :class:`~rlladder.check.report.CheckReport`: ``.passed``, ``.table`` (a row per check),
        ``str(report)`` the printed table.

    Raises:
        AgentCheckError: the agent raised inside its constructor, ``act``, ``learn`` or
            ``q_values``; one line naming its error, the method and the probe.
        TypeError: ``target`` is not an agent name, an ``rl.Agent`` subclass or a factory.
        UnknownNameError: ``target`` is a name nobody registered.
    """
    maker = agent_maker(target, seed)
    session = CheckSession(maker, seed)
    session.gamma = resolve_gamma(gamma, session.build(session.env(INTERFACE_PROBE)))
    session.no_values = _values_missing(session)

    outcomes: dict[str, Outcome] = {}
    blocked_by: dict[str, str] = {}  # a skipped check -> the failed check behind it
    probe_outcomes: dict[int, dict[str, Outcome]] = {}

    def failed_prerequisite(check: Check, *, outside_probe: bool = False) -> str | None:
        for required in check.requires:
            if outside_probe and _probe_of(required) == check.probe:
                continue
            if outcomes.get(required, Outcome.skipped("")).status == "failed":
                return required
            if required in blocked_by:
                return blocked_by[required]
        return None

    for check in CHECKS:
        root = failed_prerequisite(check)
        if root is not None:
            blocked_by[check.name] = root
            outcomes[check.name] = Outcome.skipped(f"fix {root} first")
        elif check.probe == 0:
            outcomes[check.name] = INTERFACE_CHECKS[check.name](session)
        else:
            if check.probe not in probe_outcomes:
                wanted = {
                    c.name
                    for c in CHECKS
                    if c.probe == check.probe and failed_prerequisite(c, outside_probe=True) is None
                }
                probe_outcomes[check.probe] = run_probe(session, check.probe, wanted)
            outcomes[check.name] = probe_outcomes[check.probe][check.name]

    rows = []
    for check in CHECKS:
        outcome = outcomes[check.name]
        probe = session.probe(check.probe or INTERFACE_PROBE)
        passed = None if outcome.status == "skipped" else outcome.status == "passed"
        rows.append(
            {
                "check": check.name,
                "probe": probe.removeprefix("rlladder/").removesuffix("-v0"),
                "ability": check.ability,
                "status": outcome.status,
                "passed": passed,
                "detail": outcome.detail,
                "hint": outcome.hint,
            }
        )
    return CheckReport(maker.name, make_table(rows))


def _probe_of(name: str) -> int:
    return next(c.probe for c in CHECKS if c.name == name)
