"""Where results live: a folder per experiment, a CSV per finished run, the spec beside them.

::

    results/frozenlake/
      spec.json                     the experiment as written, each variant's resolved
                                    hyperparameters, run seeds, and which version wrote each run
      runs/00-q-learning-run0000.csv  one file per finished (variant, run), written atomically
      runs/01-ps-run0000.csv
      ...
      summary.csv, summary.md       written by the CLI
      learning_curves.png/.svg      written by the CLI

Every run's CSV is written to a temporary file and moved into place with ``os.replace``, so a
folder never holds half a run, however the experiment was stopped. Running the same experiment
into the same folder again resumes it; a folder holding a *different* experiment is refused.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from rlladder.errors import ConfigError

__all__ = ["ResultsStore", "load_results", "load_spec", "tidy", "ID_COLUMNS"]

ID_COLUMNS = ["variant", "run", "seed", "episode", "env_step", "reward", "steps"]
_INT_COLUMNS = ("run", "seed", "episode", "env_step", "steps")
SPEC_FILE = "spec.json"
RUNS_DIR = "runs"
_ELSEWHERE = (
    "use another output folder (--out / out=) or overwrite it (--overwrite / overwrite=True)"
)
# pandas 3 parses floats exactly by default (and deprecates the option); older pandas needs it
_EXACT_FLOATS: dict[str, Any] = (
    {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
)


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


class ResultsStore:
    """The results folder of one experiment: its spec and its finished runs."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.runs_dir = self.folder / RUNS_DIR
        self._document: dict[str, Any] | None = None  # the spec, once prepare() has written it

    # -- the spec ------------------------------------------------------------------------------
    def read_spec(self) -> dict[str, Any] | None:
        """The saved spec document, or ``None`` if the folder has none."""
        path = self.folder / SPEC_FILE
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigError(f"{path} is not valid JSON ({error})") from None

    def prepare(self, experiment: Any, *, overwrite: bool = False) -> None:
        """Make the folder ready for ``experiment``: new, resumable, or (``overwrite``) emptied.

        A folder resumes only if its ``spec.json`` records the same experiment, variant by
        variant the same resolved hyperparameters (:meth:`~rlladder.Experiment.identity`); the
        rlladder version may differ (each run records the version that wrote it).

        Raises:
            ConfigError: the folder holds results of a different experiment, or its
                ``spec.json`` predates resolved hyperparameters, and not ``overwrite``; the
                message names what changed.
        """
        from rlladder import __version__

        saved = self.read_spec()
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
        if overwrite:
            self.clear()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        then = (saved or {}).get("run_versions", {}) if not overwrite else {}
        labels = experiment.labels
        versions: dict[str, list[str | None]] = {}
        for i, label in enumerate(labels):
            old = list(then.get(label, []))
            count = max(experiment.runs, len(old))
            old += [None] * (count - len(old))
            versions[label] = [
                old[run] if self.run_path(i, label, run).exists() else None for run in range(count)
            ]
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
        }
        self._write_spec()

    def _write_spec(self) -> None:
        self._write_text(self.folder / SPEC_FILE, json.dumps(self._document, indent=2) + "\n")

    def versions(self, labels: list[str], runs: int) -> dict[str, int]:
        """How many of the finished runs of ``labels`` x ``range(runs)`` each rlladder version
        wrote (``"unknown"``: a run saved before versions were recorded per run)."""
        recorded = (self.read_spec() or {}).get("run_versions", {})
        counts: dict[str, int] = {}
        for label, run in sorted(self.finished(labels, runs)):
            versions = recorded.get(label, [])
            version = versions[run] if run < len(versions) else None
            key = version or "unknown"
            counts[key] = counts.get(key, 0) + 1
        return counts

    def clear(self) -> None:
        """Delete what rlladder wrote here (runs, spec, summaries, figures); nothing else."""
        if self.runs_dir.exists():
            for path in self.runs_dir.iterdir():
                if path.suffix in (".csv", ".tmp"):
                    path.unlink()
        for name in (SPEC_FILE, "summary.csv", "summary.md"):
            (self.folder / name).unlink(missing_ok=True)
        for path in self.folder.glob("learning_curves.*"):
            path.unlink()

    # -- the runs ------------------------------------------------------------------------------
    def run_path(self, index: int, label: str, run: int) -> Path:
        return self.runs_dir / run_file_name(index, label, run)

    def finished(self, labels: list[str], runs: int) -> set[tuple[str, int]]:
        """The ``(variant, run)`` pairs of ``labels`` x ``range(runs)`` already saved here."""
        return {
            (label, run)
            for i, label in enumerate(labels)
            for run in range(runs)
            if self.run_path(i, label, run).exists()
        }

    def write_run(self, index: int, label: str, run: int, frame: pd.DataFrame) -> Path:
        """Save one finished run atomically (temporary file, then ``os.replace``)."""
        from rlladder import __version__

        path = self.run_path(index, label, run)
        self._write_text(path, frame.to_csv(index=False))
        if self._document is not None:  # which version wrote this run, beside the spec
            versions = self._document["run_versions"].setdefault(label, [])
            versions += [None] * (run + 1 - len(versions))
            versions[run] = __version__
            self._write_spec()
        return path

    def read_runs(self, labels: list[str], runs: int) -> pd.DataFrame:
        """Every saved run of ``labels`` x ``range(runs)``, tidy."""
        frames = [
            pd.read_csv(self.run_path(i, label, run), **_EXACT_FLOATS)
            for i, label in enumerate(labels)
            for run in range(runs)
            if self.run_path(i, label, run).exists()
        ]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return tidy(frame, labels)

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

    Raises:
        ConfigError: the folder does not exist, has no ``spec.json``, or no finished run.
    """
    spec = load_spec(folder)
    labels = list(spec["variants"])
    frame = ResultsStore(folder).read_runs(labels, int(spec["runs"]))
    if frame.empty:
        raise ConfigError(
            f"{folder} holds no finished run yet; run the experiment (it resumes into the folder)"
        )
    return frame
