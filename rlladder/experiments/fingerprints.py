"""Your own code is part of a results folder's identity: a fingerprint of its source, per run.

A run's identity is its experiment, its resolved hyperparameters, the rlladder version, and the
code it ran. rlladder's own code is named by the version; yours is not, so for each variant whose
agent class (or factory function) or whose env factory is not rlladder's own, ``spec.json``
records, per run, the SHA-256 of that code's source::

    "fingerprints": {"mine": [{"mydqn:MyDQN": "9f86d08..."}, {"mydqn:MyDQN": "9f86d08..."}]}

What is hashed is the source as Python finds it, in this order:

* the file the code was defined in: the whole module (``mydqn.py``), so a change to a helper
  function beside the class counts too; for a class, each class of its method resolution order
  that is neither rlladder's nor Python's own adds its module (a base class in another file);
* where there is no such file (a class defined in a notebook cell, or by ``exec``), the source
  that :mod:`linecache` holds for the code's file name: the notebook cell it was defined in;
* otherwise nothing: the fingerprint is ``None`` and the run says, in one line
  (:class:`~rlladder.errors.UncheckedCodeWarning`), that its code could not be checked.

A resume compares each saved run's fingerprint with the code's now and refuses, in one line
naming the class and its file, where they differ (:func:`code_changes`): a fixed bug and its
buggy runs are never mixed. A fingerprint that is unknown (a folder from before fingerprints, or
code whose source was not found) is no difference: the resume goes on and says that those runs
could not be checked (:func:`unchecked_runs`).

The source is read from disk when the experiment starts: edit a module and re-run in the same
Python process (a notebook) without reloading it, and the process still runs the old code while
the fingerprint is the new file's. Restart the kernel (or ``importlib.reload``) after an edit.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rlladder.experiments.spec import resolve_target
from rlladder.experiments.values import qualified_name

__all__ = [
    "Fingerprint",
    "fingerprint",
    "is_own_code",
    "experiment_code",
    "code_changes",
    "unchecked_runs",
]


@dataclass(frozen=True)
class Fingerprint:
    """The fingerprint of one class or function of yours.

    Attributes:
        name: ``module:qualname``, how a TOML file names it.
        digest: SHA-256 (hex) of its source, or ``None`` where no source was found.
        where: what was hashed: the files, or the notebook cell (its linecache name), or why
            nothing was.
    """

    name: str
    digest: str | None
    where: str


def is_own_code(obj: Any) -> bool:
    """Whether ``obj`` (a class or function) is yours: neither rlladder's nor Python's own."""
    module = getattr(obj, "__module__", None) or ""
    top = module.partition(".")[0]
    return top != "rlladder" and top not in sys.stdlib_module_names and module != "builtins"


def fingerprint(obj: Any) -> Fingerprint | None:
    """The fingerprint of the source of ``obj``, a class or function; ``None`` for rlladder's
    own code (its version names it)."""
    if not is_own_code(obj):
        return None
    objects = [c for c in obj.__mro__ if is_own_code(c)] if inspect.isclass(obj) else [obj]
    sources: list[tuple[str, str]] = []
    for each in objects:
        found = _source(each)
        if found is None:
            return Fingerprint(qualified_name(obj), None, _not_found(each))
        if found not in sources:
            sources.append(found)
    digest = hashlib.sha256()
    for _, text in sources:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return Fingerprint(qualified_name(obj), digest.hexdigest(), ", ".join(w for w, _ in sources))


def _source(obj: Any) -> tuple[str, str] | None:
    """``(where, text)``: the file ``obj`` was defined in, or the linecache text of that name
    (a notebook cell), or ``None``."""
    filename = _defined_in(obj)
    if filename is not None and os.path.isfile(filename):
        try:
            with open(filename, encoding="utf-8") as handle:
                return filename, handle.read()
        except (OSError, UnicodeDecodeError):
            return None
    if filename is not None:
        lines = linecache.getlines(filename)
        if lines:
            return f"the cell {filename}", "".join(lines)
    return None


def _defined_in(obj: Any) -> str | None:
    """The file name ``obj``'s code was compiled from: its code object's, or a method's for a
    class (a class defined in a notebook has no module file, but its methods name the cell),
    else its module's source file."""
    for function in _functions(obj):
        return function.__code__.co_filename
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    try:
        return inspect.getsourcefile(module) if module is not None else None
    except TypeError:  # a module without a file (a notebook's __main__)
        return None


def _functions(obj: Any) -> Iterator[Any]:
    """The Python functions of ``obj``: itself, or a class's own methods (unwrapped)."""
    members = list(vars(obj).values()) if inspect.isclass(obj) else [obj]
    for member in members:
        if isinstance(member, staticmethod | classmethod):
            member = member.__func__
        elif isinstance(member, property):
            member = member.fget
        member = inspect.unwrap(member) if callable(member) else member
        if inspect.isfunction(member):
            yield member


def _not_found(obj: Any) -> str:
    filename = _defined_in(obj)
    return f"no source found for {qualified_name(obj)}" + (f" ({filename})" if filename else "")


def experiment_code(experiment: Any) -> dict[str, dict[str, Fingerprint]]:
    """For each variant of ``experiment`` that runs code of yours (its agent class or factory,
    the env factory), ``{label: {name: Fingerprint}}``; variants that run rlladder's code and
    gymnasium ids only are left out."""
    env = _env_code(experiment.env)
    code: dict[str, dict[str, Fingerprint]] = {}
    for label, variant in experiment.variants.items():
        prints = [fingerprint(variant.agent_code), fingerprint(env) if env is not None else None]
        found = {p.name: p for p in prints if p is not None}
        if found:
            code[label] = found
    return code


def _env_code(env: Any) -> Callable[..., Any] | None:
    if isinstance(env, str) and ":" in env:
        return resolve_target(env, "env factory")
    return env if callable(env) else None


def code_changes(
    recorded: Mapping[str, Sequence[Mapping[str, str | None] | None]],
    code: Mapping[str, Mapping[str, Fingerprint]],
    finished: Mapping[str, Sequence[int]],
) -> list[str]:
    """How the code of the ``finished`` runs (label -> run numbers) differs from ``code`` now,
    one phrase per class or function that changed, naming it, its file and the runs; ``[]``
    where nothing known changed. ``recorded`` is ``spec.json``'s ``fingerprints``; a run or a
    name without a fingerprint is unknown, which is no change."""
    changes = []
    for label, now in code.items():
        then = list(recorded.get(label, []))
        for name, current in now.items():
            if current.digest is None:
                continue
            runs = [
                run
                for run in finished.get(label, [])
                if run < len(then)
                and then[run] is not None
                and then[run].get(name) not in (None, current.digest)
            ]
            if runs:
                changes.append(
                    f"variant {label!r}: the source of {name} ({current.where}) changed since "
                    f"{_runs(runs)} {'was' if len(runs) == 1 else 'were'} made"
                )
    return changes


def unchecked_runs(
    recorded: Mapping[str, Sequence[Mapping[str, str | None] | None]],
    code: Mapping[str, Mapping[str, Fingerprint]],
    finished: Mapping[str, Sequence[int]],
) -> list[str]:
    """The finished runs of your code that have no fingerprint to check (saved before rlladder
    recorded them, or whose source was not found then), one phrase per variant; code whose
    source is not found now is left out (it is said once, when the experiment starts)."""
    notes = []
    for label, now in code.items():
        checkable = [name for name, p in now.items() if p.digest is not None]
        then = list(recorded.get(label, []))
        runs = [
            run
            for run in finished.get(label, [])
            if run >= len(then)
            or then[run] is None
            or any(then[run].get(name) is None for name in checkable)
        ]
        if runs and checkable:
            notes.append(f"variant {label!r}: {_runs(runs)} of {', '.join(checkable)}")
    return notes


def _runs(runs: Sequence[int]) -> str:
    return f"run {runs[0]}" if len(runs) == 1 else f"runs {', '.join(map(str, runs))}"
