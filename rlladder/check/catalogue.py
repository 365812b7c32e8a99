"""What each check of :func:`rlladder.check_agent` tests, what it needs first, and the hint for
each way it can fail: the catalogue, as data.

A check runs only when every check in its ``requires`` passed (or was skipped for a reason of its
own, like an agent without action values). When one failed, the check is *skipped* and names the
failed one ("fix probe 1 value first"), so that one bug shows as one failed row, not ten.

Each failure names a *symptom* (what the learned numbers look like); :data:`HINTS` holds the
likely bug behind each symptom, per check. A hint may use ``{fields}`` the check fills in
(``{q}``, ``{gamma}``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Check", "CHECKS", "HINTS", "CHECK_TOLERANCE", "hint_for"]

#: How far a learned value may be from the expected one, on probes 1-5. Looser than the tests'
#: :data:`~rlladder.envs.PROBE_EXPECTATIONS` (which hold the built-in agents to 5e-4, with their
#: probe settings): a student's agent is checked with its own defaults (no decaying learning rate,
#: some exploration left), and the smallest mistake a probe catches is far larger (Q = 0 where
#: gamma was expected, or a sign).
CHECK_TOLERANCE = 0.05


@dataclass(frozen=True)
class Check:
    """One row of the report: its ``name``, the ``probe`` number it trains on (0 for the interface
    checks), the ``ability`` it isolates, and the checks that must pass before it runs."""

    name: str
    probe: int
    ability: str
    requires: tuple[str, ...] = ()


VALID_ACTION = "valid action"
LEARN_RETURNS_DICT = "learn returns dict"
INTERFACE = (VALID_ACTION, LEARN_RETURNS_DICT)

#: Every check, in the order it runs (the order of the report's rows).
CHECKS: list[Check] = [
    Check(VALID_ACTION, 0, "act returns an action of the action space"),
    Check(LEARN_RETURNS_DICT, 0, "learn takes a Transition and returns a dict"),
    Check("greedy is pure", 0, "act(obs, explore=False) changes nothing", INTERFACE),
    Check("same seed same history", 0, "the same seed gives the same history", INTERFACE),
    Check("save and load", 0, "a save/load round trip gives the same greedy actions", INTERFACE),
    Check("probe 1 value", 1, "the loss and the optimiser", INTERFACE),
    Check("probe 2 values", 2, "reading the observation", ("probe 1 value",)),
    Check("probe 3 values", 3, "bootstrapping, with the discount", ("probe 2 values",)),
    Check("probe 4 values", 4, "telling the actions apart", ("probe 1 value",)),
    Check("probe 4 greedy", 4, "acting greedily on what it learnt", ("probe 4 values",)),
    Check(
        "probe 5 values", 5, "linking observation and action", ("probe 2 values", "probe 4 values")
    ),
    Check(
        "probe 5 greedy",
        5,
        "the greedy action per observation",
        ("probe 5 values", "probe 4 greedy"),
    ),
    Check("probe 6 time limit", 6, "a time limit is not a failure", ("probe 3 values",)),
]

#: check name -> symptom -> the likely bug (a format string over the check's fields)
HINTS: dict[str, dict[str, str]] = {
    VALID_ACTION: {
        "invalid": "act() returned {action!r}, which is not in {space}: return a plain int, e.g. "
        "int(np.argmax(q)) (not a tensor, an array or a float)",
    },
    LEARN_RETURNS_DICT: {
        "not_dict": "learn() returned {value!r}: return a dict of diagnostics, {{}} when there is "
        "nothing to report",
    },
    "greedy is pure": {
        "actions_differ": "act(obs, explore=False) chose differently for the same obs: the greedy "
        "action must not be random (break ties with np.argmax, not with the generator)",
        "rng_drawn": "act(obs, explore=False) drew from self.rng: test `explore` before drawing "
        "(`if explore and self.rng.random() < epsilon`), and break greedy ties without the generator",
        "state_changed": "act(obs, explore=False) changed {what}: count steps, decay epsilon and "
        "store transitions in learn(), never in a greedy act()",
    },
    "same seed same history": {
        "history_differs": "two agents built with seed={seed} trained differently: draw every "
        "random number from self.rng (not np.random, random or torch's global generator)",
        "values_differ": "two agents built with seed={seed} learnt different values: seed the "
        "network's initialisation from self.rng (e.g. torch.manual_seed(int(self.rng.integers(2**31))))",
    },
    "save and load": {
        "actions_differ": "the loaded agent acts differently from the saved one: save and restore "
        "everything the greedy action depends on (the Q-table or the network's weights)",
        "raised": "saving or loading raised {error}: make load(path) read back what save(path) wrote",
    },
    "probe 1 value": {
        "not_learning": "Q([0]) did not move from its start ({q0}): learn() never changes the "
        "values (is the optimiser stepping? the loss backpropagated? learning_starts beyond the "
        "{steps} steps of the probe?)",
        "wrong_sign": "Q([0]) = {q} where the reward is +1: the reward enters the target with the "
        "wrong sign",
        "other": "Q([0]) = {q} instead of 1: the loss or the optimiser is off (is the loss "
        "(Q(s, a) - target)²? zero_grad() before backward()? a learning rate that reaches 1 in "
        "{steps} steps?)",
    },
    "probe 2 values": {
        "same": "Q([-1]) and Q([+1]) are equal: the network is not reading its input (is obs fed "
        "to it, and not a constant? is the table indexed by the observation?)",
        "other": "Q([-1]) = {q_minus}, Q([+1]) = {q_plus} instead of -1 and +1: the values follow the "
        "observation only in part (does the observation reach the network unchanged, as a float "
        "[batch, 1] tensor?)",
    },
    "probe 3 values": {
        "no_bootstrap": "Q([0]) = {q0} where it should be gamma = {gamma}: the target does not "
        "bootstrap (r + gamma * max Q(s') lost its second term, or it reads Q(obs) instead of "
        "Q(next_obs))",
        "undiscounted": "Q([0]) = {q0} instead of gamma = {gamma}: the bootstrap is not discounted "
        "(multiply max Q(s') by gamma)",
        "terminal_bootstrap": "Q([1]) = {q1} instead of 1: the target bootstraps past a terminal "
        "step (multiply the bootstrap by 1 - terminated)",
        "other": "Q([0]) = {q0}, Q([1]) = {q1} instead of {gamma} and 1: check the TD target "
        "r + gamma * (1 - terminated) * max_a' Q(s', a'), with s' the next observation",
    },
    "probe 4 values": {
        "same": "Q([0], a) is the same for both actions: the update ignores the action taken "
        "(update Q at the action that was taken: q.gather(1, actions), q[s, a])",
        "swapped": "the two actions' values are swapped: the action stored or updated is not the "
        "one the agent took",
        "other": "Q([0]) = {q} instead of [-1, 1]: the values mix up the actions (is the action "
        "stored with its own reward?)",
    },
    "probe 4 greedy": {
        "wrong": "act(obs, explore=False) does not take the better action: greedy means argmax "
        "over the action values (is it argmin, or the first action?)",
        "behaviour": "the greedy action is not the +1 one after {steps} steps: the agent does not "
        "learn which action is rewarded (is the reward used in learn()? does it reinforce the "
        "action that was taken?)",
    },
    "probe 5 values": {
        "ignores_obs": "Q([0]) and Q([1]) are the same: the values depend on the action but not on "
        "the observation (is the observation fed together with the action's index?)",
        "other": "Q([0]) = {q0}, Q([1]) = {q1} instead of [1, -1] and [-1, 1]: the values mix up "
        "observations and actions (are obs, action and reward of one step stored together?)",
    },
    "probe 5 greedy": {
        "wrong": "act(obs, explore=False) does not follow the values per observation: take the "
        "argmax of Q(obs), for the obs given",
        "behaviour": "the greedy action does not follow the observation after {steps} steps: the "
        "agent does not tie what it learns to the state it was in",
    },
    "probe 6 time limit": {
        "stops_at_cut": "Q([0]) = {q} where the time limit should have bootstrapped: your target "
        "uses `done`, not `terminated` (a truncated episode's next state still has a value; a "
        "Monte-Carlo return must end in gamma * max Q(s') there)",
        "too_high": "Q([0]) = {q} exceeds 1 / (1 - gamma) = {limit}: the bootstrap is discounted "
        "by less than the gamma = {gamma} you declared",
        "other": "Q([0]) = {q} stays below 1 + gamma / 2 = {floor}: the target stops at the time "
        "limit some of the time (is `truncated` stored as terminal anywhere?)",
    },
}


def hint_for(check: str, symptom: str, **fields: object) -> str:
    """The catalogue's hint for ``symptom`` of ``check``, with ``fields`` filled in."""
    return HINTS[check][symptom].format(**fields)
