"""Where results live: a folder per experiment, a CSV per finished run, the spec beside them.

::

    results/frozenlake/
      spec.json                     the experiment as written, each variant's resolved
                                    hyperparameters, run seeds, which version wrote each run,
                                    and a fingerprint of your own code per run
      runs/00-q-learning-run0000.csv  one file per finished (variant, run), written atomically
      runs/00-q-learning-run0000.eval.csv  its greedy evaluations (if the experiment asks for them)
      runs/01-ps-run0000.csv
      ...
      checkpoints/01-ps-run0001.ckpt.npz  a run in progress (see run_checkpoints), removed when
                                    it finishes
      summary.csv, summary.md       written by the CLI
      learning_curves.png/.svg      written by the CLI

Every run's CSV is written to a temporary file and moved into place with ``os.replace``, so a
folder never holds half a run, however the experiment was stopped. A run's evaluations are
written the same way, just before its training CSV: a run is finished when its CSV is there and
whole, and, if the experiment evaluates, its ``.eval.csv`` too. Running the same experiment into
the same folder again resumes it (runs only what is not finished); a folder holding a *different*
experiment is refused.

A file can still be damaged after it was written: cut short by a full disk or a copy, or edited
by hand. Every file is checked when it is read (it parses, has the columns and types rlladder
writes, episodes ``0..n-1``, ``env_step`` the running sum of ``steps``, the rows the budget
implies, evaluations where the schedule puts them). A damaged file is never used as data:
:func:`load_results` leaves it out and warns (:class:`DamagedRunWarning`) naming it, and a resume
moves it aside to ``NAME.damaged`` and runs that run again.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from rlladder.errors import ConfigError, RLLadderWarning, UncheckedCodeWarning
from rlladder.experiments.evaluation import EVAL_COLUMNS, evaluation_moments
from rlladder.experiments.fingerprints import code_changes, experiment_code, unchecked_runs
from rlladder.experiments.run_checkpoints import CHECKPOINTS_DIR, STOP_FILE, SUFFIX
from rlladder.experiments.spec import run_seeds

__all__ = [
    "ResultsStore",
    "RunExpectations",
    "DamagedRunWarning",
    "load_results",
    "load_evaluations",
    "load_spec",
    "tidy",
    "tidy_evaluations",
    "run_damage",
    "evaluation_damage",
    "spec_shape_problem",
    "ID_COLUMNS",
    "EVAL_COLUMNS",
]

ID_COLUMNS = ["variant", "run", "seed", "episode", "env_step", "reward", "steps"]
_INT_COLUMNS = ("run", "seed", "episode", "env_step", "steps")
_EVAL_INT_COLUMNS = ("run", "seed", "eval", "env_step", "episode", "eval_episode", "steps")
SPEC_FILE = "spec.json"
RUNS_DIR = "runs"
_ELSEWHERE = (
    "use another output folder (--out / out=) or overwrite it (--overwrite / overwrite=True)"
)
EVAL_SUFFIX = ".eval.csv"
DAMAGED_SUFFIX = ".damaged"


class DamagedRunWarning(RLLadderWarning):
    """A file of a results folder is damaged (or missing) and was left out of what was read."""


# pandas 3 parses floats exactly by default (and deprecates the option); older pandas needs it
_EXACT_FLOATS: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)
# How a file rlladder wrote is read back: labels as text, even "01" or "NA"; only an empty cell
# is missing (``to_csv`` writes NaN so), so "nan" typed into a number column is garbled text.
_READ_CSV: dict[str, Any] = {
    **_EXACT_FLOATS,
    "dtype": {"variant": "str"},
    "keep_default_na": False,
    "na_values": [""],
}


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _slug(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-").lower()
    return slug or "variant"


def run_file_name(index: int, label: str, run: int) -> str:
    """``NN-label-runRRRR.csv``: variant ``index`` (its position in the spec) and run number."""
    return f"{index:02d}-{_slug(label)}-run{run:04d}.csv"


def eval_file_name(index: int, label: str, run: int) -> str:
    """``NN-label-runRRRR.eval.csv``: the greedy evaluations of that run."""
    return run_file_name(index, label, run).removesuffix(".csv") + EVAL_SUFFIX


def tidy(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The canonical form of a results frame, the same whatever produced it.

    Rows sorted by variant (in spec order), run and episode; columns ``ID_COLUMNS`` then the
    diagnostics in alphabetical order; whole numbers as int64, the rest float64; a fresh index.
    """
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in ID_COLUMNS}).astype(
            {"variant": "str", "reward": "float64"}
        )
    order = {label: i for i, label in enumerate(labels)}
    frame = frame.copy()
    frame["variant"] = frame["variant"].astype("str")
    unknown = set(frame["variant"]) - set(order)
    if unknown:
        raise ConfigError(f"results hold variants {sorted(unknown)} that the spec does not name")
    diagnostics = sorted(c for c in frame.columns if c not in ID_COLUMNS)
    frame = frame[ID_COLUMNS + diagnostics]
    frame = frame.astype({c: "int64" for c in _INT_COLUMNS})
    frame = frame.astype({c: "float64" for c in ["reward", *diagnostics]})
    key = frame["variant"].map(order)
    frame = frame.assign(_order=key).sort_values(["_order", "run", "episode"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def tidy_evaluations(frame: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The canonical form of an evaluations frame: columns :data:`EVAL_COLUMNS`, rows sorted by
    variant (in spec order), run, evaluation and episode, whole numbers as int64."""
    if frame.empty:
        empty = pd.DataFrame({c: pd.Series(dtype="int64") for c in EVAL_COLUMNS})
        return empty.astype({"variant": "str", "reward": "float64"})
    order = {label: i for i, label in enumerate(labels)}
    frame = frame[EVAL_COLUMNS].astype({c: "int64" for c in _EVAL_INT_COLUMNS})
    frame = frame.astype({"variant": "str", "reward": "float64"})
    frame = frame.assign(_order=frame["variant"].map(order))
    frame = frame.sort_values(["_order", "run", "eval", "eval_episode"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# What a finished run's files must hold
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunExpectations:
    """What the files of a finished run must hold, read off an experiment's spec (its
    ``to_dict()``, which ``spec.json`` stores).

    ``episode_limit`` is the most steps an episode can last (``max_episode_steps``, and the time
    limit a gymnasium id is registered with), or ``None`` when it is not known.
    """

    labels: list[str]
    runs: int
    seeds: list[int]
    episodes: int | None
    steps: int | None
    episode_limit: int | None
    eval_episodes: int | None
    eval_every: int | None

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> RunExpectations:
        runs = int(spec["runs"])
        return cls(
            labels=list(spec["variants"]),
            runs=runs,
            seeds=run_seeds(int(spec["seed"]), runs),
            episodes=spec.get("episodes"),
            steps=spec.get("steps"),
            episode_limit=_episode_limit(spec),
            eval_episodes=spec.get("eval_episodes") or None,
            eval_every=spec.get("eval_every"),
        )


def _episode_limit(spec: Mapping[str, Any]) -> int | None:
    """The most steps one episode of this experiment can last, if that is known."""
    limits = []
    if isinstance(spec.get("max_episode_steps"), int):
        limits.append(spec["max_episode_steps"])
    env, kwargs = spec.get("env"), spec.get("env_kwargs") or {}
    if isinstance(env, str) and ":" not in env:
        registered = kwargs.get("max_episode_steps")
        if "max_episode_steps" not in kwargs:
            try:
                registered = gym.spec(env).max_episode_steps
            except gym.error.Error:
                registered = None
        if isinstance(registered, int) and not isinstance(registered, bool) and registered > 0:
            limits.append(registered)
    return min(limits) if limits else None


def _read_csv(path: Path) -> tuple[pd.DataFrame | None, str | None]:
    """``(frame, None)``, or ``(None, why it is not a whole CSV file)``."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, "not a text file"
    if not text.strip():
        return None, "empty"
    if not text.endswith("\n"):
        return None, "cut short: its last line is incomplete"
    try:
        return pd.read_csv(io.StringIO(text), **_READ_CSV), None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        return None, f"not a readable CSV: {reason}"


def _column_problems(frame: pd.DataFrame, columns: list[str], ints: tuple[str, ...]) -> str | None:
    missing = [c for c in columns if c not in frame]
    if missing:
        return f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}"
    if frame.empty:
        return None
    for column in frame.columns:
        values = frame[column]
        if column == "variant":
            continue
        if column in ints:
            if not pd.api.types.is_integer_dtype(values):
                return f"column {column} holds {_not_whole(values)}, not whole numbers"
        elif pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
            return f"column {column} holds {_first_text(values)}, not numbers"
    return None


def _not_whole(values: pd.Series) -> str:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any():
        bad = values[numbers.isna()]
        return "an empty cell" if bad.isna().any() else f"{str(bad.iloc[0])!r}"
    return f"{float(numbers[numbers != numbers.round()].iloc[0])!r}"


def _first_text(values: pd.Series) -> str:
    bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
    return repr(str(bad.iloc[0])) if len(bad) else "text"


def _identity_problems(frame: pd.DataFrame, label: str, run: int, seed: int) -> str | None:
    if frame.empty:
        return None
    if not (frame["variant"].astype("str") == label).all():
        other = frame.loc[frame["variant"].astype("str") != label, "variant"].iloc[0]
        return f"variant {other!r} where the file name says {label!r}"
    if not (frame["run"] == run).all():
        return f"run {frame.loc[frame['run'] != run, 'run'].iloc[0]} in the file of run {run}"
    if not (frame["seed"] == seed).all():
        return f"seed {frame.loc[frame['seed'] != seed, 'seed'].iloc[0]}, not the run's {seed}"
    return None


def run_damage(frame: pd.DataFrame, expect: RunExpectations, label: str, run: int) -> str | None:
    """Why ``frame``, read from run ``run`` of variant ``label``'s CSV, is not a finished run of
    the experiment (``None``: it is one)."""
    problem = _column_problems(frame, ID_COLUMNS, _INT_COLUMNS) or _identity_problems(
        frame, label, run, expect.seeds[run]
    )
    if problem:
        return problem
    n = len(frame)
    episode = frame["episode"].to_numpy()
    if not np.array_equal(episode, np.arange(n)):
        first = int(np.flatnonzero(episode != np.arange(n))[0])
        return f"row {first} is episode {episode[first]}, not {first} (episodes must be 0..{n - 1})"
    steps, env_step = frame["steps"].to_numpy(), frame["env_step"].to_numpy()
    if n and steps.min() < 1:
        return f"episode {int(np.argmin(steps))} lasted {steps.min()} steps"
    running = np.cumsum(steps)
    if not np.array_equal(env_step, running):
        first = int(np.flatnonzero(env_step != running)[0])
        return (
            f"env_step {env_step[first]} at episode {first} is not the running sum of steps "
            f"({running[first]})"
        )
    if expect.episodes is not None and n != expect.episodes:
        return f"{n} episodes, where the budget is {expect.episodes}"
    if expect.steps is not None:
        last = int(env_step[-1]) if n else 0
        if last > expect.steps:
            return f"it ends at env step {last}, beyond the budget of {expect.steps}"
        limit = expect.episode_limit
        if limit is not None and expect.steps - last >= limit:
            return (
                f"it ends at env step {last}, more than one episode (at most {limit} steps) "
                f"short of the budget of {expect.steps}"
            )
    return None


def evaluation_damage(
    frame: pd.DataFrame,
    history: pd.DataFrame,
    expect: RunExpectations,
    label: str,
    run: int,
) -> str | None:
    """Why ``frame``, read from a run's ``.eval.csv``, is not the evaluations of the finished run
    whose training ``history`` is given (``None``: it is). The evaluations must sit where the
    schedule (:func:`~rlladder.experiments.evaluation.evaluation_moments`) puts them."""
    problem = _column_problems(frame, EVAL_COLUMNS, _EVAL_INT_COLUMNS) or _identity_problems(
        frame, label, run, expect.seeds[run]
    )
    if problem:
        return problem
    n = int(expect.eval_episodes or 0)
    if expect.steps is not None:
        budget, counters = expect.steps, history["env_step"].to_numpy()
        final_step = expect.steps
    else:
        budget, counters = int(expect.episodes or 0), history["episode"].to_numpy() + 1
        final_step = int(history["env_step"].iloc[-1]) if len(history) else 0
    moments = evaluation_moments(counters, budget, expect.eval_every)
    where = [(int(history["env_step"].iloc[i]), i + 1) for i in moments]
    where.append((final_step, len(history)))
    if len(frame) != n * len(where):
        return (
            f"{len(frame)} rows, where {len(where)} evaluation{'s' if len(where) > 1 else ''} of "
            f"{n} episodes make {n * len(where)}"
        )
    expected = {
        "eval": np.repeat(np.arange(len(where)), n),
        "eval_episode": np.tile(np.arange(n), len(where)),
        "env_step": np.repeat([w[0] for w in where], n),
        "episode": np.repeat([w[1] for w in where], n),
    }
    for column, values in expected.items():
        found = frame[column].to_numpy()
        if not np.array_equal(found, values):
            row = int(np.flatnonzero(found != values)[0])
            return f"row {row} has {column} {found[row]}, where the schedule says {values[row]}"
    return None


class ResultsStore:
    """The results folder of one experiment: its spec and its finished runs."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.runs_dir = self.folder / RUNS_DIR
        self._document: dict[str, Any] | None = None  # the spec, once prepare() has written it
        self._code: dict[str, dict[str, str | None]] = {}  # label -> your code's fingerprints
        self._unchecked: set[str] = set()  # the code said to be unchecked (said once)

    # -- the spec ------------------------------------------------------------------------------
    def read_spec(self) -> dict[str, Any] | None:
        """The saved spec document, or ``None`` if the folder has none."""
        path = self.folder / SPEC_FILE
        if not path.exists():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON ({error})") from None
        problem = spec_shape_problem(document)
        if problem is not None:
            raise ConfigError(
                f"{path} is not a results folder's spec: {problem}; restore the file rlladder "
                f"wrote, or {_ELSEWHERE}"
            )
        return document

    def prepare(self, experiment: Any, *, overwrite: bool = False) -> None:
        """Make the folder ready for ``experiment``: new, resumable, or (``overwrite``) emptied.

        A folder resumes only if its ``spec.json`` records the same experiment, variant by
        variant the same resolved hyperparameters (:meth:`~rlladder.Experiment.identity`), and
        its saved runs used the same code of yours (each run records a fingerprint of it:
        :mod:`~rlladder.experiments.fingerprints`); the rlladder version may differ (each run
        records the version that wrote it). Code whose source cannot be found, and saved runs
        without a fingerprint, cannot be checked: an :class:`~rlladder.errors.UncheckedCodeWarning`
        says so in one line, and the resume goes on.

        Raises:
            ConfigError: the folder holds results of a different experiment, or of other code
                of yours, or its ``spec.json`` predates resolved hyperparameters, and not
                ``overwrite``; the message names what changed.
        """
        from rlladder import __version__

        _check_is_folder(self.folder)
        code = experiment_code(experiment)
        for prints in code.values():
            for each in prints.values():
                if each.digest is None and each.name not in self._unchecked:
                    self._unchecked.add(each.name)
                    warnings.warn(
                        f"{each.where}: a resume of {self.folder} cannot check that its runs "
                        f"used the same {each.name}",
                        UncheckedCodeWarning,
                        stacklevel=3,
                    )
        saved = self.read_spec() if not overwrite else self._spec_or_none()
        if saved is not None and not overwrite:
            if "resolved" not in saved:
                raise ConfigError(
                    f"{self.folder / SPEC_FILE} records no resolved hyperparameters (it was "
                    f"written by rlladder {saved.get('rlladder_version', '?')}, from before they "
                    "were recorded), so a resume cannot check that new runs use the hyperparameters "
                    f"its runs used; {_ELSEWHERE}"
                )
            changes = experiment.differences(saved)
            if changes:
                raise ConfigError(
                    f"{self.folder} holds results of a different experiment: "
                    f"{'; '.join(changes)}; {_ELSEWHERE}"
                )
            recorded = saved.get("fingerprints", {})
            finished = self._saved_runs(experiment, saved)
            changes = code_changes(recorded, code, finished)
            if changes:
                raise ConfigError(
                    f"{self.folder} holds runs of other code: {'; '.join(changes)}; undo the "
                    f"change to resume, or {_ELSEWHERE}"
                )
            unchecked = unchecked_runs(recorded, code, finished)
            if unchecked:
                warnings.warn(
                    f"{self.folder}: {'; '.join(unchecked)}: saved without a fingerprint of the "
                    "source (before rlladder recorded it, or no source was found), so not "
                    "checked against the code of today",
                    UncheckedCodeWarning,
                    stacklevel=3,
                )
        if overwrite:
            self.clear()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        kept = self._saved_runs(experiment, saved) if not overwrite else {}
        then = (saved or {}) if not overwrite else {}
        versions = _per_run(then.get("run_versions", {}), kept, experiment)
        self._code = {label: {n: p.digest for n, p in c.items()} for label, c in code.items()}
        fingerprints = _per_run(then.get("fingerprints", {}), kept, experiment)
        fingerprints = {label: fingerprints[label] for label in code}
        notes = {
            label: "a factory function: only the keyword arguments it was given are known"
            for label, variant in experiment.variants.items()
            if variant.is_factory
        }
        self._document = {
            "rlladder_version": __version__,
            "experiment": experiment.to_dict(),
            "resolved": experiment.resolve(),
            **({"notes": notes} if notes else {}),
            "run_seeds": experiment.run_seeds(),
            "run_versions": versions,
            **({"fingerprints": fingerprints} if fingerprints else {}),
        }
        self._write_spec()

    def _saved_runs(self, experiment: Any, saved: Mapping[str, Any] | None) -> dict[str, list[int]]:
        """label -> the runs whose training CSV is here (of ``experiment``'s runs, or more where
        the folder holds more)."""
        recorded = (saved or {}).get("run_versions", {})
        return {
            label: [
                run
                for run in range(max(experiment.runs, len(recorded.get(label, []))))
                if self.run_path(i, label, run).exists()
            ]
            for i, label in enumerate(experiment.labels)
        }

    def _spec_or_none(self) -> dict[str, Any] | None:
        """The saved spec, or ``None`` where it is missing or unreadable (``overwrite`` replaces
        it anyway)."""
        try:
            return self.read_spec()
        except ConfigError:
            return None

    def _write_spec(self) -> None:
        self._write_text(self.folder / SPEC_FILE, json.dumps(self._document, indent=2) + "\n")

    def versions(self, spec: Mapping[str, Any]) -> dict[str, int]:
        """How many of the finished runs of ``spec`` (an experiment's ``to_dict()``) each
        rlladder version wrote (``"unknown"``: a run saved before versions were recorded)."""
        recorded = (self.read_spec() or {}).get("run_versions", {})
        counts: dict[str, int] = {}
        for label, run in sorted(self.finished(spec)):
            versions = recorded.get(label, [])
            version = versions[run] if run < len(versions) else None
            key = version or "unknown"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def clear(self) -> None:
        """Delete what rlladder wrote here (runs, evaluations, damaged files set aside, run
        checkpoints, spec, summaries, figures); nothing else."""
        if self.runs_dir.exists():
            for path in self.runs_dir.iterdir():
                if path.suffix in (".csv", ".tmp") or DAMAGED_SUFFIX in path.name:
                    path.unlink()
        checkpoints = self.folder / CHECKPOINTS_DIR
        if checkpoints.is_dir():
            for path in checkpoints.iterdir():
                if path.is_file() and (SUFFIX in path.name or path.name in (STOP_FILE,)):
                    path.unlink()
                elif path.is_file() and path.name.startswith(".") and path.name.endswith(".tmp"):
                    path.unlink()
        for name in (SPEC_FILE, "summary.csv", "summary.md"):
            (self.folder / name).unlink(missing_ok=True)
        for path in self.folder.glob("learning_curves.*"):
            path.unlink()

    # -- the runs ------------------------------------------------------------------------------
    def run_path(self, index: int, label: str, run: int) -> Path:
        """The training CSV of run ``run`` of the ``index``-th variant, ``label``."""
        return self.runs_dir / run_file_name(index, label, run)

    def eval_path(self, index: int, label: str, run: int) -> Path:
        """The evaluations CSV of that run (``.eval.csv`` beside its training CSV)."""
        return self.runs_dir / eval_file_name(index, label, run)

    def _scan(self, spec: Mapping[str, Any], *, evaluations: bool = True) -> list[_SavedRun]:
        """Read and check every saved file of ``spec``'s runs."""
        expect = RunExpectations.from_spec(spec)
        scanned = []
        for index, label in enumerate(expect.labels):
            for run in range(expect.runs):
                path = self.run_path(index, label, run)
                if not path.exists():
                    continue
                saved = _SavedRun(index, label, run)
                history, problem = _read_csv(path)
                if history is not None:
                    problem = run_damage(history, expect, label, run)
                if problem is not None:
                    saved.damaged.append((path, problem))
                    scanned.append(saved)
                    continue
                saved.history = history
                if evaluations and expect.eval_episodes:
                    eval_path = self.eval_path(index, label, run)
                    if not eval_path.exists():
                        saved.missing = eval_path
                    else:
                        evals, problem = _read_csv(eval_path)
                        if evals is not None:
                            problem = evaluation_damage(evals, history, expect, label, run)
                        if problem is not None:
                            saved.damaged.append((eval_path, problem))
                        else:
                            saved.evaluations = evals
                scanned.append(saved)
        return scanned

    def finished(self, spec: Mapping[str, Any], *, set_aside: bool = False) -> set[tuple[str, int]]:
        """The ``(variant, run)`` pairs of ``spec`` (an experiment's ``to_dict()``) finished here:
        a whole training CSV, and whole evaluations if the experiment evaluates.

        ``set_aside=True`` (what a resume does) moves each damaged file to ``NAME.damaged``, with
        a :class:`DamagedRunWarning`, so that the run is run again without losing the file.
        """
        evaluates = bool(spec.get("eval_episodes"))
        done = set()
        for saved in self._scan(spec):
            if saved.history is not None and (saved.evaluations is not None or not evaluates):
                done.add((saved.label, saved.run))
            if set_aside:
                for path, problem in saved.damaged:
                    moved = _set_aside(path)
                    _warn(f"{path} is damaged ({problem}); moved to {moved.name}, running it again")
        return done

    def write_run(
        self,
        index: int,
        label: str,
        run: int,
        frame: pd.DataFrame,
        evaluations: pd.DataFrame | None = None,
    ) -> Path:
        """Save one finished run atomically (temporary file, then ``os.replace``): its
        ``evaluations`` first, if given, then its training CSV, whose presence marks the run done."""
        from rlladder import __version__

        if evaluations is not None:
            self._write_text(self.eval_path(index, label, run), evaluations.to_csv(index=False))
        path = self.run_path(index, label, run)
        self._write_text(path, frame.to_csv(index=False))
        if self._document is not None:  # which version and code wrote this run, beside the spec
            _set_run(self._document["run_versions"], label, run, __version__)
            if label in self._code:
                _set_run(self._document["fingerprints"], label, run, self._code[label])
            self._write_spec()
        return path

    def read(
        self, spec: Mapping[str, Any], *, evaluations: bool = True
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``(results, evaluations)``: every whole run of ``spec`` saved here, both tidy.

        A damaged training CSV leaves its run out of both; a damaged or missing ``.eval.csv``
        leaves the run out of the evaluations only. Each is named in a :class:`DamagedRunWarning`.
        """
        labels = list(spec["variants"])
        histories, evals = [], []
        for saved in self._scan(spec, evaluations=evaluations):
            for path, problem in saved.damaged:
                what = "left out" if saved.history is None else "its evaluations are left out"
                _warn(
                    f"{path} is damaged ({problem}); {what}, re-run the experiment into this "
                    "folder to redo it"
                )
            if saved.missing is not None:
                _warn(
                    f"{saved.missing} is missing; the evaluations of that run are left out, "
                    "re-run the experiment into this folder to redo it"
                )
            if saved.history is not None:
                histories.append(saved.history)
            if saved.evaluations is not None:
                evals.append(saved.evaluations)
        results = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame()
        evaluated = pd.concat(evals, ignore_index=True) if evals else pd.DataFrame()
        return tidy(results, labels), tidy_evaluations(evaluated, labels)

    def read_runs(self, spec: Mapping[str, Any]) -> pd.DataFrame:
        """Every whole run of ``spec`` saved here, tidy (see :meth:`read`)."""
        return self.read(spec, evaluations=False)[0]

    @staticmethod
    def _write_text(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; give the usual mode
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


@dataclass
class _SavedRun:
    """What :meth:`ResultsStore._scan` found of one run: its frames if whole, else the problems."""

    index: int
    label: str
    run: int
    history: pd.DataFrame | None = None
    evaluations: pd.DataFrame | None = None
    damaged: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    missing: Path | None = None


def _per_run(
    then: Mapping[str, list[Any]], kept: Mapping[str, list[int]], experiment: Any
) -> dict[str, list[Any]]:
    """label -> a value per run (a version, a fingerprint): the recorded one for each run kept
    here, ``None`` for the others."""
    values: dict[str, list[Any]] = {}
    for label in experiment.labels:
        old = list(then.get(label, []))
        count = max(experiment.runs, len(old))
        old += [None] * (count - len(old))
        runs = set(kept.get(label, []))
        values[label] = [old[run] if run in runs else None for run in range(count)]
    return values


def _set_run(table: dict[str, list[Any]], label: str, run: int, value: Any) -> None:
    values = table.setdefault(label, [])
    values += [None] * (run + 1 - len(values))
    values[run] = value


def _check_is_folder(folder: Path) -> None:
    """Fail in one line where ``folder``, or the nearest of its parents that exists, is a file."""
    for path in (folder, *folder.parents):
        if path.exists():
            if not path.is_dir():
                where = "" if path == folder else f"cannot make the results folder {folder}: "
                raise ConfigError(
                    f"{where}{path} is a file, not a folder; give the output (--out / out=) "
                    "a folder's path"
                )
            return


# What each top-level key of spec.json holds (the experiment table is checked key by key below)
_SPEC_SHAPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "rlladder_version": (str, "a string"),
    "experiment": (dict, "an object of the experiment's settings"),
    "resolved": (dict, "an object: variant label -> its hyperparameters"),
    "notes": (dict, "an object: variant label -> a note"),
    "run_seeds": (list, "a list of seeds"),
    "run_versions": (dict, "an object: variant label -> a list of versions"),
    "fingerprints": (dict, "an object: variant label -> a list of fingerprints"),
}
_EXPERIMENT_SHAPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "env": (str, "a string"),
    "env_kwargs": (dict, "an object"),
    "variants": (dict, "an object: variant label -> its table"),
    "runs": (int, "a whole number"),
    "seed": (int, "a whole number"),
    "episodes": (int, "a whole number or null"),
    "steps": (int, "a whole number or null"),
    "max_episode_steps": (int, "a whole number or null"),
    "threshold": ((int, float), "a number or null"),
    "eval_every": (int, "a whole number or null"),
    "eval_episodes": (int, "a whole number or null"),
    "name": (str, "a string or null"),
}
_REQUIRED = {"experiment": ("env", "variants", "runs", "seed")}


def spec_shape_problem(document: Any) -> str | None:
    """What is wrong with the shape of a parsed ``spec.json`` (valid JSON, wrong content), in a
    few words naming the key, or ``None`` where it has the shape rlladder writes."""

    def wrong(where: str, value: Any, text: str) -> str:
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        return f"{where} must be {text}, got {shown}"

    if not isinstance(document, dict):
        return wrong("the file", document, "a JSON object")
    if "experiment" not in document:
        return "it has no 'experiment' key"
    for key, (kind, text) in _SPEC_SHAPES.items():
        if key in document and not isinstance(document[key], kind):
            return wrong(repr(key), document[key], text)
    experiment = document["experiment"]
    for key in _REQUIRED["experiment"]:
        if key not in experiment:
            return f"'experiment' has no {key!r} key"
    for key, (kind, text) in _EXPERIMENT_SHAPES.items():
        value = experiment.get(key)
        optional = key not in _REQUIRED["experiment"] and key != "env_kwargs"
        if (value is None and optional) or key not in experiment:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            return wrong(f"'experiment.{key}'", value, text)
    for label, table in experiment["variants"].items():
        if not (isinstance(table, dict) and isinstance(table.get("agent"), str)):
            return wrong(f"'experiment.variants.{label}'", table, "an object with an 'agent'")
    for label, table in document.get("resolved", {}).items():
        if not isinstance(table, dict):
            return wrong(f"'resolved.{label}'", table, "an object of hyperparameters")
    for label, versions in document.get("run_versions", {}).items():
        if not isinstance(versions, list):
            return wrong(f"'run_versions.{label}'", versions, "a list of versions")
    for label, prints in document.get("fingerprints", {}).items():
        if not (isinstance(prints, list) and all(p is None or isinstance(p, dict) for p in prints)):
            return wrong(f"'fingerprints.{label}'", prints, "a list of objects (or nulls)")
    return None


def _set_aside(path: Path) -> Path:
    """Rename a damaged file to ``NAME.damaged`` (``NAME.damaged.1``, ... if that is taken)."""
    target = path.with_name(path.name + DAMAGED_SUFFIX)
    number = 0
    while target.exists():
        number += 1
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}.{number}")
    os.replace(path, target)
    return target


def _warn(message: str) -> None:
    warnings.warn(message, DamagedRunWarning, stacklevel=3)


def load_spec(folder: str | Path) -> dict[str, Any]:
    """The saved experiment (``spec.json``'s ``experiment`` table) of a results folder."""
    store = ResultsStore(folder)
    if not store.folder.is_dir():
        raise ConfigError(f"no results folder {str(store.folder)!r}")
    document = store.read_spec()
    if document is None:
        raise ConfigError(
            f"{store.folder} holds no results (no {SPEC_FILE}); run an experiment into it first, "
            "e.g. `rlladder run frozenlake --out " + str(store.folder) + "`"
        )
    return document["experiment"]


def load_results(folder: str | Path) -> pd.DataFrame:
    """The tidy DataFrame of a results folder: a row per episode of every finished run.

    A damaged run file (cut short, garbled, missing columns, not the run its name says) is left
    out, with a :class:`DamagedRunWarning` naming it; it is never averaged in.

    Raises:
        ConfigError: the folder does not exist, has no ``spec.json``, or no finished run.
    """
    spec = load_spec(folder)
    frame = ResultsStore(folder).read_runs(spec)
    if frame.empty:
        raise ConfigError(
            f"{folder} holds no finished run yet; run the experiment (it resumes into the folder)"
        )
    return frame


def load_evaluations(folder: str | Path) -> pd.DataFrame:
    """The greedy evaluations of a results folder: a row per greedy episode of every finished
    run, columns :data:`EVAL_COLUMNS` (see :mod:`rlladder.experiments.evaluation`).

    Empty (with those columns) when the experiment did not evaluate. A run whose training CSV or
    ``.eval.csv`` is damaged or missing is left out, with a :class:`DamagedRunWarning`.

    Raises:
        ConfigError: the folder does not exist or has no ``spec.json``.
    """
    spec = load_spec(folder)
    return ResultsStore(folder).read(spec)[1]
