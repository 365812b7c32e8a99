"""``python -m rlladder ...``: the same as the ``rlladder`` command."""

import sys

from rlladder.cli import main

if __name__ == "__main__":
    sys.exit(main())
