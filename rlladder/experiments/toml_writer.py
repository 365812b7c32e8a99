"""Writing TOML: the small part of it that an experiment file needs.

Python reads TOML (``tomllib``) but does not write it. An experiment file is top-level keys and
one level of tables (``[env_kwargs]``, ``[variants.LABEL]``), whose values are numbers, strings,
booleans, lists and inline tables (a schedule: ``{kind = "linear", start = 1.0, ...}``), so a
few lines do, with comments where we want them. Every value reads back with ``tomllib`` as
exactly the value written: floats are written with ``repr`` (the shortest text that reads back
as the same float), and ``tests/test_experiments_show.py`` checks the round trip.

TOML has no null: :func:`toml_value` refuses ``None``, and the caller decides how to write it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["toml_key", "toml_value", "toml_line"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key: str) -> str:
    """``key`` bare where TOML allows it (``eta``, ``Q-learning``), else as a quoted string."""
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    # JSON's escapes are TOML's (\" \\ \b \f \n \r \t \uXXXX); TOML also forbids a raw DEL
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(value: Any) -> str:
    """``value`` as an inline TOML value: ``1e-05``, ``"adam"``, ``[128, 128]``, ``{kind = ...}``.

    Raises:
        TypeError: ``None`` (TOML has no null) or a value TOML cannot hold.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + items + "}" if items else "{}"
    if value is None:
        raise TypeError("TOML has no null: leave the key out, or write it another way")
    raise TypeError(f"cannot write {value!r} ({type(value).__name__}) as a TOML value")


def toml_line(key: str, value: Any) -> str:
    """``key = value``, one line."""
    return f"{toml_key(key)} = {toml_value(value)}"
