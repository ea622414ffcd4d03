"""``python -m sparkvision.cli``: the same as the ``sparkvision`` command."""

import sys

from sparkvision.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
