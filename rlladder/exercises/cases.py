"""Running an exercise check's cases: the failure a student sees, and the one line of success.

Every check in :mod:`rlladder.exercises` is a list of :class:`Case` objects, each naming what it
isolates and the key of the hint (in the check's own catalogue) that explains the likely mistake.
A :class:`CaseRunner` calls the student's function inside each case, compares what it returns
with the library's own function, and raises :class:`ExerciseFailed` on the first mismatch::

    check_td_target: case 'a terminal transition' (3 of 12) failed
      inputs:   rewards=[1.0], terminated=[1.0], next_q_target=[[2.0, 3.0]], gamma=0.9
      expected: [1.0]
      yours:    [3.7]
      hint: at a terminal transition the target is just r: ...

Values are compared within :data:`RTOL` relative and :data:`ATOL` absolute tolerance: float32
arithmetic in another order than the library's passes, a different formula does not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import numpy as np

__all__ = ["ExerciseFailed", "Case", "CaseRunner", "as_array", "show", "RTOL", "ATOL"]

#: relative tolerance of every comparison (float32 arithmetic in another order passes)
RTOL = 1e-5
#: absolute tolerance of every comparison
ATOL = 1e-6


class ExerciseFailed(AssertionError):
    """The student's function disagrees with the library's on a case, raised, or returned the
    wrong kind of value. The message names the case, the expected value, the student's value
    and a hint; an exception the student's code raised is chained as ``__cause__``."""


@dataclass(frozen=True)
class Case:
    """One case of a check.

    Args:
        name: what the case isolates, as the failure names it ("a terminal transition").
        hint: the key of the hint, in the check's catalogue, that a failure here shows.
        inputs: what the case feeds the student's function, by name (shown in a failure).
    """

    name: str
    hint: str
    inputs: Mapping[str, Any] = field(default_factory=dict)


def as_array(value: Any) -> np.ndarray:
    """A numpy copy of a number, a sequence, a numpy array or a torch tensor (no torch import)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    return np.array(value)


def show(value: Any) -> str:
    """A short readable form of a value: numbers to 4 significant digits, long arrays elided."""
    if isinstance(value, bool | str) or value is None:
        return repr(value)
    if isinstance(value, float | np.floating):
        return _float(value)
    if isinstance(value, int | np.integer):
        return str(value)
    if hasattr(value, "shape") or isinstance(value, list | tuple):
        try:
            array = as_array(value)
        except Exception:  # noqa: BLE001 - anything we cannot turn into numbers is shown as is
            return repr(value)
        if array.dtype.kind in "biuf":
            text = np.array2string(
                array,
                separator=", ",
                threshold=12,
                edgeitems=3,
                max_line_width=1000,
                formatter={"float_kind": _float},
            )
            return " ".join(text.split()).replace("[ ", "[")  # one line, no padding
    return repr(value)


def _float(x: float) -> str:
    """``1.0``, ``0.525``, ``3.142``: 4 significant digits, always looking like a float."""
    text = f"{float(x):.4g}"
    return text if any(c in text for c in ".ein") else text + ".0"


def kind_of(value: Any) -> str:
    """``"a torch.Tensor of shape (3,)"``, ``"a float"``, ``"None"``: what a value is, in words."""
    if value is None:
        return "None"
    name = type(value).__name__
    module = type(value).__module__.split(".")[0]
    qualified = f"{module}.{name}" if module in ("torch", "numpy") else name
    article = "an" if qualified[0].lower() in "aeiou" else "a"
    if hasattr(value, "shape"):
        return f"{article} {qualified} of shape {tuple(value.shape)}"
    return f"{article} {qualified}"


class CaseRunner:
    """Runs one check's cases in order; raises :class:`ExerciseFailed` at the first mismatch.

    Args:
        check: the check's name, as messages and the success line show it.
        hints: the check's hint catalogue: hint key -> the hint, in the words of the lecture.
    """

    def __init__(self, check: str, hints: Mapping[str, str]) -> None:
        self.check = check
        self.hints = hints
        self.case: Case | None = None
        self.number = 0
        self.total = 0

    def run(self, cases: Iterable[Case], run_one: Callable[[Case], None]) -> None:
        """``run_one(case)`` for every case, then print ``"<check>: N cases passed"``."""
        cases = list(cases)
        self.total = len(cases)
        for self.number, self.case in enumerate(cases, start=1):
            run_one(self.case)
        print(f"{self.check}: {self.total} cases passed")

    def call(
        self,
        fn: Callable[..., Any],
        *args: Any,
        what: str = "your function",
        hint: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """``fn(*args, **kwargs)``; anything it raises becomes an :class:`ExerciseFailed`
        chained to it (``what`` names the call in the message; ``hint`` a catalogue key other
        than the case's own)."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - the student's own error, shown and chained
            self.fail(f"{what} raised {type(exc).__name__}: {exc}", hint=hint, cause=exc)

    def fail(
        self,
        problem: str,
        *,
        expected: Any = None,
        got: Any = None,
        hint: str | None = None,
        compare: bool = False,
        cause: BaseException | None = None,
    ) -> NoReturn:
        """Raise :class:`ExerciseFailed` for the current case: ``problem``, the values when
        ``compare`` is set, and the hint ``hint`` (a catalogue key; the case's own by default)."""
        case = self.case
        lines = [f"{self.check}: case '{case.name}' ({self.number} of {self.total}) failed"]
        if case.inputs:
            shown = ", ".join(f"{k}={show(v)}" for k, v in case.inputs.items())
            lines.append(f"  inputs:   {shown}")
        if problem:
            lines.append(f"  {problem}")
        if compare:
            lines.append(f"  expected: {show(expected)}")
            lines.append(f"  yours:    {show(got)}")
        lines.append(f"  hint: {self.hints[hint or case.hint]}")
        raise ExerciseFailed("\n".join(lines)) from cause

    def expect_close(
        self, expected: Any, got: Any, *, what: str = "", hint: str | None = None
    ) -> None:
        """Fail unless ``got`` has ``expected``'s shape and values (within the tolerances).

        ``what`` names the value compared ("the target network's parameters"); a long array's
        first differing entry is named."""
        want, have = as_array(expected).astype(np.float64), as_array(got).astype(np.float64)
        label = f"{what}: " if what else ""
        if want.shape != have.shape:
            self.fail(
                f"{label}expected shape {want.shape}, got shape {have.shape}",
                expected=expected,
                got=got,
                hint=hint,
                compare=True,
            )
        close = np.isclose(have, want, rtol=RTOL, atol=ATOL)
        if not close.all():
            where = ""
            if want.size > 6:
                index = tuple(int(i) for i in np.argwhere(~close)[0])
                where = (
                    f" (first difference at index {index}: "
                    f"expected {want[index]:.4g}, yours {have[index]:.4g})"
                )
            self.fail(
                f"{label}your values differ{where}" if label or where else "",
                expected=expected,
                got=got,
                hint=hint,
                compare=True,
            )
