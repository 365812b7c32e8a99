"""An environment's state as plain values and arrays, to stop a run mid-episode and go on exactly.

::

    meta, arrays = env_state(env)          # JSON-able tree, and numpy arrays
    ...                                    # json.dumps(meta); np.savez(f, **arrays)
    fresh = gym.make("CartPole-v1")        # the same factory, in a new process perhaps
    set_env_state(fresh, meta, arrays)     # fresh now steps and resets exactly as env would

A checkpoint taken at an episode boundary needs nothing from the environment: the next episode
starts with ``reset(seed=...)`` or from the environment's generator, and the generator's state is
all there is to keep. A checkpoint in the *middle* of an episode is different. A DQN ensemble's
members are all mid-episode at any step, so a group's checkpoint must hold where each member's
cart and pole are, how many steps its time limit has counted, and what its generators will draw
next. This module captures that, and puts it back into a freshly made environment.

**What is captured.** A gymnasium environment is a chain of objects: the wrappers ``gym.make``
adds (``TimeLimit``, ``OrderEnforcing``, ``PassiveEnvChecker``) around the environment itself,
``env.unwrapped``. For each object in the chain, outermost first, :func:`env_state` reads its
instance attributes (``vars(obj)``) and keeps those that are state:

* plain values: ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, numpy scalars and
  dtypes, and lists, tuples, dicts and deques of them. Each comes back as the type it was: a tuple
  as a tuple, a dict with integer keys (FrozenLake's transition table ``P``) with integer keys, an
  ``np.int64`` as an ``np.int64``, a deque with its ``maxlen``;
* numpy arrays of any dtype that needs no pickling (FrozenLake's map ``desc`` is ``bytes``,
  ``S1``), wherever they sit in those containers;
* numpy generators (the environment's ``np_random``), as their state through
  :func:`rlladder.checkpoints.rng_state`;
* the generators of every space an object holds (the observation and action spaces, which
  ``sample()`` draws from; a wrapper's own spaces), and of the spaces inside a ``Tuple`` or
  ``Dict``. A space that was never seeded has no generator, and gets none back.

That covers the physics (CartPole's ``state``), the episode's bookkeeping (FrozenLake's position
``s``, ``TimeLimit``'s ``_elapsed_steps``, ``OrderEnforcing``'s ``_has_reset``, which of
``PassiveEnvChecker``'s one-time checks have run) and the constants as well. Keeping the constants
costs little and makes a restored environment the *same* one: a FrozenLake made with a random map
gets the original's map back, not a new one. (The constants are most of the size: FrozenLake 8x8's
tree is about 36 kB of JSON, Taxi's transition table about 135 kB, CartPole's 2 kB.)

**What is left alone.** The link to the inner object (``env``: the chain itself is rebuilt by the
factory), the spaces themselves (only their generators), ``spec``, ``metadata``, ``render_mode``,
the arguments a wrapper was built with (``_saved_kwargs``), and the objects an environment draws
with: ``screen``, ``clock``, ``window``, ``window_surface``, ``surf``, ``viewer``, pictures named
``*_img`` / ``*_imgs``, and anything from ``pygame``. None of them changes a number the environment
gives; a restored environment opens its own window when asked to render. Code is left alone too:
classes, and functions whose closures hold only constants (plain values, arrays, spaces),
objects of the chain and other such functions, the way wrappers keep their transforms
(``FlattenObservation.func``, ``RescaleAction.func``): the factory builds them again. A function
that closes over anything else (a list it appends to) may hide state, and is not left alone.
Class attributes are not read: an environment that keeps state on its class, rather than on its
instance, is not captured.

**Which environments are supported.** Those whose instance attributes are all of the kinds above.
The tests step a captured and a restored copy side by side, through episode ends and unseeded
resets, for these, each as ``gym.make`` makes it (with its default wrappers, and with a
``max_episode_steps=`` of its own):

* classic control: ``CartPole-v1``, ``Acrobot-v1``, ``MountainCar-v0``,
  ``MountainCarContinuous-v0``, ``Pendulum-v1``;
* toy text: ``FrozenLake-v1`` (4x4 and 8x8, slippery or not, a random map), ``CliffWalking-v1``
  (slippery or not), ``Taxi-v4``, ``Blackjack-v1``;
* rlladder's probes: ``rlladder/Probe1-v0`` ... ``rlladder/Probe6-v0`` and their tabular twins
  ``rlladder/TabularProbe1-v0`` ... ``rlladder/TabularProbe6-v0``;
* around any of those, gymnasium's wrappers ``FlattenObservation``, ``TransformReward``,
  ``ClipReward``, ``DtypeObservation``, ``TimeAwareObservation``, ``FrameStackObservation``,
  ``StickyAction``, ``RescaleAction``, ``ClipAction`` and ``RecordEpisodeStatistics`` (whose
  episode time ``t`` is the wall clock's, as ever).

rlladder's experiments make their environments with ``gym.make(env, **env_kwargs)`` and cut
episodes at ``max_episode_steps`` in the training loop, not with a wrapper, so every suite's
environment is on this list.

**What happens otherwise.** An attribute of any other type (a Box2D world, as LunarLander's
``world``; a MuJoCo model; an open file; a lock; ``NormalizeObservation``'s running statistics,
an object of its own class) could hold state this module cannot read as values, and restoring
around it would not be exact. So :func:`env_state_problem` returns one line naming the
environment, the object, the attribute and its type, and :func:`env_state` raises
:class:`EnvStateError` with that line. A caller that must checkpoint anyway falls back to a point
where the environment's state is not needed: the last episode boundary. :func:`set_env_state`
checks first that the fresh environment is built like the captured one (the same wrapper and
environment classes in the same order, the same spaces) and says where they differ.

The arrays are keyed ``"<position>.<attribute>"`` (``"3.state"``: the attribute ``state`` of the
fourth object in the chain), with ``".<n>"`` added for arrays nested in a container. Nothing is
pickled: the tree survives ``json.dumps`` / ``json.loads``, the arrays ``np.savez`` /
``np.load(allow_pickle=False)``.
"""

from __future__ import annotations

import math
import types
from collections import deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np

from rlladder.checkpoints import rng_state, set_rng_state, space_to_dict
from rlladder.errors import CheckpointError

__all__ = ["EnvStateError", "env_state", "env_state_problem", "set_env_state"]

FORMAT = "rlladder-env-state"
FORMAT_VERSION = 1

#: attributes that are structure, description or construction, never state
_NOT_STATE = frozenset(
    {
        "spec",
        "_cached_spec",
        "metadata",
        "_metadata",
        "render_mode",
        "_saved_kwargs",
        "_ezpickle_args",
        "_ezpickle_kwargs",
    }
)
#: attributes an environment draws with (pygame windows, clocks, surfaces, pictures)
_RENDER = frozenset({"screen", "clock", "window", "window_surface", "surf", "viewer"})
_PLAIN = (type(None), bool, int, float, str)


class EnvStateError(CheckpointError):
    """An environment's state cannot be captured as values, or a captured state does not fit the
    environment it is put into."""


class _Unsupported(Exception):
    """Internal: a value this module cannot capture (``kind`` says what it is, or the problem's
    whole line once it is known where it sits)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# ------------------------------------------------------------------------------ the chain
def _chain(env: gym.Env) -> list[Any]:
    """``[env, env.env, ..., env.unwrapped]``: every object from the outermost wrapper in."""
    chain = [env]
    while isinstance(chain[-1], gym.Wrapper):
        chain.append(chain[-1].env)
    return chain


def _class_name(obj: Any) -> str:
    """``gymnasium.wrappers.common.TimeLimit``: where the class lives, as a plain string."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _type_name(value: Any) -> str:
    """``Box2D.b2World``, ``_thread.lock``, ``object``: a value's type for a message."""
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


def _a(noun: str) -> str:
    """``a list``, ``an object``."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def _env_name(env: Any) -> str:
    """The environment's id (``CartPole-v1``), or its class name when it has no spec."""
    spec = getattr(env, "spec", None)
    env_id = getattr(spec, "id", None)
    return env_id if isinstance(env_id, str) else type(getattr(env, "unwrapped", env)).__name__


def _is_space(value: Any) -> bool:
    return isinstance(value, gym.spaces.Space)


def _skipped(name: str, value: Any, inner: Any, chain: list[Any]) -> bool:
    """Whether attribute ``name`` (holding ``value``) is left alone: the link to ``inner``, a
    space (its generator is captured on its own), a description, something to draw with, or
    code the factory builds again (see :func:`_is_factory_code`)."""
    if name == "env" and value is inner:
        return True
    if name in _NOT_STATE or _is_space(value):
        return True
    if name in _RENDER or name.endswith(("_img", "_imgs")):
        return True
    if type(value).__module__.split(".")[0] == "pygame":
        return True
    return _is_factory_code(value, chain)


def _is_factory_code(value: Any, chain: list[Any], depth: int = 0) -> bool:
    """Whether ``value`` is code that holds no state of its own: a class, a method of an object
    of the chain, or a function whose closure holds only constants (plain values, arrays, spaces, classes, modules), objects of the
    chain (captured themselves) and other such functions. Wrappers keep their transforms so
    (``FlattenObservation.func``, ``RescaleAction.func``), and the factory builds them again."""
    if isinstance(value, type):
        return True
    if isinstance(value, types.MethodType):  # a method of an object of the chain
        return any(value.__self__ is obj for obj in chain) and _is_factory_code(
            value.__func__, chain, depth + 1
        )
    if not isinstance(value, types.FunctionType) or depth > 3:
        return False
    for cell in value.__closure__ or ():
        try:
            held = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        constant = (
            type(held) in (*_PLAIN, bytes, tuple)
            or isinstance(held, np.ndarray | np.generic | types.ModuleType | type)
            or _is_space(held)
            or any(held is obj for obj in chain)
        )
        if not (constant or _is_factory_code(held, chain, depth + 1)):
            return False
    return True


def _attributes(obj: Any) -> dict[str, Any]:
    try:
        return dict(vars(obj))
    except TypeError:
        raise _Unsupported(f"a {_type_name(obj)} without instance attributes (__slots__)") from None


# ------------------------------------------------------------------------ values -> plain
class _Encoder:
    """Turns values into a JSON tree; arrays go to :attr:`arrays`, referenced by key.

    Every JSON object in the tree is a tagged node (a dict is ``{"dict": [[key, value], ...]}``),
    so nothing the environment holds can be mistaken for a tag.
    """

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self._seen: dict[int, str] = {}  # id(array) -> key: an array held twice comes back once
        self._keep: list[Any] = []  # keeps the arrays alive while their ids are in _seen

    def _array(self, value: np.ndarray, key: str) -> dict[str, Any]:
        if value.dtype.hasobject:
            raise _Unsupported(f"an array of dtype {value.dtype} (Python objects)")
        if id(value) not in self._seen:
            self._seen[id(value)] = key
            self._keep.append(value)
            self.arrays[key] = np.array(value, copy=True)
        return {"array": self._seen[id(value)]}

    def encode(self, value: Any, key: str, counter: list[int] | None = None) -> Any:
        """The JSON node for ``value``: an attribute's own array is keyed ``key``, the arrays
        inside a container ``key.0``, ``key.1``, ... (``counter`` numbers them)."""
        kind = type(value)
        if kind is float and not math.isfinite(value):
            return {"float": repr(value)}
        if kind in _PLAIN:
            return value
        if kind is bytes:
            return {"bytes": value.hex()}
        if kind is np.ndarray:
            return self._array(value, self._nested(key, counter))
        if isinstance(value, np.generic):
            return self._scalar(value, key, counter)
        if isinstance(value, np.random.Generator):
            return {"generator": _generator_state(value)}
        inner = [0] if counter is None else counter  # one numbering for the whole container
        if kind is list:
            return [self.encode(v, key, inner) for v in value]
        if kind is tuple:
            return {"tuple": [self.encode(v, key, inner) for v in value]}
        if kind is deque:
            return {"deque": [self.encode(v, key, inner) for v in value], "maxlen": value.maxlen}
        if isinstance(value, np.dtype) and value.fields is None and not value.hasobject:
            return {"dtype": value.str}
        if kind is dict:
            pairs = value.items()
            return {
                "dict": [[self.encode(k, key, inner), self.encode(v, key, inner)] for k, v in pairs]
            }
        raise _Unsupported(_a(_type_name(value)))

    @staticmethod
    def _nested(key: str, counter: list[int] | None) -> str:
        """``key`` for an attribute's own array, ``key.n`` for the n-th one inside a container."""
        if counter is None:
            return key
        counter[0] += 1
        return f"{key}.{counter[0] - 1}"

    def _scalar(self, value: np.generic, key: str, counter: list[int] | None) -> Any:
        """A numpy scalar: inline when JSON holds it exactly, else as a 0-d array."""
        dtype = value.dtype
        if dtype.kind in "biu" or (dtype.kind == "f" and dtype.itemsize <= 8) or dtype.kind == "U":
            item = value.item()
            if isinstance(item, float) and not math.isfinite(item):
                item = repr(item)
            return {"scalar": dtype.str, "value": item}
        node = self._array(np.asarray(value), self._nested(key, counter))
        return {**node, "item": True}


def _generator_state(rng: np.random.Generator) -> dict[str, Any]:
    try:
        return rng_state(rng)
    except CheckpointError:
        raise _Unsupported(f"a generator of {rng.bit_generator.state['bit_generator']}") from None


def _space_generators(space: gym.spaces.Space) -> dict[str, Any]:
    """The states of a space's generator and those of the spaces inside it (Tuple, Dict, ...),
    without creating one: reading ``space.np_random`` would seed a fresh generator."""
    own = space._np_random  # noqa: SLF001 - the property creates a generator; this does not
    node: dict[str, Any] = {"rng": None if own is None else _generator_state(own)}
    inner = _subspaces(space)
    if inner:
        node["spaces"] = [_space_generators(s) for s in inner]
    return node


def _subspaces(space: gym.spaces.Space) -> list[gym.spaces.Space]:
    """The spaces a composite space samples from, in a fixed order."""
    spaces = gym.spaces
    if isinstance(space, spaces.Tuple | spaces.OneOf):
        return list(space.spaces)
    if isinstance(space, spaces.Dict):
        return list(space.spaces.values())
    if isinstance(space, spaces.Sequence):
        return [space.feature_space]
    if isinstance(space, spaces.Graph):
        return [s for s in (space.node_space, space.edge_space) if s is not None]
    return []


def _capture(env: gym.Env) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """What :func:`env_state` returns, raising ``_Unsupported`` with the problem's line."""
    name = _env_name(env)
    chain = _chain(env)
    encoder = _Encoder()
    objects = []
    for position, obj in enumerate(chain):
        inner = chain[position + 1] if position + 1 < len(chain) else None
        where = f"{name}: attribute {{!r}} of {type(obj).__name__}"
        try:
            values = _attributes(obj)
        except _Unsupported as error:
            raise _Unsupported(f"{name}: {type(obj).__name__} is {error.kind}") from None
        attributes, spaces = {}, {}
        for attr, value in values.items():
            if _is_space(value):
                try:
                    spaces[attr] = {
                        "space": _Encoder().encode(space_to_dict(value), attr),  # inf bounds
                        "generators": _space_generators(value),
                    }
                except _Unsupported as error:
                    raise _Unsupported(
                        f"{where.format(attr)} is a space with {error.kind}"
                    ) from None
            if _skipped(attr, value, inner, chain):
                continue
            try:
                attributes[attr] = encoder.encode(value, f"{position}.{attr}")
            except _Unsupported as error:
                raise _Unsupported(_problem_line(where.format(attr), value, error.kind)) from None
        objects.append({"class": _class_name(obj), "attributes": attributes, "spaces": spaces})
    meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "env": name, "chain": objects}
    return meta, encoder.arrays


def _problem_line(where: str, value: Any, kind: str) -> str:
    """``X: attribute 'a' of Y is a T`` or, for a container, ``... is a list that holds a T``."""
    outer = _a(_type_name(value))
    if kind == outer or isinstance(value, np.ndarray):
        return f"{where} is {kind}"
    return f"{where} is {outer} that holds {kind}"


# ------------------------------------------------------------------------------- public API
def env_state_problem(env: gym.Env) -> str | None:
    """Why :func:`env_state` cannot capture ``env`` exactly, or ``None`` if it can.

    Args:
        env: the environment, as made (wrappers included).

    Returns:
        ``None``, or one short line naming the environment, the object, the attribute and its
        type, e.g. ``"LunarLander-v3: attribute 'world' of LunarLander is a Box2D.b2World"``.
    """
    try:
        _capture(env)
    except _Unsupported as error:
        return error.kind
    return None


def env_state(env: gym.Env) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Everything stepping and resetting ``env`` needs, as ``(meta, arrays)``.

    Per object in the wrapper chain (outermost first, the unwrapped environment last): its plain
    attributes, its generators' states and its observation and action spaces' generators' states.
    The arrays are copies: stepping ``env`` afterwards does not change them.

    Args:
        env: the environment, as made (wrappers included), at any step of an episode.

    Returns:
        ``meta``, a tree of plain values that survives ``json.dumps`` / ``json.loads``, and
        ``arrays``, a dict of numpy arrays that survive ``np.savez`` /
        ``np.load(allow_pickle=False)``; :func:`set_env_state` takes both.

    Raises:
        EnvStateError: an attribute cannot be captured as values (the line
            :func:`env_state_problem` gives).
    """
    try:
        return _capture(env)
    except _Unsupported:
        raise EnvStateError(env_state_problem(env)) from None


def set_env_state(env: gym.Env, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """Put ``env``, freshly made by the same factory, into the state :func:`env_state` captured.

    From then on ``step`` and ``reset(seed=None)`` give exactly what the original would have,
    and so do ``action_space.sample()`` and ``observation_space.sample()``.

    Args:
        env: an environment built like the captured one (the same wrappers and environment
            classes, in the same order, with the same spaces).
        meta: the tree :func:`env_state` returned (after a JSON round trip or not).
        arrays: its arrays (read back from an ``.npz`` or not).

    Raises:
        EnvStateError: ``meta`` is not an environment state, an array is missing, or ``env`` is
            not built like the captured environment (the line names the difference).
    """
    if not isinstance(meta, Mapping) or meta.get("format") != FORMAT:
        raise EnvStateError("set_env_state: meta is not an environment state made by env_state()")
    if meta.get("format_version") != FORMAT_VERSION:
        raise EnvStateError(
            f"set_env_state: this environment state has format {meta.get('format_version')!r}; "
            f"this rlladder reads format {FORMAT_VERSION}"
        )
    chain = _chain(env)
    try:
        saved = list(meta["chain"])
        _check_chain(meta.get("env"), env, chain, saved)
        changes = _changes(chain, saved, _Decoder(arrays))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, EnvStateError):
            raise
        raise EnvStateError(
            f"set_env_state: the saved environment state is damaged ({type(error).__name__}: "
            f"{error})"
        ) from None
    for change in changes:  # nothing is changed until everything is read
        change()


def _changes(chain: list[Any], saved: list[Any], decoder: _Decoder) -> list[Callable[[], None]]:
    """What putting ``saved`` into ``chain`` takes, decoded in full but not yet done."""
    changes: list[Callable[[], None]] = []
    for position, (obj, entry) in enumerate(zip(chain, saved, strict=True)):
        inner = chain[position + 1] if position + 1 < len(chain) else None
        current = _attributes(obj)
        for attr, value in current.items():
            if attr not in entry["attributes"] and not _skipped(attr, value, inner, chain):
                changes.append(partial(delattr, obj, attr))  # the original had none yet
        for attr, node in entry["attributes"].items():
            old = current.get(attr)
            if (
                isinstance(node, dict)
                and "generator" in node
                and isinstance(old, np.random.Generator)
            ):
                restored = decoder.decode(node)  # a state that does not fit fails here
                changes.append(
                    partial(setattr, old.bit_generator, "state", restored.bit_generator.state)
                )
            else:
                changes.append(partial(setattr, obj, attr, decoder.decode(node)))
        for attr, space_entry in entry["spaces"].items():
            generators = space_entry["generators"]
            changes.append(partial(_set_space_generators, current[attr], generators))
    return changes


def _check_chain(saved_name: Any, env: gym.Env, chain: list[Any], saved: list[Any]) -> None:
    """Raise a one-line :class:`EnvStateError` where ``chain`` is not built like ``saved``."""
    found = [_class_name(obj) for obj in chain]
    wanted = [entry["class"] for entry in saved]
    name = _env_name(env)

    def short(names: list[str]) -> str:
        return " > ".join(n.rsplit(".", 1)[-1] for n in names)

    if found != wanted:
        at = next((i for i, (a, b) in enumerate(zip(found, wanted, strict=False)) if a != b), None)
        where = (
            f"at position {at}: saved {wanted[at]}, found {found[at]}"
            if at is not None
            else f"the saved chain has {len(wanted)} objects, this one {len(found)}"
        )
        raise EnvStateError(
            f"set_env_state: {name} is not built like the saved {saved_name} ({where}; saved "
            f"{short(wanted)}, found {short(found)}); make it with the same factory"
        )
    for obj, entry in zip(chain, saved, strict=True):
        current = _attributes(obj)
        for attr, space_entry in entry["spaces"].items():
            space = current.get(attr)
            description = space_to_dict(space) if _is_space(space) else None
            wanted_space = _Decoder({}).decode(space_entry["space"])
            if description != wanted_space:
                raise EnvStateError(
                    f"set_env_state: {name}'s {type(obj).__name__}.{attr} is {space!r}, but the "
                    f"saved {saved_name} has {_describe(wanted_space)}; make it with the "
                    "same factory and arguments"
                )


def _describe(space: Mapping[str, Any]) -> str:
    """A short text for a space's :func:`space_to_dict` description."""
    if space.get("kind") == "Discrete":
        return f"Discrete({space['n']})"
    if space.get("kind") == "Box":
        return f"Box(shape={tuple(space['shape'])}, dtype={space['dtype']})"
    return str(space.get("repr", space.get("kind")))


def _set_space_generators(space: gym.spaces.Space, node: Mapping[str, Any]) -> None:
    """Give ``space`` (and the spaces inside it) the generators' states in ``node``."""
    state = node["rng"]
    if state is None:
        space._np_random = None  # noqa: SLF001 - never seeded, as the original
    else:
        own = space._np_random  # noqa: SLF001
        if own is None:
            own = np.random.Generator(np.random.PCG64())
            space._np_random = own  # noqa: SLF001
        set_rng_state(own, state)
    for inner, inner_node in zip(_subspaces(space), node.get("spaces", []), strict=True):
        _set_space_generators(inner, inner_node)


# ------------------------------------------------------------------------ plain -> values
class _Decoder:
    """The inverse of :class:`_Encoder`: arrays looked up by key, each key one array object."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._arrays = arrays
        self._made: dict[str, np.ndarray] = {}

    def _array(self, key: str) -> np.ndarray:
        if key not in self._made:
            if key not in self._arrays:
                raise EnvStateError(f"set_env_state: the array {key!r} is missing from arrays")
            self._made[key] = np.array(self._arrays[key], copy=True)
        return self._made[key]

    def decode(self, node: Any) -> Any:
        """The value ``node`` stands for."""
        if isinstance(node, list):
            return [self.decode(v) for v in node]
        if not isinstance(node, dict):
            return node
        if "array" in node:
            array = self._array(node["array"])
            return array[()] if node.get("item") else array
        if "scalar" in node:
            value = node["value"]
            value = float(value) if isinstance(value, str) and node["scalar"][1] == "f" else value
            return np.array(value, dtype=np.dtype(node["scalar"]))[()]
        if "float" in node:
            return float(node["float"])
        if "bytes" in node:
            return bytes.fromhex(node["bytes"])
        if "tuple" in node:
            return tuple(self.decode(v) for v in node["tuple"])
        if "deque" in node:
            return deque((self.decode(v) for v in node["deque"]), maxlen=node["maxlen"])
        if "dtype" in node:
            return np.dtype(node["dtype"])
        if "dict" in node:
            return {self.decode(k): self.decode(v) for k, v in node["dict"]}
        if "generator" in node:
            rng = np.random.Generator(np.random.PCG64())
            set_rng_state(rng, node["generator"])
            return rng
        raise EnvStateError(f"set_env_state: meta holds a node it does not know: {node!r}")
