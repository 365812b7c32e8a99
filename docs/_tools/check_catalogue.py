"""The hint catalogue on the page "Check your agent", generated from the checker's own data.

The page holds the table between two markers::

    <!-- check-catalogue (python docs/_tools/check_catalogue.py --write) -->
    ...
    <!-- /check-catalogue -->

:func:`render` writes it from :data:`rlladder.check.CHECKS` (each check's probe and ability) and
:data:`rlladder.check.HINTS` (the likely bug behind each way a check fails), so the page cannot
drift from what ``rl.check_agent`` prints: ``tests/test_docs.py`` fails while the page differs
from :func:`render`, and ``python docs/_tools/check_catalogue.py --write`` rewrites it.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "check-your-agent.md"
START = "<!-- check-catalogue (python docs/_tools/check_catalogue.py --write) -->"
END = "<!-- /check-catalogue -->"
_BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


def _markdown(text: str) -> str:
    """A hint as a table cell: ``{field}`` stays (the check fills it in), ``{{}}`` is ``{}``,
    and ``|`` and ``*`` outside code spans are escaped."""
    parts = re.split(r"(`[^`]*`)", text.replace("{{", "{").replace("}}", "}"))
    for i in range(0, len(parts), 2):  # the even parts are outside code spans
        parts[i] = parts[i].replace("|", r"\|").replace("*", r"\*")
    return re.sub(r"\{(\w+)(![rs])?\}", r"{\1}", "".join(parts))


def render() -> str:
    """The catalogue as a Markdown table: a row per check and symptom, in the checks' order."""
    from rlladder.check import CHECKS, HINTS

    rows = [
        "| check (probe) | what it isolates | symptom | the hint it prints |",
        "| --- | --- | --- | --- |",
    ]
    for check in CHECKS:
        where = f"probe {check.probe}" if check.probe else "interface"
        for i, (symptom, hint) in enumerate(HINTS.get(check.name, {}).items()):
            first = (f"**{check.name}** ({where})", check.ability) if i == 0 else ("", "")
            rows.append(f"| {first[0]} | {first[1]} | `{symptom}` | {_markdown(hint)} |")
    return "\n".join(rows)


def updated(text: str) -> str:
    """``text`` with the catalogue between the markers rewritten."""
    if not _BLOCK.search(text):
        raise ValueError(f"{PAGE} has no block between {START!r} and {END!r}")
    return _BLOCK.sub(lambda _: f"{START}\n\n{render()}\n\n{END}", text)


def main(argv: list[str] | None = None) -> int:
    """Print the catalogue, or rewrite it on the page (``--write``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite the table in {PAGE.name}")
    args = parser.parse_args(argv)
    if not args.write:
        print(render())
        return 0
    text = PAGE.read_text(encoding="utf-8")
    new = updated(text)
    if new != text:
        PAGE.write_text(new, encoding="utf-8")
        print(f"rewrote the catalogue in {PAGE}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # this checkout's rlladder
    sys.exit(main())
