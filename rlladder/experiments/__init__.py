"""Experiments: many runs of many variants, run on a backend, saved, summarised.

* :mod:`~rlladder.experiments.spec`: what to run (:class:`Experiment`, :class:`Variant`, TOML)
* :mod:`~rlladder.experiments.runner` and :mod:`~rlladder.experiments.backends`: how
* :mod:`~rlladder.experiments.planning`: which runs train together, in what order (by cost)
* :mod:`~rlladder.experiments.progress`: one live bar over all runs' env steps, on every backend
* :mod:`~rlladder.experiments.evaluation`: greedy evaluation during runs (when, on what env)
* :mod:`~rlladder.experiments.store`: where the results live (a CSV per run, resumable)

The statistics that turn results into tables and curves live in :mod:`rlladder.stats`, which
both this package and :mod:`rlladder.plots` use.
* :mod:`~rlladder.experiments.suites`: ready experiments that reproduce the course's plots
* :mod:`~rlladder.experiments.show`: an experiment as a complete TOML file (``rlladder show``)
"""

from rlladder.experiments.runner import run_experiment
from rlladder.experiments.show import experiment_toml
from rlladder.experiments.spec import Experiment, Variant, load_experiment
from rlladder.experiments.store import load_evaluations, load_results
from rlladder.experiments.suites import get_suite, list_suites, register_suite

__all__ = [
    "Experiment",
    "Variant",
    "load_experiment",
    "experiment_toml",
    "run_experiment",
    "load_results",
    "load_evaluations",
    "get_suite",
    "list_suites",
    "register_suite",
]
