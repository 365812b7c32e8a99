"""Your own code, named in a string: ``module:Name`` or ``path/to/file.py:Name``.

One rule, used wherever rlladder takes such a string: ``rlladder check TARGET``, the
``agent = "..."`` and ``env = "..."`` of a TOML experiment (``rlladder run``),
``rl.Variant("...")`` and ``rl.register_agent(name, "...")``::

    rlladder check dqn                       # a registered name (see `rlladder list`)
    rlladder check my_agent:MyDQN            # my_agent.py in the current folder, or any module
    rlladder check agents/my_agent.py:MyDQN  # that file, wherever it is

* ``module:Name`` imports ``module`` with the current folder first on the import path, as
  ``python -m rlladder`` has it: a module beside you is found whether you type ``rlladder`` or
  ``python -m rlladder`` (and the ``process`` backend's workers, which get the parent's import
  path, find it too). A package imported already (rlladder itself, for the built-in agents) is
  used as it is. ``Name`` may be dotted (``module:Outer.Inner``).
* ``path/to/file.py:Name`` imports that file (a relative path is read from the current folder),
  with its own folder on the import path as when you run it, so that it can import the modules
  beside it. It is registered in ``sys.modules`` under a name made from its absolute path, so
  importing it again gives the same classes, and classes defined in it travel to the worker
  processes of the ``process`` and ``ray`` backends by value (cloudpickle), wherever those run.

A string without ``:`` is a registered agent name (:func:`rlladder.registry.agent_target`). A target that does not
import raises a one-line :class:`~rlladder.errors.ConfigError` that says where it looked.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from rlladder.errors import ConfigError, did_you_mean

__all__ = ["resolve_target", "is_import_target", "FILE_MODULE_PREFIX"]

#: The start of the ``sys.modules`` name a file imported by path gets.
FILE_MODULE_PREFIX = "rlladder_file_"

FORMS = "'module:Name' (a module in the current folder or installed) or 'path/to/file.py:Name'"


def is_import_target(text: str) -> bool:
    """Whether ``text`` names code to import (``module:Name``, ``file.py:Name``), not a
    registered name: it has a ``:``."""
    return ":" in text


def resolve_target(path: str, what: str) -> Any:
    """The object ``path`` names: ``"module:Name"`` or ``"path/to/file.py:Name"``.

    Args:
        path: ``module:Name`` (imported with the current folder first on the import path) or
            ``path/to/file.py:Name`` (that file, imported by path); ``Name`` may be dotted.
        what: what the object is for, in the error message (``"agent"``, ``"env factory"``).

    Returns:
        The class, function or other object ``Name`` is in that module.

    Raises:
        ConfigError: a malformed string, a module or file that does not import (the message says
            which folder was searched, or the error the file raised and where), or no ``Name``.
    """
    if not isinstance(path, str):
        raise ConfigError(f"{what} must be a string like {FORMS}, got {path!r}")
    source, _, attr = path.rpartition(":")  # rpartition: a Windows path has a drive's colon
    if not source or not attr:
        raise ConfigError(f"{what} {path!r} must look like {FORMS}")
    where = f"cannot import {what} {path!r}"
    if _is_file(source):
        module = _import_file(source, where)
    else:
        module = _import_module(source, where, attr)
    value: Any = module
    for depth, part in enumerate(attr.split(".")):
        if not hasattr(value, part):
            owner = source if depth == 0 else ".".join([source, *attr.split(".")[:depth]])
            names = [n for n in dir(value) if not n.startswith("_")]
            raise ConfigError(
                f"{where}: {owner} has no {part!r}{did_you_mean(part, names)}"
            ) from None
        value = getattr(value, part)
    return value


# --------------------------------------------------------------------------------------------
def _is_file(source: str) -> bool:
    return source.endswith(".py") or "/" in source or os.sep in source


def _import_module(name: str, where: str, attr: str) -> ModuleType:
    """``name`` imported with the current folder first on the import path (a package imported
    already, such as rlladder for its own agents, is imported as it is, the path left alone)."""
    folder = os.getcwd()
    if name.partition(".")[0] not in sys.modules:
        _on_path(folder)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if name == missing or name.startswith(missing + "."):
            raise ConfigError(
                f"{where}: no module {missing!r} in the current folder ({folder}) nor among the "
                f"installed packages; run from the folder that holds {missing}.py, or give its "
                f"path: 'path/to/{missing}.py:{attr}'"
            ) from None
        raise ConfigError(f"{where}: importing {name} raised {_raised(error, None)}") from None
    except Exception as error:  # the module's own code raised: name it, and where
        raise ConfigError(f"{where}: importing {name} raised {_raised(error, None)}") from None


def _import_file(source: str, where: str) -> ModuleType:
    """The file ``source`` imported by path, under a name made from its absolute path."""
    file = Path(source).expanduser()
    file = (Path.cwd() / file).resolve() if not file.is_absolute() else file.resolve()
    if not file.is_file():
        raise ConfigError(
            f"{where}: no file {file.name!r} in {file.parent}"
            + ("" if source.endswith(".py") else " (a file target ends in .py)")
        )
    digest = hashlib.sha1(str(file).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", file.stem)
    name = f"{FILE_MODULE_PREFIX}{stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{where}: {file} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    _on_path(str(file.parent))  # as `python file.py`: it can import the modules beside it
    sys.modules[name] = module  # before running it: dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except BaseException as error:
        del sys.modules[name]
        if not isinstance(error, Exception):
            raise
        raise ConfigError(f"{where}: {file.name} raised {_raised(error, file)}") from None
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)  # workers cannot import it by this name
    return module


def _on_path(folder: str) -> None:
    """Put ``folder`` first on the import path unless it is on it already (an absolute path,
    which the process backend passes on to its workers)."""
    if not any(entry and os.path.abspath(entry) == folder for entry in sys.path):
        sys.path.insert(0, folder)
        importlib.invalidate_caches()


def _raised(error: BaseException, file: Path | None) -> str:
    """``NameError: name 'x' is not defined (my_agent.py, line 3)``: the error and the line of
    the user's code that raised it."""
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    if isinstance(error, SyntaxError) and error.filename:
        return f"{text.split(' (')[0]} ({Path(error.filename).name}, line {error.lineno})"
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if "importlib" not in f.filename]
    if file is not None:
        own = [f for f in own if Path(f.filename) == file] or own
    if own:
        return f"{text} ({Path(own[-1].filename).name}, line {own[-1].lineno})"
    return text
