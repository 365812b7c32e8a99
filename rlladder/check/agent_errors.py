"""The agent's own errors during a check, as one-line :class:`~rlladder.AgentCheckError`\\ s:
``"<Agent> raised <Type>: <message> in <method>() on probe '<probe>'"``."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from rlladder.errors import AgentCheckError
from rlladder.interface import Agent

__all__ = ["agent_errors", "one_line"]

#: the agent methods an error is attributed to
_METHODS = ("act", "learn", "begin_episode", "end_episode", "q_values", "save", "load")


def one_line(error: BaseException) -> str:
    """``"ValueError: the first line of its message"``."""
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def _raising_method(agent: Agent, error: BaseException) -> str:
    """The agent method ``error`` came out of (the outermost one in its traceback)."""
    codes = {}
    for name in _METHODS:
        code = getattr(getattr(type(agent), name, None), "__code__", None)
        if code is not None:
            codes.setdefault(code, name)
    for frame, _ in traceback.walk_tb(error.__traceback__):
        if frame.f_code in codes:
            return codes[frame.f_code]
    frames = traceback.extract_tb(error.__traceback__)
    return frames[-1].name if frames else "act"


@contextmanager
def agent_errors(agent: Agent, probe: str) -> Iterator[None]:
    """Turn an exception ``agent`` raises inside the block into an :class:`AgentCheckError`
    that names its type, its message, the method it came from and ``probe``."""
    try:
        yield
    except AgentCheckError:
        raise
    except Exception as error:
        method = _raising_method(agent, error)
        raise AgentCheckError(
            f"{type(agent).__name__} raised {one_line(error)} in {method}() on probe '{probe}'"
        ) from error
