"""``python -m rlladder.presets``: print the preset tables, or write them where they are shown.

::

    python -m rlladder.presets            # every table, as Markdown
    python -m rlladder.presets --write    # rewrite them in docs/ (README.md too) and the docstrings
    python -m rlladder.presets --check    # exit 1 if a file differs from the data
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rlladder.presets.tables import BLOCKS, render, update


def main(argv: list[str] | None = None) -> int:
    """Print, write or check the generated preset tables."""
    parser = argparse.ArgumentParser(
        prog="python -m rlladder.presets",
        description="The tables that show the presets in rlladder/presets/*.toml.",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--markdown", action="store_true", help="print every table (the default)")
    action.add_argument(
        "--write", action="store_true", help="rewrite the tables between their markers"
    )
    action.add_argument("--check", action="store_true", help="exit 1 if a table is out of date")
    parser.add_argument(
        "--root",
        type=Path,
        default=Path(__file__).resolve().parents[2],
        help="the source checkout (default: the one this rlladder is in)",
    )
    args = parser.parse_args(argv)
    if args.write or args.check:
        stale = update(args.root, write=args.write)
        for path in stale:
            verb = "rewrote" if args.write else "out of date:"
            print(f"{verb} {path.relative_to(args.root)}", file=sys.stderr if args.check else None)
        if args.check and stale:
            print("run: python -m rlladder.presets --write", file=sys.stderr)
            return 1
        return 0
    for name in BLOCKS:
        print(f"<!-- {name} -->\n{render(name)}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
