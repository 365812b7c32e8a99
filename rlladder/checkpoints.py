"""What every agent's checkpoint has in common, as plain values: never pickled code.

::

    agent.save("q.npz")                          # tabular agents: numpy's .npz, JSON metadata
    agent = rl.QLearning.load("q.npz")           # np.load(allow_pickle=False)
    agent = rl.DQN.load("dqn.pt")                # torch.load(weights_only=True)

Every checkpoint carries a header: the format name, its version, the agent's kind (its class
name) and the rlladder version that wrote it. Loading checks the header first, so a file that is
not an rlladder checkpoint, or one of another agent, is refused with one line that says so.

Beside the header, a checkpoint holds the agent's hyperparameters, its spaces, its counters and
its random generator's state, all as numbers, strings, lists and dicts (this module turns spaces
and generators into those and back), and its arrays: the tables of a tabular agent, the
networks and the replay buffer of a DQN (as tensors). None of it runs code when read.

A tabular checkpoint is one ``.npz`` archive: the arrays, plus ``meta``, the JSON metadata as
UTF-8 bytes. It is written to a temporary file first and moved into place, so an interrupted save
never leaves half a checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.errors import CheckpointError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "header",
    "check_header",
    "not_a_checkpoint",
    "wrong_kind",
    "rng_state",
    "rng_from_state",
    "set_rng_state",
    "space_to_dict",
    "space_from_dict",
    "spaces_to_dict",
    "spaces_from_dict",
    "adapter_to_dict",
    "plain_seed",
    "restore_array",
    "save_npz",
    "load_npz",
    "npz_checkpoint_kind",
    "short_reason",
    "save_attributes",
    "load_attributes",
]

FORMAT = "rlladder-checkpoint"
#: the newest checkpoint format this rlladder writes and reads (0: DQN files before headers)
FORMAT_VERSION = 1
_META = "meta"  # the archive member that holds the JSON metadata


# ------------------------------------------------------------------------------------ header
def header(agent: str) -> dict[str, Any]:
    """``{"format", "format_version", "agent", "rlladder_version"}`` for a checkpoint of ``agent``."""
    from rlladder import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "agent": agent,
        "rlladder_version": __version__,
    }


def not_a_checkpoint(path: str | Path, agent: str, reason: str) -> CheckpointError:
    """``'x.pt' is not an rlladder DQN checkpoint (reason)``."""
    return CheckpointError(f"{str(path)!r} is not an rlladder {agent} checkpoint ({reason})")


def wrong_kind(path: str | Path, found: Any, agent: str) -> CheckpointError:
    """``'q.npz' is an rlladder QLearning checkpoint, not a DQN one; load it with ...``."""
    return CheckpointError(
        f"{str(path)!r} is an rlladder {found} checkpoint, not a {agent} one; load it with "
        f"rl.{found}.load({str(path)!r})"
    )


def check_header(meta: Any, path: str | Path, agent: str) -> None:
    """Raise a one-line :class:`CheckpointError` unless ``meta`` heads a checkpoint of ``agent``."""
    if not isinstance(meta, Mapping):
        raise not_a_checkpoint(path, agent, f"it holds a {type(meta).__name__}, not an agent")
    if meta.get("format") != FORMAT:
        raise not_a_checkpoint(path, agent, "it has no rlladder checkpoint header")
    kind = meta.get("agent")
    if kind != agent:
        raise wrong_kind(path, kind, agent)
    version = meta.get("format_version")
    if not isinstance(version, int) or not 0 <= version <= FORMAT_VERSION:
        raise CheckpointError(
            f"{str(path)!r} is a {agent} checkpoint in format {version!r}, written by rlladder "
            f"{meta.get('rlladder_version', '?')}; this rlladder reads formats up to "
            f"{FORMAT_VERSION}: upgrade rlladder to load it"
        )


def short_reason(error: BaseException) -> str:
    """One short line for why a reader refused a file (torch's and numpy's run to paragraphs)."""
    text = str(error)
    forbidden = re.search(r"GLOBAL ([\w.]+)", text)
    if forbidden:
        return f"it holds a pickled {forbidden.group(1)}, and reading that would run code"
    if isinstance(error, EOFError):
        return "the file is empty or cut short"
    garbled = ("Unsupported operand", "pickled (object) data", "magic number", "invalid load key")
    if isinstance(error, KeyError) or any(sign in text for sign in garbled):
        return "not a file that torch.save or numpy wrote"
    detail = re.search(r"WeightsUnpickler error: *(\S[^\n]*)", text)
    lines = [detail.group(1)] if detail else [line.strip() for line in text.splitlines()]
    first = next((line for line in lines if line), "")
    first = first if len(first) <= 100 else first[:97] + "..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


# ---------------------------------------------------------------------------- random streams
_PCG_FAMILY = ("PCG64", "PCG64DXSM")


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The state of ``rng`` as plain values (its 128-bit integers as decimal strings)."""
    state = rng.bit_generator.state
    if state["bit_generator"] not in _PCG_FAMILY:
        raise CheckpointError(
            f"cannot save the state of a {state['bit_generator']} generator; agents draw from "
            "np.random.default_rng (PCG64)"
        )
    inner = state["state"]
    return {
        "bit_generator": state["bit_generator"],
        "state": str(inner["state"]),
        "inc": str(inner["inc"]),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def rng_from_state(saved: Mapping[str, Any]) -> np.random.Generator:
    """A new generator of the saved kind (PCG64 or PCG64DXSM) where :func:`rng_state` found one."""
    kind = saved.get("bit_generator")
    if kind not in _PCG_FAMILY:
        raise CheckpointError(f"cannot restore a {kind} generator; only {', '.join(_PCG_FAMILY)}")
    rng = np.random.Generator(getattr(np.random, kind)())
    set_rng_state(rng, saved)
    return rng


def set_rng_state(rng: np.random.Generator, saved: Mapping[str, Any]) -> None:
    """Put ``rng`` where :func:`rng_state` found it: it draws the same numbers from here on."""
    own = type(rng.bit_generator).__name__
    if own != saved["bit_generator"]:
        raise CheckpointError(
            f"the saved generator is a {saved['bit_generator']}, this one a {own}; "
            "build the generator with rng_from_state"
        )
    rng.bit_generator.state = {
        "bit_generator": saved["bit_generator"],
        "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
        "has_uint32": int(saved["has_uint32"]),
        "uinteger": int(saved["uinteger"]),
    }


# ------------------------------------------------------------------------------------ spaces
def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """A space as plain values: Discrete (with start), Box, MultiDiscrete, MultiBinary, and
    Tuple / Dict of those. Any other space is recorded by its repr only (load it with ``env=``)."""
    spaces = gym.spaces
    if isinstance(space, spaces.Discrete):
        return {"kind": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {
            "kind": "Box",
            "low": np.asarray(space.low).tolist(),
            "high": np.asarray(space.high).tolist(),
            "shape": list(space.shape),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiDiscrete):
        return {
            "kind": "MultiDiscrete",
            "nvec": np.asarray(space.nvec).tolist(),
            "start": np.asarray(space.start).tolist(),
            "dtype": str(space.dtype),
        }
    if isinstance(space, spaces.MultiBinary):
        return {"kind": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.Tuple):
        return {"kind": "Tuple", "spaces": [space_to_dict(s) for s in space.spaces]}
    if isinstance(space, spaces.Dict):
        return {"kind": "Dict", "spaces": [[k, space_to_dict(s)] for k, s in space.spaces.items()]}
    return {"kind": "unsupported", "repr": repr(space)}


def space_from_dict(d: Mapping[str, Any], *, loader: str = "Agent.load") -> gym.Space:
    """The space :func:`space_to_dict` described (``loader`` names the call for the error)."""
    spaces = gym.spaces
    kind = d.get("kind")
    if kind == "Discrete":
        return spaces.Discrete(int(d["n"]), start=int(d.get("start", 0)))
    if kind == "Box":
        dtype = np.dtype(d["dtype"])
        low, high = np.asarray(d["low"], dtype=dtype), np.asarray(d["high"], dtype=dtype)
        return spaces.Box(low, high, shape=tuple(d.get("shape", low.shape)), dtype=dtype)
    if kind == "MultiDiscrete":
        dtype = np.dtype(d.get("dtype", "int64"))
        nvec = np.asarray(d["nvec"], dtype=dtype)
        start = np.asarray(d.get("start", np.zeros_like(nvec)), dtype=dtype)
        return spaces.MultiDiscrete(nvec, dtype=dtype, start=start)
    if kind == "MultiBinary":
        return spaces.MultiBinary(np.asarray(d["n"]).tolist())
    if kind == "Tuple":
        return spaces.Tuple([space_from_dict(s, loader=loader) for s in d["spaces"]])
    if kind == "Dict":
        return spaces.Dict({k: space_from_dict(s, loader=loader) for k, s in d["spaces"]})
    raise CheckpointError(
        f"this checkpoint's space ({d.get('repr', kind)}) cannot be rebuilt from the file; "
        f"pass the environment: {loader}(path, env)"
    )


def spaces_to_dict(observation_space: gym.Space, action_space: gym.Space) -> dict[str, Any]:
    """``{"observation": ..., "action": ...}`` with :func:`space_to_dict`."""
    return {"observation": space_to_dict(observation_space), "action": space_to_dict(action_space)}


def spaces_from_dict(
    saved: Mapping[str, Any], env: gym.Env | None = None, *, loader: str = "Agent.load"
) -> tuple[gym.Space, gym.Space]:
    """The (observation, action) spaces: ``env``'s if given, else those saved."""
    if env is not None:
        return env.observation_space, env.action_space
    return (
        space_from_dict(saved["observation"], loader=loader),
        space_from_dict(saved["action"], loader=loader),
    )


def adapter_to_dict(adapter: Any) -> dict[str, Any]:
    """How a tabular agent numbers its states, as its ``bins=`` / ``bounds=`` keywords.

    A :class:`~rlladder.spaces.BinningAdapter` gives its bins and the bounds its grid spans (the
    box's own, or those given), so a loaded agent bins exactly as the saved one did; the other
    adapters need no keywords.
    """
    bins = getattr(adapter, "bins", None)
    if bins is None:
        return {}
    bounds = np.stack([adapter.low, adapter.high], axis=1)
    return {"bins": [int(b) for b in bins], "bounds": bounds.tolist()}


def plain_seed(seed: Any) -> int | None:
    """An agent's ``seed`` as JSON holds it (``None`` for anything but a whole number: the
    generator's state, which is what matters, is saved on its own)."""
    return int(seed) if isinstance(seed, int | np.integer) else None


def restore_array(array: np.ndarray, saved: np.ndarray | None, path: str | Path, what: str) -> None:
    """Copy ``saved`` into ``array`` in place, or say in one line why it does not fit."""
    if saved is None or saved.shape != array.shape:
        found = "no array" if saved is None else f"an array of shape {saved.shape}"
        raise CheckpointError(
            f"{str(path)!r} holds {found} as the {what}, but these spaces give {array.shape}; "
            "load it with the environment it was trained on, or without env="
        )
    array[...] = saved


# ------------------------------------------------------------------------- .npz checkpoints
def save_npz(path: str | Path, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Write ``arrays`` and the JSON ``meta`` (which starts with :func:`header`) to ``path``.

    The file is written exactly at ``path`` (numpy would add ``.npz`` to a bare name), through a
    temporary file that replaces it when complete.
    """
    path = Path(path)
    if _META in arrays:
        raise ValueError(f"an array may not be called {_META!r}")
    blob = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **{_META: blob}, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_npz(path: Path, agent: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Every member of an rlladder ``.npz`` checkpoint, without checking the agent's kind."""
    if not zipfile.is_zipfile(path):
        reason = "the file is empty" if path.stat().st_size == 0 else "not a .npz archive"
        raise not_a_checkpoint(path, agent, reason)
    try:
        with np.load(path, allow_pickle=False) as data:
            names = list(data.files)
            if _META not in names:
                torch_file = any(name.endswith("data.pkl") for name in names)
                reason = (
                    "it is a torch file; DQN checkpoints load with rl.DQN.load"
                    if torch_file
                    else "a .npz archive without rlladder's metadata"
                )
                raise not_a_checkpoint(path, agent, reason)
            arrays = {name: data[name] for name in names}
    except CheckpointError:
        raise
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as error:
        raise not_a_checkpoint(path, agent, short_reason(error)) from None
    try:
        meta = json.loads(arrays.pop(_META).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise not_a_checkpoint(path, agent, f"unreadable metadata: {short_reason(error)}") from None
    return meta, arrays


def load_npz(path: str | Path, agent: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(meta, arrays)`` of a ``.npz`` checkpoint of ``agent``, read without unpickling anything.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointError: the file is not an rlladder checkpoint of ``agent`` (one line saying so).
    """
    path = Path(path)
    meta, arrays = _read_npz(path, agent)
    check_header(meta, path, agent)
    return meta, arrays


def npz_checkpoint_kind(path: str | Path) -> str | None:
    """The agent kind of an rlladder ``.npz`` checkpoint at ``path``, or ``None`` if it is not one."""
    path = Path(path)
    try:
        if not path.is_file() or not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            if f"{_META}.npy" not in archive.namelist():
                return None
        meta, _ = _read_npz(path, "")
    except (CheckpointError, OSError, zipfile.BadZipFile):
        return None
    kind = meta.get("agent") if isinstance(meta, dict) and meta.get("format") == FORMAT else None
    return kind if isinstance(kind, str) else None


# ------------------------------------------------------ any agent whose state is plain values
_SPACES = ("observation_space", "action_space")
_PLAIN = (type(None), bool, int, float, str)


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and hasattr(value, "detach")


def _json_plain(value: Any) -> bool:
    """Whether JSON holds ``value`` as it is: plain scalars, and lists and string-keyed dicts of
    them (a tuple comes back a list)."""
    if isinstance(value, _PLAIN):
        return not (isinstance(value, float) and not np.isfinite(value))
    if isinstance(value, list | tuple):
        return all(_json_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_plain(v) for k, v in value.items())
    return False


_TUPLE = "__tuple__"  # how JSON holds a tuple inside an attribute: {"__tuple__": [items]}


def _encode(value: Any) -> Any:
    """``value`` (where :func:`_json_plain`) with every tuple, at any depth, marked as one."""
    if isinstance(value, tuple):
        return {_TUPLE: [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    return value


def _decode(value: Any) -> Any:
    """What :func:`_encode` was given: marked tuples become tuples again."""
    if isinstance(value, dict):
        if set(value) == {_TUPLE}:
            return tuple(_decode(v) for v in value[_TUPLE])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _has_tuple_key(value: Any) -> bool:
    if isinstance(value, dict):
        return _TUPLE in value or any(_has_tuple_key(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_tuple_key(v) for v in value)
    return False


def save_attributes(agent: Any, path: str | Path) -> None:
    """Save ``agent`` (any :class:`~rlladder.Agent`) to ``path`` as an ``.npz`` checkpoint:
    every attribute, where each is a plain value (numbers, strings, ``None``, and lists, tuples
    and dicts of them), a numpy array or scalar, a torch tensor (on the CPU), or a numpy
    generator (saved as its state); the spaces and the header too. What :meth:`rlladder.Agent.save`
    does for an agent without a ``save`` of its own.

    Raises:
        CheckpointError: an attribute is none of those (a network module, an open file, an
            object of your own), named in one line with what would work.
    """
    kind = type(agent).__name__
    values, arrays = {}, {}
    tensors: dict[str, dict[str, Any]] = {}
    generators: dict[str, dict[str, Any]] = {}
    tuples: list[str] = []  # top-level tuples in files written before _encode; kept for them
    floats: list[str] = []
    python_floats: list[str] = []
    for name, value in vars(agent).items():
        if name in _SPACES:
            continue
        if name == "seed":  # the generator's state is what matters, and is saved on its own
            values[name] = plain_seed(value)
        elif isinstance(value, np.random.Generator):
            generators[name] = rng_state(value)
        elif isinstance(value, np.ndarray) and value.dtype != object:
            arrays[name] = value
        elif isinstance(value, np.generic) and not isinstance(value, np.object_):
            arrays[name], floats = np.asarray(value), [*floats, name]
        elif _is_tensor(value):
            tensor = value.detach()
            if tensor.device.type != "cpu" or str(tensor.dtype) == "torch.bfloat16":
                raise _unsavable(kind, name, f"a {tensor.dtype} tensor on {tensor.device}")
            arrays[name] = tensor.numpy()
            tensors[name] = {"requires_grad": bool(value.requires_grad)}
        elif isinstance(value, float) and not np.isfinite(value):  # JSON has no inf or nan
            arrays[name], floats = np.float64(value), [*floats, name]
            python_floats.append(name)
        elif _json_plain(value) and not _has_tuple_key(value):
            values[name] = _encode(value)  # tuples (nested ones too) come back as tuples
        else:
            raise _unsavable(kind, name, f"a {type(value).__module__}.{type(value).__qualname__}")
    meta = {
        **header(kind),
        "spaces": spaces_to_dict(agent.observation_space, agent.action_space),
        "attributes": values,
        "tuples": tuples,
        "scalars": floats,
        "python_floats": python_floats,
        "tensors": tensors,
        "generators": generators,
    }
    save_npz(path, meta, arrays)


def _unsavable(kind: str, name: str, what: str) -> CheckpointError:
    return CheckpointError(
        f"{kind}.save cannot save attribute {name!r}: it is {what}, not a plain value, array, "
        f"CPU tensor or numpy generator; keep such state in those, or give {kind} its own "
        "save and load"
    )


def load_attributes(cls: type, path: str | Path, env: gym.Env | None = None) -> Any:
    """The agent :func:`save_attributes` saved: ``cls`` built on the saved spaces (or ``env``'s)
    with its seed and the saved values of its constructor's keywords, then every saved
    attribute put back, generators at the state they were saved in. Nothing is unpickled.

    Raises:
        CheckpointError: ``path`` is not a checkpoint of ``cls``.
    """
    meta, arrays = load_npz(path, cls.__name__)
    observation_space, action_space = spaces_from_dict(
        meta["spaces"], env, loader=f"{cls.__name__}.load"
    )
    values = {name: _decode(value) for name, value in meta["attributes"].items()}
    for name in meta.get("tuples", []):
        values[name] = tuple(values[name])
    for name, array in arrays.items():
        values[name] = array[()] if name in meta.get("scalars", []) else array
    for name in meta.get("python_floats", []):
        values[name] = float(values[name])
    if meta.get("tensors"):
        import torch

        for name, info in meta["tensors"].items():
            values[name] = torch.from_numpy(arrays[name].copy())
            values[name].requires_grad_(bool(info.get("requires_grad")))
    for name, state in meta.get("generators", {}).items():
        values[name] = rng_from_state(state)  # of the saved kind: PCG64 or PCG64DXSM
    keywords = {k: values[k] for k in cls.default_hyperparameters() if k in values}
    agent = cls(observation_space, action_space, seed=values.get("seed"), **keywords)
    for name, value in values.items():
        setattr(agent, name, value)
    return agent
