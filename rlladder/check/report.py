"""The report :func:`rlladder.check_agent` returns: a table, a row per check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["CheckReport", "COLUMNS", "STATUSES"]

#: the report table's columns
COLUMNS = ["check", "probe", "ability", "status", "passed", "detail", "hint"]
#: what ``status`` may be
STATUSES = ("passed", "failed", "skipped")


@dataclass(eq=False)
class CheckReport:
    """The result of :func:`rlladder.check_agent`.

    Attributes:
        agent: what was checked (the registered name, the class's name, or the factory's).
        table: a row per check, columns :data:`COLUMNS`: ``check`` (its name), ``probe`` (the
            environment it trained on), ``ability`` (what it isolates), ``status`` (``"passed"``,
            ``"failed"`` or ``"skipped"``), ``passed`` (pandas ``"boolean"``: ``<NA>`` when
            skipped), ``detail`` (learned against expected, or why it was skipped) and ``hint``
            (the likely bug, on a failure).
    """

    agent: str
    table: pd.DataFrame

    @property
    def passed(self) -> bool:
        """True when no check failed (skipped checks do not count against the agent)."""
        return not bool((self.table["status"] == "failed").any())

    @property
    def failed(self) -> list[str]:
        """The names of the checks that failed, in order."""
        return self.table.loc[self.table["status"] == "failed", "check"].tolist()

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON (an autograder's): ``{"agent", "passed", "checks"}``, one dict
        per row, ``<NA>`` as ``None``."""
        checks = [
            {column: None if pd.isna(value) else value for column, value in row.items()}
            for row in self.table.astype({"passed": "object"}).to_dict("records")
        ]
        return {"agent": self.agent, "passed": self.passed, "checks": checks}

    def __str__(self) -> str:
        counts = self.table["status"].value_counts()
        summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES)
        verdict = "PASSED" if self.passed else "FAILED"
        header = f"check_agent({self.agent!r}): {verdict} ({summary})"
        text = self.table.astype({"passed": "object"}).fillna("")
        text = text.astype(str)
        widths = {c: max(len(c), *(len(v) for v in text[c])) for c in COLUMNS}
        lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
        for _, row in text.iterrows():
            lines.append("  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip())
        return "\n".join([header, *lines])

    def __repr__(self) -> str:
        return f"CheckReport(agent={self.agent!r}, passed={self.passed}, failed={self.failed})"


def make_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The report table from row dicts (``passed`` True, False or None)."""
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["passed"] = table["passed"].astype("boolean")
    return table
