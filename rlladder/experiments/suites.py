"""Suites: named, ready-made experiments that reproduce the course's plots.

::

    rlladder list                        # the suites, with one line each
    rlladder run frozenlake              # run one (then: results/frozenlake/)
    exp = rl.get_suite("frozenlake")     # or get it as an Experiment, change it, run it
    exp = exp.replace(runs=5)

Adding a suite is one function returning an :class:`~rlladder.Experiment` (or a dict of named
parts, each an Experiment, for a suite made of several experiments)::

    def cartpole_forgetting() -> rl.Experiment:
        return rl.Experiment(env="CartPole-v1", variants={...}, runs=10, steps=200_000)

    register_suite("cartpole-forgetting", cartpole_forgetting, "DQN forgets what it learned")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlladder.errors import ConfigError, unknown_name
from rlladder.experiments.spec import Experiment, Variant

__all__ = [
    "register_suite",
    "get_suite",
    "list_suites",
    "describe_suites",
    "suite_figure",
    "Suite",
    "SuiteResult",
    "SuiteFigure",
]

SuiteResult = Experiment | dict[str, Experiment]
#: A suite's own extra figure: ``figure(results) -> matplotlib Figure`` (the CLI saves it next to
#: the learning curves as ``NAME.png``, NAME being the function's ``__name__``).
SuiteFigure = Callable[[Any], Any]


@dataclass(frozen=True)
class Suite:
    """A suite: a function that builds its experiment(s), a line saying what it shows, and
    optionally a figure of its own drawn from the results (beyond the learning curves)."""

    build: Callable[[], SuiteResult]
    description: str = ""
    figure: SuiteFigure | None = None


_SUITES: dict[str, Suite] = {}


def register_suite(
    name: str,
    build: Callable[[], SuiteResult],
    description: str = "",
    *,
    figure: SuiteFigure | None = None,
    overwrite: bool = False,
) -> None:
    """Make ``build()`` available as suite ``name`` (``rlladder run NAME``, :func:`get_suite`).

    ``build`` returns an Experiment, or a dict ``part -> Experiment`` for a suite of several
    experiments (the CLI runs each into ``results/NAME/PART``). ``figure(results)``, if given,
    draws the suite's own figure from its results; ``rlladder run/plot`` saves it as
    ``FUNCTION_NAME.png`` beside ``learning_curves.png``.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a suite name must be a non-empty string, got {name!r}")
    if not callable(build):
        raise TypeError(f"register_suite({name!r}, ...) needs a function, got {build!r}")
    if name in _SUITES and not overwrite:
        raise ConfigError(
            f"suite {name!r} is already registered; pass overwrite=True to replace it"
        )
    if figure is not None and not callable(figure):
        raise TypeError(f"register_suite({name!r}, figure=...) needs a function, got {figure!r}")
    _SUITES[name] = Suite(build, description, figure)


def list_suites() -> list[str]:
    """The suite names, sorted."""
    return sorted(_SUITES)


def describe_suites() -> list[tuple[str, str]]:
    """``(name, one-line description)`` for every suite."""
    return [(name, _SUITES[name].description) for name in list_suites()]


def suite_figure(name: str) -> SuiteFigure | None:
    """The extra figure function of suite ``name``, or ``None`` (no such suite, or none given)."""
    suite = _SUITES.get(name)
    return None if suite is None else suite.figure


def get_suite(name: str) -> SuiteResult:
    """The experiment (or dict of named experiments) of suite ``name``.

    Raises:
        UnknownNameError: no such suite (the message lists the known ones).
    """
    if name not in _SUITES:
        raise unknown_name("suite", name, _SUITES)
    built = _SUITES[name].build()
    if isinstance(built, Experiment):
        return built
    if isinstance(built, dict) and built and all(isinstance(e, Experiment) for e in built.values()):
        return dict(built)
    raise TypeError(f"suite {name!r} must build an rl.Experiment or a dict of them, got {built!r}")


# --------------------------------------------------------------------------------------------
# The built-in suites
# --------------------------------------------------------------------------------------------

# CartPole bins for tabular agents: cart position and velocity coarse, pole angle and angular
# velocity finer (they decide whether the pole falls). Bounds cover where the episode lives.
CARTPOLE_BINS = (3, 3, 8, 8)
CARTPOLE_BOUNDS = ((-2.4, 2.4), (-3.0, 3.0), (-0.21, 0.21), (-3.5, 3.5))

# Greedy evaluation. Every DQN suite plays 100 greedy episodes at the end of each run (the
# lecture's final score): at most 100 x 500 forward passes, about 100 us each on one core, so at
# most ~5 s on top of a 100k-step run's ~80 s of training (~6%; less for runs that fall early,
# and ~4% at 150k steps). A periodic evaluation of 100 episodes would cost that again at every
# point, for a curve the training return already sketches, so the DQN suites evaluate once.
FINAL_EVAL_EPISODES = 100

# DQN on CartPole: the presets were tuned at 100k env steps, and the learning rate reaches 0 at
# 70k, so the suites run the preset's own budget: at 50k the target and Huber rungs are still
# climbing (their runs reach 475 at a median of 45k-50k steps). The ladder's 10 runs x 100k take
# about 25 min on 2 cores as ensembles; pass --steps 30000 for a lecture's first, largest step
# (vanilla collapses, every rung with replay learns) in a few minutes.
CARTPOLE_STEPS = 100_000


def frozenlake() -> Experiment:
    """The course's first comparison: Q-learning vs Projective Simulation on the 4x4 lake.

    Every 25 episodes (and at the end) each run plays one greedy episode: on the non-slippery
    lake a greedy policy from the one start state always plays the same episode, so one is the
    exact score (3 runs, serial: 0.7 s -> 1.0 s)."""
    return Experiment(
        name="frozenlake",
        env="FrozenLake-v1",
        env_kwargs={"is_slippery": False},
        variants={"Q-learning": Variant("q-learning"), "PS": Variant("ps")},
        runs=30,
        episodes=500,
        max_episode_steps=99,
        seed=0,
        eval_every=25,
        eval_episodes=1,
    )


def frozenlake_slippery() -> Experiment:
    """The same on the slippery lake: the ice moves you sideways 2 times out of 3.

    The ice makes greedy play random, so each evaluation plays 100 episodes, every 250 training
    episodes and at the end (12 x 100 greedy episodes next to 3000 training ones; 3 runs, serial:
    12.5 s -> 17.7 s)."""
    return frozenlake().replace(
        name="frozenlake-slippery",
        env_kwargs={"is_slippery": True},
        episodes=3000,
        eval_every=250,
        eval_episodes=100,
    )


def cartpole_ablation() -> Experiment:
    """The DQN ladder, one switch per rung: vanilla, + replay, + target network, + Huber."""
    return Experiment(
        name="cartpole-ablation",
        env="CartPole-v1",
        variants={
            "vanilla": Variant("dqn-vanilla"),
            "+ replay": Variant("dqn-replay"),
            "+ target": Variant("dqn-target"),
            "+ Huber (DQN)": Variant("dqn"),
        },
        runs=10,
        steps=CARTPOLE_STEPS,
        seed=0,
        eval_episodes=FINAL_EVAL_EPISODES,
    )


def cartpole_beyond() -> Experiment:
    """Past the ladder: DQN against Double DQN, Dueling DQN and n-step DQN (the ladder's runs and
    budget)."""
    return cartpole_ablation().replace(
        name="cartpole-beyond",
        variants={
            "DQN": Variant("dqn"),
            "Double DQN": Variant("double-dqn"),
            "Dueling DQN": Variant("dueling-dqn"),
            "3-step DQN": Variant("nstep-dqn"),
        },
    )


#: Long enough for a DQN with a constant learning rate to reach 500, stay, and then lose it.
FORGETTING_STEPS = 150_000


def cartpole_forgetting() -> Experiment:
    """Catastrophic forgetting: DQN with a constant learning rate against the tuned preset, whose
    learning rate anneals to 0 by 70k steps. Long runs, so the collapses show."""
    return Experiment(
        name="cartpole-forgetting",
        env="CartPole-v1",
        variants={
            "DQN, constant lr 1e-3": Variant("dqn", learning_rate=1e-3),
            "DQN, annealed lr (preset)": Variant("dqn"),
        },
        runs=5,
        steps=FORGETTING_STEPS,
        seed=0,
        eval_episodes=FINAL_EVAL_EPISODES,
    )


def forgetting_diagnostics(results: Any) -> Any:
    """The figure of ``cartpole-forgetting``: the return above what the Q-network did meanwhile."""
    from rlladder.plots.diagnostics import diagnostics_curves

    return diagnostics_curves(
        results,
        columns=("reward", "q_mean", "action_gap", "loss"),
        window=10,
        threshold=500.0,
        title="Catastrophic forgetting: DQN on CartPole-v1",
    )


def tabular_vs_deep() -> dict[str, Experiment]:
    """A table against a network, twice: on FrozenLake (DQN sees one-hot states) and on CartPole
    (Q-learning sees a binned state)."""
    return {
        "frozenlake": Experiment(
            name="tabular-vs-deep-frozenlake",
            env="FrozenLake-v1",
            env_kwargs={"is_slippery": False},
            variants={"Q-learning": Variant("q-learning"), "DQN": Variant("dqn")},
            runs=10,
            episodes=500,
            max_episode_steps=99,
            seed=0,
            eval_episodes=FINAL_EVAL_EPISODES,
        ),
        "cartpole": Experiment(
            name="tabular-vs-deep-cartpole",
            env="CartPole-v1",
            variants={
                "Q-learning (binned)": Variant(
                    "q-learning",
                    bins=CARTPOLE_BINS,
                    bounds=CARTPOLE_BOUNDS,
                    eta=0.1,
                    gamma=0.99,
                    epsilon={
                        "kind": "exponential",
                        "start": 1.0,
                        "end": 0.01,
                        "decay": 0.995,
                        "unit": "episode",
                    },
                ),
                "DQN": Variant("dqn"),
            },
            runs=10,
            steps=CARTPOLE_STEPS,
            seed=0,
            eval_episodes=FINAL_EVAL_EPISODES,
        ),
    }


register_suite(
    "frozenlake",
    frozenlake,
    "Q-learning vs PS on the non-slippery 4x4 lake, 30 runs x 500 episodes",
)
register_suite(
    "frozenlake-slippery",
    frozenlake_slippery,
    "Q-learning vs PS on the slippery 4x4 lake, 30 runs x 3000 episodes",
)
register_suite(
    "cartpole-ablation",
    cartpole_ablation,
    f"the DQN ladder on CartPole: vanilla, + replay, + target, + Huber; 10 runs x {CARTPOLE_STEPS:,} steps",
)
register_suite(
    "cartpole-beyond",
    cartpole_beyond,
    f"DQN vs Double, Dueling and 3-step DQN on CartPole; 10 runs x {CARTPOLE_STEPS:,} steps",
)
register_suite(
    "cartpole-forgetting",
    cartpole_forgetting,
    f"DQN forgets: constant vs annealed learning rate on CartPole, with its Q-value diagnostics; "
    f"5 runs x {FORGETTING_STEPS:,} steps",
    figure=forgetting_diagnostics,
)
register_suite(
    "tabular-vs-deep",
    tabular_vs_deep,
    "Q-learning vs DQN, on FrozenLake (one-hot) and on CartPole (binned Q-learning)",
)
