"""``python -m app.cli``: the ``medevidence`` command, run from a checkout (the tests and benchmarks run it so)."""

import sys

from app.cli import main

sys.exit(main())
