"""Check any agent against the probes: ``rl.check_agent(target)`` and its report.

::

    report = rl.check_agent("dqn")          # a registered name, an rl.Agent subclass, or f(env, seed)
    print(report)                            # a row per check: passed, failed or skipped, and why
    report.passed                            # True when no check failed

First the interface checks (``act`` returns a valid action; ``act(obs, explore=False)`` changes
nothing; ``learn`` returns a dict; the same seed gives the same history; ``save``/``load`` keeps
the greedy actions), then the probes of :mod:`rlladder.envs.probes`, each trained for
:data:`~rlladder.check.targets.PROBE_STEPS` env steps through :func:`rlladder.train`:

==================  =======  =================================  ==================================
check               probe    ability                            passes when
==================  =======  =================================  ==================================
probe 1 value       Probe1   the loss and the optimiser         Q([0]) = 1
probe 2 values      Probe2   reading the observation            Q([-1]) = -1, Q([1]) = 1
probe 3 values      Probe3   bootstrapping, with the discount   Q([0]) = gamma, Q([1]) = 1
probe 4 values      Probe4   telling the actions apart          Q([0]) = [-1, 1]
probe 4 greedy      Probe4   acting greedily on what it learnt  greedy action 1, return 1
probe 5 values      Probe5   linking observation and action     Q([0]) = [1, -1], Q([1]) = [-1, 1]
probe 5 greedy      Probe5   the greedy action per observation  greedy [0] -> 0, [1] -> 1, return 1
probe 6 time limit  Probe6   a time limit is not a failure      Q([0]) >= 1 + gamma / 2
==================  =======  =================================  ==================================

Values must lie within :data:`~rlladder.check.catalogue.CHECK_TOLERANCE` (0.05) of the expected
ones. Probe6 asks only whether the learned value clearly exceeds the one-step reward: a target
that stops at the time limit converges to 1, one that bootstraps through it climbs towards
``1 / (1 - gamma)``, whatever ``gamma``.

* **Value and behaviour checks.** An agent whose ``q_values(obs)`` raises ``NotImplementedError``
  (the :class:`~rlladder.Agent` default), or that sets ``has_action_values = False`` (Projective
  Simulation: its ``q_values`` are preferences), gets the behaviour checks only (the ``greedy``
  rows), and the value rows say why they were skipped.
* **The discount** comes from ``gamma=``, else the agent's ``gamma`` attribute, else its
  ``config.gamma``; without one, probes 3 and 6 are skipped and say to pass ``gamma=``.
* **Order.** A check whose prerequisite failed is skipped and names it (probe 1 failed: every
  other probe says "fix probe 1 value first"; probe 3 failed: probe 6 is skipped).
* **Hints.** Every failure names the likely bug, from the catalogue
  :data:`~rlladder.check.catalogue.HINTS`.
* **Tabular agents** are checked on the probes' tabular twins (``Discrete`` observations) when they
  cannot be built on the ``Box`` ones, or cannot act there (:mod:`rlladder.check.targets`).

An agent that raises inside ``act`` or ``learn`` stops the check with an
:class:`~rlladder.AgentCheckError` naming its error and the probe.
"""

from __future__ import annotations

from rlladder.check.agent_check import check_agent
from rlladder.check.catalogue import CHECK_TOLERANCE, CHECKS, HINTS
from rlladder.check.report import CheckReport

__all__ = ["check_agent", "CheckReport", "CHECKS", "HINTS", "CHECK_TOLERANCE"]
